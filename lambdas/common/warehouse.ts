import {
  BatchExecuteStatementCommand,
  DescribeStatementCommand,
  type DescribeStatementCommandOutput,
  ExecuteStatementCommand,
  type Field,
  GetStatementResultCommand,
  type RedshiftDataClient,
  type SqlParameter,
} from '@aws-sdk/client-redshift-data';
import { optionalEnv, requireEnv } from './environment';
import { classifyAwsError, StatementFailedError, ThrottledError } from './errors';

/** Where statements run: a serverless workgroup or a provisioned cluster, authenticated by one secret. */
export interface WarehouseTarget {
  database: string;
  /** Secrets Manager secret name or ARN (the Data API takes either). */
  secretId: string;
  workgroupName?: string;
  clusterIdentifier?: string;
}

export interface WarehouseLayout {
  stagingSchema: string;
  finalSchema: string;
}

export function warehouseTargetFromEnv(): WarehouseTarget {
  const workgroupName = optionalEnv('REDSHIFT_WORKGROUP_NAME');
  const clusterIdentifier = optionalEnv('REDSHIFT_CLUSTER_IDENTIFIER');
  if (!workgroupName && !clusterIdentifier) {
    throw new Error('Set REDSHIFT_WORKGROUP_NAME or REDSHIFT_CLUSTER_IDENTIFIER');
  }
  return {
    database: requireEnv('REDSHIFT_DATABASE'),
    secretId: requireEnv('REDSHIFT_SECRET_ID'),
    ...(workgroupName ? { workgroupName } : { clusterIdentifier }),
  };
}

export function warehouseLayoutFromEnv(): WarehouseLayout {
  return { stagingSchema: requireEnv('STAGING_SCHEMA'), finalSchema: requireEnv('FINAL_SCHEMA') };
}

function targetParams(target: WarehouseTarget) {
  return {
    Database: target.database,
    SecretArn: target.secretId,
    ...(target.workgroupName
      ? { WorkgroupName: target.workgroupName }
      : { ClusterIdentifier: target.clusterIdentifier }),
  };
}

export type Row = Record<string, string | number | boolean | null>;

export interface StatementState {
  id: string;
  status: 'RUNNING' | 'FINISHED';
  hasResultSet: boolean;
}

/** Submits one statement; values travel as Data API parameters, never spliced into SQL. */
export async function submitStatement(
  client: RedshiftDataClient,
  target: WarehouseTarget,
  sql: string,
  parameters: Record<string, string> = {},
  statementName?: string,
): Promise<string> {
  const Parameters: SqlParameter[] = Object.entries(parameters).map(([name, value]) => ({ name, value }));
  try {
    const out = await client.send(
      new ExecuteStatementCommand({
        ...targetParams(target),
        Sql: sql,
        ...(Parameters.length > 0 ? { Parameters } : {}),
        ...(statementName ? { StatementName: statementName } : {}),
      }),
    );
    return out.Id as string;
  } catch (error) {
    throw classifyAwsError(error, 'Redshift Data API ExecuteStatement');
  }
}

export async function submitBatch(
  client: RedshiftDataClient,
  target: WarehouseTarget,
  sqls: string[],
  statementName?: string,
): Promise<string> {
  try {
    const out = await client.send(
      new BatchExecuteStatementCommand({
        ...targetParams(target),
        Sqls: sqls,
        ...(statementName ? { StatementName: statementName } : {}),
      }),
    );
    return out.Id as string;
  } catch (error) {
    throw classifyAwsError(error, 'Redshift Data API BatchExecuteStatement');
  }
}

