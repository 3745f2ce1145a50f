import { quoteDatabaseUser } from './database-user';
import { SchemaMismatchError } from './errors';
import {
  type ColumnType,
  REDSHIFT_MAX_VARCHAR_BYTES,
  renderColumnType,
  type SourceField,
} from './source-fields';
import { quoteIdent, type WarehouseLayout } from './warehouse';

/** A column as `information_schema.columns` describes it. */
export interface ExistingColumn {
  dataType: string;
  characterMaximumLength?: number;
  numericPrecision?: number;
  numericScale?: number;
}

/** Column name → description, per table; an empty map means the table does not exist. */
export interface ExistingTables {
  staging: Map<string, ExistingColumn>;
  final: Map<string, ExistingColumn>;
}

/** A column kept with another type than the source now calls for, because it holds every value (logged). */
export interface KeptColumn {
  table: string;
  column: string;
  existingType: string;
  wantedType: string;
}

export interface TableChanges {
  /**
   * DDL that may share a transaction, in order: tables, new staging columns, GRANTs.
   * The caller runs it in batches of at most 40 statements.
   */
  statements: string[];
  /**
   * `ALTER COLUMN … TYPE VARCHAR(n)` for columns whose source field grew. Redshift runs these
   * only outside a transaction block, so each is its own statement.
   */
  widenings: string[];
  /**
   * Columns the existing final table lacks. The consolidation procedure adds them (from
   * staging, same types) inside its CALL; their old records need a full reload to get values.
   */
  finalColumnsMissing: string[];
  keptColumns: KeptColumn[];
}

export interface TableOptions {
  /** Source object name, for error messages. */
  objectName: string;
  /** Primary-key column: distribution and sort key of both tables. */
  primaryKeyColumn: string;
  /** Sort key of the final table when the control row overrides it (a column of the object). */
  finalSortKeyColumn?: string;
  /** Database user AppFlow loads staging as; GRANTed usage and insert on every run. */
  appflowDatabaseUser?: string;
}

/** The existing column's type in the same shape as the wanted one, or its own name when no kind fits. */
export function existingColumnType(column: ExistingColumn): ColumnType | { kind: 'other'; name: string } {
  const dataType = column.dataType.toLowerCase();
  switch (dataType) {
    case 'character varying':
      return { kind: 'varchar', length: column.characterMaximumLength ?? REDSHIFT_MAX_VARCHAR_BYTES };
    case 'text':
      // Postgres' unbounded text (Redshift turns TEXT into VARCHAR(256) itself).
      return { kind: 'varchar', length: Number.MAX_SAFE_INTEGER };
    case 'numeric':
      return { kind: 'decimal', precision: column.numericPrecision ?? 18, scale: column.numericScale ?? 0 };
    case 'integer':
    case 'bigint':
    case 'boolean':
    case 'date':
      return { kind: dataType };
    case 'double precision':
      return { kind: 'double' };
    case 'timestamp without time zone':
    case 'timestamp with time zone':
      return { kind: 'timestamp' };
    default:
      return { kind: 'other', name: dataType };
  }
}

function describeExisting(column: ExistingColumn): string {
  const type = existingColumnType(column);
  if (type.kind === 'other') return type.name.toUpperCase();
  if (type.kind === 'varchar' && type.length === Number.MAX_SAFE_INTEGER) return 'TEXT';
  return renderColumnType(type);
}

/** Text long enough for any number, date or flag the other types hold. */
const TEXT_HOLDS_ANY_VALUE = 64;

type Verdict = 'keep' | 'kept-other-type' | { widenTo: number } | 'incompatible';

/**
 * Whether the existing column can take what the flow now loads into it. A column that holds
 * every value stays as it is; a VARCHAR too short is widened (the one type change Redshift
 * makes in place); anything else would fail or corrupt the load and is refused.
 * Columns created before types came from the source's metadata (DOUBLE PRECISION for
 * numbers, BIGINT for int, VARCHAR(65535) for text) are kept: they load as before.
 */
function verdict(existing: ColumnType | { kind: 'other'; name: string }, wanted: ColumnType): Verdict {
  if (existing.kind === 'other') return 'incompatible';
  if (wanted.kind === 'varchar') {
    if (existing.kind !== 'varchar') return 'incompatible';
    return existing.length >= wanted.length ? 'keep' : { widenTo: wanted.length };
  }
  if (existing.kind === 'varchar')
    return existing.length >= TEXT_HOLDS_ANY_VALUE ? 'kept-other-type' : 'incompatible';
  const integerDigits = (type: { precision: number; scale: number }) => type.precision - type.scale;
  switch (wanted.kind) {
    case 'decimal':
      if (existing.kind === 'decimal')
        return existing.scale >= wanted.scale && integerDigits(existing) >= integerDigits(wanted)
          ? 'keep'
          : 'incompatible';
      return existing.kind === 'double' ? 'kept-other-type' : 'incompatible';
    case 'integer':
    case 'bigint': {
      const digits = wanted.kind === 'integer' ? 10 : 19;
      if (existing.kind === 'bigint' || existing.kind === wanted.kind) return 'keep';
      if (existing.kind === 'decimal') return integerDigits(existing) >= digits ? 'keep' : 'incompatible';
      return existing.kind === 'double' ? 'kept-other-type' : 'incompatible';
    }
    case 'date':
      return existing.kind === 'date' || existing.kind === 'timestamp' ? 'keep' : 'incompatible';
    default:
      return existing.kind === wanted.kind ? 'keep' : 'incompatible';
  }
}

