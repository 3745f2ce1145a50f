import type { PGlite } from '@electric-sql/pglite';
import { createWarehouse } from '../support/warehouse';
import {
  type AccountRow,
  account,
  auditRows,
  consolidate,
  countsOf,
  createObjectTables,
  deletedAccount,
  FINAL_SCHEMA,
  finalChecksum,
  finalRows,
  lastAudit,
  STAGING_SCHEMA,
  stage,
  stagedRows,
} from './warehouse-fixture';

// One warehouse for the file (PGlite takes seconds to start); each test owns its tables.
let db: PGlite;
let tableNumber = 0;

/** Fresh staging + final tables under a name no other test uses. */
async function newObject(options?: { withIsDeleted?: boolean }): Promise<string> {
  tableNumber += 1;
  const table = `account_${tableNumber}`;
  await createObjectTables(db, table, options);
  return table;
}

beforeAll(async () => {
  db = await createWarehouse({ applySql: true });
});

afterAll(async () => {
  await db.close();
});

describe('consolidate_object: versions and ordering', () => {
  test('duplicate keys within one batch keep only the newest version', async () => {
    const table = await newObject();
    await stage(db, table, [
      account('001A', 'Edge v1', '2026-01-01'),
      account('001A', 'Edge v3', '2026-01-03'),
      account('001A', 'Edge v2', '2026-01-02'),
      account('001B', 'Burlington', '2026-01-01'),
    ]);

    await consolidate(db, table);

    expect(await finalRows(db, table)).toEqual([
      account('001A', 'Edge v3', '2026-01-03'),
      account('001B', 'Burlington', '2026-01-01'),
    ]);
    expect(countsOf(await lastAudit(db, table))).toMatchObject({ rows_staged: 4, duplicates_removed: 2 });
  });

  test('the same key staged over several runs ends as one row with the newest version', async () => {
    const table = await newObject();
    for (const [day, name] of [
      ['2026-01-01', 'Edge v1'],
      ['2026-01-02', 'Edge v2'],
      ['2026-01-03', 'Edge v3'],
    ]) {
      await stage(db, table, [account('001A', name, day)]);
      await consolidate(db, table, { runId: `run-${day}` });
    }

    expect(await finalRows(db, table)).toEqual([account('001A', 'Edge v3', '2026-01-03')]);
    const audits = await auditRows(db, table);
    expect(audits.map((audit) => [audit.run_id, audit.rows_inserted, audit.rows_updated])).toEqual([
      ['run-2026-01-01', 1, 0],
      ['run-2026-01-02', 1, 1],
      ['run-2026-01-03', 1, 1],
    ]);
  });

  test('out-of-order arrival: an older version staged after a newer one was consolidated loses', async () => {
    const table = await newObject();
    await stage(db, table, [account('001A', 'Edge new', '2026-01-05')]);
    await consolidate(db, table, { runId: 'run-1' });

    await stage(db, table, [account('001A', 'Edge late and old', '2026-01-02')]);
    await consolidate(db, table, { runId: 'run-2' });

    expect(await finalRows(db, table)).toEqual([account('001A', 'Edge new', '2026-01-05')]);
    expect(countsOf(await lastAudit(db, table))).toMatchObject({ rows_staged: 1, rows_inserted: 0 });
    expect(await stagedRows(db, table)).toEqual([]);
  });

  test('a NULL cursor counts as oldest, and a key with only NULL cursors still lands', async () => {
    const table = await newObject();
    await stage(db, table, [
      account('001A', 'dated', '2026-01-01'),
      account('001A', 'undated', null),
      account('001B', 'only undated', null),
    ]);
    await consolidate(db, table, { runId: 'run-1' });
    expect(await finalRows(db, table)).toEqual([
      account('001A', 'dated', '2026-01-01'),
      account('001B', 'only undated', null),
    ]);

    // Against final: a dated version beats an undated final row; an undated one never beats a dated row.
    await stage(db, table, [
      account('001A', 'undated again', null),
      account('001B', 'now dated', '2026-01-02'),
    ]);
    await consolidate(db, table, { runId: 'run-2' });
    expect(await finalRows(db, table)).toEqual([
      account('001A', 'dated', '2026-01-01'),
      account('001B', 'now dated', '2026-01-02'),
    ]);
  });

  test('equal cursors resolve the same way whatever the order rows were staged in', async () => {
    const versions = [
      account('001A', 'Edge one', '2026-01-01'),
      account('001A', 'Edge two', '2026-01-01'),
      account('001A', 'Edge three', '2026-01-01'),
      account('001B', 'Burlington live', '2026-01-01'),
      deletedAccount('001B', 'Burlington deleted', '2026-01-01'),
      account('001C', null, null),
      account('001C', 'named, undated', null),
    ];
    const forward = await newObject();
    const backward = await newObject();
    await stage(db, forward, versions);
    await stage(db, backward, [...versions].reverse());

    await consolidate(db, forward, { deleteMode: 'soft' });
    await consolidate(db, backward, { deleteMode: 'soft' });

    const forwardRows = await finalRows(db, forward);
    expect(await finalRows(db, backward)).toEqual(forwardRows);
    expect(forwardRows).toHaveLength(3);
    // On a tie the delete wins, so a record deleted at that instant is not resurrected.
    expect(forwardRows[1]).toEqual(deletedAccount('001B', 'Burlington deleted', '2026-01-01'));
  });

  test('equal cursor across runs: the same content is a no-op, different content replaces', async () => {
    const table = await newObject();
    await stage(db, table, [account('001A', 'Edge', '2026-01-01')]);
    await consolidate(db, table, { runId: 'run-1' });

    await stage(db, table, [account('001A', 'Edge', '2026-01-01')]);
    await consolidate(db, table, { runId: 'run-2' });
    expect(countsOf(await lastAudit(db, table))).toMatchObject({ rows_inserted: 0, rows_updated: 0 });

    // A formula field or a backfilled column changes content without moving SystemModstamp:
    // the newer extraction wins.
    await stage(db, table, [account('001A', 'Edge (formula recomputed)', '2026-01-01')]);
    await consolidate(db, table, { runId: 'run-3' });
    expect(countsOf(await lastAudit(db, table))).toMatchObject({ rows_inserted: 1, rows_updated: 1 });
    expect(await finalRows(db, table)).toEqual([account('001A', 'Edge (formula recomputed)', '2026-01-01')]);
  });

  test('a column added to both tables is filled by the next extraction of unchanged records', async () => {
    const table = await newObject();
    await stage(db, table, [account('001A', 'Edge', '2026-01-01')]);
    await consolidate(db, table, { runId: 'run-1' });

    await db.exec(`
      ALTER TABLE ${STAGING_SCHEMA}.${table} ADD COLUMN industry varchar(40);
      ALTER TABLE ${FINAL_SCHEMA}.${table} ADD COLUMN industry varchar(40);
      INSERT INTO ${STAGING_SCHEMA}.${table} (id, name, systemmodstamp, isdeleted, industry)
      VALUES ('001A', 'Edge', '2026-01-01', false, 'Electronics');
    `);
    await consolidate(db, table, { runId: 'run-2' });

    const rows = await db.query(`SELECT id, name, industry FROM ${FINAL_SCHEMA}.${table}`);
    expect(rows.rows).toEqual([{ id: '001A', name: 'Edge', industry: 'Electronics' }]);
  });

  test('staged rows with a NULL key are dropped from staging and counted, never consolidated', async () => {
    const table = await newObject();
    await stage(db, table, [
      { id: null, name: 'orphan', systemmodstamp: '2026-01-01T00:00:00.000Z', isdeleted: false },
      account('001A', 'Edge', '2026-01-01'),
    ]);

    await consolidate(db, table);

    expect(await finalRows(db, table)).toEqual([account('001A', 'Edge', '2026-01-01')]);
    expect(await stagedRows(db, table)).toEqual([]);
    expect(countsOf(await lastAudit(db, table))).toMatchObject({
      rows_staged: 2,
      rows_null_key: 1,
      duplicates_removed: 0,
      rows_inserted: 1,
    });
  });
});

