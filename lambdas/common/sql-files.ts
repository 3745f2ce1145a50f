import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { splitSqlStatements } from './sql-statements';

export interface SqlFile {
  /** File name inside the directory, e.g. `020_consolidate_object.sql`. */
  file: string;
  statements: string[];
}

/**
 * The `.sql` files of a directory in lexical order (the order they must be applied in),
 * each split into single statements.
 */
export function readSqlFiles(dir: string): SqlFile[] {
  // Plain code-unit sort, not localeCompare: the order must not depend on the machine's locale.
  const files = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.sql'))
    .map((entry) => entry.name)
    .sort();
  return files.map((file) => {
    const sqlText = readFileSync(path.join(dir, file), 'utf8');
    try {
      return { file, statements: splitSqlStatements(sqlText) };
    } catch (error) {
      throw new Error(`${file}: ${(error as Error).message}`, { cause: error });
    }
  });
}
