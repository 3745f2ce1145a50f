import { PGlite } from '@electric-sql/pglite';
import { createAppFlowUser } from './appflow-user';
import { applySqlDir } from './apply-sql';
import { installRedshiftEmulation } from './redshift-emulation';

export interface LocalWarehouseOptions {
  /** Apply sql/ (schemas, audit table, procedures) as the deploy step does. @default true */
  readonly applySql?: boolean;
}

/**
 * Sets up a Postgres database as the local Redshift: the Redshift emulation (byte-counted
 * VARCHAR, sort keys as indexes, ANALYZE after CREATE TABLE AS), sql/ and AppFlow's database
 * user (no privileges until the pipeline grants them).
 */
export async function setUpLocalWarehouse(
  db: Pick<PGlite, 'exec'>,
  { applySql = true }: LocalWarehouseOptions = {},
): Promise<void> {
  await installRedshiftEmulation(db);
  if (applySql) await applySqlDir(db);
  await createAppFlowUser(db);
}

/** A fresh in-memory local warehouse (PGlite); close it when done. */
export async function createLocalWarehouse(options: LocalWarehouseOptions = {}): Promise<PGlite> {
  const db = await PGlite.create();
  try {
    await setUpLocalWarehouse(db, options);
  } catch (error) {
    await db.close();
    throw error;
  }
  return db;
}