describe('consolidate_object: deletes', () => {
  test('hard delete removes the key; a delete of a key never consolidated changes nothing', async () => {
    const table = await newObject();
    await stage(db, table, [
      account('001A', 'Edge', '2026-01-01'),
      account('001B', 'Burlington', '2026-01-01'),
    ]);
    await consolidate(db, table, { runId: 'run-1' });

    await stage(db, table, [
      deletedAccount('001A', 'Edge', '2026-01-02'),
      deletedAccount('001Z', 'Ghost', '2026-01-02'),
    ]);
    await consolidate(db, table, { runId: 'run-2', deleteMode: 'hard' });

    expect(await finalRows(db, table)).toEqual([account('001B', 'Burlington', '2026-01-01')]);
    expect(countsOf(await lastAudit(db, table))).toMatchObject({ rows_inserted: 0, rows_deleted: 1 });
  });

  test('soft delete keeps the row flagged isdeleted', async () => {
    const table = await newObject();
    await stage(db, table, [account('001A', 'Edge', '2026-01-01')]);
    await consolidate(db, table, { runId: 'run-1', deleteMode: 'soft' });

    await stage(db, table, [
      deletedAccount('001A', 'Edge', '2026-01-02'),
      deletedAccount('001Z', 'Ghost', '2026-01-02'),
    ]);
    await consolidate(db, table, { runId: 'run-2', deleteMode: 'soft' });

    expect(await finalRows(db, table)).toEqual([
      deletedAccount('001A', 'Edge', '2026-01-02'),
      deletedAccount('001Z', 'Ghost', '2026-01-02'),
    ]);
    // Only 001A was live before; 001Z lands already flagged and counts as neither.
    expect(countsOf(await lastAudit(db, table))).toMatchObject({ rows_inserted: 0, rows_deleted: 1 });
  });

  test('ignore mode drops delete versions as if they never arrived', async () => {
    const table = await newObject();
    await stage(db, table, [
      account('001A', 'Edge', '2026-01-01'),
      account('001B', 'Burlington', '2026-01-01'),
    ]);
    await consolidate(db, table, { runId: 'run-1', deleteMode: 'ignore' });

    await stage(db, table, [
      deletedAccount('001A', 'Edge', '2026-01-02'),
      deletedAccount('001Z', 'Ghost', '2026-01-02'),
      // A live change older than its delete, in the same batch, still applies.
      account('001B', 'Burlington renamed', '2026-01-02'),
      deletedAccount('001B', 'Burlington renamed', '2026-01-03'),
    ]);
    await consolidate(db, table, { runId: 'run-2', deleteMode: 'ignore' });

    expect(await finalRows(db, table)).toEqual([
      account('001A', 'Edge', '2026-01-01'),
      account('001B', 'Burlington renamed', '2026-01-02'),
    ]);
    expect(countsOf(await lastAudit(db, table))).toMatchObject({
      rows_inserted: 1,
      rows_updated: 1,
      rows_deleted: 0,
    });
    expect(await stagedRows(db, table)).toEqual([]);
  });

  test.each(['hard', 'soft'])('%s mode: delete then re-insert brings the row back', async (deleteMode) => {
    const table = await newObject();
    await stage(db, table, [account('001A', 'Edge', '2026-01-01')]);
    await consolidate(db, table, { runId: 'run-1', deleteMode });
    await stage(db, table, [deletedAccount('001A', 'Edge', '2026-01-02')]);
    await consolidate(db, table, { runId: 'run-2', deleteMode });

    await stage(db, table, [account('001A', 'Edge restored', '2026-01-03')]);
    await consolidate(db, table, { runId: 'run-3', deleteMode });

    expect(await finalRows(db, table)).toEqual([account('001A', 'Edge restored', '2026-01-03')]);
    expect(countsOf(await lastAudit(db, table))).toMatchObject({ rows_inserted: 1, rows_deleted: 0 });
  });

  test('a delete and a re-insert in the same batch: the newest version wins', async () => {
    const table = await newObject();
    await stage(db, table, [
      account('001A', 'Edge', '2026-01-01'),
      deletedAccount('001A', 'Edge', '2026-01-02'),
      account('001A', 'Edge restored', '2026-01-03'),
      account('001B', 'Burlington', '2026-01-01'),
      deletedAccount('001B', 'Burlington', '2026-01-02'),
    ]);

    await consolidate(db, table, { deleteMode: 'hard' });

    expect(await finalRows(db, table)).toEqual([account('001A', 'Edge restored', '2026-01-03')]);
  });

  test('a late delete older than the final row loses', async () => {
    const table = await newObject();
    await stage(db, table, [account('001A', 'Edge', '2026-01-05')]);
    await consolidate(db, table, { runId: 'run-1' });

    await stage(db, table, [deletedAccount('001A', 'Edge', '2026-01-02')]);
    await consolidate(db, table, { runId: 'run-2', deleteMode: 'hard' });

    expect(await finalRows(db, table)).toEqual([account('001A', 'Edge', '2026-01-05')]);
  });

  test('a table without an isdeleted column has no deletes', async () => {
    const table = await newObject({ withIsDeleted: false });
    await stage(db, table, [
      { id: '001A', name: 'Edge v1', systemmodstamp: '2026-01-01T00:00:00.000Z' },
      { id: '001A', name: 'Edge v2', systemmodstamp: '2026-01-02T00:00:00.000Z' },
    ]);

    await consolidate(db, table, { deleteMode: 'soft' });

    expect(await finalRows(db, table)).toEqual([
      { id: '001A', name: 'Edge v2', systemmodstamp: '2026-01-02T00:00:00.000Z' },
    ]);
  });
});

