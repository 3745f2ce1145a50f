import {
  buildRefreshFlowRequest,
  planColumnRefresh,
  REFRESH_COLUMNS_SQL,
  refreshColumnsParameters,
  refreshFlowNameFor,
  refreshTableName,
  refreshTableStatements,
} from '../../lambdas/common/column-refresh';
import { parseControlRow } from '../../lambdas/common/control-row';
import type { FlowSettings } from '../../lambdas/common/flow-definition';
import { formulaRefreshDue } from '../../lambdas/common/formula-refresh';
import { selectSourceFields } from '../../lambdas/common/source-fields';
import { planTableChanges } from '../../lambdas/common/structure-sync';
import { accountEntityFields, anAccountPlan, entityField } from './support/fixtures';

const layout = { stagingSchema: 'salesforce_incremental', finalSchema: 'salesforce' };
const settings: FlowSettings = {
  flowNamePrefix: 'saas-to-redshift-dev',
  redshiftConnectorProfileName: 'redshift-dev',
  stagingBucketName: 'staging-bucket',
  stagingSchema: 'salesforce_incremental',
  dataTransferApi: 'AUTOMATIC',
};
const entity = () => [
  ...accountEntityFields(),
  entityField('Days_Open__c', 'double', { precision: '18', scale: '0' }),
  entityField('Description', 'textarea', { length: '32000' }),
];
const fields = () =>
  selectSourceFields('Account', entity(), { primaryKey: 'Id', cursorField: 'SystemModstamp' });
const base = {
  objectName: 'Account',
  primaryKey: 'Id',
  cursorField: 'SystemModstamp',
  calculatedFields: ['Days_Open__c'],
  structureColumns: [],
};

describe('refresh table naming', () => {
  test('_refresh_<table> cannot be a targetTable, so it never is an object staging table', () => {
    // Act
    const row = parseControlRow({ objectName: 'Account', targetTable: refreshTableName('account') });

    // Assess
    expect(refreshTableName('account')).toBe('_refresh_account');
    expect(row).toMatchObject({ ok: false, error: expect.stringContaining('targetTable must match') });
  });
});

describe('formulaRefreshDue', () => {
  const now = new Date('2026-01-02T06:00:00.000Z');

  test.each([
    ['never refreshed', undefined, undefined, true],
    ['refreshed a day ago with the default 1,440 minutes', undefined, '2026-01-01T06:00:00.000Z', true],
    ['refreshed an hour ago', undefined, '2026-01-02T05:00:00.000Z', false],
    ['refreshed an hour ago, every 60 minutes', 60, '2026-01-02T05:00:00.000Z', true],
    ['0 means never', 0, undefined, false],
  ])('%s', (_, every, last, due) => {
    expect(formulaRefreshDue(every, last, now)).toBe(due);
  });

  test.each([
    [
      'a daily run a few seconds earlier in the day than the last refresh, half a day of slack',
      720,
      '2026-01-01T06:00:09.000Z',
      true,
    ],
    [
      'an hourly run 23 hours after the last refresh, half an hour of slack',
      30,
      '2026-01-01T07:00:00.000Z',
      false,
    ],
    [
      'an hourly run a day after the last refresh, seconds early, half an hour of slack',
      30,
      '2026-01-01T06:00:04.000Z',
      true,
    ],
    [
      'slack never more than half the interval: a run 11 hours later is not due',
      5000,
      '2026-01-01T19:00:00.000Z',
      false,
    ],
  ])('%s', (_, slack, last, due) => {
    expect(formulaRefreshDue(1440, last, now, slack)).toBe(due);
  });
});

