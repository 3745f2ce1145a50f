import type { ObjectConfig } from '../../lambdas/common/control-row';
import { historySchemaOf } from '../../lambdas/common/sources';
import { renderTable } from '../../lambdas/common/text-table';
import { query, quoteIdent, type Row } from '../../lambdas/common/warehouse';
import { OperationError, UsageError } from './errors';
import { selectObjects, type WarehouseReadTarget } from './verify';

/** A record's versions come back in seconds; a minute covers a busy cluster. */
const WAREHOUSE_BUDGET_MS = 60_000;
/** Longer values are cut in the table (the warehouse holds them whole). */
const CELL_WIDTH = 40;
/** The history table's own columns (DESIGN.md), before the final table's. */
const VALIDITY_COLUMNS = ['_valid_from', '_valid_to', '_is_active'];
/** `_valid_to` of a current version. */
const OPEN_END = '9999-12-31 00:00:00';
/** A record key as the source gives it: Salesforce ids, a custom connector's keys. Sent as a Data API parameter. */
const MAX_KEY_LENGTH = 1024;

export interface HistoryRequest {
  objectName: string;
  /** The record's primary-key value, e.g. a Salesforce Id. */
  recordId: string;
  /** Columns to show (lower-case names); absent: the columns that change between versions. */
  columns?: string[];
  /** Every column of the final table. */
  allColumns?: boolean;
}

/** Where the command reads: the control table for the object's table and key, the warehouse through the Data API. */
export type HistoryTarget = WarehouseReadTarget;

export interface RecordHistory {
  objectName: string;
  recordId: string;
  /** `schema.table` of the history table. */
  table: string;
  keyColumn: string;
  cursorColumn: string;
  /** Whether the control row asks for history now (a table kept after switching it off is still read). */
  historyOn: boolean;
  /** The final table's columns, in order (the history table's after its three own). */
  columns: string[];
  /** The record's versions, oldest first; values as the Data API returns them. */
  versions: Row[];
}

/** `--columns a,b`: lower-case column names, checked before any AWS call. */
export function parseHistoryColumns(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const columns = value
    .split(',')
    .map((column) => column.trim().toLowerCase())
    .filter((column) => column.length > 0);
  const bad = columns.find((column) => !/^[a-z_][a-z0-9_]{0,126}$/.test(column));
  if (columns.length === 0 || bad !== undefined) {
    throw new UsageError(
      `--columns ${JSON.stringify(value)}: must list column names (field API names), separated by commas`,
      'history',
    );
  }
  return columns;
}

/** `<id>`: any key the source uses, within what a key column holds; it travels as a parameter, never as SQL. */
export function checkRecordId(recordId: string): void {
  if (recordId.trim().length === 0 || recordId.length > MAX_KEY_LENGTH) {
    throw new UsageError(
      `<id> ${JSON.stringify(recordId.slice(0, 80))}: must be a record key of 1 to ${MAX_KEY_LENGTH} characters`,
      'history',
    );
  }
}

async function findObject(target: HistoryTarget, objectName: string): Promise<ObjectConfig> {
  const [row] = await selectObjects(target, objectName);
  if (!row.ok) throw new OperationError(row.error);
  return row.object;
}

/**
 * One record's versions from the object's history table (`<final schema>_history.<targetTable>`),
 * oldest first: the control row names the table, key and cursor; the warehouse answers through
 * the Data API, the record's key as a parameter.
 */