describe('consolidate_object: deleted stays deleted (tombstones)', () => {
  async function tombstones(table: string): Promise<{ record_key: string; delete_cursor: string | null }[]> {
    const result = await db.query<{ record_key: string; delete_cursor: string | null }>(
      `SELECT record_key, delete_cursor FROM public.consolidation_tombstones
       WHERE final_schema = $1 AND table_name = $2 ORDER BY record_key`,
      [FINAL_SCHEMA, table],
    );
    return result.rows;
  }

  test('an older live version staged after a consolidated hard delete stays deleted', async () => {
    const table = await newObject();
    await stage(db, table, [account('001A', 'Edge', '2026-01-01')]);
    await consolidate(db, table, { runId: 'run-1' });
    await stage(db, table, [deletedAccount('001A', 'Edge', '2026-01-03')]);
    await consolidate(db, table, { runId: 'run-2' });

    // A backfill or a late batch brings a copy from before the delete (Airbyte's updateAfterDelete).
    await stage(db, table, [account('001A', 'Edge (stale copy)', '2026-01-02')]);
    await consolidate(db, table, { runId: 'run-3' });

    expect(await finalRows(db, table)).toEqual([]);
    expect(countsOf(await lastAudit(db, table))).toMatchObject({
      rows_inserted: 0,
      rows_new: 0,
      rows_unchanged: 1,
    });
    expect(await tombstones(table)).toEqual([{ record_key: '001A', delete_cursor: '2026-01-03 00:00:00' }]);
  });

  test('a live version at the delete cursor loses too; one newer than the delete brings the key back', async () => {
    const table = await newObject();
    await stage(db, table, [deletedAccount('001A', 'Edge', '2026-01-03')]);
    await consolidate(db, table, { runId: 'run-1' }); // never in final: only the tombstone

    await stage(db, table, [
      account('001A', 'same instant', '2026-01-03'),
      account('001B', 'Other', '2026-01-01'),
    ]);
    await consolidate(db, table, { runId: 'run-2' });
    expect(await finalRows(db, table)).toEqual([account('001B', 'Other', '2026-01-01')]);

    await stage(db, table, [account('001A', 'Edge undeleted', '2026-01-04')]);
    await consolidate(db, table, { runId: 'run-3' });
    expect(await finalRows(db, table)).toEqual([
      account('001A', 'Edge undeleted', '2026-01-04'),
      account('001B', 'Other', '2026-01-01'),
    ]);
    expect(countsOf(await lastAudit(db, table))).toMatchObject({ rows_new: 1, rows_inserted: 1 });
    expect(await tombstones(table)).toEqual([]);
  });

  test('an older delete keeps the newer tombstone', async () => {
    const table = await newObject();
    await stage(db, table, [deletedAccount('001A', 'Edge', '2026-01-05')]);
    await consolidate(db, table, { runId: 'run-1' });
    await stage(db, table, [deletedAccount('001A', 'Edge', '2026-01-02')]);
    await consolidate(db, table, { runId: 'run-2' });

    expect(await tombstones(table)).toEqual([{ record_key: '001A', delete_cursor: '2026-01-05 00:00:00' }]);
  });

  test('tombstones older than tombstone_days are pruned, after the CALL has used them', async () => {
    const table = await newObject();
    await stage(db, table, [
      deletedAccount('001A', 'Edge', '2026-01-03'),
      deletedAccount('001B', 'B', '2026-01-03'),
    ]);
    await consolidate(db, table, { runId: 'run-1' });
    // 001A's tombstone was written 8 days ago, 001B's 6 days ago.
    await db.query(
      `UPDATE public.consolidation_tombstones SET recorded_at = recorded_at - CAST($1 AS interval)
       WHERE table_name = $2 AND record_key = $3`,
      ['8 days', table, '001A'],
    );
    await db.query(
      `UPDATE public.consolidation_tombstones SET recorded_at = recorded_at - CAST($1 AS interval)
       WHERE table_name = $2 AND record_key = $3`,
      ['6 days', table, '001B'],
    );

    await stage(db, table, [account('001A', 'stale', '2026-01-02')]);
    await consolidate(db, table, { runId: 'run-2', tombstoneDays: 7 });

    expect(await finalRows(db, table)).toEqual([]);
    expect(await tombstones(table)).toEqual([{ record_key: '001B', delete_cursor: '2026-01-03 00:00:00' }]);
    await expect(consolidate(db, table, { tombstoneDays: -1 })).rejects.toThrow(
      'consolidate_object: tombstone_days must be 0 to 36500, not -1',
    );
  });

  test('soft and ignore modes keep no tombstones', async () => {
    for (const deleteMode of ['soft', 'ignore']) {
      const table = await newObject();
      await stage(db, table, [deletedAccount('001A', 'Edge', '2026-01-03')]);
      await consolidate(db, table, { deleteMode });
      expect(await tombstones(table)).toEqual([]);
    }
  });
});

