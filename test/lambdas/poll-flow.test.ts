import {
  AppflowClient,
  DescribeFlowExecutionRecordsCommand,
  type ExecutionRecord,
  ThrottlingException,
} from '@aws-sdk/client-appflow';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { FlowState } from '../../lambdas/common/object-state';
import { anObjectState } from './support/fixtures';

// The handler module reads its configuration at load time.
process.env.FLOW_WAIT_HEARTBEAT_SECONDS = '3600';
const { pollFlow } = require('../../lambdas/poll-flow') as typeof import('../../lambdas/poll-flow');

const appflowMock = mockClient(AppflowClient);
const client = new AppflowClient({});

const FLOW_NAME = 'saas2rs-test-Account-run-2026-03-10';
/** The flow's deadline: its start (06:00) plus a 12-hour flow timeout. */
const DEADLINE = '2026-03-10T18:00:00.000Z';
/** A missed heartbeat an hour into the run: well before the deadline. */
const NOW = new Date('2026-03-10T07:00:00.000Z');
const secondsBefore = (seconds: number) => new Date(Date.parse(DEADLINE) - seconds * 1000);
/** The environment's longest heartbeat of a flow wait (FlowRunWaits). */
const HEARTBEAT_SECONDS = 3600;

function runningFlow(overrides: Partial<FlowState> = {}): FlowState {
  return {
    flowName: FLOW_NAME,
    executionId: 'exec-1',
    state: 'RUNNING',
    polls: 0,
    deadline: DEADLINE,
    waitTimeoutSeconds: 12 * 3600,
    recordsProcessed: 0,
    finalColumnsPending: [],
    ...overrides,
  };
}

function withExecutions(...flowExecutions: ExecutionRecord[]) {
  appflowMock.on(DescribeFlowExecutionRecordsCommand).resolves({ flowExecutions });
}

beforeEach(() => {
  appflowMock.reset();
});

