import type { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type ObjectConfig, parseControlRows } from '../../lambdas/common/control-row';
import { scanControlTable } from '../../lambdas/common/control-table';
import {
  openSalesforceSession,
  parseSalesforceCredentials,
  SALESFORCE_QUERY_PATH,
  SalesforceRequestError,
  type SalesforceRequestOptions,
  type SalesforceSession,
  salesforceGet,
} from '../../lambdas/common/source-limits';
import type { SourceCatalog } from '../../lambdas/common/sources';
import { renderTable } from '../../lambdas/common/text-table';
import { query, quoteIdent, type WarehouseTarget } from '../../lambdas/common/warehouse';
import { sourceCatalogFor } from './control-rows';
import { OperationError, UsageError } from './errors';

export const DEFAULT_VERIFY_DAYS = 30;
/** A SOQL aggregate query returns at most 2,000 groups (one per day here) and has no queryMore. */
export const MAX_VERIFY_DAYS = 2000;
/** The Data API answers these counts in seconds; a minute covers a busy cluster. */
const WAREHOUSE_BUDGET_MS = 60_000;

export interface VerifyRequest {
  /** One object, or every valid row of the control table when absent (`--all`). */
  objectName?: string;
  days: number;
  /** The last day counted (UTC, YYYY-MM-DD). @default today */
  asOf: string;
}

/** Where verify and history read: the control table, the warehouse through the Data API. */
export interface WarehouseReadTarget {
  controlTable: DynamoDBDocumentClient;
  controlTableName: string;
  redshift: RedshiftDataClient;
  warehouse: WarehouseTarget;
  /** Final schema of rows whose source is not known (the default source's). */
  finalSchema: string;
  /** The environment's sources: rows are read against them, each in its source's final schema. */
  sources?: SourceCatalog;
}

/** Where verify reads: the control table, the warehouse through the Data API, Salesforce through REST. */
export interface VerifyTarget extends WarehouseReadTarget {
  secrets: SecretsManagerClient;
  /** The environment's `source.apiLimitsSecretName`: the quota guard's Salesforce credentials. */
  limitsSecretId: string;
  fetchImpl?: typeof fetch;
}

export interface DayCounts {
  day: string;
  source: number;
  warehouse: number;
}

export interface ObjectVerification {
  objectName: string;
  /** `schema.table` in the warehouse. */
  table: string;
  /** `failed`: a query was refused (e.g. the cursor is not a dateTime field); exit code 1 like a difference. */
  outcome: 'equal' | 'different' | 'skipped' | 'failed';
  /** Why it was skipped, or what to keep in mind reading the figures. */
  notes: string[];
  cursorField?: string;
  sourceTotal?: number;
  warehouseTotal?: number;
  /** Days (UTC) of the cursor field on which the counts differ, oldest first. */
  differingDays: DayCounts[];
}

const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/** `--days` and `--as-of`, checked before any AWS call. */
export function parseVerifyWindow(
  flags: { days?: string; 'as-of'?: string },
  today: Date,
): Omit<VerifyRequest, 'objectName'> {
  const days = flags.days === undefined ? DEFAULT_VERIFY_DAYS : Number(flags.days);
  if (!Number.isInteger(days) || days < 1 || days > MAX_VERIFY_DAYS) {
    throw new UsageError(
      `--days ${JSON.stringify(flags.days)}: must be a whole number of days from 1 to ${MAX_VERIFY_DAYS}`,
      'verify',
    );
  }
  const asOf = flags['as-of'] ?? today.toISOString().slice(0, 10);
  if (!DAY_PATTERN.test(asOf) || Number.isNaN(Date.parse(`${asOf}T00:00:00Z`))) {
    throw new UsageError(`--as-of ${JSON.stringify(asOf)}: must be a date as YYYY-MM-DD`, 'verify');
  }
  return { days, asOf };
}