describe('consolidate_object: cursor ties and the lookback overlap', () => {
  test('tie on cursor with different content: the staged version replaces the final row', async () => {
    const table = await newObject();
    await stage(db, table, [
      account('001A', 'Edge', '2026-01-01'),
      account('001B', 'Burlington', '2026-01-01'),
    ]);
    await consolidate(db, table, { runId: 'run-1' });

    await stage(db, table, [
      account('001A', 'Edge (formula recomputed)', '2026-01-01'),
      account('001B', 'Burlington', '2026-01-01'),
    ]);
    await consolidate(db, table, { runId: 'run-2' });

    expect(await finalRows(db, table)).toEqual([
      account('001A', 'Edge (formula recomputed)', '2026-01-01'),
      account('001B', 'Burlington', '2026-01-01'),
    ]);
    expect(countsOf(await lastAudit(db, table))).toMatchObject({
      rows_inserted: 1,
      rows_new: 0,
      rows_updated: 1,
      rows_unchanged: 1,
    });
  });

  test('different staged rows of one key and cursor: the lowest values win, whatever the order', async () => {
    const rows = [
      account('001A', 'Zulu', '2026-01-01'),
      account('001A', 'Alpha', '2026-01-01'),
      account('001A', 'Alpha', '2026-01-01'), // an exact copy (AppFlow wrote the page twice)
      account('001A', null, '2026-01-01'),
      account('001B', 'Bravo', '2026-01-01'),
      account('001B', 'Bravo', '2026-01-01'),
    ];
    const forward = await newObject();
    const backward = await newObject();
    await stage(db, forward, rows);
    await stage(db, backward, [...rows].reverse());

    await consolidate(db, forward);
    await consolidate(db, backward);

    const expected = [account('001A', null, '2026-01-01'), account('001B', 'Bravo', '2026-01-01')];
    expect(await finalRows(db, forward)).toEqual(expected);
    expect(await finalRows(db, backward)).toEqual(expected);
    expect(countsOf(await lastAudit(db, forward))).toMatchObject({ duplicates_removed: 4, rows_new: 2 });
  });

  test('a lookback overlap counts new, updated and unchanged keys', async () => {
    const table = await newObject();
    await stage(db, table, [
      account('001A', 'Edge', '2026-01-01'),
      account('001B', 'Burlington', '2026-01-01'),
      account('001C', 'Pyramid', '2026-01-01'),
    ]);
    await consolidate(db, table, { runId: 'day-1' });

    // Day 2's window starts an hour before day 1's end: 001B and 001C are extracted again,
    // 001C changed since, 001D is new.
    await stage(db, table, [
      account('001B', 'Burlington', '2026-01-01'),
      account('001C', 'Pyramid v2', '2026-01-02'),
      account('001D', 'Dickenson', '2026-01-02'),
    ]);
    await consolidate(db, table, { runId: 'day-2' });

    expect(countsOf(await lastAudit(db, table))).toEqual({
      rows_staged: 3,
      rows_null_key: 0,
      duplicates_removed: 0,
      rows_inserted: 2,
      rows_updated: 1,
      rows_deleted: 0,
      rows_purged: 0,
      rows_new: 1,
      rows_unchanged: 1,
    });
  });
});

