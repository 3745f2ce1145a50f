import type { PGlite } from '@electric-sql/pglite';
import { toPostgres } from '../../local/warehouse/redshift-dialect';

/** The contract's default schemas, created by sql/001_schemas.sql. */
export const STAGING_SCHEMA = 'salesforce_incremental';
export const FINAL_SCHEMA = 'salesforce';
export const AUDIT_TABLE = 'public.consolidation_audit';
/** The default source's history schema, created by sql/001_schemas.sql. */
export const HISTORY_SCHEMA = 'salesforce_history';

/** A Salesforce Account as staged by AppFlow, reduced to the columns the hazards need. */
export interface AccountRow {
  id: string | null;
  name: string | null;
  systemmodstamp: string | null;
  isdeleted?: boolean | null;
}

export interface AuditRow {
  run_id: string;
  staging_schema: string;
  final_schema: string;
  table_name: string;
  sync_mode: string;
  delete_mode: string;
  rows_staged: number;
  rows_null_key: number;
  duplicates_removed: number;
  rows_inserted: number;
  rows_updated: number;
  rows_deleted: number;
  rows_purged: number;
  rows_new: number;
  rows_unchanged: number;
  history_schema: string | null;
  history_versions_added: number | null;
  history_versions_closed: number | null;
  /** ISO strings (see `auditRows`). */
  started_at: string;
  finished_at: string;
}

export interface ConsolidateOptions {
  deleteMode?: string;
  syncMode?: string;
  runId?: string;
  pkColumn?: string;
  cursorColumn?: string;
  stagingSchema?: string;
  finalSchema?: string;
  /** Days a tombstone is kept: the 9-argument form (sync mode then defaults to incremental). */
  tombstoneDays?: number;
  /** History schema: the 10-argument form (sync mode incremental, tombstones 30 days unless given). */
  historySchema?: string | null;
}

/** Staging and final tables of the same columns, as the pipeline's structure sync leaves them. */
export async function createObjectTables(
  db: PGlite,
  table: string,
  { withIsDeleted = true }: { withIsDeleted?: boolean } = {},
): Promise<void> {
  const columns = `id varchar(18), name varchar(255), systemmodstamp timestamp${
    withIsDeleted ? ', isdeleted boolean' : ''
  }`;
  // Redshift DDL, as the pipeline writes it, through the local warehouse's one translation.
  for (const schema of [STAGING_SCHEMA, FINAL_SCHEMA]) {
    await db.exec(toPostgres(`CREATE TABLE ${schema}.${table} (${columns}) DISTKEY(id) SORTKEY(id)`));
  }
}

/** Inserts rows into the staging table in the given order, as AppFlow would. */
export async function stage(db: PGlite, table: string, rows: AccountRow[]): Promise<void> {
  for (const row of rows) {
    if (row.isdeleted === undefined) {
      await db.query(
        `INSERT INTO ${STAGING_SCHEMA}.${table} (id, name, systemmodstamp) VALUES ($1, $2, $3)`,
        [row.id, row.name, row.systemmodstamp],
      );
    } else {
      await db.query(
        `INSERT INTO ${STAGING_SCHEMA}.${table} (id, name, systemmodstamp, isdeleted) VALUES ($1, $2, $3, $4)`,
        [row.id, row.name, row.systemmodstamp, row.isdeleted],
      );
    }
  }
}

/**
 * CALL consolidate_object with bound arguments: 10 when a history schema is given (null: SQL
 * NULL), 9 when tombstone days are given, 8 when a sync mode is given, else the contract's 7.
 */
