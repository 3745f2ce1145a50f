import type { PGlite } from '@electric-sql/pglite';
import { toPostgres } from '../../local/warehouse/redshift-dialect';
import { createWarehouse } from '../support/warehouse';
import { FINAL_SCHEMA, HISTORY_SCHEMA, STAGING_SCHEMA } from './warehouse-fixture';

// Custom-connector sources name columns after words Redshift reserves and Postgres does not
// (open, tag, percent, timestamp, new, system, snapshot …). The procedure quotes every
// identifier, and the local warehouse refuses a bare reserved word in the SQL it builds (as
// Redshift would: `syntax error at or near "open"`), so these CALLs pass only if nothing is
// left unquoted: the key, the cursor, the table, the columns added, the tie-break over columns.
let db: PGlite;

const TABLE = 'order';
const COLUMNS = [
  '"offset" varchar(18)', // the primary key
  '"timestamp" timestamp', // the cursor
  '"isdeleted" boolean',
  '"order" varchar(20)',
  '"user" varchar(20)',
  '"end" date',
  '"open" boolean',
  '"tag" varchar(20)',
  '"percent" numeric(5,2)',
  '"language" varchar(10)',
  '"new" bigint',
  '"system" varchar(20)',
  '"snapshot" varchar(20)',
  '"Mixed Case" varchar(20)',
  '"say ""hi""" varchar(20)',
];

interface Row {
  offset: string;
  timestamp: string;
  isdeleted: boolean;
  tag: string | null;
  percent: string | null;
  open: boolean | null;
  mixed: string | null;
  quoted: string | null;
}

async function stage(
  row: Omit<Row, 'mixed' | 'quoted'> & { mixed?: string; quoted?: string },
): Promise<void> {
  await db.query(
    `INSERT INTO "${STAGING_SCHEMA}"."${TABLE}" ("offset", "timestamp", "isdeleted", "order", "user", "end", "open",
       "tag", "percent", "language", "new", "system", "snapshot", "Mixed Case", "say ""hi""")
     VALUES ($1, $2, $3, 'o', 'u', DATE '2026-02-01', $4, $5, $6, 'en', 7, 'sys', 'snap', $7, $8)`,
    [
      row.offset,
      row.timestamp,
      row.isdeleted,
      row.open,
      row.tag,
      row.percent,
      row.mixed ?? 'Mixed',
      row.quoted ?? 'hi',
    ],
  );
}

function call(runId: string, syncMode = 'incremental'): Promise<unknown> {
  return db.query(
    `CALL consolidate_object('${STAGING_SCHEMA}', '${FINAL_SCHEMA}', '${TABLE}', 'offset', 'timestamp', 'hard',
       '${runId}', '${syncMode}', 30, '${HISTORY_SCHEMA}')`,
  );
}

async function rows(schema: string, extra = ''): Promise<Record<string, unknown>[]> {
  const result = await db.query<Record<string, unknown>>(
    `SELECT "offset", CAST("timestamp" AS text) AS "timestamp", "tag", CAST("percent" AS text) AS "percent", "open",
       "Mixed Case" AS mixed, "say ""hi""" AS quoted${extra} FROM "${schema}"."${TABLE}" ORDER BY "offset", "timestamp"`,
  );
  return result.rows;
}

beforeAll(async () => {
  db = await createWarehouse({ applySql: true });
  for (const schema of [STAGING_SCHEMA, FINAL_SCHEMA]) {
    // Redshift DDL, as structure sync writes it, through the local warehouse's translation.
    await db.exec(
      toPostgres(
        `CREATE TABLE "${schema}"."${TABLE}" (${COLUMNS.join(', ')}) DISTKEY("offset") SORTKEY("offset")`,
      ),
    );
  }
});

afterAll(async () => {
  await db.close();
});

