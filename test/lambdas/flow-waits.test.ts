import {
  AppflowClient,
  DescribeFlowExecutionRecordsCommand,
  type ExecutionRecord,
  ThrottlingException,
} from '@aws-sdk/client-appflow';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  FLOW_RUN_ENDED_DETAIL_TYPE,
  type FlowWait,
  type FlowWaitDependencies,
  flowWaitTimes,
  registerFlowWait,
  settleFlowByName,
  settleFlowWait,
  sweepFlowWaits,
} from '../../lambdas/common/flow-waits';
import type { FlowState } from '../../lambdas/common/object-state';
import { anObjectState } from './support/fixtures';

// The handler modules read their configuration at load time.
process.env.FLOW_WAITS_TABLE_NAME = 'flow-waits-test';
const { handler: flowRunEnded } =
  require('../../lambdas/flow-run-ended') as typeof import('../../lambdas/flow-run-ended');
const { handler: awaitFlowRun } =
  require('../../lambdas/await-flow-run') as typeof import('../../lambdas/await-flow-run');

const appflowMock = mockClient(AppflowClient);
const sfnMock = mockClient(SFNClient);
const dynamoMock = mockClient(DynamoDBDocumentClient);

const TABLE = 'flow-waits-test';
const FLOW_NAME = 'saas2rs-test-Account-run-2026-03-10';
const TOKEN = 'token-of-the-account-child';
/** The flow's deadline: its start plus a 12-hour flow timeout. */
const DEADLINE = '2026-03-10T18:00:00.000Z';
const ONE_DAY_SECONDS = 24 * 3600;

const deps: FlowWaitDependencies = {
  appflow: new AppflowClient({}),
  sfn: new SFNClient({}),
  doc: DynamoDBDocumentClient.from(new DynamoDBClient({})),
  tableName: TABLE,
};

function runningFlow(overrides: Partial<FlowState> = {}): FlowState {
  return {
    flowName: FLOW_NAME,
    executionId: 'exec-1',
    state: 'RUNNING',
    polls: 0,
    deadline: DEADLINE,
    waitTimeoutSeconds: 12 * 3600,
    recordsProcessed: 0,
    truncatedColumns: ['description'],
    ...overrides,
  };
}

/** A stored wait of one object's child, as registerFlowWait writes it. */
function aWait(objectName = 'Account', overrides: Partial<FlowWait> = {}): FlowWait {
  const flowName = `saas2rs-test-${objectName}-run-2026-03-10`;
  return {
    flowName,
    taskToken: `token-of-the-${objectName.toLowerCase()}-child`,
    objectName,
    runId: 'run-2026-03-10',
    flow: runningFlow({ flowName, executionId: `exec-${objectName}` }),
    expiresAt: Date.parse(DEADLINE) / 1000 + ONE_DAY_SECONDS,
    ...overrides,
  };
}

/** AppFlow lists this run (and only it) for its flow. */
function flowRunIs(flowName: string, run: ExecutionRecord) {
  appflowMock.on(DescribeFlowExecutionRecordsCommand, { flowName }).resolves({ flowExecutions: [run] });
}

const successfulRun = (executionId: string, recordsProcessed: number): ExecutionRecord => ({
  executionId,
  executionStatus: 'Successful',
  executionResult: { recordsProcessed },
});

/** A common (not modeled) AWS error, as Step Functions and DynamoDB throttle. */
const throttling = () =>
  Object.assign(new Error('Rate exceeded'), {
    name: 'ThrottlingException',
    $metadata: { httpStatusCode: 400 },
  });

const sentOutput = (call = 0) =>
  JSON.parse(sfnMock.commandCalls(SendTaskSuccessCommand)[call].args[0].input.output ?? 'null') as unknown;

beforeEach(() => {
  appflowMock.reset();
  sfnMock.reset();
  dynamoMock.reset();
  sfnMock.on(SendTaskSuccessCommand).resolves({});
  sfnMock.on(SendTaskFailureCommand).resolves({});
  sfnMock.on(SendTaskHeartbeatCommand).resolves({});
  dynamoMock.on(PutCommand).resolves({});
  dynamoMock.on(DeleteCommand).resolves({});
});

