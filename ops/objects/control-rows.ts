import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { completeThroughOf, lagMinutes, overdueAfterMinutes } from '../../lambdas/common/cadence';
import {
  controlRowSchema,
  OBJECT_NAME_PATTERN,
  type ObjectConfig,
  parseControlRow,
  parseControlRows,
} from '../../lambdas/common/control-row';
import { scanControlTable } from '../../lambdas/common/control-table';
import type { FreshnessSettings } from '../../lambdas/common/freshness';
import {
  connectorDefaults,
  DEFAULT_SOURCE_NAME,
  DEFAULT_SOURCES,
  type SourceCatalog,
} from '../../lambdas/common/sources';
import { renderTable } from '../../lambdas/common/text-table';
import { awsErrorName, OperationError, UsageError } from './errors';
import { type CommandHint, plainHint } from './hints';

/** `add` flags and the control-row attribute each one sets (DESIGN.md contract names). */
export const ADD_FLAGS = {
  fields: 'fields',
  cursor: 'cursorField',
  pk: 'primaryKey',
  mode: 'syncMode',
  'delete-mode': 'deleteMode',
  lookback: 'lookbackMinutes',
  'target-table': 'targetTable',
  'profile-name': 'connectorProfileName',
  source: 'sourceName',
  entity: 'entityName',
  every: 'syncEveryMinutes',
  'formulas-every': 'formulaRefreshEveryMinutes',
  'refresh-fields': 'refreshFields',
  history: 'history',
} as const;

export type AddFlag = keyof typeof ADD_FLAGS;
export type AddFlagValues = Partial<Record<AddFlag, string>>;

/** Schema names used in messages when no environment config says otherwise (DESIGN.md defaults). */
export const DEFAULT_SCHEMAS = { staging: 'salesforce_incremental', final: 'salesforce' } as const;
export type WarehouseSchemas = { staging: string; final: string };

const ERROR_COLUMN_WIDTH = 60;

/** Rejects a name before it reaches DynamoDB or a message: the same pattern the pipeline enforces. */
export function checkObjectName(objectName: string, command: string): void {
  if (!OBJECT_NAME_PATTERN.test(objectName)) {
    throw new UsageError(
      `<Object> ${JSON.stringify(objectName)} is not a valid object API name: it must match ${OBJECT_NAME_PATTERN.source}`,
      command,
    );
  }
}

/**
 * The row `add` writes: only the attributes given on the command line, so the defaults stay
 * implicit and follow the pipeline's. Validated with the pipeline's own schema first; an error
 * names the flag and the value that broke it.
 */
export function buildNewControlRow(objectName: string, flags: AddFlagValues): Record<string, unknown> {
  const row: Record<string, unknown> = { objectName };
  for (const [flag, attribute] of Object.entries(ADD_FLAGS) as [AddFlag, string][]) {
    const value = flags[flag];
    if (value === undefined) continue;
    if (flag === 'history') {
      row[attribute] = value === 'true';
    } else if (flag === 'fields' || flag === 'refresh-fields') {
      row[attribute] = value
        .split(',')
        .map((field) => field.trim())
        .filter((field) => field.length > 0);
    } else if (flag === 'lookback' || flag === 'every' || flag === 'formulas-every') {
      const minutes = value.trim() === '' ? Number.NaN : Number(value);
      if (!Number.isFinite(minutes)) {
        throw new UsageError(`--${flag} ${JSON.stringify(value)}: must be a number of minutes`, 'add');
      }
      row[attribute] = minutes;
    } else {
      row[attribute] = value;
    }
  }
  const parsed = controlRowSchema.safeParse(row);
  if (!parsed.success) {
    const flagOf = (attribute: unknown): string => {
      const entry = Object.entries(ADD_FLAGS).find(([, name]) => name === attribute);
      return entry ? `--${entry[0]}` : '<Object>';
    };
    const problems = parsed.error.issues.map((issue) => {
      const [attribute] = issue.path;
      const flag = flagOf(attribute);
      const given = flag === '<Object>' ? objectName : flags[flag.slice(2) as AddFlag];
      return `${flag} ${JSON.stringify(given)}: ${issue.message}`;
    });
    throw new UsageError(`Cannot add ${JSON.stringify(objectName)}: ${problems.join('; ')}`, 'add');
  }
  return row;
}

/**
 * The sources rows are checked against. With `--env` they are the environment's; without it
 * the CLI cannot know them, so every source a row names is assumed to exist (a run still
 * reports an unknown one) with a custom connector's defaults.
 */
