import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  completeThroughOf,
  DEFAULT_TICK_MINUTES,
  dueReason,
  isDailyTick,
  SCHEDULE_DAILY_AT_VARIABLE,
  SCHEDULE_TICK_MINUTES_VARIABLE,
  SCHEDULE_TIME_ZONE_VARIABLE,
  type ScheduleAnchor,
  scheduleAnchorFrom,
} from './common/cadence';
import { type ObjectConfig, parseControlRows } from './common/control-row';
import { scanControlTable } from './common/control-table';
import { optionalEnv, requireEnv } from './common/environment';
import { parseExecutionInput } from './common/execution-input';
import { executionIsRunning } from './common/executions';
import { freshnessEntries } from './common/freshness';
import { emptyResult, type ObjectResult } from './common/object-state';
import { logger } from './common/observability';
import {
  buildRunContext,
  isLaterTick,
  type ObjectPlan,
  planObject,
  type RunContext,
} from './common/run-plan';
import {
  putRunStateJson,
  RUN_STATE_BUCKET_ENVIRONMENT_VARIABLE,
  type RunPlanReference,
  runStateKeys,
} from './common/run-state';
import {
  DEFAULT_SOURCES,
  parseSourceCatalog,
  SOURCES_ENVIRONMENT_VARIABLE,
  type SourceCatalog,
} from './common/sources';

const CONTROL_TABLE_NAME = requireEnv('CONTROL_TABLE_NAME');
const DEFAULT_CONNECTOR_PROFILE = requireEnv('DEFAULT_CONNECTOR_PROFILE');
/** The environment's sources (lib/config.ts resolves them); rows name one with `sourceName`. */
const SOURCES = parseSourceCatalog(optionalEnv(SOURCES_ENVIRONMENT_VARIABLE));
const RUN_STATE_BUCKET = requireEnv(RUN_STATE_BUCKET_ENVIRONMENT_VARIABLE);
/** The daily time and time zone every cadence is anchored to (config `scheduleExpression`, `scheduleTimeZone`). */
const SCHEDULE = scheduleAnchorFrom(
  optionalEnv(SCHEDULE_DAILY_AT_VARIABLE),
  optionalEnv(SCHEDULE_TIME_ZONE_VARIABLE),
);
/**
 * The schedule's tick interval: the day's first tick is the one that e-mails repeated failures again,
 * and an object's cadence is rounded up to whole ticks (part of when it is overdue).
 */
const TICK_MINUTES = Number(optionalEnv(SCHEDULE_TICK_MINUTES_VARIABLE) ?? DEFAULT_TICK_MINUTES);
/** The environment's flow timeout (lib/config.ts): part of when an object is overdue. */
const FLOW_TIMEOUT_MINUTES = Number(requireEnv('FLOW_TIMEOUT_MINUTES'));
const s3 = new S3Client({});
const sfn = new SFNClient({});
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});

export interface LoadObjectsEvent {
  input: unknown;
  execution: { name: string; startTime: string; id?: string };
}

/**
 * The run's context and where its plan is. The plans (one per object, each with its fields) and
 * the rejected objects go to the run-state bucket, not into the state: with hundreds of objects
 * they are over Step Functions' 256 KB payload limit. The Distributed Map reads the plans from there.
 */
export interface LoadObjectsResult {
  run: RunContext;
  plan: RunPlanReference;
}

/**
 * Pure: rows and input in, the run's work list out. A scheduled tick (`run.scheduled`, with the
 * environment's `schedule`) plans only the objects that are due; the others are NOT_DUE lines.
 * `valid` is every row that parsed, by name (the freshness of the objects the run does not load too).
 */
export function selectObjects(
  items: Record<string, unknown>[],
  requested: string[] | undefined,
  run: RunContext,
  defaultConnectorProfile: string,
  sources: SourceCatalog = DEFAULT_SOURCES,
  schedule?: ScheduleAnchor,
): { objects: ObjectPlan[]; rejected: ObjectResult[]; valid: ObjectConfig[] } {
  const valid = new Map<string, ObjectConfig>();
  const invalid = new Map<string, string>();
  for (const parsed of parseControlRows(items, sources)) {
    if (parsed.ok) valid.set(parsed.object.objectName, parsed.object);
    else invalid.set(parsed.objectName, parsed.error);
  }
  const rejected: ObjectResult[] = [];
  const selected: ObjectConfig[] = [];
  if (requested) {
    for (const name of [...new Set(requested)]) {
      const object = valid.get(name);
      if (invalid.has(name)) rejected.push(emptyResult(name, 'FAILED', invalid.get(name) as string));
      else if (!object)
        rejected.push(emptyResult(name, 'FAILED', `Unknown object "${name}": no control-table row`));
      else if (!object.enabled)
        rejected.push(emptyResult(name, 'SKIPPED', `${name} is disabled in the control table`));
      else selected.push(object);
    }
  } else {
    for (const [name, error] of invalid) rejected.push(emptyResult(name, 'FAILED', error));
    const enabled = [...valid.values()].filter((object) => object.enabled);
    if (run.scheduled && schedule) {
      const now = new Date(run.startedAt);
      for (const object of enabled) {
        if (dueReason(object, now, schedule)) selected.push(object);
        else rejected.push(notDue(object));
      }
    } else {
      selected.push(...enabled);
    }
  }
  const objects = selected
    .map((object) => planObject(object, run, defaultConnectorProfile))
    .sort((a, b) => a.objectName.localeCompare(b.objectName));
  return {
    objects,
    rejected: rejected.sort((a, b) => a.objectName.localeCompare(b.objectName)),
    valid: [...valid.values()].sort((a, b) => a.objectName.localeCompare(b.objectName)),
  };
}

