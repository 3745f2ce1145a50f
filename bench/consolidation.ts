import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Extension, PGlite } from '@electric-sql/pglite';
import { renderTable } from '../lambdas/common/text-table';
import { applySqlDir } from '../local/warehouse/apply-sql';
import { sortKeyIndexName, toPostgresStatements } from '../local/warehouse/redshift-dialect';
import { indent, n0, n2, secs, verdict } from './format';
import { median, type Progress, seconds, silentProgress, timed } from './progress';
import type { TargetLine } from './target-line';

/**
 * Consolidation on the embedded warehouse (PGlite, the local run's Postgres): N staged rows
 * into a final table of M rows, timing
 *   (a) our `consolidate_object` (the real procedure from sql/),
 *   (b) the floor: a plain INSERT … SELECT of the same N rows into an empty table,
 *   (c) the naive approach: append everything, then de-duplicate the whole final table with
 *       ROW_NUMBER (CTAS + swap, the cheapest form of it),
 *   (d) (a) again with a final table of M × largeFactor rows (the same staged rows).
 * Every variant runs inside BEGIN … ROLLBACK, so each repetition starts from the same
 * tables; a VACUUM (not timed) clears what the rolled-back work left behind. The rounds
 * interleave the variants, so drift on a shared machine hits them alike; an untimed run of
 * (a) and (d) first reads the tables into the cache.
 *
 * Tables are created as the pipeline creates them, `DISTKEY(id) SORTKEY(id)` through the local
 * warehouse's Redshift dialect (a sort key becomes a b-tree index); the floor's table has no
 * sort key, since a Redshift append does not sort.
 *
 * auto_explain (plans without ANALYZE timing, so next to no overhead) logs every statement
 * the procedure runs: that gives the time per step of (a) and (d), and what each step read
 * (the whole final table, or its rows of the staged keys through the sort key).
 *
 * Then, with the issue's targets too:
 *   (w) a wide object: 300 columns (most values NULL), 50k changed rows into a 250k-row final
 *       table, against its own floor;
 *   (f) a full sync of the M-row table in which 1% changed, against an incremental run that
 *       stages only those changes (and, for the record, an incremental run of the same M rows).
 */

export interface ConsolidationOptions {
  /** Staged rows N. @default 200_000 */
  staged?: number;
  /** Final-table rows M. @default 1_000_000 */
  final?: number;
  /** (d) uses a final table of `final × largeFactor` rows. @default 10 */
  largeFactor?: number;
  /** Share of staged rows that are older versions of a key staged again. @default 0.3 */
  duplicateShare?: number;
  /** Share of staged rows that are deletes of live records. @default 0.05 */
  deleteShare?: number;
  /** Repetitions of (a) and (b) (median reported). @default 5 */
  repetitions?: number;
  /** Repetitions of (d), the expensive one. @default 2 */
  largeRepetitions?: number;
  /** Also time the naive approach with the large final table, once. @default true */
  naiveLarge?: boolean;
  /** Run the wide-object and full-sync measurements (w) and (f). @default true */
  whatIf?: boolean;
  /** Final-table rows of the wide object (w). @default 250_000 */
  wideFinal?: number;
  /** Changed rows staged for the wide object (w). @default 50_000 */
  wideStaged?: number;
  /**
   * Keep the database in memory (as the local run does) instead of a temporary data directory
   * on disk. In memory, 10M rows take about 3.5 GB of RAM and twice as long to generate.
   * @default false
   */
  inMemory?: boolean;
  progress?: Progress;
}

export interface StepFigures {
  step: string;
  /** Median seconds over the runs of (a) and of (d). */
  aSeconds: number;
  dSeconds: number;
  /** Which input the step's hash join hashed (the planner's choice), if it had one. */
  hashed: string;
  /** What the step read of staging and final: `final: whole table`, `final: by key (index)`, … */
  reads: string;
}

/** (w): the wide object. */
export interface WideFigures {
  columns: number;
  final: number;
  staged: number;
  timingsMs: { a: number[]; b: number[] };
  mediansMs: { a: number; b: number };
  aOverB: number;
  audit: Record<string, number>;
  /** Median seconds per step of the procedure and what each step read. */
  steps: { step: string; seconds: number; reads: string }[];
}

/** (f): full sync of the M-row table with 1% changed, against incremental runs. */
export interface FullSyncFigures {
  final: number;
  changed: number;
  timingsMs: { full: number[]; incrementalChanges: number[]; incrementalSameRows: number[] };
  mediansMs: { full: number; incrementalChanges: number; incrementalSameRows: number };
  /** full / incremental of the changed rows only (the target). */
  fullOverIncremental: number;
  auditFull: Record<string, number>;
  /** Median seconds per step of the full sync and what each step read. */
  steps: { step: string; seconds: number; reads: string }[];
}

export interface ConsolidationFigures {
  staged: number;
  final: number;
  finalLarge: number;
  duplicateShare: number;
  deleteShare: number;
  repetitions: { a: number; b: number; c: number; d: number };
  /** What the staged data holds, and what the procedure's audit row reported for (a). */
  expected: DataShape;
  audit: Record<string, number>;
  /** Final-table rows after (a) and after (c): the two approaches must agree. */
  finalRowsAfter: { consolidate: number; naive: number };
  warehouse: { engine: string; storage: string; workMem: string; sharedBuffers: string };
  timingsMs: { a: number[]; b: number[]; c: number[]; d: number[] };
  mediansMs: { a: number; b: number; c: number; d: number };
  /** The naive approach with the large final table (single run), and how it compares with (d). */
  naiveLarge: { ms: number; overD: number } | null;
  ratios: { aOverB: number; cOverA: number; dOverA: number };
  targets: typeof CONSOLIDATION_TARGETS;
  met: {
    aOverB: boolean;
    dOverA: boolean;
    naiveLargeOverD: boolean | null;
    wideAOverB: boolean | null;
    fullOverIncremental: boolean | null;
  };
  steps: StepFigures[];
  wide: WideFigures | null;
  fullSync: FullSyncFigures | null;
  generationMs: number;
}

export interface DataShape {
  distinctKeys: number;
  duplicates: number;
  deletes: number;
  updates: number;
  newKeys: number;
}

/** The issue's targets (issue 12). c/a at M has none: the naive approach is compared at M × 10. */
const CONSOLIDATION_TARGETS = {
  aOverB: 6,
  dOverA: 1.5,
  naiveLargeOverD: 3,
  wideAOverB: 8,
  fullOverIncremental: 3,
} as const;

const STAGING_SCHEMA = 'salesforce_incremental';
const FINAL_SCHEMA = 'salesforce';
const LARGE_SCHEMA = 'bench_large';
const FLOOR_SCHEMA = 'bench_floor';
const WIDE_STAGING_SCHEMA = 'bench_wide_incremental';
const WIDE_SCHEMA = 'bench_wide';
const WIDE_FLOOR_SCHEMA = 'bench_wide_floor';
const FULL_STAGING_SCHEMA = 'bench_full_incremental';
const CHANGES_STAGING_SCHEMA = 'bench_changes_incremental';
const TABLE = 'account';
/** New keys start above any final-table key, so they never collide with the large table either. */
const NEW_KEY_BASE = 100_000_000_000;
/**
 * PGlite's auto_explain extension. The project's tsconfig resolves modules the Node 10 way,
 * which does not see package subpath exports, so it is loaded by a specifier TypeScript
 * does not resolve (tsx, like Node, does).
 */
async function loadAutoExplain(): Promise<Extension> {
  const specifier: string = '@electric-sql/pglite/contrib/auto_explain';
  const module = (await import(specifier)) as { auto_explain: Extension };
  return module.auto_explain;
}

/** Rows per INSERT when filling big tables, so progress shows between statements. */
const CHUNK = 1_000_000;