/** Every day of the window, oldest first: `days` days ending with `asOf`. */
export function windowDays(asOf: string, days: number): string[] {
  const end = Date.parse(`${asOf}T00:00:00Z`);
  return Array.from({ length: days }, (_, i) =>
    new Date(end - (days - 1 - i) * 86_400_000).toISOString().slice(0, 10),
  );
}

/** SOQL dateTime literals are unquoted ISO 8601 in UTC, to the second. */
function soqlDateTime(iso: string): string {
  return `${new Date(iso).toISOString().slice(0, 19)}Z`;
}

/** The object's source's final schema (issue 14), or the target's for rows parsed without sources. */
function finalSchemaOf(target: VerifyTarget, object: ObjectConfig): string {
  return object.finalSchema ?? target.finalSchema;
}

/** The control table's rows, parsed; with a name, only that object's row (its exact name first, then any case). */
export async function selectObjects(target: WarehouseReadTarget, objectName: string | undefined) {
  const items = await scanControlTable(target.controlTable, target.controlTableName);
  const rows = parseControlRows(items, sourceCatalogFor(items, target.sources));
  if (objectName === undefined) return rows;
  const row =
    rows.find(
      (candidate) => (candidate.ok ? candidate.object.objectName : candidate.objectName) === objectName,
    ) ??
    rows.find(
      (candidate) =>
        (candidate.ok ? candidate.object.objectName : candidate.objectName).toLowerCase() ===
        objectName.toLowerCase(),
    );
  if (!row) {
    throw new OperationError(
      `${objectName} is not in control table ${target.controlTableName} (objects: ${
        rows
          .map((candidate) => (candidate.ok ? candidate.object.objectName : candidate.objectName))
          .join(', ') || 'none'
      })`,
    );
  }
  return [row];
}

/**
 * Compares the source with the warehouse for live records: the total, and the count per UTC day
 * of the cursor field over the window. Salesforce answers through its REST query resource with
 * the quota guard's credentials; the warehouse through the Data API.
 */
export async function verifyObjects(
  target: VerifyTarget,
  request: VerifyRequest,
): Promise<ObjectVerification[]> {
  const selected = await selectObjects(target, request.objectName);
  const results: ObjectVerification[] = [];
  let session: SalesforceSession | undefined;
  const salesforce: SalesforceRequestOptions = {
    secretId: target.limitsSecretId,
    ...(target.fetchImpl ? { fetchImpl: target.fetchImpl } : {}),
  };
  for (const row of selected) {
    if (!row.ok) {
      results.push({
        objectName: row.objectName,
        table: '',
        outcome: 'skipped',
        notes: [row.error],
        differingDays: [],
      });
      continue;
    }
    const object = row.object;
    const table = `${finalSchemaOf(target, object)}.${object.targetTable}`;
    if (object.connectorType !== 'Salesforce') {
      results.push({
        objectName: object.objectName,
        table,
        outcome: 'skipped',
        notes: [
          `${object.connectorType}${object.connectorLabel ? ` (${object.connectorLabel})` : ''} source: verify counts ` +
            "through Salesforce's REST API only; counting a custom connector's records would take a full-load flow, which verify does not run",
        ],
        differingDays: [],
      });
      continue;
    }
    if (!object.enabled && request.objectName === undefined) {
      results.push({
        objectName: object.objectName,
        table,
        outcome: 'skipped',
        notes: ['disabled'],
        differingDays: [],
      });
      continue;
    }
    session ??= await openSession(target, salesforce);
    try {
      results.push(await verifyObject(target, object, request, session, salesforce));
    } catch (error) {
      // One object's refused query must not hide the others' answers; credentials problems stop all.
      if (!(error instanceof SalesforceRequestError) && (error as Error).name !== 'StatementFailed')
        throw error;
      results.push({
        objectName: object.objectName,
        table,
        outcome: 'failed',
        notes: [(error as Error).message],
        differingDays: [],
      });
    }
  }
  return results;
}

