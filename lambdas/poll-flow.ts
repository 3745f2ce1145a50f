import { AppflowClient } from '@aws-sdk/client-appflow';
import { findExecution } from './common/appflow';
import { requireEnv } from './common/environment';
import {
  flowRunOutcome,
  flowWaitTimedOut,
  flowWaitTimes,
  SHORTEST_FLOW_WAIT_SECONDS,
  secondsUntilDeadline,
} from './common/flow-waits';
import type { FlowState, ObjectState } from './common/object-state';
import { logger, objectKeys, publishFlowRunMetrics } from './common/observability';

const FLOW_WAIT_HEARTBEAT_SECONDS = Number(requireEnv('FLOW_WAIT_HEARTBEAT_SECONDS'));
const appflow = new AppflowClient({});

/**
 * The wait's fallback: after a missed heartbeat (no event, no sweep) the child looks at the
 * flow's run once. An ended run goes on as the event would have sent it; a running one waits
 * again for what is left of its deadline, or fails `FlowWaitTimedOut` past it.
 */
export async function pollFlow(
  client: AppflowClient,
  state: ObjectState,
  now: Date,
  heartbeatSeconds = 3600,
): Promise<ObjectState> {
  const flow = state.flow as FlowState;
  const objectName = state.plan.objectName;
  const run = await findExecution(
    client,
    flow.flowName,
    flow.executionId,
    `${objectName}: flow ${flow.flowName}`,
  );
  publishFlowRunMetrics(objectName, run);
  const polled: FlowState = { ...flow, polls: flow.polls + 1 };
  const outcome = flowRunOutcome(objectName, polled, run);
  if (outcome.kind === 'failed') throw outcome.error;
  if (outcome.kind === 'succeeded') return { ...state, flow: outcome.flow };
  // Too little left for a wait with a heartbeat below its timeout: the deadline has come.
  if (!flow.deadline || secondsUntilDeadline(flow, now) < SHORTEST_FLOW_WAIT_SECONDS)
    throw flowWaitTimedOut(objectName, flow);
  return { ...state, flow: { ...polled, ...flowWaitTimes(flow.deadline, now, heartbeatSeconds) } };
}

export const handler = async (state: ObjectState): Promise<ObjectState> => {
  const next = await pollFlow(appflow, state, new Date(), FLOW_WAIT_HEARTBEAT_SECONDS);
  logger.info('Flow looked at after a missed heartbeat', {
    ...objectKeys(state),
    state: next.flow?.state,
    polls: next.flow?.polls,
  });
  return next;
};
