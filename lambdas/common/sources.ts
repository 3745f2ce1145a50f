import * as z from 'zod/mini';
import { matching } from './schema';

/** The source a control row without `sourceName` belongs to (DESIGN.md: schemas `salesforce_incremental` / `salesforce`). */
export const DEFAULT_SOURCE_NAME = 'salesforce';
/** The environment variable carrying the configured sources (JSON) to the functions that resolve rows. */
export const SOURCES_ENVIRONMENT_VARIABLE = 'PIPELINE_SOURCES';

/** Source names become schema names (`<source>_incremental`, `<source>`): a lower-case SQL identifier. */
export const SOURCE_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,113}$/;
/** Source field (and object) API names, as the control-row contract allows them. */
export const FIELD_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;
/** A lower-case SQL identifier: schema names. */
export const SQL_IDENTIFIER_PATTERN = /^[a-z_][a-z0-9_]{0,126}$/;
/** AppFlow resource names (connector profiles, flows). */
export const APPFLOW_NAME_PATTERN = /^[\w!@#.-]{1,256}$/;
export const CONNECTOR_TYPE_PATTERN = /^[A-Za-z]{1,64}$/;
export const CONNECTOR_LABEL_PATTERN = /^[a-zA-Z0-9][\w!@#.-]{0,255}$/;
/** AppFlow's `apiVersion` shape (CreateFlow / DescribeConnectorEntity): `\S+`, at most 256. */
export const API_VERSION_PATTERN = /^\S{1,256}$/;

export type DeleteMode = 'hard' | 'soft' | 'ignore';

/** DESIGN.md: a source's history tables live in `<final schema>_history`. */
export function historySchemaOf(finalSchema: string): string {
  return `${finalSchema}_history`;
}

/** One source of the environment with every default applied: what rows of that source inherit. */
export interface SourceDefinition {
  connectorType: string;
  /** The custom connector's registered label (required for `CustomConnector`). */
  connectorLabel?: string;
  /** Absent only in the built-in default (the environment's default profile applies). */
  connectorProfileName?: string;
  /** The connector's API version, sent with DescribeConnectorEntity and CreateFlow. */
  apiVersion?: string;
  primaryKey: string;
  cursorField: string;
  deleteMode: DeleteMode;
  stagingSchema: string;
  finalSchema: string;
}

export type SourceCatalog = Record<string, SourceDefinition>;

/**
 * Key and cursor a source's rows default to: Salesforce's `Id` / `SystemModstamp`; a custom
 * connector's `id` / `updated_at` (what database-backed connectors such as TiDB or MySQL expose).
 */
export function connectorDefaults(connectorType: string): { primaryKey: string; cursorField: string } {
  return connectorType === 'Salesforce'
    ? { primaryKey: 'Id', cursorField: 'SystemModstamp' }
    : { primaryKey: 'id', cursorField: 'updated_at' };
}

/** True when the source reports Salesforce's soft deletes (`IsDeleted`); custom connectors do not. */
export function reportsSoftDeletes(connectorType: string): boolean {
  return connectorType === 'Salesforce';
}

/** Today's behaviour when no sources are configured: one Salesforce source on the environment's default profile. */
export const DEFAULT_SOURCES: SourceCatalog = {
  [DEFAULT_SOURCE_NAME]: {
    connectorType: 'Salesforce',
    ...connectorDefaults('Salesforce'),
    deleteMode: 'hard',
    stagingSchema: `${DEFAULT_SOURCE_NAME}_incremental`,
    finalSchema: DEFAULT_SOURCE_NAME,
  },
};

const fieldName = matching(FIELD_NAME_PATTERN, 'must match ^[A-Za-z][A-Za-z0-9_]{0,79}$');
const schemaName = matching(SQL_IDENTIFIER_PATTERN, 'must be a lower-case SQL identifier');

const sourceDefinitionSchema = z.object({
  connectorType: matching(CONNECTOR_TYPE_PATTERN, 'must be an AppFlow connector type'),
  connectorLabel: z.optional(matching(CONNECTOR_LABEL_PATTERN, 'must be a valid connector label')),
  connectorProfileName: z.optional(matching(APPFLOW_NAME_PATTERN, 'must be a valid AppFlow name')),
  apiVersion: z.optional(matching(API_VERSION_PATTERN, 'must be an AppFlow apiVersion')),
  primaryKey: fieldName,
  cursorField: fieldName,
  deleteMode: z.enum(['hard', 'soft', 'ignore']),
  stagingSchema: schemaName,
  finalSchema: schemaName,
});

/**
 * The catalog the stack passes in `PIPELINE_SOURCES` (resolved by lib/config.ts); absent means
 * the built-in Salesforce source. A malformed value fails the cold start, naming the source.
 */
export function parseSourceCatalog(json: string | undefined): SourceCatalog {
  if (!json) return DEFAULT_SOURCES;
  const raw = JSON.parse(json) as Record<string, unknown>;
  const catalog: SourceCatalog = {};
  for (const [name, value] of Object.entries(raw)) {
    if (!SOURCE_NAME_PATTERN.test(name)) {
      throw new Error(
        `${SOURCES_ENVIRONMENT_VARIABLE}: source name "${name}" is not a lower-case SQL identifier`,
      );
    }
    const parsed = sourceDefinitionSchema.safeParse(value);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`);
      throw new Error(`${SOURCES_ENVIRONMENT_VARIABLE}: source "${name}": ${problems.join('; ')}`);
    }
    catalog[name] = parsed.data;
  }
  return catalog;
}
