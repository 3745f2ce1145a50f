import { AppflowClient } from '@aws-sdk/client-appflow';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { deleteFlowIfExists } from './common/appflow';
import { type ObjectFigures, recordObjectSuccess } from './common/control-table';
import { requireEnv } from './common/environment';
import { durationSeconds, extractFlowOf, type ObjectResult, type ObjectState } from './common/object-state';
import { logger, objectKeys, publishEnvironmentMetrics, publishObjectMetrics } from './common/observability';
import { completeThroughAfter } from './common/run-plan';

const CONTROL_TABLE_NAME = requireEnv('CONTROL_TABLE_NAME');
const appflow = new AppflowClient({});
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});

/** What the run achieved for the object, from the flow's count and the audit row. */
export function objectFigures(state: ObjectState): ObjectFigures {
  const figures = state.consolidation?.figures;
  const refreshed = state.refresh?.figures;
  return {
    recordsExtracted: extractFlowOf(state)?.recordsProcessed ?? 0,
    duplicatesRemoved: figures?.duplicatesRemoved ?? 0,
    rowsInserted: figures?.rowsInserted ?? 0,
    rowsDeleted: figures?.rowsDeleted ?? 0,
    rowsPurged: figures?.rowsPurged ?? 0,
    rowsUpdated: figures?.rowsUpdated ?? 0,
    rowsUnchanged: figures?.rowsUnchanged ?? 0,
    valuesTruncated: figures?.valuesTruncated ?? 0,
    ...(figures?.historyVersionsAdded !== undefined
      ? {
          historyVersionsAdded: figures.historyVersionsAdded,
          historyVersionsClosed: figures.historyVersionsClosed ?? 0,
        }
      : {}),
    // A flow that found nothing skips the CALL: an empty staging table has nothing to consolidate.
    consolidationSkipped: !figures,
    // Issue 21: what the column refresh rewrote, and the fields whose type changed.
    columnsRefreshed: refreshed ? (state.refresh?.columns ?? []) : [],
    rowsRefreshed: refreshed?.rowsRefreshed ?? 0,
    typeChanges: state.typeChanges ?? [],
  };
}

/** The temporary flows go, then the control row records the success and the new watermark. */
export const handler = async (state: ObjectState): Promise<ObjectResult> => {
  const { plan, run } = state;
  const extract = extractFlowOf(state);
  if (extract) await deleteFlowIfExists(appflow, extract.flowName, plan.objectName);
  if (state.refresh) await deleteFlowIfExists(appflow, state.refresh.flowName, plan.objectName);
  const figures = objectFigures(state);
  const now = new Date();
  await recordObjectSuccess(doc, CONTROL_TABLE_NAME, plan, run, figures, now);
  publishObjectMetrics(plan.objectName, { RecordsExtracted: figures.recordsExtracted, ObjectSucceeded: 1 });
  // A loaded object counts zero for the environment: the ObjectFailed alarm clears once a period has only these.
  publishEnvironmentMetrics({ ObjectFailed: 0 });
  logger.info('Object done', { ...objectKeys(state), ...figures, syncMode: plan.syncMode });
  const { consolidationSkipped, ...counts } = figures;
  // A backfill proves nothing newer: the line keeps what the row said.
  const completeThrough = completeThroughAfter(plan, run) ?? plan.completeThrough;
  return {
    objectName: plan.objectName,
    status: 'SUCCEEDED',
    syncMode: plan.syncMode,
    syncReason: plan.syncReason,
    ...counts,
    consolidationSkipped,
    durationSeconds: durationSeconds(run.startedAt, now),
    ...(completeThrough ? { completeThrough } : {}),
    error: null,
  };
};
