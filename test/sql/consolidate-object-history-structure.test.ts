import type { PGlite } from '@electric-sql/pglite';
import { type ColumnType, renderColumnType, type SourceField } from '../../lambdas/common/source-fields';
import {
  existingTablesFromRows,
  existingTablesParameters,
  planTableChanges,
  SOURCE_COLUMN_TYPES_SQL,
  structureSyncStatements,
  TABLE_COLUMNS_SQL,
  type TableChanges,
} from '../../lambdas/common/structure-sync';
import { substituteNamedParameters } from '../../local/stand-ins/sql-parameters';
import { EMULATION_SCHEMA, toPostgres } from '../../local/warehouse/redshift-dialect';
import { createWarehouse } from '../support/warehouse';
import {
  AUDIT_TABLE,
  account,
  columnsOf,
  consolidate,
  createObjectTables,
  deletedAccount,
  FINAL_SCHEMA,
  HISTORY_SCHEMA,
  historyFigures,
  historyRows,
  historyViolations,
  OPEN_END,
  STAGING_SCHEMA,
  stage,
  toIso,
  version,
} from './warehouse-fixture';

// History beside the structure sync: a column rebuilt in final and history (its type changed),
// columns in another order, the history table's DDL, and how a CALL knows whether the previous
// one maintained the history table (its comment, not the audit table every CALL writes). One
// warehouse for the file, every statement the procedure EXECUTEs recorded; each test owns its
// tables.
let db: PGlite;
let tableNumber = 0;

const layout = { stagingSchema: STAGING_SCHEMA, finalSchema: FINAL_SCHEMA };

function newTable(): string {
  tableNumber += 1;
  return `account_s${tableNumber}`;
}

function field(name: string, sourceType: string, columnType: ColumnType): SourceField {
  return {
    name,
    sourceType,
    column: name.toLowerCase(),
    redshiftType: renderColumnType(columnType),
    columnType,
  };
}

const ID = field('Id', 'id', { kind: 'varchar', length: 18 });
const NAME = field('Name', 'string', { kind: 'varchar', length: 255 });
const STAMP = field('SystemModstamp', 'datetime', { kind: 'timestamp' });
const DELETED = field('IsDeleted', 'boolean', { kind: 'boolean' });
/** Code__c, first a number, then text: INTEGER cannot be widened to VARCHAR, so it is rebuilt. */
const CODE_NUMBER = field('Code__c', 'int', { kind: 'integer' });
const CODE_TEXT = field('Code__c', 'string', { kind: 'varchar', length: 40 });
const INDUSTRY = field('Industry', 'picklist', { kind: 'varchar', length: 160 });

/** Runs a statement as the Data API would: a list is one transaction block, a single statement is not. */
async function runStatement(sql: string | string[]): Promise<void> {
  if (typeof sql === 'string') {
    await db.exec(toPostgres(sql));
    return;
  }
  await db.transaction(async (tx) => {
    for (const statement of sql) await tx.exec(toPostgres(statement, { inTransactionBlock: true }));
  });
}

async function query(sql: string, parameters: Record<string, string>): Promise<Record<string, unknown>[]> {
  const text = substituteNamedParameters(
    sql,
    Object.entries(parameters).map(([name, value]) => ({ name, value })),
  );
  return (await db.query<Record<string, unknown>>(text)).rows;
}

/** The structure sync of StartExtract for these fields: its real plan, run in its order. */
async function syncStructure(table: string, fields: SourceField[]): Promise<TableChanges> {
  const parameters = existingTablesParameters(layout, table);
  const existing = existingTablesFromRows(
    layout,
    (await query(TABLE_COLUMNS_SQL, parameters)) as never,
    (await query(SOURCE_COLUMN_TYPES_SQL, parameters)) as never,
  );
  const changes = planTableChanges(layout, table, fields, existing, {
    objectName: 'Account',
    primaryKeyColumn: 'id',
  });
  for (const { sql } of structureSyncStatements(changes)) await runStatement(sql);
  return changes;
}

