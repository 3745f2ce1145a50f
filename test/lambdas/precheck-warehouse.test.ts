import { AppflowClient, DescribeConnectorProfilesCommand } from '@aws-sdk/client-appflow';
import { BatchExecuteStatementCommand, RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { PGlite } from '@electric-sql/pglite';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DEFAULT_SOURCES, type SourceCatalog, type SourceDefinition } from '../../lambdas/common/sources';
import {
  missingProcedures,
  PROCEDURE_CHECK_SQL,
  warehouseSetupStatements,
} from '../../lambdas/common/warehouse-setup';
import type { PrecheckDependencies, PrecheckState } from '../../lambdas/precheck';
import { toPostgres } from '../../local/warehouse/redshift-dialect';
import { createWarehouse } from '../support/warehouse';
import { SPENT_BUDGET } from './support/budgets';
import { FakeWarehouse } from './support/fake-warehouse';
import { aRun, DEPLOYED_PROCEDURES } from './support/fixtures';

const tidb: SourceDefinition = {
  connectorType: 'CustomConnector',
  connectorLabel: 'TiDBCloud',
  connectorProfileName: 'tidb-cloud',
  primaryKey: 'id',
  cursorField: 'updated_at',
  deleteMode: 'hard',
  stagingSchema: 'tidb_incremental',
  finalSchema: 'tidb',
};
const SOURCES: SourceCatalog = {
  salesforce: { ...DEFAULT_SOURCES.salesforce, connectorProfileName: 'salesforce-test' },
  tidb,
};
const PROFILES = ['salesforce-test', 'tidb-cloud'];

// The handler module reads its environment when loaded.
Object.assign(process.env, {
  CONNECTOR_PROFILES: PROFILES.join(','),
  REDSHIFT_WORKGROUP_NAME: 'test',
  REDSHIFT_DATABASE: 'dev',
  REDSHIFT_SECRET_ID: 'redshift-secret',
  FLOW_NAME_PREFIX: 's2r',
  MIN_API_QUOTA_SHARE: '0.2',
  APPFLOW_DATABASE_USER: 'appflow_loader',
  PIPELINE_SOURCES: JSON.stringify(SOURCES),
});
const { precheck, handler } = require('../../lambdas/precheck') as typeof import('../../lambdas/precheck');

const appflow = mockClient(AppflowClient);
const redshift = mockClient(RedshiftDataClient);
const secrets = mockClient(SecretsManagerClient);

const RUN_ID = 'run-2026-03-10';
const SETUP = /^CREATE SCHEMA/;
const FIRST_WAIT_SECONDS = 15 * 60;
let warehouse: FakeWarehouse;

function deps(overrides: Partial<PrecheckDependencies> = {}): PrecheckDependencies {
  return {
    appflow: new AppflowClient({}),
    redshift: new RedshiftDataClient({}),
    secrets: new SecretsManagerClient({}),
    target: { database: 'dev', secretId: 'redshift-secret', workgroupName: 'test' },
    connectorProfiles: PROFILES,
    appflowDatabaseUser: 'appflow_loader',
    sources: SOURCES,
    budget: SPENT_BUDGET,
    statementNamePrefix: 's2r',
    runId: RUN_ID,
    ...overrides,
  };
}

/** A source `name` with the default schemas `<name>_incremental` and `<name>`. */
const aSource = (name: string): SourceDefinition => ({
  ...tidb,
  connectorProfileName: 'tidb-cloud',
  stagingSchema: `${name}_incremental`,
  finalSchema: name,
});

beforeEach(() => {
  appflow.reset();
  redshift.reset();
  secrets.reset();
  appflow.on(DescribeConnectorProfilesCommand).resolves({
    connectorProfileDetails: [
      { connectorProfileName: 'salesforce-test', connectorType: 'Salesforce' },
      { connectorProfileName: 'tidb-cloud', connectorType: 'CustomConnector', connectorLabel: 'TiDBCloud' },
    ],
  });
  secrets.on(DescribeSecretCommand).resolves({});
  warehouse = new FakeWarehouse(redshift).answers(/FROM pg_proc/, DEPLOYED_PROCEDURES);
});

