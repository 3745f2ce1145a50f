import type { PGlite } from '@electric-sql/pglite';
import { createWarehouse } from '../support/warehouse';
import {
  type AccountRow,
  account,
  auditRows,
  type ConsolidateOptions,
  columnsOf,
  consolidate,
  createObjectTables,
  deletedAccount,
  FINAL_SCHEMA,
  finalRows,
  HISTORY_SCHEMA,
  type HistoryRow,
  historyFigures,
  historyRows,
  historyViolations,
  lastAudit,
  OPEN_END,
  STAGING_SCHEMA,
  stage,
  version,
} from './warehouse-fixture';

// History mode (issue 22): one named test per hazard, as Airbyte's typing-and-deduping tests
// have them, and the five runs of the pipeline's end-to-end test played as CALLs. One warehouse
// for the file; each test owns its tables (and so its history tables).
let db: PGlite;
let tableNumber = 0;

async function newObject(options?: { withIsDeleted?: boolean }): Promise<string> {
  tableNumber += 1;
  const table = `account_h${tableNumber}`;
  await createObjectTables(db, table, options);
  return table;
}

/** CALL with history kept in salesforce_history (the 10-argument form). */
function consolidateWithHistory(table: string, options: ConsolidateOptions = {}): Promise<void> {
  return consolidate(db, table, { historySchema: HISTORY_SCHEMA, ...options });
}

/** An Account version at a full ISO time (the fixture's `account` takes a day). */
function accountAt(id: string, name: string, time: string, isdeleted = false): AccountRow {
  return { id, name, systemmodstamp: `${time}.000Z`, isdeleted };
}

async function history(table: string): Promise<HistoryRow[]> {
  const rows = await historyRows(db, table);
  expect(historyViolations(rows)).toEqual([]);
  return rows;
}

/** The current versions, without their validity columns: what the final table must hold. */
function currentVersions(rows: HistoryRow[]): AccountRow[] {
  return rows.filter((row) => row._is_active).map(({ _valid_from, _valid_to, _is_active, ...row }) => row);
}

beforeAll(async () => {
  db = await createWarehouse({ applySql: true });
});

afterAll(async () => {
  await db.close();
});

