import * as z from 'zod/mini';
import { DEFAULT_SYNC_EVERY_MINUTES, MAX_SYNC_EVERY_MINUTES, MIN_SYNC_EVERY_MINUTES } from './cadence';
import { DEFAULT_FORMULA_REFRESH_MINUTES } from './formula-refresh';
import { matching } from './schema';
import {
  APPFLOW_NAME_PATTERN,
  CONNECTOR_LABEL_PATTERN,
  CONNECTOR_TYPE_PATTERN,
  DEFAULT_SOURCE_NAME,
  DEFAULT_SOURCES,
  type DeleteMode,
  FIELD_NAME_PATTERN,
  SOURCE_NAME_PATTERN,
  type SourceCatalog,
} from './sources';

/** DESIGN.md: the control-table row contract. Identifiers are checked here before they go anywhere. */
export const OBJECT_NAME_PATTERN = FIELD_NAME_PATTERN;
export const TABLE_NAME_PATTERN = /^[a-z][a-z0-9_]{0,79}$/;

const objectName = matching(OBJECT_NAME_PATTERN, 'must match ^[A-Za-z][A-Za-z0-9_]{0,79}$');
const fieldName = matching(OBJECT_NAME_PATTERN, 'field names must match ^[A-Za-z][A-Za-z0-9_]{0,79}$');
const appFlowName = matching(APPFLOW_NAME_PATTERN, 'must be a valid AppFlow name');
const count = (max: number) => z.int().check(z.gte(0), z.lte(max));

/** What the pipeline writes back after each run of the object. */
export const lastRunSchema = z.looseObject({
  runId: z.string(),
  status: z.string(),
  startedAt: z.optional(z.string()),
  finishedAt: z.optional(z.string()),
  syncMode: z.optional(z.string()),
  recordsExtracted: z.optional(z.number()),
  duplicatesRemoved: z.optional(z.number()),
  rowsInserted: z.optional(z.number()),
  rowsDeleted: z.optional(z.number()),
  rowsUpdated: z.optional(z.number()),
  rowsUnchanged: z.optional(z.number()),
  valuesTruncated: z.optional(z.number()),
  /** Issue 21: the columns a column refresh rewrote (lower case), the rows it rewrote, the fields whose type changed. */
  columnsRefreshed: z.optional(z.array(z.string())),
  rowsRefreshed: z.optional(z.number()),
  typeChanges: z.optional(z.array(z.object({ field: z.string(), from: z.string(), to: z.string() }))),
  error: z.optional(z.string()),
});

