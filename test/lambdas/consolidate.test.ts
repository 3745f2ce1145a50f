import {
  BatchExecuteStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { ObjectState } from '../../lambdas/common/object-state';
import type { ConsolidateDependencies } from '../../lambdas/consolidate';
import { captureEmf } from '../support/emf';
import { SPENT_BUDGET } from './support/budgets';
import { FakeWarehouse } from './support/fake-warehouse';
import { anAccountPlan, anObjectState } from './support/fixtures';

Object.assign(process.env, {
  STAGING_SCHEMA: 'salesforce_incremental',
  FINAL_SCHEMA: 'salesforce',
  REDSHIFT_DATABASE: 'dev',
  REDSHIFT_SECRET_ID: 'redshift/admin',
  REDSHIFT_WORKGROUP_NAME: 'wg-test',
  FLOW_NAME_PREFIX: 'saas2rs-test',
});
const { consolidate } = require('../../lambdas/consolidate') as typeof import('../../lambdas/consolidate');

const redshiftMock = mockClient(RedshiftDataClient);

const deps: ConsolidateDependencies = {
  redshift: new RedshiftDataClient({}),
  target: { database: 'dev', secretId: 'redshift/admin', workgroupName: 'wg-test' },
  layout: { stagingSchema: 'salesforce_incremental', finalSchema: 'salesforce' },
  // Each statement is looked at once; one still running is handed to the state machine.
  budget: SPENT_BUDGET,
  statementNamePrefix: 'saas2rs-test',
};

const CALL = /^CALL consolidate_object/;
const CONSOLIDATE_SQL_WITHOUT_HISTORY =
  'CALL consolidate_object(:staging_schema, :final_schema, :table_name, :pk_column, :cursor_column, :delete_mode, :run_id, :sync_mode)';
const AUDIT = /FROM public\.consolidation_audit/;
const COUNT = /AS values_truncated/;
const RUN_ID = 'run-2026-03-10';
/** The first wait on a statement: 15 minutes, then the step looks itself. */
const FIRST_WAIT_SECONDS = 15 * 60;
const TRANSIENT =
  'ERROR: 1023 DETAIL: Serializable isolation violation on table - 164038, transactions forming the cycle are: 5812, 5813';

/** The audit row of this run, as consolidate_object wrote it (rows_purged as Redshift's BIGINT text). */
const AUDIT_ROW = {
  columns: [
    'rows_staged',
    'duplicates_removed',
    'rows_inserted',
    'rows_updated',
    'rows_unchanged',
    'rows_deleted',
    'rows_purged',
  ],
  rows: [[120, 20, 95, 30, 4, 5, '2']],
};

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

let warehouse: FakeWarehouse;

beforeEach(() => {
  redshiftMock.reset();
  warehouse = new FakeWarehouse(redshiftMock).answers(AUDIT, AUDIT_ROW);
});

describe('consolidate', () => {
  test('calls consolidate_object with every value as a Data API parameter, named, idempotent, with its end event', async () => {
    // Prepare
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
        { name: 'run_id', value: RUN_ID },
        { name: 'sync_mode', value: 'incremental' },
      ],
      StatementName: `saas2rs-test-Account-consolidate-${RUN_ID}`,
      ClientToken: expect.stringMatching(/^[0-9a-f]{64}$/),
      WithEvent: true,
    });
  });

  test('names every placeholder of the CALL in its parameters, and nothing else', async () => {
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
    const state = anObjectState();

    // Act
    const next = await consolidate(deps, state);

    // Assess
    const [call] = warehouse.submittedMatching(CALL);
    expect(next).toEqual({
      ...state,
      consolidation: { state: 'FINISHED', statementId: call.id, figures: FIGURES },
    });
    const [audit] = callsOf('SELECT');
    expect(audit.args[0].input.Sql).toMatch(AUDIT);
    expect(audit.args[0].input.Parameters).toEqual([
      { name: 'run_id', value: RUN_ID },
      { name: 'final_schema', value: 'salesforce' },
      { name: 'table_name', value: 'account' },
    ]);
  });

  test("fails with StatementFailed carrying Redshift's own error text when the CALL FAILED", async () => {
    // Prepare
    warehouse.failsWith(CALL, 'ERROR: Refusing identifier "Account;DROP"');

    // Act
    const act = consolidate(deps, anObjectState());

    // Assess
    await expect(act).rejects.toMatchObject({
      name: 'StatementFailed',
      message: 'Account: consolidate_object failed in Redshift: ERROR: Refusing identifier "Account;DROP"',
    });
    expect(warehouse.submittedMatching(CALL)).toHaveLength(1);
  });

  test('fails with StatementFailed when the CALL was ABORTED', async () => {
    // Prepare
    warehouse.aborts(CALL);

    // Act
    const error = await consolidate(deps, anObjectState()).catch((caught: Error) => caught);

    // Assess
    const [call] = warehouse.submittedMatching(CALL);
    expect(error).toMatchObject({
      name: 'StatementFailed',
      message: expect.stringContaining(`aborted in Redshift (statement ${call.id})`),
    });
  });

  test('counts zeros when the audit has no row for this run', async () => {
    // Prepare
    warehouse.answers(AUDIT, { columns: [], rows: [] });

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
    expect(warehouse.submittedMatching(/information_schema/)).toHaveLength(0);
  });

  test('reads the updated and unchanged rows of contract 6 from the audit', async () => {
    // Act
    const next = await consolidate(deps, anObjectState());

    // Assess
    expect(callsOf('SELECT COALESCE(SUM(rows_staged)')[0].args[0].input.Sql).toMatch(
      /SUM\(rows_updated\).*SUM\(rows_unchanged\)/s,
    );
    expect(next.consolidation?.figures).toMatchObject({ rowsUpdated: 30, rowsUnchanged: 4 });
  });
});