describe('consolidate_object with history: hazards', () => {
  test('out-of-order versions in one batch', async () => {
    const table = await newObject();
    await stage(db, table, [
      account('001A', 'Edge v3', '2026-01-03'),
      account('001A', 'Edge v1', '2026-01-01'),
      account('001A', 'Edge v2', '2026-01-02'),
      account('001B', 'Burlington', '2026-01-01'),
    ]);

    await consolidateWithHistory(table);

    expect(await history(table)).toEqual([
      version(account('001A', 'Edge v1', '2026-01-01'), '2026-01-02'),
      version(account('001A', 'Edge v2', '2026-01-02'), '2026-01-03'),
      version(account('001A', 'Edge v3', '2026-01-03')),
      version(account('001B', 'Burlington', '2026-01-01')),
    ]);
    expect(currentVersions(await history(table))).toEqual(await finalRows(db, table));
    expect(await historyFigures(db, table)).toEqual({ added: 4, closed: 0 });
  });

  test('a tie on the cursor with different content', async () => {
    const table = await newObject();
    // In one batch: the version keeps the lowest values, as the final table does.
    await stage(db, table, [
      account('001A', 'Zulu', '2026-01-01'),
      account('001A', 'Alpha', '2026-01-01'),
      account('001A', 'Alpha', '2026-01-01'),
    ]);
    await consolidateWithHistory(table, { runId: 'run-1' });
    expect(await history(table)).toEqual([version(account('001A', 'Alpha', '2026-01-01'))]);
    expect(currentVersions(await history(table))).toEqual(await finalRows(db, table));

    // Across runs: a value refreshed without a cursor move (a formula) changes final, not
    // history, which holds the versions as they were captured.
    await stage(db, table, [account('001A', 'Alpha (formula recomputed)', '2026-01-01')]);
    await consolidateWithHistory(table, { runId: 'run-2' });

    expect(await finalRows(db, table)).toEqual([account('001A', 'Alpha (formula recomputed)', '2026-01-01')]);
    expect(await history(table)).toEqual([version(account('001A', 'Alpha', '2026-01-01'))]);
    expect(await historyFigures(db, table)).toEqual({ added: 0, closed: 0 });
  });

  test('a late older version', async () => {
    const table = await newObject();
    await stage(db, table, [account('001A', 'Edge v1', '2026-01-01')]);
    await consolidateWithHistory(table, { runId: 'run-1' });
    await stage(db, table, [account('001A', 'Edge v3', '2026-01-03')]);
    await consolidateWithHistory(table, { runId: 'run-2' });

    // A version from between the two arrives late: final keeps the newest, history slots it in.
    await stage(db, table, [account('001A', 'Edge v2 (late)', '2026-01-02')]);
    await consolidateWithHistory(table, { runId: 'run-3' });

    expect(await finalRows(db, table)).toEqual([account('001A', 'Edge v3', '2026-01-03')]);
    expect(await history(table)).toEqual([
      version(account('001A', 'Edge v1', '2026-01-01'), '2026-01-02'),
      version(account('001A', 'Edge v2 (late)', '2026-01-02'), '2026-01-03'),
      version(account('001A', 'Edge v3', '2026-01-03')),
    ]);
    // Nothing closed: v1 was closed already, and only its end moved.
    expect(await historyFigures(db, table)).toEqual({ added: 1, closed: 0 });
  });

  test('a delete then a stale live version', async () => {
    const table = await newObject();
    await stage(db, table, [account('001A', 'Edge', '2026-01-01'), account('001B', 'Other', '2026-01-01')]);
    await consolidateWithHistory(table, { runId: 'run-1' });
    await stage(db, table, [deletedAccount('001A', 'Edge', '2026-01-03')]);
    await consolidateWithHistory(table, { runId: 'run-2' });
    expect(await history(table)).toEqual([
      version(account('001A', 'Edge', '2026-01-01'), '2026-01-03'),
      version(account('001B', 'Other', '2026-01-01')),
    ]);
    expect(await historyFigures(db, table)).toEqual({ added: 0, closed: 1 });

    // A copy from before the delete arrives late: the tombstone keeps it out of final, and out
    // of history too; a version at the delete's instant loses as well.
    await stage(db, table, [
      account('001A', 'Edge (stale copy)', '2026-01-02'),
      account('001A', 'Edge (same instant)', '2026-01-03'),
    ]);
    await consolidateWithHistory(table, { runId: 'run-3' });

    expect(await finalRows(db, table)).toEqual([account('001B', 'Other', '2026-01-01')]);
    expect(await history(table)).toEqual([
      version(account('001A', 'Edge', '2026-01-01'), '2026-01-03'),
      version(account('001B', 'Other', '2026-01-01')),
    ]);
    expect(await historyFigures(db, table)).toEqual({ added: 0, closed: 0 });
  });

  test('a rerun', async () => {
    const table = await newObject();
    const batch = [
      account('001A', 'Edge v1', '2026-01-01'),
      account('001A', 'Edge v2', '2026-01-02'),
      deletedAccount('001B', 'Burlington', '2026-01-02'),
      account('001C', 'Pyramid', '2026-01-01'),
    ];
    await stage(db, table, [account('001B', 'Burlington', '2026-01-01')]);
    await consolidateWithHistory(table, { runId: 'run-0' });
    await stage(db, table, batch);
    await consolidateWithHistory(table, { runId: 'run-1' });
    const before = await history(table);

    // The same day again: the same window extracted again, and an identical second CALL.
    await stage(db, table, batch);
    await consolidateWithHistory(table, { runId: 'run-1' });
    await consolidateWithHistory(table, { runId: 'run-1' });

    expect(await history(table)).toEqual(before);
    expect(before).toHaveLength(4);
    const audits = await auditRows(db, table);
    expect(
      audits.slice(-2).map((audit) => [audit.history_versions_added, audit.history_versions_closed]),
    ).toEqual([
      [0, 0],
      [0, 0],
    ]);
  });

  test('history switched on for an existing table', async () => {
    const table = await newObject();
    await stage(db, table, [
      account('001A', 'Edge', '2026-01-01'),
      account('001B', 'Burlington', '2026-01-02'),
      deletedAccount('001C', 'Pyramid', '2026-01-02'),
    ]);
    await consolidate(db, table, { runId: 'run-1', deleteMode: 'soft' });

    // Switched on: the CALL creates the history table from final, one current version per live row.
    await consolidateWithHistory(table, { runId: 'run-2', deleteMode: 'soft' });
    expect(await history(table)).toEqual([
      version(account('001A', 'Edge', '2026-01-01')),
      version(account('001B', 'Burlington', '2026-01-02')),
    ]);
    expect(await historyFigures(db, table)).toEqual({ added: 2, closed: 0 });
    expect(await columnsOf(db, HISTORY_SCHEMA, table)).toEqual([
      '_valid_from',
      '_valid_to',
      '_is_active',
      'id',
      'name',
      'systemmodstamp',
      'isdeleted',
    ]);

    // Switched off: history is kept and no longer updated.
    await stage(db, table, [
      account('001A', 'Edge v2', '2026-01-03'),
      deletedAccount('001B', 'Burlington', '2026-01-03'),
    ]);
    await consolidate(db, table, { runId: 'run-3', deleteMode: 'soft' });
    expect(await history(table)).toHaveLength(2);

    // On again: history first catches up with what final holds now, then takes the new rows.
    await stage(db, table, [account('001D', 'Dickenson', '2026-01-04')]);
    await consolidateWithHistory(table, { runId: 'run-4', deleteMode: 'soft' });
    expect(await history(table)).toEqual([
      version(account('001A', 'Edge', '2026-01-01'), '2026-01-03'),
      version(account('001A', 'Edge v2', '2026-01-03')),
      version(account('001B', 'Burlington', '2026-01-02'), '2026-01-03'),
      version(account('001D', 'Dickenson', '2026-01-04')),
    ]);
    expect(await historyFigures(db, table)).toEqual({ added: 2, closed: 2 });
    const live = (await finalRows(db, table)).filter((row) => !row.isdeleted);
    expect(currentVersions(await history(table))).toEqual(live);
  });

  test('a new column', async () => {
    const table = await newObject();
    await stage(db, table, [account('001A', 'Edge', '2026-01-01')]);
    await consolidateWithHistory(table, { runId: 'run-1' });

    // Structure sync added the field to staging; the procedure adds it to final and history.
    await db.exec(`ALTER TABLE ${STAGING_SCHEMA}.${table} ADD COLUMN industry varchar(40)`);
    await db.exec(
      `INSERT INTO ${STAGING_SCHEMA}.${table} VALUES ('001A', 'Edge v2', '2026-01-02', false, 'Energy')`,
    );
    await consolidateWithHistory(table, { runId: 'run-2' });

    const rows = await db.query(
      `SELECT id, name, industry, _is_active FROM ${HISTORY_SCHEMA}.${table} ORDER BY _valid_from`,
    );
    expect(rows.rows).toEqual([
      { id: '001A', name: 'Edge', industry: null, _is_active: false },
      { id: '001A', name: 'Edge v2', industry: 'Energy', _is_active: true },
    ]);
    const types = await db.query<{ column_name: string; data_type: string }>(
      `SELECT column_name, format_type(a.atttypid, a.atttypmod) AS data_type FROM pg_attribute a
       JOIN information_schema.columns c ON c.column_name = a.attname AND c.table_schema = $1 AND c.table_name = $2
       WHERE a.attrelid = CAST($3 AS regclass) AND a.attnum > 0 ORDER BY a.attnum`,
      [HISTORY_SCHEMA, table, `${HISTORY_SCHEMA}.${table}`],
    );
    expect(types.rows.at(-1)).toEqual({ column_name: 'industry', data_type: 'character varying(40)' });
  });

  test('a full reload with unchanged content', async () => {
    const table = await newObject();
    const rows = [
      account('001A', 'Edge', '2026-01-01'),
      account('001B', 'Burlington', '2026-01-02'),
      account('001C', 'Pyramid', '2026-01-02'),
    ];
    await stage(db, table, rows);
    await consolidateWithHistory(table, { runId: 'run-1' });

    // The reload brings every record as it was; 001C was purged at the source (absent).
    await stage(db, table, rows.slice(0, 2));
    await consolidateWithHistory(table, { runId: 'run-2', syncMode: 'full' });

    const after = await history(table);
    expect(after.slice(0, 2)).toEqual([
      version(account('001A', 'Edge', '2026-01-01')),
      version(account('001B', 'Burlington', '2026-01-02')),
    ]);
    // A purge closes the current version at the run's time.
    const purged = after[2];
    expect(purged).toMatchObject({ id: '001C', _valid_from: '2026-01-02T00:00:00.000Z', _is_active: false });
    const audit = await lastAudit(db, table);
    expect(Date.parse(purged._valid_to ?? '')).toBe(Date.parse(audit.started_at));
    expect(await historyFigures(db, table)).toEqual({ added: 0, closed: 1 });
  });
});

