import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { PGlite } from '@electric-sql/pglite';
import { scanControlTable } from '../../lambdas/common/control-table';
import { historySchemaOf } from '../../lambdas/common/sources';
import type { EnvironmentConfig } from '../../lib/config';
import type { SourceOrg } from '../stand-ins/source-org';

/** What a run leaves behind, to hold against each other and to dump. */
export interface RunResults {
  /** Final tables as JSON rows with lower-case keys (the `--dump` content). */
  finalTables: Record<string, Record<string, unknown>[]>;
  /**
   * History tables (issue 22: `<final schema>_history.<targetTable>`) as JSON rows with lower-case
   * keys, `_valid_from`, `_valid_to` and `_is_active` first, by key and `_valid_from`
   * (`--dump`: `<targetTable>.history.json`). Only objects that kept history have one.
   */
  historyTables: Record<string, Record<string, unknown>[]>;
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
  const finalSchemas = finalSchemasOf(world.config);
  const finalTables = await dumpTables(world.db, finalSchemas, 'Final');
  const historyTables = await dumpTables(world.db, finalSchemas.map(historySchemaOf), 'History');
  const sourceTruth = Object.fromEntries(
    world.org.objectNames().map((name) => [name, world.org.truth(name)]),
  );
  const controlRows = await scanControlTable(world.doc, world.controlTableName);
  return { finalTables, historyTables, sourceTruth, controlRows };
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
 * Every table of the given schemas (every source's final schema, or its history schema) as rows
 * with lower-case keys, ordered by `id` when it has one (and a history table's versions by
 * `_valid_from` within a key). Target tables are unique across the warehouse (control-row check),
 * so one map (and one `--dump` directory) holds them all.
 */
async function dumpTables(
  db: PGlite,
  schemas: string[],
  kind: 'Final' | 'History',
): Promise<Record<string, Record<string, unknown>[]>> {
  const dump: Record<string, Record<string, unknown>[]> = {};
  for (const schema of schemas) {
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
        throw new Error(`${kind} table ${table} exists in two schemas; --dump needs one name per table`);
      const order = [
        ...(tableTypes.has('id') ? ['"id"'] : []),
        ...(tableTypes.has('_valid_from') ? ['"_valid_from" NULLS FIRST'] : []),
      ];
      const orderBy = order.length > 0 ? ` ORDER BY ${order.join(', ')}` : '';
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
