import { z } from 'zod';

/** DESIGN.md: the control-table row contract. Identifiers are checked here before they go anywhere. */
export const OBJECT_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;
export const TABLE_NAME_PATTERN = /^[a-z][a-z0-9_]{0,79}$/;

const objectName = z.string().regex(OBJECT_NAME_PATTERN, 'must match ^[A-Za-z][A-Za-z0-9_]{0,79}$');
const fieldName = z
  .string()
  .regex(OBJECT_NAME_PATTERN, 'field names must match ^[A-Za-z][A-Za-z0-9_]{0,79}$');
const appFlowName = z.string().regex(/^[\w!@#.-]{1,256}$/, 'must be a valid AppFlow name');

/** What the pipeline writes back after each run of the object. */
export const lastRunSchema = z
  .object({
    runId: z.string(),
    status: z.string(),
    startedAt: z.string().optional(),
    finishedAt: z.string().optional(),
    syncMode: z.string().optional(),
    recordsExtracted: z.number().optional(),
    duplicatesRemoved: z.number().optional(),
    rowsInserted: z.number().optional(),
    rowsDeleted: z.number().optional(),
    error: z.string().optional(),
  })
  .passthrough();

export const controlRowSchema = z
  .object({
    objectName,
    enabled: z.boolean().default(true),
    connectorType: z
      .string()
      .regex(/^[A-Za-z]{1,64}$/, 'must be an AppFlow connector type')
      .default('Salesforce'),
    connectorLabel: z
      .string()
      .regex(/^[a-zA-Z0-9][\w!@#.-]{0,255}$/, 'must be a valid connector label')
      .optional(),
    connectorProfileName: appFlowName.optional(),
    fields: z.array(fieldName).min(1, 'must list at least one field when given').optional(),
    primaryKey: fieldName.default('Id'),
    cursorField: fieldName.default('SystemModstamp'),
    syncMode: z.enum(['incremental', 'full']).default('incremental'),
    deleteMode: z.enum(['hard', 'soft', 'ignore']).default('hard'),
    lookbackMinutes: z
      .number()
      .min(0)
      .max(7 * 24 * 60)
      .default(60),
    targetTable: z.string().regex(TABLE_NAME_PATTERN, 'must match ^[a-z][a-z0-9_]{0,79}$').optional(),
    resetRequested: z.boolean().default(false),
    /** Every Nth run is a full sync that reconciles records purged at the source (0 = never). */
    fullSyncEveryDays: z.number().int().min(0).max(366).default(0),
    // Written by the pipeline:
    watermark: z.string().datetime({ offset: true }).optional(),
    lastFullSyncAt: z.string().optional(),
    runsSinceFullSync: z.number().int().min(0).optional(),
    lastRun: lastRunSchema.optional(),
    lockRunId: z.string().optional(),
    lockExpiresAt: z.string().optional(),
    lockExecutionArn: z.string().optional(),
  })
  .superRefine((row, ctx) => {
    if (row.connectorType === 'CustomConnector' && !row.connectorLabel) {
      ctx.addIssue({
        code: 'custom',
        path: ['connectorLabel'],
        message: 'is required when connectorType is CustomConnector',
      });
    }
  });

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