describe('consolidate with a slow warehouse (issue 19)', () => {
  test('hands a CALL still running to the state machine: waiting on it, kept in the state, no audit read yet', async () => {
    // Prepare
    warehouse.runsFor(CALL, 1);
    const state = anObjectState();

    // Act
    const next = await consolidate(deps, state);

    // Assess
    const [call] = warehouse.submittedMatching(CALL);
    expect(next).toEqual({
      ...state,
      consolidation: {
        state: 'RUNNING',
        valuesTruncated: 0,
        call: { id: call.id, attempt: 1, status: 'RUNNING' },
        statementId: call.id,
      },
      waiting: {
        statementId: call.id,
        what: 'Account: consolidate_object',
        timeoutSeconds: FIRST_WAIT_SECONDS,
      },
    });
    expect(warehouse.submittedMatching(AUDIT)).toHaveLength(0);
  });

  test('reads the figures on the next invocation, having submitted the CALL exactly once', async () => {
    // Prepare
    warehouse.runsFor(CALL, 2);
    const state = anObjectState();
    const first = await consolidate(deps, state);
    const second = await consolidate(deps, first);

    // Act
    const next = await consolidate(deps, second);

    // Assess
    const [call] = warehouse.submittedMatching(CALL);
    expect(second.waiting?.statementId).toBe(call.id);
    expect(next).toEqual({
      ...state,
      consolidation: { state: 'FINISHED', statementId: call.id, figures: FIGURES },
    });
    expect(warehouse.submittedMatching(CALL)).toHaveLength(1);
    expect(callsOf('CALL')).toHaveLength(1);
  });

  test('a Consolidate retried with the same input (the state machine) gets its CALL back: the procedure runs once', async () => {
    // Prepare: the first attempt's audit read was throttled after the CALL finished
    warehouse.refusesNext(
      'GetStatementResult',
      Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }),
    );
    const state = anObjectState();
    await expect(consolidate(deps, state)).rejects.toMatchObject({ name: 'Throttled' });

    // Act
    const next = await consolidate(deps, state);

    // Assess
    expect(warehouse.submittedMatching(CALL)).toHaveLength(1);
    expect(next.consolidation).toMatchObject({ state: 'FINISHED', figures: FIGURES });
  });

  test('waits on a slow audit read without calling the procedure again', async () => {
    // Prepare
    warehouse.runsFor(AUDIT, 1);

    // Act
    const first = await consolidate(deps, anObjectState());
    const next = await consolidate(deps, first);

    // Assess
    const [audit] = warehouse.submittedMatching(AUDIT);
    expect(first.waiting).toMatchObject({ statementId: audit.id, what: 'Account: read the audit row' });
    expect(first.consolidation?.call?.status).toBe('FINISHED');
    expect(warehouse.submittedMatching(CALL)).toHaveLength(1);
    expect(next.consolidation?.figures).toEqual(FIGURES);
  });

  test('resubmits a CALL that lost a race with a concurrent transaction (its transaction rolled back), then reads the figures', async () => {
    // Prepare
    warehouse.failsWith(CALL, TRANSIENT);

    // Act
    const next = await consolidate(deps, anObjectState());

    // Assess
    const calls = warehouse.submittedMatching(CALL);
    expect(calls.map((call) => call.ending?.status ?? 'FINISHED')).toEqual(['FAILED', 'FINISHED']);
    expect(calls[1].clientToken).not.toBe(calls[0].clientToken);
    expect(next.consolidation).toMatchObject({
      state: 'FINISHED',
      statementId: calls[1].id,
      figures: FIGURES,
    });
  });

  test('resubmits a CALL picked up from the state that ended in a transient conflict while the execution waited', async () => {
    // Prepare
    warehouse.runsFor(CALL, 1, 1).failsWith(CALL, TRANSIENT);
    const first = await consolidate(deps, anObjectState());

    // Act
    const next = await consolidate(deps, first);

    // Assess
    expect(warehouse.submittedMatching(CALL)).toHaveLength(2);
    expect(next.consolidation).toMatchObject({ state: 'FINISHED', figures: FIGURES });
  });

  test('throws WarehouseConflict, for the state machine to retry, when every resubmission of the CALL conflicts too', async () => {
    // Prepare
    warehouse.failsWith(CALL, TRANSIENT, 10);

    // Act
    const act = consolidate(deps, anObjectState());

    // Assess
    await expect(act).rejects.toMatchObject({ name: 'WarehouseConflict' });
    expect(warehouse.submittedMatching(AUDIT)).toHaveLength(0);
  });

  test('waits twice as long on a CALL still running when its wait timed out', async () => {
    // Prepare: the CALL outlives the first invocation and the first 15-minute wait
    warehouse.runsFor(CALL, 2);
    const first = await consolidate(deps, anObjectState());

    // Act: the wait's timeout sends the state, `waiting` included, back to the step
    const next = await consolidate(deps, first);

    // Assess
    expect(next.waiting).toEqual({ ...first.waiting, timeoutSeconds: 2 * FIRST_WAIT_SECONDS });
  });

  test("the CALL's own runtime is read from the statement it submitted, once it finished", async () => {
    // Act
    await consolidate(deps, anObjectState());

    // Assess
    const [call] = warehouse.submittedMatching(CALL);
    expect(redshiftMock).toHaveReceivedCommandWith(DescribeStatementCommand, { Id: call.id });
  });
});

