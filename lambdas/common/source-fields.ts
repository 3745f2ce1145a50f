import type { ConnectorEntityField } from '@aws-sdk/client-appflow';
import { SchemaMismatchError } from './errors';
import { reportsSoftDeletes } from './sources';

/** Redshift's VARCHAR holds at most 65,535 bytes; its length counts bytes, not characters. */
export const REDSHIFT_MAX_VARCHAR_BYTES = 65_535;
/** UTF-8 needs up to 4 bytes per character, so n characters need up to 4n bytes. */
export const UTF8_MAX_BYTES_PER_CHARACTER = 4;
/**
 * Characters a Truncate task keeps of a text field that may not fit (contract 7):
 * 16,383 characters of 4 bytes each is 65,532 bytes, inside VARCHAR(65535) whatever the text.
 */
export const TRUNCATE_LENGTH = Math.floor(REDSHIFT_MAX_VARCHAR_BYTES / UTF8_MAX_BYTES_PER_CHARACTER);
/** Salesforce record ids (`id`, `reference`) are 18 ASCII characters. */
export const SALESFORCE_ID_LENGTH = 18;
/** Redshift's DECIMAL holds at most 38 digits. */
export const REDSHIFT_MAX_DECIMAL_PRECISION = 38;
/**
 * A currency or percent field whose precision or scale the source does not report: 38 digits,
 * 18 after the point, holds every Salesforce number (at most 18 digits) exactly.
 */
export const FALLBACK_DECIMAL = { precision: 38, scale: 18 } as const;
/** Salesforce `int` fields have at most 9 digits; INTEGER holds them, BIGINT anything wider. */
const INTEGER_MAX_DIGITS = 9;
/** Salesforce time values are text such as `13:45:00.000Z`; kept as text (see `columnTypeFor`). */
const TIME_TEXT_LENGTH = 32;

export type ColumnType =
  | { kind: 'varchar'; length: number }
  | { kind: 'decimal'; precision: number; scale: number }
  | { kind: 'integer' | 'bigint' | 'double' | 'boolean' | 'date' | 'timestamp' };

/** What the source reports beside the type: Salesforce's describe values (contract 8). */
export interface FieldMetadata {
  /** Characters, for text fields. */
  length?: number;
  /** Total digits, for numbers. */
  precision?: number;
  /** Digits after the point, for numbers. */
  scale?: number;
}

export interface SourceField {
  name: string;
  /** The connector's type name (`string`, `datetime`, `boolean`, …). */
  sourceType: string;
  /** Column name in staging and final tables: the source name in lower case (DESIGN.md). */
  column: string;
  /** The column's type as DDL text, e.g. `VARCHAR(1020)`, `DECIMAL(18,2)`. */
  redshiftType: string;
  columnType: ColumnType;
  /** Characters the flow keeps (an AppFlow Truncate task) when a value may not fit the column. */
  truncateLength?: number;
  /** Filter operators the source declares for the field (`supportedFieldTypeDetails.v1.filterOperators`). */
  filterOperators?: string[];
}

/** Compound and binary Salesforce types AppFlow cannot write to Redshift columns. */
const UNSUPPORTED_TYPES = new Set(['address', 'location', 'base64', 'anytype', 'complexvalue', 'json']);

export function renderColumnType(type: ColumnType): string {
  switch (type.kind) {
    case 'varchar':
      return `VARCHAR(${type.length})`;
    case 'decimal':
      return `DECIMAL(${type.precision},${type.scale})`;
    case 'double':
      return 'DOUBLE PRECISION';
    default:
      return type.kind.toUpperCase();
  }
}

/**
 * Text sized in bytes for the worst case of UTF-8. A field longer than Redshift can hold,
 * or one whose length the source does not report, gets the widest column and a Truncate task.
 */
