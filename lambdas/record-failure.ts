import { AppflowClient } from '@aws-sdk/client-appflow';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { deleteFlowIfExists } from './common/appflow';
import { recordObjectFailure } from './common/control-table';
import { requireEnv } from './common/environment';
import { OBJECT_BUSY } from './common/errors';
import { flowNameFor } from './common/flow-definition';
import {
  durationSeconds,
  emptyResult,
  extractFlowOf,
  type ObjectResult,
  type ObjectState,
} from './common/object-state';
import { logger, objectKeys, publishEnvironmentMetrics, publishObjectMetrics } from './common/observability';

const CONTROL_TABLE_NAME = requireEnv('CONTROL_TABLE_NAME');
const FLOW_NAME_PREFIX = requireEnv('FLOW_NAME_PREFIX');
const appflow = new AppflowClient({});
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});

/**
 * Step Functions puts a Lambda's error in `Cause` as JSON (`errorMessage`), its own
 * errors (`States.Timeout`) as plain text; the report wants one readable line.
 */
export function describeFailure(error: ObjectState['error']): { name: string; message: string } {
  const name = error?.Error ?? 'UnknownError';
  const cause = error?.Cause ?? '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string; message?: string };
    return { name, message: parsed.errorMessage ?? parsed.message ?? cause };
  } catch {
    return { name, message: cause || name };
  }
}

/**
 * Every failure path of an object ends here: the flows are deleted whether or not the
 * failed step had recorded them (their names are deterministic: the incremental flow, and the
 * column refresh's when one was planned), the error goes on the control row, and the watermark
 * stays where it was so the next run extracts the window again (and a refresh stays due).
 */
export const handler = async (state: ObjectState): Promise<ObjectResult> => {
  const { plan, run } = state;
  const failure = describeFailure(state.error);
  const now = new Date();
  const complete = plan.completeThrough ? { completeThrough: plan.completeThrough } : {};
  // A tick never fights an earlier run for an object (issue 20): the holder goes on, the next tick
  // catches up. Nothing of the holder's is touched: not its flow, not its control row.
  if (run.scheduled && failure.name === OBJECT_BUSY) {
    logger.info('Object still held by an earlier run', { ...objectKeys(state), holder: failure.message });
    return {
      ...emptyResult(plan.objectName, 'RUNNING', failure.message),
      durationSeconds: durationSeconds(run.startedAt, now),
      ...complete,
    };
  }
  const flowName =
    extractFlowOf(state)?.flowName ?? flowNameFor(FLOW_NAME_PREFIX, plan.objectName, run.runId);
  await deleteFlowIfExists(appflow, flowName, plan.objectName);
  // StartExtract creates the refresh flow only in a state that carries `refresh` (the refresh phase).
  if (state.refresh) await deleteFlowIfExists(appflow, state.refresh.flowName, plan.objectName);
  await recordObjectFailure(doc, CONTROL_TABLE_NAME, plan.objectName, run.runId, failure, now);
  publishObjectMetrics(plan.objectName, { ObjectFailed: 1 });
  // The environment's count, which the ObjectFailed alarm watches (FinishObject sends its zeros).
  publishEnvironmentMetrics({ ObjectFailed: 1 });
  logger.error('Object failed', { ...objectKeys(state), error: failure });
  return {
    ...emptyResult(plan.objectName, 'FAILED', `${failure.name}: ${failure.message}`),
    ...(plan.previousFailure === failure.name ? { repeatedFailure: true as const } : {}),
    syncMode: plan.syncMode,
    syncReason: plan.syncReason,
    recordsExtracted: extractFlowOf(state)?.recordsProcessed ?? 0,
    durationSeconds: durationSeconds(run.startedAt, now),
    ...complete,
  };
};
