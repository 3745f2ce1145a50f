import type { RefreshReason } from './formula-refresh';
import type { ObjectPlan, RunContext } from './run-plan';
import type { StatementWait } from './statement-waits';
import type { TypeChange } from './structure-sync';
import type { SequenceProgress, StatementSlot } from './warehouse';

/**
 * A flow run the object's child execution waits on. The wait ends on AppFlow's end-of-run
 * event, on the sweep that catches a lost event, or on a status read after a missed heartbeat.
 */
export interface FlowState {
  flowName: string;
  executionId: string;
  state: 'RUNNING' | 'SUCCEEDED';
  /** Status reads by the wait's fallback (a missed heartbeat); 0 when the event or the sweep ended the wait. */
  polls: number;
  /** The run's deadline (ISO 8601): its start plus the object's flow timeout; then `FlowWaitTimedOut`. */
  deadline?: string;
  /** Seconds from the wait's start to the deadline: the wait task's `TimeoutSecondsPath`. */
  waitTimeoutSeconds?: number;
  /**
   * The wait's `HeartbeatSecondsPath`: the configured heartbeat, always below `waitTimeoutSeconds`
   * (Step Functions requires it). Absent in states of older versions.
   */
  heartbeatSeconds?: number;
  recordsProcessed: number;
  /**
   * Staging columns whose values the flow truncates (long text, contract 7): the
   * consolidation counts the values that reached the limit. Absent in states of older versions.
   */
  truncatedColumns?: string[];
  /**
   * Written by older versions (final-table ALTERs sent with the CALL). Ignored: the procedure
   * now adds the final table's missing columns itself, inside the CALL.
   */
  finalColumnsPending?: unknown;
}

/**
 * The consolidation's statements, each kept across Consolidate's invocations so that a slow
 * warehouse is waited on by the state machine and no statement is ever sent twice: the counts of
 * truncated values, the CALL, the read of its audit row.
 */
export interface ConsolidationState {
  state: 'RUNNING' | 'FINISHED';
  /** The counting statements (one per 800 truncated columns) and the sum of what finished. */
  counting?: SequenceProgress & { total: number };
  call?: StatementSlot;
  audit?: StatementSlot;
  /** The CALL's statement id (the Data API's, for operators and metrics). */
  statementId?: string;
  /** Counted in staging right before the CALL was submitted (the CALL empties staging). */
  valuesTruncated?: number;
  figures?: ConsolidationFigures;
}

/** Where StartExtract got to with the warehouse, kept across its invocations (a slow warehouse). */
export interface PrepareState {
  /** The catalog read of the staging, final and history tables; its rows are fetched from the statement again. */
  catalog?: StatementSlot;
  /** The read of the final table's remembered source types (public.source_column_types). */
  sourceTypes?: StatementSlot;
  /**
   * Issue 21: the object's formula fields, read once per run (Salesforce's describe) so that every
   * invocation plans the same statements; `known` is false when the describe could not be read.
   */
  calculatedFields?: { fields: string[]; known: boolean };
  /**
   * The structure sync planned from those reads, in order: DDL batches, the source-type records,
   * each VARCHAR widening alone, each column-change transaction, and the refresh table.
   */
  changes?: SequenceProgress;
  /**
   * A digest of the statement list `changes` counts through. An invocation that plans another list
   * (the source's fields changed meanwhile) lets the statement in flight end and plans again from
   * a fresh catalog read. Absent in states of older versions.
   */
  planned?: string;
  /** Times the structure sync was planned again in this run: its reads and statements are new ones. */
  replans?: number;
  /** TRUNCATE of staging before a new flow run. */
  clear?: StatementSlot;
}

export interface ConsolidationFigures {
  rowsStaged: number;
  duplicatesRemoved: number;
  rowsInserted: number;
  rowsDeleted: number;
  rowsPurged: number;
  /** Keys already in the final table whose newer version replaced the old one (contract 6). */
  rowsUpdated: number;
  /** Newest staged versions already current in the final table: not rewritten (contract 6). */
  rowsUnchanged: number;
  /** Long-text values that reached the Truncate task's limit in this run's staging (contract 7). */
  valuesTruncated: number;
  /** Objects that keep history (issue 22): versions written to the history table (a seed included). */
  historyVersionsAdded?: number;
  /** Objects that keep history: current versions closed (by a newer version, a delete or a purge). */
  historyVersionsClosed?: number;
}

/** What the refresh's audit rows say (public.column_refresh_audit, summed over the run). */
export interface RefreshFigures {
  rowsStaged: number;
  keysMatched: number;
  /** Refreshed keys the final table does not hold (new since the load): ignored. */
  keysMissing: number;
  /** Final rows rewritten because a refreshed value differed. */
  rowsRefreshed: number;
}