describe('consolidate_object: reruns and full sync', () => {
  test('a second identical CALL is a no-op', async () => {
    const table = await newObject();
    await stage(db, table, [
      account('001A', 'Edge', '2026-01-01'),
      account('001A', 'Edge v2', '2026-01-02'),
      deletedAccount('001B', 'Burlington', '2026-01-01'),
      account('001C', 'Pyramid', null),
    ]);
    await consolidate(db, table, { runId: 'run-1', deleteMode: 'soft' });
    const checksum = await finalChecksum(db, table);
    const rows = await finalRows(db, table);

    await consolidate(db, table, { runId: 'run-1', deleteMode: 'soft' });

    expect(await finalChecksum(db, table)).toBe(checksum);
    expect(await finalRows(db, table)).toEqual(rows);
    const [first, second] = await auditRows(db, table);
    expect(countsOf(first)).toMatchObject({ rows_staged: 4, rows_inserted: 2 });
    expect(countsOf(second)).toEqual({
      rows_staged: 0,
      rows_null_key: 0,
      duplicates_removed: 0,
      rows_inserted: 0,
      rows_updated: 0,
      rows_deleted: 0,
      rows_purged: 0,
      rows_new: 0,
      rows_unchanged: 0,
    });
  });

  test('re-staging what was already consolidated changes nothing', async () => {
    const table = await newObject();
    const batch = [account('001A', 'Edge', '2026-01-01'), deletedAccount('001B', 'Burlington', '2026-01-01')];
    await stage(db, table, batch);
    await consolidate(db, table, { runId: 'run-1', deleteMode: 'soft' });
    const checksum = await finalChecksum(db, table);

    // A rerun of the same day extracts the same window again.
    await stage(db, table, batch);
    await consolidate(db, table, { runId: 'run-1', deleteMode: 'soft' });

    expect(await finalChecksum(db, table)).toBe(checksum);
    expect(countsOf(await lastAudit(db, table))).toMatchObject({
      rows_staged: 2,
      rows_inserted: 0,
      rows_updated: 0,
      rows_deleted: 0,
    });
  });

  const fullSyncCases: { deleteMode: string; expected: AccountRow[]; deleted: number; purged: number }[] = [
    {
      deleteMode: 'hard',
      expected: [account('001A', 'Edge v2', '2026-01-01'), account('001D', 'Dickenson', '2026-01-05')],
      deleted: 2,
      purged: 1,
    },
    {
      deleteMode: 'soft',
      expected: [
        account('001A', 'Edge v2', '2026-01-01'),
        deletedAccount('001B', 'Burlington', '2026-01-05'),
        deletedAccount('001C', 'Pyramid', '2026-01-02'),
        account('001D', 'Dickenson', '2026-01-05'),
      ],
      deleted: 2,
      purged: 1,
    },
    {
      deleteMode: 'ignore',
      expected: [
        account('001A', 'Edge v2', '2026-01-01'),
        account('001B', 'Burlington', '2026-01-02'),
        account('001C', 'Pyramid', '2026-01-02'),
        account('001D', 'Dickenson', '2026-01-05'),
      ],
      deleted: 0,
      purged: 0,
    },
  ];

  test.each(fullSyncCases)(
    'full sync ($deleteMode) replaces the contents and reconciles purged keys',
    async ({ deleteMode, expected, deleted, purged }) => {
      const table = await newObject();
      await stage(db, table, [
        account('001A', 'Edge', '2026-01-02'),
        account('001B', 'Burlington', '2026-01-02'),
        account('001C', 'Pyramid', '2026-01-02'),
      ]);
      await consolidate(db, table, { runId: 'run-1', deleteMode });

      // The reload is the source's truth: 001A was restored to an older state (it still
      // replaces), 001B was deleted, 001C purged from the recycle bin (absent), 001D is new.
      await stage(db, table, [
        account('001A', 'Edge v2', '2026-01-01'),
        deletedAccount('001B', 'Burlington', '2026-01-05'),
        account('001D', 'Dickenson', '2026-01-05'),
      ]);
      await consolidate(db, table, { runId: 'run-2', deleteMode, syncMode: 'full' });

      expect(await finalRows(db, table)).toEqual(expected);
      const audit = await lastAudit(db, table);
      expect(audit.sync_mode).toBe('full');
      expect(countsOf(audit)).toMatchObject({
        rows_staged: 3,
        rows_inserted: 2,
        rows_updated: 1,
        rows_deleted: deleted,
        rows_purged: purged,
      });
    },
  );

  test('full sync without an isdeleted column removes purged keys even in soft mode', async () => {
    const table = await newObject({ withIsDeleted: false });
    await stage(db, table, [
      { id: '001A', name: 'Edge', systemmodstamp: '2026-01-01T00:00:00.000Z' },
      { id: '001B', name: 'Burlington', systemmodstamp: '2026-01-01T00:00:00.000Z' },
    ]);
    await consolidate(db, table, { runId: 'run-1' });

    await stage(db, table, [{ id: '001A', name: 'Edge', systemmodstamp: '2026-01-01T00:00:00.000Z' }]);
    await consolidate(db, table, { runId: 'run-2', deleteMode: 'soft', syncMode: 'full' });

    expect(await finalRows(db, table)).toEqual([
      { id: '001A', name: 'Edge', systemmodstamp: '2026-01-01T00:00:00.000Z' },
    ]);
    expect(countsOf(await lastAudit(db, table))).toMatchObject({
      rows_inserted: 0,
      rows_deleted: 1,
      rows_purged: 1,
    });
  });

  test('full sync with nothing staged purges nothing (a rerun after success stays a no-op)', async () => {
    const table = await newObject();
    await stage(db, table, [account('001A', 'Edge', '2026-01-01')]);
    await consolidate(db, table, { runId: 'run-1', syncMode: 'full' });
    const checksum = await finalChecksum(db, table);

    await consolidate(db, table, { runId: 'run-1', syncMode: 'full' });

    expect(await finalChecksum(db, table)).toBe(checksum);
    expect(await finalRows(db, table)).toHaveLength(1);
    expect(countsOf(await lastAudit(db, table))).toMatchObject({ rows_deleted: 0, rows_purged: 0 });
  });
});

