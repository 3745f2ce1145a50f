import { AppflowClient } from '@aws-sdk/client-appflow';
import { findExecution } from './common/appflow';
import { flowRunOutcome, flowWaitTimedOut, pastDeadline, secondsUntilDeadline } from './common/flow-waits';
import type { FlowState, ObjectState } from './common/object-state';
import { logger, objectKeys, publishFlowRunMetrics } from './common/observability';

const appflow = new AppflowClient({});

/**
 * The wait's fallback: after a missed heartbeat (no event, no sweep) the child looks at the
 * flow's run once. An ended run goes on as the event would have sent it; a running one waits
 * again for what is left of its deadline, or fails `FlowWaitTimedOut` past it.
 */
export async function pollFlow(client: AppflowClient, state: ObjectState, now: Date): Promise<ObjectState> {
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
  if (pastDeadline(flow, now)) throw flowWaitTimedOut(objectName, flow);
  return { ...state, flow: { ...polled, waitTimeoutSeconds: secondsUntilDeadline(flow, now) } };
}

export const handler = async (state: ObjectState): Promise<ObjectState> => {
  const next = await pollFlow(appflow, state, new Date());
  logger.info('Flow looked at after a missed heartbeat', {
    ...objectKeys(state),
    state: next.flow?.state,
    polls: next.flow?.polls,
  });
  return next;
};
