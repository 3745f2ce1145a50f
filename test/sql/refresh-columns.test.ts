import type { PGlite } from '@electric-sql/pglite';
import { EMULATION_SCHEMA, toPostgres } from '../../local/warehouse/redshift-dialect';
import { createWarehouse } from '../support/warehouse';
import { consolidate, FINAL_SCHEMA, STAGING_SCHEMA } from './warehouse-fixture';

// One named case per hazard of a column refresh (issue 21). One warehouse for the file; each test
// owns its tables. Tables are created as the pipeline creates them (Redshift DDL through the local
// warehouse's translation); test-side reads are Postgres.
let db: PGlite;
let tableNumber = 0;

const FINAL_COLUMNS =
  'id varchar(18), name varchar(255), systemmodstamp timestamp, isdeleted boolean, days_open numeric(18,0), tier varchar(40)';
const REFRESH_COLUMNS = 'id varchar(18), days_open numeric(18,0), tier varchar(40)';

interface Row {
  id: string;
  name?: string | null;
  systemmodstamp?: string | null;
  isdeleted?: boolean | null;
  days_open: number | null;
  tier: string | null;
}

interface RefreshAudit {
  rows_staged: number;
  rows_null_key: number;
  duplicates_removed: number;
  keys_matched: number;
  keys_missing: number;
  rows_refreshed: number;
}

function newTable(prefix = 'account'): string {
  tableNumber += 1;
  return `${prefix}_${tableNumber}`;
}

const refreshTableOf = (table: string) => `_refresh_${table}`;

async function createTables(table: string, finalColumns = FINAL_COLUMNS, refreshColumns = REFRESH_COLUMNS) {
  await db.exec(
    toPostgres(`CREATE TABLE ${FINAL_SCHEMA}.${table} (${finalColumns}) DISTKEY(id) SORTKEY(id)`),
  );
  await db.exec(
    toPostgres(
      `CREATE TABLE ${STAGING_SCHEMA}."${refreshTableOf(table)}" (${refreshColumns}) DISTKEY(id) SORTKEY(id)`,
    ),
  );
}

/** Final rows as a consolidation left them: a cursor and a delete flag of their own. */
async function fillFinal(table: string, rows: Row[]): Promise<void> {
  for (const row of rows) {
    await db.query(
      `INSERT INTO ${FINAL_SCHEMA}.${table} (id, name, systemmodstamp, isdeleted, days_open, tier) VALUES ($1, $2, $3, $4, $5, $6)`,
      [
        row.id,
        row.name ?? `Account ${row.id}`,
        row.systemmodstamp ?? '2026-01-01T00:00:00.000Z',
        row.isdeleted ?? false,
        row.days_open,
        row.tier,
      ],
    );
  }
}

/** What the refresh flow extracted: key and formula columns, in the order given. */
async function stageRefresh(
  table: string,
  rows: { id: string | null; days_open: number | null; tier: string | null }[],
) {
  for (const row of rows) {
    await db.query(`INSERT INTO ${STAGING_SCHEMA}."${refreshTableOf(table)}" VALUES ($1, $2, $3)`, [
      row.id,
      row.days_open,
      row.tier,
    ]);
  }
}

async function refresh(table: string, columns = 'days_open,tier', runId = 'run-refresh'): Promise<void> {
  await db.query(
    'CALL refresh_columns(CAST($1 AS varchar), CAST($2 AS varchar), CAST($3 AS varchar), CAST($4 AS varchar), CAST($5 AS varchar), CAST($6 AS varchar), CAST($7 AS varchar))',
    [STAGING_SCHEMA, FINAL_SCHEMA, table, refreshTableOf(table), 'id', columns, runId],
  );
}

async function finalRows(table: string): Promise<Row[]> {
  const result = await db.query<Record<string, unknown>>(
    `SELECT id, name, to_char(systemmodstamp, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS systemmodstamp, isdeleted,
            CAST(days_open AS integer) AS days_open, tier
     FROM ${FINAL_SCHEMA}.${table} ORDER BY id`,
  );
  return result.rows as unknown as Row[];
}