describe('precheck: schema-level work once per run (issue 19)', () => {
  test("sends one batch: every source's staging, final and history schemas, USAGE on each staging schema for AppFlow's user, then the procedure check", async () => {
    // Act
    const result = await precheck(deps());

    // Assess
    expect(warehouse.batches).toEqual([
      [
        'CREATE SCHEMA IF NOT EXISTS "salesforce_incremental"',
        'CREATE SCHEMA IF NOT EXISTS "salesforce"',
        'CREATE SCHEMA IF NOT EXISTS "salesforce_history"',
        'CREATE SCHEMA IF NOT EXISTS "tidb_incremental"',
        'CREATE SCHEMA IF NOT EXISTS "tidb"',
        'CREATE SCHEMA IF NOT EXISTS "tidb_history"',
        'GRANT USAGE ON SCHEMA "salesforce_incremental" TO "appflow_loader"',
        'GRANT USAGE ON SCHEMA "tidb_incremental" TO "appflow_loader"',
        PROCEDURE_CHECK_SQL,
      ],
    ]);
    expect(result.checks).toContain(
      "warehouse answers, the sources' schemas exist and consolidate_object and refresh_columns are deployed",
    );
    expect(result.pending).toBeUndefined();
  });

  test('names the batch after the run, makes it idempotent and asks for its end event', async () => {
    // Act
    await precheck(deps());

    // Assess
    expect(redshift).toHaveReceivedCommandWith(BatchExecuteStatementCommand, {
      StatementName: `s2r-run-precheck-${RUN_ID}`,
      ClientToken: expect.stringMatching(/^[0-9a-f]{64}$/),
      WithEvent: true,
    });
  });

  test('grants no schema when no AppFlow user is configured (the precheck then fails on that, naming it)', () => {
    // Act
    const statements = warehouseSetupStatements(SOURCES);

    // Assess
    expect(statements.filter((sql) => sql.startsWith('GRANT'))).toEqual([]);
    expect(statements.at(-1)).toBe(PROCEDURE_CHECK_SQL);
  });

  test('quotes an AppFlow user with IAM characters in the grants', () => {
    // Act
    const statements = warehouseSetupStatements(
      { salesforce: SOURCES.salesforce },
      'IAMR:appflow-redshift-dev',
    );

    // Assess
    expect(statements).toContain(
      'GRANT USAGE ON SCHEMA "salesforce_incremental" TO "IAMR:appflow-redshift-dev"',
    );
  });

  test.each([
    ['no procedure at all', [0, 0], 'consolidate_object (its 10-argument form) and refresh_columns'],
    ['an sql/ from before the column refresh', [1, 0], 'refresh_columns'],
    [
      "an sql/ from before history: consolidate_object's shorter forms only",
      [0, 1],
      'consolidate_object (its 10-argument form)',
    ],
  ])(
    'fails the precheck, naming what is missing and saying to deploy again: %s',
    async (_, counts, missing) => {
      // Prepare
      warehouse.answers(/FROM pg_proc/, { ...DEPLOYED_PROCEDURES, rows: [counts] });

      // Act
      const act = precheck(deps());

      // Assess
      await expect(act).rejects.toMatchObject({
        name: 'PrecheckFailed',
        message: expect.stringContaining(
          `The warehouse lacks the procedure(s) ${missing} this version calls: deploy the stack again (it applies sql/)`,
        ),
      });
    },
  );

  test('hands a batch still running over as pending, and the next call picks it up: sent once', async () => {
    // Prepare
    warehouse.runsFor(SETUP, 1);

    // Act
    const first = await precheck(deps());
    const next = await precheck(deps(), { warehouse: first.pending });

    // Assess
    const [batch] = warehouse.submittedMatching(SETUP);
    expect(first.pending).toEqual({ id: batch.id, attempt: 1, status: 'RUNNING' });
    expect(next.pending).toBeUndefined();
    expect(next.checks).toContain(
      "warehouse answers, the sources' schemas exist and consolidate_object and refresh_columns are deployed",
    );
    expect(warehouse.submittedMatching(SETUP)).toHaveLength(1);
  });

  test('reports what else is wrong rather than waiting on a slow batch', async () => {
    // Prepare
    warehouse.runsFor(SETUP, 1);

    // Act
    const act = precheck(deps({ appflowDatabaseUser: undefined }));

    // Assess
    await expect(act).rejects.toMatchObject({
      name: 'PrecheckFailed',
      message: expect.stringContaining('redshift.appflowDatabaseUser is not set'),
    });
  });

  test('resubmits the batch when a concurrent GRANT or CREATE SCHEMA left "tuple concurrently updated", and passes', async () => {
    // Prepare
    warehouse.failsWith(SETUP, 'ERROR: tuple concurrently updated');

    // Act
    const result = await precheck(deps());

    // Assess
    const batches = warehouse.submittedMatching(SETUP);
    expect(batches.map((batch) => batch.ending?.status ?? 'FINISHED')).toEqual(['FAILED', 'FINISHED']);
    expect(batches[1].clientToken).not.toBe(batches[0].clientToken);
    expect(result.checks).toContain(
      "warehouse answers, the sources' schemas exist and consolidate_object and refresh_columns are deployed",
    );
  });

  test('fails with WarehouseConflict, not a precheck verdict, when the conflicts outlast the resubmissions', async () => {
    // Prepare
    warehouse.failsWith(SETUP, 'ERROR: tuple concurrently updated', 10);

    // Act
    const act = precheck(deps());

    // Assess
    await expect(act).rejects.toMatchObject({ name: 'WarehouseConflict' });
  });

  test('turns a Data API capacity error into Throttled, for the state machine to retry', async () => {
    // Prepare
    warehouse.refusesNext(
      'BatchExecuteStatement',
      Object.assign(new Error('Active statements exceeded the allowed quota'), {
        name: 'ActiveStatementsExceededException',
      }),
    );

    // Act
    const act = precheck(deps());

    // Assess
    await expect(act).rejects.toMatchObject({ name: 'Throttled' });
  });

  test("fails the precheck with Redshift's text when the schema setup really fails", async () => {
    // Prepare
    warehouse.failsWith(SETUP, 'ERROR: permission denied for database dev');

    // Act
    const act = precheck(deps());

    // Assess
    await expect(act).rejects.toMatchObject({
      name: 'PrecheckFailed',
      message: expect.stringContaining(
        'The warehouse does not answer through the Data API or refused the schema setup: Precheck: schemas and procedures failed in Redshift: ERROR: permission denied for database dev',
      ),
    });
    expect(warehouse.submittedMatching(SETUP)).toHaveLength(1);
  });

  test("fits ten sources' schema statements in the Data API's batches of at most 40", async () => {
    // Prepare: 10 sources → 30 schemas, 10 grants and the procedure check
    const sources = Object.fromEntries(
      Array.from({ length: 10 }, (_, index) => [`src${index}`, aSource(`src${index}`)]),
    );

    // Act
    const result = await precheck(deps({ sources, connectorProfiles: ['tidb-cloud'] }));

    // Assess
    expect(warehouse.batches.every((batch) => batch.length <= 40)).toBe(true);
    expect(warehouse.statements().filter((sql) => sql.startsWith('CREATE SCHEMA'))).toHaveLength(30);
    expect(result.checks).toContain(
      "warehouse answers, the sources' schemas exist and consolidate_object and refresh_columns are deployed",
    );
  });
});