export function sourceCatalogFor(
  rows: Record<string, unknown>[],
  configured: SourceCatalog | undefined,
): SourceCatalog {
  if (configured) return configured;
  const catalog: SourceCatalog = { ...DEFAULT_SOURCES };
  for (const row of rows) {
    const name = row.sourceName;
    if (typeof name !== 'string' || Object.hasOwn(catalog, name)) continue;
    catalog[name] = {
      connectorType: 'CustomConnector',
      connectorLabel: 'unknown-without-env',
      ...connectorDefaults('CustomConnector'),
      deleteMode: 'hard',
      stagingSchema: `${name}_incremental`,
      finalSchema: name,
    };
  }
  return catalog;
}

/** What the warehouse calls the object: the row's target table or its lower-cased name. */
function targetTableOf(row: Record<string, unknown>): string {
  if (typeof row.targetTable === 'string') return row.targetTable;
  return typeof row.objectName === 'string' ? row.objectName.toLowerCase() : '';
}

/**
 * Writes a new row, never over an existing one. Also refuses a second object that would load
 * into the same warehouse table (`account` next to `Account`), which would make two objects
 * replace each other's rows. That check reads before it writes: a concurrent `add` of a
 * colliding name can slip past it, which an operator tool can live with.
 */
export async function addObject(
  doc: DynamoDBDocumentClient,
  tableName: string,
  row: Record<string, unknown>,
  sources?: SourceCatalog,
): Promise<ObjectConfig> {
  const parsed = parseControlRow(row, sourceCatalogFor([row], sources));
  if (!parsed.ok) throw new UsageError(parsed.error, 'add');
  const objectName = parsed.object.objectName;
  const target = parsed.object.targetTable;
  const existing = await scanControlTable(doc, tableName);
  const clash = existing.find((other) => other.objectName !== objectName && targetTableOf(other) === target);
  if (clash) {
    throw new OperationError(
      `${objectName} would load into warehouse table "${target}", which ${String(clash.objectName)} already loads into; ` +
        'give it another --target-table',
    );
  }
  try {
    await doc.send(
      new PutCommand({
        TableName: tableName,
        Item: row,
        ConditionExpression: 'attribute_not_exists(objectName)',
      }),
    );
  } catch (error) {
    if (awsErrorName(error) === 'ConditionalCheckFailedException') {
      throw new OperationError(`${objectName} already exists; use enable/reset/remove`);
    }
    throw error;
  }
  return parsed.object;
}

function unknownObject(objectName: string, tableName: string): OperationError {
  return new OperationError(
    `No object "${objectName}" in control table ${tableName}: "list" shows the objects, "add" creates one`,
  );
}

/** Sets attributes of an existing row only; returns the row as it was before. */
async function updateExistingRow(
  doc: DynamoDBDocumentClient,
  tableName: string,
  objectName: string,
  attributes: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const names = Object.keys(attributes);
  try {
    const result = await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { objectName },
        UpdateExpression: `SET ${names.map((_, i) => `#a${i} = :v${i}`).join(', ')}`,
        ConditionExpression: 'attribute_exists(objectName)',
        ExpressionAttributeNames: Object.fromEntries(names.map((name, i) => [`#a${i}`, name])),
        ExpressionAttributeValues: Object.fromEntries(names.map((name, i) => [`:v${i}`, attributes[name]])),
        ReturnValues: 'ALL_OLD',
      }),
    );
    return result.Attributes ?? {};
  } catch (error) {
    if (awsErrorName(error) === 'ConditionalCheckFailedException') throw unknownObject(objectName, tableName);
    throw error;
  }
}

export async function setObjectEnabled(
  doc: DynamoDBDocumentClient,
  tableName: string,
  objectName: string,
  enabled: boolean,
): Promise<string> {
  const before = await updateExistingRow(doc, tableName, objectName, { enabled });
  const wasEnabled = before.enabled !== false; // absent means the default, enabled
  const state = enabled ? 'enabled' : 'disabled';
  if (wasEnabled === enabled) return `${objectName} was already ${state}`;
  return enabled
    ? `${objectName} enabled: the next run loads it again, from its watermark`
    : `${objectName} disabled: runs skip it until "enable ${objectName}"; its watermark and tables are kept`;
}

export async function requestReset(
  doc: DynamoDBDocumentClient,
  tableName: string,
  objectName: string,
  hint: CommandHint = plainHint,
): Promise<string> {
  await updateExistingRow(doc, tableName, objectName, { resetRequested: true });
  return (
    `${objectName}: full reload requested; the next run reloads it in full (the flag clears after success). ` +
    `Start one now with: ${hint(`run --objects ${objectName}`)}`
  );
}

