import { quoteDatabaseUser } from './database-user';
import { SchemaMismatchError } from './errors';
import {
  type ColumnType,
  REDSHIFT_MAX_DECIMAL_PRECISION,
  REDSHIFT_MAX_VARCHAR_BYTES,
  renderColumnType,
  type SourceField,
} from './source-fields';
import { historySchemaOf } from './sources';
import { chunked, MAX_BATCH_STATEMENTS, quoteIdent, type WarehouseLayout } from './warehouse';

/** A column as `information_schema.columns` describes it. */
export interface ExistingColumn {
  dataType: string;
  characterMaximumLength?: number;
  numericPrecision?: number;
  numericScale?: number;
}

/** What `public.source_column_types` (sql/030) remembers of a final column. */
export interface SourceColumnRecord {
  /** The Redshift type the source field called for when the structure sync last saw it, e.g. `DECIMAL(18,2)`. */
  sourceType: string;
  /** The column still waits for a column refresh (new, or its field's type changed). */
  refreshPending: boolean;
}

/**
 * Column name → description, per table, in column order (`ordinal_position`); an empty map means
 * the table does not exist.
 */
export interface ExistingTables {
  staging: Map<string, ExistingColumn>;
  final: Map<string, ExistingColumn>;
  /** `<final schema>_history.<table>` when the object keeps history; absent or empty: no history table. */
  history?: Map<string, ExistingColumn>;
  /**
   * The final table's rows of `public.source_column_types`. Absent: not read, so no source type
   * changes are detected from memory (only from the catalog) and nothing is recorded.
   */
  sourceTypes?: Map<string, SourceColumnRecord>;
}

/** A column kept with another type than the source now calls for, because it holds every value (logged). */
export interface KeptColumn {
  table: string;
  column: string;
  existingType: string;
  wantedType: string;
}

/**
 * A source field whose type changed (report and control row: `typeChanges`). `from` and `to` are
 * the Redshift types the source called for before and calls for now; when the warehouse had not
 * recorded the earlier one (tables of older versions), `from` is the final column's type.
 */
export interface TypeChange {
  field: string;
  from: string;
  to: string;
}

/** A final or history column whose type changes, and how (logged). */
export interface ColumnTypeChange {
  table: string;
  column: string;
  from: string;
  to: string;
  /** `widen`: VARCHAR widened in place; `rebuild`: added anew, copied with a lossless cast, swapped in. */
  how: 'widen' | 'rebuild';
}

/** A column of the final table as it is after the changes, in column order. */
export interface PlannedColumn {
  column: string;
  columnType: ColumnType | { kind: 'other'; name: string };
  /** Its type as DDL text. */
  redshiftType: string;
}

/**
 * The DDL of one structure sync; `structureSyncStatements` lists it in the order it runs:
 * `statements`, then `sourceTypeRecords`, `widenings`, and `transactions`.
 */
export interface TableChanges {
  /** DDL that may share a transaction, in order: tables, new staging columns, GRANTs. */
  statements: string[];
  /**
   * Rows of `public.source_column_types` (one transaction): the source types seen now and the
   * columns that wait for a refresh, written before any column changes, so a failure later still
   * leaves the refresh pending.
   */
  sourceTypeRecords: string[];
  /**
   * `ALTER COLUMN … TYPE VARCHAR(n)`: final, then history, then staging. Redshift runs these only
   * outside a transaction block, so each is its own statement.
   */
  widenings: string[];
  /**
   * Each inner list is one transaction (a BatchExecuteStatement, at most 40 statements), run in
   * order: final's rebuilt columns, final's new columns, history's rebuilt columns, staging
   * dropped and created again in final's column order and types (it is emptied before every
   * load anyway, and the consolidation moves rows as `s.*`).
   */
  transactions: string[][];
  /** The final table's columns after the changes, in order, with their types. */
  finalColumns: PlannedColumn[];
  typeChanges: TypeChange[];
  columnChanges: ColumnTypeChange[];
  /**
   * Columns that need a column refresh: new columns of an existing final table, columns whose
   * field changed type (values cast, or converted at the source), and refreshes still pending.
   */
  refreshColumns: string[];
  keptColumns: KeptColumn[];
}

