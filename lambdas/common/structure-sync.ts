import type { SourceField } from './source-fields';
import { quoteIdent, type WarehouseLayout } from './warehouse';

export interface ExistingColumns {
  staging: Set<string>;
  final: Set<string>;
}

/** A column the final table lacks, added right before the consolidation that fills it. */
export interface PendingColumn {
  column: string;
  redshiftType: string;
}

export interface TableChanges {
  /** DDL to run now: create missing tables, add new columns to staging. */
  statements: string[];
  /**
   * Columns the existing final table lacks. They are added only just before the CALL, so
   * a retried extract still sees them missing and still reloads the object in full: the
   * full reload is what gives old records the new field's value.
   */
  finalColumnsPending: PendingColumn[];
}

function addColumn(qualified: string, column: PendingColumn): string {
  // Redshift adds one column per ALTER TABLE.
  return `ALTER TABLE ${qualified} ADD COLUMN ${quoteIdent(column.column)} ${column.redshiftType}`;
}

/**
 * Structure sync: AppFlow only adds new source fields by itself for S3 destinations, so
 * this is how a new Salesforce field reaches Redshift. Columns are never dropped:
 * history stays queryable.
 */
export function planTableChanges(
  layout: WarehouseLayout,
  table: string,
  fields: SourceField[],
  existing: ExistingColumns,
): TableChanges {
  const statements: string[] = [];
  const create = (schema: string) => {
    const definitions = fields.map((field) => `${quoteIdent(field.column)} ${field.redshiftType}`);
    return `CREATE TABLE IF NOT EXISTS ${quoteIdent(schema)}.${quoteIdent(table)} (${definitions.join(', ')})`;
  };
  if (existing.staging.size === 0 || existing.final.size === 0) {
    // sql/ creates the default schemas; an environment may name its own.
    for (const schema of [layout.stagingSchema, layout.finalSchema]) {
      statements.push(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    }
  }
  if (existing.staging.size === 0) statements.push(create(layout.stagingSchema));
  else {
    const staging = `${quoteIdent(layout.stagingSchema)}.${quoteIdent(table)}`;
    for (const field of fields.filter((candidate) => !existing.staging.has(candidate.column))) {
      statements.push(addColumn(staging, field));
    }
  }
  if (existing.final.size === 0) {
    statements.push(create(layout.finalSchema));
    return { statements, finalColumnsPending: [] };
  }
  const finalColumnsPending = fields
    .filter((field) => !existing.final.has(field.column))
    .map(({ column, redshiftType }) => ({ column, redshiftType }));
  return { statements, finalColumnsPending };
}

/** The ALTERs for the pending final-table columns that are still missing (a retried step may have added some). */
export function addPendingColumns(
  layout: WarehouseLayout,
  table: string,
  pending: PendingColumn[],
  existingFinal: Set<string>,
): string[] {
  const final = `${quoteIdent(layout.finalSchema)}.${quoteIdent(table)}`;
  return pending
    .filter((column) => !existingFinal.has(column.column))
    .map((column) => addColumn(final, column));
}