export async function consolidate(
  db: PGlite,
  table: string,
  options: ConsolidateOptions = {},
): Promise<void> {
  const args = [
    options.stagingSchema ?? STAGING_SCHEMA,
    options.finalSchema ?? FINAL_SCHEMA,
    table,
    options.pkColumn ?? 'id',
    options.cursorColumn ?? 'systemmodstamp',
    options.deleteMode ?? 'hard',
    options.runId ?? 'run-test',
  ];
  const withHistory = options.historySchema !== undefined;
  if (options.syncMode !== undefined || options.tombstoneDays !== undefined || withHistory) {
    args.push(options.syncMode ?? 'incremental');
  }
  const placeholders = args.map((_, index) => `CAST($${index + 1} AS varchar)`);
  const values: (string | null)[] = [...args];
  if (options.tombstoneDays !== undefined || withHistory) {
    placeholders.push(`CAST($${values.length + 1} AS integer)`);
    values.push(String(options.tombstoneDays ?? 30));
  }
  if (withHistory) {
    placeholders.push(`CAST($${values.length + 1} AS varchar)`);
    values.push(options.historySchema ?? null);
  }
  await db.query(`CALL consolidate_object(${placeholders.join(', ')})`, values);
}

/** PGlite returns timestamps as Dates (read as UTC); the tests compare ISO strings. */
export function toIso(value: unknown): string | null {
  if (value === null) return null;
  return value instanceof Date ? value.toISOString() : String(value);
}

async function rowsOf(db: PGlite, qualifiedTable: string): Promise<AccountRow[]> {
  const result = await db.query<Record<string, unknown>>(
    `SELECT * FROM ${qualifiedTable} ORDER BY id, systemmodstamp, name`,
  );
  return result.rows.map((row) => ({
    ...(row as unknown as AccountRow),
    systemmodstamp: toIso(row.systemmodstamp),
  }));
}

/** The final table, ordered by key, timestamps as ISO strings. */
export function finalRows(db: PGlite, table: string): Promise<AccountRow[]> {
  return rowsOf(db, `${FINAL_SCHEMA}.${table}`);
}

export function stagedRows(db: PGlite, table: string): Promise<AccountRow[]> {
  return rowsOf(db, `${STAGING_SCHEMA}.${table}`);
}

/** Order-independent fingerprint of a final table's contents (test-side SQL, Postgres only). */
export async function finalChecksum(db: PGlite, table: string): Promise<string> {
  const result = await db.query<{ checksum: string | null }>(
    `SELECT md5(string_agg(md5(CAST(t.* AS text)), ',' ORDER BY md5(CAST(t.* AS text)))) AS checksum
     FROM ${FINAL_SCHEMA}.${table} t`,
  );
  return result.rows[0]?.checksum ?? 'empty';
}

/** A history row of the Account shape: the version's columns and its interval (ISO strings). */
export interface HistoryRow extends AccountRow {
  _valid_from: string | null;
  _valid_to: string | null;
  _is_active: boolean;
}

/** The history table, ordered by key and _valid_from, timestamps as ISO strings. */
export async function historyRows(db: PGlite, table: string, schema = HISTORY_SCHEMA): Promise<HistoryRow[]> {
  const result = await db.query<Record<string, unknown>>(
    `SELECT * FROM ${schema}.${table} ORDER BY id, _valid_from NULLS FIRST`,
  );
  return result.rows.map((row) => ({
    ...(row as unknown as HistoryRow),
    systemmodstamp: toIso(row.systemmodstamp),
    _valid_from: toIso(row._valid_from),
    _valid_to: toIso(row._valid_to),
  }));
}

/** `_valid_to` of a current version. */
export const OPEN_END = '9999-12-31T00:00:00.000Z';

/**
 * A version as the history table holds it: the row staged at `from` (an `account` day, or a
 * full ISO time), current when `to` is omitted.
 */
export function version(row: AccountRow, to?: string): HistoryRow {
  return {
    ...row,
    _valid_from: row.systemmodstamp,
    _valid_to: to === undefined ? OPEN_END : to.length === 10 ? `${to}T00:00:00.000Z` : to,
    _is_active: to === undefined,
  };
}

