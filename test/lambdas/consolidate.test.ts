import {
  BatchExecuteStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { ConsolidateDependencies } from '../../lambdas/consolidate';
import { anAccountPlan, anObjectState, aRun } from './support/fixtures';

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
const COLUMNS_ID = 'columns-1';
const FINAL_COLUMNS = ['id', 'systemmodstamp', 'isdeleted', 'name'];
const INDUSTRY = { column: 'industry', redshiftType: 'VARCHAR(65535)' };
const REGION = { column: 'region__c', redshiftType: 'VARCHAR(65535)' };

/** The CALL gets one id, the audit query another; each statement's status is set per test. */
function warehouseAnswers(callStatus: Record<string, unknown>) {
  redshiftMock
    .on(ExecuteStatementCommand)
    .callsFake((input: { Sql?: string }) => ({ Id: input.Sql?.startsWith('CALL') ? CALL_ID : AUDIT_ID }));
  redshiftMock.on(DescribeStatementCommand, { Id: CALL_ID }).resolves({ Id: CALL_ID, ...callStatus });
  redshiftMock
    .on(DescribeStatementCommand, { Id: AUDIT_ID })
    .resolves({ Id: AUDIT_ID, Status: 'FINISHED', HasResultSet: true });
  redshiftMock.on(GetStatementResultCommand, { Id: AUDIT_ID }).resolves({
    ColumnMetadata: ['rows_staged', 'duplicates_removed', 'rows_inserted', 'rows_deleted', 'rows_purged'].map(
      (name) => ({ name }),
    ),
    Records: [
      [{ longValue: 120 }, { longValue: 20 }, { longValue: 95 }, { longValue: 5 }, { stringValue: '2' }],
    ],
  });
}

/**
 * On top of warehouseAnswers: the final table's catalog read answers with `finalColumns`,
 * and the batch (ALTERs + CALL) gets the CALL's id and status.
 */
function finalTableHas(finalColumns: string[], callStatus: Record<string, unknown>) {
  warehouseAnswers(callStatus);
  redshiftMock.on(ExecuteStatementCommand).callsFake((input: { Sql?: string }) => ({
    Id: input.Sql?.startsWith('CALL')
      ? CALL_ID
      : /information_schema\.columns/.test(input.Sql ?? '')
        ? COLUMNS_ID
        : AUDIT_ID,
  }));
  redshiftMock.on(BatchExecuteStatementCommand).resolves({ Id: CALL_ID });
  redshiftMock
    .on(DescribeStatementCommand, { Id: COLUMNS_ID })
    .resolves({ Id: COLUMNS_ID, Status: 'FINISHED', HasResultSet: true });
  redshiftMock.on(GetStatementResultCommand, { Id: COLUMNS_ID }).resolves({
    ColumnMetadata: [{ name: 'column_name' }],
    Records: finalColumns.map((column) => [{ stringValue: column }]),
  });
}

/** A state whose extract found new source fields the final table lacks. */
function stateWithPending(pending: { column: string; redshiftType: string }[], plan = anAccountPlan()) {
  return anObjectState({
    plan,
    flow: {
      flowName: 'saas2rs-test-Account-run-2026-03-10',
      executionId: 'exec-1',
      state: 'SUCCEEDED',
      polls: 2,
      nextWaitSeconds: 0,
      recordsProcessed: 120,
      finalColumnsPending: pending,
    },
  });
}

const batchSqls = () =>
  redshiftMock.commandCalls(BatchExecuteStatementCommand).map((call) => call.args[0].input.Sqls);

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
        figures: { rowsStaged: 120, duplicatesRemoved: 20, rowsInserted: 95, rowsDeleted: 5, rowsPurged: 2 },
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
      rowsDeleted: 0,
      rowsPurged: 0,
    });
  });

  test('with no pending columns sends no batch and reads no catalog, even when the flow state is there', async () => {
    // Prepare
    warehouseAnswers({ Status: 'FINISHED', HasResultSet: false });

    // Act
    await consolidate(deps, stateWithPending([]));

    // Assess
    expect(redshiftMock).not.toHaveReceivedCommand(BatchExecuteStatementCommand);
    expect(callsOf('CALL')).toHaveLength(1);
    expect(callsOf('CALL')[0].args[0].input.Parameters).toHaveLength(8);
    expect(
      redshiftMock
        .commandCalls(ExecuteStatementCommand)
        .filter((call) => /information_schema/.test(call.args[0].input.Sql ?? '')),
    ).toHaveLength(0);
  });
});

