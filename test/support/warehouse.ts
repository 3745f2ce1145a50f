import { PGlite } from '@electric-sql/pglite';
import { applySqlDir } from '../../local/warehouse/apply-sql';

/**
 * A fresh in-memory Postgres (PGlite), in the test's own process. With `applySql`, sql/ is
 * applied to it as the deploy step applies it to Redshift. Starting one takes seconds: share it
 * across a test file (beforeAll/afterAll) and close it when done.
 */
export async function createWarehouse({ applySql = false }: { applySql?: boolean } = {}): Promise<PGlite> {
  const db = await PGlite.create();
  if (applySql) {
    try {
      await applySqlDir(db);
    } catch (error) {
      await db.close();
      throw error;
    }
  }
  return db;
}
