import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { readSqlFiles } from '../../lambdas/common/sql-files';
import { toPostgres } from './redshift-dialect';
import { installRedshiftEmulation } from './redshift-emulation';

/**
 * Applies the warehouse SQL (schemas, audit table, procedures) to a PGlite database the way
 * the deploy step applies it to Redshift: file by file in lexical order, one statement at a time,
 * each translated from Redshift's dialect (toPostgres: what Redshift lacks is refused, naming
 * the file and statement). The warehouse's Redshift emulation is installed first (idempotent).
 */
export async function applySqlDir(
  db: Pick<PGlite, 'exec'>,
  dir = path.join(__dirname, '../../sql'),
): Promise<void> {
  await installRedshiftEmulation(db);
  for (const { file, statements } of readSqlFiles(dir)) {
    for (const [index, statement] of statements.entries()) {
      try {
        await db.exec(toPostgres(statement));
      } catch (error) {
        throw new Error(`${file}, statement ${index + 1}: ${(error as Error).message}`, { cause: error });
      }
    }
  }
}
