import { PGlite } from '@electric-sql/pglite';
import { applySqlDir } from '../local/warehouse/apply-sql';
import { median, type Progress, seconds, silentProgress, timed } from './progress';

/**
 * Consolidation on the embedded warehouse (PGlite, the local run's Postgres): N staged rows
 * into a final table of M rows, timing
 *   (a) our `consolidate_object` (the real procedure from sql/),
 *   (b) the floor: a plain INSERT … SELECT of the same N rows into an empty table,
 *   (c) the naive approach: append everything, then de-duplicate the whole final table with
 *       ROW_NUMBER (CTAS + swap, the cheapest form of it),
 *   (d) (a) again with a final table of M × largeFactor rows (the same staged rows).
 * Every variant runs inside BEGIN … ROLLBACK, so each repetition starts from the same
 * tables; a VACUUM (not timed) clears what the rolled-back work left behind.
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
  /** Repetitions of (a), (b) and (d) (median reported); (c) runs once. @default 3 */
  repetitions?: number;
  progress?: Progress;
}

export interface ConsolidationFigures {
  staged: number;
  final: number;
  finalLarge: number;
  duplicateShare: number;
  deleteShare: number;
  repetitions: number;
  /** What the staged data holds, and what the procedure's audit row reported for (a). */
  expected: DataShape;
  audit: Record<string, number>;
  /** Final-table rows after (a) and after (c): the two approaches must agree. */
  finalRowsAfter: { consolidate: number; naive: number };
  warehouse: { engine: string; workMem: string; sharedBuffers: string };
  timingsMs: { a: number[]; b: number[]; c: number[]; d: number[] };
  mediansMs: { a: number; b: number; c: number; d: number };
  ratios: { aOverB: number; cOverA: number; dOverA: number };
  targets: { aOverB: number; cOverA: number; dOverA: number };
  met: { aOverB: boolean; cOverA: boolean; dOverA: boolean };
  generationMs: number;
}

export interface DataShape {
  distinctKeys: number;
  duplicates: number;
  deletes: number;
  updates: number;
  newKeys: number;
}

export const CONSOLIDATION_TARGETS = { aOverB: 6, cOverA: 3, dOverA: 1.5 } as const;

const STAGING_SCHEMA = 'salesforce_incremental';
const FINAL_SCHEMA = 'salesforce';
const LARGE_SCHEMA = 'bench_large';
const FLOOR_SCHEMA = 'bench_floor';
const TABLE = 'account';
/** New keys start above any final-table key, so they never collide with the large table either. */
const NEW_KEY_BASE = 100_000_000_000;
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