describe('consolidate: long-text values cut by the flow', () => {
  test("counts the truncated columns' values that reached the limit in staging, in one statement, before the CALL", async () => {
    // Prepare
    warehouse.answers(COUNT, { columns: ['values_truncated'], rows: [[3]] });
    const state = stateAfterFlow({ truncatedColumns: ['description', 'notes__c'] });

    // Act
    const next = await consolidate(deps, state);

    // Assess
    const sqls = redshiftMock.commandCalls(ExecuteStatementCommand).map((call) => call.args[0].input.Sql);
    const count = sqls.filter((sql) => COUNT.test(sql ?? ''));
    expect(count).toEqual([
      'SELECT COALESCE(SUM(CASE WHEN CHAR_LENGTH("description") >= 16383 THEN 1 ELSE 0 END + CASE WHEN CHAR_LENGTH("notes__c") >= 16383 THEN 1 ELSE 0 END), 0) AS values_truncated FROM "salesforce_incremental"."account"',
    ]);
    // The CALL empties staging: the count comes first.
    expect(sqls.indexOf(count[0])).toBeLessThan(sqls.findIndex((sql) => sql?.startsWith('CALL')));
    expect(next.consolidation?.figures?.valuesTruncated).toBe(3);
  });

  test('keeps the count across the wait on the CALL and never counts again once the CALL was submitted', async () => {
    // Prepare
    warehouse.answers(COUNT, { columns: ['values_truncated'], rows: [[3]] }).runsFor(CALL, 1);
    const first = await consolidate(deps, stateAfterFlow({ truncatedColumns: ['description'] }));

    // Act
    const next = await consolidate(deps, first);

    // Assess
    expect(first.consolidation?.valuesTruncated).toBe(3);
    expect(first.consolidation).not.toHaveProperty('counting');
    expect(warehouse.submittedMatching(COUNT)).toHaveLength(1);
    expect(next.consolidation?.figures?.valuesTruncated).toBe(3);
  });

  test('waits on a slow count, keeping how far the counting got, and submits the CALL only after it', async () => {
    // Prepare
    warehouse.answers(COUNT, { columns: ['values_truncated'], rows: [[2]] }).runsFor(COUNT, 1);

    // Act
    const first = await consolidate(deps, stateAfterFlow({ truncatedColumns: ['description'] }));
    const next = await consolidate(deps, first);

    // Assess
    const [count] = warehouse.submittedMatching(COUNT);
    expect(first.consolidation?.counting).toEqual({
      done: 0,
      total: 0,
      current: { id: count.id, attempt: 1, status: 'RUNNING' },
    });
    expect(first.waiting).toMatchObject({ statementId: count.id, what: 'Account: count truncated values' });
    expect(warehouse.submittedMatching(CALL)).toHaveLength(1);
    expect(warehouse.submittedMatching(COUNT)).toHaveLength(1);
    expect(next.consolidation?.figures?.valuesTruncated).toBe(2);
  });

  test('sends no count when the flow truncates nothing', async () => {
    // Act
    await consolidate(deps, stateAfterFlow({ truncatedColumns: [] }));

    // Assess
    expect(warehouse.submittedMatching(COUNT)).toHaveLength(0);
  });
});