describe('consolidate_object: columns named after reserved words, mixed case and quotes', () => {
  test('loads, ties, a column added, a delete and a full sync all work, history included', async () => {
    await stage({
      offset: 'K1',
      timestamp: '2026-01-01',
      isdeleted: false,
      open: true,
      tag: 'a',
      percent: '1.50',
    });
    await stage({
      offset: 'K2',
      timestamp: '2026-01-01',
      isdeleted: false,
      open: false,
      tag: 'b',
      percent: null,
    });
    await call('run-1');

    // A newer version, two different rows of a new key at one cursor (the tie-break runs over
    // the columns by name), and a column structure sync added to staging, named after a word
    // Redshift reserves.
    await db.exec(`ALTER TABLE "${STAGING_SCHEMA}"."${TABLE}" ADD COLUMN "select" varchar(10)`);
    await stage({
      offset: 'K1',
      timestamp: '2026-01-02',
      isdeleted: false,
      open: true,
      tag: 'a2',
      percent: '2.50',
    });
    await stage({
      offset: 'K3',
      timestamp: '2026-01-02',
      isdeleted: false,
      open: null,
      tag: 'zz',
      percent: '3.00',
    });
    await stage({
      offset: 'K3',
      timestamp: '2026-01-02',
      isdeleted: false,
      open: null,
      tag: 'yy',
      percent: '3.00',
    });
    await db.exec(`UPDATE "${STAGING_SCHEMA}"."${TABLE}" SET "select" = 'chosen' WHERE "offset" = 'K1'`);
    await call('run-2');

    expect(await rows(FINAL_SCHEMA, ', "select"')).toEqual([
      {
        offset: 'K1',
        timestamp: '2026-01-02 00:00:00',
        tag: 'a2',
        percent: '2.50',
        open: true,
        mixed: 'Mixed',
        quoted: 'hi',
        select: 'chosen',
      },
      {
        offset: 'K2',
        timestamp: '2026-01-01 00:00:00',
        tag: 'b',
        percent: null,
        open: false,
        mixed: 'Mixed',
        quoted: 'hi',
        select: null,
      },
      {
        offset: 'K3',
        timestamp: '2026-01-02 00:00:00',
        tag: 'yy',
        percent: '3.00',
        open: null,
        mixed: 'Mixed',
        quoted: 'hi',
        select: null,
      },
    ]);

    // K2 deleted, then a full sync that no longer has K3 (purged at the source).
    await stage({
      offset: 'K2',
      timestamp: '2026-01-03',
      isdeleted: true,
      open: false,
      tag: 'b',
      percent: null,
    });
    await call('run-3');
    await stage({
      offset: 'K1',
      timestamp: '2026-01-02',
      isdeleted: false,
      open: true,
      tag: 'a2',
      percent: '2.50',
    });
    await db.exec(`UPDATE "${STAGING_SCHEMA}"."${TABLE}" SET "select" = 'chosen'`);
    await call('run-4', 'full');

    expect((await rows(FINAL_SCHEMA)).map((row) => row.offset)).toEqual(['K1']);
    const history = await rows(HISTORY_SCHEMA, ', "select", "_is_active" AS active');
    expect(history.map((row) => [row.offset, row.timestamp, row.tag, row.select, row.active])).toEqual([
      ['K1', '2026-01-01 00:00:00', 'a', null, false],
      ['K1', '2026-01-02 00:00:00', 'a2', 'chosen', true],
      ['K2', '2026-01-01 00:00:00', 'b', null, false],
      ['K3', '2026-01-02 00:00:00', 'yy', null, false],
    ]);
    const audit = await db.query(
      `SELECT CAST(rows_inserted AS int) AS rows_inserted, CAST(rows_deleted AS int) AS rows_deleted,
         CAST(rows_purged AS int) AS rows_purged FROM public.consolidation_audit
       WHERE table_name = $1 ORDER BY started_at`,
      [TABLE],
    );
    expect(audit.rows).toEqual([
      { rows_inserted: 2, rows_deleted: 0, rows_purged: 0 },
      { rows_inserted: 2, rows_deleted: 0, rows_purged: 0 },
      { rows_inserted: 0, rows_deleted: 1, rows_purged: 0 },
      { rows_inserted: 0, rows_deleted: 1, rows_purged: 1 },
    ]);
  });
});