export const controlRowSchema = z.object({
  objectName,
  enabled: z._default(z.boolean(), true),
  /** The configured source the object comes from (issue 14). @default 'salesforce' */
  sourceName: z.optional(matching(SOURCE_NAME_PATTERN, 'must be a lower-case SQL identifier')),
  /** The source entity when its name differs from objectName (two sources with an `orders` entity). */
  entityName: z.optional(
    // AppFlow's EntityName characters, without whitespace.
    matching(/^[\w/!@#+=.-]{1,1024}$/, 'must be a source entity name ([\\w/!@#+=.-], at most 1024)'),
  ),
  /** @default the source's connector type */
  connectorType: z.optional(matching(CONNECTOR_TYPE_PATTERN, 'must be an AppFlow connector type')),
  connectorLabel: z.optional(matching(CONNECTOR_LABEL_PATTERN, 'must be a valid connector label')),
  connectorProfileName: z.optional(appFlowName),
  fields: z.optional(z.array(fieldName).check(z.minLength(1, 'must list at least one field when given'))),
  /** @default the source's primary key (Salesforce `Id`, custom connectors `id`) */
  primaryKey: z.optional(fieldName),
  /** @default the source's cursor (Salesforce `SystemModstamp`, custom connectors `updated_at`) */
  cursorField: z.optional(fieldName),
  syncMode: z._default(z.enum(['incremental', 'full']), 'incremental'),
  /** @default the source's delete mode ('hard') */
  deleteMode: z.optional(z.enum(['hard', 'soft', 'ignore'])),
  /**
   * Custom connectors: a field type the pipeline does not know becomes VARCHAR(65535) instead
   * of failing the object. @default false
   */
  allowUnknownTypes: z._default(z.boolean(), false),
  lookbackMinutes: z._default(z.number().check(z.gte(0), z.lte(7 * 24 * 60)), 60),
  /** This object's flow timeout, overriding the environment's `flowTimeoutMinutes` (a huge initial load). */
  flowTimeoutMinutes: z.optional(z.int().check(z.gte(10), z.lte(48 * 60))),
  targetTable: z.optional(matching(TABLE_NAME_PATTERN, 'must match ^[a-z][a-z0-9_]{0,79}$')),
  /**
   * Sort key of the final table (a field of the object) when reports filter on something
   * else than the primary key; applied when the table is created. Staging always sorts on the key.
   */
  sortKey: z.optional(fieldName),
  /**
   * Keep every captured version in `<final schema>_history.<targetTable>` (issue 22). Switched off,
   * the history table is kept and no longer updated; switched on for an object with a final table,
   * the consolidation seeds it (one current version per row). @default false
   */
  history: z._default(z.boolean(), false),
  resetRequested: z._default(z.boolean(), false),
  /** Every Nth run is a full sync that reconciles records purged at the source (0 = never). */
  fullSyncEveryDays: z._default(count(366), 0),
  /**
   * How often scheduled ticks run the object, in minutes (issue 20), anchored to the environment's
   * daily time: 1,440 runs it on the first tick at or after that time, 60 on every full hour from it.
   */
  syncEveryMinutes: z._default(
    z
      .int()
      .check(
        z.gte(MIN_SYNC_EVERY_MINUTES, `must be at least ${MIN_SYNC_EVERY_MINUTES} (minutes)`),
        z.lte(MAX_SYNC_EVERY_MINUTES, `must be at most ${MAX_SYNC_EVERY_MINUTES} (a week, in minutes)`),
      ),
    DEFAULT_SYNC_EVERY_MINUTES,
  ),
  /**
   * Issue 21: how often formula fields (and `refreshFields`) are refreshed, in minutes; 0 = never.
   * A daily object refreshes them in every run, an hourly one once a day.
   */
  formulaRefreshEveryMinutes: z._default(
    z.int().check(z.gte(0, 'must be 0 (never) or more minutes')),
    DEFAULT_FORMULA_REFRESH_MINUTES,
  ),
  /** Issue 21: fields that change without moving the cursor, refreshed with the formula fields. */
  refreshFields: z.optional(z.array(fieldName)),
  // Written by the pipeline:
  /** Issue 21: start of the last run that refreshed the formula fields (or reloaded the object in full). */
  lastFormulaRefreshAt: z.optional(z.iso.datetime({ offset: true })),
  watermark: z.optional(z.iso.datetime({ offset: true })),
  /** Every change with a cursor at or before it is in the final table: the window end of the last successful consolidation. */
  completeThrough: z.optional(z.iso.datetime({ offset: true })),
  lastFullSyncAt: z.optional(z.string()),
  runsSinceFullSync: z.optional(count(Number.MAX_SAFE_INTEGER)),
  lastRun: z.optional(lastRunSchema),
  lockRunId: z.optional(z.string()),
  lockExpiresAt: z.optional(z.string()),
  lockExecutionArn: z.optional(z.string()),
});

export type ControlRow = z.output<typeof controlRowSchema>;
export type ControlRowInput = z.input<typeof controlRowSchema>;

/** A control row with every default applied (the row's, then its source's) and the derived names resolved. */
export type ObjectConfig = Omit<
  ControlRow,
  'connectorType' | 'primaryKey' | 'cursorField' | 'deleteMode' | 'allowUnknownTypes' | 'history'
> & {
  connectorType: string;
  primaryKey: string;
  cursorField: string;
  deleteMode: DeleteMode;
  targetTable: string;
  allowUnknownTypes?: boolean;
  /** Keep every captured version (issue 22); absent in objects built by older code: no history. */
  history?: boolean;
  /** Resolved source; absent only in objects built by older code (then the default source). */
  sourceName?: string;
  stagingSchema?: string;
  finalSchema?: string;
  apiVersion?: string;
};

export type ParsedRow = { ok: true; object: ObjectConfig } | { ok: false; objectName: string; error: string };

function invalid(name: string, problems: string[]): ParsedRow {
  return { ok: false, objectName: name, error: `Invalid control row "${name}": ${problems.join('; ')}` };
}

/**
 * Validates one raw DynamoDB item against the configured sources; a bad row yields an error
 * naming the row and every bad attribute (an unknown source lists the known ones).
 */
export function parseControlRow(
  item: Record<string, unknown>,
  sources: SourceCatalog = DEFAULT_SOURCES,
): ParsedRow {
  const name = typeof item.objectName === 'string' ? item.objectName : '(missing objectName)';
  const parsed = controlRowSchema.safeParse(item);
  if (!parsed.success) {
    return invalid(
      name,
      parsed.error.issues.map((issue) => `${issue.path.join('.') || 'row'} ${issue.message}`),
    );
  }
  const row = parsed.data;
  const sourceName = row.sourceName ?? DEFAULT_SOURCE_NAME;
  const source = Object.hasOwn(sources, sourceName) ? sources[sourceName] : undefined;
  if (!source) {
    const known = Object.keys(sources).sort().join(', ');
    return invalid(name, [`sourceName "${sourceName}" is not a configured source (known: ${known})`]);
  }
  const connectorType = row.connectorType ?? source.connectorType;
  // The source's label belongs to the source's connector: a row naming another type brings its own.
  const connectorLabel =
    row.connectorLabel ?? (connectorType === source.connectorType ? source.connectorLabel : undefined);
  if (connectorType === 'CustomConnector' && !connectorLabel) {
    return invalid(name, ['connectorLabel is required when connectorType is CustomConnector']);
  }
  const connectorProfileName = row.connectorProfileName ?? source.connectorProfileName;
  return {
    ok: true,
    object: {
      ...row,
      sourceName,
      connectorType,
      ...(connectorLabel ? { connectorLabel } : {}),
      ...(connectorProfileName ? { connectorProfileName } : {}),
      ...(source.apiVersion && connectorType === source.connectorType
        ? { apiVersion: source.apiVersion }
        : {}),
      primaryKey: row.primaryKey ?? source.primaryKey,
      cursorField: row.cursorField ?? source.cursorField,
      deleteMode: row.deleteMode ?? source.deleteMode,
      stagingSchema: source.stagingSchema,
      finalSchema: source.finalSchema,
      targetTable: row.targetTable ?? row.objectName.toLowerCase(),
    },
  };
}

/**
 * Every row as the pipeline sees it. Enabled rows sharing a target table would
 * consolidate into each other, so each of them is invalid until one is renamed.
 */
export function parseControlRows(
  items: Record<string, unknown>[],
  sources: SourceCatalog = DEFAULT_SOURCES,
): ParsedRow[] {
  const parsed = items.map((item) => parseControlRow(item, sources));
  const namesByTable = new Map<string, string[]>();
  for (const row of parsed) {
    if (!row.ok || !row.object.enabled) continue;
    const table = row.object.targetTable;
    namesByTable.set(table, [...(namesByTable.get(table) ?? []), row.object.objectName]);
  }
  return parsed.map((row): ParsedRow => {
    if (!row.ok || !row.object.enabled) return row;
    const sharing = namesByTable.get(row.object.targetTable) ?? [];
    if (sharing.length < 2) return row;
    const name = row.object.objectName;
    return {
      ok: false,
      objectName: name,
      error: `Invalid control row "${name}": targetTable is shared by ${sharing.join(' and ')}; give each its own targetTable`,
    };
  });
}
