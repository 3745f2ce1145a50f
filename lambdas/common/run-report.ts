import type { ObjectResult } from './object-state';
import type { RunContext } from './run-plan';
import { renderTable } from './text-table';

export interface RunReport {
  runId: string;
  runDate: string;
  startedAt: string;
  finishedAt: string;
  status: 'SUCCEEDED' | 'FAILED';
  objects: ObjectResult[];
  failedObjects: string[];
  /** One line for the console's failure cause and the alarm e-mail's subject. */
  summary: string;
  /** The execution input that reruns just the failed objects. */
  rerunInput?: { objects: string[] };
}

const REPORT_COLUMNS = [
  'object',
  'status',
  'mode',
  'extracted',
  'dupes',
  'inserted',
  'deleted',
  'secs',
  'error',
];

export function buildRunReport(run: RunContext, results: ObjectResult[], finishedAt: Date): RunReport {
  const objects = [...results].sort((a, b) => a.objectName.localeCompare(b.objectName));
  // Not loaded is not fine: a skipped object's data is a day older than its owners think.
  const failed = objects.filter((result) => result.status === 'FAILED' || result.status === 'SKIPPED_QUOTA');
  const failedObjects = failed.map((result) => result.objectName);
  const succeeded = objects.filter((result) => result.status === 'SUCCEEDED').length;
  const summary =
    failed.length === 0
      ? `Run ${run.runId}: ${succeeded} of ${objects.length} objects loaded`
      : `Run ${run.runId}: ${failed.length} of ${objects.length} objects not loaded: ${failed
          .map((result) => `${result.objectName} (${result.error ?? 'no error text'})`)
          .join('; ')
          .slice(0, 3000)}. Rerun them with input ${JSON.stringify({ objects: failedObjects })}`;
  return {
    runId: run.runId,
    runDate: run.runDate,
    startedAt: run.startedAt,
    finishedAt: finishedAt.toISOString(),
    status: failed.length === 0 ? 'SUCCEEDED' : 'FAILED',
    objects,
    failedObjects,
    summary,
    ...(failed.length > 0 ? { rerunInput: { objects: failedObjects } } : {}),
  };
}

export function renderRunReport(objects: ObjectResult[]): string {
  return renderTable(
    REPORT_COLUMNS,
    objects.map((result) => [
      result.objectName,
      result.status,
      result.syncMode ?? '',
      result.recordsExtracted,
      result.duplicatesRemoved,
      result.rowsInserted,
      result.rowsDeleted,
      result.durationSeconds,
      result.error ? result.error.slice(0, 120) : '',
    ]),
  );
}