function textColumn(length: number | undefined): { columnType: ColumnType; truncateLength?: number } {
  if (length === undefined || length * UTF8_MAX_BYTES_PER_CHARACTER > REDSHIFT_MAX_VARCHAR_BYTES) {
    return {
      columnType: { kind: 'varchar', length: REDSHIFT_MAX_VARCHAR_BYTES },
      truncateLength: TRUNCATE_LENGTH,
    };
  }
  return { columnType: { kind: 'varchar', length: length * UTF8_MAX_BYTES_PER_CHARACTER } };
}

function decimalColumn(metadata: FieldMetadata): ColumnType | undefined {
  const { precision, scale } = metadata;
  if (precision === undefined || scale === undefined) return undefined;
  if (precision <= REDSHIFT_MAX_DECIMAL_PRECISION) {
    return { kind: 'decimal', precision, scale: Math.min(scale, precision) };
  }
  // Wider than Redshift holds: keep every digit before the point, give up digits after it.
  const integerDigits = Math.max(0, precision - scale);
  return {
    kind: 'decimal',
    precision: REDSHIFT_MAX_DECIMAL_PRECISION,
    scale: Math.max(0, Math.min(scale, REDSHIFT_MAX_DECIMAL_PRECISION - integerDigits)),
  };
}

/**
 * The Redshift column for a source field, from its type and Salesforce's describe values:
 * - text (`string`, `textarea`, `picklist`, `email`, …, and any type not listed here):
 *   VARCHAR(length × 4) bytes, at most 65,535; without a length, or longer than that,
 *   VARCHAR(65535) and a Truncate task to 16,383 characters;
 * - `id`, `reference`: VARCHAR(18);
 * - `currency`, `percent`, `double`: DECIMAL(precision, scale), precision capped at 38 (digits
 *   after the point give way first); without
 *   precision and scale, currency and percent get DECIMAL(38,18) (exact for every Salesforce
 *   number) and `double`/`float`/`number` DOUBLE PRECISION (no bound on the magnitude is known);
 * - `int`: INTEGER up to 9 digits, BIGINT otherwise (and when the digits are not reported); `long` BIGINT;
 * - `date` DATE; `datetime` TIMESTAMP holding UTC (AppFlow sends Salesforce's UTC instants);
 * - `time`: VARCHAR(32) with the source's text (`13:45:00.000Z`): Redshift's TIME has no zone;
 * - `boolean` BOOLEAN.
 */
export function columnTypeFor(
  sourceType: string,
  metadata: FieldMetadata = {},
): { columnType: ColumnType; truncateLength?: number } {
  switch (sourceType.toLowerCase()) {
    case 'boolean':
      return { columnType: { kind: 'boolean' } };
    case 'datetime':
      return { columnType: { kind: 'timestamp' } };
    case 'date':
      return { columnType: { kind: 'date' } };
    case 'time':
      return { columnType: { kind: 'varchar', length: TIME_TEXT_LENGTH } };
    case 'currency':
    case 'percent':
      return { columnType: decimalColumn(metadata) ?? { kind: 'decimal', ...FALLBACK_DECIMAL } };
    case 'double':
    case 'float':
    case 'number':
      return { columnType: decimalColumn(metadata) ?? { kind: 'double' } };
    case 'int':
    case 'integer':
      return {
        columnType: {
          kind:
            metadata.precision !== undefined && metadata.precision <= INTEGER_MAX_DIGITS
              ? 'integer'
              : 'bigint',
        },
      };
    case 'long':
      return { columnType: { kind: 'bigint' } };
    case 'id':
    case 'reference':
      return metadata.length !== undefined && metadata.length > SALESFORCE_ID_LENGTH
        ? textColumn(metadata.length)
        : { columnType: { kind: 'varchar', length: SALESFORCE_ID_LENGTH } };
    default:
      return textColumn(metadata.length);
  }
}

/** Custom-connector types AppFlow cannot write to a Redshift column (SDK `ByteArray`, `Struct`, `Map`, `List`). */
const UNSUPPORTED_CUSTOM_TYPES = new Set(['bytearray', 'struct', 'map', 'list', 'binary', 'blob', 'json']);