/**
 * A column of CREATE TABLE or ADD COLUMN. Text columns get ZSTD explicitly: with ENCODE AUTO
 * Redshift may later pick BYTEDICT, TEXT255 or TEXT32K for them, and a column so encoded can no
 * longer be widened (ALTER COLUMN … TYPE). Key columns keep Redshift's default for sort keys (RAW).
 */
function columnDefinition(field: SourceField, keyColumn: boolean): string {
  const encoding = field.columnType.kind === 'varchar' && !keyColumn ? ' ENCODE ZSTD' : '';
  return `${quoteIdent(field.column)} ${field.redshiftType}${encoding}`;
}

/**
 * Structure sync: AppFlow only adds new source fields by itself for S3 destinations, so
 * this is how a new Salesforce field reaches Redshift. Both tables are distributed and
 * sorted on the primary key, so the consolidation's joins stay node-local; the final
 * table's sort key may be overridden. Columns are never dropped: history stays queryable.
 * A type change Redshift cannot apply safely fails naming the object, field, old and new type.
 */
export function planTableChanges(
  layout: WarehouseLayout,
  table: string,
  fields: SourceField[],
  existing: ExistingTables,
  options: TableOptions,
): TableChanges {
  const { objectName, primaryKeyColumn, finalSortKeyColumn } = options;
  const columns = new Set(fields.map((field) => field.column));
  if (!columns.has(primaryKeyColumn))
    throw new SchemaMismatchError(
      `${objectName}: the primary key column ${primaryKeyColumn} is not selected`,
    );
  if (finalSortKeyColumn && !columns.has(finalSortKeyColumn)) {
    throw new SchemaMismatchError(
      `${objectName}: sortKey ${finalSortKeyColumn} is not a field of the object; name one of its fields or remove sortKey`,
    );
  }
  const qualified = (schema: string) => `${quoteIdent(schema)}.${quoteIdent(table)}`;
  const create = (schema: string, sortKey: string) => {
    const definitions = fields.map((field) =>
      columnDefinition(field, field.column === primaryKeyColumn || field.column === sortKey),
    );
    return `CREATE TABLE IF NOT EXISTS ${qualified(schema)} (${definitions.join(', ')}) DISTKEY(${quoteIdent(primaryKeyColumn)}) SORTKEY(${quoteIdent(sortKey)})`;
  };

  const statements: string[] = [];
  const widenings: string[] = [];
  const keptColumns: KeptColumn[] = [];
  const refusals: string[] = [];
  const checkExisting = (schema: string, tableColumns: Map<string, ExistingColumn>) => {
    for (const field of fields) {
      const column = tableColumns.get(field.column);
      if (!column) continue;
      const decision = verdict(existingColumnType(column), field.columnType);
      if (decision === 'keep') continue;
      const existingType = describeExisting(column);
      if (decision === 'kept-other-type') {
        keptColumns.push({
          table: `${schema}.${table}`,
          column: field.column,
          existingType,
          wantedType: field.redshiftType,
        });
      } else if (decision === 'incompatible') {
        refusals.push(
          `field ${field.name} is ${existingType} in ${schema}.${table} but the source now calls for ${field.redshiftType} (source type ${field.sourceType})`,
        );
      } else {
        widenings.push(
          `ALTER TABLE ${qualified(schema)} ALTER COLUMN ${quoteIdent(field.column)} TYPE VARCHAR(${decision.widenTo})`,
        );
      }
    }
  };
  checkExisting(layout.stagingSchema, existing.staging);
  checkExisting(layout.finalSchema, existing.final);
  // Final's widenings first: if one fails, staging stays the narrower side, which the
  // procedure accepts; the other way round every later CALL would refuse the pair.
  const finalPrefix = `ALTER TABLE ${qualified(layout.finalSchema)} `;
  widenings.sort((a, b) => Number(b.startsWith(finalPrefix)) - Number(a.startsWith(finalPrefix)));
  if (refusals.length > 0) {
    throw new SchemaMismatchError(
      `${objectName}: ${refusals.join('; ')}. Redshift cannot change these column types in place: add a new field at the source, or rename the old column and reset the object (resetRequested)`,
    );
  }

  // The schemas exist: the precheck creates every source's schemas once per run (schema-level
  // catalog work done by concurrent children collides: "tuple concurrently updated").
  if (existing.staging.size === 0) statements.push(create(layout.stagingSchema, primaryKeyColumn));
  else {
    for (const field of fields.filter((candidate) => !existing.staging.has(candidate.column))) {
      // Redshift adds one column per ALTER TABLE.
      statements.push(
        `ALTER TABLE ${qualified(layout.stagingSchema)} ADD COLUMN ${columnDefinition(field, false)}`,
      );
    }
  }
  if (existing.final.size === 0)
    statements.push(create(layout.finalSchema, finalSortKeyColumn ?? primaryKeyColumn));
  if (options.appflowDatabaseUser) {
    // Every run, not only on CREATE: tables made by earlier versions and a newly configured
    // user get them too; GRANT is idempotent. AppFlow's COPY into staging needs INSERT;
    // SELECT lets it read the table it loads (staging holds only rows AppFlow wrote itself).
    // USAGE on the schema is granted once per run by the precheck.
    const user = quoteDatabaseUser(options.appflowDatabaseUser);
    statements.push(`GRANT INSERT, SELECT ON TABLE ${qualified(layout.stagingSchema)} TO ${user}`);
  }
  const finalColumnsMissing =
    existing.final.size === 0 ? [] : [...columns].filter((column) => !existing.final.has(column));
  return { statements, widenings, finalColumnsMissing, keptColumns };
}