export interface TableOptions {
  /** Source object name, for error messages. */
  objectName: string;
  /** Primary-key column: distribution and sort key of both tables. */
  primaryKeyColumn: string;
  /** Sort key of the final table when the control row overrides it (a column of the object). */
  finalSortKeyColumn?: string;
  /**
   * Database user AppFlow loads staging as: granted INSERT and SELECT on the staging table on every
   * run (USAGE on its schema is the precheck's, once per run).
   */
  appflowDatabaseUser?: string;
  /** When the source types are recorded. @default new Date() */
  now?: Date;
}

/** The memory of source types (sql/030). */
export const SOURCE_COLUMN_TYPES_TABLE = 'public.source_column_types';
/** Suffix of a column being rebuilt, inside the rebuild's transaction only. */
const REBUILD_SUFFIX = '__rebuild';
/** Rebuilt columns per transaction: 3 statements each and one UPDATE stay within a batch of 40. */
const REBUILDS_PER_TRANSACTION = 13;
/** Rows per INSERT into the memory, so a wide object's statement stays far below 100 KB. */
const RECORDS_PER_STATEMENT = 200;

/**
 * Catalog columns of staging, final and history, in column order, for `existingTablesFromRows`.
 * Values travel as Data API parameters. (information_schema is a leader-node catalog in Redshift:
 * it cannot be joined with a user table, so the memory is its own query.)
 */
export const TABLE_COLUMNS_SQL = `SELECT table_schema, column_name, ordinal_position, data_type, character_maximum_length, numeric_precision, numeric_scale
FROM information_schema.columns
WHERE table_name = :table_name AND table_schema IN (:staging_schema, :final_schema, :history_schema)
ORDER BY table_schema, ordinal_position`;

/** The final table's rows of the source-type memory, for `existingTablesFromRows`. */
export const SOURCE_COLUMN_TYPES_SQL = `SELECT column_name, source_type, refresh_pending
FROM ${SOURCE_COLUMN_TYPES_TABLE}
WHERE final_schema = :final_schema AND table_name = :table_name`;

/** The Data API parameters of both queries. */
export function existingTablesParameters(layout: WarehouseLayout, table: string): Record<string, string> {
  return {
    table_name: table,
    staging_schema: layout.stagingSchema,
    final_schema: layout.finalSchema,
    history_schema: historySchemaOf(layout.finalSchema),
  };
}

type Row = Record<string, string | number | boolean | null | undefined>;

function optionalNumber(value: unknown): number | undefined {
  return value === null || value === undefined || value === '' ? undefined : Number(value);
}

/** The two queries' rows as `ExistingTables`, each table's columns in column order. */
export function existingTablesFromRows(
  layout: WarehouseLayout,
  columnRows: Row[],
  sourceTypeRows?: Row[],
): ExistingTables {
  const existing: ExistingTables = { staging: new Map(), final: new Map(), history: new Map() };
  const ordered = [...columnRows].sort(
    (a, b) => Number(a.ordinal_position ?? 0) - Number(b.ordinal_position ?? 0),
  );
  for (const row of ordered) {
    const column: ExistingColumn = {
      dataType: String(row.data_type ?? ''),
      characterMaximumLength: optionalNumber(row.character_maximum_length),
      numericPrecision: optionalNumber(row.numeric_precision),
      numericScale: optionalNumber(row.numeric_scale),
    };
    const schema = row.table_schema;
    const target =
      schema === layout.stagingSchema
        ? existing.staging
        : schema === layout.finalSchema
          ? existing.final
          : schema === historySchemaOf(layout.finalSchema)
            ? existing.history
            : undefined;
    target?.set(String(row.column_name), column);
  }
  if (sourceTypeRows) {
    existing.sourceTypes = new Map(
      sourceTypeRows.map((row) => [
        String(row.column_name),
        {
          sourceType: String(row.source_type),
          refreshPending: row.refresh_pending === true || row.refresh_pending === 'true',
        },
      ]),
    );
  }
  return existing;
}

type ExistingType = ColumnType | { kind: 'other'; name: string };

