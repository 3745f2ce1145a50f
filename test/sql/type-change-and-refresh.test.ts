import { AppflowClient, CreateFlowCommand, StartFlowCommand } from '@aws-sdk/client-appflow';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import type { PGlite } from '@electric-sql/pglite';
import { describeSourceFields } from '../../lambdas/common/appflow';
import {
  buildRefreshFlowRequest,
  type ColumnRefreshPlan,
  planColumnRefresh,
  REFRESH_COLUMNS_SQL,
  refreshColumnsParameters,
  refreshTableStatements,
} from '../../lambdas/common/column-refresh';
import { buildCreateFlowRequest, type FlowSettings } from '../../lambdas/common/flow-definition';
import type { ObjectPlan } from '../../lambdas/common/run-plan';
import { type SourceField, selectSourceFields } from '../../lambdas/common/source-fields';
import { DEFAULT_SOURCES } from '../../lambdas/common/sources';
import { objectStatement } from '../../lambdas/common/statement-waits';
import {
  existingTablesFromRows,
  existingTablesParameters,
  planTableChanges,
  SOURCE_COLUMN_TYPES_SQL,
  type StructureStatement,
  structureSyncStatements,
  TABLE_COLUMNS_SQL,
  type TableChanges,
} from '../../lambdas/common/structure-sync';
import { runSequence, wallClockBudget } from '../../lambdas/common/warehouse';
import { warehouseSetupStatements } from '../../lambdas/common/warehouse-setup';
import { AppFlowStandIn } from '../../local/stand-ins/appflow-stand-in';
import { FaultInjector } from '../../local/stand-ins/fault-injector';
import { RedshiftDataStandIn } from '../../local/stand-ins/redshift-data-stand-in';
import { SimulatedClock } from '../../local/stand-ins/simulated-clock';
import { SourceOrg } from '../../local/stand-ins/source-org';
import { substituteNamedParameters } from '../../local/stand-ins/sql-parameters';
import { APPFLOW_DATABASE_USER } from '../../local/warehouse/appflow-user';
import { createLocalWarehouse } from '../../local/warehouse/local-warehouse';
import { toPostgres } from '../../local/warehouse/redshift-dialect';
import { anAccountPlan } from '../lambdas/support/fixtures';

// Issue 21 across the parts that do not need the state machine: the simulated org changes a
// field's type, recalculates a formula and gains a field; the structure sync's DDL runs on the
// local Redshift (its rules: ALTER COLUMN TYPE outside a transaction block, byte-counted
// VARCHARs), an incremental flow loads what moved, the consolidation merges it, and a column
// refresh (its own flow through the AppFlow stand-in, then CALL refresh_columns) brings the
// warehouse to the source's truth without a full reload.

const layout = { stagingSchema: 'salesforce_incremental', finalSchema: 'salesforce' };
const settings: FlowSettings = {
  flowNamePrefix: 'test',
  redshiftConnectorProfileName: 'redshift-local',
  stagingBucketName: 'local-bucket',
  stagingSchema: layout.stagingSchema,
  dataTransferApi: 'AUTOMATIC',
};

let db: PGlite;
let clock: SimulatedClock;
let org: SourceOrg;
let standIn: AppFlowStandIn;
let appflow: AppflowClient;
let dataApi: RedshiftDataStandIn;
let redshift: RedshiftDataClient;

/**
 * Runs the structure sync's statements as StartExtract does: the statement runner, through the Data
 * API stand-in on the same database (a list is one BatchExecuteStatement, one transaction block; a
 * single statement runs outside any). `runId` names the statements: each sync sends its own.
 */
async function runStructureStatements(plan: ObjectPlan, runId: string, statements: StructureStatement[]) {
  const requests = statements.map(({ step, what, sql }) =>
    objectStatement('test', { plan, run: { runId } }, step, what, sql),
  );
  const progress = await runSequence(
    { client: redshift, target: { database: 'dev', secretId: 'redshift-secret', workgroupName: 'local' } },
    requests,
    undefined,
    wallClockBudget(60_000),
  );
  if (progress.current) throw new Error(`${requests[progress.done].what} still runs after a minute`);
}

async function query(
  sql: string,
  parameters: Record<string, string> = {},
): Promise<Record<string, unknown>[]> {
  const text = substituteNamedParameters(
    sql,
    Object.entries(parameters).map(([name, value]) => ({ name, value })),
  );
  return (await db.query<Record<string, unknown>>(text)).rows;
}

/**
 * The structure sync of StartExtract, with the catalog and memory read as the integrator will read
 * them; with `formulasDue`, the column refresh planned with it (Days_Open__c is a formula) and its
 * refresh table created last, as StartExtract does before the incremental flow.
 */
