import type { DayReport, ObjectDayReport } from './day-report';

/** A figure the report does not carry (an older report, a step that never ran) prints as '-'. */
export const ABSENT = '-';

type Cell = string | number;

const figure = (value: number | undefined): Cell => (value === undefined ? ABSENT : value);

/**
 * What the consolidation did to one object, split as a reader of the demo wants it:
 * - inserted: keys new to the final table. The report's `rowsInserted` counts replaced
 *   versions too (contract 6), so `rowsUpdated` comes off it when the report has it;
 * - updated: keys whose final row was replaced by a newer version;
 * - unchanged: keys re-extracted by the lookback overlap whose newest version was already current;
 * - deleted, and dupes removed (older versions of a key in the same staging load).
 */
export function consolidationFigures(object: ObjectDayReport): {
  inserted: number;
  updated: number | undefined;
  unchanged: number | undefined;
  deleted: number;
  dupesRemoved: number;
} {
  return {
    inserted:
      object.rowsUpdated === undefined ? object.rowsInserted : object.rowsInserted - object.rowsUpdated,
    updated: object.rowsUpdated,
    unchanged: object.rowsUnchanged,
    deleted: object.rowsDeleted,
    dupesRemoved: object.duplicatesRemoved,
  };
}

export const DAY_TABLE_HEADERS = [
  'object',
  'status',
  'mode',
  'extracted',
  'inserted',
  'updated',
  'unchanged',
  'deleted',
  'dupes removed',
  'note',
];

/** Issue 21: what a column refresh did, and the fields whose type changed. */
function refreshNote(object: ObjectDayReport): string {
  const notes: string[] = [];
  const changed = object.typeChanges ?? [];
  if (changed.length > 0) notes.push(`type changed: ${changed.map((change) => change.field).join(', ')}`);
  const columns = object.columnsRefreshed ?? [];
  if (columns.length > 0) {
    const named = columns.length <= 3 ? columns.join(', ') : `${columns.length} columns`;
    notes.push(`refreshed ${named} (${object.rowsRefreshed ?? 0} rows rewritten)`);
  }
  return notes.join('; ');
}

/** One line per object of a day: the `npm run local` table printed after each execution. */
export function dayTableRows(day: DayReport): Cell[][] {
  return Object.entries(day.objects).map(([name, object]) => {
    const figures = consolidationFigures(object);
    return [
      name,
      object.status,
      object.syncMode ?? '',
      object.recordsExtracted,
      figures.inserted,
      figure(figures.updated),
      figure(figures.unchanged),
      figures.deleted,
      figures.dupesRemoved,
      object.error
        ? object.error.slice(0, 100)
        : object.status === 'NOT_DUE'
          ? `not due; complete through ${object.completeThrough ?? '(never loaded)'}`
          : [
              object.consolidationSkipped ? '(empty run: no consolidation)' : '',
              object.historyVersionsAdded !== undefined
                ? `history: ${object.historyVersionsAdded} versions added, ${object.historyVersionsClosed ?? 0} closed`
                : '',
              refreshNote(object),
            ]
              .filter(Boolean)
              .join('; '),
    ];
  });
}

export const SUMMARY_TABLE_HEADERS = [
  'day',
  'date',
  'execution',
  'succeeded',
  'failed',
  'extracted',
  'inserted',
  'updated',
  'unchanged',
  'deleted',
  'dupes removed',
  'flows left',
];

/** Sum over the objects that have the figure; '-' when objects ran and none of them has it. */
function total(values: (number | undefined)[]): Cell {
  const known = values.filter((value): value is number => value !== undefined);
  if (values.length > 0 && known.length === 0) return ABSENT;
  return known.reduce((sum, value) => sum + value, 0);
}

/** One line per day: the closing summary of `npm run local`. */
export function summaryTableRows(days: readonly DayReport[]): Cell[][] {
  return days.map((day, index) => {
    const objects = Object.values(day.objects);
    const figures = objects.map(consolidationFigures);
    return [
      index + 1,
      day.date,
      day.executionStatus,
      objects.filter((object) => object.status === 'SUCCEEDED').length,
      objects.filter((object) => object.status === 'FAILED').length,
      total(objects.map((object) => object.recordsExtracted)),
      total(figures.map((f) => f.inserted)),
      total(figures.map((f) => f.updated)),
      total(figures.map((f) => f.unchanged)),
      total(figures.map((f) => f.deleted)),
      total(figures.map((f) => f.dupesRemoved)),
      day.flowsRemaining,
    ];
  });
}