/**
 * The Redshift column for a custom connector's field. Custom connectors report the AppFlow
 * Custom Connector SDK's `FieldDataType` names (`String`, `Integer`, `Long`, `Short`,
 * `BigInteger`, `Float`, `Double`, `BigDecimal`, `Boolean`, `Date`, `DateTime`) or their own
 * labels for them (`bigint`, `string`, `timestamp`, `decimal`, …); both are known, case-insensitively:
 * - text (`string`, `varchar`, `char`, `text`): VARCHAR(length × 4 bytes), VARCHAR(65535) + Truncate without a length;
 * - `integer`/`int`/`short`/`smallint`/`tinyint`/`mediumint`: INTEGER; `long`/`bigint`: BIGINT;
 * - `biginteger` (arbitrary precision): DECIMAL(38,0);
 * - `bigdecimal`/`decimal`/`numeric`: DECIMAL(precision, scale), DECIMAL(38,18) when not reported;
 * - `float`/`double`/`real`: DOUBLE PRECISION; `boolean`/`bool`: BOOLEAN;
 * - `date`: DATE; `datetime`/`timestamp`: TIMESTAMP; `time`: VARCHAR(32).
 * Anything else is `undefined`: the caller refuses it or, when the row allows it, stores text.
 */
export function customConnectorColumnTypeFor(
  sourceType: string,
  metadata: FieldMetadata = {},
): { columnType: ColumnType; truncateLength?: number } | undefined {
  switch (sourceType.toLowerCase()) {
    case 'string':
    case 'varchar':
    case 'char':
    case 'text':
      return textColumn(metadata.length);
    case 'integer':
    case 'int':
    case 'short':
    case 'smallint':
    case 'tinyint':
    case 'mediumint':
      return { columnType: { kind: 'integer' } };
    case 'long':
    case 'bigint':
      return { columnType: { kind: 'bigint' } };
    case 'biginteger':
      return { columnType: { kind: 'decimal', precision: REDSHIFT_MAX_DECIMAL_PRECISION, scale: 0 } };
    case 'bigdecimal':
    case 'decimal':
    case 'numeric':
      return { columnType: decimalColumn(metadata) ?? { kind: 'decimal', ...FALLBACK_DECIMAL } };
    case 'float':
    case 'double':
    case 'real':
      return { columnType: { kind: 'double' } };
    case 'boolean':
    case 'bool':
      return { columnType: { kind: 'boolean' } };
    case 'date':
      return { columnType: { kind: 'date' } };
    case 'datetime':
    case 'timestamp':
      return { columnType: { kind: 'timestamp' } };
    case 'time':
      return { columnType: { kind: 'varchar', length: TIME_TEXT_LENGTH } };
    default:
      return undefined;
  }
}

export function redshiftTypeFor(sourceType: string, metadata: FieldMetadata = {}): string {
  return renderColumnType(columnTypeFor(sourceType, metadata).columnType);
}

/** A positive whole number from a describe value (`"255"`); anything else counts as not reported. */
function describeNumber(value: string | undefined, allowZero: boolean): number | undefined {
  if (value === undefined || !/^\d{1,9}$/.test(value.trim())) return undefined;
  const number = Number(value.trim());
  return number > 0 || (allowZero && number === 0) ? number : undefined;
}

/**
 * Length, precision and scale from `ConnectorEntityField.customProperties` (contract 8); a
 * length missing there is taken from the type details' `fieldLengthRange.maximum`.
 */
export function fieldMetadata(field: ConnectorEntityField): FieldMetadata {
  const properties = field.customProperties ?? {};
  const rangeMaximum = field.supportedFieldTypeDetails?.v1?.fieldLengthRange?.maximum;
  const length =
    describeNumber(properties.length, false) ??
    (rangeMaximum !== undefined && Number.isInteger(rangeMaximum) && rangeMaximum > 0
      ? rangeMaximum
      : undefined);
  const precision = describeNumber(properties.precision, false);
  const scale = describeNumber(properties.scale, true);
  return {
    ...(length !== undefined ? { length } : {}),
    ...(precision !== undefined ? { precision } : {}),
    ...(scale !== undefined ? { scale } : {}),
  };
}

