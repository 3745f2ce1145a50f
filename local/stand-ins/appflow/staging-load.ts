import type { PGlite } from '@electric-sql/pglite';
import { errorMessage } from '../http-service';
import { type SourceFieldType, typeFamily } from '../source-org';

/** One destination column and the source field type its values come from. */
export interface LoadColumn {
  column: string;
  sourceType: SourceFieldType;
}

export interface StagingLoad {
  /** The warehouse, shared with the Redshift Data API stand-in. */
  db: PGlite;
  /** Source object, for error messages. */
  objectName: string;
  /** `schema.table`. */
  table: string;
  columns: LoadColumn[];
  /** One value per column, as read from the source (after the flow's tasks). */
  rows: unknown[][];
  /** Record id of each row, for error messages. */
  recordIds: string[];
  /** Database user the rows are inserted as (AppFlow's connector identity); unset: the session user. */
  databaseUser?: string;
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * A source value as text for the warehouse, per type, the way AppFlow writes its staged
 * files for Redshift's COPY: numbers exactly as decimal text (never through a float),
 * booleans as true/false, dates YYYY-MM-DD, datetimes ISO 8601 in UTC, text as is.
 */
export function warehouseText(value: unknown, sourceType: SourceFieldType): string | null {
  if (value === null || value === undefined) {
    return null;
  }
  switch (typeFamily(sourceType)) {
    case 'decimal':
    case 'integer':
      // The org keeps decimals as exact text; a number here is printed without an exponent.
      return typeof value === 'number' && /e/i.test(String(value))
        ? value.toFixed(20).replace(/\.?0+$/, '')
        : String(value);
    case 'boolean':
      return value === true || value === 'true' ? 'true' : 'false';
    case 'datetime':
      return new Date(value as string).toISOString();
    case 'opaque':
      return typeof value === 'string' ? value : JSON.stringify(value);
    default:
      return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
}

/** A load that failed: the message names the object, table, record and (when known) column. */
export class StagingLoadError extends Error {}

/**
 * Inserts the rows in multi-row INSERTs of `batchRows`, in one transaction, as AppFlow's
 * database user: a failed load leaves nothing behind, no Data API statement interleaves,
 * and the first refused batch fails the load (AppFlow's fail-on-first-error) with a
 * message naming the object, the record and the column where the warehouse can tell.
 */
export async function loadStagingRows(load: StagingLoad, batchRows = 1000): Promise<void> {
  if (load.rows.length === 0) {
    return;
  }
  const table = load.table
    .split('.')
    .map((part) => quoteIdentifier(part.toLowerCase()))
    .join('.');
  const prefix = `INSERT INTO ${table} (${load.columns.map(({ column }) => quoteIdentifier(column)).join(', ')}) VALUES\n`;
  const size = Math.max(1, batchRows);
  let failedBatch = -1;
  try {
    await load.db.transaction(async (tx) => {
      if (load.databaseUser) {
        // A rolled-back transaction also undoes the SET, so a failed insert cannot leave the role on.
        await tx.exec(`SET ROLE ${quoteIdentifier(load.databaseUser)}`);
      }
      for (let offset = 0; offset < load.rows.length; offset += size) {
        failedBatch = offset;
        const values = load.rows
          .slice(offset, offset + size)
          .map(
            (row) =>
              `(${row.map((value, column) => sqlValue(value, load.columns[column].sourceType)).join(', ')})`,
          )
          .join(',\n');
        await tx.exec(`${prefix}${values}`);
      }
      failedBatch = -1;
      if (load.databaseUser) {
        await tx.exec('RESET ROLE');
      }
    });
  } catch (error) {
    const where = failedBatch < 0 ? '' : await locateFailure(load, failedBatch, size);
    throw new StagingLoadError(
      `Load of ${load.objectName} into Redshift table ${load.table} failed${where}: ${errorMessage(error)}`,
    );
  }
}

function sqlValue(value: unknown, sourceType: SourceFieldType): string {
  const text = warehouseText(value, sourceType);
  return text === null ? 'NULL' : quoteLiteral(text);
}

/**
 * Where a refused batch failed: the first record with text longer than its VARCHAR, as
 * Redshift's stl_load_errors would say ("String length exceeds DDL length"; lengths count
 * bytes), or else the batch's range of rows.
 */
async function locateFailure(load: StagingLoad, offset: number, size: number): Promise<string> {
  const end = Math.min(offset + size, load.rows.length);
  const [schema, table] = load.table.toLowerCase().split('.');
  try {
    const limits = await load.db.query<{ column_name: string; character_maximum_length: number | null }>(
      `SELECT column_name, character_maximum_length FROM information_schema.columns
       WHERE table_schema = $1 AND table_name = $2`,
      [schema, table],
    );
    const maxBytes = new Map(limits.rows.map((limit) => [limit.column_name, limit.character_maximum_length]));
    for (let rowIndex = offset; rowIndex < end; rowIndex += 1) {
      for (const [index, { column, sourceType }] of load.columns.entries()) {
        const text = warehouseText(load.rows[rowIndex][index], sourceType);
        const limit = maxBytes.get(column);
        if (text === null || limit === null || limit === undefined) continue;
        const bytes = Buffer.byteLength(text, 'utf8');
        if (bytes > limit) {
          return ` at record ${load.recordIds[rowIndex] ?? '?'} (row ${rowIndex + 1} of ${load.rows.length}), column ${column}: String length exceeds DDL length (${bytes} bytes > VARCHAR(${limit}))`;
        }
      }
    }
  } catch {
    // The table itself may be what is missing: the database message says so.
  }
  return end - offset === 1
    ? ` at record ${load.recordIds[offset] ?? '?'} (row ${offset + 1} of ${load.rows.length})`
    : ` in rows ${offset + 1}–${end} of ${load.rows.length}`;
}