/** The existing column's type in the same shape as the wanted one, or its own name when no kind fits. */
export function existingColumnType(column: ExistingColumn): ExistingType {
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

function renderType(type: ExistingType): string {
  if (type.kind === 'other') return type.name.toUpperCase();
  if (type.kind === 'varchar' && type.length === Number.MAX_SAFE_INTEGER) return 'TEXT';
  return renderColumnType(type);
}

function describeExisting(column: ExistingColumn): string {
  return renderType(existingColumnType(column));
}

function sameType(a: ExistingType, b: ExistingType): boolean {
  return renderType(a) === renderType(b);
}

/**
 * Bytes the values of a type take as text (a cast to VARCHAR): sign, digits and point of a
 * number, `false`, `2026-01-31`, `2026-01-31 23:59:59.999999`.
 */
function textBytes(type: ColumnType): number {
  switch (type.kind) {
    case 'varchar':
      return type.length;
    case 'decimal':
      return type.precision + 2;
    case 'integer':
      return 11;
    case 'bigint':
      return 20;
    case 'double':
      return 32;
    case 'boolean':
      return 5;
    case 'date':
      return 10;
    case 'timestamp':
      return 32;
  }
}

/** Digits of an integer type, as a DECIMAL of scale 0 holding all its values. */
const INTEGER_AS_DECIMAL = { integer: { precision: 10, scale: 0 }, bigint: { precision: 19, scale: 0 } };

function varcharHolding(...types: ColumnType[]): ColumnType {
  return {
    kind: 'varchar',
    length: Math.min(REDSHIFT_MAX_VARCHAR_BYTES, Math.max(...types.map(textBytes))),
  };
}

/** The narrowest DECIMAL holding both (every digit before and after the point), or VARCHAR beyond 38 digits. */
function decimalHolding(
  a: { precision: number; scale: number },
  b: { precision: number; scale: number },
): ColumnType {
  const scale = Math.max(a.scale, b.scale);
  const integerDigits = Math.max(a.precision - a.scale, b.precision - b.scale);
  if (integerDigits + scale <= REDSHIFT_MAX_DECIMAL_PRECISION)
    return { kind: 'decimal', precision: integerDigits + scale, scale };
  return varcharHolding({ kind: 'decimal', ...a }, { kind: 'decimal', ...b });
}

/** What becomes of a column so that it holds both what it holds and what the source now sends. */
export type ColumnMerge =
  /** It holds the new values as the same kind of type. */
  | { action: 'keep' }
  /** It holds every new value though of another type (logged): e.g. text that became a number stays VARCHAR. */
  | { action: 'kept-other-type' }
  /** A VARCHAR too short: widened in place (outside a transaction block). */
  | { action: 'widen'; type: ColumnType }
  /** Another type: added anew, copied with a lossless cast, swapped in. */
  | { action: 'rebuild'; type: ColumnType };

/**
 * The merged-type lattice: the column's next type holds the old values and the new ones, never
 * narrower. Lengths only grow; numbers widen to wider numbers (INTEGER → BIGINT → DECIMAL with
 * every digit on both sides of the point, and DOUBLE PRECISION for a field that became a float);
 * DATE widens to TIMESTAMP; anything may become VARCHAR, wide enough for the old values as text,
 * and a text column stays VARCHAR whatever the field becomes. Columns created before types came
 * from the source's metadata (DOUBLE PRECISION for numbers) are kept: they hold every value.
 * `undefined`: a column type this code does not know, which it cannot reason about.
 */
export function mergeColumnType(existing: ExistingType, wanted: ColumnType): ColumnMerge | undefined {
  const rebuild = (type: ColumnType): ColumnMerge => ({ action: 'rebuild', type });
  if (existing.kind === 'other') {
    return wanted.kind === 'varchar'
      ? rebuild({ kind: 'varchar', length: REDSHIFT_MAX_VARCHAR_BYTES })
      : undefined;
  }
  if (existing.kind === 'varchar') {
    const needed = textBytes(wanted);
    if (existing.length >= needed)
      return wanted.kind === 'varchar' ? { action: 'keep' } : { action: 'kept-other-type' };
    return { action: 'widen', type: { kind: 'varchar', length: needed } };
  }
  if (wanted.kind === 'varchar') return rebuild(varcharHolding(existing, wanted));
  const asText = () => rebuild(varcharHolding(existing, wanted));
  switch (wanted.kind) {
    case 'decimal': {
      if (existing.kind === 'double') return { action: 'kept-other-type' };
      if (existing.kind === 'decimal' || existing.kind === 'integer' || existing.kind === 'bigint') {
        const current = existing.kind === 'decimal' ? existing : INTEGER_AS_DECIMAL[existing.kind];
        const merged = decimalHolding(current, wanted);
        return existing.kind === 'decimal' && sameType(merged, existing)
          ? { action: 'keep' }
          : rebuild(merged);
      }
      return asText();
    }
    case 'integer':
    case 'bigint': {
      if (existing.kind === 'bigint' || existing.kind === wanted.kind) return { action: 'keep' };
      if (existing.kind === 'integer') return rebuild({ kind: 'bigint' });
      if (existing.kind === 'double') return { action: 'kept-other-type' };
      if (existing.kind === 'decimal') {
        const merged = decimalHolding(existing, INTEGER_AS_DECIMAL[wanted.kind]);
        return sameType(merged, existing) ? { action: 'keep' } : rebuild(merged);
      }
      return asText();
    }
    case 'double':
      if (existing.kind === 'double') return { action: 'keep' };
      if (existing.kind === 'decimal' || existing.kind === 'integer' || existing.kind === 'bigint')
        return rebuild({ kind: 'double' });
      return asText();
    case 'date':
      return existing.kind === 'date' || existing.kind === 'timestamp' ? { action: 'keep' } : asText();
    case 'timestamp':
      if (existing.kind === 'timestamp') return { action: 'keep' };
      return existing.kind === 'date' ? rebuild({ kind: 'timestamp' }) : asText();
    default:
      return existing.kind === wanted.kind ? { action: 'keep' } : asText();
  }
}

/** The existing values in the rebuilt column's type, losing nothing (Redshift casts no BOOLEAN to text). */
function losslessCast(column: string, from: ExistingType, to: ColumnType): string {
  const quoted = quoteIdent(column);
  if (to.kind === 'varchar' && from.kind === 'boolean')
    return `CASE WHEN ${quoted} THEN 'true' WHEN NOT ${quoted} THEN 'false' END`;
  return `CAST(${quoted} AS ${renderColumnType(to)})`;
}

/**
 * A column of CREATE TABLE or ADD COLUMN. Text columns get ZSTD explicitly: with ENCODE AUTO
 * Redshift may later pick BYTEDICT, TEXT255 or TEXT32K for them, and a column so encoded can no
 * longer be widened (ALTER COLUMN … TYPE). Key columns keep Redshift's default for sort keys (RAW).
 * Postgres' unbounded TEXT becomes Redshift's widest VARCHAR; a type of no known kind keeps its name.
 */
export function columnDefinition(column: string, type: ExistingType, keyColumn: boolean): string {
  const encoding = type.kind === 'varchar' && !keyColumn ? ' ENCODE ZSTD' : '';
  const ddl =
    type.kind === 'varchar' && type.length > REDSHIFT_MAX_VARCHAR_BYTES ? 'VARCHAR(65535)' : renderType(type);
  return `${quoteIdent(column)} ${ddl}${encoding}`;
}

function sqlLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** Whether a staging column can stay as it is beside final's column (what the consolidation accepts) and take the source's values. */
function stagingFits(staging: ExistingType, final: ExistingType, wanted: ColumnType): boolean {
  if (sameType(staging, final)) return true;
  if (staging.kind === 'varchar' && final.kind === 'varchar')
    return staging.length <= final.length && staging.length >= textBytes(wanted);
  if (staging.kind === 'decimal' && final.kind === 'decimal') {
    const merged = mergeColumnType(staging, wanted);
    return (
      staging.scale === final.scale &&
      staging.precision <= final.precision &&
      (merged?.action === 'keep' || merged?.action === 'kept-other-type')
    );
  }
  return false;
}

/** A source type change that leaves every value as it was: a text field that only grew. */
function onlyTextGrew(from: string, to: string): boolean {
  const length = (type: string) => /^VARCHAR\((\d+)\)$/.exec(type)?.[1];
  const before = length(from);
  const after = length(to);
  return before !== undefined && after !== undefined && Number(after) >= Number(before);
}

function plannedColumn(column: string, columnType: ExistingType): PlannedColumn {
  return { column, columnType, redshiftType: renderType(columnType) };
}

/**
 * Structure sync: AppFlow only adds new source fields by itself for S3 destinations, so
 * this is how a new Salesforce field reaches Redshift. Both tables are distributed and
 * sorted on the primary key, so the consolidation's joins stay node-local; the final
 * table's sort key may be overridden. Columns are never dropped: history stays queryable.
 *
 * A field whose type changed makes its final column the merged type (`mergeColumnType`): a VARCHAR
 * is widened in place, anything else is rebuilt (in final and in the history table), staging
 * follows final, and the column is listed for a column refresh so that its values are the
 * source's own. New columns of an existing final table are added to it and refreshed too. Only
 * the key and the final table's sort key cannot be rebuilt (Redshift cannot drop them): that
 * fails naming the object, field, old and new type.
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
  const historySchema = historySchemaOf(layout.finalSchema);
  const history = existing.history ?? new Map<string, ExistingColumn>();
  const qualified = (schema: string) => `${quoteIdent(schema)}.${quoteIdent(table)}`;
  const keyColumns = new Set([primaryKeyColumn, finalSortKeyColumn ?? primaryKeyColumn]);
  const finalExists = existing.final.size > 0;

  const statements: string[] = [];
  const widenings: string[] = [];
  const transactions: string[][] = [];
  const keptColumns: KeptColumn[] = [];
  const typeChanges: TypeChange[] = [];
  const columnChanges: ColumnTypeChange[] = [];
  const refusals: string[] = [];
  const refresh = new Set<string>();
  const records: { column: string; sourceType: string; refreshPending: boolean }[] = [];

  // 1. Final: each existing column's merged type; new columns appended.
  const finalTypes = new Map<string, ExistingType>(
    [...existing.final].map(([column, description]) => [column, existingColumnType(description)]),
  );
  const rebuilds: { column: string; from: ExistingType; to: ColumnType }[] = [];
  const added: SourceField[] = [];
  for (const field of fields) {
    const current = existing.final.get(field.column);
    const remembered = existing.sourceTypes?.get(field.column);
    const wanted = field.redshiftType;
    if (!finalExists) {
      finalTypes.set(field.column, field.columnType);
      records.push({ column: field.column, sourceType: wanted, refreshPending: false });
      continue;
    }
    if (!current) {
      added.push(field);
      finalTypes.set(field.column, field.columnType);
      records.push({ column: field.column, sourceType: wanted, refreshPending: true });
      refresh.add(field.column);
      continue;
    }
    const from = existingColumnType(current);
    const merge = mergeColumnType(from, field.columnType);
    const existingType = describeExisting(current);
    if (!merge) {
      refusals.push(
        `field ${field.name} is ${existingType} in ${layout.finalSchema}.${table}, a type this pipeline cannot change, but the source now calls for ${wanted} (source type ${field.sourceType})`,
      );
      continue;
    }
    if (merge.action === 'kept-other-type') {
      keptColumns.push({
        table: `${layout.finalSchema}.${table}`,
        column: field.column,
        existingType,
        wantedType: wanted,
      });
    }
    if (merge.action === 'rebuild' && keyColumns.has(field.column)) {
      refusals.push(
        `field ${field.name} is ${existingType} in ${layout.finalSchema}.${table} but the source now calls for ${wanted} (source type ${field.sourceType}), and the ${field.column === primaryKeyColumn ? 'primary key' : 'sort key'} column cannot be rebuilt`,
      );
      continue;
    }
    if (merge.action === 'widen' || merge.action === 'rebuild') {
      finalTypes.set(field.column, merge.type);
      columnChanges.push({
        table: `${layout.finalSchema}.${table}`,
        column: field.column,
        from: existingType,
        to: renderColumnType(merge.type),
        how: merge.action,
      });
      if (merge.action === 'widen') {
        widenings.push(
          `ALTER TABLE ${qualified(layout.finalSchema)} ALTER COLUMN ${quoteIdent(field.column)} TYPE ${renderColumnType(merge.type)}`,
        );
      } else {
        rebuilds.push({ column: field.column, from, to: merge.type });
      }
    }
    // Did the field's type change? The memory says so; without one, the catalog does.
    const sourceChanged = remembered
      ? remembered.sourceType !== wanted
      : merge.action !== 'keep' && merge.action !== 'kept-other-type';
    const before = remembered?.sourceType ?? existingType;
    if (sourceChanged) typeChanges.push({ field: field.name, from: before, to: wanted });
    // Values change when the column was rebuilt (a cast), or the source converted them (any change
    // but a text field growing).
    const valuesChanged = merge.action === 'rebuild' || (sourceChanged && !onlyTextGrew(before, wanted));
    const pending = (remembered?.refreshPending ?? false) || valuesChanged;
    if (pending) refresh.add(field.column);
    if (!remembered || remembered.sourceType !== wanted || remembered.refreshPending !== pending) {
      records.push({ column: field.column, sourceType: wanted, refreshPending: pending });
    }
  }
  if (refusals.length > 0) {
    throw new SchemaMismatchError(
      `${objectName}: ${refusals.join('; ')}. Add a new field at the source, or rename the old column and reset the object (resetRequested)`,
    );
  }

  // Final's columns after the changes: rebuilt ones move to the end (added anew), new ones after them.
  const rebuilt = new Set(rebuilds.map((rebuild) => rebuild.column));
  const finalOrder = finalExists
    ? [
        ...[...existing.final.keys()].filter((column) => !rebuilt.has(column)),
        ...rebuilds.map((rebuild) => rebuild.column),
        ...added.map((field) => field.column),
      ]
    : fields.map((field) => field.column);
  const finalColumns = finalOrder.map((column) =>
    plannedColumn(column, finalTypes.get(column) as ExistingType),
  );
  const wantedOf = new Map(fields.map((field) => [field.column, field]));

  // 2. Tables and grants.
  const create = (schema: string, sortKey: string, planned: PlannedColumn[]) => {
    const definitions = planned.map((column) =>
      columnDefinition(
        column.column,
        column.columnType,
        column.column === primaryKeyColumn || column.column === sortKey,
      ),
    );
    return `CREATE TABLE IF NOT EXISTS ${qualified(schema)} (${definitions.join(', ')}) DISTKEY(${quoteIdent(primaryKeyColumn)}) SORTKEY(${quoteIdent(sortKey)})`;
  };
  // The schemas exist: the precheck creates every source's schemas once per run (schema-level
  // catalog work done by concurrent children collides: "tuple concurrently updated").

  // 3. Staging: final's columns in final's order, final's types. Kept as it is when it already
  // is (or lacks only the newest columns, added at its end, or has VARCHARs to widen in place);
  // otherwise dropped and created again: it is emptied before every load anyway.
  const stagingWidenings: string[] = [];
  const stagingAdditions: string[] = [];
  let recreateStaging = false;
  const stagingColumns = [...existing.staging.entries()];
  if (existing.staging.size > 0) {
    if (stagingColumns.length > finalColumns.length) recreateStaging = true;
    for (const [index, planned] of finalColumns.entries()) {
      if (recreateStaging) break;
      const stagingColumn = stagingColumns[index];
      if (!stagingColumn) {
        stagingAdditions.push(
          `ALTER TABLE ${qualified(layout.stagingSchema)} ADD COLUMN ${columnDefinition(planned.column, planned.columnType, false)}`,
        );
        continue;
      }
      const [name, description] = stagingColumn;
      if (name !== planned.column) {
        recreateStaging = true;
        break;
      }
      const stagingType = existingColumnType(description);
      const field = wantedOf.get(name);
      const wantedType: ColumnType = field?.columnType ?? (planned.columnType as ColumnType);
      if (planned.columnType.kind === 'other') {
        if (!sameType(stagingType, planned.columnType)) recreateStaging = true;
        continue;
      }
      if (stagingFits(stagingType, planned.columnType, wantedType)) continue;
      if (
        stagingType.kind === 'varchar' &&
        planned.columnType.kind === 'varchar' &&
        stagingType.length < planned.columnType.length
      ) {
        stagingWidenings.push(
          `ALTER TABLE ${qualified(layout.stagingSchema)} ALTER COLUMN ${quoteIdent(name)} TYPE ${renderColumnType(planned.columnType)}`,
        );
        continue;
      }
      recreateStaging = true;
    }
  }
  if (existing.staging.size === 0)
    statements.push(create(layout.stagingSchema, primaryKeyColumn, finalColumns));
  else if (!recreateStaging) statements.push(...stagingAdditions);
  if (!finalExists)
    statements.push(create(layout.finalSchema, finalSortKeyColumn ?? primaryKeyColumn, finalColumns));
  const grants: string[] = [];
  if (options.appflowDatabaseUser) {
    // Every run, not only on CREATE: tables made by earlier versions and a newly configured
    // user get them too; GRANT is idempotent. AppFlow's COPY into staging needs INSERT;
    // SELECT lets it read the table it loads (staging holds only rows AppFlow wrote itself).
    // USAGE on the schema is granted once per run by the precheck.
    const user = quoteDatabaseUser(options.appflowDatabaseUser);
    grants.push(`GRANT INSERT, SELECT ON TABLE ${qualified(layout.stagingSchema)} TO ${user}`);
    statements.push(...grants);
  }
  // Staging's kept columns of another type than the source's (logged as before), listed first.
  const stagingKept: KeptColumn[] = [];
  if (existing.staging.size > 0 && !recreateStaging) {
    for (const [name, description] of existing.staging) {
      const field = wantedOf.get(name);
      const stagingType = existingColumnType(description);
      if (field && stagingType.kind !== field.columnType.kind) {
        stagingKept.push({
          table: `${layout.stagingSchema}.${table}`,
          column: name,
          existingType: describeExisting(description),
          wantedType: field.redshiftType,
        });
      }
    }
  }

  // 4. History: its columns hold what final's hold (merged again with its own types).
  const historyRebuilds: { column: string; from: ExistingType; to: ColumnType }[] = [];
  const historyWidenings: string[] = [];
  if (history.size > 0) {
    for (const planned of finalColumns) {
      const current = history.get(planned.column);
      if (!current || planned.columnType.kind === 'other') continue;
      const from = existingColumnType(current);
      const merge = mergeColumnType(from, planned.columnType);
      if (!merge || merge.action === 'keep' || merge.action === 'kept-other-type') continue;
      if (merge.action === 'rebuild' && planned.column === primaryKeyColumn) {
        throw new SchemaMismatchError(
          `${objectName}: the primary key column ${planned.column} is ${describeExisting(current)} in ${historySchema}.${table} and cannot be rebuilt as ${renderColumnType(merge.type)}`,
        );
      }
      columnChanges.push({
        table: `${historySchema}.${table}`,
        column: planned.column,
        from: describeExisting(current),
        to: renderColumnType(merge.type),
        how: merge.action,
      });
      if (merge.action === 'widen') {
        historyWidenings.push(
          `ALTER TABLE ${qualified(historySchema)} ALTER COLUMN ${quoteIdent(planned.column)} TYPE ${renderColumnType(merge.type)}`,
        );
      } else {
        historyRebuilds.push({ column: planned.column, from, to: merge.type });
      }
    }
  }
  // Final first, then history, then staging: if one fails, staging stays the narrower side,
  // which the consolidation accepts; the other way round every later CALL would refuse the pair.
  widenings.push(...historyWidenings, ...(recreateStaging ? [] : stagingWidenings));

  // 5. Transactions: rebuilt columns (atomic per batch), final's new columns, staging again.
  const rebuildTransactions = (schema: string, list: typeof rebuilds, tableColumns: Set<string>) => {
    const target = qualified(schema);
    for (const group of chunked(list, REBUILDS_PER_TRANSACTION)) {
      for (const { column } of group) {
        if (tableColumns.has(`${column}${REBUILD_SUFFIX}`)) {
          throw new SchemaMismatchError(
            `${objectName}: ${schema}.${table} has a column ${column}${REBUILD_SUFFIX}, the name the rebuild of ${column} needs`,
          );
        }
      }
      transactions.push([
        ...group.map(
          ({ column, to }) =>
            `ALTER TABLE ${target} ADD COLUMN ${columnDefinition(`${column}${REBUILD_SUFFIX}`, to, false)}`,
        ),
        `UPDATE ${target} SET ${group
          .map(
            ({ column, from, to }) =>
              `${quoteIdent(`${column}${REBUILD_SUFFIX}`)} = ${losslessCast(column, from, to)}`,
          )
          .join(', ')}`,
        ...group.map(({ column }) => `ALTER TABLE ${target} DROP COLUMN ${quoteIdent(column)}`),
        ...group.map(
          ({ column }) =>
            `ALTER TABLE ${target} RENAME COLUMN ${quoteIdent(`${column}${REBUILD_SUFFIX}`)} TO ${quoteIdent(column)}`,
        ),
      ]);
    }
  };
  rebuildTransactions(layout.finalSchema, rebuilds, new Set(existing.final.keys()));
  for (const group of chunked(added, MAX_BATCH_STATEMENTS)) {
    // Redshift adds one column per ALTER TABLE.
    transactions.push(
      group.map(
        (field) =>
          `ALTER TABLE ${qualified(layout.finalSchema)} ADD COLUMN ${columnDefinition(field.column, field.columnType, false)}`,
      ),
    );
  }
  rebuildTransactions(historySchema, historyRebuilds, new Set(history.keys()));
  if (recreateStaging) {
    transactions.push([
      `DROP TABLE IF EXISTS ${qualified(layout.stagingSchema)}`,
      create(layout.stagingSchema, primaryKeyColumn, finalColumns),
      ...grants,
    ]);
  }

  // 6. The memory of source types, written first (see TableChanges.sourceTypeRecords).
  const sourceTypeRecords: string[] = [];
  if (existing.sourceTypes && records.length > 0) {
    const now = (options.now ?? new Date()).toISOString().replace('T', ' ').replace('Z', '');
    const where = `final_schema = ${sqlLiteral(layout.finalSchema)} AND table_name = ${sqlLiteral(table)}`;
    for (const chunk of chunked(records, RECORDS_PER_STATEMENT)) {
      sourceTypeRecords.push(
        `DELETE FROM ${SOURCE_COLUMN_TYPES_TABLE} WHERE ${where} AND column_name IN (${chunk.map((record) => sqlLiteral(record.column)).join(', ')})`,
        `INSERT INTO ${SOURCE_COLUMN_TYPES_TABLE} (final_schema, table_name, column_name, source_type, refresh_pending, recorded_at) VALUES ${chunk
          .map(
            (record) =>
              `(${sqlLiteral(layout.finalSchema)}, ${sqlLiteral(table)}, ${sqlLiteral(record.column)}, ${sqlLiteral(record.sourceType)}, ${record.refreshPending}, CAST(${sqlLiteral(now)} AS timestamp))`,
          )
          .join(', ')}`,
      );
    }
  }

  // Refreshes still pending from an earlier run, of columns still selected.
  for (const [column, record] of existing.sourceTypes ?? []) {
    if (record.refreshPending && columns.has(column) && existing.final.has(column)) refresh.add(column);
  }
  return {
    statements,
    sourceTypeRecords,
    widenings,
    transactions,
    finalColumns,
    typeChanges,
    columnChanges,
    refreshColumns: fields.map((field) => field.column).filter((column) => refresh.has(column)),
    keptColumns: [...stagingKept, ...keptColumns],
  };
}

/** One statement of a structure sync: its step (unique in the sync), what it does, its SQL (a list is one transaction). */
export interface StructureStatement {
  step: string;
  what: string;
  sql: string | string[];
}

/**
 * The structure sync as statements, in the order they must run: DDL in batches of at most 40
 * (tables, new staging columns, grants); the source types the warehouse remembers (before any
 * column change, so a failure later leaves the refresh pending); each VARCHAR widening alone
 * (Redshift widens only outside a transaction block); each column-change transaction (rebuilt and
 * new final columns, history, staging again); then the refresh table, when the run refreshes
 * columns (`refreshTable`: its statements, one transaction). Every step is planned from the
 * catalog, so a sync that failed half-way plans what is left the next time.
 */
export function structureSyncStatements(
  changes: TableChanges,
  refreshTable?: readonly string[],
): StructureStatement[] {
  const batches = chunked(changes.statements, MAX_BATCH_STATEMENTS);
  return [
    ...batches.map((sql, index) => ({
      step: `ddl${index + 1}`,
      what:
        batches.length > 1 ? `structure sync (batch ${index + 1} of ${batches.length})` : 'structure sync',
      sql,
    })),
    ...chunked(changes.sourceTypeRecords, MAX_BATCH_STATEMENTS).map((sql, index) => ({
      step: `types${index + 1}`,
      what: 'record the source column types',
      sql,
    })),
    ...changes.widenings.map((sql, index) => ({ step: `widen${index + 1}`, what: 'widen column', sql })),
    ...changes.transactions.map((sql, index) => ({
      step: `change${index + 1}`,
      what: 'column changes',
      sql,
    })),
    ...(refreshTable
      ? [{ step: 'refresh-table', what: 'create the refresh table', sql: [...refreshTable] }]
      : []),
  ];
}