/** A Salesforce Account as AppFlow lands it: 11 columns, key, cursor and IsDeleted included. */
const COLUMNS = `id varchar(18), name varchar(255), type varchar(40), industry varchar(40),
  billingstate varchar(80), annualrevenue double precision, numberofemployees integer,
  ownerid varchar(18), createddate timestamp, systemmodstamp timestamp, isdeleted boolean`;

/** One row from a key number `i` (bigint), a cursor expression, a version tag and a delete flag. */
function rowSelect(i: string, cursor: string, version: string, deleted: string): string {
  return `'001' || lpad(${i}::text, 15, '0'), 'Account ' || ${i} || ${version},
    (ARRAY['Customer','Partner','Prospect'])[1 + ${i} % 3], (ARRAY['Banking','Retail','Energy','Media'])[1 + ${i} % 4],
    (ARRAY['CA','NY','TX','WA','IL'])[1 + ${i} % 5], (${i} % 1000) * 1000.5, (${i} % 5000)::integer,
    '005' || lpad((${i} % 100)::text, 15, '0'), timestamp '2024-01-01' + (${i} % 10000000) * interval '1 second',
    ${cursor}, ${deleted}`;
}

function dataShape(staged: number, final: number, duplicateShare: number, deleteShare: number): DataShape {
  const duplicates = Math.round(staged * duplicateShare);
  const distinctKeys = staged - duplicates;
  const existing = Math.min(final, Math.floor(distinctKeys / 2));
  const deletes = Math.min(existing, Math.round(staged * deleteShare));
  if (duplicates > distinctKeys) throw new Error('duplicate share must be at most 50%');
  return {
    distinctKeys,
    duplicates,
    deletes,
    updates: existing - deletes,
    newKeys: distinctKeys - existing,
  };
}

/**
 * CREATE TABLE as the pipeline writes it for Redshift (`DISTKEY(id) SORTKEY(id)`), through the
 * local warehouse's dialect: runs the CREATE TABLE and returns the sort key's index statements,
 * to run after the table is filled (building an index once is cheaper than maintaining it).
 */
export async function createKeyedTable(
  db: PGlite,
  qualifiedTable: string,
  columns: string,
): Promise<string[]> {
  const [create, ...indexes] = toPostgresStatements(
    `CREATE TABLE ${qualifiedTable} (${columns}) DISTKEY(id) SORTKEY(id)`,
  );
  await db.exec(create);
  return indexes;
}

async function fillFinal(
  db: PGlite,
  schema: string,
  rows: number,
  progress: Progress,
  label: string,
): Promise<void> {
  const indexes = await createKeyedTable(db, `${schema}.${TABLE}`, COLUMNS);
  for (let from = 1; from <= rows; from += CHUNK) {
    await yieldToEventLoop();
    const to = Math.min(rows, from + CHUNK - 1);
    await db.exec(
      `INSERT INTO ${schema}.${TABLE} SELECT ${rowSelect(
        'i',
        `timestamp '2025-01-01' + (i % 10000000) * interval '1 second'`,
        `''`,
        'false',
      )} FROM generate_series(${from}::bigint, ${to}::bigint) i`,
    );
    if (rows > CHUNK) {
      progress.note(`${label}: ${to.toLocaleString('en-US')} / ${rows.toLocaleString('en-US')} rows`);
    }
  }
  for (const index of indexes) await db.exec(index);
}

/**
 * Staged rows: `distinctKeys` newest versions (keys 1..existing spread over the final table,
 * the rest new), the first `deletes` of the existing ones deletes, plus `duplicates` older
 * versions of keys spread over all staged keys.
 */
async function fillStaging(db: PGlite, shape: DataShape, final: number): Promise<void> {
  const existing = shape.updates + shape.deletes;
  const keys = shape.distinctKeys;
  const keyOf = (k: string) =>
    `CASE WHEN ${k} <= ${existing} THEN 1 + ((${k} - 1) * ${final}) / ${Math.max(existing, 1)} ELSE ${NEW_KEY_BASE} + ${k} END`;
  const indexes = await createKeyedTable(db, `${STAGING_SCHEMA}.${TABLE}`, COLUMNS);
  await db.exec(
    `INSERT INTO ${STAGING_SCHEMA}.${TABLE} SELECT ${rowSelect(
      'i',
      `timestamp '2026-01-02' + k * interval '1 millisecond'`,
      `' v2'`,
      `k <= ${shape.deletes}`,
    )} FROM (SELECT k, ${keyOf('k')} AS i FROM generate_series(1::bigint, ${keys}::bigint) k) s`,
  );
  if (shape.duplicates > 0) {
    await db.exec(
      `INSERT INTO ${STAGING_SCHEMA}.${TABLE} SELECT ${rowSelect(
        'i',
        `timestamp '2026-01-01' + k * interval '1 millisecond'`,
        `' v1'`,
        'false',
      )} FROM (SELECT k, ${keyOf('k')} AS i FROM (SELECT 1 + ((d - 1) * ${keys}) / ${shape.duplicates} AS k
        FROM generate_series(1::bigint, ${shape.duplicates}::bigint) d) dd) s`,
    );
  }
  for (const index of indexes) await db.exec(index);
}

/** (f): staging of a full sync (all `final` rows, every 100th changed) or of the changes only. */
async function fillFullSyncStaging(
  db: PGlite,
  schema: string,
  final: number,
  changesOnly: boolean,
): Promise<void> {
  const indexes = await createKeyedTable(db, `${schema}.${TABLE}`, COLUMNS);
  const changed = 'i % 100 = 0';
  await db.exec(
    `INSERT INTO ${schema}.${TABLE} SELECT ${rowSelect(
      'i',
      `CASE WHEN ${changed} THEN timestamp '2026-01-02' ELSE timestamp '2025-01-01' + (i % 10000000) * interval '1 second' END`,
      `CASE WHEN ${changed} THEN ' v2' ELSE '' END`,
      'false',
    )} FROM generate_series(1::bigint, ${final}::bigint) i${changesOnly ? ` WHERE ${changed}` : ''}`,
  );
  for (const index of indexes) await db.exec(index);
}

/** (w): 300 columns as a wide Salesforce object has them: key, cursor, IsDeleted and 297 fields, most NULL. */
const WIDE_FIELD_TYPES = ['varchar(80)', 'numeric(18,2)', 'boolean', 'date', 'bigint', 'timestamp'];
const WIDE_FIELDS = Array.from({ length: 296 }, (_, index) => ({
  name: `custom_field_${String(index).padStart(3, '0')}_abcdefghijkl`.slice(0, 30),
  type: WIDE_FIELD_TYPES[index % WIDE_FIELD_TYPES.length],
}));
const WIDE_COLUMNS = `id varchar(18), name varchar(255), systemmodstamp timestamp, isdeleted boolean, ${WIDE_FIELDS.map(
  (field) => `${field.name} ${field.type}`,
).join(', ')}`;

/** One wide row from key number `i`: every 8th field has a value, the rest are NULL. */
function wideRowSelect(i: string, cursor: string, version: string): string {
  const values = WIDE_FIELDS.map((field, index) => {
    if (index % 8 !== 0) return 'NULL';
    switch (field.type) {
      case 'varchar(80)':
        return `'value ' || ${i} || ${version}`;
      case 'numeric(18,2)':
        return `CAST((${i} % 100000) * 1.25 AS numeric(18,2))`;
      case 'boolean':
        return `${i} % 2 = 0`;
      case 'date':
        return `date '2024-01-01' + CAST(${i} % 1000 AS integer)`;
      case 'bigint':
        return `${i} * 7`;
      default:
        return `timestamp '2024-01-01' + (${i} % 100000) * interval '1 second'`;
    }
  });
  return `'001' || lpad(${i}::text, 15, '0'), 'Wide ' || ${i} || ${version}, ${cursor}, false, ${values.join(', ')}`;
}