describe('precheck handler: the run state across a slow warehouse', () => {
  const PLAN = {
    bucket: 'run-state-test',
    key: `runs/${RUN_ID}/plan.json`,
    objectCount: 2,
    rejectedKey: `runs/${RUN_ID}/rejected.json`,
    rejectedCount: 0,
    resultsPrefix: `runs/${RUN_ID}/results`,
    reportKey: `runs/${RUN_ID}/report.json`,
  };
  /** An invocation whose remaining time is all kept for after the wait: each statement is looked at once. */
  const context = { getRemainingTimeInMillis: () => 20_000 } as Context;
  const state = (): PrecheckState => ({ run: aRun({ runId: RUN_ID }), plan: PLAN });

  test('returns the statement to wait on, keeps the run and plan, and passes on the next call without sending the batch again', async () => {
    // Prepare
    warehouse.runsFor(SETUP, 1);

    // Act
    const first = await handler(state(), context);
    const next = await handler(first, context);

    // Assess
    const [batch] = warehouse.submittedMatching(SETUP);
    expect(first).toEqual({
      ...state(),
      precheck: { warehouse: { id: batch.id, attempt: 1, status: 'RUNNING' } },
      waiting: {
        statementId: batch.id,
        what: 'Precheck: schemas and procedures',
        timeoutSeconds: FIRST_WAIT_SECONDS,
      },
    });
    expect(next).toEqual({ ...state(), precheck: { checks: expect.arrayContaining([expect.any(String)]) } });
    expect(warehouse.submittedMatching(SETUP)).toHaveLength(1);
  });

  test('waits twice as long when the batch still runs after a wait timed out', async () => {
    // Prepare
    warehouse.runsFor(SETUP, 2);
    const first = await handler(state(), context);

    // Act
    const next = await handler(first, context);

    // Assess
    expect(next.waiting).toEqual({ ...first.waiting, timeoutSeconds: 2 * FIRST_WAIT_SECONDS });
  });
});

describe('the procedure check in a real catalog (PGlite)', () => {
  const check = async (db: PGlite) =>
    (await db.query<Record<string, unknown>>(toPostgres(PROCEDURE_CHECK_SQL))).rows[0];

  test("finds both procedures where this version's sql/ was applied", async () => {
    // Prepare
    const db = await createWarehouse({ applySql: true });

    // Act / Assess
    try {
      expect(missingProcedures(await check(db))).toEqual([]);
    } finally {
      await db.close();
    }
  });

  test('names both where only an older consolidate_object (8 arguments) exists', async () => {
    // Prepare
    const db = await createWarehouse();
    const args = Array.from({ length: 8 }, (_, index) => `p${index} varchar`).join(', ');
    await db.exec(`CREATE PROCEDURE public.consolidate_object(${args}) LANGUAGE plpgsql AS $$ BEGIN END; $$`);

    // Act / Assess
    try {
      expect(missingProcedures(await check(db))).toEqual([
        'consolidate_object (its 10-argument form)',
        'refresh_columns',
      ]);
    } finally {
      await db.close();
    }
  });
});
