import type { ObjectResult, ObjectStatus } from './object-state';
import { isLaterTick, type RunContext } from './run-plan';
import { TRUNCATE_LENGTH } from './source-fields';
import { renderTable } from './text-table';

export interface RunReport {
  runId: string;
  runDate: string;
  startedAt: string;
  finishedAt: string;
  /** A scheduled tick (`{"scheduled": true}`): it ran only the objects that were due. */
  scheduled?: true;
  status: 'SUCCEEDED' | 'FAILED';
  objects: ObjectResult[];
  failedObjects: string[];
  /** One line for the console's failure cause and the alarm e-mail's subject. */
  summary: string;
  /**
   * Whether the failed-run e-mail goes out (the stack's rule matches it): an operator's run, the
   * day's first tick, or a tick with a failure not reported before. A failure that repeats every
   * 15-minute tick is e-mailed once, then once a day, while every report still names it. Absent in
   * reports of older versions (which e-mailed every failed run).
   */
  notify?: boolean;
  /** The execution input that reruns just the failed objects. */
  rerunInput?: { objects: string[] };
  /**
   * Enabled objects whose lag exceeded twice their cadence plus their flow timeout when the run
   * ended (the `ObjectsOverdue` metric counts them), with their lag in minutes. Absent when none.
   */
  overdueObjects?: { objectName: string; lagMinutes: number; overdueAfterMinutes: number }[];
}

/**
 * What ReportRun returns as the execution's output: the report without its per-object lines,
 * which are in the run-state bucket. Bounded whatever the number of objects, so a run of 1,000
 * objects stays far inside Step Functions' 256 KB payload limit.
 */
export interface RunReportSummary
  extends Omit<RunReport, 'objects' | 'failedObjects' | 'rerunInput' | 'overdueObjects'> {
  /** Objects per status, and in all; a tick's NOT_DUE and RUNNING only when it had some. */
  objectCounts: Record<Exclude<ObjectStatus, 'NOT_DUE' | 'RUNNING'>, number> &
    Partial<Record<'NOT_DUE' | 'RUNNING', number>> & { total: number };
  /** The first MAX_NAMES_IN_OUTPUT overdue objects' names, when there are any. */
  overdueObjects?: string[];
  /** The first MAX_NAMES_IN_OUTPUT objects not loaded; `failedObjectCount` says how many in all. */
  failedObjects: string[];
  failedObjectCount: number;
  /** The input that reruns just the failed objects, when they fit the output; else in the full report. */
  rerunInput?: { objects: string[] };
  /** The full report (every object's line) as JSON. */
  report: { bucket: string; key: string };
}

/** Object names an execution output or summary line lists at most (80 characters each). */
export const MAX_NAMES_IN_OUTPUT = 100;

/** The plan's sync reason when the source declares no filter operator the window needs (start-extract). */
export const FULL_SYNC_ONLY_REASON = 'cursor-not-filterable';

const REPORT_COLUMNS = [
  'object',
  'status',
  'mode',
  'extracted',
  'dupes',
  'inserted',
  'updated',
  'unchanged',
  'deleted',
  'truncated',
  'secs',
  'error',
];

/** At most MAX_NAMES_IN_OUTPUT names, then how many more: the summary line stays bounded. */
function cappedList(names: string[]): string {
  const shown = names.slice(0, MAX_NAMES_IN_OUTPUT).join(', ');
  return names.length > MAX_NAMES_IN_OUTPUT
    ? `${shown} and ${names.length - MAX_NAMES_IN_OUTPUT} more`
    : shown;
}

