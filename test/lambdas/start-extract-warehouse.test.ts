import { AppflowClient, DescribeConnectorEntityCommand } from '@aws-sdk/client-appflow';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import type { PGlite } from '@electric-sql/pglite';
import { mockClient } from 'aws-sdk-client-mock';
import { wallClockBudget } from '../../lambdas/common/warehouse';
import type { ExtractDependencies } from '../../lambdas/start-extract';
import { FaultInjector } from '../../local/stand-ins/fault-injector';
import { RedshiftDataStandIn } from '../../local/stand-ins/redshift-data-stand-in';
import { APPFLOW_DATABASE_USER } from '../../local/warehouse/appflow-user';
import { createLocalWarehouse } from '../../local/warehouse/local-warehouse';
import { accountEntityFields, anAccountPlan, anObjectState, aRun, entityField } from './support/fixtures';

// The structure sync's DDL-shape tests: its statements run through the Data API stand-in on the
// local Redshift (PGlite with sql/ applied), so SQL the warehouse refuses fails here. The
// scripted timing and failures of the Data API stay with FakeWarehouse (start-extract.test.ts).

// The handler module reads its configuration at load time.
Object.assign(process.env, {
  CONTROL_TABLE_NAME: 'control-test',
  STAGING_SCHEMA: 'salesforce_incremental',
  FINAL_SCHEMA: 'salesforce',
  REDSHIFT_DATABASE: 'dev',
  REDSHIFT_SECRET_ID: 'redshift/admin',
  REDSHIFT_WORKGROUP_NAME: 'wg-test',
  FLOW_NAME_PREFIX: 'saas2rs-test',
  REDSHIFT_CONNECTOR_PROFILE: 'redshift-test',
  STAGING_BUCKET_NAME: 'staging-bucket-test',
  FLOW_TIMEOUT_MINUTES: '720',
  FLOW_WAIT_HEARTBEAT_SECONDS: '3600',
});
const { syncStructure } =
  require('../../lambdas/start-extract') as typeof import('../../lambdas/start-extract');

const appflowMock = mockClient(AppflowClient);

let db: PGlite;
let standIn: RedshiftDataStandIn;
let redshift: RedshiftDataClient;

