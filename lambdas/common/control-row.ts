import * as z from 'zod/mini';
import { matching } from './schema';

/** DESIGN.md: the control-table row contract. Identifiers are checked here before they go anywhere. */
export const OBJECT_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;
export const TABLE_NAME_PATTERN = /^[a-z][a-z0-9_]{0,79}$/;

const objectName = matching(OBJECT_NAME_PATTERN, 'must match ^[A-Za-z][A-Za-z0-9_]{0,79}$');
const fieldName = matching(OBJECT_NAME_PATTERN, 'field names must match ^[A-Za-z][A-Za-z0-9_]{0,79}$');
const appFlowName = matching(/^[\w!@#.-]{1,256}$/, 'must be a valid AppFlow name');
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
  error: z.optional(z.string()),
});

export const controlRowSchema = z
  .object({
    objectName,
    enabled: z._default(z.boolean(), true),
    connectorType: z._default(
      matching(/^[A-Za-z]{1,64}$/, 'must be an AppFlow connector type'),
      'Salesforce',
    ),
    connectorLabel: z.optional(matching(/^[a-zA-Z0-9][\w!@#.-]{0,255}$/, 'must be a valid connector label')),
    connectorProfileName: z.optional(appFlowName),
    fields: z.optional(z.array(fieldName).check(z.minLength(1, 'must list at least one field when given'))),
    primaryKey: z._default(fieldName, 'Id'),
    cursorField: z._default(fieldName, 'SystemModstamp'),
    syncMode: z._default(z.enum(['incremental', 'full']), 'incremental'),
    deleteMode: z._default(z.enum(['hard', 'soft', 'ignore']), 'hard'),
    lookbackMinutes: z._default(z.number().check(z.gte(0), z.lte(7 * 24 * 60)), 60),
    targetTable: z.optional(matching(TABLE_NAME_PATTERN, 'must match ^[a-z][a-z0-9_]{0,79}$')),
    resetRequested: z._default(z.boolean(), false),
    /** Every Nth run is a full sync that reconciles records purged at the source (0 = never). */
    fullSyncEveryDays: z._default(count(366), 0),
    // Written by the pipeline:
    watermark: z.optional(z.iso.datetime({ offset: true })),
    lastFullSyncAt: z.optional(z.string()),
    runsSinceFullSync: z.optional(count(Number.MAX_SAFE_INTEGER)),
    lastRun: z.optional(lastRunSchema),
    lockRunId: z.optional(z.string()),
    lockExpiresAt: z.optional(z.string()),
    lockExecutionArn: z.optional(z.string()),
  })
  .check(
    z.superRefine((row, ctx) => {
      if (row.connectorType === 'CustomConnector' && !row.connectorLabel) {
        ctx.addIssue({
          code: 'custom',
          path: ['connectorLabel'],
          message: 'is required when connectorType is CustomConnector',
        });
      }
    }),
  );

export type ControlRow = z.output<typeof controlRowSchema>;
export type ControlRowInput = z.input<typeof controlRowSchema>;

/** A control row with every default applied and the derived names resolved. */
export type ObjectConfig = ControlRow & { targetTable: string };

export type ParsedRow = { ok: true; object: ObjectConfig } | { ok: false; objectName: string; error: string };

/** Validates one raw DynamoDB item; a bad row yields an error naming the row and every bad attribute. */
export function parseControlRow(item: Record<string, unknown>): ParsedRow {
  const parsed = controlRowSchema.safeParse(item);
  if (!parsed.success) {
    const name = typeof item.objectName === 'string' ? item.objectName : '(missing objectName)';
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'row'} ${issue.message}`);
    return { ok: false, objectName: name, error: `Invalid control row "${name}": ${problems.join('; ')}` };
  }
  const row = parsed.data;
  return { ok: true, object: { ...row, targetTable: row.targetTable ?? row.objectName.toLowerCase() } };
}

/**
 * Every row as the pipeline sees it. Enabled rows sharing a target table would
 * consolidate into each other, so each of them is invalid until one is renamed.
 */
export function parseControlRows(items: Record<string, unknown>[]): ParsedRow[] {
  const parsed = items.map(parseControlRow);
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