/** Stages rows by column name, as AppFlow would. */
async function stageRows(table: string, rows: Record<string, unknown>[]): Promise<void> {
  for (const row of rows) {
    const columns = Object.keys(row);
    await db.query(
      `INSERT INTO ${STAGING_SCHEMA}.${table} (${columns.join(', ')}) VALUES (${columns
        .map((_, index) => `$${index + 1}`)
        .join(', ')})`,
      Object.values(row),
    );
  }
}

function consolidateWithHistory(table: string, runId: string, historySchema = HISTORY_SCHEMA): Promise<void> {
  return consolidate(db, table, { runId, deleteMode: 'soft', historySchema });
}

function day(date: string): string {
  return `${date}T00:00:00.000Z`;
}

/** History rows of the test's columns, code__c as text (it is INTEGER before the rebuild). */
async function historyOf(table: string, { withIndustry = false } = {}): Promise<Record<string, unknown>[]> {
  const result = await db.query<Record<string, unknown>>(
    `SELECT id, CAST(code__c AS text) AS code__c${withIndustry ? ', industry' : ''}, _valid_from, _valid_to, _is_active
     FROM ${HISTORY_SCHEMA}.${table} ORDER BY id, _valid_from`,
  );
  return result.rows.map((row) => ({
    ...row,
    _valid_from: toIso(row._valid_from),
    _valid_to: toIso(row._valid_to),
  }));
}

function versionOf(row: Record<string, unknown>, from: string, to?: string): Record<string, unknown> {
  return {
    ...row,
    _valid_from: day(from),
    _valid_to: to === undefined ? OPEN_END : day(to),
    _is_active: to === undefined,
  };
}

async function droppedColumns(schema: string, table: string): Promise<number> {
  const result = await db.query<{ n: number }>(
    `SELECT COUNT(*)::int AS n FROM pg_attribute WHERE attrelid = CAST($1 AS regclass) AND attisdropped`,
    [`${schema}.${table}`],
  );
  return result.rows[0]?.n ?? 0;
}

async function tableComment(schema: string, table: string): Promise<string | null> {
  const result = await db.query<{ comment: string | null }>(
    `SELECT obj_description(CAST($1 AS regclass), 'pg_class') AS comment`,
    [`${schema}.${table}`],
  );
  return result.rows[0]?.comment ?? null;
}

/** Every statement the procedure EXECUTEd since the last call: the local warehouse sends each through redshift_local.to_postgres. */
async function executedStatements(): Promise<string[]> {
  const result = await db.query<{ statement: string }>(
    'SELECT statement FROM public.test_executed_sql ORDER BY position',
  );
  await db.exec('DELETE FROM public.test_executed_sql');
  return result.rows.map((row) => row.statement);
}

beforeAll(async () => {
  db = await createWarehouse({ applySql: true });
  await db.exec(`
    CREATE TABLE public.test_executed_sql (position serial, statement varchar(65535));
    ALTER FUNCTION ${EMULATION_SCHEMA}.to_postgres(text) RENAME TO to_postgres_recorded;
    CREATE FUNCTION ${EMULATION_SCHEMA}.to_postgres(p_sql text) RETURNS text LANGUAGE plpgsql AS $body$
    BEGIN
      INSERT INTO public.test_executed_sql (statement) VALUES (p_sql);
      RETURN ${EMULATION_SCHEMA}.to_postgres_recorded(p_sql);
    END;
    $body$;
  `);
});

afterAll(async () => {
  await db.close();
});

