import { createHash } from 'node:crypto';
import { completeThroughOf, DEFAULT_SYNC_EVERY_MINUTES } from './cadence';
import type { ObjectConfig } from './control-row';
import type { ExecutionInput } from './execution-input';
import { formulaRefreshDue, type RefreshReason } from './formula-refresh';

/** Per-execution facts every object's work shares. */
export interface RunContext {
  /** Stable across retries and redrives of one execution: names flows, audit rows, locks. */
  runId: string;
  /** The execution holding the run's locks, so a later run can tell a dead holder from a live one. */
  executionArn?: string;
  startedAt: string;
  runDate: string;
  /** A backfill re-extracts a past window and never moves watermarks. */
  backfill?: { from: string; to: string };
  syncModeOverride?: 'incremental' | 'full';
  /** A scheduled tick (`{"scheduled": true}`): only due objects run; a busy object is RUNNING, not failed. */
  scheduled?: true;
  /**
   * The day's first tick: failures that repeat every tick (an object failing the same way, an
   * invalid row, a spent API quota) are e-mailed on it, and on the tick they first appear.
   */
  dailyTick?: true;
}

/** A scheduled tick other than the day's first: failures that repeat every tick are reported, not e-mailed again. */
export function isLaterTick(run: RunContext): boolean {
  return run.scheduled === true && run.dailyTick !== true;
}

export type SyncReason =
  | 'incremental'
  | 'first-run'
  | 'row'
  | 'input'
  | 'reset'
  | 'reconcile'
  | 'backfill'
  /** Written by older versions: a new column reloaded the object in full (now a column refresh fills it). */
  | 'schema-change'
  /** The source declares no operator the change window needs on the cursor field: every run is full. */
  | 'cursor-not-filterable'
  /** Issue 21: an incremental run that also refreshed columns, and why (see column-refresh.ts). */
  | RefreshReason;

/** One object's work order for this run: what the Map iteration carries. */
export interface ObjectPlan {
  objectName: string;
  /** The configured source (absent in plans of older versions: the default source). */
  sourceName?: string;
  /** The source entity AppFlow reads when it differs from objectName. */
  entityName?: string;
  targetTable: string;
  /** The source's schemas; absent in plans of older versions (the environment's schemas apply). */
  stagingSchema?: string;
  finalSchema?: string;
  connectorType: string;
  connectorLabel?: string;
  connectorProfileName: string;
  /** The connector's API version (custom connectors), sent with DescribeConnectorEntity and CreateFlow. */
  apiVersion?: string;
  /** Custom connectors: unknown field types become VARCHAR(65535) instead of failing the object. */
  allowUnknownTypes?: boolean;
  fields?: string[];
  primaryKey: string;
  cursorField: string;
  deleteMode: 'hard' | 'soft' | 'ignore';
  /** Field the final table is sorted on when the row overrides the primary key. */
  sortKey?: string;
  syncMode: 'incremental' | 'full';
  syncReason: SyncReason;
  /** Records with `start < cursor <= end` are extracted; an absent bound is open. */
  window: { start?: string; end?: string };
  /** The watermark to store after success; absent for backfills, which never move it. */
  nextWatermark?: string;
  /** The row's own `flowTimeoutMinutes` (a huge initial load); else the environment's applies. */
  flowTimeoutMinutes?: number;
  /** The row's completeThrough before this run: what a failed run's report line still says. */
  completeThrough?: string;
  /**
   * Keep every captured version in `<final schema>_history.<targetTable>` (issue 22): the
   * consolidation calls the procedure's 10-argument form. Absent: no history (plans of older versions too).
   */
  history?: true;
  /** Issue 21: the row's `refreshFields`, refreshed with the formula fields. */
  refreshFields?: string[];
  /** Issue 21: formulas and `refreshFields` are due for a refresh in this run (`formulaRefreshEveryMinutes`). */
  formulaRefreshDue?: true;
  /**
   * The error name the object's previous run failed with, if it failed: a failure with the same
   * name is a repeat (reported, but e-mailed only on the day's first tick).
   */
  previousFailure?: string;
}

const RUN_ID_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;

/** Execution names may hold characters flows and SQL literals must not: keep a safe, unique token. */
export function runIdFromExecutionName(executionName: string): string {
  if (RUN_ID_PATTERN.test(executionName)) return executionName;
  const readable = executionName.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 60);
  const digest = createHash('sha256').update(executionName).digest('hex').slice(0, 12);
  return `${readable}-${digest}`.replace(/^-+/, '');
}

export function buildRunContext(
  input: ExecutionInput,
  execution: { name: string; startTime: string; id?: string },
): RunContext {
  const startedAt = new Date(execution.startTime).toISOString();
  const from = input.runDate ?? input.from;
  const to = input.runDate ?? input.to;
  return {
    runId: runIdFromExecutionName(execution.name),
    ...(execution.id ? { executionArn: execution.id } : {}),
    startedAt,
    runDate: input.runDate ?? startedAt.slice(0, 10),
    ...(from && to ? { backfill: { from, to } } : {}),
    ...(input.syncMode ? { syncModeOverride: input.syncMode } : {}),
    ...(input.scheduled ? { scheduled: true as const } : {}),
  };
}

/**
 * What a successful run makes the object complete through: its window's end (the execution start;
 * a full load's too, since it read the source after that). A backfill re-reads a past window and
 * proves nothing newer: undefined, the row keeps its value.
 */
export function completeThroughAfter(
  plan: Pick<ObjectPlan, 'window'>,
  run: Pick<RunContext, 'startedAt' | 'backfill'>,
): string | undefined {
  if (run.backfill) return undefined;
  return plan.window.end ?? run.startedAt;
}

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

