import type { ConnectorEntityField } from '@aws-sdk/client-appflow';
import { SchemaMismatchError } from './errors';

export interface SourceField {
  name: string;
  /** The connector's type name (`string`, `datetime`, `boolean`, …). */
  sourceType: string;
  /** Column name in staging and final tables: the source name in lower case (DESIGN.md). */
  column: string;
  redshiftType: string;
}

/** Compound and binary Salesforce types AppFlow cannot write to Redshift columns. */
const UNSUPPORTED_TYPES = new Set(['address', 'location', 'base64', 'anytype', 'complexvalue', 'json']);

export function redshiftTypeFor(sourceType: string): string {
  switch (sourceType.toLowerCase()) {
    case 'boolean':
      return 'BOOLEAN';
    case 'datetime':
      return 'TIMESTAMP';
    case 'date':
      return 'DATE';
    case 'double':
    case 'currency':
    case 'percent':
    case 'number':
      return 'DOUBLE PRECISION';
    case 'int':
    case 'integer':
    case 'long':
      return 'BIGINT';
    default:
      // Salesforce text fields hold up to 131,072 characters; Redshift's VARCHAR caps at 65,535 bytes.
      return 'VARCHAR(65535)';
  }
}

/**
 * The columns of one object: the selected fields (all supported ones when `fields` is
 * absent), always with the primary key, the cursor and `IsDeleted` when the source has it.
 * A selected field the source no longer has is an error that names it.
 */
export function selectSourceFields(
  objectName: string,
  entityFields: ConnectorEntityField[],
  selection: { fields?: string[]; primaryKey: string; cursorField: string },
): SourceField[] {
  const byName = new Map(entityFields.map((field) => [field.identifier ?? '', field]));
  const typeOf = (field: ConnectorEntityField) => field.supportedFieldTypeDetails?.v1?.fieldType ?? 'string';
  const required = [selection.primaryKey, selection.cursorField];
  if (byName.has('IsDeleted')) required.push('IsDeleted');

  const wanted = selection.fields
    ? [...new Set([...selection.fields, ...required])]
    : [
        ...new Set([
          ...required,
          ...entityFields
            .filter((field) => !UNSUPPORTED_TYPES.has(typeOf(field).toLowerCase()))
            .map((field) => field.identifier ?? ''),
        ]),
      ];
  const missing = wanted.filter((name) => !byName.has(name));
  if (missing.length > 0) {
    throw new SchemaMismatchError(
      `${objectName}: field(s) ${missing.join(', ')} no longer exist at the source`,
    );
  }
  const columns = new Map<string, string>();
  return wanted.map((name) => {
    const column = name.toLowerCase();
    const clash = columns.get(column);
    if (clash)
      throw new SchemaMismatchError(`${objectName}: fields ${clash} and ${name} map to the same column`);
    columns.set(column, name);
    const sourceType = typeOf(byName.get(name) as ConnectorEntityField);
    return { name, sourceType, column, redshiftType: redshiftTypeFor(sourceType) };
  });
}
