import * as z from 'zod/mini';
import './schema';
import { emptyResult, type ObjectResult } from './object-state';

/**
 * What a Distributed Map's ResultWriter leaves in S3 (Step Functions Developer Guide,
 * "ResultWriter": exporting to Amazon S3): `manifest.json` naming one or more result files per
 * status, each a JSON array of the child executions of that status.
 */
const nonEmpty = () => z.string().check(z.minLength(1));
const count = z.int().check(z.nonnegative());
const resultFileSchema = z.object({ Key: nonEmpty(), Size: count });
export const mapRunManifestSchema = z.looseObject({
  DestinationBucket: nonEmpty(),
  MapRunArn: z.string().check(z.startsWith('arn:')),
  ResultFiles: z.looseObject({
    SUCCEEDED: z._default(z.array(resultFileSchema), []),
    FAILED: z._default(z.array(resultFileSchema), []),
    PENDING: z._default(z.array(resultFileSchema), []),
  }),
});
export type MapRunManifest = z.output<typeof mapRunManifestSchema>;

/** One child execution in a result file. Input and Output are JSON text, as DescribeExecution gives them. */
const childExecutionSchema = z.looseObject({
  ExecutionArn: z.string(),
  Name: z.optional(z.string()),
  Status: z.string(),
  Input: z.optional(z.string()),
  Output: z.optional(z.string()),
  Error: z.optional(z.string()),
  Cause: z.optional(z.string()),
});
export const resultFileContentSchema = z.array(childExecutionSchema);
export type ChildExecution = z.output<typeof childExecutionSchema>;

/** The Map's output with a ResultWriter: where the manifest is. */
export const mapRunOutputSchema = z.looseObject({
  MapRunArn: z.string(),
  ResultWriterDetails: z.object({ Bucket: nonEmpty(), Key: nonEmpty() }),
});
export type MapRunOutput = z.output<typeof mapRunOutputSchema>;

/** A child's output: the ObjectResult its last step (FinishObject or RecordFailure) returned. */
export const objectResultSchema = z.looseObject({
  objectName: nonEmpty(),
  status: z.enum(['SUCCEEDED', 'FAILED', 'SKIPPED', 'SKIPPED_QUOTA', 'NOT_DUE', 'RUNNING']),
  syncMode: z.optional(z.enum(['incremental', 'full'])),
  syncReason: z.optional(z.string()),
  recordsExtracted: count,
  duplicatesRemoved: count,
  rowsInserted: count,
  rowsDeleted: count,
  rowsPurged: z._default(count, 0),
  rowsUpdated: z._default(count, 0),
  rowsUnchanged: z._default(count, 0),
  valuesTruncated: z._default(count, 0),
  historyVersionsAdded: z.optional(count),
  historyVersionsClosed: z.optional(count),
  consolidationSkipped: z._default(z.boolean(), false),
  columnsRefreshed: z.optional(z.array(z.string())),
  rowsRefreshed: z.optional(count),
  typeChanges: z.optional(z.array(z.object({ field: z.string(), from: z.string(), to: z.string() }))),
  durationSeconds: z.optional(z.number()),
  completeThrough: z.optional(z.string()),
  repeatedFailure: z.optional(z.literal(true)),
  error: z.nullable(z.string()),
});

export const objectResultsSchema = z.array(objectResultSchema);

/** The plan file read back: only what the report needs of each entry. */
export const namedEntriesSchema = z.array(z.looseObject({ objectName: nonEmpty() }));

const childPlanSchema = z.looseObject({
  plan: z.looseObject({
    objectName: z.string(),
    syncMode: z.optional(z.enum(['incremental', 'full'])),
    syncReason: z.optional(z.string()),
    completeThrough: z.optional(z.string()),
  }),
});

function planOf(child: ChildExecution): z.output<typeof childPlanSchema>['plan'] | undefined {
  try {
    const parsed = childPlanSchema.safeParse(JSON.parse(child.Input ?? ''));
    return parsed.success ? parsed.data.plan : undefined;
  } catch {
    return undefined;
  }
}

/** A FAILED line for a child that ended without its own result: named after its input's object. */
function failedChild(child: ChildExecution, error: string): ObjectResult {
  const plan = planOf(child);
  return {
    ...emptyResult(plan?.objectName ?? `(unknown object of ${child.ExecutionArn})`, 'FAILED', error),
    ...(plan?.syncMode ? { syncMode: plan.syncMode } : {}),
    ...(plan?.syncReason ? { syncReason: plan.syncReason } : {}),
    // A failed run leaves the table as complete as before.
    ...(plan?.completeThrough ? { completeThrough: plan.completeThrough } : {}),
  };
}

/**
 * One object's report line from one child execution. A succeeded child returned its ObjectResult
 * (a caught failure included: RecordFailure's FAILED line). A child that failed uncaught, timed
 * out or was aborted has no output: its line is FAILED with Step Functions' error and cause.
 */
export function objectResultOfChild(child: ChildExecution): ObjectResult {
  if (child.Status === 'SUCCEEDED') {
    try {
      const parsed = objectResultSchema.safeParse(JSON.parse(child.Output ?? ''));
      if (parsed.success) return parsed.data as ObjectResult;
    } catch {
      // not JSON: reported below
    }
    return failedChild(
      child,
      `UnreadableResult: child execution ${child.ExecutionArn} returned no object result`,
    );
  }
  if (child.Status === 'PENDING') {
    return failedChild(child, 'NotStarted: the Map Run ended before this object started');
  }
  const what = child.Error
    ? `${child.Error}: ${child.Cause ?? 'no cause given'}`
    : `child execution ${child.Status}`;
  return failedChild(child, what);
}

/**
 * Every planned object's line: the children's results, and a FAILED line for a planned object the
 * Map Run reported nothing for, so no object silently drops out of a report.
 */
export function objectResultsOfMapRun(children: ChildExecution[], plannedObjects: string[]): ObjectResult[] {
  const byObject = new Map<string, ObjectResult>();
  for (const child of children) {
    const result = objectResultOfChild(child);
    const earlier = byObject.get(result.objectName);
    // A redriven Map Run lists an object's failed attempt and its later success: the success counts.
    if (earlier?.status !== 'SUCCEEDED') byObject.set(result.objectName, result);
  }
  for (const objectName of plannedObjects) {
    if (!byObject.has(objectName)) {
      byObject.set(
        objectName,
        emptyResult(objectName, 'FAILED', 'NoResult: the Map Run reported nothing for this object'),
      );
    }
  }
  return [...byObject.values()];
}