describe('consolidate_object: audit', () => {
  test('the audit row figures are exact for a known batch', async () => {
    const table = await newObject();
    await stage(db, table, [
      account('001A', 'Edge', '2026-01-01'),
      account('001B', 'Burlington', '2026-01-01'),
      account('001C', 'Pyramid', '2026-01-01'),
    ]);
    await consolidate(db, table, { runId: 'run-1' });
    const beforeSecondRun = new Date();

    await stage(db, table, [
      account('001A', 'Edge v2', '2026-01-02'), // update
      account('001A', 'Edge v1.5', '2026-01-01'), // duplicate, older
      account('001A', 'Edge v2', '2026-01-02'), // duplicate, identical
      deletedAccount('001B', 'Burlington', '2026-01-02'), // delete of a live row
      account('001C', 'Pyramid', '2026-01-01'), // identical to final: no-op
      account('001D', 'Dickenson', '2026-01-02'), // new
      account('001D', 'Dickenson', '2026-01-01'), // duplicate, older
      deletedAccount('001E', 'Ghost', '2026-01-02'), // delete of a key never seen
      { id: null, name: 'orphan', systemmodstamp: null, isdeleted: false }, // no key
    ]);
    await consolidate(db, table, { runId: 'run-2', deleteMode: 'hard' });

    const audit = await lastAudit(db, table);
    expect(audit).toMatchObject({
      run_id: 'run-2',
      staging_schema: STAGING_SCHEMA,
      final_schema: FINAL_SCHEMA,
      table_name: table,
      sync_mode: 'incremental',
      delete_mode: 'hard',
    });
    expect(countsOf(audit)).toEqual({
      rows_staged: 9,
      rows_null_key: 1,
      duplicates_removed: 3, // 8 keyed rows, 5 distinct keys
      rows_inserted: 2, // 001A (update) and 001D (new)
      rows_updated: 1, // 001A
      rows_deleted: 1, // 001B
      rows_purged: 0,
      rows_new: 1, // 001D
      rows_unchanged: 1, // 001C
    });
    const startedAt = Date.parse(audit.started_at);
    expect(startedAt).toBeGreaterThanOrEqual(beforeSecondRun.getTime() - 1_000);
    expect(Date.parse(audit.finished_at)).toBeGreaterThanOrEqual(startedAt);
    expect(await auditRows(db, table)).toHaveLength(2);
  });
});