describe('registerFlowWait', () => {
  test('stores the wait under the flow name, expiring a day after the deadline', async () => {
    // Prepare
    flowRunIs(FLOW_NAME, { executionId: 'exec-1', executionStatus: 'InProgress' });
    const state = anObjectState({ flow: runningFlow() });

    // Act
    await registerFlowWait(deps, TOKEN, state);

    // Assess
    expect(dynamoMock).toHaveReceivedCommandTimes(PutCommand, 1);
    expect(dynamoMock).toHaveReceivedCommandWith(PutCommand, {
      TableName: TABLE,
      Item: {
        flowName: FLOW_NAME,
        taskToken: TOKEN,
        objectName: 'Account',
        runId: 'run-2026-03-10',
        flow: runningFlow(),
        expiresAt: Date.parse(DEADLINE) / 1000 + ONE_DAY_SECONDS,
      },
    });
  });

  test('answers the token at once when the run had already ended (its event found no wait), then forgets the wait', async () => {
    // Prepare: a short run ended before the child registered
    flowRunIs(FLOW_NAME, successfulRun('exec-1', 42));

    // Act
    const settlement = await registerFlowWait(deps, TOKEN, anObjectState({ flow: runningFlow() }));

    // Assess
    expect(settlement).toBe('succeeded');
    expect(sfnMock).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(sfnMock).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: TOKEN });
    expect(sentOutput()).toEqual(runningFlow({ state: 'SUCCEEDED', recordsProcessed: 42 }));
    expect(dynamoMock).toHaveReceivedCommandWith(DeleteCommand, {
      TableName: TABLE,
      Key: { flowName: FLOW_NAME },
      ConditionExpression: 'taskToken = :token',
      ExpressionAttributeValues: { ':token': TOKEN },
    });
  });

  test('stores the wait before it looks at the run, so an event arriving in between finds the wait', async () => {
    // Prepare
    const order: string[] = [];
    dynamoMock.on(PutCommand).callsFake(() => {
      order.push('PutItem');
      return {};
    });
    appflowMock.on(DescribeFlowExecutionRecordsCommand).callsFake(() => {
      order.push('DescribeFlowExecutionRecords');
      return { flowExecutions: [successfulRun('exec-1', 1)] };
    });

    // Act
    await registerFlowWait(deps, TOKEN, anObjectState({ flow: runningFlow() }));

    // Assess
    expect(order).toEqual(['PutItem', 'DescribeFlowExecutionRecords']);
  });

  test.each([
    ['InProgress', [{ executionId: 'exec-1', executionStatus: 'InProgress' }]],
    ['not listed yet', []],
  ] as const)(
    'leaves a run still going (%s) waiting: no answer, no heartbeat, no delete',
    async (_what, runs) => {
      // Prepare
      appflowMock.on(DescribeFlowExecutionRecordsCommand).resolves({ flowExecutions: [...runs] });

      // Act
      const settlement = await registerFlowWait(deps, TOKEN, anObjectState({ flow: runningFlow() }));

      // Assess
      expect(settlement).toBe('running');
      expect(sfnMock.calls()).toHaveLength(0);
      expect(dynamoMock).not.toHaveReceivedCommand(DeleteCommand);
    },
  );

  test('a failed PutItem fails the registration (the task is retried) before anything is answered', async () => {
    // Prepare
    dynamoMock.on(PutCommand).rejects(throttling());

    // Act
    const act = registerFlowWait(deps, TOKEN, anObjectState({ flow: runningFlow() }));

    // Assess
    await expect(act).rejects.toMatchObject({
      name: 'Throttled',
      message: expect.stringContaining(`Account: storing the wait on flow ${FLOW_NAME}`),
    });
    expect(appflowMock.calls()).toHaveLength(0);
    expect(sfnMock.calls()).toHaveLength(0);
  });
});