export async function readRecordHistory(
  target: HistoryTarget,
  request: HistoryRequest,
): Promise<RecordHistory> {
  const object = await findObject(target, request.objectName);
  const schema = historySchemaOf(object.finalSchema ?? target.finalSchema);
  const table = `${schema}.${object.targetTable}`;
  const catalog = await query(
    target.redshift,
    target.warehouse,
    'SELECT column_name FROM information_schema.columns WHERE table_schema = :schema AND table_name = :table_name ORDER BY ordinal_position',
    { schema, table_name: object.targetTable },
    WAREHOUSE_BUDGET_MS,
  );
  const tableColumns = catalog.map((row) => String(row.column_name));
  if (tableColumns.length === 0) {
    throw new OperationError(
      object.history
        ? `${object.objectName} keeps history, but ${table} does not exist yet: the next consolidation of the object creates it`
        : `${object.objectName} keeps no history (${table} does not exist): set history to true on its control row; the next run starts it from the final table`,
    );
  }
  const keyColumn = object.primaryKey.toLowerCase();
  const columns = tableColumns.filter((column) => !VALIDITY_COLUMNS.includes(column));
  const unknown = (request.columns ?? []).filter((column) => !columns.includes(column));
  if (unknown.length > 0) {
    throw new OperationError(`${table} has no column ${unknown.join(', ')} (columns: ${columns.join(', ')})`);
  }
  const versions = await query(
    target.redshift,
    target.warehouse,
    `SELECT * FROM ${quoteIdent(schema)}.${quoteIdent(object.targetTable)} WHERE ${quoteIdent(keyColumn)} = :record_id ORDER BY "_valid_from" NULLS FIRST`,
    { record_id: request.recordId },
    WAREHOUSE_BUDGET_MS,
  );
  return {
    objectName: object.objectName,
    recordId: request.recordId,
    table,
    keyColumn,
    cursorColumn: object.cursorField.toLowerCase(),
    historyOn: object.history === true,
    columns,
    versions,
  };
}

function cell(value: Row[string] | undefined): string {
  if (value === null || value === undefined) return 'NULL';
  const text = String(value);
  return text.length > CELL_WIDTH ? `${text.slice(0, CELL_WIDTH - 1)}…` : text;
}

/**
 * The columns shown: those asked for; else every column (`--all-columns`); else those whose
 * value differs between two consecutive versions, or all of them when none does (one version).
 * The key (the same in every version) and the cursor (it is `valid from`) are left out unless asked for.
 */
export function shownColumns(history: RecordHistory, request: HistoryRequest): string[] {
  if (request.columns) return request.columns;
  const candidates = history.columns.filter(
    (column) => column !== history.keyColumn && column !== history.cursorColumn,
  );
  if (request.allColumns) return candidates;
  const changed = candidates.filter((column) =>
    history.versions.some(
      (version, index) => index > 0 && cell(version[column]) !== cell(history.versions[index - 1][column]),
    ),
  );
  return changed.length > 0 ? changed : candidates;
}

/**
 * What an operator reads: a line naming the table and what it holds, then one line per version,
 * oldest first (valid from, valid to, active, the columns shown). A version that ended without the
 * next one starting then was closed by a delete (or a purge): its end says so.
 */
export function renderRecordHistory(history: RecordHistory, request: HistoryRequest): string {
  const { versions } = history;
  const count = versions.length;
  const lines = [
    `${history.objectName} ${history.recordId} in ${history.table}: ${count} version${count === 1 ? '' : 's'}` +
      (count === 0
        ? ''
        : `, ${versions.some((version) => version._is_active === true) ? 'live' : 'deleted'}`) +
      (history.historyOn ? '' : ' (history is off for this object: the table is kept, no longer updated)'),
  ];
  if (count === 0) {
    lines.push(
      `No version of ${history.keyColumn} = ${JSON.stringify(history.recordId)}: history holds records captured since it was switched on.`,
    );
    return lines.join('\n');
  }
  const columns = shownColumns(history, request);
  const ended = (index: number): string => {
    const to = cell(versions[index]._valid_to);
    if (to === OPEN_END) return to;
    const next = versions[index + 1];
    return next && cell(next._valid_from) === to ? to : `${to} (deleted)`;
  };
  lines.push(
    '',
    renderTable(
      ['valid from', 'valid to', 'active', ...columns],
      versions.map((version, index) => [
        cell(version._valid_from),
        ended(index),
        version._is_active === true ? 'yes' : 'no',
        ...columns.map((column) => cell(version[column])),
      ]),
    ),
  );
  if (!request.columns && !request.allColumns) {
    lines.push(
      '',
      'Columns shown: those that change between versions (--all-columns: every column; --columns a,b: those).',
    );
  }
  return lines.join('\n');
}
