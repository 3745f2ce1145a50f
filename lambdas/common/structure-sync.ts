import type { SourceField } from './source-fields';
import { quoteIdent, type WarehouseLayout } from './warehouse';

export interface ExistingColumns {
  staging: Set<string>;
  final: Set<string>;
}

export interface TableChanges {
  statements: string[];
  /** Columns added to an existing final table: their values for old records need a full reload. */
  columnsAdded: string[];
  finalTableCreated: boolean;
}

/**
 * DDL that makes the staging and final tables hold every selected column. AppFlow only
 * adds new source fields by itself for S3 destinations, so this is how a new Salesforce
 * field reaches Redshift. Columns are never dropped: history stays queryable.
 */
export function planTableChanges(
  layout: WarehouseLayout,
  table: string,
  fields: SourceField[],
  existing: ExistingColumns,
) {
  const statements: string[] = [];
  const columnsAdded: string[] = [];
  const targets = [
    { schema: layout.stagingSchema, columns: existing.staging },
    { schema: layout.finalSchema, columns: existing.final },
  ];
  for (const { schema, columns } of targets) {
    const qualified = `${quoteIdent(schema)}.${quoteIdent(table)}`;
    if (columns.size === 0) {
      const definitions = fields.map((field) => `${quoteIdent(field.column)} ${field.redshiftType}`);
      statements.push(`CREATE TABLE IF NOT EXISTS ${qualified} (${definitions.join(', ')})`);
      continue;
    }
    for (const field of fields.filter((candidate) => !columns.has(candidate.column))) {
      // Redshift adds one column per ALTER TABLE.
      statements.push(
        `ALTER TABLE ${qualified} ADD COLUMN ${quoteIdent(field.column)} ${field.redshiftType}`,
      );
      if (schema === layout.finalSchema) columnsAdded.push(field.column);
    }
  }
  return { statements, columnsAdded, finalTableCreated: existing.final.size === 0 } satisfies TableChanges;
}