describe('consolidate_object with history: a column the structure sync rebuilt', () => {
  test('the CALLs after the rebuild keep history, and a column added later reaches it too', async () => {
    const table = newTable();
    await syncStructure(table, [ID, NAME, STAMP, DELETED, CODE_NUMBER]);
    await stageRows(table, [
      { id: '001A', name: 'Edge', systemmodstamp: day('2026-01-01'), isdeleted: false, code__c: 1 },
      { id: '001B', name: 'Burlington', systemmodstamp: day('2026-01-01'), isdeleted: false, code__c: 2 },
    ]);
    await consolidateWithHistory(table, 'run-1');
    await stageRows(table, [
      { id: '001A', name: 'Edge', systemmodstamp: day('2026-01-02'), isdeleted: false, code__c: 3 },
    ]);
    await consolidateWithHistory(table, 'run-2');

    // Code__c became text: the structure sync rebuilds it in final and in history (added anew,
    // copied, the old one dropped, renamed), which leaves a dropped column in both.
    const changes = await syncStructure(table, [ID, NAME, STAMP, DELETED, CODE_TEXT]);
    expect(changes.columnChanges.map(({ table: changed, column, how }) => [changed, column, how])).toEqual([
      [`${FINAL_SCHEMA}.${table}`, 'code__c', 'rebuild'],
      [`${HISTORY_SCHEMA}.${table}`, 'code__c', 'rebuild'],
    ]);
    expect([await droppedColumns(FINAL_SCHEMA, table), await droppedColumns(HISTORY_SCHEMA, table)]).toEqual([
      1, 1,
    ]);

    // The second CALL since: A changed, B extracted again unchanged (the lookback overlap).
    await stageRows(table, [
      { id: '001A', name: 'Edge', systemmodstamp: day('2026-01-03'), isdeleted: false, code__c: 'A-4' },
      { id: '001B', name: 'Burlington', systemmodstamp: day('2026-01-01'), isdeleted: false, code__c: '2' },
    ]);
    await consolidateWithHistory(table, 'run-3');
    expect(await historyFigures(db, table)).toEqual({ added: 1, closed: 1 });
    // The third: B deleted, C new.
    await stageRows(table, [
      { id: '001B', name: 'Burlington', systemmodstamp: day('2026-01-04'), isdeleted: true, code__c: '2' },
      { id: '001C', name: 'Pyramid', systemmodstamp: day('2026-01-04'), isdeleted: false, code__c: 'C-1' },
    ]);
    await consolidateWithHistory(table, 'run-4');
    expect(await historyFigures(db, table)).toEqual({ added: 1, closed: 1 });

    // A field added after the rebuild: structure sync adds it to final and staging, the CALL to history.
    await syncStructure(table, [ID, NAME, STAMP, DELETED, CODE_TEXT, INDUSTRY]);
    await stageRows(table, [
      {
        id: '001C',
        name: 'Pyramid',
        systemmodstamp: day('2026-01-05'),
        isdeleted: false,
        code__c: 'C-1',
        industry: 'Energy',
      },
    ]);
    await consolidateWithHistory(table, 'run-5');

    expect(await historyOf(table, { withIndustry: true })).toEqual([
      versionOf({ id: '001A', code__c: '1', industry: null }, '2026-01-01', '2026-01-02'),
      versionOf({ id: '001A', code__c: '3', industry: null }, '2026-01-02', '2026-01-03'),
      versionOf({ id: '001A', code__c: 'A-4', industry: null }, '2026-01-03'),
      versionOf({ id: '001B', code__c: '2', industry: null }, '2026-01-01', '2026-01-04'),
      versionOf({ id: '001C', code__c: 'C-1', industry: null }, '2026-01-04', '2026-01-05'),
      versionOf({ id: '001C', code__c: 'C-1', industry: 'Energy' }, '2026-01-05'),
    ]);
    expect(historyViolations(await historyRows(db, table))).toEqual([]);
    expect(await columnsOf(db, HISTORY_SCHEMA, table)).toEqual([
      '_valid_from',
      '_valid_to',
      '_is_active',
      'id',
      'name',
      'systemmodstamp',
      'isdeleted',
      'code__c',
      'industry',
    ]);
  });

  test('history off while final gained a column, then a rebuild: history catches up and takes rows by name', async () => {
    const table = newTable();
    await syncStructure(table, [ID, NAME, STAMP, DELETED, CODE_NUMBER]);
    await stageRows(table, [
      { id: '001A', name: 'Edge', systemmodstamp: day('2026-01-01'), isdeleted: false, code__c: 1 },
    ]);
    await consolidateWithHistory(table, 'run-1');

    // History switched off; Industry added to final (history never saw it), then Code__c rebuilt.
    await syncStructure(table, [ID, NAME, STAMP, DELETED, CODE_NUMBER, INDUSTRY]);
    await stageRows(table, [
      {
        id: '001A',
        name: 'Edge',
        systemmodstamp: day('2026-01-02'),
        isdeleted: false,
        code__c: 2,
        industry: 'Energy',
      },
    ]);
    await consolidate(db, table, { runId: 'run-2', deleteMode: 'soft' });
    await syncStructure(table, [ID, NAME, STAMP, DELETED, CODE_TEXT, INDUSTRY]);
    expect((await columnsOf(db, FINAL_SCHEMA, table)).slice(-2)).toEqual(['industry', 'code__c']);

    // On again: history gets Industry appended, after code__c, so its order is not final's.
    await stageRows(table, [
      {
        id: '001B',
        name: 'Burlington',
        systemmodstamp: day('2026-01-03'),
        isdeleted: false,
        code__c: 'B-1',
        industry: 'Retail',
      },
    ]);
    await consolidateWithHistory(table, 'run-3');

    expect((await columnsOf(db, HISTORY_SCHEMA, table)).slice(-2)).toEqual(['code__c', 'industry']);
    // Caught up with final's row of A (by name), then B from staging (by name).
    expect(await historyOf(table, { withIndustry: true })).toEqual([
      versionOf({ id: '001A', code__c: '1', industry: null }, '2026-01-01', '2026-01-02'),
      versionOf({ id: '001A', code__c: '2', industry: 'Energy' }, '2026-01-02'),
      versionOf({ id: '001B', code__c: 'B-1', industry: 'Retail' }, '2026-01-03'),
    ]);
    expect(await historyFigures(db, table)).toEqual({ added: 2, closed: 1 });

    // And the next CALL too.
    await stageRows(table, [
      {
        id: '001B',
        name: 'Burlington',
        systemmodstamp: day('2026-01-04'),
        isdeleted: false,
        code__c: 'B-2',
        industry: 'Retail',
      },
    ]);
    await consolidateWithHistory(table, 'run-4');
    expect((await historyOf(table, { withIndustry: true })).slice(-2)).toEqual([
      versionOf({ id: '001B', code__c: 'B-1', industry: 'Retail' }, '2026-01-03', '2026-01-04'),
      versionOf({ id: '001B', code__c: 'B-2', industry: 'Retail' }, '2026-01-04'),
    ]);
  });
});