describe('consolidate with new source columns pending for the final table', () => {
  const FULL_CALL =
    "CALL consolidate_object('salesforce_incremental', 'salesforce', 'account', 'id', 'systemmodstamp', 'hard', 'run-2026-03-10', 'full')";
  const schemaChange = () => anAccountPlan({ syncMode: 'full', syncReason: 'schema-change', window: {} });

  test("reads the final table's columns with Data API parameters", async () => {
    // Prepare
    finalTableHas(FINAL_COLUMNS, { Status: 'FINISHED', HasResultSet: false });

    // Act
    await consolidate(deps, stateWithPending([INDUSTRY], schemaChange()));

    // Assess
    expect(redshiftMock).toHaveReceivedCommandWith(ExecuteStatementCommand, {
      Sql: expect.stringMatching(
        /FROM information_schema\.columns WHERE table_schema = :final_schema AND table_name = :table_name/,
      ),
      Parameters: [
        { name: 'final_schema', value: 'salesforce' },
        { name: 'table_name', value: 'account' },
      ],
    });
  });

  test('adds the missing columns and calls consolidate_object in ONE batch, the CALL with literal values', async () => {
    // Prepare
    finalTableHas(FINAL_COLUMNS, { Status: 'FINISHED', HasResultSet: false });

    // Act
    await consolidate(deps, stateWithPending([INDUSTRY, REGION], schemaChange()));

    // Assess: the ALTERs commit with the CALL that fills the columns, or not at all
    expect(redshiftMock).toHaveReceivedCommandTimes(BatchExecuteStatementCommand, 1);
    expect(redshiftMock).toHaveReceivedCommandWith(BatchExecuteStatementCommand, {
      Database: 'dev',
      SecretArn: 'redshift/admin',
      WorkgroupName: 'wg-test',
      Sqls: [
        'ALTER TABLE "salesforce"."account" ADD COLUMN "industry" VARCHAR(65535)',
        'ALTER TABLE "salesforce"."account" ADD COLUMN "region__c" VARCHAR(65535)',
        FULL_CALL,
      ],
      StatementName: 'consolidate-account-run-2026-03-10',
    });
    expect(callsOf('CALL')).toHaveLength(0);
  });

  test('does not add again a pending column the final table already has', async () => {
    // Prepare: an earlier attempt's batch committed the industry column
    finalTableHas([...FINAL_COLUMNS, 'industry'], { Status: 'FINISHED', HasResultSet: false });

    // Act
    await consolidate(deps, stateWithPending([INDUSTRY, REGION], schemaChange()));

    // Assess
    expect(batchSqls()).toEqual([
      ['ALTER TABLE "salesforce"."account" ADD COLUMN "region__c" VARCHAR(65535)', FULL_CALL],
    ]);
  });

  test('sends the CALL alone in the batch when every pending column is already there', async () => {
    // Prepare
    finalTableHas([...FINAL_COLUMNS, 'industry'], { Status: 'FINISHED', HasResultSet: false });

    // Act
    await consolidate(deps, stateWithPending([INDUSTRY], schemaChange()));

    // Assess
    expect(batchSqls()).toEqual([[FULL_CALL]]);
  });

  test('puts the same values in the literal CALL as in the parameterised one', async () => {
    // Prepare
    finalTableHas(FINAL_COLUMNS, { Status: 'FINISHED', HasResultSet: false });
    const plan = anAccountPlan({
      primaryKey: 'ExternalId__c',
      cursorField: 'LastModifiedDate',
      deleteMode: 'soft',
      syncMode: 'full',
      syncReason: 'reset',
      window: {},
    });

    // Act
    await consolidate(deps, stateWithPending([INDUSTRY], plan));

    // Assess
    expect(batchSqls()[0]?.at(-1)).toBe(
      "CALL consolidate_object('salesforce_incremental', 'salesforce', 'account', 'externalid__c', 'lastmodifieddate', 'soft', 'run-2026-03-10', 'full')",
    );
  });

  test("returns the batch's id and the audit figures when the batch finishes within the Lambda", async () => {
    // Prepare
    finalTableHas(FINAL_COLUMNS, { Status: 'FINISHED', HasResultSet: false });
    const state = stateWithPending([INDUSTRY], schemaChange());

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
        figures: { rowsStaged: 120, duplicatesRemoved: 20, rowsInserted: 95, rowsDeleted: 5, rowsPurged: 2 },
      },
    });
  });

  test('hands a batch still running to the Wait loop, and a resumed call never submits it again', async () => {
    // Prepare
    finalTableHas(FINAL_COLUMNS, { Status: 'STARTED' });
    const first = await consolidate(deps, stateWithPending([INDUSTRY], schemaChange()));
    redshiftMock.resetHistory();

    // Act
    const next = await consolidate(deps, first);

    // Assess
    expect(first.consolidation).toEqual({
      statementId: CALL_ID,
      state: 'RUNNING',
      polls: 0,
      nextWaitSeconds: 5,
    });
    expect(redshiftMock).not.toHaveReceivedCommand(BatchExecuteStatementCommand);
    expect(redshiftMock).not.toHaveReceivedCommand(ExecuteStatementCommand);
    expect(next.consolidation).toMatchObject({ statementId: CALL_ID, state: 'RUNNING', polls: 1 });
  });

  test("fails with StatementFailed carrying Redshift's error text when the batch FAILED", async () => {
    // Prepare
    finalTableHas(FINAL_COLUMNS, { Status: 'FAILED', Error: 'ERROR: column "industry" already exists' });

    // Act
    const act = consolidate(deps, stateWithPending([INDUSTRY], schemaChange()));

    // Assess
    await expect(act).rejects.toMatchObject({
      name: 'StatementFailed',
      message: 'Account: consolidate_object failed in Redshift: ERROR: column "industry" already exists',
    });
  });

  test('refuses a value that cannot travel as a plain literal and sends no batch', async () => {
    // Prepare
    finalTableHas(FINAL_COLUMNS, { Status: 'FINISHED', HasResultSet: false });
    const state = {
      ...stateWithPending([INDUSTRY], schemaChange()),
      run: aRun({ runId: "run'; DROP TABLE x; --" }),
    };

    // Act
    const act = consolidate(deps, state);

    // Assess
    await expect(act).rejects.toThrow(/Refusing SQL literal/);
    expect(redshiftMock).not.toHaveReceivedCommand(BatchExecuteStatementCommand);
  });
});