/** FINISHED or still running; FAILED and ABORTED throw with the warehouse's own error text. */
export async function checkStatement(
  client: RedshiftDataClient,
  id: string,
  what: string,
): Promise<StatementState & { raw: DescribeStatementCommandOutput }> {
  let raw: DescribeStatementCommandOutput;
  try {
    raw = await client.send(new DescribeStatementCommand({ Id: id }));
  } catch (error) {
    throw classifyAwsError(error, `Redshift Data API DescribeStatement (${what})`);
  }
  switch (raw.Status) {
    case 'FINISHED':
      return { id, status: 'FINISHED', hasResultSet: raw.HasResultSet ?? false, raw };
    case 'FAILED':
      throw new StatementFailedError(`${what} failed in Redshift: ${raw.Error ?? 'no error text'}`);
    case 'ABORTED':
      throw new StatementFailedError(`${what} was aborted in Redshift (statement ${id})`);
    default:
      return { id, status: 'RUNNING', hasResultSet: false, raw };
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls inside the Lambda for a short while: most statements finish in seconds, and
 * answering in the same invocation saves the state machine a Wait and a poll.
 */
export async function waitForStatement(
  client: RedshiftDataClient,
  id: string,
  what: string,
  budgetMs: number,
): Promise<StatementState & { raw: DescribeStatementCommandOutput }> {
  const deadline = Date.now() + budgetMs;
  let delay = 50;
  for (;;) {
    const state = await checkStatement(client, id, what);
    if (state.status === 'FINISHED' || Date.now() + delay > deadline) return state;
    await sleep(delay);
    delay = Math.min(delay * 2, 1000);
  }
}

function fieldValue(field: Field): string | number | boolean | null {
  if (field.isNull) return null;
  if (field.stringValue !== undefined) return field.stringValue;
  if (field.longValue !== undefined) return field.longValue;
  if (field.doubleValue !== undefined) return field.doubleValue;
  if (field.booleanValue !== undefined) return field.booleanValue;
  return null;
}

export async function fetchRows(client: RedshiftDataClient, id: string): Promise<Row[]> {
  const rows: Row[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(new GetStatementResultCommand({ Id: id, NextToken: nextToken }));
    const names = (page.ColumnMetadata ?? []).map((column) => column.name ?? column.label ?? '');
    for (const record of page.Records ?? []) {
      rows.push(Object.fromEntries(record.map((field, i) => [names[i], fieldValue(field)])));
    }
    nextToken = page.NextToken;
  } while (nextToken);
  return rows;
}

/** For short statements a handler needs the answer to before it goes on (catalog reads, DDL). */
export async function query(
  client: RedshiftDataClient,
  target: WarehouseTarget,
  sql: string,
  parameters: Record<string, string> = {},
  budgetMs = 60_000,
): Promise<Row[]> {
  const id = await submitStatement(client, target, sql, parameters);
  const state = await waitForStatement(client, id, sql.split('\n')[0].slice(0, 80), budgetMs);
  finishedWithin(state, `Statement ${id}`, budgetMs);
  return state.hasResultSet ? fetchRows(client, id) : [];
}

/** A statement still running when the handler's budget is spent: retried as throttling. */
function finishedWithin(state: StatementState, what: string, budgetMs: number): void {
  if (state.status !== 'FINISHED') throw new ThrottledError(`${what} did not finish within ${budgetMs} ms`);
}

/** BatchExecuteStatement takes 1 to 40 SQL statements (Redshift Data API reference). */
export const MAX_BATCH_STATEMENTS = 40;

/** Consecutive slices of at most `size` items, in order. */
export function chunked<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

/**
 * Runs the statements in order as batches of at most 40, each waited on before the next is
 * submitted. Each batch is its own transaction, so callers pass statements that a retry can
 * plan again from the catalog (IF NOT EXISTS, columns still missing, GRANTs).
 */
export async function executeBatch(
  client: RedshiftDataClient,
  target: WarehouseTarget,
  sqls: string[],
  what: string,
  budgetMs = 60_000,
): Promise<void> {
  const chunks = chunked(sqls, MAX_BATCH_STATEMENTS);
  for (const [index, chunk] of chunks.entries()) {
    const label = chunks.length > 1 ? `${what} (batch ${index + 1} of ${chunks.length})` : what;
    const id = await submitBatch(client, target, chunk);
    finishedWithin(await waitForStatement(client, id, label, budgetMs), label, budgetMs);
  }
}

/** One statement on its own (autocommit): for DDL Redshift refuses inside a transaction block. */
export async function executeStatement(
  client: RedshiftDataClient,
  target: WarehouseTarget,
  sql: string,
  what: string,
  budgetMs = 60_000,
): Promise<void> {
  const id = await submitStatement(client, target, sql);
  finishedWithin(await waitForStatement(client, id, what, budgetMs), what, budgetMs);
}

/** Identifiers reaching SQL text were validated against the contract's patterns; quoting is the second fence. */
export function quoteIdent(identifier: string): string {
  if (!/^[a-z_][a-z0-9_]{0,126}$/.test(identifier))
    throw new Error(`Refusing SQL identifier "${identifier}"`);
  return `"${identifier}"`;
}
