import type { ObjectResult } from '../../lambdas/common/object-state';
import type { RunReport } from '../../lambdas/common/run-report';
import type { AppFlowCall } from '../stand-ins/appflow/appflow-protocol';
import type { FaultSpec } from '../stand-ins/fault-injector';
import type { RedshiftDataCall } from '../stand-ins/redshift-data-stand-in';
import type { LocalAssembly } from './assembly';
import type { ExecutionOutcome } from './run-execution';

/** DESIGN.md report: one entry per object and day (extra fields are compatible additions). */
export interface ObjectDayReport {
  status: string;
  recordsExtracted: number;
  duplicatesRemoved: number;
  rowsInserted: number;
  rowsDeleted: number;
  error: string | null;
  syncMode?: string;
  syncReason?: string;
  rowsPurged?: number;
  /** Of rowsInserted, keys whose final row was replaced by a newer version (contract 6). */
  rowsUpdated?: number;
  /** Staged keys whose newest version was already current (the lookback overlap): not rewritten. */
  rowsUnchanged?: number;
  /** Text values cut to the flow's Truncate length (contract 7; docs/warehouse.md: what is cut). */
  valuesTruncated?: number;
  consolidationSkipped?: boolean;
  /** DESIGN.md (issue 20): every change with a cursor at or before it is in the final table (ISO). */
  completeThrough?: string;
  /** Objects that keep history (issue 22): versions added to, and current versions closed in, the history table. */
  historyVersionsAdded?: number;
  historyVersionsClosed?: number;
  /** DESIGN.md (issue 21): what a column refresh rewrote (lower-case columns, rows) and the fields whose type changed. */
  columnsRefreshed?: string[];
  rowsRefreshed?: number;
  typeChanges?: { field: string; from: string; to: string }[];
}

export interface DayReport {
  date: string;
  executionName: string;
  /** Simulated time the execution started (its window end) and ended: a tick's latency is read from them. */
  startTime: string;
  endTime: string;
  executionStatus: 'SUCCEEDED' | 'FAILED';
  objects: Record<string, ObjectDayReport>;
  flowsRemaining: number;
  /** Why the execution failed, as its Fail state or failing step said. */
  error?: string;
  /** Execution history events as AWS would count them: the parent's and the largest child execution's. */
  historyEvents: { parent: number; maxChild: number };
  /** Largest state input or output of the execution and its children, in bytes (AWS: 256 KB each). */
  maxPayloadBytes: number;
  /**
   * DESIGN.md (issue 19): each function's longest simulated run time of the day, in seconds, by its
   * CloudFormation logical id: what its waits took, to compare with its template timeout.
   */
  lambdaSeconds: Record<string, number>;
  /** The run report's objects past their freshness bound when ReportRun ran (simulated time); absent when none. */
  overdueObjects?: RunReport['overdueObjects'];
  /** The day's faults (what is left of their `times`) that no call met: they tested nothing. Absent when none. */
  faultsNotFired?: FaultSpec[];
  /** Counted from the execution's events and the stand-ins' logs. */
  stats: {
    stateTransitions: number;
    /** Of stateTransitions, those of each child execution the day ran (one object's run), in item order; a redrive's: the children it reran. */
    childStateTransitions?: number[];
    /** The execution's Task states (and their retries): the steps' functions. */
    lambdaInvocations: number;
    /**
     * Functions the event rules invoked, retries included: AppFlow's end-of-run event, the Data API's
     * statement-ended event and the flow-wait sweep. No state enters them: not in lambdaInvocations.
     */
    eventInvocations: number;
    consolidationCalls: number;
    startFlowCalls: number;
  };
}

export interface LocalReport {
  days: DayReport[];
}

export type ProgressEvent =
  | { type: 'setup'; message: string }
  | { type: 'day-started'; index: number; total: number; date: string; objects: number }
  | { type: 'step'; date: string; objectName: string; step: string }
  | { type: 'day-finished'; index: number; total: number; day: DayReport };