describe('planColumnRefresh', () => {
  test('formulas when due: the key first, then the formula fields', () => {
    const plan = planColumnRefresh({ ...base, fields: fields(), formulaDue: true });

    expect(plan).toMatchObject({
      columns: ['days_open__c'],
      reasons: ['formula-refresh'],
      syncReason: 'formula-refresh',
    });
    expect(plan?.flowFields.map((field) => field.name)).toEqual(['Id', 'Days_Open__c']);
  });

  test('nothing when no formula is due and the structure asks for nothing', () => {
    expect(planColumnRefresh({ ...base, fields: fields(), formulaDue: false })).toBeUndefined();
  });

  test("the row's refreshFields join the formulas; key, cursor and IsDeleted are never refreshed", () => {
    const plan = planColumnRefresh({
      ...base,
      fields: fields(),
      calculatedFields: ['Days_Open__c', 'SystemModstamp'],
      refreshFields: ['Name', 'Id'],
      formulaDue: true,
    });

    expect(plan?.columns).toEqual(['name', 'days_open__c']);
  });

  test('new and type-changed columns run whether formulas are due or not, the type change named first', () => {
    const plan = planColumnRefresh({
      ...base,
      fields: fields(),
      formulaDue: false,
      structureColumns: ['annualrevenue', 'description'],
      typeChanges: [{ field: 'AnnualRevenue', from: 'DECIMAL(18,2)', to: 'VARCHAR(160)' }],
    });

    expect(plan).toMatchObject({
      columns: ['annualrevenue', 'description'],
      reasons: ['type-change', 'new-columns'],
      syncReason: 'type-change',
    });
  });

  test('a custom connector has no formula metadata; refreshFields work the same', () => {
    const plan = planColumnRefresh({
      ...base,
      calculatedFields: [],
      fields: fields(),
      refreshFields: ['Name'],
      formulaDue: true,
    });

    expect(plan?.columns).toEqual(['name']);
  });

  test("refreshes at most 30,000 bytes of column names in one CALL: new and type-changed columns first; then the formulas' refresh is not complete", () => {
    // Prepare: 400 new columns of 80-character names (32,400 bytes with the commas) and a formula
    const wide = Array.from({ length: 400 }, (_, index) =>
      entityField(`${`New_${String(index).padStart(3, '0')}_`.padEnd(77, 'x')}__c`, 'string', {
        length: '40',
      }),
    );
    const all = selectSourceFields('Account', [...entity(), ...wide], {
      primaryKey: 'Id',
      cursorField: 'SystemModstamp',
    });
    const added = all.filter((field) => field.name.startsWith('New_')).map((field) => field.column);

    // Act
    const plan = planColumnRefresh({ ...base, fields: all, formulaDue: true, structureColumns: added });

    // Assess
    expect(Buffer.byteLength(plan?.columns.join(',') ?? '')).toBeLessThanOrEqual(30_000);
    expect(plan?.columns).toEqual(added.slice(0, plan?.columns.length));
    expect(plan).toMatchObject({ reasons: ['new-columns'], formulasComplete: false });
  });

  test('the formulas of a refresh within the limit are complete', () => {
    expect(planColumnRefresh({ ...base, fields: fields(), formulaDue: true })?.formulasComplete).toBe(true);
  });
});