describe('consolidate_object with history: the history table', () => {
  test('is created with each column defined: text ENCODE ZSTD but the key, then seeded', async () => {
    const table = newTable();
    await createObjectTables(db, table);
    await stage(db, table, [account('001A', 'Edge', '2026-01-01')]);
    await executedStatements();

    await consolidateWithHistory(table, 'run-1');

    const creates = (await executedStatements()).filter((sql) =>
      sql.startsWith(`CREATE TABLE "${HISTORY_SCHEMA}"`),
    );
    expect(creates).toEqual([
      `CREATE TABLE "${HISTORY_SCHEMA}"."${table}" ("_valid_from" timestamp, "_valid_to" timestamp, "_is_active" boolean, "id" character varying(18), "name" character varying(255) ENCODE ZSTD, "systemmodstamp" timestamp without time zone, "isdeleted" boolean) DISTKEY("id") SORTKEY("id", "_valid_from")`,
    ]);
    const types = await db.query<{ column: string }>(
      `SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod) AS column FROM pg_attribute a
       WHERE a.attrelid = CAST($1 AS regclass) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [`${HISTORY_SCHEMA}.${table}`],
    );
    expect(types.rows.map((row) => row.column)).toEqual([
      '_valid_from timestamp without time zone',
      '_valid_to timestamp without time zone',
      '_is_active boolean',
      'id character varying(18)',
      'name character varying(255)',
      'systemmodstamp timestamp without time zone',
      'isdeleted boolean',
    ]);
    expect(await historyRows(db, table)).toEqual([version(account('001A', 'Edge', '2026-01-01'))]);
  });

  test('one whose validity columns come first but in another order takes versions by name, never swapping start and end', async () => {
    // Prepare: a history table made elsewhere with _valid_to before _valid_from
    const table = newTable();
    await createObjectTables(db, table);
    await stage(db, table, [account('001A', 'Edge', '2026-01-01')]);
    await consolidateWithHistory(table, 'run-1');
    const mark = (await tableComment(HISTORY_SCHEMA, table)) ?? '';
    await db.exec(`
      CREATE TABLE ${HISTORY_SCHEMA}.${table}_swapped AS
        SELECT _valid_to, _valid_from, _is_active, id, name, systemmodstamp, isdeleted FROM ${HISTORY_SCHEMA}.${table};
      COMMENT ON TABLE ${HISTORY_SCHEMA}.${table}_swapped IS '${mark.replaceAll("'", "''")}';
      DROP TABLE ${HISTORY_SCHEMA}.${table};
      ALTER TABLE ${HISTORY_SCHEMA}.${table}_swapped RENAME TO ${table};
    `);
    await stage(db, table, [account('001A', 'Edge Communications', '2026-01-02')]);

    // Act
    await consolidateWithHistory(table, 'run-2');

    // Assess
    expect(await historyRows(db, table)).toEqual([
      version(account('001A', 'Edge', '2026-01-01'), '2026-01-02'),
      version(account('001A', 'Edge Communications', '2026-01-02')),
    ]);
    expect(historyViolations(await historyRows(db, table))).toEqual([]);
  });
});

describe('consolidate_object with history: whether the previous CALL maintained it', () => {
  const ROLE = 'test_consolidator';

  test('the CALL reads no audit table (SELECT on it revoked), and history off for a run still catches up', async () => {
    await db.exec(`
      CREATE ROLE ${ROLE};
      GRANT USAGE, CREATE ON SCHEMA ${STAGING_SCHEMA}, ${FINAL_SCHEMA}, ${HISTORY_SCHEMA} TO ${ROLE};
      GRANT USAGE ON SCHEMA ${EMULATION_SCHEMA} TO ${ROLE};
      GRANT INSERT ON ${AUDIT_TABLE}, public.test_executed_sql TO ${ROLE};
      GRANT USAGE ON SEQUENCE public.test_executed_sql_position_seq TO ${ROLE};
      REVOKE SELECT ON ${AUDIT_TABLE} FROM ${ROLE};
    `);
    const privileges = await db.query<{ can_select: boolean; can_insert: boolean }>(
      `SELECT has_table_privilege($1, $2, 'SELECT') AS can_select, has_table_privilege($1, $2, 'INSERT') AS can_insert`,
      [ROLE, AUDIT_TABLE],
    );
    expect(privileges.rows).toEqual([{ can_select: false, can_insert: true }]);

    const table = newTable();
    await db.exec(`SET ROLE ${ROLE}`);
    try {
      await createObjectTables(db, table);
      await stage(db, table, [
        account('001A', 'Edge', '2026-01-01'),
        account('001B', 'Burlington', '2026-01-01'),
      ]);
      await consolidateWithHistory(table, 'run-1');
      await stage(db, table, [
        account('001A', 'Edge v2', '2026-01-02'),
        account('001C', 'Pyramid', '2026-01-02'),
      ]);
      await consolidateWithHistory(table, 'run-2');

      // Switched off for a run: A changed, B deleted (soft: final keeps it flagged).
      await stage(db, table, [
        account('001A', 'Edge v3', '2026-01-03'),
        deletedAccount('001B', 'Burlington', '2026-01-03'),
      ]);
      await consolidate(db, table, { runId: 'run-3', deleteMode: 'soft' });
      expect(await tableComment(HISTORY_SCHEMA, table)).toBe(
        `History of ${FINAL_SCHEMA}.${table}, not maintained since run run-3 (the next CALL that keeps history here catches it up with the final table)`,
      );

      // On again: it catches up with final first, then takes the new row.
      await stage(db, table, [account('001D', 'Dickenson', '2026-01-04')]);
      await consolidateWithHistory(table, 'run-4');
    } finally {
      await db.exec('RESET ROLE');
    }

    expect(await historyRows(db, table)).toEqual([
      version(account('001A', 'Edge', '2026-01-01'), '2026-01-02'),
      version(account('001A', 'Edge v2', '2026-01-02'), '2026-01-03'),
      version(account('001A', 'Edge v3', '2026-01-03')),
      version(account('001B', 'Burlington', '2026-01-01'), '2026-01-03'),
      version(account('001C', 'Pyramid', '2026-01-02')),
      version(account('001D', 'Dickenson', '2026-01-04')),
    ]);
    expect(await historyFigures(db, table)).toEqual({ added: 2, closed: 2 });
    expect(await tableComment(HISTORY_SCHEMA, table)).toBe(
      `History of ${FINAL_SCHEMA}.${table}, kept up to date by consolidate_object: the last CALL for that table maintained this one`,
    );
  });

  test('a maintained history table without the mark (kept before marks existed) is caught up once, changing nothing', async () => {
    const table = newTable();
    await createObjectTables(db, table);
    const runs = [
      [
        account('001A', 'Edge', '2026-01-01'),
        account('001B', 'Burlington', '2026-01-01'),
        account('001C', 'Pyramid', null),
      ],
      [account('001A', 'Edge v2', '2026-01-02'), deletedAccount('001B', 'Burlington', '2026-01-02')],
      [account('001A', 'Edge v2 (formula)', '2026-01-02'), account('001B', 'Burlington again', '2026-01-03')],
      [
        { id: '001A', name: 'Edge (late)', systemmodstamp: '2026-01-01T12:00:00.000Z', isdeleted: false },
        deletedAccount('001C', 'Pyramid', '2026-01-04'),
      ],
    ];
    for (const [index, rows] of runs.entries()) {
      await stage(db, table, rows);
      await consolidate(db, table, { runId: `run-${index + 1}`, historySchema: HISTORY_SCHEMA });
    }
    const before = await historyRows(db, table);
    expect(historyViolations(before)).toEqual([]);

    await db.exec(`COMMENT ON TABLE ${HISTORY_SCHEMA}.${table} IS NULL`);
    await executedStatements();
    await consolidate(db, table, { runId: 'run-5', historySchema: HISTORY_SCHEMA });

    expect((await executedStatements()).some((sql) => sql.includes('tmp_consolidate_history_sync'))).toBe(
      true,
    );
    expect(await historyRows(db, table)).toEqual(before);
    expect(await historyFigures(db, table)).toEqual({ added: 0, closed: 0 });
  });

  test('a maintained history table is not caught up again; one kept in another schema meanwhile is', async () => {
    await db.exec('CREATE SCHEMA acme_history');
    const table = newTable();
    await createObjectTables(db, table);
    await stage(db, table, [account('001A', 'Edge', '2026-01-01')]);
    await consolidateWithHistory(table, 'run-1');
    await executedStatements();

    // Maintained by the previous CALL: no catching up (it would read all of final and history).
    await stage(db, table, [account('001B', 'Burlington', '2026-01-02')]);
    await consolidateWithHistory(table, 'run-2');
    const caughtUp = (sql: string) => sql.includes('tmp_consolidate_history_sync');
    const statements = await executedStatements();
    expect(statements.filter(caughtUp)).toEqual([]);
    // Nor is the mark set again: no DDL on history when nothing changes.
    expect(statements.filter((sql) => sql.startsWith('COMMENT'))).toEqual([]);

    // Kept in acme_history for a run (made there from final), then here again: this one catches up.
    await stage(db, table, [account('001A', 'Edge v2', '2026-01-03')]);
    await consolidateWithHistory(table, 'run-3', 'acme_history');
    expect(await historyRows(db, table, 'acme_history')).toEqual([
      version(account('001A', 'Edge', '2026-01-01'), '2026-01-03'),
      version(account('001A', 'Edge v2', '2026-01-03')),
      version(account('001B', 'Burlington', '2026-01-02')),
    ]);
    await executedStatements();
    await stage(db, table, [account('001C', 'Pyramid', '2026-01-04')]);
    await consolidateWithHistory(table, 'run-4');
    expect((await executedStatements()).filter(caughtUp)).not.toEqual([]);

    expect(await historyRows(db, table)).toEqual([
      version(account('001A', 'Edge', '2026-01-01'), '2026-01-03'),
      version(account('001A', 'Edge v2', '2026-01-03')),
      version(account('001B', 'Burlington', '2026-01-02')),
      version(account('001C', 'Pyramid', '2026-01-04')),
    ]);
    expect(await tableComment('acme_history', table)).toBe(
      `History of ${FINAL_SCHEMA}.${table}, not maintained since run run-4 (the next CALL that keeps history here catches it up with the final table)`,
    );
  });
});