describe('consolidate_object with history: rules', () => {
  test('a restore opens a new version; a delete and a re-insert in one batch keep the gap', async () => {
    const table = await newObject();
    await stage(db, table, [account('001A', 'Edge', '2026-01-01')]);
    await consolidateWithHistory(table, { runId: 'run-1' });
    await stage(db, table, [
      deletedAccount('001A', 'Edge', '2026-01-02'),
      account('001A', 'Edge restored', '2026-01-04'),
    ]);
    await consolidateWithHistory(table, { runId: 'run-2' });

    expect(await history(table)).toEqual([
      version(account('001A', 'Edge', '2026-01-01'), '2026-01-02'),
      version(account('001A', 'Edge restored', '2026-01-04')),
    ]);
    expect(currentVersions(await history(table))).toEqual(await finalRows(db, table));
  });

  test('soft mode closes on deletes too; a stale version is slotted in before the delete', async () => {
    const table = await newObject();
    await stage(db, table, [account('001A', 'Edge', '2026-01-01')]);
    await consolidateWithHistory(table, { runId: 'run-1', deleteMode: 'soft' });
    await stage(db, table, [deletedAccount('001A', 'Edge', '2026-01-03')]);
    await consolidateWithHistory(table, { runId: 'run-2', deleteMode: 'soft' });
    // Soft mode keeps no tombstones: a late version is history's to keep, and it stays closed.
    await stage(db, table, [account('001A', 'Edge late', '2026-01-02')]);
    await consolidateWithHistory(table, { runId: 'run-3', deleteMode: 'soft' });

    expect(await finalRows(db, table)).toEqual([deletedAccount('001A', 'Edge', '2026-01-03')]);
    expect(await history(table)).toEqual([
      version(account('001A', 'Edge', '2026-01-01'), '2026-01-02'),
      version(account('001A', 'Edge late', '2026-01-02'), '2026-01-03'),
    ]);
  });

  test('ignore mode: deletes change nothing in history either', async () => {
    const table = await newObject();
    await stage(db, table, [account('001A', 'Edge', '2026-01-01')]);
    await consolidateWithHistory(table, { runId: 'run-1', deleteMode: 'ignore' });
    await stage(db, table, [deletedAccount('001A', 'Edge', '2026-01-02')]);
    await consolidateWithHistory(table, { runId: 'run-2', deleteMode: 'ignore' });

    expect(await history(table)).toEqual([version(account('001A', 'Edge', '2026-01-01'))]);
  });

  test('rows written twice (a DuplicateWrite) make one version', async () => {
    const table = await newObject();
    await stage(db, table, [
      account('001A', 'Edge v1', '2026-01-01'),
      account('001A', 'Edge v1', '2026-01-01'),
      account('001A', 'Edge v2', '2026-01-02'),
      account('001A', 'Edge v2', '2026-01-02'),
    ]);
    await consolidateWithHistory(table);

    expect(await history(table)).toEqual([
      version(account('001A', 'Edge v1', '2026-01-01'), '2026-01-02'),
      version(account('001A', 'Edge v2', '2026-01-02')),
    ]);
  });

  test('a NULL cursor is the oldest version', async () => {
    const table = await newObject();
    await stage(db, table, [account('001A', 'undated', null), account('001A', 'dated', '2026-01-01')]);
    await consolidateWithHistory(table);

    expect(await history(table)).toEqual([
      {
        ...account('001A', 'undated', null),
        _valid_from: null,
        _valid_to: '2026-01-01T00:00:00.000Z',
        _is_active: false,
      },
      version(account('001A', 'dated', '2026-01-01')),
    ]);
  });

  test('the 7-, 8- and 9-argument forms and a NULL or empty history schema leave history alone', async () => {
    const table = await newObject();
    await stage(db, table, [account('001A', 'Edge', '2026-01-01')]);
    await consolidateWithHistory(table, { runId: 'run-1' });
    const forms: [string, ConsolidateOptions][] = [
      ['run-7', {}],
      ['run-8', { syncMode: 'incremental' }],
      ['run-9', { tombstoneDays: 30 }],
      ['run-null', { historySchema: null }],
      ['run-empty', { historySchema: '' }],
    ];
    for (const [index, [runId, options]] of forms.entries()) {
      await stage(db, table, [account('001A', `Edge ${runId}`, `2026-01-0${index + 2}`)]);
      await consolidate(db, table, { runId, ...options });
      const audit = await lastAudit(db, table);
      expect([audit.run_id, audit.history_schema, audit.history_versions_added]).toEqual([runId, null, null]);
    }
    expect(await history(table)).toEqual([version(account('001A', 'Edge', '2026-01-01'))]);
  });
});

