import type { PGlite } from '@electric-sql/pglite';
import { EMULATION_SCHEMA } from '../../local/warehouse/redshift-dialect';
import { createWarehouse } from '../support/warehouse';
import {
  type ConsolidateOptions,
  columnsOf,
  consolidate,
  countsOf,
  FINAL_SCHEMA,
  HISTORY_SCHEMA,
  lastAudit,
  STAGING_SCHEMA,
} from './warehouse-fixture';

// Columns, types and width: what the procedure must handle without naming columns in its SQL.
// One warehouse for the file; each test owns its tables. Test-side SQL is Postgres.
let db: PGlite;
let tableNumber = 0;

function newName(prefix: string): string {
  tableNumber += 1;
  return `${prefix}_${tableNumber}`;
}

async function createTables(
  table: string,
  stagingColumns: string,
  finalColumns = stagingColumns,
): Promise<void> {
  await db.exec(`
    CREATE TABLE ${STAGING_SCHEMA}.${table} (${stagingColumns});
    CREATE TABLE ${FINAL_SCHEMA}.${table} (${finalColumns});
  `);
}

async function finalColumnTypes(table: string): Promise<Record<string, string>> {
  const result = await db.query<{ column_name: string; type: string }>(
    `SELECT a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS type
     FROM pg_attribute a WHERE a.attrelid = CAST($1 AS regclass) AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY a.attnum`,
    [`${FINAL_SCHEMA}.${table}`],
  );
  return Object.fromEntries(result.rows.map((row) => [row.column_name, row.type]));
}

/**
 * Records the length of every statement the procedure EXECUTEs: the local warehouse sends each
 * through redshift_local.to_postgres (its Redshift dialect), so a wrapper around it sees them all.
 */
async function recordExecutedStatements(): Promise<void> {
  await db.exec(`
    CREATE TABLE IF NOT EXISTS public.test_executed_sql (bytes integer, head text);
    ALTER FUNCTION ${EMULATION_SCHEMA}.to_postgres(text) RENAME TO to_postgres_measured;
    CREATE FUNCTION ${EMULATION_SCHEMA}.to_postgres(p_sql text) RETURNS text LANGUAGE plpgsql AS $body$
    BEGIN
      INSERT INTO public.test_executed_sql VALUES (octet_length(p_sql), left(p_sql, 60));
      RETURN ${EMULATION_SCHEMA}.to_postgres_measured(p_sql);
    END;
    $body$;
  `);
}

async function stopRecording(): Promise<void> {
  await db.exec(`
    DROP FUNCTION ${EMULATION_SCHEMA}.to_postgres(text);
    ALTER FUNCTION ${EMULATION_SCHEMA}.to_postgres_measured(text) RENAME TO to_postgres;
  `);
}

/** How a history table's CREATE TABLE begins: it defines every column, so its length follows the columns. */
const HISTORY_CREATE = `CREATE TABLE "${HISTORY_SCHEMA}".`;

/**
 * Longest statement the procedure executed since the last call, in bytes, but for the CREATE
 * TABLE of a history table (`historyCreate`, 0 when none ran).
 */
async function longestExecutedStatement(): Promise<{ bytes: number; historyCreate: number }> {
  const result = await db.query<{ bytes: number | null; history_create: number | null }>(
    `SELECT MAX(CASE WHEN head NOT LIKE $1 THEN bytes END) AS bytes,
            MAX(CASE WHEN head LIKE $1 THEN bytes END) AS history_create
     FROM public.test_executed_sql`,
    [`${HISTORY_CREATE}%`],
  );
  await db.exec('DELETE FROM public.test_executed_sql');
  return {
    bytes: Number(result.rows[0]?.bytes ?? 0),
    historyCreate: Number(result.rows[0]?.history_create ?? 0),
  };
}

/** `count` column names of exactly `length` characters, unique, lower case. */
function columnNames(count: number, length: number): string[] {
  return Array.from({ length: count }, (_, index) => {
    const stem = `f${String(index).padStart(4, '0')}_`;
    return stem + 'x'.repeat(length - stem.length);
  });
}

beforeAll(async () => {
  db = await createWarehouse({ applySql: true });
});