/**
 * An invalid row fails every tick the same way: the operators hear of it on the day's first tick
 * (and from an operator's run), the other ticks report it without e-mailing it again.
 */
export function markRepeated(result: ObjectResult, run: RunContext): ObjectResult {
  return result.status === 'FAILED' && isLaterTick(run) ? { ...result, repeatedFailure: true } : result;
}

/** A tick's line for an object whose slot has not begun: nothing is written to its row. */
function notDue(object: ObjectConfig): ObjectResult {
  const completeThrough = completeThroughOf(object);
  return {
    ...emptyResult(object.objectName, 'NOT_DUE', null),
    ...(completeThrough ? { completeThrough } : {}),
  };
}

/** The claim an earlier run left on a control row (claimObject in control-table.ts writes it). */
interface ObjectLock {
  runId: string;
  executionArn?: string;
  expiresAt?: string;
}

function lockOf(item: Record<string, unknown>): ObjectLock | undefined {
  if (typeof item.lockRunId !== 'string' || item.lockRunId === '') return undefined;
  return {
    runId: item.lockRunId,
    ...(typeof item.lockExecutionArn === 'string' && item.lockExecutionArn !== ''
      ? { executionArn: item.lockExecutionArn }
      : {}),
    ...(typeof item.lockExpiresAt === 'string' ? { expiresAt: item.lockExpiresAt } : {}),
  };
}

/**
 * A tick leaves an object to the earlier run that still holds it (issue 20): reported RUNNING, not
 * taken over, not failed; the tick after that run catches up. A holder that is no longer running
 * (aborted, timed out) is not waited for: the object stays planned and StartExtract takes it over.
 * A claim without an execution ARN (older versions) counts as live until it expires.
 */
export async function setAsideHeldObjects(
  planned: { objects: ObjectPlan[]; rejected: ObjectResult[] },
  items: Record<string, unknown>[],
  run: RunContext,
  isRunning: (executionArn: string, objectName: string) => Promise<boolean>,
): Promise<{ objects: ObjectPlan[]; rejected: ObjectResult[] }> {
  const locks = new Map(
    items.flatMap((item) => {
      const lock = lockOf(item);
      return lock && typeof item.objectName === 'string' ? [[item.objectName, lock] as const] : [];
    }),
  );
  const objects: ObjectPlan[] = [];
  const held: ObjectResult[] = [];
  for (const plan of planned.objects) {
    const lock = locks.get(plan.objectName);
    const live =
      lock !== undefined &&
      lock.runId !== run.runId &&
      !(lock.expiresAt !== undefined && lock.expiresAt < run.startedAt) &&
      (lock.executionArn === undefined || (await isRunning(lock.executionArn, plan.objectName)));
    if (!live) {
      objects.push(plan);
      continue;
    }
    held.push({
      ...emptyResult(
        plan.objectName,
        'RUNNING',
        `Still loading in run ${lock.runId}, which holds it; this tick leaves it alone and the next one catches up`,
      ),
      ...(plan.completeThrough ? { completeThrough: plan.completeThrough } : {}),
    });
  }
  const rejected = [...planned.rejected, ...held].sort((a, b) => a.objectName.localeCompare(b.objectName));
  return { objects, rejected };
}

export const handler = async (event: LoadObjectsEvent): Promise<LoadObjectsResult> => {
  const input = parseExecutionInput(event.input);
  const planned = buildRunContext(input, event.execution);
  const run =
    planned.scheduled && isDailyTick(new Date(planned.startedAt), TICK_MINUTES, SCHEDULE)
      ? { ...planned, dailyTick: true as const }
      : planned;
  const items = await scanControlTable(doc, CONTROL_TABLE_NAME);
  // The quota guard comes after, in the precheck: it asks the org only when something will run.
  const selected = selectObjects(items, input.objects, run, DEFAULT_CONNECTOR_PROFILE, SOURCES, SCHEDULE);
  // An operator's run names what it wants and fails ObjectBusy on a held object, as before.
  const { objects, rejected: notRun } = run.scheduled
    ? await setAsideHeldObjects(selected, items, run, (arn, objectName) =>
        executionIsRunning(sfn, arn, objectName),
      )
    : selected;
  const rejected = notRun.map((result) => markRepeated(result, run));
  for (const bad of rejected.filter((result) => result.status !== 'NOT_DUE'))
    logger.warn('Object will not run', { objectName: bad.objectName, status: bad.status, reason: bad.error });
  const keys = runStateKeys(event.execution.name);
  const freshness = freshnessEntries(selected.valid, {
    tickMinutes: TICK_MINUTES,
    flowTimeoutMinutes: FLOW_TIMEOUT_MINUTES,
  });
  // A retry of this step rewrites the files with the same content: the keys are the execution's.
  await putRunStateJson(s3, RUN_STATE_BUCKET, keys.rejected, rejected);
  await putRunStateJson(s3, RUN_STATE_BUCKET, keys.freshness, freshness);
  await putRunStateJson(s3, RUN_STATE_BUCKET, keys.plan, objects);
  logger.info('Run planned', {
    runId: run.runId,
    scheduled: run.scheduled ?? false,
    objects: objects.length,
    rejected: rejected.length,
    plan: `s3://${RUN_STATE_BUCKET}/${keys.plan}`,
  });
  return {
    run,
    plan: {
      bucket: RUN_STATE_BUCKET,
      key: keys.plan,
      objectCount: objects.length,
      rejectedKey: keys.rejected,
      rejectedCount: rejected.length,
      resultsPrefix: keys.results,
      reportKey: keys.report,
      freshnessKey: keys.freshness,
    },
  };
};