/**
 * What must hold of any history table, whatever happened: per key, versions ordered by
 * _valid_from never overlap (each ends at or before the next one starts), _valid_to is never
 * before _valid_from, _is_active is true exactly for the version open until 9999-12-31 and at
 * most one per key. Returns the broken rules, so a test can expect [].
 */
export function historyViolations(rows: HistoryRow[]): string[] {
  const problems: string[] = [];
  const byKey = new Map<string, HistoryRow[]>();
  for (const row of rows) byKey.set(row.id ?? '', [...(byKey.get(row.id ?? '') ?? []), row]);
  for (const [key, versions] of byKey) {
    versions.forEach((row, index) => {
      const from = row._valid_from ?? '';
      const to = row._valid_to ?? '';
      if (to < from) problems.push(`${key}: ${from} ends before it starts (${to})`);
      if (row._is_active !== (to === OPEN_END))
        problems.push(`${key}: ${from} is_active ${row._is_active}, to ${to}`);
      const next = versions[index + 1];
      if (next && (next._valid_from ?? '') < to)
        problems.push(`${key}: ${from} overlaps ${next._valid_from}`);
    });
    if (versions.filter((row) => row._is_active).length > 1)
      problems.push(`${key}: several current versions`);
  }
  return problems;
}

export async function auditRows(db: PGlite, table: string): Promise<AuditRow[]> {
  const result = await db.query<Record<string, unknown>>(
    `SELECT * FROM ${AUDIT_TABLE} WHERE table_name = $1 ORDER BY started_at, finished_at`,
    [table],
  );
  return result.rows.map((row) => ({
    ...(row as unknown as AuditRow),
    started_at: toIso(row.started_at) as string,
    finished_at: toIso(row.finished_at) as string,
  }));
}

export async function lastAudit(db: PGlite, table: string): Promise<AuditRow> {
  const rows = await auditRows(db, table);
  const last = rows.at(-1);
  if (!last) throw new Error(`no audit row for ${table}`);
  return last;
}

/** The history figures of the table's last audit row, as numbers. */
export async function historyFigures(db: PGlite, table: string): Promise<{ added: number; closed: number }> {
  const audit = await lastAudit(db, table);
  return { added: Number(audit.history_versions_added), closed: Number(audit.history_versions_closed) };
}

/** A table's column names in column order. */
export async function columnsOf(db: PGlite, schema: string, table: string): Promise<string[]> {
  const result = await db.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2
     ORDER BY ordinal_position`,
    [schema, table],
  );
  return result.rows.map((row) => row.column_name);
}

/** The figures of an audit row, without the identifying columns and timestamps. */
export function countsOf(
  audit: AuditRow,
): Pick<
  AuditRow,
  | 'rows_staged'
  | 'rows_null_key'
  | 'duplicates_removed'
  | 'rows_inserted'
  | 'rows_updated'
  | 'rows_deleted'
  | 'rows_purged'
  | 'rows_new'
  | 'rows_unchanged'
> {
  return {
    rows_staged: Number(audit.rows_staged),
    rows_null_key: Number(audit.rows_null_key),
    duplicates_removed: Number(audit.duplicates_removed),
    rows_inserted: Number(audit.rows_inserted),
    rows_updated: Number(audit.rows_updated),
    rows_deleted: Number(audit.rows_deleted),
    rows_purged: Number(audit.rows_purged),
    rows_new: Number(audit.rows_new),
    rows_unchanged: Number(audit.rows_unchanged),
  };
}

/** An Account row with a live (not deleted) version; the shorthand the hazard tests use. */
export function account(id: string, name: string | null, systemmodstamp: string | null): AccountRow {
  return {
    id,
    name,
    systemmodstamp: systemmodstamp === null ? null : `${systemmodstamp}T00:00:00.000Z`,
    isdeleted: false,
  };
}

export function deletedAccount(id: string, name: string | null, systemmodstamp: string): AccountRow {
  return { ...account(id, name, systemmodstamp), isdeleted: true };
}