afterAll(async () => {
  await db.close();
});

const BASE = 'id varchar(18), name varchar(255), systemmodstamp timestamp, isdeleted boolean';

describe('consolidate_object: structure', () => {
  test('a column added to staging only is added to final by the procedure, with its type', async () => {
    const table = newName('account');
    await createTables(table, BASE);
    await db.exec(`INSERT INTO ${STAGING_SCHEMA}.${table} VALUES ('001A', 'Edge', '2026-01-01', false)`);
    await consolidate(db, table, { runId: 'run-1' });

    await db.exec(`
      ALTER TABLE ${STAGING_SCHEMA}.${table} ADD COLUMN industry varchar(40);
      ALTER TABLE ${STAGING_SCHEMA}.${table} ADD COLUMN annualrevenue numeric(18,2);
      INSERT INTO ${STAGING_SCHEMA}.${table} VALUES ('001A', 'Edge', '2026-01-01', false, 'Electronics', 1234567.89);
    `);
    await consolidate(db, table, { runId: 'run-2' });

    expect(await finalColumnTypes(table)).toEqual({
      id: 'character varying(18)',
      name: 'character varying(255)',
      systemmodstamp: 'timestamp without time zone',
      isdeleted: 'boolean',
      industry: 'character varying(40)',
      annualrevenue: 'numeric(18,2)',
    });
    const rows = await db.query(
      `SELECT id, industry, CAST(annualrevenue AS text) AS revenue FROM ${FINAL_SCHEMA}.${table}`,
    );
    expect(rows.rows).toEqual([{ id: '001A', industry: 'Electronics', revenue: '1234567.89' }]);
    // Same cursor, new content (the new column): the newer extraction replaced the row.
    expect(countsOf(await lastAudit(db, table))).toMatchObject({ rows_updated: 1, rows_unchanged: 0 });
  });

  test('a CALL that fails leaves the added column out of final, so the retry still sees it missing', async () => {
    const table = newName('account');
    await createTables(table, BASE);
    await db.exec(`
      ALTER TABLE ${STAGING_SCHEMA}.${table} ADD COLUMN industry varchar(40);
      ALTER TABLE ${STAGING_SCHEMA}.${table} ALTER COLUMN name TYPE varchar(300);
      INSERT INTO ${STAGING_SCHEMA}.${table} VALUES ('001A', '${'n'.repeat(300)}', '2026-01-01', false, 'Energy');
    `);

    await expect(consolidate(db, table)).rejects.toThrow(
      `consolidate_object: column name is character varying(300) in ${STAGING_SCHEMA}.${table} but character varying(255) in ${FINAL_SCHEMA}.${table}`,
    );
    expect(Object.keys(await finalColumnTypes(table))).toEqual(['id', 'name', 'systemmodstamp', 'isdeleted']);

    // The pipeline widens final outside a transaction block (a column widened), then retries.
    await db.exec(`ALTER TABLE ${FINAL_SCHEMA}.${table} ALTER COLUMN name TYPE varchar(300)`);
    await consolidate(db, table);
    const rows = await db.query<{ length: number; industry: string }>(
      `SELECT CAST(LENGTH(name) AS int) AS length, industry FROM ${FINAL_SCHEMA}.${table}`,
    );
    expect(rows.rows).toEqual([{ length: 300, industry: 'Energy' }]);
  });

  test('a column of another type in final is a clear error naming both types', async () => {
    const table = newName('opportunity');
    await createTables(
      table,
      'id varchar(18), amount double precision, systemmodstamp timestamp',
      'id varchar(18), amount numeric(18,2), systemmodstamp timestamp',
    );
    await db.exec(`INSERT INTO ${STAGING_SCHEMA}.${table} VALUES ('006A', 0.1, '2026-01-01')`);

    await expect(consolidate(db, table)).rejects.toThrow(
      `consolidate_object: column amount is double precision in ${STAGING_SCHEMA}.${table} but numeric(18,2) in ${FINAL_SCHEMA}.${table}`,
    );
  });

  test('final columns in another order are matched by name', async () => {
    const table = newName('account');
    await createTables(
      table,
      BASE,
      'isdeleted boolean, systemmodstamp timestamp, name varchar(255), id varchar(18)',
    );
    await db.exec(`INSERT INTO ${STAGING_SCHEMA}.${table} VALUES ('001A', 'Edge', '2026-01-01', false),
      ('001B', 'Burlington', '2026-01-01', false)`);
    await consolidate(db, table, { runId: 'run-1' });
    await db.exec(`INSERT INTO ${STAGING_SCHEMA}.${table} VALUES ('001A', 'Edge', '2026-01-01', false),
      ('001B', 'Burlington v2', '2026-01-01', false)`);
    await consolidate(db, table, { runId: 'run-2' });

    const rows = await db.query(`SELECT id, name, isdeleted FROM ${FINAL_SCHEMA}.${table} ORDER BY id`);
    expect(rows.rows).toEqual([
      { id: '001A', name: 'Edge', isdeleted: false },
      { id: '001B', name: 'Burlington v2', isdeleted: false },
    ]);
    expect(countsOf(await lastAudit(db, table))).toMatchObject({ rows_updated: 1, rows_unchanged: 1 });
  });
});

