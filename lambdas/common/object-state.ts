import type { ObjectPlan, RunContext } from './run-plan';

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

export interface ConsolidationState {
  statementId: string;
  state: 'RUNNING' | 'FINISHED';
  polls: number;
  nextWaitSeconds: number;
  /** Counted in staging right before the CALL was submitted (the CALL empties staging). */
  valuesTruncated?: number;
  figures?: ConsolidationFigures;
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
}

/** The state of one Map iteration: each step takes it and returns the next version. */
export interface ObjectState {
  run: RunContext;
  plan: ObjectPlan;
  flow?: FlowState;
  consolidation?: ConsolidationState;
  /** Set by a Catch: Step Functions' own `{ Error, Cause }`. */
  error?: { Error: string; Cause?: string };
}

export type ObjectStatus = 'SUCCEEDED' | 'FAILED' | 'SKIPPED' | 'SKIPPED_QUOTA';

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
  consolidationSkipped: boolean;
  durationSeconds?: number;
  error: string | null;
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

/** Poll schedules that lengthen, so a long statement costs a few more transitions, not one per second. */
export function nextWaitSeconds(polls: number, schedule: readonly number[]): number {
  return schedule[Math.min(polls, schedule.length - 1)];
}
export const STATEMENT_WAIT_SCHEDULE = [5, 10, 20, 40, 60] as const;

export function durationSeconds(startedAt: string, now: Date): number {
  return Math.max(0, Math.round((now.getTime() - Date.parse(startedAt)) / 1000));
}
