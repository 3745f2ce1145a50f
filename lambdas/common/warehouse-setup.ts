import { quoteDatabaseUser } from './database-user';
import { historySchemaOf, type SourceCatalog } from './sources';
import { quoteIdent } from './warehouse';

/**
 * Schema-level work, once per run, before any object's child runs (children ran it concurrently
 * before, and Postgres-lineage catalogs answer one of two concurrent GRANTs "tuple concurrently
 * updated"): every source's staging, final and history schemas, and AppFlow's user's USAGE on
 * staging. Then the check that the procedures are deployed, whose answer is the batch's last result.
 */
export function warehouseSetupStatements(sources: SourceCatalog, appflowDatabaseUser?: string): string[] {
  const schemas = new Set<string>();
  for (const source of Object.values(sources)) {
    schemas.add(source.stagingSchema);
    schemas.add(source.finalSchema);
    schemas.add(historySchemaOf(source.finalSchema));
  }
  const statements = [...schemas].map((schema) => `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
  if (appflowDatabaseUser) {
    const user = quoteDatabaseUser(appflowDatabaseUser);
    const staging = new Set(Object.values(sources).map((source) => source.stagingSchema));
    for (const schema of staging) statements.push(`GRANT USAGE ON SCHEMA ${quoteIdent(schema)} TO ${user}`);
  }
  statements.push(PROCEDURE_CHECK_SQL);
  return statements;
}

/**
 * The procedures this version calls, as sql/ deploys them: consolidate_object with 10 arguments (the
 * form every other form calls, history's included) and refresh_columns. A warehouse that missed the
 * deploys that added them (history, column refresh) fails the precheck instead of every object; one
 * that missed only a later change of a procedure's body passes: the check reads signatures.
 */
export const PROCEDURE_CHECK_SQL = `SELECT SUM(CASE WHEN proname = 'consolidate_object' AND pronargs = 10 THEN 1 ELSE 0 END) AS consolidate_object,
  SUM(CASE WHEN proname = 'refresh_columns' THEN 1 ELSE 0 END) AS refresh_columns
FROM pg_proc WHERE proname IN ('consolidate_object', 'refresh_columns')`;

/** What the check found missing, in words for the precheck's verdict; empty when both are deployed. */
export function missingProcedures(row: Record<string, unknown> | undefined): string[] {
  const missing: string[] = [];
  if (Number(row?.consolidate_object ?? 0) === 0) missing.push('consolidate_object (its 10-argument form)');
  if (Number(row?.refresh_columns ?? 0) === 0) missing.push('refresh_columns');
  return missing;
}