describe('consolidate_object with history: structure', () => {
  test('staging columns in another order than final: rows are moved by name into history too', async () => {
    tableNumber += 1;
    const table = `account_h${tableNumber}`;
    await db.exec(`
      CREATE TABLE ${STAGING_SCHEMA}.${table} (id varchar(18), name varchar(255), systemmodstamp timestamp, isdeleted boolean);
      CREATE TABLE ${FINAL_SCHEMA}.${table} (isdeleted boolean, systemmodstamp timestamp, name varchar(255), id varchar(18));
    `);
    await stage(db, table, [account('001A', 'Edge', '2026-01-01')]);
    await consolidateWithHistory(table, { runId: 'run-1' });
    await stage(db, table, [account('001A', 'Edge v2', '2026-01-02')]);
    await consolidateWithHistory(table, { runId: 'run-2' });

    const rows = await db.query(
      `SELECT id, name, isdeleted, _is_active FROM ${HISTORY_SCHEMA}.${table} ORDER BY _valid_from`,
    );
    expect(rows.rows).toEqual([
      { id: '001A', name: 'Edge', isdeleted: false, _is_active: false },
      { id: '001A', name: 'Edge v2', isdeleted: false, _is_active: true },
    ]);
  });
});

describe('consolidate_object with history: refused calls', () => {
  test('a missing history schema, a bad name or a schema of its own tables is a clear error', async () => {
    const table = await newObject();
    await stage(db, table, [account('001A', 'Edge', '2026-01-01')]);

    await expect(consolidateWithHistory(table, { historySchema: 'acme_history' })).rejects.toThrow(
      `consolidate_object: history schema acme_history does not exist, so salesforce.${table} cannot keep its history there: create it first (CREATE SCHEMA acme_history)`,
    );
    await expect(consolidateWithHistory(table, { historySchema: 'Bad-Name' })).rejects.toThrow(
      "consolidate_object: invalid history_schema 'Bad-Name'",
    );
    await expect(consolidateWithHistory(table, { historySchema: FINAL_SCHEMA })).rejects.toThrow(
      'consolidate_object: history_schema salesforce must differ from staging_schema and final_schema',
    );
    // Nothing happened: the row is still staged, final is empty.
    expect(await finalRows(db, table)).toEqual([]);
  });

  test('a cursor that is not a date or timestamp cannot date versions', async () => {
    tableNumber += 1;
    const table = `widget_h${tableNumber}`;
    for (const schema of [STAGING_SCHEMA, FINAL_SCHEMA]) {
      await db.exec(`CREATE TABLE ${schema}.${table} (id varchar(18), version bigint)`);
    }
    await expect(consolidateWithHistory(table, { cursorColumn: 'version' })).rejects.toThrow(
      `consolidate_object: the history of salesforce.${table} needs a date or timestamp cursor, and version is bigint`,
    );
  });

  test('a history column narrower than final, or one final lacks, is a clear error', async () => {
    const table = await newObject();
    await stage(db, table, [account('001A', 'Edge', '2026-01-01')]);
    await consolidateWithHistory(table, { runId: 'run-1' });

    // The pipeline widened final (and staging) outside a transaction block, but not history.
    await db.exec(`ALTER TABLE ${STAGING_SCHEMA}.${table} ALTER COLUMN name TYPE varchar(300)`);
    await db.exec(`ALTER TABLE ${FINAL_SCHEMA}.${table} ALTER COLUMN name TYPE varchar(300)`);
    await stage(db, table, [account('001A', 'Edge v2', '2026-01-02')]);
    await expect(consolidateWithHistory(table, { runId: 'run-2' })).rejects.toThrow(
      `consolidate_object: column name is character varying(300) in salesforce.${table} but character varying(255) in salesforce_history.${table}; the history column must have the same type and be at least as wide`,
    );
    await db.exec(`ALTER TABLE ${HISTORY_SCHEMA}.${table} ALTER COLUMN name TYPE varchar(300)`);
    await consolidateWithHistory(table, { runId: 'run-2' });
    expect(await history(table)).toHaveLength(2);

    await db.exec(`ALTER TABLE ${HISTORY_SCHEMA}.${table} RENAME COLUMN name TO account_name`);
    await stage(db, table, [account('001A', 'Edge v3', '2026-01-03')]);
    await expect(consolidateWithHistory(table, { runId: 'run-3' })).rejects.toThrow(
      `consolidate_object: history table salesforce_history.${table} does not follow salesforce.${table}: its column account_name is not a column of the final table`,
    );
  });
});

