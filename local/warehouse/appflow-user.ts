import type { PGlite } from '@electric-sql/pglite';
import { LOCAL_CONFIG } from '../../config/local-environment';

/**
 * The database user AppFlow's Redshift connector loads staging rows as, in the local warehouse.
 * In AWS it is the connector profile's identity (e.g. `IAMR:<role-name>` with a Data API role),
 * configured per environment as `redshift.appflowDatabaseUser`; locally it is the local environment's.
 */
export const APPFLOW_DATABASE_USER = LOCAL_CONFIG.redshift.appflowDatabaseUser;

/**
 * Creates AppFlow's database user with no privileges at all, as a freshly created Redshift
 * user has: whatever it may do, the pipeline must GRANT (USAGE on the staging schema, INSERT
 * on each staging table), so a missing grant fails the local load as it fails in AWS.
 * Idempotent; an existing role keeps the grants it was given.
 */
export async function createAppFlowUser(db: Pick<PGlite, 'exec'>): Promise<void> {
  await db.exec(`
    DO $$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${APPFLOW_DATABASE_USER}') THEN
        CREATE ROLE ${APPFLOW_DATABASE_USER} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
      END IF;
    END
    $$;
  `);
}