describe('consolidate_object: volume', () => {
  test('100k staged rows, 25 copies of each of 4,000 keys, end fully deduplicated', async () => {
    const table = await newObject();
    // Copy c of key k has cursor day c; copy 25 is the newest. Test-side Postgres SQL.
    await db.exec(`
      INSERT INTO ${STAGING_SCHEMA}.${table} (id, name, systemmodstamp, isdeleted)
      SELECT 'K' || lpad(CAST(k AS text), 6, '0'), 'copy ' || c,
             TIMESTAMP '2026-01-01' + c * INTERVAL '1 minute', false
      FROM generate_series(1, 4000) AS k, generate_series(1, 25) AS c
      ORDER BY random();
    `);

    const started = Date.now();
    await consolidate(db, table);
    const elapsedMs = Date.now() - started;

    const summary = await db.query<{ total: number; keys: number; newest: number }>(`
      SELECT CAST(COUNT(*) AS int) AS total, CAST(COUNT(DISTINCT id) AS int) AS keys,
             CAST(SUM(CASE WHEN name = 'copy 25' THEN 1 ELSE 0 END) AS int) AS newest
      FROM ${FINAL_SCHEMA}.${table}
    `);
    expect(summary.rows[0]).toEqual({ total: 4000, keys: 4000, newest: 4000 });
    expect(countsOf(await lastAudit(db, table))).toMatchObject({
      rows_staged: 100_000,
      duplicates_removed: 96_000,
      rows_inserted: 4000,
    });
    expect(await stagedRows(db, table)).toEqual([]);
    expect(elapsedMs).toBeLessThan(20_000);
  });
});