/** Each final row's transaction id: an UPDATE gives the row a new one, an untouched row keeps its own. */
async function rowVersions(table: string): Promise<Record<string, string>> {
  const result = await db.query<{ id: string; version: string }>(
    `SELECT id, CAST(xmin AS text) AS version FROM ${FINAL_SCHEMA}.${table}`,
  );
  return Object.fromEntries(result.rows.map((row) => [row.id, row.version]));
}

async function lastAudit(table: string): Promise<RefreshAudit & { columns: string; refresh_table: string }> {
  const result = await db.query<Record<string, unknown>>(
    'SELECT * FROM public.column_refresh_audit WHERE table_name = $1 ORDER BY finished_at DESC LIMIT 1',
    [table],
  );
  const row = result.rows[0];
  if (!row) throw new Error(`no refresh audit row for ${table}`);
  return {
    columns: String(row.columns),
    refresh_table: String(row.refresh_table),
    rows_staged: Number(row.rows_staged),
    rows_null_key: Number(row.rows_null_key),
    duplicates_removed: Number(row.duplicates_removed),
    keys_matched: Number(row.keys_matched),
    keys_missing: Number(row.keys_missing),
    rows_refreshed: Number(row.rows_refreshed),
  };
}

function countsOf(audit: RefreshAudit): RefreshAudit {
  const { rows_staged, rows_null_key, duplicates_removed, keys_matched, keys_missing, rows_refreshed } =
    audit;
  return { rows_staged, rows_null_key, duplicates_removed, keys_matched, keys_missing, rows_refreshed };
}

async function refreshRowsLeft(table: string): Promise<number> {
  const result = await db.query<{ n: number }>(
    `SELECT CAST(COUNT(*) AS integer) AS n FROM ${STAGING_SCHEMA}."${refreshTableOf(table)}"`,
  );
  return result.rows[0].n;
}

beforeAll(async () => {
  db = await createWarehouse({ applySql: true });
});

afterAll(async () => {
  await db.close();
});

