import {
  AppflowClient,
  DescribeFlowExecutionRecordsCommand,
  type ExecutionRecord,
} from '@aws-sdk/client-appflow';
import {
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import { mockClient } from 'aws-sdk-client-mock';
import type { FlowState } from '../../lambdas/common/object-state';
import {
  flowRunMinutes,
  publishConsolidationMetrics,
  publishObjectMetrics,
  statementSeconds,
} from '../../lambdas/common/observability';
import type { ConsolidateDependencies } from '../../lambdas/consolidate';
import { captureEmf, valuesByName } from '../support/emf';
import { SPENT_BUDGET } from './support/budgets';
import { anObjectState } from './support/fixtures';

Object.assign(process.env, {
  STAGING_SCHEMA: 'salesforce_incremental',
  FINAL_SCHEMA: 'salesforce',
  REDSHIFT_DATABASE: 'dev',
  REDSHIFT_SECRET_ID: 'redshift/admin',
  REDSHIFT_WORKGROUP_NAME: 'wg-test',
  FLOW_NAME_PREFIX: 'saas2rs-test',
  FLOW_WAIT_HEARTBEAT_SECONDS: '3600',
});
const { consolidate } = require('../../lambdas/consolidate') as typeof import('../../lambdas/consolidate');
const { pollFlow } = require('../../lambdas/poll-flow') as typeof import('../../lambdas/poll-flow');

const appflowMock = mockClient(AppflowClient);
const redshiftMock = mockClient(RedshiftDataClient);

const STARTED = new Date('2026-03-10T06:00:00Z');
const minutesLater = (minutes: number) => new Date(STARTED.getTime() + minutes * 60_000);

function runningFlow(): FlowState {
  return {
    flowName: 's2r-Account-run-2026-03-10',
    executionId: 'exec-1',
    state: 'RUNNING',
    polls: 0,
    deadline: minutesLater(720).toISOString(),
    waitTimeoutSeconds: 720 * 60,
    recordsProcessed: 0,
    finalColumnsPending: [],
  };
}

function flowRunIs(record: ExecutionRecord) {
  appflowMock.on(DescribeFlowExecutionRecordsCommand).resolves({ flowExecutions: [record] });
}

const deps: ConsolidateDependencies = {
  redshift: new RedshiftDataClient({}),
  target: { database: 'dev', secretId: 'redshift/admin', workgroupName: 'wg-test' },
  layout: { stagingSchema: 'salesforce_incremental', finalSchema: 'salesforce' },
  budget: SPENT_BUDGET,
  statementNamePrefix: 'saas2rs-test',
};

/** The CALL ends with `callStatus`; the audit query answers with `audit` (column → value). */
function warehouseAnswers(callStatus: Record<string, unknown>, audit: Record<string, number>) {
  redshiftMock
    .on(ExecuteStatementCommand)
    .callsFake((input: { Sql?: string }) => ({ Id: input.Sql?.startsWith('CALL') ? 'call-1' : 'audit-1' }));
  redshiftMock.on(DescribeStatementCommand, { Id: 'call-1' }).resolves({ Id: 'call-1', ...callStatus });
  redshiftMock
    .on(DescribeStatementCommand, { Id: 'audit-1' })
    .resolves({ Id: 'audit-1', Status: 'FINISHED', HasResultSet: true });
  redshiftMock.on(GetStatementResultCommand, { Id: 'audit-1' }).resolves({
    ColumnMetadata: Object.keys(audit).map((name) => ({ name })),
    Records: [Object.values(audit).map((value) => ({ longValue: value }))],
  });
}

const AUDIT = {
  rows_staged: 120,
  duplicates_removed: 20,
  rows_inserted: 95,
  rows_updated: 30,
  rows_unchanged: 4,
  rows_deleted: 5,
  rows_purged: 0,
};

beforeEach(() => {
  appflowMock.reset();
  redshiftMock.reset();
});

describe('FlowRunMinutes (PollFlow)', () => {
  test("a successful run emits its minutes from AppFlow's start and end, per object and environment", async () => {
    // Prepare
    flowRunIs({
      executionId: 'exec-1',
      executionStatus: 'Successful',
      startedAt: STARTED,
      lastUpdatedAt: minutesLater(12.5),
      executionResult: { recordsProcessed: 40 },
    });

    // Act
    const { metrics, error } = await captureEmf(
      () => pollFlow(new AppflowClient({}), anObjectState({ flow: runningFlow() }), minutesLater(15)),
      { PIPELINE_ENVIRONMENT: 'dev' },
    );

    // Assess
    expect(error).toBeUndefined();
    expect(metrics).toEqual([
      {
        namespace: 'SaasToRedshift',
        name: 'FlowRunMinutes',
        unit: 'None',
        value: 12.5,
        dimensions: { service: 'saas-to-redshift', object: 'Account', environment: 'dev' },
      },
    ]);
  });

  test('a run still in progress emits nothing, and no Powertools warning on every poll', async () => {
    // Prepare
    flowRunIs({
      executionId: 'exec-1',
      executionStatus: 'InProgress',
      startedAt: STARTED,
      lastUpdatedAt: STARTED,
    });

    // Act
    const { metrics, warnings } = await captureEmf(() =>
      pollFlow(new AppflowClient({}), anObjectState({ flow: runningFlow() }), minutesLater(15)),
    );

    // Assess
    expect(metrics).toEqual([]);
    expect(warnings).toEqual([]);
  });

  test('a failed run still emits its minutes before the object fails', async () => {
    // Prepare
    flowRunIs({
      executionId: 'exec-1',
      executionStatus: 'Error',
      startedAt: STARTED,
      lastUpdatedAt: minutesLater(3),
      executionResult: { errorInfo: { executionMessage: 'INVALID_SESSION_ID' } },
    });

    // Act
    const { metrics, error } = await captureEmf(() =>
      pollFlow(new AppflowClient({}), anObjectState({ flow: runningFlow() }), minutesLater(15)),
    );

    // Assess
    expect(error).toBeDefined();
    expect(valuesByName(metrics)).toEqual({ FlowRunMinutes: 3 });
  });

  test('a run without timestamps, or ending before it started, gives no figure rather than a wrong one', () => {
    expect(flowRunMinutes({ executionStatus: 'Successful' })).toBeUndefined();
    expect(
      flowRunMinutes({ executionStatus: 'Successful', startedAt: minutesLater(5), lastUpdatedAt: STARTED }),
    ).toBeUndefined();
  });
});

describe('consolidation metrics (Consolidate)', () => {
  test("a finished CALL emits the audit figures (RowsUpdated, RowsUnchanged too) and ConsolidationSeconds from the Data API's Duration", async () => {
    // Prepare
    warehouseAnswers({ Status: 'FINISHED', HasResultSet: false, Duration: 4_250_000_000 }, AUDIT);

    // Act
    const { metrics, error } = await captureEmf(() => consolidate(deps, anObjectState()));

    // Assess
    expect(error).toBeUndefined();
    expect(valuesByName(metrics)).toMatchObject({
      RowsStaged: 120,
      DuplicatesRemoved: 20,
      RowsInserted: 95,
      RowsUpdated: 30,
      RowsUnchanged: 4,
      RowsDeleted: 5,
      ConsolidationSeconds: 4.25,
    });
    expect(metrics.find((metric) => metric.name === 'ConsolidationSeconds')?.unit).toBe('Seconds');
    expect(new Set(metrics.map((metric) => metric.dimensions.object))).toEqual(new Set(['Account']));
  });

  test('a CALL still running emits nothing: its figures come when it finishes, once', async () => {
    // Prepare
    warehouseAnswers({ Status: 'STARTED', Duration: -1 }, AUDIT);

    // Act
    const { metrics } = await captureEmf(() => consolidate(deps, anObjectState()));

    // Assess
    expect(metrics).toEqual([]);
  });

  test('a CALL that finished while the execution waited on it emits its Duration too', async () => {
    // Prepare
    warehouseAnswers({ Status: 'FINISHED', HasResultSet: false, Duration: 95_000_000_000 }, AUDIT);
    const running = anObjectState({
      consolidation: {
        state: 'RUNNING',
        call: { id: 'call-1', attempt: 1, status: 'RUNNING' },
        statementId: 'call-1',
      },
      waiting: { statementId: 'call-1', what: 'Account: consolidate_object', timeoutSeconds: 900 },
    });

    // Act
    const { metrics } = await captureEmf(() => consolidate(deps, running));

    // Assess
    expect(valuesByName(metrics)).toMatchObject({ ConsolidationSeconds: 95 });
  });

  test('a figure the procedure does not report stays out; the others still go out', async () => {
    // Act
    const { metrics } = await captureEmf(() =>
      publishConsolidationMetrics(
        'Contact',
        {
          rowsStaged: 10,
          rowsInserted: 6,
          rowsUpdated: undefined,
          rowsUnchanged: 4,
          rowsDeleted: 0,
          duplicatesRemoved: 0,
        },
        { Duration: 1_000_000_000 },
      ),
    );

    // Assess
    expect(valuesByName(metrics)).toEqual({
      RowsStaged: 10,
      DuplicatesRemoved: 0,
      RowsInserted: 6,
      RowsUnchanged: 4,
      RowsDeleted: 0,
      ConsolidationSeconds: 1,
    });
  });

  test('an unknown Duration (-1) leaves ConsolidationSeconds out instead of charting a negative time', () => {
    expect(statementSeconds({ Duration: -1 })).toBeUndefined();
    expect(statementSeconds(undefined)).toBeUndefined();
    expect(statementSeconds({ Duration: 1_500_000 })).toBe(0.002);
  });
});

describe('publishObjectMetrics', () => {
  test('a figure that was not measured is left out, not charted as zero', async () => {
    // Act
    const { metrics } = await captureEmf(() =>
      publishObjectMetrics('Account', {
        RowsInserted: 3,
        RowsUpdated: undefined,
        FlowRunMinutes: Number.NaN,
      }),
    );

    // Assess
    expect(valuesByName(metrics)).toEqual({ RowsInserted: 3 });
  });

  test('nothing to publish prints nothing (no empty EMF record, no Powertools warning)', async () => {
    // Act
    const { metrics, warnings } = await captureEmf(() =>
      publishObjectMetrics('Account', { RowsUpdated: undefined }),
    );

    // Assess
    expect(metrics).toEqual([]);
    expect(warnings).toEqual([]);
  });
});