describe('consolidate with history (issue 22)', () => {
  const HISTORY_AUDIT_ROW = {
    columns: [...AUDIT_ROW.columns, 'history_versions_added', 'history_versions_closed'],
    rows: [[...AUDIT_ROW.rows[0], 91, '35']],
  };

  test('an object that keeps history calls the 10-argument form: tombstones 30 days, history in <final schema>_history', async () => {
    // Act
    await consolidate(deps, anObjectState({ plan: anAccountPlan({ history: true }) }));

    // Assess
    const { Sql, Parameters } = callsOf('CALL')[0].args[0].input;
    expect(Sql).toBe(
      'CALL consolidate_object(:staging_schema, :final_schema, :table_name, :pk_column, :cursor_column, :delete_mode, :run_id, :sync_mode, 30, :history_schema)',
    );
    expect(Parameters).toContainEqual({ name: 'history_schema', value: 'salesforce_history' });
    const placeholders = [...(Sql ?? '').matchAll(/:(\w+)/g)].map((match) => match[1]).sort();
    expect((Parameters ?? []).map((parameter) => parameter.name).sort()).toEqual(placeholders);
  });

  test("a source's own final schema keeps its history beside it; a full sync keeps history too", async () => {
    // Act
    await consolidate(
      deps,
      anObjectState({
        plan: anAccountPlan({
          history: true,
          stagingSchema: 'tidb_incremental',
          finalSchema: 'tidb',
          syncMode: 'full',
          syncReason: 'reset',
          window: {},
        }),
      }),
    );

    // Assess
    const { Parameters } = callsOf('CALL')[0].args[0].input;
    expect(Parameters).toContainEqual({ name: 'history_schema', value: 'tidb_history' });
    expect(Parameters).toContainEqual({ name: 'sync_mode', value: 'full' });
  });

  test('an object without history (or switched off) keeps the 8-argument form, which leaves the history table alone', async () => {
    // Act
    const next = await consolidate(deps, anObjectState());

    // Assess
    expect(callsOf('CALL')[0].args[0].input.Sql).toBe(CONSOLIDATE_SQL_WITHOUT_HISTORY);
    expect(next.consolidation?.figures).not.toHaveProperty('historyVersionsAdded');
  });

  test('reads the versions added and closed from the audit, summed over the run', async () => {
    // Prepare
    warehouse.answers(AUDIT, HISTORY_AUDIT_ROW);

    // Act
    const next = await consolidate(deps, anObjectState({ plan: anAccountPlan({ history: true }) }));

    // Assess
    expect(callsOf('SELECT COALESCE(SUM(rows_staged)')[0].args[0].input.Sql).toMatch(
      /SUM\(history_versions_added\).*SUM\(history_versions_closed\)/s,
    );
    expect(next.consolidation?.figures).toEqual({
      ...FIGURES,
      historyVersionsAdded: 91,
      historyVersionsClosed: 35,
    });
  });

  test('emits the versions added and closed per object; an object without history emits neither', async () => {
    // Prepare
    warehouse.answers(AUDIT, HISTORY_AUDIT_ROW);

    // Act
    const withHistory = await captureEmf(() =>
      consolidate(deps, anObjectState({ plan: anAccountPlan({ history: true }) })),
    );
    const without = await captureEmf(() => consolidate(deps, anObjectState()));

    // Assess
    const named = (metrics: typeof withHistory.metrics) =>
      Object.fromEntries(
        metrics
          .filter((metric) => metric.name.startsWith('History'))
          .map((metric) => [metric.name, metric.value]),
      );
    expect(named(withHistory.metrics)).toEqual({ HistoryVersionsAdded: 91, HistoryVersionsClosed: 35 });
    expect(named(without.metrics)).toEqual({});
  });
});