describe('pollFlow', () => {
  test("asks AppFlow about this flow's runs", async () => {
    // Prepare
    withExecutions({ executionId: 'exec-1', executionStatus: 'InProgress' });

    // Act
    await pollFlow(client, anObjectState({ flow: runningFlow() }), NOW);

    // Assess
    expect(appflowMock).toHaveReceivedCommandWith(DescribeFlowExecutionRecordsCommand, {
      flowName: FLOW_NAME,
    });
  });

  test('sends an InProgress run back to the wait for the seconds left before its deadline, counting the look', async () => {
    // Prepare
    withExecutions({ executionId: 'exec-1', executionStatus: 'InProgress' });
    const state = anObjectState({ flow: runningFlow({ polls: 1 }) });

    // Act
    const next = await pollFlow(client, state, NOW);

    // Assess
    expect(next).toEqual({
      ...state,
      flow: runningFlow({ polls: 2, waitTimeoutSeconds: 11 * 3600, heartbeatSeconds: HEARTBEAT_SECONDS }),
    });
  });

  test("keeps the wait's heartbeat below what is left of the timeout near the deadline", async () => {
    // Prepare: 90 seconds left, a 1-hour heartbeat configured
    withExecutions({ executionId: 'exec-1', executionStatus: 'InProgress' });

    // Act
    const next = await pollFlow(
      client,
      anObjectState({ flow: runningFlow() }),
      secondsBefore(90),
      HEARTBEAT_SECONDS,
    );

    // Assess: Step Functions requires HeartbeatSeconds < TimeoutSeconds
    expect(next.flow).toMatchObject({ waitTimeoutSeconds: 90, heartbeatSeconds: 89 });
  });

  test('waits the shortest wait there is (2 s, a 1-s heartbeat) for a deadline 1.5 s away, rounded up', async () => {
    // Prepare
    withExecutions({ executionId: 'exec-1', executionStatus: 'InProgress' });

    // Act
    const next = await pollFlow(client, anObjectState({ flow: runningFlow() }), secondsBefore(1.5));

    // Assess
    expect(next.flow).toMatchObject({ waitTimeoutSeconds: 2, heartbeatSeconds: 1 });
  });

  test.each([
    ['1 s', 1],
    ['0.2 s', 0.2],
  ])(
    'fails with FlowWaitTimedOut when only %s is left: too little for a wait with a heartbeat below its timeout',
    async (_left, left) => {
      // Prepare
      withExecutions({ executionId: 'exec-1', executionStatus: 'InProgress' });

      // Act
      const act = pollFlow(client, anObjectState({ flow: runningFlow() }), secondsBefore(left));

      // Assess
      await expect(act).rejects.toMatchObject({
        name: 'FlowWaitTimedOut',
        message: `Account: flow ${FLOW_NAME} still running at its deadline ${DEADLINE} (flowTimeoutMinutes)`,
      });
    },
  );

  test.each([
    ['at', 0],
    ['past', -60],
  ])(
    'fails with FlowWaitTimedOut naming object and flow when the run is still going %s its deadline',
    async (_when, left) => {
      // Prepare
      withExecutions({ executionId: 'exec-1', executionStatus: 'InProgress' });

      // Act
      const act = pollFlow(client, anObjectState({ flow: runningFlow() }), secondsBefore(left));

      // Assess
      await expect(act).rejects.toMatchObject({
        name: 'FlowWaitTimedOut',
        message: `Account: flow ${FLOW_NAME} still running at its deadline ${DEADLINE} (flowTimeoutMinutes)`,
      });
    },
  );

  test('still reports a run that ended just before the deadline passed, rather than timing it out', async () => {
    // Prepare: the heartbeat was missed; by the time the child looks, the deadline has passed
    withExecutions({
      executionId: 'exec-1',
      executionStatus: 'Successful',
      executionResult: { recordsProcessed: 5 },
    });

    // Act
    const next = await pollFlow(client, anObjectState({ flow: runningFlow() }), secondsBefore(-600));

    // Assess
    expect(next.flow).toMatchObject({ state: 'SUCCEEDED', recordsProcessed: 5 });
  });

  test.each([
    ['no runs at all', []],
    ['only another run', [{ executionId: 'exec-other', executionStatus: 'Successful' }]],
  ] as const)('treats a run AppFlow has not listed yet (%s) as still running', async (_what, listed) => {
    // Prepare
    withExecutions(...listed);

    // Act
    const next = await pollFlow(client, anObjectState({ flow: runningFlow({ polls: 2 }) }), NOW);

    // Assess
    expect(next.flow).toEqual(
      runningFlow({ polls: 3, waitTimeoutSeconds: 11 * 3600, heartbeatSeconds: HEARTBEAT_SECONDS }),
    );
  });

  test('finds its run on a later page of execution records', async () => {
    // Prepare
    appflowMock
      .on(DescribeFlowExecutionRecordsCommand)
      .resolvesOnce({
        flowExecutions: [{ executionId: 'exec-0', executionStatus: 'Successful' }],
        nextToken: 'p2',
      })
      .resolves({
        flowExecutions: [
          { executionId: 'exec-1', executionStatus: 'Successful', executionResult: { recordsProcessed: 7 } },
        ],
      });

    // Act
    const next = await pollFlow(client, anObjectState({ flow: runningFlow() }), NOW);

    // Assess
    expect(next.flow?.state).toBe('SUCCEEDED');
    expect(appflowMock).toHaveReceivedCommandWith(DescribeFlowExecutionRecordsCommand, { nextToken: 'p2' });
  });

  test('reports a Successful run with the records it processed', async () => {
    // Prepare
    withExecutions({
      executionId: 'exec-1',
      executionStatus: 'Successful',
      executionResult: { recordsProcessed: 1234, bytesProcessed: 99 },
    });
    const state = anObjectState({
      flow: runningFlow({
        polls: 1,
        finalColumnsPending: [{ column: 'industry', redshiftType: 'VARCHAR(65535)' }],
      }),
    });

    // Act
    const next = await pollFlow(client, state, NOW);

    // Assess
    expect(next).toEqual({
      ...state,
      flow: { ...state.flow, polls: 2, state: 'SUCCEEDED', recordsProcessed: 1234 },
    });
  });

  test('counts zero records for a Successful run without a result', async () => {
    // Prepare
    withExecutions({ executionId: 'exec-1', executionStatus: 'Successful' });

    // Act
    const next = await pollFlow(client, anObjectState({ flow: runningFlow() }), NOW);

    // Assess
    expect(next.flow?.recordsProcessed).toBe(0);
  });

  test("fails the object with FlowRunFailed carrying the flow's own message when the run ends in Error", async () => {
    // Prepare
    withExecutions({
      executionId: 'exec-1',
      executionStatus: 'Error',
      executionResult: { errorInfo: { executionMessage: 'Redshift COPY failed: column "industry" missing' } },
    });

    // Act
    const act = pollFlow(client, anObjectState({ flow: runningFlow() }), NOW);

    // Assess
    await expect(act).rejects.toMatchObject({
      name: 'FlowRunFailed',
      message: 'Account: flow run exec-1 ended in Error: Redshift COPY failed: column "industry" missing',
    });
  });

  test('fails with SourceApiLimit, not FlowRunFailed, when the run hit the Salesforce API limit', async () => {
    // Prepare
    withExecutions({
      executionId: 'exec-1',
      executionStatus: 'Error',
      executionResult: {
        errorInfo: { executionMessage: 'REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.' },
      },
    });

    // Act
    const act = pollFlow(client, anObjectState({ flow: runningFlow() }), NOW);

    // Assess
    await expect(act).rejects.toMatchObject({
      name: 'SourceApiLimit',
      message: expect.stringContaining('REQUEST_LIMIT_EXCEEDED'),
    });
  });

  test('fails with SourceAuthentication when the run lost its Salesforce session', async () => {
    // Prepare
    withExecutions({
      executionId: 'exec-1',
      executionStatus: 'Error',
      executionResult: { errorInfo: { executionMessage: 'INVALID_SESSION_ID: Session expired or invalid' } },
    });

    // Act / Assess
    await expect(pollFlow(client, anObjectState({ flow: runningFlow() }), NOW)).rejects.toMatchObject({
      name: 'SourceAuthentication',
    });
  });

  test('fails with FlowRunFailed and "no message" when an Error run carries none', async () => {
    // Prepare
    withExecutions({ executionId: 'exec-1', executionStatus: 'Error' });

    // Act / Assess
    await expect(pollFlow(client, anObjectState({ flow: runningFlow() }), NOW)).rejects.toMatchObject({
      name: 'FlowRunFailed',
      message: expect.stringContaining('no message'),
    });
  });

  test.each(['CancelStarted', 'Canceled'] as const)(
    'fails with FlowRunFailed when the run is %s',
    async (status) => {
      // Prepare
      withExecutions({ executionId: 'exec-1', executionStatus: status });

      // Act
      const act = pollFlow(client, anObjectState({ flow: runningFlow() }), NOW);

      // Assess
      await expect(act).rejects.toMatchObject({
        name: 'FlowRunFailed',
        message: `Account: flow run exec-1 was canceled (${status})`,
      });
    },
  );

  test('turns a throttled DescribeFlowExecutionRecords into Throttled so the poll is retried', async () => {
    // Prepare
    appflowMock
      .on(DescribeFlowExecutionRecordsCommand)
      .rejects(new ThrottlingException({ message: 'Rate exceeded', $metadata: {} }));

    // Act / Assess
    await expect(pollFlow(client, anObjectState({ flow: runningFlow() }), NOW)).rejects.toMatchObject({
      name: 'Throttled',
      message: expect.stringContaining('DescribeFlowExecutionRecords'),
    });
  });
});
