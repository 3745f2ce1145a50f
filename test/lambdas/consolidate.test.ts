import {
  BatchExecuteStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { ObjectState } from '../../lambdas/common/object-state';
import type { ConsolidateDependencies } from '../../lambdas/consolidate';
import { anAccountPlan, anObjectState } from './support/fixtures';

Object.assign(process.env, {
  STAGING_SCHEMA: 'salesforce_incremental',
  FINAL_SCHEMA: 'salesforce',
  REDSHIFT_DATABASE: 'dev',
  REDSHIFT_SECRET_ID: 'redshift/admin',
  REDSHIFT_WORKGROUP_NAME: 'wg-test',
});
const { consolidate } = require('../../lambdas/consolidate') as typeof import('../../lambdas/consolidate');

const redshiftMock = mockClient(RedshiftDataClient);

const deps: ConsolidateDependencies = {
  redshift: new RedshiftDataClient({}),
  target: { database: 'dev', secretId: 'redshift/admin', workgroupName: 'wg-test' },
  layout: { stagingSchema: 'salesforce_incremental', finalSchema: 'salesforce' },
  waitBudgetMs: 0,
};

const CALL_ID = 'call-1';
const AUDIT_ID = 'audit-1';
const COUNT_ID = 'count-1';

/** The CALL gets one id, the audit query another, the truncation count a third; the CALL's status is set per test. */
function warehouseAnswers(callStatus: Record<string, unknown>, valuesTruncated = 0) {
  redshiftMock.on(ExecuteStatementCommand).callsFake((input: { Sql?: string }) => ({
    Id: input.Sql?.startsWith('CALL')
      ? CALL_ID
      : /values_truncated/.test(input.Sql ?? '')
        ? COUNT_ID
        : AUDIT_ID,
  }));
  redshiftMock.on(DescribeStatementCommand, { Id: CALL_ID }).resolves({ Id: CALL_ID, ...callStatus });
  for (const id of [AUDIT_ID, COUNT_ID]) {
    redshiftMock
      .on(DescribeStatementCommand, { Id: id })
      .resolves({ Id: id, Status: 'FINISHED', HasResultSet: true });
  }
  redshiftMock.on(GetStatementResultCommand, { Id: AUDIT_ID }).resolves({
    ColumnMetadata: [
      'rows_staged',
      'duplicates_removed',
      'rows_inserted',
      'rows_updated',
      'rows_unchanged',
      'rows_deleted',
      'rows_purged',
    ].map((name) => ({ name })),
    Records: [
      [
        { longValue: 120 },
        { longValue: 20 },
        { longValue: 95 },
        { longValue: 30 },
        { longValue: 4 },
        { longValue: 5 },
        { stringValue: '2' },
      ],
    ],
  });
  redshiftMock.on(GetStatementResultCommand, { Id: COUNT_ID }).resolves({
    ColumnMetadata: [{ name: 'values_truncated' }],
    Records: [[{ longValue: valuesTruncated }]],
  });
}

const FIGURES = {
  rowsStaged: 120,
  duplicatesRemoved: 20,
  rowsInserted: 95,
  rowsUpdated: 30,
  rowsUnchanged: 4,
  rowsDeleted: 5,
  rowsPurged: 2,
  valuesTruncated: 0,
};

/** A state whose flow finished, as StartExtract and PollFlow hand it on. */
function stateAfterFlow(flow: Partial<NonNullable<ObjectState['flow']>> = {}, plan = anAccountPlan()) {
  return anObjectState({
    plan,
    flow: {
      flowName: 'saas2rs-test-Account-run-2026-03-10',
      executionId: 'exec-1',
      state: 'SUCCEEDED',
      polls: 2,
      recordsProcessed: 120,
      ...flow,
    },
  });
}

const callsOf = (prefix: string) =>
  redshiftMock
    .commandCalls(ExecuteStatementCommand)
    .filter((call) => call.args[0].input.Sql?.startsWith(prefix));

beforeEach(() => {
  redshiftMock.reset();
});

describe('consolidate', () => {
  test('calls consolidate_object with every value as a Data API parameter', async () => {
    // Prepare
    warehouseAnswers({ Status: 'FINISHED', HasResultSet: false });
    const state = anObjectState({
      plan: anAccountPlan({
        primaryKey: 'ExternalId__c',
        cursorField: 'LastModifiedDate',
        deleteMode: 'soft',
      }),
    });

    // Act
    await consolidate(deps, state);

    // Assess
    expect(redshiftMock).toHaveReceivedCommandWith(ExecuteStatementCommand, {
      Database: 'dev',
      SecretArn: 'redshift/admin',
      WorkgroupName: 'wg-test',
      Sql: 'CALL consolidate_object(:staging_schema, :final_schema, :table_name, :pk_column, :cursor_column, :delete_mode, :run_id, :sync_mode)',
      Parameters: [
        { name: 'staging_schema', value: 'salesforce_incremental' },
        { name: 'final_schema', value: 'salesforce' },
        { name: 'table_name', value: 'account' },
        { name: 'pk_column', value: 'externalid__c' },
        { name: 'cursor_column', value: 'lastmodifieddate' },
        { name: 'delete_mode', value: 'soft' },
        { name: 'run_id', value: 'run-2026-03-10' },
        { name: 'sync_mode', value: 'incremental' },
      ],
      StatementName: 'consolidate-account-run-2026-03-10',
    });
  });

  test('names every placeholder of the CALL in its parameters, and nothing else', async () => {
    // Prepare
    warehouseAnswers({ Status: 'FINISHED', HasResultSet: false });

    // Act
    await consolidate(
      deps,
      anObjectState({ plan: anAccountPlan({ syncMode: 'full', syncReason: 'reset', window: {} }) }),
    );

    // Assess
    const { Sql, Parameters } = callsOf('CALL')[0].args[0].input;
    const placeholders = [...(Sql ?? '').matchAll(/:(\w+)/g)].map((match) => match[1]).sort();
    expect((Parameters ?? []).map((parameter) => parameter.name).sort()).toEqual(placeholders);
    expect(Parameters).toContainEqual({ name: 'sync_mode', value: 'full' });
  });

  test('returns the audit figures of this run when the CALL finishes within the Lambda', async () => {
    // Prepare
    warehouseAnswers({ Status: 'FINISHED', HasResultSet: false });
    const state = anObjectState();

    // Act
    const next = await consolidate(deps, state);

    // Assess
    expect(next).toEqual({
      ...state,
      consolidation: {
        statementId: CALL_ID,
        state: 'FINISHED',
        polls: 0,
        nextWaitSeconds: 0,
        figures: FIGURES,
      },
    });
    const [audit] = callsOf('SELECT');
    expect(audit.args[0].input.Sql).toMatch(/FROM public\.consolidation_audit/);
    expect(audit.args[0].input.Parameters).toEqual([
      { name: 'run_id', value: 'run-2026-03-10' },
      { name: 'final_schema', value: 'salesforce' },
      { name: 'table_name', value: 'account' },
    ]);
  });

  test('hands a CALL still running to the Wait loop with its statement id', async () => {
    // Prepare
    warehouseAnswers({ Status: 'STARTED' });

    // Act
    const next = await consolidate(deps, anObjectState());

    // Assess
    expect(next.consolidation).toEqual({
      statementId: CALL_ID,
      state: 'RUNNING',
      polls: 0,
      nextWaitSeconds: 5,
    });
    expect(callsOf('SELECT')).toHaveLength(0);
  });

  test('a resumed call looks at the submitted statement again and never submits a second CALL', async () => {
    // Prepare
    warehouseAnswers({ Status: 'PICKED' });
    const state = anObjectState({
      consolidation: { statementId: CALL_ID, state: 'RUNNING', polls: 0, nextWaitSeconds: 5 },
    });

    // Act
    const next = await consolidate(deps, state);

    // Assess
    expect(redshiftMock).not.toHaveReceivedCommand(ExecuteStatementCommand);
    expect(redshiftMock).toHaveReceivedCommandWith(DescribeStatementCommand, { Id: CALL_ID });
    expect(next.consolidation).toEqual({
      statementId: CALL_ID,
      state: 'RUNNING',
      polls: 1,
      nextWaitSeconds: 10,
    });
  });

  test('a resumed call that finds the CALL finished reads the figures without submitting it again', async () => {
    // Prepare
    warehouseAnswers({ Status: 'FINISHED', HasResultSet: false });
    const state = anObjectState({
      consolidation: { statementId: CALL_ID, state: 'RUNNING', polls: 3, nextWaitSeconds: 40 },
    });

    // Act
    const next = await consolidate(deps, state);

    // Assess
    expect(callsOf('CALL')).toHaveLength(0);
    expect(next.consolidation).toMatchObject({ state: 'FINISHED', polls: 4, figures: { rowsInserted: 95 } });
  });

  test("fails with StatementFailed carrying Redshift's own error text when the CALL FAILED", async () => {
    // Prepare
    warehouseAnswers({ Status: 'FAILED', Error: 'ERROR: Refusing identifier "Account;DROP"' });

    // Act
    const act = consolidate(deps, anObjectState());

    // Assess
    await expect(act).rejects.toMatchObject({
      name: 'StatementFailed',
      message: 'Account: consolidate_object failed in Redshift: ERROR: Refusing identifier "Account;DROP"',
    });
  });

  test('fails with StatementFailed when the CALL was ABORTED', async () => {
    // Prepare
    warehouseAnswers({ Status: 'ABORTED' });
    const state = anObjectState({
      consolidation: { statementId: CALL_ID, state: 'RUNNING', polls: 2, nextWaitSeconds: 20 },
    });

    // Act
    const act = consolidate(deps, state);

    // Assess
    await expect(act).rejects.toMatchObject({
      name: 'StatementFailed',
      message: expect.stringContaining(`aborted in Redshift (statement ${CALL_ID})`),
    });
  });

  test('counts zeros when the audit has no row for this run', async () => {
    // Prepare
    warehouseAnswers({ Status: 'FINISHED', HasResultSet: false });
    redshiftMock
      .on(GetStatementResultCommand, { Id: AUDIT_ID })
      .resolves({ ColumnMetadata: [], Records: [] });

    // Act
    const next = await consolidate(deps, anObjectState());

    // Assess
    expect(next.consolidation?.figures).toEqual({
      rowsStaged: 0,
      duplicatesRemoved: 0,
      rowsInserted: 0,
      rowsUpdated: 0,
      rowsUnchanged: 0,
      rowsDeleted: 0,
      rowsPurged: 0,
      valuesTruncated: 0,
    });
  });

  test('sends ONE parameterised ExecuteStatement and no batch, ignoring finalColumnsPending of older states', async () => {
    // Prepare: a state written by an older version, which sent the final table's ALTERs with the CALL
    warehouseAnswers({ Status: 'FINISHED', HasResultSet: false });
    const state = stateAfterFlow({
      finalColumnsPending: [{ column: 'industry', redshiftType: 'VARCHAR(65535)' }],
    });

    // Act
    await consolidate(deps, state);

    // Assess: the procedure adds the final table's missing columns itself, inside the CALL
    expect(redshiftMock).not.toHaveReceivedCommand(BatchExecuteStatementCommand);
    expect(callsOf('CALL')).toHaveLength(1);
    expect(callsOf('CALL')[0].args[0].input.Parameters).toHaveLength(8);
    expect(callsOf('ALTER')).toHaveLength(0);
    expect(
      redshiftMock
        .commandCalls(ExecuteStatementCommand)
        .filter((call) => /information_schema/.test(call.args[0].input.Sql ?? '')),
    ).toHaveLength(0);
  });

  test('reads the updated and unchanged rows of contract 6 from the audit', async () => {
    // Prepare
    warehouseAnswers({ Status: 'FINISHED', HasResultSet: false });

    // Act
    const next = await consolidate(deps, anObjectState());

    // Assess
    expect(callsOf('SELECT COALESCE(SUM(rows_staged)')[0].args[0].input.Sql).toMatch(
      /SUM\(rows_updated\).*SUM\(rows_unchanged\)/s,
    );
    expect(next.consolidation?.figures).toMatchObject({ rowsUpdated: 30, rowsUnchanged: 4 });
  });
});

describe('consolidate: long-text values cut by the flow', () => {
  test("counts the truncated columns' values that reached the limit in staging, in one statement, before the CALL", async () => {
    // Prepare
    warehouseAnswers({ Status: 'FINISHED', HasResultSet: false }, 3);
    const state = stateAfterFlow({ truncatedColumns: ['description', 'notes__c'] });

    // Act
    const next = await consolidate(deps, state);

    // Assess
    const sqls = redshiftMock.commandCalls(ExecuteStatementCommand).map((call) => call.args[0].input.Sql);
    const count = sqls.filter((sql) => /values_truncated/.test(sql ?? ''));
    expect(count).toEqual([
      'SELECT COALESCE(SUM(CASE WHEN CHAR_LENGTH("description") >= 16383 THEN 1 ELSE 0 END + CASE WHEN CHAR_LENGTH("notes__c") >= 16383 THEN 1 ELSE 0 END), 0) AS values_truncated FROM "salesforce_incremental"."account"',
    ]);
    // The CALL empties staging: the count comes first.
    expect(sqls.indexOf(count[0])).toBeLessThan(sqls.findIndex((sql) => sql?.startsWith('CALL')));
    expect(next.consolidation?.figures?.valuesTruncated).toBe(3);
  });

  test('keeps the count across the Wait loop and never counts again once the CALL was submitted', async () => {
    // Prepare
    warehouseAnswers({ Status: 'STARTED' }, 3);
    const first = await consolidate(deps, stateAfterFlow({ truncatedColumns: ['description'] }));
    redshiftMock.reset();
    warehouseAnswers({ Status: 'FINISHED', HasResultSet: false }, 0);

    // Act
    const next = await consolidate(deps, first);

    // Assess
    expect(first.consolidation?.valuesTruncated).toBe(3);
    expect(callsOf('SELECT COALESCE(SUM(CASE')).toHaveLength(0);
    expect(next.consolidation?.figures?.valuesTruncated).toBe(3);
  });

  test('sends no count when the flow truncates nothing', async () => {
    // Prepare
    warehouseAnswers({ Status: 'FINISHED', HasResultSet: false });

    // Act
    await consolidate(deps, stateAfterFlow({ truncatedColumns: [] }));

    // Assess
    expect(callsOf('SELECT COALESCE(SUM(CASE')).toHaveLength(0);
  });
});