describe('consolidate_object: refused calls change nothing', () => {
  let table: string;
  let checksumBefore: string;
  let auditCountBefore: number;

  beforeAll(async () => {
    table = await newObject();
    await stage(db, table, [account('001A', 'Edge', '2026-01-01')]);
    await consolidate(db, table, { runId: 'run-1' });
    await stage(db, table, [account('001A', 'Edge v2', '2026-01-02')]);
    await db.exec('CREATE TABLE IF NOT EXISTS public.x (keep_me int)');
  });

  beforeEach(async () => {
    checksumBefore = await finalChecksum(db, table);
    auditCountBefore = (await db.query('SELECT * FROM public.consolidation_audit')).rows.length;
  });

  afterEach(async () => {
    expect(await finalChecksum(db, table)).toBe(checksumBefore);
    expect(await stagedRows(db, table)).toEqual([account('001A', 'Edge v2', '2026-01-02')]);
    expect((await db.query('SELECT * FROM public.consolidation_audit')).rows).toHaveLength(auditCountBefore);
    const x = await db.query(`SELECT COUNT(*) AS n FROM information_schema.tables
      WHERE table_schema = 'public' AND table_name = 'x'`);
    expect(x.rows).toEqual([{ n: 1 }]);
  });

  test('a hostile table name is refused before any SQL is built from it', async () => {
    await expect(consolidate(db, 'account; drop table x')).rejects.toThrow(
      "consolidate_object: invalid table_name 'account; drop table x': must match ^[a-z_][a-z0-9_]{0,126}$",
    );
  });

  test('a hostile primary-key column is refused', async () => {
    await expect(
      consolidate(db, table, { pkColumn: 'id) FROM public.x; DROP TABLE public.x; --' }),
    ).rejects.toThrow(/invalid pk_column 'id\) FROM public\.x; DROP TABLE public\.x; --'/);
  });

  test('hostile or malformed schema and cursor names are refused', async () => {
    await expect(consolidate(db, table, { stagingSchema: 'Salesforce_Incremental' })).rejects.toThrow(
      /invalid staging_schema 'Salesforce_Incremental'/,
    );
    await expect(consolidate(db, table, { finalSchema: 'salesforce"; drop table x; --' })).rejects.toThrow(
      /invalid final_schema/,
    );
    await expect(consolidate(db, table, { cursorColumn: "x' or '1'='1" })).rejects.toThrow(
      /invalid cursor_column 'x'' or ''1''=''1'/,
    );
    await expect(consolidate(db, table, { cursorColumn: `c${'x'.repeat(127)}` })).rejects.toThrow(
      /invalid cursor_column/,
    );
  });

  test('a bad delete mode or sync mode is refused', async () => {
    await expect(consolidate(db, table, { deleteMode: 'purge' })).rejects.toThrow(
      "consolidate_object: invalid delete_mode 'purge': must be hard, soft or ignore",
    );
    await expect(consolidate(db, table, { deleteMode: 'HARD' })).rejects.toThrow(
      /invalid delete_mode 'HARD'/,
    );
    await expect(consolidate(db, table, { syncMode: 'replace' })).rejects.toThrow(
      "consolidate_object: invalid sync_mode 'replace': must be incremental or full",
    );
  });

  test('NULL or empty arguments are refused', async () => {
    await expect(
      db.query(`CALL consolidate_object('salesforce_incremental', 'salesforce', NULL, 'id', 'systemmodstamp',
        'hard', 'run-x')`),
    ).rejects.toThrow('consolidate_object: invalid table_name NULL');
    await expect(consolidate(db, table, { runId: '' })).rejects.toThrow(/run_id must be 1 to 256 characters/);
  });

  test('the same schema for staging and final is refused', async () => {
    await expect(consolidate(db, table, { stagingSchema: FINAL_SCHEMA })).rejects.toThrow(
      'consolidate_object: staging_schema and final_schema are both salesforce',
    );
  });

  test('a missing staging or final table, or a missing column, is a clear error', async () => {
    await db.exec(`CREATE TABLE ${STAGING_SCHEMA}.staged_only (id varchar(18), systemmodstamp timestamp)`);
    await expect(consolidate(db, 'no_such_object')).rejects.toThrow(
      'consolidate_object: staging table salesforce_incremental.no_such_object does not exist',
    );
    await expect(consolidate(db, 'staged_only')).rejects.toThrow(
      'consolidate_object: final table salesforce.staged_only does not exist',
    );
    await expect(consolidate(db, table, { pkColumn: 'accountid' })).rejects.toThrow(
      'consolidate_object: pk_column accountid is not a column of salesforce_incremental.',
    );
    await expect(consolidate(db, table, { cursorColumn: 'lastmodifieddate' })).rejects.toThrow(
      /cursor_column lastmodifieddate is not a column/,
    );
  });
});