describe('consolidate_object: types', () => {
  const COLUMNS = `id varchar(18), accountid varchar(18), amount numeric(18,2), probability numeric(5,2),
    closedate date, isclosed boolean, employees bigint, systemmodstamp timestamp, isdeleted boolean`;

  test('a currency value 1234567.89 and 0.1 + 0.2 round-trip exactly as DECIMAL', async () => {
    const table = newName('opportunity');
    await createTables(table, COLUMNS);
    await db.exec(`
      INSERT INTO ${STAGING_SCHEMA}.${table} VALUES
        ('006A', '001A', 1234567.89, 12.5, '2026-03-31', false, 9007199254740993, '2026-01-01 10:00:00.123456', false),
        ('006B', '001A', CAST(0.1 AS numeric(18,2)) + CAST(0.2 AS numeric(18,2)), NULL, NULL, NULL, NULL,
         '2026-01-01', false);
    `);
    await consolidate(db, table);

    const rows = await db.query(
      `SELECT id, CAST(amount AS text) AS amount, amount = 0.3 AS is_point_three, CAST(employees AS text) AS employees,
              CAST(systemmodstamp AS text) AS modstamp, CAST(closedate AS text) AS closedate
       FROM ${FINAL_SCHEMA}.${table} ORDER BY id`,
    );
    expect(rows.rows).toEqual([
      {
        id: '006A',
        amount: '1234567.89',
        is_point_three: false,
        employees: '9007199254740993',
        modstamp: '2026-01-01 10:00:00.123456',
        closedate: '2026-03-31',
      },
      {
        id: '006B',
        amount: '0.30',
        is_point_three: true,
        employees: null,
        modstamp: '2026-01-01 00:00:00',
        closedate: null,
      },
    ]);
  });

  test('cursor ties compare every type exactly: DECIMAL, DATE, BOOLEAN, BIGINT, NULLs', async () => {
    const table = newName('opportunity');
    await createTables(table, COLUMNS);
    const day1 = `('006A', '001A', 100.10, 10, '2026-03-31', false, 5, '2026-01-01', false),
      ('006B', '001A', 200.20, NULL, NULL, NULL, NULL, '2026-01-01', false),
      ('006C', '001A', 300.30, 30, '2026-03-31', true, 7, '2026-01-01', false),
      ('006D', '001A', 400.40, 40, '2026-03-31', true, 8, '2026-01-01', false)`;
    await db.exec(`INSERT INTO ${STAGING_SCHEMA}.${table} VALUES ${day1}`);
    await consolidate(db, table, { runId: 'run-1' });

    // Same cursors: 006A and 006B identical (NULLs included), 006C's amount moves by a cent,
    // 006D's boolean flips.
    await db.exec(`INSERT INTO ${STAGING_SCHEMA}.${table} VALUES
      ('006A', '001A', 100.10, 10, '2026-03-31', false, 5, '2026-01-01', false),
      ('006B', '001A', 200.2, NULL, NULL, NULL, NULL, '2026-01-01', false),
      ('006C', '001A', 300.31, 30, '2026-03-31', true, 7, '2026-01-01', false),
      ('006D', '001A', 400.40, 40, '2026-03-31', false, 8, '2026-01-01', false)`);
    await consolidate(db, table, { runId: 'run-2' });

    expect(countsOf(await lastAudit(db, table))).toMatchObject({ rows_updated: 2, rows_unchanged: 2 });
    const rows = await db.query(
      `SELECT id, CAST(amount AS text) AS amount, isclosed FROM ${FINAL_SCHEMA}.${table} ORDER BY id`,
    );
    expect(rows.rows).toEqual([
      { id: '006A', amount: '100.10', isclosed: false },
      { id: '006B', amount: '200.20', isclosed: null },
      { id: '006C', amount: '300.31', isclosed: true },
      { id: '006D', amount: '400.40', isclosed: false },
    ]);
  });
});

