import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { classifyAwsError, ObjectBusyError } from './errors';
import { completeThroughAfter, type ObjectPlan, type RunContext } from './run-plan';
import type { TypeChange } from './structure-sync';

/** Every row, page by page: a control table may outgrow one 1 MB scan page. */
export async function scanControlTable(
  doc: DynamoDBDocumentClient,
  tableName: string,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({ TableName: tableName, ExclusiveStartKey: startKey, ConsistentRead: true }),
    );
    items.push(...((page.Items ?? []) as Record<string, unknown>[]));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/** A crashed run's claim expires by itself after the longest an execution may run. */
const LOCK_TTL_MS = 24 * 60 * 60 * 1000;

function claimValues(plan: ObjectPlan, run: RunContext, now: Date) {
  return {
    ':runId': run.runId,
    ':execution': run.executionArn ?? '',
    ':expires': new Date(now.getTime() + LOCK_TTL_MS).toISOString(),
    ':lastRun': {
      runId: run.runId,
      status: 'RUNNING',
      startedAt: now.toISOString(),
      syncMode: plan.syncMode,
    },
  };
}
/** Writes this run's claim when `condition` holds; DynamoDB answers ConditionalCheckFailed otherwise. */
async function writeClaim(
  doc: DynamoDBDocumentClient,
  tableName: string,
  plan: ObjectPlan,
  run: RunContext,
  now: Date,
  condition: string,
  conditionValues: Record<string, string>,
): Promise<void> {
  await doc.send(
    new UpdateCommand({
      TableName: tableName,
      Key: { objectName: plan.objectName },
      UpdateExpression:
        'SET lockRunId = :runId, lockExecutionArn = :execution, lockExpiresAt = :expires, lastRun = :lastRun',
      ConditionExpression: condition,
      ExpressionAttributeValues: { ...claimValues(plan, run, now), ...conditionValues },
    }),
  );
}

/**
 * Claims the object for this run and marks it RUNNING. While another execution holds
 * it, the claim fails with `ObjectBusy` naming the holder, so two runs never clear or
 * consolidate the same staging table at once. A claim this run holds already (StartExtract
 * claims on every invocation, also after each statement wait) is left as it is: its start
 * and expiry stay those of the first claim.
 */
export async function claimObject(
  doc: DynamoDBDocumentClient,
  tableName: string,
  plan: ObjectPlan,
  run: RunContext,
  now: Date,
): Promise<void> {
  // Two attempts: the holder may release the object between a refused claim and the read of who
  // holds it; then the claim is tried once more rather than failed with a wrong reason.
  for (let attempt = 1; ; attempt++) {
    try {
      await writeClaim(
        doc,
        tableName,
        plan,
        run,
        now,
        'attribute_exists(objectName) AND (attribute_not_exists(lockRunId) OR lockExpiresAt < :now)',
        { ':now': now.toISOString() },
      );
      return;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) {
        throw classifyAwsError(error, `${plan.objectName}: control table update`);
      }
      let row: Awaited<ReturnType<typeof readRow>>;
      try {
        row = await readRow(doc, tableName, plan.objectName);
      } catch (readError) {
        throw classifyAwsError(readError, `${plan.objectName}: control table read`);
      }
      if (!row.Item) throw new ObjectBusyError(`${plan.objectName}: its control row is gone`);
      const holder = row.Item.lockRunId as string | undefined;
      if (!holder) {
        if (attempt < 2) continue;
        throw new ObjectBusyError(
          `${plan.objectName}: other runs claimed and released it while this run claimed it`,
        );
      }
      if (holder === run.runId) return; // this run's claim already
      const executionArn = (row.Item.lockExecutionArn as string | undefined) || undefined;
      throw new ObjectBusyError(`${plan.objectName}: run ${holder} holds this object; retry after it ends`, {
        runId: holder,
        ...(executionArn ? { executionArn } : {}),
      });
    }
  }
}

function readRow(doc: DynamoDBDocumentClient, tableName: string, objectName: string) {
  return doc.send(new GetCommand({ TableName: tableName, Key: { objectName }, ConsistentRead: true }));
}

/** Takes the object over from a run known to be dead (aborted, timed out, failed outside its steps). */
export async function takeOverObject(
  doc: DynamoDBDocumentClient,
  tableName: string,
  plan: ObjectPlan,
  run: RunContext,
  deadRunId: string,
  now: Date,
): Promise<void> {
  try {
    await writeClaim(doc, tableName, plan, run, now, 'lockRunId = :dead', { ':dead': deadRunId });
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) {
      throw new ObjectBusyError(`${plan.objectName}: another run took it over first`);
    }
    throw classifyAwsError(error, `${plan.objectName}: control table update`);
  }
}