async function syncStructure(
  plan: ObjectPlan,
  runId: string,
  formulasDue = false,
): Promise<{ fields: SourceField[]; changes: TableChanges; refresh?: ColumnRefreshPlan }> {
  const fields = selectSourceFields(plan.objectName, await describeSourceFields(appflow, plan), plan);
  const parameters = existingTablesParameters(layout, plan.targetTable);
  const existing = existingTablesFromRows(
    layout,
    (await query(TABLE_COLUMNS_SQL, parameters)) as never,
    (await query(SOURCE_COLUMN_TYPES_SQL, parameters)) as never,
  );
  const changes = planTableChanges(layout, plan.targetTable, fields, existing, {
    objectName: plan.objectName,
    primaryKeyColumn: 'id',
    appflowDatabaseUser: APPFLOW_DATABASE_USER,
    now: clock.now(),
  });
  const refresh = formulasDue
    ? planColumnRefresh({
        objectName: plan.objectName,
        fields,
        primaryKey: 'Id',
        cursorField: 'SystemModstamp',
        calculatedFields: ['Days_Open__c'],
        formulaDue: true,
        structureColumns: changes.refreshColumns,
        typeChanges: changes.typeChanges,
      })
    : undefined;
  const refreshTable = refresh
    ? refreshTableStatements(
        layout,
        'account',
        'id',
        changes.finalColumns,
        refresh.columns,
        APPFLOW_DATABASE_USER,
      )
    : undefined;
  await runStructureStatements(plan, runId, structureSyncStatements(changes, refreshTable));
  return { fields, changes, ...(refresh ? { refresh } : {}) };
}

async function runFlow(request: ReturnType<typeof buildCreateFlowRequest>): Promise<void> {
  await appflow.send(new CreateFlowCommand(request));
  await appflow.send(new StartFlowCommand({ flowName: request.flowName }));
}

async function finalRows(): Promise<Record<string, unknown>[]> {
  return query(
    `SELECT id, name, CAST(revenue__c AS text) AS revenue__c, CAST(code__c AS text) AS code__c,
            CAST(days_open__c AS text) AS days_open__c, tier__c
     FROM salesforce.account ORDER BY id`,
  );
}

/** Each final row's cursor, as text: a refresh must leave it as the load wrote it. */
async function cursors(): Promise<Record<string, unknown>[]> {
  return query(
    'SELECT id, CAST(systemmodstamp AS text) AS systemmodstamp FROM salesforce.account ORDER BY id',
  );
}