/** What a day's report is made of: its execution, and what the stand-ins saw while it ran. */
export interface DayFigures {
  date: string;
  executionName: string;
  startTime: string;
  endTime: string;
  outcome: ExecutionOutcome;
  /** The execution's history so far: a redrive's events follow the failed attempt's. */
  parentHistory: number;
  flowsRemaining: number;
  /** Each function's longest simulated run time of the day (seconds), by logical id. */
  lambdaSeconds: Record<string, number>;
  /** Functions the event rules invoked during the day (their targets' calls, retries included). */
  eventInvocations: number;
  faultsNotFired: FaultSpec[];
  /** The calls the AppFlow and Redshift Data stand-ins answered during the day. */
  calls: {
    appflow: readonly AppFlowCall[];
    redshift: readonly RedshiftDataCall[];
  };
}

export function dayReport(day: DayFigures): DayReport {
  const { outcome, calls } = day;
  return {
    date: day.date,
    executionName: day.executionName,
    startTime: day.startTime,
    endTime: day.endTime,
    executionStatus: outcome.status,
    objects: objectReports(outcome.report),
    flowsRemaining: day.flowsRemaining,
    ...(outcome.error ? { error: outcome.error } : {}),
    historyEvents: { parent: day.parentHistory, maxChild: outcome.history.maxChild },
    maxPayloadBytes: outcome.history.maxPayloadBytes,
    lambdaSeconds: day.lambdaSeconds,
    ...(outcome.report?.overdueObjects ? { overdueObjects: outcome.report.overdueObjects } : {}),
    ...(day.faultsNotFired.length > 0 ? { faultsNotFired: day.faultsNotFired } : {}),
    stats: {
      stateTransitions: outcome.stateTransitions,
      childStateTransitions: outcome.childStateTransitions,
      lambdaInvocations: outcome.lambdaInvocations,
      eventInvocations: day.eventInvocations,
      consolidationCalls: calls.redshift.filter(
        (call) => call.operation === 'ExecuteStatement' && /CALL\s+consolidate_object/i.test(call.sql ?? ''),
      ).length,
      startFlowCalls: calls.appflow.filter((call) => call.operation === 'StartFlow').length,
    },
  };
}

/**
 * The functions whose longest simulated run of the day reached their template `Timeout`: a run
 * that long was killed there (`Sandbox.Timedout`, its run time capped at the timeout), so "within
 * its timeout" means strictly less. One line per function: `<date> <logical id>: <s> s of <s> s`.
 */
export function timeoutOverruns(
  day: Pick<DayReport, 'date' | 'lambdaSeconds'>,
  assembly: Pick<LocalAssembly, 'functions'>,
): string[] {
  return Object.entries(day.lambdaSeconds)
    .filter(([logicalId, seconds]) => !(seconds < (assembly.functions[logicalId]?.timeoutSeconds ?? 0)))
    .map(
      ([logicalId, seconds]) =>
        `${day.date} ${logicalId}: ${seconds} s of ${assembly.functions[logicalId]?.timeoutSeconds} s`,
    );
}

function objectReports(report: RunReport | undefined): Record<string, ObjectDayReport> {
  const entries = (report?.objects ?? []).map((result: ObjectResult): [string, ObjectDayReport] => [
    result.objectName,
    {
      status: result.status,
      recordsExtracted: result.recordsExtracted,
      duplicatesRemoved: result.duplicatesRemoved,
      rowsInserted: result.rowsInserted,
      rowsDeleted: result.rowsDeleted,
      error: result.error,
      ...(result.syncMode ? { syncMode: result.syncMode } : {}),
      ...(result.syncReason ? { syncReason: result.syncReason } : {}),
      rowsPurged: result.rowsPurged,
      ...(result.rowsUpdated !== undefined ? { rowsUpdated: result.rowsUpdated } : {}),
      ...(result.rowsUnchanged !== undefined ? { rowsUnchanged: result.rowsUnchanged } : {}),
      ...(result.valuesTruncated !== undefined ? { valuesTruncated: result.valuesTruncated } : {}),
      consolidationSkipped: result.consolidationSkipped,
      ...(result.completeThrough ? { completeThrough: result.completeThrough } : {}),
      ...(result.historyVersionsAdded !== undefined
        ? {
            historyVersionsAdded: result.historyVersionsAdded,
            historyVersionsClosed: result.historyVersionsClosed ?? 0,
          }
        : {}),
      ...(result.columnsRefreshed ? { columnsRefreshed: result.columnsRefreshed } : {}),
      ...(result.rowsRefreshed !== undefined ? { rowsRefreshed: result.rowsRefreshed } : {}),
      ...(result.typeChanges ? { typeChanges: result.typeChanges } : {}),
    },
  ]);
  return Object.fromEntries(entries);
}