describe('settleFlowWait / settleFlowByName', () => {
  test('fails the token with FlowRunFailed, the cause naming object and execution, when the run ended in Error', async () => {
    // Prepare
    const wait = aWait();
    dynamoMock.on(GetCommand).resolves({ Item: wait });
    flowRunIs(wait.flowName, {
      executionId: 'exec-Account',
      executionStatus: 'Error',
      executionResult: { errorInfo: { executionMessage: 'Redshift COPY failed' } },
    });

    // Act
    const settlement = await settleFlowByName(deps, wait.flowName);

    // Assess
    expect(settlement).toBe('failed');
    expect(sfnMock).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      taskToken: wait.taskToken,
      error: 'FlowRunFailed',
      cause: 'Account: flow run exec-Account ended in Error: Redshift COPY failed',
    });
    expect(sfnMock).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    expect(dynamoMock).toHaveReceivedCommandWith(DeleteCommand, {
      Key: { flowName: wait.flowName },
      ExpressionAttributeValues: { ':token': wait.taskToken },
    });
  });

  test.each([
    ['a canceled run', { executionStatus: 'Canceled' }, 'FlowRunFailed', 'was canceled (Canceled)'],
    [
      "a run that spent the org's API quota",
      {
        executionStatus: 'Error',
        executionResult: {
          errorInfo: { executionMessage: 'REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.' },
        },
      },
      'SourceApiLimit',
      'REQUEST_LIMIT_EXCEEDED',
    ],
  ] as const)(
    'fails the token of %s with the error the catch paths expect',
    async (_what, run, error, cause) => {
      // Prepare
      const wait = aWait();
      flowRunIs(wait.flowName, { executionId: 'exec-Account', ...run });

      // Act
      const settlement = await settleFlowWait(deps, wait);

      // Assess
      expect(settlement).toBe('failed');
      expect(sfnMock).toHaveReceivedCommandWith(SendTaskFailureCommand, {
        taskToken: wait.taskToken,
        error,
        cause: expect.stringContaining(cause),
      });
    },
  );

  test("cuts a flow's message to Step Functions' 32,768-character cause limit", async () => {
    // Prepare
    const wait = aWait();
    flowRunIs(wait.flowName, {
      executionId: 'exec-Account',
      executionStatus: 'Error',
      executionResult: { errorInfo: { executionMessage: 'x'.repeat(40_000) } },
    });

    // Act
    await settleFlowWait(deps, wait);

    // Assess
    const { cause } = sfnMock.commandCalls(SendTaskFailureCommand)[0].args[0].input;
    expect(cause).toHaveLength(32_768);
    expect(cause?.startsWith('Account: flow run exec-Account ended in Error: xxx')).toBe(true);
  });

  test("an event for a flow with no wait (a duplicate or late one) is 'no-wait': nothing looked at, nothing sent", async () => {
    // Prepare
    dynamoMock.on(GetCommand).resolves({});

    // Act
    const settlement = await settleFlowByName(deps, FLOW_NAME);

    // Assess
    expect(settlement).toBe('no-wait');
    expect(dynamoMock).toHaveReceivedCommandWith(GetCommand, {
      TableName: TABLE,
      Key: { flowName: FLOW_NAME },
    });
    expect(appflowMock.calls()).toHaveLength(0);
    expect(sfnMock.calls()).toHaveLength(0);
    expect(dynamoMock).not.toHaveReceivedCommand(DeleteCommand);
  });

  test.each([
    ['TaskTimedOut', () => new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} })],
    ['TaskDoesNotExist', () => new TaskDoesNotExist({ message: 'Task does not exist', $metadata: {} })],
    ['InvalidToken', () => new InvalidToken({ message: 'Invalid Token', $metadata: {} })],
  ])("a closed token (%s) is 'closed': the wait is forgotten and nothing throws", async (_name, closed) => {
    // Prepare: the task ended already (timed out, or settled by the sweep first)
    const wait = aWait();
    flowRunIs(wait.flowName, successfulRun('exec-Account', 7));
    sfnMock.on(SendTaskSuccessCommand).rejects(closed());

    // Act
    const settlement = await settleFlowWait(deps, wait);

    // Assess
    expect(settlement).toBe('closed');
    expect(dynamoMock).toHaveReceivedCommandWith(DeleteCommand, {
      Key: { flowName: wait.flowName },
      ConditionExpression: 'taskToken = :token',
      ExpressionAttributeValues: { ':token': wait.taskToken },
    });
  });

  test('a delete losing its condition (a newer wait registered for the flow) is not an error', async () => {
    // Prepare: the child's fallback registered again with a new token meanwhile
    const wait = aWait();
    flowRunIs(wait.flowName, successfulRun('exec-Account', 7));
    dynamoMock
      .on(DeleteCommand)
      .rejects(
        new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
      );

    // Act
    const settlement = await settleFlowWait(deps, wait);

    // Assess
    expect(settlement).toBe('succeeded');
    expect(sfnMock).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
  });

  test('a throttled SendTaskSuccess fails the settle as Throttled and keeps the wait for the retry', async () => {
    // Prepare
    const wait = aWait();
    flowRunIs(wait.flowName, successfulRun('exec-Account', 7));
    sfnMock.on(SendTaskSuccessCommand).rejects(throttling());

    // Act
    const act = settleFlowWait(deps, wait);

    // Assess
    await expect(act).rejects.toMatchObject({
      name: 'Throttled',
      message: expect.stringContaining(`Account: telling Step Functions that flow ${wait.flowName} ended`),
    });
    expect(dynamoMock).not.toHaveReceivedCommand(DeleteCommand);
  });
});