describe('consolidate: the column refresh (issue 21)', () => {
  let running: ObjectState;
  const REFRESH_CALL = /^CALL refresh_columns/;
  const REFRESH_AUDIT = /FROM public\.column_refresh_audit/;
  const REFRESH = {
    columns: ['days_open__c', 'score__c'],
    fields: ['Days_Open__c', 'Score__c'],
    reasons: ['formula-refresh' as const],
    flowName: 'saas2rs-test-Account-refresh-run-2026-03-10',
  };
  /** After both flows: the incremental one in `extract`, the refresh flow in `flow`. */
  function stateAfterRefreshFlow(extracted: number) {
    const after = stateAfterFlow({ recordsProcessed: 500, flowName: REFRESH.flowName });
    return {
      ...after,
      extract: { ...(after.flow as NonNullable<ObjectState['flow']>), recordsProcessed: extracted },
      refresh: REFRESH,
    };
  }

  beforeEach(() => {
    warehouse.answers(REFRESH_AUDIT, {
      columns: ['rows_staged', 'keys_matched', 'keys_missing', 'rows_refreshed'],
      rows: [[500, 498, 2, 7]],
    });
  });

  test('calls refresh_columns after the consolidation, every value a Data API parameter, and reads its figures', async () => {
    // Act
    const next = await consolidate(deps, stateAfterRefreshFlow(120));

    // Assess: consolidate_object first (the refresh also reaches the rows it inserts), then the refresh
    const sqls = warehouse.submitted.map((statement) => statement.sqls[0].split('(')[0]);
    expect(sqls).toEqual([
      'CALL consolidate_object',
      expect.stringMatching(/^SELECT COALESCE/),
      'CALL refresh_columns',
      expect.stringMatching(/^SELECT COALESCE/),
    ]);
    expect(warehouse.submittedMatching(REFRESH_CALL)[0]).toMatchObject({
      parameters: {
        staging_schema: 'salesforce_incremental',
        final_schema: 'salesforce',
        table_name: 'account',
        refresh_table: '_refresh_account',
        pk_column: 'id',
        columns: 'days_open__c,score__c',
        run_id: RUN_ID,
      },
      statementName: `saas2rs-test-Account-refresh-${RUN_ID}`,
      withEvent: true,
    });
    expect(next.consolidation).toMatchObject({ state: 'FINISHED', figures: FIGURES });
    expect(next.refresh?.figures).toEqual({
      rowsStaged: 500,
      keysMatched: 498,
      keysMissing: 2,
      rowsRefreshed: 7,
    });
    expect(next).not.toHaveProperty('waiting');
  });

  test('emits RowsRefreshed once, when the refresh’s figures are read: nothing while its CALL runs', async () => {
    // Prepare
    warehouse.runsFor(REFRESH_CALL, 1);

    // Act
    const first = await captureEmf(async () => {
      running = await consolidate(deps, stateAfterRefreshFlow(120));
    });
    const second = await captureEmf(() => consolidate(deps, running));

    // Assess
    expect(first.metrics.map((metric) => metric.name)).not.toContain('RowsRefreshed');
    expect(second.metrics.filter((metric) => metric.name === 'RowsRefreshed')).toEqual([
      expect.objectContaining({
        value: 7,
        unit: 'Count',
        dimensions: expect.objectContaining({ object: 'Account' }),
      }),
    ]);
  });

  test('refreshes instead of consolidating when the incremental flow found nothing', async () => {
    // Act
    const next = await consolidate(deps, stateAfterRefreshFlow(0));

    // Assess
    expect(warehouse.submittedMatching(CALL)).toEqual([]);
    expect(warehouse.submittedMatching(REFRESH_CALL)).toHaveLength(1);
    expect(next.consolidation).toEqual({ state: 'FINISHED' });
    expect(next.refresh?.figures?.rowsRefreshed).toBe(7);
  });

  test('hands a refresh CALL still running to the state machine, then reads its figures without consolidating or refreshing again', async () => {
    // Prepare
    warehouse.runsFor(REFRESH_CALL, 1);

    // Act
    const first = await consolidate(deps, stateAfterRefreshFlow(120));
    const next = await consolidate(deps, first);

    // Assess
    const [refreshCall] = warehouse.submittedMatching(REFRESH_CALL);
    expect(first.consolidation?.state).toBe('FINISHED');
    expect(first.waiting).toEqual({
      statementId: refreshCall.id,
      what: 'Account: refresh_columns',
      timeoutSeconds: FIRST_WAIT_SECONDS,
    });
    expect(warehouse.submittedMatching(CALL)).toHaveLength(1);
    expect(warehouse.submittedMatching(REFRESH_CALL)).toHaveLength(1);
    expect(next.refresh?.figures?.rowsRefreshed).toBe(7);
    expect(next).not.toHaveProperty('waiting');
  });
});