describe('refresh_columns: values', () => {
  test('NULL -> value: a formula that gains a value is written', async () => {
    const table = newTable();
    await createTables(table);
    await fillFinal(table, [{ id: '001A', days_open: null, tier: null }]);
    await stageRefresh(table, [{ id: '001A', days_open: 12, tier: 'Gold' }]);

    await refresh(table);

    expect(await finalRows(table)).toEqual([
      expect.objectContaining({ id: '001A', days_open: 12, tier: 'Gold' }),
    ]);
    expect(countsOf(await lastAudit(table))).toEqual({
      rows_staged: 1,
      rows_null_key: 0,
      duplicates_removed: 0,
      keys_matched: 1,
      keys_missing: 0,
      rows_refreshed: 1,
    });
  });

  test('value -> NULL: a formula that loses its value is cleared', async () => {
    const table = newTable();
    await createTables(table);
    await fillFinal(table, [
      { id: '001A', days_open: 12, tier: 'Gold' },
      { id: '001B', days_open: 3, tier: 'Silver' },
    ]);
    await stageRefresh(table, [
      { id: '001A', days_open: null, tier: 'Gold' },
      { id: '001B', days_open: 3, tier: null },
    ]);

    await refresh(table);

    expect((await finalRows(table)).map(({ id, days_open, tier }) => ({ id, days_open, tier }))).toEqual([
      { id: '001A', days_open: null, tier: 'Gold' },
      { id: '001B', days_open: 3, tier: null },
    ]);
    expect(countsOf(await lastAudit(table))).toMatchObject({ keys_matched: 2, rows_refreshed: 2 });
  });

  test('unchanged values are not rewritten: only the row that differs gets a new version', async () => {
    const table = newTable();
    await createTables(table);
    await fillFinal(table, [
      { id: '001A', days_open: 12, tier: 'Gold' },
      { id: '001B', days_open: null, tier: null },
      { id: '001C', days_open: 5, tier: 'Bronze' },
    ]);
    const before = await rowVersions(table);
    await stageRefresh(table, [
      { id: '001A', days_open: 12, tier: 'Gold' },
      { id: '001B', days_open: null, tier: null },
      { id: '001C', days_open: 6, tier: 'Bronze' },
    ]);

    await refresh(table);

    const after = await rowVersions(table);
    expect(after['001A']).toBe(before['001A']);
    expect(after['001B']).toBe(before['001B']); // NULL = NULL is no change
    expect(after['001C']).not.toBe(before['001C']);
    expect(countsOf(await lastAudit(table))).toMatchObject({ keys_matched: 3, rows_refreshed: 1 });
  });

  test('keys missing from final are ignored and counted, never inserted', async () => {
    const table = newTable();
    await createTables(table);
    await fillFinal(table, [{ id: '001A', days_open: 1, tier: 'Gold' }]);
    await stageRefresh(table, [
      { id: '001A', days_open: 2, tier: 'Gold' },
      { id: '001N', days_open: 9, tier: 'New' },
      { id: '001M', days_open: 9, tier: 'New' },
    ]);

    await refresh(table);

    expect((await finalRows(table)).map((row) => row.id)).toEqual(['001A']);
    expect(countsOf(await lastAudit(table))).toMatchObject({
      rows_staged: 3,
      keys_matched: 1,
      keys_missing: 2,
      rows_refreshed: 1,
    });
  });

  test('only the refreshed columns change: cursor, delete flag, other columns and soft-deleted rows stay', async () => {
    const table = newTable();
    await createTables(table);
    await fillFinal(table, [
      { id: '001A', name: 'Edge', systemmodstamp: '2026-01-05T10:00:00.000Z', days_open: 1, tier: 'Gold' },
      // Soft-deleted in final: the refresh flow excludes deleted records, so it is never staged.
      { id: '001D', isdeleted: true, days_open: 7, tier: 'Gold' },
    ]);
    await stageRefresh(table, [{ id: '001A', days_open: 2, tier: 'Silver' }]);

    await refresh(table, 'tier');

    expect(await finalRows(table)).toEqual([
      {
        id: '001A',
        name: 'Edge',
        systemmodstamp: '2026-01-05T10:00:00.000Z',
        isdeleted: false,
        days_open: 1, // not in the column list
        tier: 'Silver',
      },
      expect.objectContaining({ id: '001D', isdeleted: true, days_open: 7, tier: 'Gold' }),
    ]);
  });

  test('duplicate keys (a retried page written twice): exact copies count once, differing copies resolve the same whatever their order', async () => {
    const results: Row[][] = [];
    for (const order of [
      ['x', 'y'],
      ['y', 'x'],
    ]) {
      const table = newTable();
      await createTables(table);
      await fillFinal(table, [
        { id: '001A', days_open: 1, tier: 'Gold' },
        { id: '001B', days_open: 1, tier: 'Gold' },
      ]);
      const copies = {
        x: { id: '001B', days_open: 4, tier: 'Silver' },
        y: { id: '001B', days_open: 3, tier: null },
      };
      await stageRefresh(table, [
        { id: '001A', days_open: 2, tier: 'Gold' },
        { id: '001A', days_open: 2, tier: 'Gold' },
        ...order.map((key) => copies[key as 'x' | 'y']),
        { id: null, days_open: 5, tier: 'None' },
      ]);

      await refresh(table);

      results.push(await finalRows(table));
      expect(countsOf(await lastAudit(table))).toEqual({
        rows_staged: 5,
        rows_null_key: 1,
        duplicates_removed: 2,
        keys_matched: 2,
        keys_missing: 0,
        rows_refreshed: 2,
      });
      expect(await refreshRowsLeft(table)).toBe(0);
    }
    // Column by column: NULL if a copy is NULL, else the lowest value.
    expect(results[0].map(({ id, days_open, tier }) => ({ id, days_open, tier }))).toEqual([
      { id: '001A', days_open: 2, tier: 'Gold' },
      { id: '001B', days_open: 3, tier: null },
    ]);
    expect(results[1]).toEqual(results[0]);
  });

  test('a refreshed value is cast to the final column type when the refresh table holds it narrower', async () => {
    const table = newTable();
    await createTables(table, FINAL_COLUMNS, 'id varchar(18), days_open integer, tier varchar(10)');
    await fillFinal(table, [{ id: '001A', days_open: 1, tier: 'Gold' }]);
    await stageRefresh(table, [{ id: '001A', days_open: 40, tier: 'Platinum' }]);

    await refresh(table);

    expect(await finalRows(table)).toEqual([
      expect.objectContaining({ id: '001A', days_open: 40, tier: 'Platinum' }),
    ]);
  });
});