describe('consolidate_object with history: the pipeline e2e, as CALLs', () => {
  // Over five runs: six accounts loaded; two changed, one deleted; the same day rerun; one
  // changed twice in a day (one version), one restored; a full sync.
  test('history holds exactly the versions captured, intervals ordered, current versions equal final', async () => {
    const table = await newObject();
    const loaded = ['A', 'B', 'C', 'D', 'E', 'F'].map((id) =>
      accountAt(`001${id}`, `Account ${id}`, '2026-01-01T10:00:00'),
    );
    await stage(db, table, loaded);
    await consolidateWithHistory(table, { runId: 'run-1' });

    // Day 2: A and B changed, C deleted; the lookback overlap extracts D again, unchanged.
    const day2 = [
      accountAt('001A', 'Account A v2', '2026-01-02T09:00:00'),
      accountAt('001B', 'Account B v2', '2026-01-02T09:05:00'),
      accountAt('001C', 'Account C', '2026-01-02T09:30:00', true),
      loaded[3],
    ];
    await stage(db, table, day2);
    await consolidateWithHistory(table, { runId: 'run-2' });
    // The same day rerun extracts the same window again.
    await stage(db, table, day2);
    await consolidateWithHistory(table, { runId: 'run-2' });
    expect((await history(table)).filter((row) => row.id === '001C' && row._is_active)).toEqual([]);

    // Day 3: A changed twice (only its latest state is extracted), C restored.
    await stage(db, table, [
      accountAt('001A', 'Account A v3 (second change)', '2026-01-03T15:00:00'),
      accountAt('001C', 'Account C restored', '2026-01-03T11:00:00'),
    ]);
    await consolidateWithHistory(table, { runId: 'run-4' });

    // Day 4: a full sync brings every record unchanged.
    await stage(db, table, await finalRows(db, table));
    await consolidateWithHistory(table, { runId: 'run-5', syncMode: 'full' });

    const rows = await history(table);
    const versions = (id: string) => rows.filter((row) => row.id === id);
    expect(['A', 'B', 'C', 'D', 'E', 'F'].map((id) => versions(`001${id}`).length)).toEqual([
      3, 2, 2, 1, 1, 1,
    ]);
    expect(versions('001A').map((row) => [row._valid_from, row._valid_to])).toEqual([
      ['2026-01-01T10:00:00.000Z', '2026-01-02T09:00:00.000Z'],
      ['2026-01-02T09:00:00.000Z', '2026-01-03T15:00:00.000Z'],
      ['2026-01-03T15:00:00.000Z', OPEN_END],
    ]);
    // C's versions are contiguous but for the time it was deleted.
    expect(versions('001C').map((row) => [row._valid_from, row._valid_to])).toEqual([
      ['2026-01-01T10:00:00.000Z', '2026-01-02T09:30:00.000Z'],
      ['2026-01-03T11:00:00.000Z', OPEN_END],
    ]);
    expect(currentVersions(rows)).toEqual(await finalRows(db, table));
    expect(
      (await auditRows(db, table)).map((audit) => [
        audit.history_versions_added,
        audit.history_versions_closed,
      ]),
    ).toEqual([
      [6, 0],
      [2, 3],
      [0, 0],
      [2, 1],
      [0, 0],
    ]);
  });
});
