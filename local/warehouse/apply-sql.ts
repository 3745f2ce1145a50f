import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { readSqlFiles } from '../../lambdas/common/sql-files';

/**
 * Applies the warehouse SQL (schemas, audit table, procedures) to a PGlite database the way
 * the deploy step applies it to Redshift: file by file in lexical order, one statement at a time.
 */
export async function applySqlDir(
  db: Pick<PGlite, 'exec'>,
  dir = path.join(__dirname, '../../sql'),
): Promise<void> {
  for (const { file, statements } of readSqlFiles(dir)) {
    for (const [index, statement] of statements.entries()) {
      try {
        await db.exec(statement);
      } catch (error) {
        throw new Error(`${file}, statement ${index + 1}: ${(error as Error).message}`, { cause: error });
      }
    }
  }
}