describe('refresh_columns: runs', () => {
  test('a second identical CALL changes nothing and audits zeros: the refresh table was emptied', async () => {
    const table = newTable();
    await createTables(table);
    await fillFinal(table, [{ id: '001A', days_open: 1, tier: 'Gold' }]);
    await stageRefresh(table, [{ id: '001A', days_open: 2, tier: 'Gold' }]);
    await refresh(table);
    const versions = await rowVersions(table);

    await refresh(table);

    expect(await rowVersions(table)).toEqual(versions);
    expect(countsOf(await lastAudit(table))).toEqual({
      rows_staged: 0,
      rows_null_key: 0,
      duplicates_removed: 0,
      keys_matched: 0,
      keys_missing: 0,
      rows_refreshed: 0,
    });
  });

  test("the next consolidation after a refresh replaces only the rows whose cursor moved; another object's refresh rows stay", async () => {
    // A refresh, then the next run's load of the same object (the pipeline runs them one after another).
    const table = newTable();
    await createTables(table);
    await db.exec(
      toPostgres(`CREATE TABLE ${STAGING_SCHEMA}.${table} (${FINAL_COLUMNS}) DISTKEY(id) SORTKEY(id)`),
    );
    await fillFinal(table, [
      { id: '001A', systemmodstamp: '2026-01-01T00:00:00.000Z', days_open: 1, tier: 'Gold' },
      { id: '001B', systemmodstamp: '2026-01-01T00:00:00.000Z', days_open: 1, tier: 'Gold' },
    ]);
    // Another object's refresh rows sit in its own refresh table: this CALL never reads them.
    const other = newTable('contact');
    await createTables(other);
    await fillFinal(other, [{ id: '003A', days_open: 1, tier: 'Gold' }]);
    await stageRefresh(other, [{ id: '003A', days_open: 9, tier: 'Gold' }]);
    await stageRefresh(table, [
      { id: '001A', days_open: 2, tier: 'Gold' },
      { id: '001B', days_open: 2, tier: 'Gold' },
    ]);

    await refresh(table);
    // Next run: 001B changed at the source (cursor moved); its newer version replaces the whole row.
    await db.query(
      `INSERT INTO ${STAGING_SCHEMA}.${table} (id, name, systemmodstamp, isdeleted, days_open, tier)
       VALUES ('001B', 'Renamed', '2026-01-02T00:00:00.000Z', false, 3, 'Silver')`,
    );
    await consolidate(db, table);

    expect(
      (await finalRows(table)).map(({ id, name, days_open, tier }) => ({ id, name, days_open, tier })),
    ).toEqual([
      { id: '001A', name: 'Account 001A', days_open: 2, tier: 'Gold' },
      { id: '001B', name: 'Renamed', days_open: 3, tier: 'Silver' },
    ]);
    expect(await refreshRowsLeft(other)).toBe(1);
    expect(await finalRows(other)).toEqual([expect.objectContaining({ id: '003A', days_open: 1 })]);
  });

  test('clears the refresh_pending flag of the refreshed columns only', async () => {
    const table = newTable();
    await createTables(table);
    await db.query(
      `INSERT INTO public.source_column_types VALUES
         ($1, $2, 'days_open', 'DECIMAL(18,0)', true, '2026-01-01'),
         ($1, $2, 'tier', 'VARCHAR(40)', true, '2026-01-01'),
         ($1, $2, 'name', 'VARCHAR(255)', true, '2026-01-01')`,
      [FINAL_SCHEMA, table],
    );

    await refresh(table, 'days_open, tier');

    const flags = await db.query<{ column_name: string; refresh_pending: boolean }>(
      'SELECT column_name, refresh_pending FROM public.source_column_types WHERE table_name = $1 ORDER BY column_name',
      [table],
    );
    expect(flags.rows).toEqual([
      { column_name: 'days_open', refresh_pending: false },
      { column_name: 'name', refresh_pending: true },
      { column_name: 'tier', refresh_pending: false },
    ]);
    expect(await lastAudit(table)).toMatchObject({
      columns: 'days_open, tier',
      refresh_table: `_refresh_${table}`,
    });
  });

  test.each([
    [
      'a column final lacks',
      { columns: 'days_open,nope' },
      /nope is not a column of salesforce\.account_\d+/,
    ],
    ['the key column', { columns: 'id,tier' }, /id is the primary key of salesforce\.account_\d+/],
    ['a column listed twice', { columns: 'tier,days_open,tier' }, /column tier is listed twice/],
    ['an empty list', { columns: ' ' }, /no columns to refresh/],
    ['a quoted identifier', { columns: 'tier"; DROP TABLE x; --' }, /invalid column/],
    [
      'a refresh table that is not _refresh_<name>',
      { refreshTable: 'account' },
      /invalid refresh_table 'account'/,
    ],
  ] as [string, { columns?: string; refreshTable?: string }, RegExp][])(
    'refuses %s before changing anything',
    async (_, { columns, refreshTable }, message) => {
      const table = newTable();
      await createTables(table);
      await fillFinal(table, [{ id: '001A', days_open: 1, tier: 'Gold' }]);
      await stageRefresh(table, [{ id: '001A', days_open: 2, tier: 'Silver' }]);

      const act = db.query(
        'CALL refresh_columns(CAST($1 AS varchar), CAST($2 AS varchar), CAST($3 AS varchar), CAST($4 AS varchar), CAST($5 AS varchar), CAST($6 AS varchar), CAST($7 AS varchar))',
        [
          STAGING_SCHEMA,
          FINAL_SCHEMA,
          table,
          refreshTable ?? refreshTableOf(table),
          'id',
          columns ?? 'tier',
          'run-bad',
        ],
      );

      await expect(act).rejects.toThrow(message);
      expect(await finalRows(table)).toEqual([expect.objectContaining({ days_open: 1, tier: 'Gold' })]);
      expect(await refreshRowsLeft(table)).toBe(1);
    },
  );
});

