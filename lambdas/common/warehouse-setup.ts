import { quoteDatabaseUser } from './database-user';
import { historySchemaOf, type SourceCatalog } from './sources';
import { quoteIdent } from './warehouse';

/**
 * Schema-level work, once per run, before any object's child runs (children ran it concurrently
 * before, and Postgres-lineage catalogs answer one of two concurrent GRANTs "tuple concurrently
 * updated"): every source's staging, final and history schemas, and AppFlow's user's USAGE on
 * staging. Then the check that the procedure is deployed, whose answer is the batch's last result.
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

export const PROCEDURE_CHECK_SQL =
  "SELECT COUNT(*) AS procedures FROM pg_proc WHERE proname = 'consolidate_object'";
