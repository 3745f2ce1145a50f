import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { applySqlDir } from '../../local/warehouse/apply-sql';
import { createWarehouse } from '../support/warehouse';

/** Everything sql/ can create or change, in a comparable form (test-side Postgres catalog SQL). */
async function catalogSnapshot(db: PGlite): Promise<Record<string, unknown[]>> {
  const schemas = await db.query(`
    SELECT nspname FROM pg_namespace
    WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY nspname`);
  const columns = await db.query(`
    SELECT table_schema, table_name, column_name, ordinal_position, data_type,
           character_maximum_length, is_nullable, column_default
    FROM information_schema.columns
    WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
    ORDER BY table_schema, table_name, ordinal_position`);
  const routines = await db.query(`
    SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid) AS arguments,
           p.prokind, p.prosrc, p.oid
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'redshift_local')
    ORDER BY 1, 2, 3`);
  const constraintsAndIndexes = await db.query(`
    SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') ORDER BY 1`);
  const auditRows = await db.query('SELECT * FROM public.consolidation_audit');
  return {
    schemas: schemas.rows,
    columns: columns.rows,
    routines: routines.rows,
    relations: constraintsAndIndexes.rows,
    auditRows: auditRows.rows,
  };
}

describe('applySqlDir', () => {
  let db: PGlite;

  beforeAll(async () => {
    db = await createWarehouse({ applySql: true });
  });

  afterAll(async () => {
    await db.close();
  });

  test('creates the contract layout: schemas, audit table and the procedure forms', async () => {
    const snapshot = await catalogSnapshot(db);

    expect(snapshot.schemas).toEqual(
      expect.arrayContaining([
        { nspname: 'public' },
        { nspname: 'salesforce' },
        { nspname: 'salesforce_history' },
        { nspname: 'salesforce_incremental' },
      ]),
    );
    expect(
      (snapshot.columns as { table_name: string; column_name: string }[])
        .filter((column) => column.table_name === 'consolidation_audit')
        .map((column) => column.column_name),
    ).toEqual([
      'run_id',
      'staging_schema',
      'final_schema',
      'table_name',
      'sync_mode',
      'delete_mode',
      'rows_staged',
      'rows_null_key',
      'duplicates_removed',
      'rows_inserted',
      'rows_updated',
      'rows_deleted',
      'rows_purged',
      'started_at',
      'finished_at',
      'rows_new',
      'rows_unchanged',
      'history_schema',
      'history_versions_added',
      'history_versions_closed',
    ]);
    expect(
      (snapshot.columns as { table_name: string; column_name: string }[])
        .filter((column) => column.table_name === 'consolidation_tombstones')
        .map((column) => column.column_name),
    ).toEqual(['final_schema', 'table_name', 'record_key', 'delete_cursor', 'recorded_at']);
    const routines = (
      snapshot.routines as { nspname: string; proname: string; arguments: string; prokind: string }[]
    ).map(({ nspname, proname, arguments: args, prokind }) => ({ nspname, proname, args, prokind }));
    expect(routines.filter((routine) => routine.proname === 'refresh_columns')).toEqual([
      {
        nspname: 'public',
        proname: 'refresh_columns',
        args:
          'IN p_staging_schema character varying, IN p_final_schema character varying, ' +
          'IN p_table_name character varying, IN p_refresh_table character varying, ' +
          'IN p_pk_column character varying, IN p_columns character varying, IN p_run_id character varying',
        prokind: 'p',
      },
    ]);
    expect(
      (snapshot.columns as { table_name: string; column_name: string }[])
        .filter((column) => column.table_name === 'source_column_types')
        .map((column) => column.column_name),
    ).toEqual(['final_schema', 'table_name', 'column_name', 'source_type', 'refresh_pending', 'recorded_at']);
    expect(routines.filter((routine) => routine.proname === 'consolidate_object')).toEqual([
      {
        nspname: 'public',
        proname: 'consolidate_object',
        args:
          'IN p_staging_schema character varying, IN p_final_schema character varying, ' +
          'IN p_table_name character varying, IN p_pk_column character varying, ' +
          'IN p_cursor_column character varying, IN p_delete_mode character varying, ' +
          'IN p_run_id character varying',
        prokind: 'p',
      },
      {
        nspname: 'public',
        proname: 'consolidate_object',
        args:
          'IN p_staging_schema character varying, IN p_final_schema character varying, ' +
          'IN p_table_name character varying, IN p_pk_column character varying, ' +
          'IN p_cursor_column character varying, IN p_delete_mode character varying, ' +
          'IN p_run_id character varying, IN p_sync_mode character varying',
        prokind: 'p',
      },
      {
        nspname: 'public',
        proname: 'consolidate_object',
        args:
          'IN p_staging_schema character varying, IN p_final_schema character varying, ' +
          'IN p_table_name character varying, IN p_pk_column character varying, ' +
          'IN p_cursor_column character varying, IN p_delete_mode character varying, ' +
          'IN p_run_id character varying, IN p_sync_mode character varying, IN p_tombstone_days integer',
        prokind: 'p',
      },
      {
        nspname: 'public',
        proname: 'consolidate_object',
        args:
          'IN p_staging_schema character varying, IN p_final_schema character varying, ' +
          'IN p_table_name character varying, IN p_pk_column character varying, ' +
          'IN p_cursor_column character varying, IN p_delete_mode character varying, ' +
          'IN p_run_id character varying, IN p_sync_mode character varying, IN p_tombstone_days integer, ' +
          'IN p_history_schema character varying',
        prokind: 'p',
      },
    ]);
  });

  test('applying sql/ again changes nothing', async () => {
    const before = await catalogSnapshot(db);

    await applySqlDir(db);

    expect(await catalogSnapshot(db)).toEqual(before);
  });

  test('applying sql/ again keeps the audit rows already written', async () => {
    await db.exec(`
      CREATE TABLE salesforce_incremental.contact (id varchar(18), systemmodstamp timestamp);
      CREATE TABLE salesforce.contact (id varchar(18), systemmodstamp timestamp);
      INSERT INTO salesforce_incremental.contact VALUES ('003A', '2026-01-01');
      CALL consolidate_object('salesforce_incremental', 'salesforce', 'contact', 'id', 'systemmodstamp',
                              'hard', 'run-2026-01-01');
    `);
    const before = await catalogSnapshot(db);

    await applySqlDir(db);

    expect(await catalogSnapshot(db)).toEqual(before);
    expect(before.auditRows).toHaveLength(1);
  });

  test('an audit table of an earlier release gains the later columns, its rows kept', async () => {
    const earlier = await createWarehouse();
    try {
      await earlier.exec(`
        CREATE TABLE public.consolidation_audit (
          run_id varchar(256) NOT NULL, staging_schema varchar(128) NOT NULL, final_schema varchar(128) NOT NULL,
          table_name varchar(128) NOT NULL, sync_mode varchar(16) NOT NULL, delete_mode varchar(16) NOT NULL,
          rows_staged bigint NOT NULL, rows_null_key bigint NOT NULL, duplicates_removed bigint NOT NULL,
          rows_inserted bigint NOT NULL, rows_updated bigint NOT NULL, rows_deleted bigint NOT NULL,
          rows_purged bigint NOT NULL, started_at timestamp NOT NULL, finished_at timestamp NOT NULL);
        INSERT INTO public.consolidation_audit VALUES ('run-old', 's', 'f', 't', 'incremental', 'hard',
          1, 0, 0, 1, 0, 0, 0, '2026-01-01', '2026-01-01');
      `);

      await applySqlDir(earlier);
      const upgraded = await catalogSnapshot(earlier);
      await applySqlDir(earlier);

      expect(await catalogSnapshot(earlier)).toEqual(upgraded);
      expect(upgraded.auditRows).toEqual([
        expect.objectContaining({
          run_id: 'run-old',
          rows_new: null,
          rows_unchanged: null,
          history_schema: null,
          history_versions_added: null,
          history_versions_closed: null,
        }),
      ]);
      // The same audit layout as a fresh deployment's.
      const auditColumns = (snapshot: Record<string, unknown[]>) =>
        (snapshot.columns as { table_name: string }[]).filter(
          (column) => column.table_name === 'consolidation_audit',
        );
      expect(auditColumns(upgraded)).toEqual(auditColumns(await catalogSnapshot(db)));
    } finally {
      await earlier.close();
    }
  });

  test('names the file and statement that failed', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'apply-sql-'));
    try {
      writeFileSync(path.join(dir, '001_ok.sql'), 'CREATE SCHEMA IF NOT EXISTS scratch;');
      writeFileSync(path.join(dir, '002_bad.sql'), 'SELECT 1;\nSELECT * FROM no_such_table;');
      await expect(applySqlDir(db, dir)).rejects.toThrow(/^002_bad\.sql, statement 2: .*no_such_table/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