function describeRow(row: Record<string, unknown>): string {
  const lastRun = row.lastRun as { status?: unknown } | undefined;
  const details = [
    `target table ${targetTableOf(row)}`,
    `watermark ${typeof row.watermark === 'string' ? row.watermark : 'none'}`,
    `last run ${typeof lastRun?.status === 'string' ? lastRun.status : 'never'}`,
  ];
  return details.join(', ');
}

/** The schemas of the row's source: the configured ones, or `<source>_incremental` / `<source>`. */
function schemasOfRow(
  row: Record<string, unknown>,
  fallback: WarehouseSchemas,
  sources: SourceCatalog | undefined,
): WarehouseSchemas {
  const name = typeof row.sourceName === 'string' ? row.sourceName : DEFAULT_SOURCE_NAME;
  const source = sources && Object.hasOwn(sources, name) ? sources[name] : undefined;
  if (source) return { staging: source.stagingSchema, final: source.finalSchema };
  return name === DEFAULT_SOURCE_NAME ? fallback : { staging: `${name}_incremental`, final: name };
}

function keptTablesNote(
  row: Record<string, unknown>,
  fallback: WarehouseSchemas,
  sources?: SourceCatalog,
): string {
  const schemas = schemasOfRow(row, fallback, sources);
  const table = targetTableOf(row);
  return (
    `The warehouse tables ${schemas.staging}.${table} and ${schemas.final}.${table} are kept ` +
    '(drop them in Redshift yourself if they are no longer wanted).'
  );
}

/** `remove` without `--yes`: reads the row and says what removing it would delete and keep. */
export async function describeRemoval(
  doc: DynamoDBDocumentClient,
  tableName: string,
  objectName: string,
  schemas: WarehouseSchemas,
  sources?: SourceCatalog,
): Promise<string> {
  const result = await doc.send(
    new GetCommand({ TableName: tableName, Key: { objectName }, ConsistentRead: true }),
  );
  if (!result.Item) throw unknownObject(objectName, tableName);
  return [
    `Would delete the control row of ${objectName} from ${tableName} (${describeRow(result.Item)}).`,
    `Runs stop loading ${objectName}. ${keptTablesNote(result.Item, schemas, sources)}`,
    `Nothing was changed: repeat with --yes to delete the row, or use "disable ${objectName}" to pause it instead.`,
  ].join('\n');
}

export async function removeObject(
  doc: DynamoDBDocumentClient,
  tableName: string,
  objectName: string,
  schemas: WarehouseSchemas,
  sources?: SourceCatalog,
): Promise<string> {
  try {
    const result = await doc.send(
      new DeleteCommand({
        TableName: tableName,
        Key: { objectName },
        ConditionExpression: 'attribute_exists(objectName)',
        ReturnValues: 'ALL_OLD',
      }),
    );
    const row = result.Attributes ?? { objectName };
    return [
      `Deleted the control row of ${objectName} (${describeRow(row)}).`,
      keptTablesNote(row, schemas, sources),
    ].join('\n');
  } catch (error) {
    if (awsErrorName(error) === 'ConditionalCheckFailedException') throw unknownObject(objectName, tableName);
    throw error;
  }
}

/**
 * How far behind the object is now; OVERDUE past twice its cadence (in whole ticks) plus its flow
 * timeout: the rule LoadObjects gives ReportRun, which the ObjectsOverdue alarm watches.
 */
function lagCell(row: ObjectConfig, completeThrough: string | undefined, clock: FreshnessClock): string {
  if (!row.enabled) return '';
  if (!completeThrough) return 'never loaded';
  const lag = lagMinutes(completeThrough, clock.now);
  const limit = overdueAfterMinutes({
    syncEveryMinutes: row.syncEveryMinutes,
    tickMinutes: clock.tickMinutes,
    flowTimeoutMinutes: row.flowTimeoutMinutes ?? clock.flowTimeoutMinutes,
  });
  return lag > limit ? `${formatLag(lag)} OVERDUE` : formatLag(lag);
}

function truncate(text: string, width: number): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length <= width ? oneLine : `${oneLine.slice(0, width - 1)}…`;
}

function text(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : '';
}

/** A cadence as an operator reads it: `15m`, `1h`, `1d`, `90m`. */
export function formatMinutes(minutes: number): string {
  if (minutes % 1440 === 0) return `${minutes / 1440}d`;
  if (minutes % 60 === 0) return `${minutes / 60}h`;
  return `${minutes}m`;
}