/**
 * The columns of one object: the selected fields (all supported ones when `fields` is
 * absent), always with the primary key, the cursor, `IsDeleted` when the source has it, and the
 * row's `refreshFields` (fields that change without moving the cursor are refreshed as columns,
 * issue 21). A selected field the source no longer has is an error that names it.
 */
export function selectSourceFields(
  objectName: string,
  entityFields: ConnectorEntityField[],
  selection: {
    fields?: string[];
    primaryKey: string;
    cursorField: string;
    /** @default 'Salesforce' */
    connectorType?: string;
    /** Custom connectors: an unknown field type becomes VARCHAR(65535) instead of an error. @default false */
    allowUnknownTypes?: boolean;
    /** The row's `refreshFields`: always columns, like the key and the cursor. */
    refreshFields?: readonly string[];
  },
): SourceField[] {
  const connectorType = selection.connectorType ?? 'Salesforce';
  const salesforce = connectorType === 'Salesforce';
  const byName = new Map(entityFields.map((field) => [field.identifier ?? '', field]));
  const typeOf = (field: ConnectorEntityField) => field.supportedFieldTypeDetails?.v1?.fieldType ?? 'string';
  const unsupported = salesforce ? UNSUPPORTED_TYPES : UNSUPPORTED_CUSTOM_TYPES;
  const required = [selection.primaryKey, selection.cursorField];
  // Only Salesforce reports soft deletes; a custom source's field of that name is an ordinary column.
  if (reportsSoftDeletes(connectorType) && byName.has('IsDeleted')) required.push('IsDeleted');

  const refreshFields = selection.refreshFields ?? [];
  const wanted = selection.fields
    ? [...new Set([...selection.fields, ...required, ...refreshFields])]
    : [
        ...new Set([
          ...required,
          ...entityFields
            .filter((field) => !unsupported.has(typeOf(field).toLowerCase()))
            .map((field) => field.identifier ?? ''),
          ...refreshFields,
        ]),
      ];
  const missing = wanted.filter((name) => !byName.has(name));
  if (missing.length > 0) {
    const fromRefresh = missing.filter((name) => refreshFields.includes(name));
    throw new SchemaMismatchError(
      `${objectName}: field(s) ${missing.join(', ')} no longer exist at the source${
        fromRefresh.length > 0 ? ` (refreshFields names ${fromRefresh.join(', ')})` : ''
      }`,
    );
  }
  const columnFor = (name: string, sourceType: string, metadata: FieldMetadata) => {
    if (salesforce) return columnTypeFor(sourceType, metadata);
    const known = unsupported.has(sourceType.toLowerCase())
      ? undefined
      : customConnectorColumnTypeFor(sourceType, metadata);
    if (known) return known;
    if (selection.allowUnknownTypes) return textColumn(undefined);
    throw new SchemaMismatchError(
      `${objectName}: field ${name} has source type "${sourceType}", which has no Redshift column type here; leave the field out of \`fields\`, or set allowUnknownTypes: true on the row to load it as VARCHAR(65535)`,
    );
  };
  const columns = new Map<string, string>();
  return wanted.map((name) => {
    const column = name.toLowerCase();
    const clash = columns.get(column);
    if (clash)
      throw new SchemaMismatchError(`${objectName}: fields ${clash} and ${name} map to the same column`);
    columns.set(column, name);
    const entityField = byName.get(name) as ConnectorEntityField;
    const sourceType = typeOf(entityField);
    const { columnType, truncateLength } = columnFor(name, sourceType, fieldMetadata(entityField));
    const filterOperators = entityField.supportedFieldTypeDetails?.v1?.filterOperators;
    return {
      name,
      sourceType,
      column,
      redshiftType: renderColumnType(columnType),
      columnType,
      ...(truncateLength !== undefined ? { truncateLength } : {}),
      ...(filterOperators && filterOperators.length > 0 ? { filterOperators: [...filterOperators] } : {}),
    };
  });
}