export interface ObjectFigures {
  recordsExtracted: number;
  duplicatesRemoved: number;
  rowsInserted: number;
  rowsDeleted: number;
  rowsPurged: number;
  rowsUpdated: number;
  rowsUnchanged: number;
  valuesTruncated: number;
  /** Objects that keep history (issue 22). */
  historyVersionsAdded?: number;
  historyVersionsClosed?: number;
  consolidationSkipped: boolean;
  /** Issue 21: the columns a column refresh rewrote, the rows it rewrote, the fields whose type changed. */
  columnsRefreshed?: string[];
  rowsRefreshed?: number;
  typeChanges?: TypeChange[];
}

/** Success: figures, the new watermark (never for a backfill), and the claim released. */
export async function recordObjectSuccess(
  doc: DynamoDBDocumentClient,
  tableName: string,
  plan: ObjectPlan,
  run: RunContext,
  figures: ObjectFigures,
  finishedAt: Date,
): Promise<void> {
  const sets = ['lastRun = :lastRun'];
  const removes = ['lockRunId', 'lockExecutionArn', 'lockExpiresAt'];
  const values: Record<string, unknown> = {
    ':runId': run.runId,
    ':lastRun': {
      runId: run.runId,
      status: 'SUCCEEDED',
      startedAt: run.startedAt,
      finishedAt: finishedAt.toISOString(),
      syncMode: plan.syncMode,
      syncReason: plan.syncReason,
      ...figures,
    },
  };
  if (plan.nextWatermark) {
    sets.push('watermark = :watermark');
    values[':watermark'] = plan.nextWatermark;
  }
  const completeThrough = completeThroughAfter(plan, run);
  if (completeThrough) {
    sets.push('completeThrough = :completeThrough');
    values[':completeThrough'] = completeThrough;
  }
  if (plan.syncMode === 'full') {
    sets.push('runsSinceFullSync = :zero', 'lastFullSyncAt = :finished');
    values[':zero'] = 0;
    values[':finished'] = finishedAt.toISOString();
  } else if (plan.syncReason !== 'backfill') {
    sets.push('runsSinceFullSync = if_not_exists(runsSinceFullSync, :zero) + :one');
    values[':zero'] = 0;
    values[':one'] = 1;
  }
  // Any full reload satisfies a requested reset.
  if (plan.syncMode === 'full') {
    sets.push('resetRequested = :false');
    values[':false'] = false;
  }
  // Issue 21: the formulas are as fresh as this run's start (its refresh, or a full reload's values).
  // The run's start, not its end: the next due run is measured from the same point of the schedule.
  if (plan.formulaRefreshDue || plan.syncMode === 'full') {
    sets.push('lastFormulaRefreshAt = :formulasAt');
    values[':formulasAt'] = run.startedAt;
  }
  // Only the run holding the object may record success: a late or repeated writer must not
  // move the watermark back or count a run twice.
  await updateOwnRow(
    doc,
    tableName,
    plan.objectName,
    `SET ${sets.join(', ')} REMOVE ${removes.join(', ')}`,
    values,
    'lockRunId = :runId',
  );
}

export async function recordObjectFailure(
  doc: DynamoDBDocumentClient,
  tableName: string,
  objectName: string,
  runId: string,
  error: { name: string; message: string },
  finishedAt: Date,
): Promise<void> {
  // Recorded by the run that holds the object, or held it last, or on a row no run has touched:
  // a late failure never overwrites a newer run's result.
  const ownFailure =
    'lockRunId = :runId OR (attribute_not_exists(lockRunId) AND (attribute_not_exists(lastRun) OR lastRun.runId = :runId))';
  await updateOwnRow(
    doc,
    tableName,
    objectName,
    'SET lastRun = :lastRun REMOVE lockRunId, lockExecutionArn, lockExpiresAt',
    {
      ':runId': runId,
      ':lastRun': {
        runId,
        status: 'FAILED',
        finishedAt: finishedAt.toISOString(),
        error: `${error.name}: ${error.message}`.slice(0, 2000),
      },
    },
    ownFailure,
  );
}

/** Writes only when `ownership` says this run may: a late writer never clobbers another run's figures. */
async function updateOwnRow(
  doc: DynamoDBDocumentClient,
  tableName: string,
  objectName: string,
  updateExpression: string,
  values: Record<string, unknown>,
  ownership: string,
): Promise<void> {
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { objectName },
        UpdateExpression: updateExpression,
        ConditionExpression: `attribute_exists(objectName) AND (${ownership})`,
        ExpressionAttributeValues: values,
      }),
    );
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return; // another run owns the row now; its figures win
    throw classifyAwsError(error, `${objectName}: control table update`);
  }
}