async function columnTypes(schema: string): Promise<string[]> {
  const rows = await query(
    `SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod) AS column_type FROM pg_attribute a
     JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = '${schema}' AND c.relname = 'account' AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
  );
  return rows.map((row) => String(row.column_type));
}

beforeAll(async () => {
  db = await createLocalWarehouse();
  // The run's schema-level work, as the precheck does it (AppFlow's user's USAGE on staging).
  for (const statement of warehouseSetupStatements(DEFAULT_SOURCES, APPFLOW_DATABASE_USER)) {
    await db.exec(toPostgres(statement));
  }
  clock = new SimulatedClock('2026-01-01T06:00:00.000Z');
  org = new SourceOrg(clock);
  org.defineObject('Account', [
    { name: 'Revenue__c', type: 'currency', precision: 18, scale: 2 },
    { name: 'Code__c', type: 'string', length: 10 },
    { name: 'Days_Open__c', type: 'double', precision: 18, scale: 0, formula: true },
  ]);
  standIn = new AppFlowStandIn({
    org,
    db,
    faults: new FaultInjector(),
    clock,
    connectorProfiles: ['salesforce-prod', settings.redshiftConnectorProfileName],
  });
  const { url } = await standIn.start();
  appflow = new AppflowClient({
    region: 'eu-west-1',
    endpoint: url,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  dataApi = new RedshiftDataStandIn({ db, faults: new FaultInjector() });
  redshift = new RedshiftDataClient({
    region: 'eu-west-1',
    endpoint: (await dataApi.start()).url,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  appflow.destroy();
  redshift.destroy();
  await standIn.stop();
  await dataApi.stop();
  await db.close();
});

test('a type change, a new field and a recalculated formula reach the warehouse without a full reload', async () => {
  // Day 1: the first load, in full.
  org.upsert('Account', [
    { Id: '001A', Name: 'Edge', Revenue__c: 1234.5, Code__c: '42' },
    { Id: '001B', Name: 'Burlington', Revenue__c: 99, Code__c: 'ABC-1' },
    { Id: '001C', Name: 'Gone soon', Revenue__c: 1, Code__c: '7' },
  ]);
  org.recompute('Account', [
    { Id: '001A', Days_Open__c: 1 },
    { Id: '001B', Days_Open__c: 2 },
  ]);
  const day1 = anAccountPlan({ syncMode: 'full', syncReason: 'first-run', window: {} });
  const first = await syncStructure(day1, 'run-1');
  expect(first.changes.refreshColumns).toEqual([]);
  await runFlow(buildCreateFlowRequest(day1, first.fields, 'run-1', settings));
  await db.exec(
    "CALL consolidate_object('salesforce_incremental', 'salesforce', 'account', 'id', 'systemmodstamp', 'hard', 'run-1', 'full')",
  );
  const day1End = clock.tick(60_000).toISOString();

  // Day 2: Salesforce changes two fields' types and gains one; a formula recalculates; one
  // record is edited and one deleted.
  clock.advanceToDate('2026-01-02');
  org.alterFields('Account', [
    { name: 'Revenue__c', type: 'string', length: 40 },
    { name: 'Code__c', type: 'double', precision: 18, scale: 2 },
    { name: 'Tier__c', type: 'picklist', length: 20 },
  ]);
  org.recompute('Account', [{ Id: '001A', Days_Open__c: 5 }]);
  org.upsert('Account', [{ Id: '001B', Name: 'Burlington Textiles', Tier__c: 'Gold' }]);
  org.delete('Account', ['001C']);
  const day2 = anAccountPlan({ window: { start: day1End, end: clock.tick(60_000).toISOString() } });

  const second = await syncStructure(day2, 'run-2', true);
  expect(second.changes.typeChanges).toEqual([
    { field: 'Revenue__c', from: 'DECIMAL(18,2)', to: 'VARCHAR(160)' },
    { field: 'Code__c', from: 'VARCHAR(40)', to: 'DECIMAL(18,2)' },
  ]);
  expect(second.changes.refreshColumns).toEqual(['revenue__c', 'code__c', 'tier__c']);
  // Final: revenue rebuilt as text (moved to the end), Code__c kept as text, Tier__c added; staging follows.
  const expectedColumns = [
    'id character varying(18)',
    'systemmodstamp timestamp without time zone',
    'isdeleted boolean',
    'code__c character varying(40)',
    'days_open__c numeric(18,0)',
    'name character varying(1020)',
    'revenue__c character varying(160)',
    'tier__c character varying(80)',
  ];
  expect(await columnTypes('salesforce')).toEqual(expectedColumns);
  expect(await columnTypes('salesforce_incremental')).toEqual(expectedColumns);

  // The incremental load: only what moved its cursor (001B's edit, 001C's delete).
  await db.exec('TRUNCATE salesforce_incremental.account');
  await runFlow(buildCreateFlowRequest(day2, second.fields, 'run-2', settings));
  await db.exec(
    "CALL consolidate_object('salesforce_incremental', 'salesforce', 'account', 'id', 'systemmodstamp', 'hard', 'run-2')",
  );
  // Without the refresh, 001A keeps the cast of its old revenue and its old formula value.
  expect((await finalRows()).find((row) => row.id === '001A')).toMatchObject({
    revenue__c: '1234.50',
    days_open__c: '1',
  });

  // The column refresh, planned with the structure sync: type-changed and new columns, and the formula (due).
  const { refresh } = second;
  expect(refresh).toMatchObject({
    columns: ['revenue__c', 'code__c', 'days_open__c', 'tier__c'],
    syncReason: 'type-change',
  });
  if (!refresh) throw new Error('a refresh is due');
  const loaded = await cursors();
  await runFlow(buildRefreshFlowRequest(day2, refresh, 'run-2', settings));
  await query(
    REFRESH_COLUMNS_SQL,
    refreshColumnsParameters(layout, 'account', 'id', refresh.columns, 'run-2'),
  );

  // The warehouse is the source's truth, the deleted record gone, the cursor untouched.
  expect(await cursors()).toEqual(loaded);
  expect(await finalRows()).toEqual([
    {
      id: '001A',
      name: 'Edge',
      revenue__c: '1234.50',
      code__c: '42.00',
      days_open__c: '5',
      tier__c: null,
    },
    {
      id: '001B',
      name: 'Burlington Textiles',
      revenue__c: '99.00',
      code__c: null,
      days_open__c: '2',
      tier__c: 'Gold',
    },
  ]);
  const truth = org.truth('Account').map((record) => ({
    id: record.Id,
    revenue__c: record.Revenue__c,
    code__c: record.Code__c,
    tier__c: record.Tier__c,
  }));
  expect(
    (await finalRows()).map(({ id, revenue__c, code__c, tier__c }) => ({
      id,
      revenue__c,
      code__c,
      tier__c,
    })),
  ).toEqual(truth);
  const [audit] = await query(
    "SELECT rows_staged, keys_matched, keys_missing, rows_refreshed FROM public.column_refresh_audit WHERE run_id = 'run-2'",
  );
  // 001B came with today's values in the incremental load already: only 001A was rewritten.
  expect(audit).toEqual({ rows_staged: 2, keys_matched: 2, keys_missing: 0, rows_refreshed: 1 });

  // The next sync finds nothing to change and nothing pending.
  const third = await syncStructure(day2, 'run-3');
  expect(third.changes).toMatchObject({
    // Only the table's grant, every run (the schema's USAGE is the precheck's, once per run).
    statements: [expect.stringMatching(/^GRANT INSERT, SELECT ON TABLE/)],
    sourceTypeRecords: [],
    widenings: [],
    transactions: [],
    typeChanges: [],
    refreshColumns: [],
  });
});
