import { AppflowClient } from '@aws-sdk/client-appflow';
import { findExecution } from './common/appflow';
import { classifyAwsError, FlowRunFailedError } from './common/errors';
import { FLOW_WAIT_SCHEDULE, type FlowState, nextWaitSeconds, type ObjectState } from './common/object-state';
import { logger, objectKeys, publishFlowRunMetrics } from './common/observability';

const appflow = new AppflowClient({});

/**
 * One look at the flow's run. `InProgress` (or not listed yet) keeps the loop going with
 * a longer wait; `Successful` reports records processed; `Error`, `CancelStarted` and
 * `Canceled` end the object with the flow's own message.
 */
export async function pollFlow(client: AppflowClient, state: ObjectState): Promise<ObjectState> {
  const flow = state.flow as FlowState;
  const objectName = state.plan.objectName;
  const run = await findExecution(
    client,
    flow.flowName,
    flow.executionId,
    `${objectName}: flow ${flow.flowName}`,
  );
  publishFlowRunMetrics(objectName, run);
  const polls = flow.polls + 1;
  switch (run?.executionStatus) {
    case 'Successful':
      return {
        ...state,
        flow: {
          ...flow,
          polls,
          state: 'SUCCEEDED',
          recordsProcessed: run.executionResult?.recordsProcessed ?? 0,
        },
      };
    case 'Error': {
      const message = run.executionResult?.errorInfo?.executionMessage ?? 'no message';
      const failure = classifyAwsError(
        { name: 'FlowRunFailed', message },
        `${objectName}: flow run ${flow.executionId}`,
      );
      throw failure.name === 'FlowRunFailed'
        ? new FlowRunFailedError(`${objectName}: flow run ${flow.executionId} ended in Error: ${message}`)
        : failure;
    }
    case 'CancelStarted':
    case 'Canceled':
      throw new FlowRunFailedError(
        `${objectName}: flow run ${flow.executionId} was canceled (${run.executionStatus})`,
      );
    default:
      return {
        ...state,
        flow: { ...flow, polls, nextWaitSeconds: nextWaitSeconds(polls, FLOW_WAIT_SCHEDULE) },
      };
  }
}

export const handler = async (state: ObjectState): Promise<ObjectState> => {
  const next = await pollFlow(appflow, state);
  logger.info('Flow polled', { ...objectKeys(state), state: next.flow?.state, polls: next.flow?.polls });
  return next;
};