describe('consolidate_object: wide objects', () => {
  test('a 1,000-column object (mostly NULL values) consolidates, ties compared over every column', async () => {
    const table = newName('wide');
    const types = ['varchar(255)', 'numeric(18,2)', 'boolean', 'date', 'bigint'];
    const names = columnNames(997, 30);
    const columns = `id varchar(18), systemmodstamp timestamp, isdeleted boolean, ${names
      .map((name, index) => `${name} ${types[index % types.length]}`)
      .join(', ')}`;
    await createTables(table, columns);
    const first = names[0]; // varchar
    const last = names[996]; // numeric (996 % 5 = 1)
    const stageRow = (id: string, cursor: string, firstValue: string | null, lastValue: string | null) =>
      db.query(
        `INSERT INTO ${STAGING_SCHEMA}.${table} (id, systemmodstamp, isdeleted, ${first}, ${last})
         VALUES ($1, $2, false, $3, $4)`,
        [id, cursor, firstValue, lastValue],
      );
    for (const id of ['A', 'B', 'C']) await stageRow(id, '2026-01-01', `first ${id}`, '1.00');
    await consolidate(db, table, { runId: 'run-1' });

    await stageRow('A', '2026-01-02', 'first A v2', '2.00'); // newer
    await stageRow('B', '2026-01-01', 'first B', '1.00'); // tie, identical
    await stageRow('C', '2026-01-01', 'first C', '1.01'); // tie, last column differs
    await stageRow('D', '2026-01-01', 'first D', null); // new, written twice
    await stageRow('D', '2026-01-01', 'first D', null);
    await stageRow('E', '2026-01-01', 'first E (b)', null); // new, two different rows at one cursor
    await stageRow('E', '2026-01-01', 'first E (a)', null);
    await consolidate(db, table, { runId: 'run-2' });

    const rows = await db.query(
      `SELECT id, ${first} AS first, CAST(${last} AS text) AS last FROM ${FINAL_SCHEMA}.${table} ORDER BY id`,
    );
    expect(rows.rows).toEqual([
      { id: 'A', first: 'first A v2', last: '2.00' },
      { id: 'B', first: 'first B', last: '1.00' },
      { id: 'C', first: 'first C', last: '1.01' },
      { id: 'D', first: 'first D', last: null },
      { id: 'E', first: 'first E (a)', last: null },
    ]);
    expect(countsOf(await lastAudit(db, table))).toMatchObject({
      rows_staged: 7,
      duplicates_removed: 2,
      rows_new: 2,
      rows_updated: 2,
      rows_unchanged: 1,
    });
  });

  describe('1,600 columns of long names', () => {
    // Postgres truncates names at 63 bytes (Redshift allows 127): 63-byte names here. The
    // statements' length must not depend on the columns at all, which the narrow object shows.
    const names = columnNames(1597, 63);
    const wideColumns = `id varchar(18), systemmodstamp timestamp, isdeleted boolean, ${names
      .map((name) => `${name} bigint`)
      .join(', ')}`;

    beforeAll(recordExecutedStatements);
    afterAll(stopRecording);

    async function runTwoDays(
      table: string,
      extra: string,
      options: ConsolidateOptions = {},
    ): Promise<{ bytes: number; historyCreate: number }> {
      await db.exec(`INSERT INTO ${STAGING_SCHEMA}.${table} (id, systemmodstamp, isdeleted${extra})
        VALUES ('A', '2026-01-01', false${extra ? ', 1' : ''}), ('B', '2026-01-01', false${extra ? ', 1' : ''})`);
      await consolidate(db, table, { runId: 'run-1', deleteMode: 'soft', ...options });
      await db.exec(`INSERT INTO ${STAGING_SCHEMA}.${table} (id, systemmodstamp, isdeleted${extra})
        VALUES ('A', '2026-01-01', false${extra ? ', 2' : ''}), ('B', '2026-01-02', true${extra ? ', 1' : ''}),
               ('B', '2026-01-02', true${extra ? ', 1' : ''}), ('C', '2026-01-01', false${extra ? ', 3' : ''})`);
      await consolidate(db, table, { runId: 'run-2', deleteMode: 'soft', ...options });
      return longestExecutedStatement();
    }

    test('every statement the procedure builds stays as short as for a 4-column object', async () => {
      // Names of one length: the table name is in the statements.
      const narrow = 'slim_1600';
      await createTables(
        narrow,
        `id varchar(18), systemmodstamp timestamp, isdeleted boolean, ${names[1596]} bigint`,
      );
      const narrowLongest = (await runTwoDays(narrow, `, ${names[1596]}`)).bytes;

      const wide = 'wide_1600';
      await createTables(wide, wideColumns);
      const wideLongest = (await runTwoDays(wide, `, ${names[1596]}`)).bytes;

      const rows = await db.query(
        `SELECT id, isdeleted, CAST(${names[1596]} AS int) AS last FROM ${FINAL_SCHEMA}.${wide} ORDER BY id`,
      );
      expect(rows.rows).toEqual([
        { id: 'A', isdeleted: false, last: 2 },
        { id: 'B', isdeleted: true, last: 1 },
        { id: 'C', isdeleted: false, last: 3 },
      ]);
      expect(countsOf(await lastAudit(db, wide))).toMatchObject({
        rows_updated: 1,
        rows_deleted: 1,
        rows_new: 1,
      });
      expect(narrowLongest).toBeGreaterThan(500); // the recording saw the statements
      expect(wideLongest).toBeLessThan(4_000);
      expect(wideLongest).toBe(narrowLongest);
    });

    test('with history too: 1,597 columns (history adds 3), statements as short as for 4 but the CREATE TABLE of history', async () => {
      const last = names[1593];
      const narrow = 'slim_1597_h';
      await createTables(
        narrow,
        `id varchar(18), systemmodstamp timestamp, isdeleted boolean, ${last} bigint`,
      );
      const narrowRun = await runTwoDays(narrow, `, ${last}`, { historySchema: HISTORY_SCHEMA });

      const wide = 'wide_1597_h';
      await createTables(
        wide,
        `id varchar(18), systemmodstamp timestamp, isdeleted boolean, ${names
          .slice(0, 1594)
          .map((name) => `${name} bigint`)
          .join(', ')}`,
      );
      const wideRun = await runTwoDays(wide, `, ${last}`, { historySchema: HISTORY_SCHEMA });

      const rows = await db.query(
        `SELECT id, CAST(${last} AS int) AS last, _is_active FROM ${HISTORY_SCHEMA}.${wide}
         ORDER BY id, _valid_from`,
      );
      // A's tie (same cursor, new value) is not a new version; B's delete closes its version.
      expect(rows.rows).toEqual([
        { id: 'A', last: 1, _is_active: true },
        { id: 'B', last: 1, _is_active: false },
        { id: 'C', last: 3, _is_active: true },
      ]);
      expect(wideRun.bytes).toBeLessThan(6_000);
      expect(wideRun.bytes).toBe(narrowRun.bytes);
      // The history table's CREATE defines each column (their encodings): as many as fit in one
      // statement, the rest added one by one, in final's order.
      expect(narrowRun.historyCreate).toBeGreaterThan(0);
      expect(wideRun.historyCreate).toBeGreaterThan(60_000);
      expect(wideRun.historyCreate).toBeLessThanOrEqual(65_535);
      expect(await columnsOf(db, HISTORY_SCHEMA, wide)).toEqual([
        '_valid_from',
        '_valid_to',
        '_is_active',
        'id',
        'systemmodstamp',
        'isdeleted',
        ...names.slice(0, 1594),
      ]);

      // 1,600 columns leave no room for history's three: a clear error, not Redshift's.
      await expect(consolidate(db, 'wide_1600', { historySchema: HISTORY_SCHEMA })).rejects.toThrow(
        'consolidate_object: salesforce.wide_1600 has 1600 columns, and its history table would need 3 more: Amazon Redshift allows 1,600 columns per table',
      );
    });

    test('a key column beyond what one CREATE TABLE can define: history is made as a copy of final', async () => {
      // The key is the distribution and sort key, so the CREATE must define it: 900 definitions of
      // 63-byte names before it do not fit in one statement.
      const table = 'wide_key_last';
      const first = names[0];
      await createTables(
        table,
        `${names
          .slice(0, 900)
          .map((name) => `${name} bigint`)
          .join(', ')}, systemmodstamp timestamp, isdeleted boolean, id varchar(18)`,
      );
      await db.exec('DELETE FROM public.test_executed_sql');
      for (const [day, value] of [
        ['2026-01-01', 1],
        ['2026-01-02', 2],
      ] as const) {
        await db.exec(`INSERT INTO ${STAGING_SCHEMA}.${table} (id, systemmodstamp, isdeleted, ${first})
          VALUES ('A', '${day}', false, ${value})`);
        await consolidate(db, table, { runId: `run-${day}`, historySchema: HISTORY_SCHEMA });
      }

      const creates = await db.query<{ head: string }>(
        'SELECT head FROM public.test_executed_sql WHERE head LIKE $1',
        [`${HISTORY_CREATE}%`],
      );
      expect(creates.rows.map((row) => row.head)).toEqual([
        expect.stringMatching(new RegExp(`^CREATE TABLE "${HISTORY_SCHEMA}"\\."${table}" DISTKEY\\(`)),
      ]);
      const rows = await db.query(
        `SELECT id, CAST(${first} AS int) AS first, _is_active FROM ${HISTORY_SCHEMA}.${table} ORDER BY _valid_from`,
      );
      expect(rows.rows).toEqual([
        { id: 'A', first: 1, _is_active: false },
        { id: 'A', first: 2, _is_active: true },
      ]);
      expect(await columnsOf(db, HISTORY_SCHEMA, table)).toEqual([
        '_valid_from',
        '_valid_to',
        '_is_active',
        ...names.slice(0, 900),
        'systemmodstamp',
        'isdeleted',
        'id',
      ]);
    });

    test('columns that must be named but exceed the limit are refused before anything runs', async () => {
      const table = newName('wide');
      const reversed = `${[...names]
        .reverse()
        .map((name) => `${name} bigint`)
        .join(', ')}, isdeleted boolean,
        systemmodstamp timestamp, id varchar(18)`;
      await createTables(table, wideColumns, reversed);
      await db.exec(
        `INSERT INTO ${STAGING_SCHEMA}.${table} (id, systemmodstamp, isdeleted) VALUES ('A', '2026-01-01', false)`,
      );

      await expect(consolidate(db, table)).rejects.toThrow(
        new RegExp(
          `^consolidate_object: ${STAGING_SCHEMA}\\.${table} and ${FINAL_SCHEMA}\\.${table} have their columns in different orders \\(column 1 is id in staging but ${names[1596]} in final\\), so the statements must name all 1600 columns, and that list \\(\\d+ bytes\\) would take the SQL past Redshift's limit of 65535 bytes per statement`,
        ),
      );
      const staged = await db.query(`SELECT COUNT(*) AS n FROM ${STAGING_SCHEMA}.${table}`);
      expect(staged.rows).toEqual([{ n: 1 }]);
      const final = await db.query(`SELECT COUNT(*) AS n FROM ${FINAL_SCHEMA}.${table}`);
      expect(final.rows).toEqual([{ n: 0 }]);
    });
  });
});