describe('refresh_columns: wide tables and reserved words', () => {
  /** `count` columns besides key, cursor and delete flag, every type the pipeline makes. */
  function wideColumns(count: number, name: (index: number) => string): string[] {
    const types = ['varchar(80)', 'numeric(18,2)', 'boolean', 'date', 'bigint', 'timestamp'];
    return Array.from({ length: count }, (_, index) => `${name(index)} ${types[index % types.length]}`);
  }

  test('a 600-column table refreshes its 3 formula columns; the other 597 columns stay', async () => {
    const table = newTable('wide');
    const fields = wideColumns(597, (index) => `field_${String(index).padStart(3, '0')}__c`);
    await db.exec(
      toPostgres(
        `CREATE TABLE ${FINAL_SCHEMA}.${table} (id varchar(18), systemmodstamp timestamp, isdeleted boolean, ${fields.join(', ')},
          score__c numeric(18,2), "open" varchar(40), "percent" numeric(5,2)) DISTKEY(id) SORTKEY(id)`,
      ),
    );
    await db.exec(
      toPostgres(
        `CREATE TABLE ${STAGING_SCHEMA}."${refreshTableOf(table)}" (id varchar(18), score__c numeric(18,2), "open" varchar(40),
          "percent" numeric(5,2)) DISTKEY(id) SORTKEY(id)`,
      ),
    );
    await db.exec(`
      INSERT INTO ${FINAL_SCHEMA}.${table} (id, systemmodstamp, isdeleted, field_000__c, field_001__c, score__c, open, percent)
      SELECT 'W' || lpad(CAST(i AS text), 17, '0'), timestamp '2026-01-01', false, 'keep ' || i, i, i, 'no', 10
      FROM generate_series(1, 200) i;
      INSERT INTO ${STAGING_SCHEMA}."${refreshTableOf(table)}"
      SELECT 'W' || lpad(CAST(i AS text), 17, '0'), CASE WHEN i % 10 = 0 THEN i + 0.5 ELSE i END,
             CASE WHEN i % 20 = 0 THEN 'yes' ELSE 'no' END, 10
      FROM generate_series(1, 200) i;
    `);

    // `open` and `percent` are reserved in Redshift but not in Postgres: quoted all the same.
    await refresh(table, 'score__c,open,percent');

    const summary = await db.query<Record<string, number>>(
      `SELECT CAST(COUNT(*) AS integer) AS rows,
              CAST(SUM(CASE WHEN score__c <> FLOOR(score__c) THEN 1 ELSE 0 END) AS integer) AS halves,
              CAST(SUM(CASE WHEN open = 'yes' THEN 1 ELSE 0 END) AS integer) AS opened,
              CAST(SUM(CASE WHEN field_000__c LIKE 'keep %' AND field_001__c IS NOT NULL THEN 1 ELSE 0 END) AS integer) AS kept
       FROM ${FINAL_SCHEMA}.${table}`,
    );
    expect(summary.rows[0]).toEqual({ rows: 200, halves: 20, opened: 10, kept: 200 });
    expect(countsOf(await lastAudit(table))).toMatchObject({ keys_matched: 200, rows_refreshed: 20 });
  });

  test("many long-named columns at once: every statement stays within Redshift's 65,535 bytes", async () => {
    const table = newTable('many');
    const names = Array.from(
      { length: 150 },
      (_, index) => `f${String(index).padStart(3, '0')}_${'x'.repeat(55)}`,
    );
    const definitions = names.map((name) => `${name} varchar(20)`).join(', ');
    await db.exec(
      toPostgres(
        `CREATE TABLE ${FINAL_SCHEMA}.${table} (id varchar(18), ${definitions}) DISTKEY(id) SORTKEY(id)`,
      ),
    );
    await db.exec(
      toPostgres(
        `CREATE TABLE ${STAGING_SCHEMA}."${refreshTableOf(table)}" (id varchar(18), ${definitions}) DISTKEY(id) SORTKEY(id)`,
      ),
    );
    await db.exec(`
      INSERT INTO ${FINAL_SCHEMA}.${table} (id) VALUES ('M1'), ('M2');
      INSERT INTO ${STAGING_SCHEMA}."${refreshTableOf(table)}" (id, ${names[0]}, ${names[149]}) VALUES ('M1', 'first', 'last');
      INSERT INTO ${STAGING_SCHEMA}."${refreshTableOf(table)}" (id) VALUES ('M2');
    `);
    // Every statement the procedure EXECUTEs goes through the warehouse's to_postgres: measure them there.
    await db.exec(`
      CREATE TABLE public.test_refresh_sql (bytes integer);
      ALTER FUNCTION ${EMULATION_SCHEMA}.to_postgres(text) RENAME TO to_postgres_measured;
      CREATE FUNCTION ${EMULATION_SCHEMA}.to_postgres(p_sql text) RETURNS text LANGUAGE plpgsql AS $body$
      BEGIN
        INSERT INTO public.test_refresh_sql VALUES (octet_length(p_sql));
        RETURN ${EMULATION_SCHEMA}.to_postgres_measured(p_sql);
      END;
      $body$;
    `);
    try {
      await refresh(table, names.join(','));
    } finally {
      await db.exec(`
        DROP FUNCTION ${EMULATION_SCHEMA}.to_postgres(text);
        ALTER FUNCTION ${EMULATION_SCHEMA}.to_postgres_measured(text) RENAME TO to_postgres;
      `);
    }

    const measured = await db.query<{ longest: number; statements: number }>(
      'SELECT MAX(bytes) AS longest, CAST(COUNT(*) AS integer) AS statements FROM public.test_refresh_sql',
    );
    // One comparison of all 150 columns would take about 67 KB: it was split over statements.
    expect(measured.rows[0].longest).toBeLessThanOrEqual(65_535);
    const values = await db.query(
      `SELECT id, ${names[0]} AS first, ${names[149]} AS last FROM ${FINAL_SCHEMA}.${table} ORDER BY id`,
    );
    expect(values.rows).toEqual([
      { id: 'M1', first: 'first', last: 'last' },
      { id: 'M2', first: null, last: null },
    ]);
    expect(countsOf(await lastAudit(table))).toMatchObject({ keys_matched: 2, rows_refreshed: 1 });
  });
});