describe('sweepFlowWaits', () => {
  test('heartbeats running waits, settles ended ones, reads every page, and counts a failing wait without stopping', async () => {
    // Prepare: four waits over two pages of the Scan
    const running = aWait('Account');
    const ended = aWait('Contact');
    const throttled = aWait('Lead');
    const failed = aWait('Opportunity');
    dynamoMock
      .on(ScanCommand)
      .resolvesOnce({ Items: [running, ended], LastEvaluatedKey: { flowName: ended.flowName } })
      .resolvesOnce({ Items: [throttled, failed] });
    flowRunIs(running.flowName, { executionId: 'exec-Account', executionStatus: 'InProgress' });
    flowRunIs(ended.flowName, successfulRun('exec-Contact', 12));
    appflowMock
      .on(DescribeFlowExecutionRecordsCommand, { flowName: throttled.flowName })
      .rejects(new ThrottlingException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } }));
    flowRunIs(failed.flowName, { executionId: 'exec-Opportunity', executionStatus: 'Canceled' });

    // Act
    const counts = await sweepFlowWaits(deps);

    // Assess
    expect(counts).toEqual({ succeeded: 1, failed: 1, running: 1, closed: 0, errors: 1 });
    const scans = dynamoMock.commandCalls(ScanCommand).map((call) => call.args[0].input);
    expect(scans).toEqual([
      { TableName: TABLE, ExclusiveStartKey: undefined },
      { TableName: TABLE, ExclusiveStartKey: { flowName: ended.flowName } },
    ]);
    expect(sfnMock.commandCalls(SendTaskHeartbeatCommand).map((call) => call.args[0].input)).toEqual([
      { taskToken: running.taskToken },
    ]);
    expect(sfnMock).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: ended.taskToken });
    expect(sentOutput()).toEqual({ ...ended.flow, state: 'SUCCEEDED', recordsProcessed: 12 });
    expect(sfnMock).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      taskToken: failed.taskToken,
      error: 'FlowRunFailed',
    });
    // The running wait and the one that failed to settle stay for the next sweep.
    const forgotten = dynamoMock.commandCalls(DeleteCommand).map((call) => call.args[0].input.Key?.flowName);
    expect(forgotten).toEqual([ended.flowName, failed.flowName]);
  });

  test("a running wait whose task has closed gets no answer: it is 'closed' and forgotten", async () => {
    // Prepare: the task timed out (its deadline) while the run went on
    const wait = aWait();
    dynamoMock.on(ScanCommand).resolves({ Items: [wait] });
    flowRunIs(wait.flowName, { executionId: 'exec-Account', executionStatus: 'InProgress' });
    sfnMock
      .on(SendTaskHeartbeatCommand)
      .rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));

    // Act
    const counts = await sweepFlowWaits(deps);

    // Assess
    expect(counts).toMatchObject({ running: 0, closed: 1, errors: 0 });
    expect(dynamoMock).toHaveReceivedCommandWith(DeleteCommand, {
      Key: { flowName: wait.flowName },
      ExpressionAttributeValues: { ':token': wait.taskToken },
    });
  });

  test('an empty table sweeps nothing', async () => {
    // Prepare
    dynamoMock.on(ScanCommand).resolves({ Items: [] });

    // Act
    const counts = await sweepFlowWaits(deps);

    // Assess
    expect(counts).toEqual({ succeeded: 0, failed: 0, running: 0, closed: 0, errors: 0 });
    expect(appflowMock.calls()).toHaveLength(0);
    expect(sfnMock.calls()).toHaveLength(0);
  });
});