async function openSession(
  target: VerifyTarget,
  options: SalesforceRequestOptions,
): Promise<SalesforceSession> {
  const secret = await target.secrets.send(new GetSecretValueCommand({ SecretId: target.limitsSecretId }));
  return openSalesforceSession(parseSalesforceCredentials(secret.SecretString ?? '', options), options);
}

async function soql(session: SalesforceSession, options: SalesforceRequestOptions, text: string) {
  const body = (await salesforceGet(
    session,
    `${SALESFORCE_QUERY_PATH}?q=${encodeURIComponent(text)}`,
    options,
  )) as {
    totalSize?: number;
    records?: Record<string, unknown>[];
  };
  return { totalSize: Number(body.totalSize ?? 0), records: body.records ?? [] };
}

async function verifyObject(
  target: VerifyTarget,
  object: ObjectConfig,
  request: VerifyRequest,
  session: SalesforceSession,
  salesforce: SalesforceRequestOptions,
): Promise<ObjectVerification> {
  const days = windowDays(request.asOf, request.days);
  const since = `${days[0]}T00:00:00.000Z`;
  const until = new Date(Date.parse(`${request.asOf}T00:00:00Z`) + 86_400_000).toISOString();
  const table = `${finalSchemaOf(target, object)}.${object.targetTable}`;
  const result: ObjectVerification = {
    objectName: object.objectName,
    table,
    outcome: 'equal',
    notes: [],
    cursorField: object.cursorField,
    differingDays: [],
  };

  // Source: live records (the query resource leaves deleted ones out; IsDeleted = false says so).
  const name = object.objectName;
  const cursor = object.cursorField;
  result.sourceTotal = (await soql(session, salesforce, `SELECT COUNT() FROM ${name}`)).totalSize;
  const sourceDays = new Map<string, number>();
  // An explicit UTC bound rather than LAST_N_DAYS:n: date literals follow the running user's time
  // zone and Salesforce's today, while DAY_ONLY() without convertTimezone() groups by UTC day,
  // as the warehouse does; the bound also lets --as-of look at a past window.
  const grouped = await soql(
    session,
    salesforce,
    `SELECT DAY_ONLY(${cursor}) d, COUNT(Id) c FROM ${name} WHERE IsDeleted = false AND ${cursor} >= ${soqlDateTime(since)} GROUP BY DAY_ONLY(${cursor})`,
  );
  for (const record of grouped.records) sourceDays.set(String(record.d), Number(record.c));
  if (object.watermark) {
    const changed = (
      await soql(
        session,
        salesforce,
        `SELECT COUNT() FROM ${name} WHERE ${cursor} > ${soqlDateTime(object.watermark)}`,
      )
    ).totalSize;
    if (changed > 0) {
      result.notes.push(
        `${changed} record(s) changed in the source after the last sync (watermark ${object.watermark}): ` +
          'they differ until the next run loads them',
      );
    }
  } else {
    result.notes.push('never synced (no watermark)');
  }

  // Warehouse: the final table named by the control row, live rows only.
  const columns = await query(
    target.redshift,
    target.warehouse,
    'SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = :schema AND table_name = :table_name',
    { schema: finalSchemaOf(target, object), table_name: object.targetTable },
    WAREHOUSE_BUDGET_MS,
  );
  const typeOf = new Map(columns.map((column) => [String(column.column_name), String(column.data_type)]));
  const cursorColumn = cursor.toLowerCase();
  if (typeOf.size === 0 || !typeOf.has(cursorColumn)) {
    result.outcome = 'different';
    result.warehouseTotal = 0;
    result.notes.push(
      typeOf.size === 0 ? `table ${table} does not exist` : `table ${table} has no column ${cursorColumn}`,
    );
    result.differingDays = days
      .filter((day) => (sourceDays.get(day) ?? 0) > 0)
      .map((day) => ({ day, source: sourceDays.get(day) ?? 0, warehouse: 0 }));
    return result;
  }
  const live = liveCondition(object, typeOf);
  if (object.deleteMode === 'ignore') {
    result.notes.push(
      'deleteMode ignore keeps records deleted in the source: they count as extra warehouse rows',
    );
  }
  const from = `${quoteIdent(finalSchemaOf(target, object))}.${quoteIdent(object.targetTable)}`;
  const [total] = await query(
    target.redshift,
    target.warehouse,
    `SELECT COUNT(*) AS c FROM ${from} WHERE ${live}`,
    {},
    WAREHOUSE_BUDGET_MS,
  );
  result.warehouseTotal = Number(total?.c ?? 0);
  const column = quoteIdent(cursorColumn);
  const warehouseDays = new Map<string, number>();
  const perDay = await query(
    target.redshift,
    target.warehouse,
    `SELECT TO_CHAR(CAST(${column} AS DATE), 'YYYY-MM-DD') AS d, COUNT(*) AS c FROM ${from} ` +
      `WHERE ${column} >= CAST(:since AS TIMESTAMP) AND ${column} < CAST(:until AS TIMESTAMP) AND ${live} GROUP BY 1`,
    { since: since.slice(0, 19).replace('T', ' '), until: until.slice(0, 19).replace('T', ' ') },
    WAREHOUSE_BUDGET_MS,
  );
  for (const row of perDay) warehouseDays.set(String(row.d), Number(row.c));

  result.differingDays = days
    .map((day) => ({ day, source: sourceDays.get(day) ?? 0, warehouse: warehouseDays.get(day) ?? 0 }))
    .filter((counts) => counts.source !== counts.warehouse);
  if (result.sourceTotal !== result.warehouseTotal || result.differingDays.length > 0)
    result.outcome = 'different';
  return result;
}