beforeAll(async () => {
  db = await createLocalWarehouse();
  standIn = new RedshiftDataStandIn({ db, faults: new FaultInjector() });
  const { url } = await standIn.start();
  redshift = new RedshiftDataClient({
    endpoint: url,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  redshift.destroy();
  await standIn.stop();
  await db.close();
});

beforeEach(async () => {
  appflowMock.reset();
  appflowMock.on(DescribeConnectorEntityCommand).resolves({ connectorEntityFields: accountEntityFields() });
  standIn.calls.length = 0;
  await db.exec(`
    DROP TABLE IF EXISTS salesforce.account;
    DROP TABLE IF EXISTS salesforce_incremental.account;
    DROP TABLE IF EXISTS salesforce_incremental._refresh_account;
    DELETE FROM public.source_column_types;
  `);
});

function dependencies(overrides: Partial<ExtractDependencies> = {}): ExtractDependencies {
  return {
    appflow: new AppflowClient({}),
    redshift,
    target: { database: 'dev', secretId: 'redshift/admin', workgroupName: 'wg-test' },
    layout: { stagingSchema: 'salesforce_incremental', finalSchema: 'salesforce' },
    flowSettings: {
      flowNamePrefix: 'saas2rs-test',
      redshiftConnectorProfileName: 'redshift-test',
      stagingBucketName: 'staging-bucket-test',
      stagingSchema: 'salesforce_incremental',
      dataTransferApi: 'AUTOMATIC',
    },
    flowTimeoutMinutes: 720,
    flowWaitHeartbeatSeconds: 3600,
    budget: wallClockBudget(30_000),
    ...overrides,
  };
}

/**
 * The structure sync of a run, to its end, handing itself its state back as the state machine
 * would. Each run has its own id: the stand-in lives across this file's tests, and the Data API
 * answers a repeated ClientToken with the earlier statement.
 */
async function synced(deps: ExtractDependencies, runId: string) {
  let state = anObjectState({ run: aRun({ runId }), plan: anAccountPlan() });
  for (let invocation = 0; invocation < 20; invocation += 1) {
    const result = await syncStructure(deps, state);
    if (result.kind === 'done') return result;
    await standIn.whenIdle();
    state = result.state;
  }
  throw new Error('The structure sync did not finish in 20 invocations');
}

async function columnsOf(schema: string, table: string): Promise<{ name: string; type: string }[]> {
  const { rows } = await db.query<{ name: string; type: string }>(
    `SELECT column_name AS name, format_type(atttypid, atttypmod) AS type
       FROM information_schema.columns
       JOIN pg_attribute ON attrelid = '${schema}.${table}'::regclass AND attname = column_name
      WHERE table_schema = '${schema}' AND table_name = '${table}'
      ORDER BY ordinal_position`,
  );
  return rows;
}

/** The SQL of every BatchExecuteStatement the stand-in received, each split into its statements. */
function batches(): string[][] {
  return standIn.calls
    .filter((call) => call.operation === 'BatchExecuteStatement')
    .map((call) => (call.sql ?? '').split(';\n'));
}

describe('syncStructure on the local Redshift (Data API stand-in over PGlite)', () => {
  test('a number field that became text: its column is rebuilt as VARCHAR in one transaction, values kept, staging follows, and the field is refreshed', async () => {
    // Prepare: an earlier run made the tables and loaded a row with a revenue
    await synced(dependencies(), 'run-2026-03-10');
    await db.exec(
      "INSERT INTO salesforce.account (id, name, annualrevenue) VALUES ('001A', 'Acme', 1234.50)",
    );
    standIn.calls.length = 0;
    // AnnualRevenue became a text field at the source
    appflowMock.on(DescribeConnectorEntityCommand).resolves({
      connectorEntityFields: accountEntityFields().map((field) =>
        field.identifier === 'AnnualRevenue'
          ? entityField('AnnualRevenue', 'string', { length: '40' })
          : field,
      ),
    });

    // Act
    const { changes, refresh } = await synced(dependencies(), 'run-2026-03-11');

    // Assess: the column is text now, moved to the end, its value cast without loss
    expect(changes.typeChanges).toEqual([
      { field: 'AnnualRevenue', from: 'DECIMAL(18,2)', to: 'VARCHAR(160)' },
    ]);
    const final = await columnsOf('salesforce', 'account');
    expect(final.at(-1)).toEqual({ name: 'annualrevenue', type: 'character varying(160)' });
    const { rows } = await db.query('SELECT annualrevenue FROM salesforce.account');
    expect(rows).toEqual([{ annualrevenue: '1234.50' }]);
    // The memory first, then the rebuild, staging created again, the refresh table last
    expect(batches().map((batch) => batch[0].split(' (')[0])).toEqual([
      "DELETE FROM public.source_column_types WHERE final_schema = 'salesforce' AND table_name = 'account' AND column_name IN",
      'ALTER TABLE "salesforce"."account" ADD COLUMN "annualrevenue__rebuild" VARCHAR(160) ENCODE ZSTD',
      'DROP TABLE IF EXISTS "salesforce_incremental"."account"',
      'DROP TABLE IF EXISTS "salesforce_incremental"."_refresh_account"',
    ]);
    // The copy and the swap in one batch (one transaction): a failure leaves the old column whole
    const rebuild = batches().find((batch) => batch.some((sql) => sql.startsWith('UPDATE ')));
    expect(rebuild).toEqual([
      'ALTER TABLE "salesforce"."account" ADD COLUMN "annualrevenue__rebuild" VARCHAR(160) ENCODE ZSTD',
      'UPDATE "salesforce"."account" SET "annualrevenue__rebuild" = CAST("annualrevenue" AS VARCHAR(160))',
      'ALTER TABLE "salesforce"."account" DROP COLUMN "annualrevenue"',
      'ALTER TABLE "salesforce"."account" RENAME COLUMN "annualrevenue__rebuild" TO "annualrevenue"',
    ]);
    // Staging was created again in final's new column order (rows move as s.*)
    expect(await columnsOf('salesforce_incremental', 'account')).toEqual(final);
    const { rows: remembered } = await db.query(
      "SELECT source_type FROM public.source_column_types WHERE final_schema = 'salesforce' AND table_name = 'account' AND column_name = 'annualrevenue'",
    );
    expect(remembered).toEqual([{ source_type: 'VARCHAR(160)' }]);
    expect(refresh).toMatchObject({ columns: ['annualrevenue'], reasons: ['type-change'] });
  });

  test("grants AppFlow's database user the staging table after creating it, and leaves the schema's USAGE to the precheck", async () => {
    // Act
    await synced(dependencies({ appflowDatabaseUser: APPFLOW_DATABASE_USER }), 'run-2026-03-12');

    // Assess: AppFlow may load the new staging table; the schema's USAGE is not granted here
    const { rows } = await db.query(
      `SELECT has_table_privilege('${APPFLOW_DATABASE_USER}', 'salesforce_incremental.account', 'INSERT') AS can_insert,
              has_table_privilege('${APPFLOW_DATABASE_USER}', 'salesforce_incremental.account', 'SELECT') AS can_select,
              has_table_privilege('${APPFLOW_DATABASE_USER}', 'salesforce.account', 'INSERT') AS can_insert_final,
              has_schema_privilege('${APPFLOW_DATABASE_USER}', 'salesforce_incremental', 'USAGE') AS has_usage`,
    );
    expect(rows).toEqual([{ can_insert: true, can_select: true, can_insert_final: false, has_usage: false }]);
    // In the DDL batch, after the tables; then the memory of source types
    expect(batches()).toHaveLength(2);
    expect(batches()[0].at(-1)).toBe(
      `GRANT INSERT, SELECT ON TABLE "salesforce_incremental"."account" TO "${APPFLOW_DATABASE_USER}"`,
    );
    expect(standIn.calls.filter((call) => /GRANT USAGE|CREATE SCHEMA/.test(call.sql ?? ''))).toEqual([]);
  });
});