export function buildRunReport(
  run: RunContext,
  results: ObjectResult[],
  finishedAt: Date,
  overdueObjects?: RunReport['overdueObjects'],
): RunReport {
  const objects = [...results].sort((a, b) => a.objectName.localeCompare(b.objectName));
  // Not loaded is not fine: a skipped object's data is a day older than its owners think.
  const failed = objects.filter((result) => result.status === 'FAILED' || result.status === 'SKIPPED_QUOTA');
  const failedObjects = failed.map((result) => result.objectName);
  const succeeded = objects.filter((result) => result.status === 'SUCCEEDED').length;
  // Never a silent cut: long-text values the flows truncated are named in the summary line.
  const truncated = objects.filter((result) => (result.valuesTruncated ?? 0) > 0);
  const truncation =
    truncated.length === 0
      ? ''
      : `; long-text values cut to ${TRUNCATE_LENGTH} characters: ${cappedList(
          truncated.map((result) => `${result.objectName} ${result.valuesTruncated}`),
        )}`;
  // A source that cannot filter an object's cursor makes every run of it a full load: say so, it costs.
  const fullOnly = objects.filter((result) => result.syncReason === FULL_SYNC_ONLY_REASON);
  const fullOnlyNote =
    fullOnly.length === 0
      ? ''
      : `; full sync only (the source cannot filter the cursor field): ${cappedList(
          fullOnly.map((result) => result.objectName),
        )}`;
  // Issue 21: a field whose type changed at the source changed its column too: name it.
  const typeChanges = objects.flatMap((result) =>
    (result.typeChanges ?? []).map(
      (change) => `${result.objectName}.${change.field} ${change.from} → ${change.to}`,
    ),
  );
  const typeChangeNote =
    typeChanges.length === 0 ? '' : `; field types changed at the source: ${cappedList(typeChanges)}`;
  const rerun =
    failedObjects.length <= MAX_NAMES_IN_OUTPUT
      ? `Rerun them with input ${JSON.stringify({ objects: failedObjects })}`
      : "Rerun them with the full run report's rerunInput";
  // A tick's objects that were not its to run: not due, or still held by an earlier run.
  const notDue = objects.filter((result) => result.status === 'NOT_DUE').length;
  const running = objects.filter((result) => result.status === 'RUNNING').map((result) => result.objectName);
  const considered = objects.length - notDue - running.length;
  const due = notDue + running.length > 0 ? ' due' : '';
  const tickNote = `${notDue > 0 ? `; ${notDue} not due` : ''}${
    running.length > 0 ? `; still running from an earlier run: ${cappedList(running)}` : ''
  }`;
  const overdue = overdueObjects ?? [];
  const overdueNote =
    overdue.length === 0
      ? ''
      : `; overdue (lag over twice the cadence plus the flow timeout): ${cappedList(
          overdue.map((entry) => `${entry.objectName} ${Math.round(entry.lagMinutes)} min`),
        )}`;
  const summary =
    failed.length === 0
      ? `Run ${run.runId}: ${succeeded} of ${considered}${due} objects loaded${tickNote}${truncation}${typeChangeNote}${fullOnlyNote}${overdueNote}`
      : `Run ${run.runId}: ${failed.length} of ${considered}${due} objects not loaded: ${failed
          .map((result) => `${result.objectName} (${result.error ?? 'no error text'})`)
          .join('; ')
          .slice(0, 3000)}. ${rerun}${tickNote}${fullOnlyNote}${overdueNote}`;
  return {
    runId: run.runId,
    runDate: run.runDate,
    startedAt: run.startedAt,
    finishedAt: finishedAt.toISOString(),
    ...(run.scheduled ? { scheduled: true as const } : {}),
    status: failed.length === 0 ? 'SUCCEEDED' : 'FAILED',
    notify: failed.length > 0 && (!isLaterTick(run) || failed.some((result) => !result.repeatedFailure)),
    objects,
    failedObjects,
    summary,
    ...(failed.length > 0 ? { rerunInput: { objects: failedObjects } } : {}),
    ...(overdue.length > 0 ? { overdueObjects: overdue } : {}),
  };
}

/** An object's history figures as `+added -closed`; blank for an object that keeps no history. */
function historyCell(result: ObjectResult): string {
  if (result.historyVersionsAdded === undefined) return '';
  return `+${result.historyVersionsAdded} -${result.historyVersionsClosed ?? 0}`;
}

/**
 * The report's table, one line per object. A `history` column (versions added and closed in the
 * history table, issue 22) appears only when some object keeps history.
 */
export function renderRunReport(objects: ObjectResult[]): string {
  const history = objects.some((result) => result.historyVersionsAdded !== undefined);
  const columns = history
    ? [...REPORT_COLUMNS.slice(0, -2), 'history', ...REPORT_COLUMNS.slice(-2)]
    : REPORT_COLUMNS;
  return renderTable(
    columns,
    objects.map((result) => [
      result.objectName,
      result.status,
      result.syncReason === FULL_SYNC_ONLY_REASON ? 'full (only)' : (result.syncMode ?? ''),
      result.recordsExtracted,
      result.duplicatesRemoved,
      result.rowsInserted,
      result.rowsUpdated ?? 0,
      result.rowsUnchanged ?? 0,
      result.rowsDeleted,
      result.valuesTruncated ?? 0,
      ...(history ? [historyCell(result)] : []),
      result.durationSeconds,
      result.error ? result.error.slice(0, 120) : '',
    ]),
  );
}

/** The execution's output for a report whose full text is at `location`. */
export function summarizeRunReport(
  report: RunReport,
  location: { bucket: string; key: string },
): RunReportSummary {
  const { objects, failedObjects, rerunInput, overdueObjects, ...rest } = report;
  const objectCounts: RunReportSummary['objectCounts'] = {
    total: objects.length,
    SUCCEEDED: 0,
    FAILED: 0,
    SKIPPED: 0,
    SKIPPED_QUOTA: 0,
  };
  for (const result of objects) objectCounts[result.status] = (objectCounts[result.status] ?? 0) + 1;
  return {
    ...rest,
    objectCounts,
    failedObjects: failedObjects.slice(0, MAX_NAMES_IN_OUTPUT),
    failedObjectCount: failedObjects.length,
    ...(rerunInput && failedObjects.length <= MAX_NAMES_IN_OUTPUT ? { rerunInput } : {}),
    ...(overdueObjects
      ? { overdueObjects: overdueObjects.slice(0, MAX_NAMES_IN_OUTPUT).map((entry) => entry.objectName) }
      : {}),
    report: location,
  };
}