/** (w) tables: final of `final` rows; staging of `staged` rows, half updates of existing keys, half new keys. */
async function fillWide(db: PGlite, final: number, staged: number): Promise<void> {
  await db.exec(`CREATE SCHEMA IF NOT EXISTS ${WIDE_STAGING_SCHEMA}; CREATE SCHEMA IF NOT EXISTS ${WIDE_SCHEMA};
    CREATE SCHEMA IF NOT EXISTS ${WIDE_FLOOR_SCHEMA}; CREATE TABLE ${WIDE_FLOOR_SCHEMA}.${TABLE} (${WIDE_COLUMNS})`);
  const finalIndexes = await createKeyedTable(db, `${WIDE_SCHEMA}.${TABLE}`, WIDE_COLUMNS);
  await db.exec(
    `INSERT INTO ${WIDE_SCHEMA}.${TABLE} SELECT ${wideRowSelect('i', `timestamp '2025-01-01' + i * interval '1 second'`, `''`)}
     FROM generate_series(1::bigint, ${final}::bigint) i`,
  );
  for (const index of finalIndexes) await db.exec(index);
  const stagingIndexes = await createKeyedTable(db, `${WIDE_STAGING_SCHEMA}.${TABLE}`, WIDE_COLUMNS);
  const updates = Math.min(final, Math.floor(staged / 2));
  await db.exec(
    `INSERT INTO ${WIDE_STAGING_SCHEMA}.${TABLE} SELECT ${wideRowSelect('i', `timestamp '2026-01-02' + k * interval '1 millisecond'`, `' v2'`)}
     FROM (SELECT k, CASE WHEN k <= ${updates} THEN 1 + ((k - 1) * ${final}) / ${Math.max(updates, 1)}
       ELSE ${NEW_KEY_BASE} + k END AS i FROM generate_series(1::bigint, ${staged}::bigint) k) s`,
  );
  for (const index of stagingIndexes) await db.exec(index);
}

/**
 * PGlite runs statements synchronously and resolves its promises without giving the event
 * loop a turn, so signals (Ctrl-C) would wait for the end of the bench: yield between steps.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

async function count(db: PGlite, table: string): Promise<number> {
  const result = await db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${table}`);
  return Number(result.rows[0].n);
}

function callSql(
  finalSchema: string,
  runId: string,
  stagingSchema = STAGING_SCHEMA,
  syncMode: 'incremental' | 'full' = 'incremental',
  historySchema?: string,
): string {
  const history = historySchema === undefined ? '' : `, 30, '${historySchema}'`;
  return `CALL consolidate_object('${stagingSchema}', '${finalSchema}', '${TABLE}', 'id', 'systemmodstamp', 'hard', '${runId}', '${syncMode}'${history})`;
}

/** The approach of the usual write-ups: append, then keep ROW_NUMBER() = 1 of the whole table. */
function naiveSql(schema: string): string[] {
  const final = `${schema}.${TABLE}`;
  const columns = COLUMNS.split(',').map((definition) => definition.trim().split(/\s+/)[0]);
  return [
    `INSERT INTO ${final} SELECT * FROM ${STAGING_SCHEMA}.${TABLE}`,
    `CREATE TABLE ${schema}.${TABLE}__dedup AS SELECT ${columns.join(', ')} FROM (
       SELECT *, ROW_NUMBER() OVER (PARTITION BY id ORDER BY systemmodstamp DESC NULLS LAST) AS rn FROM ${final}
     ) ranked WHERE rn = 1 AND NOT COALESCE(isdeleted, false)`,
    `DROP TABLE ${final}`,
    `ALTER TABLE ${schema}.${TABLE}__dedup RENAME TO ${TABLE}`,
    `DELETE FROM ${STAGING_SCHEMA}.${TABLE}`,
  ];
}

/** A statement the procedure ran, as auto_explain logged it. */
interface LoggedStatement {
  step: string;
  ms: number;
  hashed: string;
  /** What the plan read: `final: whole table`, `final: by key (index)`, `staging: whole table`. */
  reads: string[];
}