describe('the refresh table and the CALL', () => {
  test('the key and the refreshed columns with the final table types (after its changes), granted to AppFlow', () => {
    // Prepare: AnnualRevenue's final column is VARCHAR(160) after a type change
    const changed = selectSourceFields(
      'Account',
      entity().map((field) =>
        field.identifier === 'AnnualRevenue'
          ? entityField('AnnualRevenue', 'string', { length: '40' })
          : field,
      ),
      { primaryKey: 'Id', cursorField: 'SystemModstamp' },
    );
    const { finalColumns } = planTableChanges(
      layout,
      'account',
      changed,
      { staging: new Map(), final: new Map() },
      {
        objectName: 'Account',
        primaryKeyColumn: 'id',
      },
    );

    // Act
    const statements = refreshTableStatements(
      layout,
      'account',
      'id',
      finalColumns,
      ['annualrevenue', 'days_open__c'],
      'appflow_loader',
    );

    // Assess
    expect(statements).toEqual([
      'DROP TABLE IF EXISTS "salesforce_incremental"."_refresh_account"',
      'CREATE TABLE "salesforce_incremental"."_refresh_account" ("id" VARCHAR(18), "annualrevenue" VARCHAR(160) ENCODE ZSTD, "days_open__c" DECIMAL(18,0)) DISTKEY("id") SORTKEY("id")',
      'GRANT INSERT, SELECT ON TABLE "salesforce_incremental"."_refresh_account" TO "appflow_loader"',
    ]);
    expect(() => refreshTableStatements(layout, 'account', 'id', finalColumns, ['nope'])).toThrow(
      /column nope is not a column of the final table/,
    );
  });

  test("a final column of Postgres' unbounded TEXT becomes the widest VARCHAR, and the final table's types are kept as they are", () => {
    // Prepare: final columns as a Postgres-lineage catalog describes them (an existing final table)
    const { finalColumns } = planTableChanges(
      layout,
      'account',
      fields(),
      {
        staging: new Map(),
        final: new Map([
          ['id', { dataType: 'character varying', characterMaximumLength: 18 }],
          ['systemmodstamp', { dataType: 'timestamp without time zone' }],
          ['isdeleted', { dataType: 'boolean' }],
          ['name', { dataType: 'text' }],
          ['annualrevenue', { dataType: 'numeric', numericPrecision: 18, numericScale: 2 }],
          ['days_open__c', { dataType: 'double precision' }],
          ['description', { dataType: 'character varying', characterMaximumLength: 65535 }],
        ]),
      },
      { objectName: 'Account', primaryKeyColumn: 'id' },
    );

    // Act
    const [, create] = refreshTableStatements(layout, 'account', 'id', finalColumns, [
      'name',
      'days_open__c',
      'description',
    ]);

    // Assess
    expect(create).toBe(
      'CREATE TABLE "salesforce_incremental"."_refresh_account" ("id" VARCHAR(18), "name" VARCHAR(65535) ENCODE ZSTD, "days_open__c" DOUBLE PRECISION, "description" VARCHAR(65535) ENCODE ZSTD) DISTKEY("id") SORTKEY("id")',
    );
  });

  test('the CALL takes every value as a Data API parameter', () => {
    expect(REFRESH_COLUMNS_SQL).toBe(
      'CALL refresh_columns(:staging_schema, :final_schema, :table_name, :refresh_table, :pk_column, :columns, :run_id)',
    );
    expect(refreshColumnsParameters(layout, 'account', 'id', ['days_open__c', 'score__c'], 'run-1')).toEqual({
      staging_schema: 'salesforce_incremental',
      final_schema: 'salesforce',
      table_name: 'account',
      refresh_table: '_refresh_account',
      pk_column: 'id',
      columns: 'days_open__c,score__c',
      run_id: 'run-1',
    });
  });
});

describe('buildRefreshFlowRequest', () => {
  test('key and refreshed fields, no cursor filter, deleted records excluded, into the refresh table', () => {
    const plan = anAccountPlan({
      window: { start: '2026-01-01T00:00:00.000Z', end: '2026-01-02T00:00:00.000Z' },
    });
    const all = fields();
    const flowFields = [
      all[0],
      ...all.filter((field) => ['Days_Open__c', 'Description'].includes(field.name)),
    ];

    const request = buildRefreshFlowRequest(
      plan,
      { flowFields, reasons: ['formula-refresh'] },
      'run-1',
      settings,
    );

    expect(request.flowName).toBe(refreshFlowNameFor('saas-to-redshift-dev', 'Account', 'run-1'));
    expect(request.flowName).toBe('saas-to-redshift-dev-Account-refresh-run-1');
    expect(request.sourceFlowConfig?.sourceConnectorProperties?.Salesforce).toMatchObject({
      object: 'Account',
      includeDeletedRecords: false,
    });
    expect(request.destinationFlowConfigList?.[0].destinationConnectorProperties?.Redshift).toMatchObject({
      object: 'salesforce_incremental._refresh_account',
      bucketPrefix: `staging/${request.flowName}`,
      errorHandlingConfig: { bucketPrefix: `errors/${request.flowName}` },
    });
    const tasks = request.tasks ?? [];
    expect(tasks.filter((task) => task.taskType === 'Filter')).toEqual([
      expect.objectContaining({
        sourceFields: ['Id', 'Days_Open__c', 'Description'],
        connectorOperator: { Salesforce: 'PROJECTION' },
      }),
    ]);
    expect(tasks.filter((task) => task.taskType === 'Map').map((task) => task.destinationField)).toEqual([
      'id',
      'days_open__c',
      'description',
    ]);
    expect(tasks.filter((task) => task.taskType === 'Truncate').map((task) => task.sourceFields)).toEqual([
      ['Description'],
    ]);
    expect(request.description).toBe('Temporary column refresh of Account for run run-1, formula-refresh');
  });
});
