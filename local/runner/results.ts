import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { PGlite } from '@electric-sql/pglite';
import { scanControlTable } from '../../lambdas/common/control-table';
import type { EnvironmentConfig } from '../../lib/config';
import type { SourceOrg } from '../stand-ins/source-org';

/** What a run leaves behind, to hold against each other and to dump. */
export interface RunResults {
  /** Final tables as JSON rows with lower-case keys (the `--dump` content). */
  finalTables: Record<string, Record<string, unknown>[]>;
  /** What the simulated org holds at the end: what the warehouse must equal. */
  sourceTruth: Record<string, Record<string, unknown>[]>;
  /** Control rows at the end. */
  controlRows: Record<string, unknown>[];
}

/** The warehouse's final tables, the org's records and the control rows at the end of a run. */
export async function collectResults(world: {
  db: PGlite;
  config: EnvironmentConfig;
  org: SourceOrg;
  doc: DynamoDBDocumentClient;
  controlTableName: string;
}): Promise<RunResults> {
  const finalTables = await dumpFinalTables(world.db, finalSchemasOf(world.config));
  const sourceTruth = Object.fromEntries(
    world.org.objectNames().map((name) => [name, world.org.truth(name)]),
  );
  const controlRows = await scanControlTable(world.doc, world.controlTableName);
  return { finalTables, sourceTruth, controlRows };
}

/** JSON as an analyst would read it: timestamps in ISO 8601 (UTC), dates as YYYY-MM-DD. */
function jsonValue(value: unknown, dataType: string | undefined): unknown {
  if (!(value instanceof Date)) return value;
  return dataType === 'date' ? value.toISOString().slice(0, 10) : value.toISOString();
}

/** The final schemas of every configured source (DESIGN.md: `<source>`), each once. */
function finalSchemasOf(config: EnvironmentConfig): string[] {
  return [...new Set(Object.values(config.sources).map((source) => source.finalSchema))];
}

/**
 * Every final table of every source's final schema as rows with lower-case keys, ordered by
 * `id` when it has one. Target tables are unique across the warehouse (control-row check), so
 * one map (and one `--dump` directory) holds them all.
 */
async function dumpFinalTables(
  db: PGlite,
  finalSchemas: string[],
): Promise<Record<string, Record<string, unknown>[]>> {
  const dump: Record<string, Record<string, unknown>[]> = {};
  for (const schema of finalSchemas) {
    const columns = await db.query<{ table_name: string; column_name: string; data_type: string }>(
      `SELECT table_name, column_name, data_type FROM information_schema.columns
       WHERE table_schema = $1 ORDER BY table_name, ordinal_position`,
      [schema],
    );
    const types = new Map<string, Map<string, string>>();
    for (const column of columns.rows) {
      const table = types.get(column.table_name) ?? new Map<string, string>();
      table.set(column.column_name, column.data_type);
      types.set(column.table_name, table);
    }
    for (const [table, tableTypes] of types) {
      if (dump[table])
        throw new Error(`Final table ${table} exists in two final schemas; --dump needs one name per table`);
      const orderBy = tableTypes.has('id') ? ' ORDER BY "id"' : '';
      const rows = await db.query<Record<string, unknown>>(`SELECT * FROM "${schema}"."${table}"${orderBy}`);
      dump[table] = rows.rows.map((row) =>
        Object.fromEntries(
          Object.entries(row).map(([key, value]) => [
            key.toLowerCase(),
            jsonValue(value, tableTypes.get(key)),
          ]),
        ),
      );
    }
  }
  return dump;
}