const STEP_PATTERNS: [RegExp, string][] = [
  [/tmp_consolidate_history_sync/i, 'H0. history: catch up with final'],
  [/^CREATE TABLE history\./i, 'H0. history: create and seed'],
  // The seed: one current version per live final row, moved as f.* (before H6's INSERT pattern).
  [/^INSERT INTO history\.\S+ SELECT CAST\(f\./i, 'H0. history: create and seed'],
  [/^ALTER TABLE history\./i, 'H0. history: columns added'],
  [
    /^CREATE TEMP TABLE tmp_consolidate_history_staged|FROM tmp_consolidate_history_staged$/i,
    'H1. history: staged versions',
  ],
  [/^CREATE TEMP TABLE tmp_consolidate_history_known/i, 'H2. history: which new keys have history'],
  [
    /tmp_consolidate_history_old\s+(?:AS|SELECT)|FROM tmp_consolidate_history_keys k LEFT JOIN/i,
    "H3. history: read the keys' versions",
  ],
  [/^UPDATE history\./i, 'H5. history: versions closed or shortened'],
  [/^INSERT INTO history\./i, 'H6. history: new versions from staging'],
  [/tmp_consolidate_history_events/i, 'H4. history: events, intervals, figures'],
  [/information_schema|pg_catalog|attname/i, '2. catalog: columns, types, alignment'],
  [/^SELECT COUNT\(\*\) AS staged/i, '3. count staged rows'],
  [/^SELECT COUNT\(\*\) FROM public\.consolidation_tombstones/i, '3. tombstones of the table?'],
  [/^CREATE TEMP TABLE tmp_consolidate_target/i, '4. newest version per staged key, final by key'],
  [/^SELECT COUNT\(\*\) AS keys/i, '4. count actions'],
  [/tmp_consolidate_multi/i, '5. keys staged several times at their newest'],
  [/^CREATE TEMP TABLE tmp_consolidate_tie_changed/i, '6. cursor ties: whole rows compared'],
  [/^SELECT COALESCE\(SUM/i, '6. figures'],
  [/^DELETE FROM final\.\w+ USING/i, '7. delete replaced rows from final'],
  [/^INSERT INTO final\./i, '7. insert new versions from staging'],
  [/consolidation_tombstones/i, '8. tombstones'],
  [/^(DELETE FROM|UPDATE) final\.\w+ (SET|WHERE)/i, '9. full sync: purge keys not staged'],
  [/^DELETE FROM staging\./i, '10. empty staging'],
];

/** History schemas of the history section (normalized to `history.`). */
const HISTORY_SCHEMA = 'salesforce_history';
const HISTORY_LARGE_FINAL_SCHEMA = 'bench_history_large';
const HISTORY_LARGE_SCHEMA = 'bench_history_large_history';
const SEED_STAGING_SCHEMA = 'bench_seed_incremental';

function normalize(queryText: string): string {
  // The procedure quotes every identifier: "salesforce"."account" reads as salesforce.account.
  let normalized = queryText.trim().replace(/"([a-z_][a-z0-9_]*)"/g, '$1');
  for (const schema of [HISTORY_SCHEMA, HISTORY_LARGE_SCHEMA]) {
    normalized = normalized.replaceAll(`${schema}.`, 'history.');
  }
  for (const schema of [
    STAGING_SCHEMA,
    WIDE_STAGING_SCHEMA,
    FULL_STAGING_SCHEMA,
    CHANGES_STAGING_SCHEMA,
    SEED_STAGING_SCHEMA,
  ]) {
    normalized = normalized.replaceAll(`${schema}.`, 'staging.');
  }
  for (const schema of [LARGE_SCHEMA, WIDE_SCHEMA, FINAL_SCHEMA, HISTORY_LARGE_FINAL_SCHEMA]) {
    normalized = normalized.replaceAll(`${schema}.`, 'final.');
  }
  return normalized;
}

function classify(queryText: string): string {
  const normalized = normalize(queryText);
  return STEP_PATTERNS.find(([pattern]) => pattern.test(normalized))?.[1] ?? 'other statements';
}

/**
 * What a plan read of the object's tables. The procedure aliases final `f`, staging `s` and
 * history `h`; an unaliased scan of the object's table is the statement's target
 * (DELETE/UPDATE/INSERT).
 */
function readsOf(queryText: string, plan: string): string[] {
  const normalized = normalize(queryText);
  const target = /^(?:DELETE FROM|UPDATE|INSERT INTO) (final|staging|history)\./i.exec(normalized)?.[1];
  const reads = new Set<string>();
  const scan = /(Seq Scan|Index Scan|Index Only Scan|Bitmap Heap Scan)(?: using \S+)? on (\w+)(?: (\w+))?/g;
  for (const match of plan.matchAll(scan)) {
    if (match[2] !== TABLE) continue;
    const alias = match[3];
    const unaliased = target ?? (normalized.includes('final.') ? 'final' : 'staging');
    const table = alias === 'f' ? 'final' : alias === 's' ? 'staging' : alias === 'h' ? 'history' : unaliased;
    reads.add(`${table}: ${match[1] === 'Seq Scan' ? 'whole table' : 'by key (index)'}`);
  }
  return [...reads];
}

function parseAutoExplain(message: string): LoggedStatement | null {
  const match = /duration: ([\d.]+) ms\s+plan:\s*\nQuery Text: ([\s\S]*?)\n/.exec(message);
  if (!match) return null;
  const hashedInput =
    /Hash {2}\(cost[^\n]*\n\s*->\s+(?:Seq Scan|Index Scan|Index Only Scan) (?:using \S+ )?on (\w+)/.exec(
      message,
    );
  // Only the joins of the data matter here, not the catalog lookups' little hash tables.
  const relation = hashedInput?.[1] ?? '';
  const hashed = relation === TABLE ? 'final table' : relation.startsWith('tmp_consolidate') ? relation : '';
  return { step: classify(match[2]), ms: Number(match[1]), hashed, reads: readsOf(match[2], message) };
}

/** Timed CALL with auto_explain on, inside a rolled-back transaction. */
async function timedCall(
  db: PGlite,
  finalSchema: string,
  runId: string,
  inspect?: () => Promise<void>,
  stagingSchema = STAGING_SCHEMA,
  syncMode: 'incremental' | 'full' = 'incremental',
  historySchema?: string,
): Promise<{ ms: number; statements: LoggedStatement[] }> {
  const statements: LoggedStatement[] = [];
  await yieldToEventLoop();
  await db.exec('BEGIN');
  try {
    await db.exec(
      `SET LOCAL auto_explain.log_min_duration = 0; SET LOCAL auto_explain.log_nested_statements = on;
       SET LOCAL client_min_messages = log;`,
    );
    const ms = await timed(() =>
      db.query(callSql(finalSchema, runId, stagingSchema, syncMode, historySchema), [], {
        onNotice: (notice) => {
          const parsed = parseAutoExplain(notice.message ?? '');
          if (parsed) statements.push(parsed);
        },
      }),
    );
    await db.exec('SET LOCAL client_min_messages = notice; SET LOCAL auto_explain.log_min_duration = -1;');
    if (inspect) await inspect();
    return { ms, statements };
  } finally {
    await db.exec('ROLLBACK');
  }
}

/** Runs `work` in a transaction that is rolled back, and returns how long `work` took. */
export async function inRolledBackTransaction(
  db: PGlite,
  work: () => Promise<void>,
  inspect?: () => Promise<void>,
): Promise<number> {
  await yieldToEventLoop();
  await db.exec('BEGIN');
  try {
    const ms = await timed(work);
    if (inspect) await inspect();
    return ms;
  } finally {
    await db.exec('ROLLBACK');
  }
}

function stepTable(
  runsA: LoggedStatement[][],
  runsD: LoggedStatement[][],
  totalA: number[],
  totalD: number[],
) {
  const perRun = (run: LoggedStatement[], total: number) => {
    const sums = new Map<string, number>();
    for (const statement of run) sums.set(statement.step, (sums.get(statement.step) ?? 0) + statement.ms);
    const logged = run.reduce((sum, statement) => sum + statement.ms, 0);
    sums.set('outside statements (PL/pgSQL, audit row)', Math.max(0, total - logged));
    return sums;
  };
  const a = runsA.map((run, i) => perRun(run, totalA[i]));
  const d = runsD.map((run, i) => perRun(run, totalD[i]));
  const steps = [...new Set([...a, ...d].flatMap((sums) => [...sums.keys()]))].sort();
  const hashedBy = (runs: LoggedStatement[][], step: string) =>
    [
      ...new Set(
        runs
          .flat()
          .filter((s) => s.step === step && s.hashed)
          .map((s) => s.hashed),
      ),
    ].join(', ');
  const readBy = (step: string) =>
    [
      ...new Set(
        [...runsA, ...runsD]
          .flat()
          .filter((s) => s.step === step)
          .flatMap((s) => s.reads),
      ),
    ]
      .sort()
      .join('; ');
  return steps.map((step) => ({
    step,
    aSeconds: median(a.map((sums) => sums.get(step) ?? 0)) / 1000,
    dSeconds: median(d.map((sums) => sums.get(step) ?? 0)) / 1000,
    hashed: [hashedBy(runsA, step), hashedBy(runsD, step)].filter(Boolean).join(' / '),
    reads: readBy(step),
  }));
}

/** Median seconds per step of one variant's runs, and what each step read. */
function stepsOf(
  runs: LoggedStatement[][],
  totals: number[],
): { step: string; seconds: number; reads: string }[] {
  return stepTable(runs, runs, totals, totals).map(({ step, aSeconds, reads }) => ({
    step,
    seconds: aSeconds,
    reads,
  }));
}

const DATA_DIR_PREFIX = 'saas-bench-pglite-';

/**
 * A temporary data directory named after this process. Directories of bench processes that
 * no longer run (killed before they could clean up) are removed first: they hold gigabytes.
 */
function createDataDir(): string {
  for (const entry of fs.readdirSync(os.tmpdir())) {
    const pid = Number(/^saas-bench-pglite-(\d+)-/.exec(entry)?.[1]);
    if (!pid || pid === process.pid || processAlive(pid)) continue;
    fs.rmSync(path.join(os.tmpdir(), entry), { recursive: true, force: true });
  }
  return fs.mkdtempSync(path.join(os.tmpdir(), `${DATA_DIR_PREFIX}${process.pid}-`));
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function benchConsolidation(options: ConsolidationOptions = {}): Promise<ConsolidationFigures> {
  const progress = options.progress ?? silentProgress;
  const staged = options.staged ?? 200_000;
  const final = options.final ?? 1_000_000;
  const largeFactor = options.largeFactor ?? 10;
  const finalLarge = final * largeFactor;
  const duplicateShare = options.duplicateShare ?? 0.3;
  const deleteShare = options.deleteShare ?? 0.05;
  const repetitions = options.repetitions ?? 5;
  const largeRepetitions = options.largeRepetitions ?? 2;
  const shape = dataShape(staged, final, duplicateShare, deleteShare);
  const fmt = (n: number) => n.toLocaleString('en-US');

  const dataDir = options.inMemory ? undefined : createDataDir();
  const removeDataDir = () => {
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  };
  // Ctrl-C between statements still removes the (several GB) data directory.
  const onSignal = (signal: NodeJS.Signals) => {
    removeDataDir();
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const storage = dataDir ? `data directory on disk (${dataDir}, removed afterwards)` : 'in memory';
  const db = await progress.step(`starting PGlite (${storage}) and applying sql/`, async () => {
    const created = await PGlite.create(dataDir, { extensions: { auto_explain: await loadAutoExplain() } });
    await applySqlDir(created);
    await created.exec(`LOAD 'auto_explain'`);
    return created;
  });
  try {
    const settings = await db.query<{ version: string; work_mem: string; shared_buffers: string }>(
      `SELECT split_part(version(), ' on ', 1) AS version, current_setting('work_mem') AS work_mem,
              current_setting('shared_buffers') AS shared_buffers`,
    );
    const generationStart = performance.now();
    await db.exec(
      `CREATE SCHEMA IF NOT EXISTS ${LARGE_SCHEMA}; CREATE SCHEMA IF NOT EXISTS ${FLOOR_SCHEMA};`,
    );
    await progress.step(`final table ${FINAL_SCHEMA}.${TABLE}: ${fmt(final)} rows`, () =>
      fillFinal(db, FINAL_SCHEMA, final, progress, 'M'),
    );
    await progress.step(`final table ${LARGE_SCHEMA}.${TABLE} for (d): ${fmt(finalLarge)} rows`, () =>
      fillFinal(db, LARGE_SCHEMA, finalLarge, progress, `M×${largeFactor}`),
    );
    await progress.step(
      `staging ${STAGING_SCHEMA}.${TABLE}: ${fmt(staged)} rows (${fmt(shape.duplicates)} older versions, ${fmt(shape.deletes)} deletes, ${fmt(shape.updates)} updates, ${fmt(shape.newKeys)} new)`,
      () => fillStaging(db, shape, final),
    );
    await db.exec(`CREATE TABLE ${FLOOR_SCHEMA}.${TABLE} (${COLUMNS})`);
    await progress.step('VACUUM ANALYZE', () => db.exec('VACUUM ANALYZE'));
    const generationMs = performance.now() - generationStart;
    const stagedCount = await count(db, `${STAGING_SCHEMA}.${TABLE}`);
    if (stagedCount !== staged) throw new Error(`staging holds ${stagedCount} rows, expected ${staged}`);

    const timings = { a: [] as number[], b: [] as number[], c: [] as number[], d: [] as number[] };
    const statements = { a: [] as LoggedStatement[][], d: [] as LoggedStatement[][] };
    let audit: Record<string, number> = {};
    let afterConsolidate = 0;
    let afterNaive = 0;
    let naiveLargeMs: number | null = null;
    const vacuum = (tables: string[]) => db.exec(`VACUUM ${tables.join(', ')}`);
    const staging = `${STAGING_SCHEMA}.${TABLE}`;

    // One untimed run of (a) and (d) first: the first read of a table from disk (10M rows for
    // (d)) would otherwise land in round 1 and, with two runs of (d), in its median.
    await progress.step('warm-up: one untimed run of (a) and (d)', async () => {
      await timedCall(db, FINAL_SCHEMA, 'bench-warm-up-a');
      await vacuum([`${FINAL_SCHEMA}.${TABLE}`, staging]);
      await timedCall(db, LARGE_SCHEMA, 'bench-warm-up-d');
      await vacuum([`${LARGE_SCHEMA}.${TABLE}`, staging]);
    });
    const rounds = Math.max(repetitions, largeRepetitions);
    for (let round = 1; round <= rounds; round++) {
      const tag = `round ${round}/${rounds}`;
      if (round <= repetitions) {
        const b = await inRolledBackTransaction(db, async () => {
          await db.exec(`INSERT INTO ${FLOOR_SCHEMA}.${TABLE} SELECT * FROM ${staging}`);
        });
        timings.b.push(b);
        await vacuum([`${FLOOR_SCHEMA}.${TABLE}`]);
        progress.note(`${tag}: (b) floor INSERT … SELECT of ${fmt(staged)} rows: ${seconds(b)}`);

        const a = await timedCall(db, FINAL_SCHEMA, `bench-a-${round}`, async () => {
          const row = await db.query<Record<string, string | number>>(
            `SELECT rows_staged, rows_null_key, duplicates_removed, rows_inserted, rows_updated, rows_deleted, rows_purged,
                    rows_new, rows_unchanged
             FROM public.consolidation_audit WHERE run_id = 'bench-a-${round}'`,
          );
          audit = Object.fromEntries(Object.entries(row.rows[0] ?? {}).map(([k, v]) => [k, Number(v)]));
          afterConsolidate = await count(db, `${FINAL_SCHEMA}.${TABLE}`);
        });
        timings.a.push(a.ms);
        statements.a.push(a.statements);
        await vacuum([`${FINAL_SCHEMA}.${TABLE}`, staging]);
        progress.note(`${tag}: (a) consolidate_object into ${fmt(final)} rows: ${seconds(a.ms)}`);
      }

      if (round <= largeRepetitions) {
        const d = await timedCall(db, LARGE_SCHEMA, `bench-d-${round}`);
        timings.d.push(d.ms);
        statements.d.push(d.statements);
        await vacuum([`${LARGE_SCHEMA}.${TABLE}`, staging]);
        progress.note(`${tag}: (d) consolidate_object into ${fmt(finalLarge)} rows: ${seconds(d.ms)}`);
      }

      if (round === 1) {
        progress.note(`${tag}: (c) naive append + ROW_NUMBER over the whole table (single run) …`);
        const c = await inRolledBackTransaction(
          db,
          async () => {
            for (const statement of naiveSql(FINAL_SCHEMA)) await db.exec(statement);
          },
          async () => {
            afterNaive = await count(db, `${FINAL_SCHEMA}.${TABLE}`);
          },
        );
        timings.c.push(c);
        await vacuum([`${FINAL_SCHEMA}.${TABLE}`, staging]);
        progress.note(`${tag}: (c) naive into ${fmt(final)} rows: ${seconds(c)}`);

        if ((options.naiveLarge ?? true) && options.inMemory) {
          progress.note(
            `${tag}: (c×${largeFactor}) skipped in memory: PGlite's in-memory file system makes big rewrites many times slower`,
          );
        } else if (options.naiveLarge ?? true) {
          progress.note(
            `${tag}: (c×${largeFactor}) naive with the ${fmt(finalLarge)}-row table (single run) …`,
          );
          const cLarge = await inRolledBackTransaction(db, async () => {
            for (const statement of naiveSql(LARGE_SCHEMA)) await db.exec(statement);
          });
          naiveLargeMs = cLarge;
          await vacuum([`${LARGE_SCHEMA}.${TABLE}`, staging]);
          progress.note(`${tag}: (c×${largeFactor}) naive into ${fmt(finalLarge)} rows: ${seconds(cLarge)}`);
        }
      }
    }

    const expectedFinal = final + shape.newKeys - shape.deletes;
    if (afterConsolidate !== expectedFinal || afterNaive !== expectedFinal) {
      throw new Error(
        `final rows after (a) ${afterConsolidate} and (c) ${afterNaive}, expected ${expectedFinal}: the variants disagree`,
      );
    }
    if (audit.duplicates_removed !== shape.duplicates || audit.rows_deleted !== shape.deletes) {
      throw new Error(
        `the audit row ${JSON.stringify(audit)} does not match the staged data ${JSON.stringify(shape)}`,
      );
    }
    const steps = stepTable(statements.a, statements.d, timings.a, timings.d);

    const extras = options.whatIf ?? true;
    const wide = extras ? await benchWide(db, options, repetitions, progress) : null;
    const fullSync = extras ? await benchFullSync(db, final, repetitions, progress) : null;

    const mediansMs = {
      a: median(timings.a),
      b: median(timings.b),
      c: median(timings.c),
      d: median(timings.d),
    };
    const ratios = {
      aOverB: mediansMs.a / mediansMs.b,
      cOverA: mediansMs.c / mediansMs.a,
      dOverA: mediansMs.d / mediansMs.a,
    };
    return {
      staged,
      final,
      finalLarge,
      duplicateShare,
      deleteShare,
      repetitions: { a: timings.a.length, b: timings.b.length, c: timings.c.length, d: timings.d.length },
      expected: shape,
      audit,
      finalRowsAfter: { consolidate: afterConsolidate, naive: afterNaive },
      warehouse: {
        engine: `PGlite (${settings.rows[0].version})`,
        storage: dataDir ? 'data directory on disk (NodeFS)' : 'in memory',
        workMem: settings.rows[0].work_mem,
        sharedBuffers: settings.rows[0].shared_buffers,
      },
      timingsMs: timings,
      mediansMs,
      naiveLarge: naiveLargeMs === null ? null : { ms: naiveLargeMs, overD: naiveLargeMs / mediansMs.d },
      ratios,
      targets: CONSOLIDATION_TARGETS,
      met: {
        aOverB: ratios.aOverB <= CONSOLIDATION_TARGETS.aOverB,
        dOverA: ratios.dOverA <= CONSOLIDATION_TARGETS.dOverA,
        naiveLargeOverD:
          naiveLargeMs === null ? null : naiveLargeMs / mediansMs.d >= CONSOLIDATION_TARGETS.naiveLargeOverD,
        wideAOverB: wide === null ? null : wide.aOverB <= CONSOLIDATION_TARGETS.wideAOverB,
        fullOverIncremental:
          fullSync === null
            ? null
            : fullSync.fullOverIncremental <= CONSOLIDATION_TARGETS.fullOverIncremental,
      },
      steps,
      wide,
      fullSync,
      generationMs,
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await db.close();
    removeDataDir();
  }
}

async function auditOf(db: PGlite, runId: string): Promise<Record<string, number>> {
  const row = await db.query<Record<string, string | number>>(
    `SELECT rows_staged, duplicates_removed, rows_inserted, rows_updated, rows_deleted, rows_purged, rows_new, rows_unchanged
     FROM public.consolidation_audit WHERE run_id = $1`,
    [runId],
  );
  return Object.fromEntries(Object.entries(row.rows[0] ?? {}).map(([k, v]) => [k, Number(v)]));
}

/** (w): the wide object, its procedure against its floor; interleaved rounds, rolled back. */
async function benchWide(
  db: PGlite,
  options: ConsolidationOptions,
  repetitions: number,
  progress: Progress,
): Promise<WideFigures> {
  const final = options.wideFinal ?? 250_000;
  const staged = options.wideStaged ?? 50_000;
  const fmt = (n: number) => n.toLocaleString('en-US');
  await progress.step(
    `(w) wide object: ${WIDE_FIELDS.length + 4} columns, final ${fmt(final)} rows, ${fmt(staged)} changed rows staged`,
    async () => {
      await fillWide(db, final, staged);
      await db.exec(`VACUUM ANALYZE ${WIDE_SCHEMA}.${TABLE}, ${WIDE_STAGING_SCHEMA}.${TABLE}`);
    },
  );
  const timings = { a: [] as number[], b: [] as number[] };
  const statements: LoggedStatement[][] = [];
  let audit: Record<string, number> = {};
  const rounds = Math.min(repetitions, 3);
  for (let round = 1; round <= rounds; round++) {
    const b = await inRolledBackTransaction(db, async () => {
      await db.exec(
        `INSERT INTO ${WIDE_FLOOR_SCHEMA}.${TABLE} SELECT * FROM ${WIDE_STAGING_SCHEMA}.${TABLE}`,
      );
    });
    timings.b.push(b);
    await db.exec(`VACUUM ${WIDE_FLOOR_SCHEMA}.${TABLE}`);
    const a = await timedCall(
      db,
      WIDE_SCHEMA,
      `bench-w-${round}`,
      async () => {
        audit = await auditOf(db, `bench-w-${round}`);
      },
      WIDE_STAGING_SCHEMA,
    );
    timings.a.push(a.ms);
    statements.push(a.statements);
    await db.exec(`VACUUM ${WIDE_SCHEMA}.${TABLE}, ${WIDE_STAGING_SCHEMA}.${TABLE}`);
    progress.note(`(w) round ${round}/${rounds}: procedure ${seconds(a.ms)}, floor ${seconds(b)}`);
  }
  const updates = Math.min(final, Math.floor(staged / 2));
  if (audit.rows_updated !== updates || audit.rows_new !== staged - updates) {
    throw new Error(
      `(w) audit ${JSON.stringify(audit)}: expected ${updates} updated and ${staged - updates} new`,
    );
  }
  const mediansMs = { a: median(timings.a), b: median(timings.b) };
  return {
    columns: WIDE_FIELDS.length + 4,
    final,
    staged,
    timingsMs: timings,
    mediansMs,
    aOverB: mediansMs.a / mediansMs.b,
    audit,
    steps: stepsOf(statements, timings.a),
  };
}

/** (f): full sync of the M-row final table with 1% changed, against incremental runs. */
async function benchFullSync(
  db: PGlite,
  final: number,
  repetitions: number,
  progress: Progress,
): Promise<FullSyncFigures> {
  const fmt = (n: number) => n.toLocaleString('en-US');
  const changed = Math.floor(final / 100);
  await progress.step(
    `(f) staging a full sync of ${fmt(final)} rows (${fmt(changed)} changed) and the changes alone`,
    async () => {
      await db.exec(
        `CREATE SCHEMA IF NOT EXISTS ${FULL_STAGING_SCHEMA}; CREATE SCHEMA IF NOT EXISTS ${CHANGES_STAGING_SCHEMA}`,
      );
      await fillFullSyncStaging(db, FULL_STAGING_SCHEMA, final, false);
      await fillFullSyncStaging(db, CHANGES_STAGING_SCHEMA, final, true);
      await db.exec(`VACUUM ANALYZE ${FULL_STAGING_SCHEMA}.${TABLE}, ${CHANGES_STAGING_SCHEMA}.${TABLE}`);
    },
  );
  const timings = {
    full: [] as number[],
    incrementalChanges: [] as number[],
    incrementalSameRows: [] as number[],
  };
  let auditFull: Record<string, number> = {};
  const statements: LoggedStatement[][] = [];
  const vacuum = () =>
    db.exec(
      `VACUUM ${FINAL_SCHEMA}.${TABLE}, ${FULL_STAGING_SCHEMA}.${TABLE}, ${CHANGES_STAGING_SCHEMA}.${TABLE}`,
    );
  const rounds = Math.min(repetitions, 2);
  for (let round = 1; round <= rounds; round++) {
    const full = await timedCall(
      db,
      FINAL_SCHEMA,
      `bench-f-full-${round}`,
      async () => {
        auditFull = await auditOf(db, `bench-f-full-${round}`);
      },
      FULL_STAGING_SCHEMA,
      'full',
    );
    timings.full.push(full.ms);
    statements.push(full.statements);
    await vacuum();
    const incremental = await timedCall(
      db,
      FINAL_SCHEMA,
      `bench-f-incr-${round}`,
      undefined,
      CHANGES_STAGING_SCHEMA,
    );
    timings.incrementalChanges.push(incremental.ms);
    await vacuum();
    progress.note(
      `(f) round ${round}/${rounds}: full sync ${seconds(full.ms)}, incremental of the changes ${seconds(incremental.ms)}`,
    );
  }
  const same = await timedCall(db, FINAL_SCHEMA, 'bench-f-same', undefined, FULL_STAGING_SCHEMA);
  timings.incrementalSameRows.push(same.ms);
  await vacuum();
  progress.note(`(f) incremental run of the same ${fmt(final)} staged rows: ${seconds(same.ms)}`);
  if (
    auditFull.rows_updated !== changed ||
    auditFull.rows_unchanged !== final - changed ||
    auditFull.rows_purged !== 0
  ) {
    throw new Error(
      `(f) audit ${JSON.stringify(auditFull)}: expected ${changed} updated, ${final - changed} unchanged`,
    );
  }
  const mediansMs = {
    full: median(timings.full),
    incrementalChanges: median(timings.incrementalChanges),
    incrementalSameRows: median(timings.incrementalSameRows),
  };
  return {
    final,
    changed,
    timingsMs: timings,
    mediansMs,
    fullOverIncremental: mediansMs.full / mediansMs.incrementalChanges,
    auditFull,
    steps: stepsOf(statements, timings.full),
  };
}

// ---------------------------------------------------------------------------------------------
// History (issue 22): the same consolidation with a history table, against none.

/** The final tables' cursors start here (fillFinal): the older versions of a key end by then. */
const CURRENT_VERSIONS_FROM = Date.parse('2025-01-01T00:00:00Z');
/** The oldest versions of the large history table start a year before. */
const OLDER_VERSIONS_FROM = Date.parse('2024-01-01T00:00:00Z');

/**
 * The `j`th of the `largeFactor - 1` older versions of every key (1 = the oldest): its
 * `_valid_from` and `_valid_to` (`YYYY-MM-DD HH:MM:SS`, UTC). They share the year before the current
 * versions evenly, back to back, so no two versions of a key overlap however large the factor;
 * the newest has no `validTo`: it ends where its key's current version starts.
 */
export function olderVersion(j: number, largeFactor: number): { validFrom: string; validTo?: string } {
  const older = largeFactor - 1;
  const spacingSeconds = Math.floor((CURRENT_VERSIONS_FROM - OLDER_VERSIONS_FROM) / 1000 / older);
  if (!Number.isInteger(j) || j < 1 || j > older || spacingSeconds < 1) {
    throw new Error(
      `history: version ${j} of ${older} older versions per key does not fit a year of whole seconds`,
    );
  }
  const at = (index: number) =>
    new Date(OLDER_VERSIONS_FROM + index * spacingSeconds * 1000)
      .toISOString()
      .slice(0, 19)
      .replace('T', ' ');
  return j === older ? { validFrom: at(j - 1) } : { validFrom: at(j - 1), validTo: at(j) };
}

/** The issue's targets for history mode. */
const HISTORY_TARGETS = { withOverWithout: 1.5, largeOverWith: 1.5 } as const;
/**
 * The planner's cost of a random page in this section (Postgres' default is 4, a spinning
 * disk's): 1.1, an SSD's, as PGlite's data directory sits on one. With 4 the planner reads a
 * 10M-row history table whole (hash joins) to find the current versions of the staged keys;
 * with 1.1 it probes the sort key's index, as Redshift reads a key's rows by its zone maps.
 * All three variants run with it.
 */
const HISTORY_RANDOM_PAGE_COST = 1.1;

export interface HistoryOptions {
  /** Staged rows N. @default 200_000 */
  staged?: number;
  /** Final-table rows M. @default 1_000_000 */
  final?: number;
  /** Versions per key in the large history table (M × this rows). @default 10 */
  largeFactor?: number;
  /** Timed runs of each variant (median reported). @default 3 */
  repetitions?: number;
  /** @see ConsolidationOptions.inMemory @default false */
  inMemory?: boolean;
  progress?: Progress;
}

export interface HistoryFigures {
  randomPageCost: number;
  staged: number;
  final: number;
  historyRows: { one: number; large: number };
  expected: DataShape;
  /** (n) no history, (h) history of one version per key, (H) history of `largeFactor` versions per key. */
  timingsMs: { n: number[]; h: number[]; large: number[] };
  mediansMs: { n: number; h: number; large: number };
  ratios: { withOverWithout: number; largeOverWith: number };
  targets: typeof HISTORY_TARGETS;
  met: { withOverWithout: boolean; largeOverWith: boolean };
  /** The audit rows' history figures of (h) and (H): the same staged rows give the same figures. */
  audit: { h: Record<string, number>; large: Record<string, number> };
  steps: { step: string; hSeconds: number; largeSeconds: number; reads: string }[];
}

/**
 * Consolidation with history against without, the same staged rows each time (N into an M-row
 * final table, the shape of (a)), and again with a history table of `largeFactor` versions per
 * key. Each history table is created and seeded by the procedure itself (a CALL over an empty
 * staging table, committed) and, for the large one, given its older versions by SQL; the timed
 * CALLs run inside BEGIN … ROLLBACK, interleaved, as (a) and (d) are.
 */
export async function benchHistory(options: HistoryOptions = {}): Promise<HistoryFigures> {
  const progress = options.progress ?? silentProgress;
  const staged = options.staged ?? 200_000;
  const final = options.final ?? 1_000_000;
  const largeFactor = options.largeFactor ?? 10;
  const repetitions = options.repetitions ?? 3;
  const shape = dataShape(staged, final, 0.3, 0.05);
  const fmt = (n: number) => n.toLocaleString('en-US');

  const dataDir = options.inMemory ? undefined : createDataDir();
  const removeDataDir = () => {
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    removeDataDir();
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const db = await progress.step('starting PGlite and applying sql/', async () => {
    const created = await PGlite.create(dataDir, { extensions: { auto_explain: await loadAutoExplain() } });
    await applySqlDir(created);
    await created.exec(`LOAD 'auto_explain'`);
    await created.exec(`SET random_page_cost = ${HISTORY_RANDOM_PAGE_COST}`);
    return created;
  });
  try {
    await db.exec(
      `CREATE SCHEMA IF NOT EXISTS ${HISTORY_LARGE_FINAL_SCHEMA}; CREATE SCHEMA IF NOT EXISTS ${HISTORY_LARGE_SCHEMA};
       CREATE SCHEMA IF NOT EXISTS ${SEED_STAGING_SCHEMA};`,
    );
    await progress.step(`final table ${FINAL_SCHEMA}.${TABLE}: ${fmt(final)} rows`, () =>
      fillFinal(db, FINAL_SCHEMA, final, progress, 'M'),
    );
    await progress.step(
      `final table ${HISTORY_LARGE_FINAL_SCHEMA}.${TABLE}: the same ${fmt(final)} rows`,
      () => fillFinal(db, HISTORY_LARGE_FINAL_SCHEMA, final, progress, 'M'),
    );
    await progress.step(
      `staging ${STAGING_SCHEMA}.${TABLE}: ${fmt(staged)} rows (${fmt(shape.duplicates)} older versions, ${fmt(shape.deletes)} deletes, ${fmt(shape.updates)} updates, ${fmt(shape.newKeys)} new)`,
      () => fillStaging(db, shape, final),
    );
    for (const index of await createKeyedTable(db, `${SEED_STAGING_SCHEMA}.${TABLE}`, COLUMNS)) {
      await db.exec(index);
    }
    // The procedure creates and seeds each history table (one current version per final row).
    await progress.step(`history ${HISTORY_SCHEMA}.${TABLE}: created and seeded by the procedure`, () =>
      db.exec(
        callSql(FINAL_SCHEMA, 'bench-history-seed', SEED_STAGING_SCHEMA, 'incremental', HISTORY_SCHEMA),
      ),
    );
    await progress.step(
      `history ${HISTORY_LARGE_SCHEMA}.${TABLE}: seeded, then ${largeFactor - 1} older versions per key`,
      async () => {
        await db.exec(
          callSql(
            HISTORY_LARGE_FINAL_SCHEMA,
            'bench-history-large-seed',
            SEED_STAGING_SCHEMA,
            'incremental',
            HISTORY_LARGE_SCHEMA,
          ),
        );
        // Older versions j = 1 … factor-1 of every key, back to back in the year before the
        // current versions start, the last one ending where its key's current version starts;
        // the sort key's index is rebuilt once afterwards.
        const index = sortKeyIndexName(TABLE);
        await db.exec(`DROP INDEX ${HISTORY_LARGE_SCHEMA}.${index}`);
        for (let j = 1; j < largeFactor; j++) {
          await yieldToEventLoop();
          const version = olderVersion(j, largeFactor);
          const validTo = version.validTo ? `timestamp '${version.validTo}'` : 'f.systemmodstamp';
          await db.exec(
            `INSERT INTO ${HISTORY_LARGE_SCHEMA}.${TABLE}
             SELECT timestamp '${version.validFrom}', ${validTo},
                    false, f.id, f.name || ' v0.${j}', f.type, f.industry, f.billingstate, f.annualrevenue,
                    f.numberofemployees, f.ownerid, f.createddate,
                    timestamp '${version.validFrom}', false
             FROM ${HISTORY_LARGE_FINAL_SCHEMA}.${TABLE} f`,
          );
          progress.note(`older versions ${j}/${largeFactor - 1}`);
        }
        await db.exec(`CREATE INDEX ${index} ON ${HISTORY_LARGE_SCHEMA}.${TABLE} (id, "_valid_from")`);
      },
    );
    await progress.step('VACUUM ANALYZE', () => db.exec('VACUUM ANALYZE'));
    const historyRows = {
      one: await count(db, `${HISTORY_SCHEMA}.${TABLE}`),
      large: await count(db, `${HISTORY_LARGE_SCHEMA}.${TABLE}`),
    };

    const timings = { n: [] as number[], h: [] as number[], large: [] as number[] };
    const statements = { h: [] as LoggedStatement[][], large: [] as LoggedStatement[][] };
    const audit = { h: {} as Record<string, number>, large: {} as Record<string, number> };
    const staging = `${STAGING_SCHEMA}.${TABLE}`;
    const historyAudit = async (runId: string) => {
      const row = await db.query<Record<string, string | number>>(
        `SELECT rows_inserted, rows_deleted, history_versions_added, history_versions_closed
         FROM public.consolidation_audit WHERE run_id = $1`,
        [runId],
      );
      return Object.fromEntries(Object.entries(row.rows[0] ?? {}).map(([k, v]) => [k, Number(v)]));
    };
    const historyTables = {
      h: { finalSchema: FINAL_SCHEMA, historySchema: HISTORY_SCHEMA },
      large: { finalSchema: HISTORY_LARGE_FINAL_SCHEMA, historySchema: HISTORY_LARGE_SCHEMA },
    };
    // One run with history (rolled back), then a VACUUM of the tables it wrote.
    const runWithHistory = async (variant: 'h' | 'large', runId: string, inspect?: () => Promise<void>) => {
      const { finalSchema, historySchema } = historyTables[variant];
      const run = await timedCall(
        db,
        finalSchema,
        runId,
        inspect,
        STAGING_SCHEMA,
        'incremental',
        historySchema,
      );
      await db.exec(`VACUUM ${finalSchema}.${TABLE}, ${historySchema}.${TABLE}, ${staging}`);
      return run;
    };
    await progress.step('warm-up: one untimed run of each variant', async () => {
      await timedCall(db, FINAL_SCHEMA, 'bench-history-warm-n');
      await db.exec(`VACUUM ${FINAL_SCHEMA}.${TABLE}, ${staging}`);
      await runWithHistory('h', 'bench-history-warm-h');
      await runWithHistory('large', 'bench-history-warm-large');
    });
    for (let round = 1; round <= repetitions; round++) {
      const tag = `round ${round}/${repetitions}`;
      const n = await timedCall(db, FINAL_SCHEMA, `bench-history-n-${round}`);
      timings.n.push(n.ms);
      await db.exec(`VACUUM ${FINAL_SCHEMA}.${TABLE}, ${staging}`);
      const h = await runWithHistory('h', `bench-history-h-${round}`, async () => {
        audit.h = await historyAudit(`bench-history-h-${round}`);
      });
      timings.h.push(h.ms);
      statements.h.push(h.statements);
      const large = await runWithHistory('large', `bench-history-large-${round}`, async () => {
        audit.large = await historyAudit(`bench-history-large-${round}`);
      });
      timings.large.push(large.ms);
      statements.large.push(large.statements);
      progress.note(
        `${tag}: without history ${seconds(n.ms)}, with history (${fmt(historyRows.one)} rows) ${seconds(h.ms)}, with history (${fmt(historyRows.large)} rows) ${seconds(large.ms)}`,
      );
    }
    // Every live staged version is a new version; every existing key's current version closes.
    const expectedAdded = staged - shape.deletes;
    const expectedClosed = shape.updates + shape.deletes;
    for (const [variant, figures] of Object.entries(audit)) {
      if (
        figures.history_versions_added !== expectedAdded ||
        figures.history_versions_closed !== expectedClosed
      ) {
        throw new Error(
          `history (${variant}): audit ${JSON.stringify(figures)}, expected ${expectedAdded} versions added and ${expectedClosed} closed`,
        );
      }
    }
    const mediansMs = { n: median(timings.n), h: median(timings.h), large: median(timings.large) };
    const ratios = {
      withOverWithout: mediansMs.h / mediansMs.n,
      largeOverWith: mediansMs.large / mediansMs.h,
    };
    return {
      randomPageCost: HISTORY_RANDOM_PAGE_COST,
      staged,
      final,
      historyRows,
      expected: shape,
      timingsMs: timings,
      mediansMs,
      ratios,
      targets: HISTORY_TARGETS,
      met: {
        withOverWithout: ratios.withOverWithout <= HISTORY_TARGETS.withOverWithout,
        largeOverWith: ratios.largeOverWith <= HISTORY_TARGETS.largeOverWith,
      },
      audit,
      steps: stepTable(statements.h, statements.large, timings.h, timings.large)
        .filter((step) => step.step.startsWith('H') || step.aSeconds > 0.05 || step.dSeconds > 0.05)
        .map(({ step, aSeconds, dSeconds, reads }) => ({
          step,
          hSeconds: aSeconds,
          largeSeconds: dSeconds,
          reads,
        })),
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await db.close();
    removeDataDir();
  }
}

/** The history section of the bench's output. */
export function historySection(figures: HistoryFigures): string {
  const runs = (values: number[]) => values.map(secs).join(' / ');
  const rows = [
    ['(n) consolidate_object, no history', '-', runs(figures.timingsMs.n), secs(figures.mediansMs.n)],
    ['(h) with history', n0(figures.historyRows.one), runs(figures.timingsMs.h), secs(figures.mediansMs.h)],
    [
      '(H) with a larger history',
      n0(figures.historyRows.large),
      runs(figures.timingsMs.large),
      secs(figures.mediansMs.large),
    ],
  ];
  const ratios = [
    [
      'h/n',
      'consolidation with history vs without, same staged rows',
      n2(figures.ratios.withOverWithout),
      `<= ${figures.targets.withOverWithout}`,
      verdict(figures.met.withOverWithout),
    ],
    [
      'H/h',
      `history table ×${(figures.historyRows.large / figures.historyRows.one).toFixed(0)} vs ×1`,
      n2(figures.ratios.largeOverWith),
      `<= ${figures.targets.largeOverWith}`,
      verdict(figures.met.largeOverWith),
    ],
  ];
  const steps = figures.steps.map((step) => [
    step.step,
    n2(step.hSeconds),
    n2(step.largeSeconds),
    step.reads,
  ]);
  return [
    `History — ${n0(figures.staged)} staged rows into ${n0(figures.final)} final rows (${n0(figures.expected.duplicates)} older versions, ${n0(figures.expected.deletes)} deletes, ${n0(figures.expected.updates)} updates, ${n0(figures.expected.newKeys)} new keys)`,
    indent(
      `Audit of (h) and (H): ${n0(figures.audit.h.history_versions_added ?? 0)} versions added, ${n0(figures.audit.h.history_versions_closed ?? 0)} closed (the same for both). ` +
        `Planner: random_page_cost ${figures.randomPageCost} for all three variants (see HISTORY_RANDOM_PAGE_COST).`,
    ),
    '',
    indent(renderTable(['variant', 'history rows before', 'runs (s)', 'median (s)'], rows)),
    '',
    indent(renderTable(['ratio', 'meaning', 'value', 'target', 'result'], ratios)),
    '',
    indent('Where (h) and (H) spend their time (median per step; steps over 0.05 s and the history steps):'),
    indent(renderTable(['step', '(h) s', '(H) s', 'reads'], steps)),
  ].join('\n');
}

export function historyTargetLines(figures: HistoryFigures): TargetLine[] {
  return [
    {
      area: 'history',
      target: `with history <= ${figures.targets.withOverWithout} × without`,
      measured: n2(figures.ratios.withOverWithout),
      met: figures.met.withOverWithout,
    },
    {
      area: 'history',
      target: `history ×${(figures.historyRows.large / figures.historyRows.one).toFixed(0)} <= ${figures.targets.largeOverWith} × history ×1`,
      measured: n2(figures.ratios.largeOverWith),
      met: figures.met.largeOverWith,
    },
  ];
}