/** A lag as an operator reads it: `35m`, `5h12m`, `3d4h`. */
export function formatLag(minutes: number): string {
  const whole = Math.floor(minutes);
  if (whole < 60) return `${whole}m`;
  if (whole < 1440) return `${Math.floor(whole / 60)}h${String(whole % 60).padStart(2, '0')}m`;
  return `${Math.floor(whole / 1440)}d${Math.floor((whole % 1440) / 60)}h`;
}

/**
 * What `list` measures lag with: the time now, the environment's tick interval and flow timeout
 * (rows may set their own flow timeout).
 */
export interface FreshnessClock extends FreshnessSettings {
  now: Date;
}

export interface ObjectListing {
  table: string;
  /** Full validation errors of bad rows: too long for a table cell, and exactly what must be fixed. */
  invalidRows: string[];
  count: number;
}

/** Every row, valid or not, as the pipeline sees it (same parser, same defaults), one table per source. */
export async function listObjects(
  doc: DynamoDBDocumentClient,
  tableName: string,
  sources: SourceCatalog | undefined,
  clock: FreshnessClock,
): Promise<ObjectListing> {
  const items = await scanControlTable(doc, tableName);
  items.sort((a, b) => text(a.objectName).localeCompare(text(b.objectName)));
  const invalidRows: string[] = [];
  const catalog = sourceCatalogFor(items, sources);
  const parsedRows = parseControlRows(items, catalog);
  const groups = new Map<string, string[][]>();
  items.forEach((item, index) => {
    const lastRun = (typeof item.lastRun === 'object' && item.lastRun !== null ? item.lastRun : {}) as Record<
      string,
      unknown
    >;
    const parsed = parsedRows[index];
    const runCells = [text(lastRun.status), text(lastRun.recordsExtracted)];
    const sourceName = parsed.ok
      ? (parsed.object.sourceName ?? DEFAULT_SOURCE_NAME)
      : typeof item.sourceName === 'string'
        ? item.sourceName
        : DEFAULT_SOURCE_NAME;
    const rows = groups.get(sourceName) ?? [];
    groups.set(sourceName, rows);
    if (!parsed.ok) {
      invalidRows.push(parsed.error);
      rows.push([
        parsed.objectName,
        text(item.syncMode),
        text(item.deleteMode),
        'INVALID',
        text(item.syncEveryMinutes),
        text(item.completeThrough ?? item.watermark),
        '',
        ...runCells,
        // The cell leaves out the row name the line already shows; the full text follows the table.
        truncate(parsed.error.replace(/^Invalid control row "[^"]*": /, ''), ERROR_COLUMN_WIDTH),
      ]);
      return;
    }
    const row = parsed.object;
    const completeThrough = completeThroughOf(row);
    rows.push([
      row.entityName && row.entityName !== row.objectName
        ? `${row.objectName} (${row.entityName})`
        : row.objectName,
      row.resetRequested ? `${row.syncMode} (reset)` : row.syncMode,
      row.deleteMode,
      row.enabled ? 'yes' : 'no',
      formatMinutes(row.syncEveryMinutes),
      completeThrough ?? '',
      lagCell(row, completeThrough, clock),
      ...runCells,
      truncate(text(lastRun.error), ERROR_COLUMN_WIDTH),
    ]);
  });
  const sections = [...groups.keys()]
    // The default source first, the others by name.
    .sort((a, b) => (a === DEFAULT_SOURCE_NAME ? -1 : b === DEFAULT_SOURCE_NAME ? 1 : a.localeCompare(b)))
    .map((sourceName) => {
      const source = Object.hasOwn(catalog, sourceName) ? catalog[sourceName] : undefined;
      const rows = groups.get(sourceName) ?? [];
      const count = `${rows.length} object${rows.length === 1 ? '' : 's'}`;
      const connector = !source
        ? 'not configured'
        : !sources && sourceName !== DEFAULT_SOURCE_NAME
          ? 'not checked without --env'
          : [source.connectorType, source.connectorLabel].filter(Boolean).join(' ');
      const schemas = source ? `; ${source.stagingSchema} -> ${source.finalSchema}` : '';
      const heading = `source ${sourceName} (${connector}${schemas}): ${count}`;
      const table = renderTable(
        [
          'object',
          'mode',
          'delete',
          'enabled',
          'every',
          'complete through',
          'lag',
          'last run',
          'records',
          'error',
        ],
        rows,
      );
      return `${heading}\n${table}`;
    });
  return { table: sections.join('\n\n'), invalidRows, count: items.length };
}
