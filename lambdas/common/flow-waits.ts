import type { AppflowClient, ExecutionRecord } from '@aws-sdk/client-appflow';
import {
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { findExecution } from './appflow';
import { classifyAwsError, FlowRunFailedError, FlowWaitTimedOutError } from './errors';
import type { FlowState, ObjectState } from './object-state';
import { logger, publishFlowRunMetrics } from './observability';
import { sleep } from './sleep';

/**
 * A child execution waiting on its flow's run (`.waitForTaskToken`), one item per flow in the
 * flow-waits table. The token is what Step Functions needs to go on; the flow state is what
 * the wait returns to it (`$.flow`), updated with the run's outcome.
 */
export interface FlowWait {
  flowName: string;
  taskToken: string;
  objectName: string;
  runId: string;
  flow: FlowState;
  /** DynamoDB TTL (epoch seconds): a day after the deadline, when no child can still be waiting. */
  expiresAt: number;
}

export interface FlowWaitDependencies {
  appflow: AppflowClient;
  sfn: SFNClient;
  doc: DynamoDBDocumentClient;
  tableName: string;
}

/** What settling a wait did: the child goes on, is still waiting, or was no longer there to tell. */
export type Settlement = 'succeeded' | 'failed' | 'running' | 'closed';

/** Pauses before each new look when the end was reported but the record still says InProgress. */
export const END_REPORTED_REREADS = [1_000, 2_000, 4_000, 8_000];

/** AppFlow's end-of-run event (EventBridge `detail-type`), published to the default bus. */
export const FLOW_RUN_ENDED_DETAIL_TYPE = 'AppFlow End Flow Run Report';

/** Step Functions caps a SendTaskFailure cause at 32,768 characters. */
const MAX_CAUSE_LENGTH = 32_768;
/** The answers for a token whose task has ended already (settled, timed out, execution gone). */
const CLOSED_TASK_ERRORS = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

export type FlowRunOutcome =
  | { kind: 'running' }
  | { kind: 'succeeded'; flow: FlowState }
  | { kind: 'failed'; error: Error };

/**
 * Pure: what one look at a flow's run means. `Successful` reports the records processed;
 * `Error`, `CancelStarted` and `Canceled` fail the object with the flow's own message; a run
 * still in progress (or not listed yet) goes on waiting.
 */
export function flowRunOutcome(
  objectName: string,
  flow: FlowState,
  run: ExecutionRecord | undefined,
): FlowRunOutcome {
  switch (run?.executionStatus) {
    case 'Successful':
      return {
        kind: 'succeeded',
        flow: { ...flow, state: 'SUCCEEDED', recordsProcessed: run.executionResult?.recordsProcessed ?? 0 },
      };
    case 'Error': {
      const message = run.executionResult?.errorInfo?.executionMessage ?? 'no message';
      const failure = classifyAwsError(
        { name: 'FlowRunFailed', message },
        `${objectName}: flow run ${flow.executionId}`,
      );
      return {
        kind: 'failed',
        error:
          failure.name === 'FlowRunFailed'
            ? new FlowRunFailedError(`${objectName}: flow run ${flow.executionId} ended in Error: ${message}`)
            : failure,
      };
    }
    case 'CancelStarted':
    case 'Canceled':
      return {
        kind: 'failed',
        error: new FlowRunFailedError(
          `${objectName}: flow run ${flow.executionId} was canceled (${run.executionStatus})`,
        ),
      };
    default:
      return { kind: 'running' };
  }
}

/** Seconds from `now` to the flow's deadline, at least 1 (Step Functions' smallest timeout). */
export function secondsUntilDeadline(flow: FlowState, now: Date): number {
  const deadline = flow.deadline ? Date.parse(flow.deadline) : Number.NaN;
  if (Number.isNaN(deadline)) return 1;
  return Math.max(1, Math.ceil((deadline - now.getTime()) / 1000));
}

/** The shortest wait that can be set up: a 1-second heartbeat needs a timeout of at least 2. */
export const SHORTEST_FLOW_WAIT_SECONDS = 2;

/**
 * The wait's timeout and heartbeat: the timeout is what is left until the deadline, the
 * heartbeat the configured one but always below the timeout (Step Functions requires
 * HeartbeatSeconds < TimeoutSeconds, and a static heartbeat beside a timeout read from the
 * state could break that after a fallback left only minutes).
 */
export function flowWaitTimes(
  deadline: string,
  now: Date,
  heartbeatSeconds: number,
): { waitTimeoutSeconds: number; heartbeatSeconds: number } {
  const waitTimeoutSeconds = Math.max(
    SHORTEST_FLOW_WAIT_SECONDS,
    Math.ceil((Date.parse(deadline) - now.getTime()) / 1000),
  );
  return {
    waitTimeoutSeconds,
    heartbeatSeconds: Math.max(1, Math.min(heartbeatSeconds, waitTimeoutSeconds - 1)),
  };
}

export function flowWaitTimedOut(objectName: string, flow: FlowState): FlowWaitTimedOutError {
  return new FlowWaitTimedOutError(
    `${objectName}: flow ${flow.flowName} still running at its deadline ${flow.deadline} (flowTimeoutMinutes)`,
  );
}

function isClosedTask(error: unknown): boolean {
  return CLOSED_TASK_ERRORS.has((error as { name?: string }).name ?? '');
}

/** Sends the outcome to the waiting task; false when the task had ended already (a late or duplicate settle). */
async function tellStepFunctions(
  sfn: SFNClient,
  wait: FlowWait,
  outcome: Exclude<FlowRunOutcome, { kind: 'running' }>,
): Promise<boolean> {
  try {
    if (outcome.kind === 'succeeded') {
      await sfn.send(
        new SendTaskSuccessCommand({ taskToken: wait.taskToken, output: JSON.stringify(outcome.flow) }),
      );
    } else {
      await sfn.send(
        new SendTaskFailureCommand({
          taskToken: wait.taskToken,
          error: outcome.error.name,
          cause: outcome.error.message.slice(0, MAX_CAUSE_LENGTH),
        }),
      );
    }
    return true;
  } catch (error) {
    if (isClosedTask(error)) return false;
    throw classifyAwsError(
      error,
      `${wait.objectName}: telling Step Functions that flow ${wait.flowName} ended`,
    );
  }
}

async function heartbeat(sfn: SFNClient, wait: FlowWait): Promise<boolean> {
  try {
    await sfn.send(new SendTaskHeartbeatCommand({ taskToken: wait.taskToken }));
    return true;
  } catch (error) {
    if (isClosedTask(error)) return false;
    throw classifyAwsError(error, `${wait.objectName}: heartbeat of the wait on flow ${wait.flowName}`);
  }
}

/**
 * Removes this wait, not a newer one for the same flow (the fallback registers again with a new
 * token). Best effort: a wait left behind is answered `closed` by the next sweep, or expires.
 */
async function forgetWait(deps: FlowWaitDependencies, wait: FlowWait): Promise<void> {
  try {
    await deps.doc.send(
      new DeleteCommand({
        TableName: deps.tableName,
        Key: { flowName: wait.flowName },
        ConditionExpression: 'taskToken = :token',
        ExpressionAttributeValues: { ':token': wait.taskToken },
      }),
    );
  } catch (error) {
    if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return;
    logger.warn('Could not forget a settled flow wait; the sweep or its TTL will', {
      objectName: wait.objectName,
      flowName: wait.flowName,
      error,
    });
  }
}

/**
 * Looks at the wait's run once and, when it has ended, tells the waiting task and forgets the
 * wait. A run still going gets a heartbeat when asked (the sweep), so the task's heartbeat
 * timeout (the fallback when nothing settles it) only fires when the sweep itself is missing.
 * Settling twice is harmless: the second finds the task closed.
 */
export async function settleFlowWait(
  deps: FlowWaitDependencies,
  wait: FlowWait,
  options: { heartbeat?: boolean; endReported?: boolean } = {},
): Promise<Settlement> {
  const look = () =>
    findExecution(
      deps.appflow,
      wait.flowName,
      wait.flow.executionId,
      `${wait.objectName}: flow ${wait.flowName}`,
    );
  let run = await look();
  let outcome = flowRunOutcome(wait.objectName, wait.flow, run);
  // The end-of-run event can come before AppFlow's execution record says the run ended: look
  // again a few times, shortly, before leaving the wait to the next sweep (up to 15 minutes).
  for (
    let reread = 0;
    options.endReported && outcome.kind === 'running' && reread < END_REPORTED_REREADS.length;
    reread++
  ) {
    await sleep(END_REPORTED_REREADS[reread]);
    run = await look();
    outcome = flowRunOutcome(wait.objectName, wait.flow, run);
  }
  if (outcome.kind === 'running') {
    if (!options.heartbeat || (await heartbeat(deps.sfn, wait))) return 'running';
    await forgetWait(deps, wait);
    return 'closed';
  }
  const told = await tellStepFunctions(deps.sfn, wait, outcome);
  await forgetWait(deps, wait);
  if (!told) return 'closed';
  // Once per run: only the settle that answered the token reports the run's minutes.
  publishFlowRunMetrics(wait.objectName, run);
  return outcome.kind;
}

/**
 * Stores the task token with the flow's name, then looks once: a short run may have ended
 * (and its event found no wait) before the wait existed.
 */
export async function registerFlowWait(
  deps: FlowWaitDependencies,
  taskToken: string,
  state: ObjectState,
): Promise<Settlement> {
  const flow = state.flow as FlowState;
  const deadline = flow.deadline ? Date.parse(flow.deadline) : Date.now();
  const wait: FlowWait = {
    flowName: flow.flowName,
    taskToken,
    objectName: state.plan.objectName,
    runId: state.run.runId,
    flow,
    expiresAt: Math.ceil(deadline / 1000) + 24 * 3600,
  };
  try {
    await deps.doc.send(new PutCommand({ TableName: deps.tableName, Item: wait }));
  } catch (error) {
    throw classifyAwsError(error, `${wait.objectName}: storing the wait on flow ${wait.flowName}`);
  }
  return settleFlowWait(deps, wait);
}

/** AppFlow's end-of-run event names the flow: settle its wait, if this pipeline has one. */
export async function settleFlowByName(
  deps: FlowWaitDependencies,
  flowName: string,
): Promise<Settlement | 'no-wait'> {
  let wait: FlowWait | undefined;
  try {
    const found = await deps.doc.send(new GetCommand({ TableName: deps.tableName, Key: { flowName } }));
    wait = found.Item as FlowWait | undefined;
  } catch (error) {
    throw classifyAwsError(error, `reading the wait on flow ${flowName}`);
  }
  // A duplicate or late event: the wait was settled already.
  if (!wait) return 'no-wait';
  return settleFlowWait(deps, wait, { endReported: true });
}

/**
 * The schedule's sweep: every wait still stored is looked at once. Ended runs whose event was
 * lost are settled; running ones get their heartbeat. One wait's error does not stop the others.
 */
export async function sweepFlowWaits(
  deps: FlowWaitDependencies,
): Promise<Record<Settlement | 'errors', number>> {
  const counts: Record<Settlement | 'errors', number> = {
    succeeded: 0,
    failed: 0,
    running: 0,
    closed: 0,
    errors: 0,
  };
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await deps.doc
      .send(new ScanCommand({ TableName: deps.tableName, ExclusiveStartKey: startKey }))
      .catch((error: unknown) => {
        throw classifyAwsError(error, 'scanning the flow waits');
      });
    for (const wait of (page.Items ?? []) as FlowWait[]) {
      try {
        counts[await settleFlowWait(deps, wait, { heartbeat: true })] += 1;
      } catch (error) {
        counts.errors += 1;
        logger.error('Could not settle a flow wait; the next sweep tries again', {
          objectName: wait.objectName,
          flowName: wait.flowName,
          error,
        });
      }
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return counts;
}