/**
 * Issue 21: the run's column refresh, planned by StartExtract with the structure sync; its flow
 * runs after the incremental flow, and its CALL after the consolidation.
 */
export interface RefreshState {
  /** The refreshed columns (lower case): the CALL's list and the report's `columnsRefreshed`. */
  columns: string[];
  /** Their source fields: what the refresh flow selects besides the key. */
  fields: string[];
  reasons: RefreshReason[];
  /** `<prefix>-<Object>-refresh-<runId>`: deleted on every path, like the incremental flow. */
  flowName: string;
  /** CALL refresh_columns and the read of its audit rows (Consolidate, after the consolidation). */
  call?: StatementSlot;
  audit?: StatementSlot;
  figures?: RefreshFigures;
}

/** The state of one Map iteration: each step takes it and returns the next version. */
export interface ObjectState {
  run: RunContext;
  plan: ObjectPlan;
  /**
   * The flow the child waits on (AwaitFlowRun, PollFlow): the incremental flow, then, once the
   * refresh flow started, the refresh flow.
   */
  flow?: FlowState;
  /** The incremental flow, kept here while `flow` is the refresh flow (issue 21). */
  extract?: FlowState;
  /** Issue 21: the column refresh of this run, when one is due. */
  refresh?: RefreshState;
  /** Issue 21: source fields whose type changed, found by this run's structure sync. */
  typeChanges?: TypeChange[];
  consolidation?: ConsolidationState;
  prepare?: PrepareState;
  /**
   * A step's warehouse statement outlived its time budget: the state machine waits on the
   * statement's end event (or the wait's timeout), then calls the step again. Absent otherwise.
   */
  waiting?: StatementWait;
  /** Set by a Catch: Step Functions' own `{ Error, Cause }`. */
  error?: { Error: string; Cause?: string };
}

/**
 * `NOT_DUE`: a scheduled tick did not run the object (its cadence's slot has not begun). `RUNNING`: a
 * tick skipped it because an earlier run still holds it (the tick after that run catches up).
 */
export type ObjectStatus = 'SUCCEEDED' | 'FAILED' | 'SKIPPED' | 'SKIPPED_QUOTA' | 'NOT_DUE' | 'RUNNING';
export const OBJECT_STATUSES: readonly ObjectStatus[] = [
  'SUCCEEDED',
  'FAILED',
  'SKIPPED',
  'SKIPPED_QUOTA',
  'NOT_DUE',
  'RUNNING',
];

/** One object's line in the run report (DESIGN.md report fields plus what an operator needs). */
export interface ObjectResult {
  objectName: string;
  status: ObjectStatus;
  syncMode?: 'incremental' | 'full';
  syncReason?: string;
  recordsExtracted: number;
  duplicatesRemoved: number;
  rowsInserted: number;
  rowsDeleted: number;
  rowsPurged: number;
  rowsUpdated: number;
  rowsUnchanged: number;
  valuesTruncated: number;
  /** Objects that keep history (issue 22): versions added to, and current versions closed in, the history table. */
  historyVersionsAdded?: number;
  historyVersionsClosed?: number;
  consolidationSkipped: boolean;
  /** Issue 21: the columns a column refresh rewrote (lower case), the rows it rewrote, the fields whose type changed. */
  columnsRefreshed?: string[];
  rowsRefreshed?: number;
  typeChanges?: TypeChange[];
  durationSeconds?: number;
  /**
   * Every source change with a cursor at or before it is in the final table (ISO): the window end of
   * the object's last successful consolidation, this run's when it succeeded. Absent until one succeeded.
   */
  completeThrough?: string;
  error: string | null;
  /**
   * This failure repeats what the operators heard already (the object's previous run failed the
   * same way; an invalid row or a spent quota on a tick other than the day's first): reported, not
   * e-mailed again.
   */
  repeatedFailure?: true;
}

export function emptyResult(objectName: string, status: ObjectStatus, error: string | null): ObjectResult {
  return {
    objectName,
    status,
    recordsExtracted: 0,
    duplicatesRemoved: 0,
    rowsInserted: 0,
    rowsDeleted: 0,
    rowsPurged: 0,
    rowsUpdated: 0,
    rowsUnchanged: 0,
    valuesTruncated: 0,
    consolidationSkipped: false,
    error,
  };
}

export function durationSeconds(startedAt: string, now: Date): number {
  return Math.max(0, Math.round((now.getTime() - Date.parse(startedAt)) / 1000));
}

/** The incremental flow: `extract` once the refresh flow took its place in `flow`. */
export function extractFlowOf(state: Pick<ObjectState, 'flow' | 'extract'>): FlowState | undefined {
  return state.extract ?? state.flow;
}