export function dataShape(staged: number, final: number, duplicateShare: number, deleteShare: number): DataShape {
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

async function fillFinal(
  db: PGlite,
  schema: string,
  rows: number,
  progress: Progress,
  label: string,
): Promise<void> {
  await db.exec(`CREATE TABLE ${schema}.${TABLE} (${COLUMNS})`);
  for (let from = 1; from <= rows; from += CHUNK) {
    const to = Math.min(rows, from + CHUNK - 1);
    await db.exec(
      `INSERT INTO ${schema}.${TABLE} SELECT ${rowSelect(
        'i',
        `timestamp '2025-01-01' + (i % 10000000) * interval '1 second'`,
        `''`,
        'false',
      )} FROM generate_series(${from}::bigint, ${to}::bigint) i`,
    );
    if (rows > CHUNK) progress.note(`${label}: ${to.toLocaleString('en-US')} / ${rows.toLocaleString('en-US')} rows`);
  }
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
  await db.exec(`CREATE TABLE ${STAGING_SCHEMA}.${TABLE} (${COLUMNS})`);
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
}

async function count(db: PGlite, table: string): Promise<number> {
  const result = await db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${table}`);
  return Number(result.rows[0].n);
}

/** Runs `work` in a transaction that is rolled back, and returns how long `work` took. */
async function inRolledBackTransaction(
  db: PGlite,
  work: () => Promise<void>,
  inspect?: () => Promise<void>,
): Promise<number> {
  await db.exec('BEGIN');
  try {
    const ms = await timed(work);
    if (inspect) await inspect();
    return ms;
  } finally {
    await db.exec('ROLLBACK');
  }
}

function callSql(finalSchema: string, runId: string): string {
  return `CALL consolidate_object('${STAGING_SCHEMA}', '${finalSchema}', '${TABLE}', 'id', 'systemmodstamp', 'hard', '${runId}')`;
}

/** The approach of the usual write-ups: append, then keep ROW_NUMBER() = 1 of the whole table. */
function naiveSql(): string[] {
  const final = `${FINAL_SCHEMA}.${TABLE}`;
  const columns = COLUMNS.split(',').map((definition) => definition.trim().split(/\s+/)[0]);
  return [
    `INSERT INTO ${final} SELECT * FROM ${STAGING_SCHEMA}.${TABLE}`,
    `CREATE TABLE ${FINAL_SCHEMA}.${TABLE}__dedup AS SELECT ${columns.join(', ')} FROM (
       SELECT *, ROW_NUMBER() OVER (PARTITION BY id ORDER BY systemmodstamp DESC NULLS LAST) AS rn FROM ${final}
     ) ranked WHERE rn = 1 AND NOT COALESCE(isdeleted, false)`,
    `DROP TABLE ${final}`,
    `ALTER TABLE ${FINAL_SCHEMA}.${TABLE}__dedup RENAME TO ${TABLE}`,
    `DELETE FROM ${STAGING_SCHEMA}.${TABLE}`,
  ];
}

export async function benchConsolidation(options: ConsolidationOptions = {}): Promise<ConsolidationFigures> {
  const progress = options.progress ?? silentProgress;
  const staged = options.staged ?? 200_000;
  const final = options.final ?? 1_000_000;
  const largeFactor = options.largeFactor ?? 10;
  const finalLarge = final * largeFactor;
  const duplicateShare = options.duplicateShare ?? 0.3;
  const deleteShare = options.deleteShare ?? 0.05;
  const repetitions = options.repetitions ?? 3;
  const shape = dataShape(staged, final, duplicateShare, deleteShare);
  const fmt = (n: number) => n.toLocaleString('en-US');

  const db = await progress.step('starting PGlite and applying sql/', async () => {
    const created = await PGlite.create();
    await applySqlDir(created);
    return created;
  });
  try {
    const settings = await db.query<{ version: string; work_mem: string; shared_buffers: string }>(
      `SELECT split_part(version(), ' on ', 1) AS version, current_setting('work_mem') AS work_mem,
              current_setting('shared_buffers') AS shared_buffers`,
    );
    const generationStart = performance.now();
    await db.exec(`CREATE SCHEMA IF NOT EXISTS ${LARGE_SCHEMA}; CREATE SCHEMA IF NOT EXISTS ${FLOOR_SCHEMA};`);
    await progress.step(`final table ${FINAL_SCHEMA}.${TABLE}: ${fmt(final)} rows`, () =>
      fillFinal(db, FINAL_SCHEMA, final, progress, 'M'),
    );
    await progress.step(`final table ${LARGE_SCHEMA}.${TABLE} (d): ${fmt(finalLarge)} rows`, () =>
      fillFinal(db, LARGE_SCHEMA, finalLarge, progress, '10M'),
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
    let audit: Record<string, number> = {};
    let afterConsolidate = 0;
    let afterNaive = 0;
    const vacuum = (tables: string[]) => db.exec(`VACUUM ${tables.join(', ')}`);

    // Rounds interleave the variants, so drift on a shared machine hits them alike.
    for (let round = 1; round <= repetitions; round++) {
      const tag = `round ${round}/${repetitions}`;
      const b = await inRolledBackTransaction(db, async () => {
        await db.exec(`INSERT INTO ${FLOOR_SCHEMA}.${TABLE} SELECT * FROM ${STAGING_SCHEMA}.${TABLE}`);
      });
      timings.b.push(b);
      await vacuum([`${FLOOR_SCHEMA}.${TABLE}`]);
      progress.note(`${tag}: (b) floor INSERT … SELECT ${seconds(b)}`);

      const a = await inRolledBackTransaction(
        db,
        async () => {
          await db.exec(callSql(FINAL_SCHEMA, `bench-a-${round}`));
        },
        async () => {
          const row = await db.query<Record<string, string | number>>(
            `SELECT rows_staged, rows_null_key, duplicates_removed, rows_inserted, rows_updated, rows_deleted, rows_purged
             FROM public.consolidation_audit WHERE run_id = 'bench-a-${round}'`,
          );
          audit = Object.fromEntries(Object.entries(row.rows[0] ?? {}).map(([k, v]) => [k, Number(v)]));
          afterConsolidate = await count(db, `${FINAL_SCHEMA}.${TABLE}`);
        },
      );
      timings.a.push(a);
      await vacuum([`${FINAL_SCHEMA}.${TABLE}`, `${STAGING_SCHEMA}.${TABLE}`]);
      progress.note(`${tag}: (a) consolidate_object, M=${fmt(final)}: ${seconds(a)}`);

      const d = await inRolledBackTransaction(db, async () => {
        await db.exec(callSql(LARGE_SCHEMA, `bench-d-${round}`));
      });
      timings.d.push(d);
      await vacuum([`${LARGE_SCHEMA}.${TABLE}`, `${STAGING_SCHEMA}.${TABLE}`]);
      progress.note(`${tag}: (d) consolidate_object, M=${fmt(finalLarge)}: ${seconds(d)}`);

      if (round === 1) {
        progress.note(`${tag}: (c) naive append + ROW_NUMBER over the whole table … (single run)`);
        const c = await inRolledBackTransaction(
          db,
          async () => {
            for (const statement of naiveSql()) await db.exec(statement);
          },
          async () => {
            afterNaive = await count(db, `${FINAL_SCHEMA}.${TABLE}`);
          },
        );
        timings.c.push(c);
        await vacuum([`${FINAL_SCHEMA}.${TABLE}`, `${STAGING_SCHEMA}.${TABLE}`]);
        progress.note(`${tag}: (c) naive, M=${fmt(final)}: ${seconds(c)}`);
      }
    }

    const expectedFinal = final + shape.newKeys - shape.deletes;
    if (afterConsolidate !== expectedFinal || afterNaive !== expectedFinal) {
      throw new Error(
        `final rows after (a) ${afterConsolidate} and (c) ${afterNaive}, expected ${expectedFinal}: the variants disagree`,
      );
    }
    if (audit.duplicates_removed !== shape.duplicates || audit.rows_deleted !== shape.deletes) {
      throw new Error(`the audit row ${JSON.stringify(audit)} does not match the staged data ${JSON.stringify(shape)}`);
    }

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
      repetitions,
      expected: shape,
      audit,
      finalRowsAfter: { consolidate: afterConsolidate, naive: afterNaive },
      warehouse: {
        engine: `PGlite (${settings.rows[0].version})`,
        workMem: settings.rows[0].work_mem,
        sharedBuffers: settings.rows[0].shared_buffers,
      },
      timingsMs: timings,
      mediansMs,
      ratios,
      targets: { ...CONSOLIDATION_TARGETS },
      met: {
        aOverB: ratios.aOverB <= CONSOLIDATION_TARGETS.aOverB,
        cOverA: ratios.cOverA >= CONSOLIDATION_TARGETS.cOverA,
        dOverA: ratios.dOverA <= CONSOLIDATION_TARGETS.dOverA,
      },
      generationMs,
    };
  } finally {
    await db.close();
  }
}