describe('flow-run-ended handler', () => {
  const endOfRunReport = (detail: Record<string, unknown>) => ({
    version: '0',
    id: 'e-1',
    source: 'aws.appflow',
    'detail-type': FLOW_RUN_ENDED_DETAIL_TYPE,
    account: '111111111111',
    region: 'eu-west-1',
    time: '2026-03-10T06:12:00Z',
    resources: [],
    detail,
  });

  test.each([
    ['another service', { source: 'aws.s3', 'detail-type': 'Object Created', detail: {} }],
    ['a report without a flow name', endOfRunReport({ status: 'Execution Successful' })],
    ['a report from another source', { ...endOfRunReport({ 'flow-name': FLOW_NAME }), source: 'custom.app' }],
    ['not an event at all', 'ping'],
  ])('refuses an event that is neither a report nor a sweep (%s), touching nothing', async (_what, event) => {
    // Act
    const act = flowRunEnded(event);

    // Assess
    await expect(act).rejects.toThrow('Not an AppFlow end-of-run report nor a scheduled sweep');
    expect(dynamoMock.calls()).toHaveLength(0);
    expect(sfnMock.calls()).toHaveLength(0);
  });

  test('settles the wait of the flow an end-of-run report names, reading the outcome from AppFlow', async () => {
    // Prepare
    const wait = aWait();
    dynamoMock.on(GetCommand).resolves({ Item: wait });
    flowRunIs(wait.flowName, successfulRun('exec-Account', 3));

    // Act
    await flowRunEnded(
      endOfRunReport({
        'flow-name': wait.flowName,
        'execution-id': 'exec-Account',
        status: 'Execution Successful',
      }),
    );

    // Assess
    expect(dynamoMock).toHaveReceivedCommandWith(GetCommand, {
      TableName: TABLE,
      Key: { flowName: wait.flowName },
    });
    expect(sfnMock).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: wait.taskToken });
  });

  test('sweeps on the schedule\'s "Scheduled Event"', async () => {
    // Prepare
    dynamoMock.on(ScanCommand).resolves({ Items: [] });

    // Act
    await flowRunEnded({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} });

    // Assess
    expect(dynamoMock).toHaveReceivedCommandWith(ScanCommand, { TableName: TABLE });
  });
});

describe('await-flow-run handler', () => {
  test("stores the state machine's task token with the object's flow", async () => {
    // Prepare
    flowRunIs(FLOW_NAME, { executionId: 'exec-1', executionStatus: 'InProgress' });

    // Act
    await awaitFlowRun({ taskToken: TOKEN, state: anObjectState({ flow: runningFlow() }) });

    // Assess
    expect(dynamoMock).toHaveReceivedCommandWith(PutCommand, {
      TableName: TABLE,
      Item: expect.objectContaining({ flowName: FLOW_NAME, taskToken: TOKEN }),
    });
    expect(sfnMock.calls()).toHaveLength(0);
  });
});

describe('flowWaitTimes (issue 19)', () => {
  const NOW = new Date('2026-03-10T06:00:00.000Z');
  const inSeconds = (seconds: number) => new Date(NOW.getTime() + seconds * 1000).toISOString();

  test('waits what is left until the deadline, rounded up, with the configured heartbeat when it fits', () => {
    // Act
    const times = flowWaitTimes(inSeconds(12 * 3600 - 0.5), NOW, 3600);

    // Assess
    expect(times).toEqual({ waitTimeoutSeconds: 12 * 3600, heartbeatSeconds: 3600 });
  });

  test('keeps the heartbeat below the timeout for every time left down to 2 s, whatever the configured heartbeat', () => {
    // Prepare: every second up to two hours, and fractions near the shortest wait
    const lefts = [...Array.from({ length: 2 * 3600 - 1 }, (_, index) => index + 2), 2.001, 2.5, 3.999];

    // Act
    const broken: string[] = [];
    for (const heartbeat of [1, 2, 60, 300, 3600]) {
      for (const left of lefts) {
        const times = flowWaitTimes(inSeconds(left), NOW, heartbeat);
        // Step Functions requires HeartbeatSeconds < TimeoutSeconds, both whole and positive
        const valid =
          times.waitTimeoutSeconds === Math.ceil(left) &&
          Number.isInteger(times.heartbeatSeconds) &&
          times.heartbeatSeconds >= 1 &&
          times.heartbeatSeconds < times.waitTimeoutSeconds &&
          times.heartbeatSeconds <= heartbeat;
        if (!valid) broken.push(`${left} s left, heartbeat ${heartbeat}: ${JSON.stringify(times)}`);
      }
    }

    // Assess
    expect(broken).toEqual([]);
  });

  test.each([
    ['a second', 1],
    ['nothing', 0],
    ['less than nothing', -30],
  ])('sets up the shortest wait there is (2 s, a 1-s heartbeat) when %s is left', (_what, left) => {
    // Act / Assess
    expect(flowWaitTimes(inSeconds(left), NOW, 3600)).toEqual({ waitTimeoutSeconds: 2, heartbeatSeconds: 1 });
  });
});