/** The entity AppFlow reads: `entityName` when the row sets one, else the object's name. */
export function sourceEntityOf(plan: Pick<ObjectPlan, 'objectName' | 'entityName'>): string {
  return plan.entityName ?? plan.objectName;
}

/** The plan's warehouse schemas; plans of older versions carry none and use the environment's. */
export function layoutOf(
  plan: Pick<ObjectPlan, 'stagingSchema' | 'finalSchema'>,
  fallback: { stagingSchema: string; finalSchema: string },
): { stagingSchema: string; finalSchema: string } {
  return {
    stagingSchema: plan.stagingSchema ?? fallback.stagingSchema,
    finalSchema: plan.finalSchema ?? fallback.finalSchema,
  };
}

function maxIso(a: string | undefined, b: string): string {
  return a && a > b ? a : b;
}

/**
 * Decides the object's sync mode and change window. Windows meet or overlap and never
 * leave a gap: an incremental run extracts `(watermark − lookback, execution start]`
 * and then stores the execution start as the new watermark, so a record stamped at
 * the boundary or during the run is inside the next run's window.
 */
export function planObject(
  object: ObjectConfig,
  run: RunContext,
  defaultConnectorProfile: string,
): ObjectPlan {
  const base = {
    objectName: object.objectName,
    ...(object.sourceName ? { sourceName: object.sourceName } : {}),
    ...(object.entityName ? { entityName: object.entityName } : {}),
    targetTable: object.targetTable,
    ...(object.stagingSchema ? { stagingSchema: object.stagingSchema } : {}),
    ...(object.finalSchema ? { finalSchema: object.finalSchema } : {}),
    connectorType: object.connectorType,
    ...(object.connectorLabel ? { connectorLabel: object.connectorLabel } : {}),
    connectorProfileName: object.connectorProfileName ?? defaultConnectorProfile,
    ...(object.apiVersion ? { apiVersion: object.apiVersion } : {}),
    ...(object.allowUnknownTypes ? { allowUnknownTypes: true } : {}),
    ...(object.fields ? { fields: object.fields } : {}),
    primaryKey: object.primaryKey,
    cursorField: object.cursorField,
    deleteMode: object.deleteMode,
    ...(object.sortKey ? { sortKey: object.sortKey } : {}),
    ...(object.flowTimeoutMinutes ? { flowTimeoutMinutes: object.flowTimeoutMinutes } : {}),
    ...(completeThroughOf(object) ? { completeThrough: completeThroughOf(object) } : {}),
    // A reset or a full sync reloads final; history is never emptied (the procedure keeps it).
    ...(object.history ? { history: true as const } : {}),
    ...columnRefreshOf(object, run),
    ...previousFailureOf(object),
  };
  const fullReason = fullSyncReason(object, run);
  if (fullReason) {
    return {
      ...base,
      syncMode: 'full',
      syncReason: fullReason,
      window: {},
      nextWatermark: maxIso(object.watermark, run.startedAt),
    };
  }
  const lookbackMs = object.lookbackMinutes * MINUTE_MS;
  if (run.backfill) {
    const fromMs = Date.parse(`${run.backfill.from}T00:00:00.000Z`) - lookbackMs;
    const toMs = Math.min(Date.parse(`${run.backfill.to}T00:00:00.000Z`) + DAY_MS, Date.parse(run.startedAt));
    return {
      ...base,
      syncMode: 'incremental',
      syncReason: 'backfill',
      window: { start: new Date(fromMs).toISOString(), end: new Date(toMs).toISOString() },
    };
  }
  const watermarkMs = Date.parse(object.watermark as string);
  return {
    ...base,
    syncMode: 'incremental',
    syncReason: 'incremental',
    window: { start: new Date(watermarkMs - lookbackMs).toISOString(), end: run.startedAt },
    nextWatermark: maxIso(object.watermark, run.startedAt),
  };
}

/** The error name of the object's previous run when it failed (`lastRun.error` is `Name: message`). */
function previousFailureOf(object: ObjectConfig): { previousFailure?: string } {
  const lastRun = object.lastRun;
  if (lastRun?.status !== 'FAILED' || !lastRun.error) return {};
  return { previousFailure: lastRun.error.split(':')[0] };
}

function fullSyncReason(object: ObjectConfig, run: RunContext): SyncReason | undefined {
  if (run.syncModeOverride === 'full') return 'input';
  if (object.resetRequested) return 'reset';
  if (object.syncMode === 'full' && run.syncModeOverride !== 'incremental') return 'row';
  if (!object.watermark) return run.backfill ? undefined : 'first-run';
  if (run.backfill) return undefined;
  if (object.fullSyncEveryDays > 0 && (object.runsSinceFullSync ?? 0) + 1 >= object.fullSyncEveryDays) {
    return 'reconcile';
  }
  return undefined;
}

/**
 * The row's column-refresh settings as the plan carries them (issue 21): its `refreshFields`, and
 * whether formulas are due, judged at the run's start against the last formula refresh with half
 * the object's cadence (or of the refresh interval, if shorter) as slack.
 */
function columnRefreshOf(
  object: ObjectConfig,
  run: RunContext,
): Pick<ObjectPlan, 'refreshFields' | 'formulaRefreshDue'> {
  const every = object.formulaRefreshEveryMinutes;
  const slack = Math.min(object.syncEveryMinutes ?? DEFAULT_SYNC_EVERY_MINUTES, every ?? Infinity) / 2;
  const due = formulaRefreshDue(every, object.lastFormulaRefreshAt, new Date(run.startedAt), slack);
  return {
    ...(object.refreshFields && object.refreshFields.length > 0
      ? { refreshFields: object.refreshFields }
      : {}),
    ...(due ? { formulaRefreshDue: true as const } : {}),
  };
}