/** Rows that are live records: soft-deleted ones are flagged in `isdeleted` (boolean or text). */
function liveCondition(object: ObjectConfig, typeOf: Map<string, string>): string {
  const flag = typeOf.get('isdeleted');
  if (object.deleteMode !== 'soft' || flag === undefined) return '1 = 1';
  return flag === 'boolean'
    ? '("isdeleted" IS NULL OR "isdeleted" = false)'
    : `("isdeleted" IS NULL OR LOWER("isdeleted") NOT IN ('true', 't', '1'))`;
}

/** What an operator reads: one line per object, then every day that differs. */
export function renderVerification(results: ObjectVerification[], request: VerifyRequest): string {
  const window = windowDays(request.asOf, request.days);
  const lines = [
    `Live records, source (Salesforce REST API) vs warehouse; days are UTC days of each object's cursor field, ${window[0]} to ${request.asOf}.`,
    '',
    renderTable(
      ['object', 'table', 'source', 'warehouse', 'days differing', 'result'],
      results.map((result) => [
        result.objectName,
        result.table,
        result.sourceTotal,
        result.warehouseTotal,
        result.outcome === 'skipped' || result.outcome === 'failed' ? '' : result.differingDays.length,
        { equal: 'equal', different: 'DIFFERENT', skipped: 'skipped', failed: 'FAILED' }[result.outcome],
      ]),
    ),
  ];
  const differing = results.flatMap((result) =>
    result.differingDays.map((counts) => [
      result.objectName,
      counts.day,
      result.cursorField,
      counts.source,
      counts.warehouse,
      counts.warehouse - counts.source > 0
        ? `+${counts.warehouse - counts.source}`
        : String(counts.warehouse - counts.source),
    ]),
  );
  if (differing.length > 0) {
    lines.push(
      '',
      'Days that differ:',
      renderTable(['object', 'day', 'cursor', 'source', 'warehouse', 'warehouse - source'], differing),
    );
  }
  const notes = results.flatMap((result) => result.notes.map((note) => `  ${result.objectName}: ${note}`));
  if (notes.length > 0) lines.push('', 'Notes:', ...notes);
  return lines.join('\n');
}