describe('settleFlowByName: the end-of-run event before the record says so (issue 19)', () => {
  const inProgress = (executionId: string): ExecutionRecord => ({
    executionId,
    executionStatus: 'InProgress',
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  test('looks again after 1 s, then 2 s more, and answers the token once the record says the run ended', async () => {
    // Prepare
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'] });
    const wait = aWait();
    dynamoMock.on(GetCommand).resolves({ Item: wait });
    appflowMock
      .on(DescribeFlowExecutionRecordsCommand)
      .resolvesOnce({ flowExecutions: [inProgress('exec-Account')] })
      .resolvesOnce({ flowExecutions: [inProgress('exec-Account')] })
      .resolves({ flowExecutions: [successfulRun('exec-Account', 9)] });
    const looks = () => appflowMock.commandCalls(DescribeFlowExecutionRecordsCommand).length;

    // Act
    const settling = settleFlowByName(deps, wait.flowName);
    await jest.advanceTimersByTimeAsync(999);
    const looksBeforeOneSecond = looks();
    await jest.advanceTimersByTimeAsync(1);
    const looksAtOneSecond = looks();
    await jest.advanceTimersByTimeAsync(2_000);
    const settlement = await settling;

    // Assess
    expect([looksBeforeOneSecond, looksAtOneSecond, looks()]).toEqual([1, 2, 3]);
    expect(settlement).toBe('succeeded');
    expect(sfnMock).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(sentOutput()).toEqual({ ...wait.flow, state: 'SUCCEEDED', recordsProcessed: 9 });
  });

  test('leaves the wait to the sweep when the record still says InProgress after 1, 2, 4 and 8 s: no answer, no heartbeat, the wait kept', async () => {
    // Prepare
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'] });
    const wait = aWait();
    dynamoMock.on(GetCommand).resolves({ Item: wait });
    flowRunIs(wait.flowName, inProgress('exec-Account'));

    // Act
    const settling = settleFlowByName(deps, wait.flowName);
    await jest.advanceTimersByTimeAsync(15_000);
    const settlement = await settling;

    // Assess
    expect(settlement).toBe('running');
    expect(appflowMock).toHaveReceivedCommandTimes(DescribeFlowExecutionRecordsCommand, 5);
    expect(sfnMock.calls()).toHaveLength(0);
    expect(dynamoMock).not.toHaveReceivedCommand(DeleteCommand);
  });

  test('the sweep and the registration look once: no event said the run ended', async () => {
    // Prepare
    const wait = aWait();
    dynamoMock.on(ScanCommand).resolves({ Items: [wait] });
    flowRunIs(wait.flowName, inProgress('exec-Account'));

    // Act
    await sweepFlowWaits(deps);
    await registerFlowWait(deps, TOKEN, anObjectState({ flow: runningFlow() }));

    // Assess
    expect(appflowMock).toHaveReceivedCommandTimes(DescribeFlowExecutionRecordsCommand, 2);
  });

  test('the flow-run-ended handler re-reads for an end-of-run report that came early', async () => {
    // Prepare
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'] });
    const wait = aWait();
    dynamoMock.on(GetCommand).resolves({ Item: wait });
    appflowMock
      .on(DescribeFlowExecutionRecordsCommand)
      .resolvesOnce({ flowExecutions: [inProgress('exec-Account')] })
      .resolves({ flowExecutions: [successfulRun('exec-Account', 4)] });

    // Act
    const handling = flowRunEnded({
      source: 'aws.appflow',
      'detail-type': FLOW_RUN_ENDED_DETAIL_TYPE,
      detail: { 'flow-name': wait.flowName, 'execution-id': 'exec-Account', status: 'Execution Successful' },
    });
    await jest.advanceTimersByTimeAsync(1_000);
    await handling;

    // Assess
    expect(appflowMock).toHaveReceivedCommandTimes(DescribeFlowExecutionRecordsCommand, 2);
    expect(sfnMock).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: wait.taskToken });
  });
});
