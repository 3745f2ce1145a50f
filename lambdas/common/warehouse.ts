import { createHash } from 'node:crypto';
import {
  BatchExecuteStatementCommand,
  DescribeStatementCommand,
  type DescribeStatementCommandOutput,
  ExecuteStatementCommand,
  type Field,
  GetStatementResultCommand,
  type GetStatementResultCommandOutput,
  type RedshiftDataClient,
  type SqlParameter,
} from '@aws-sdk/client-redshift-data';
import { optionalEnv, requireEnv } from './environment';
import {
  classifyAwsError,
  isTransientStatementError,
  StatementFailedError,
  ThrottledError,
  WarehouseConflictError,
} from './errors';
import { sleep } from './sleep';

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

/** How a statement is sent: its name (also in its end-of-statement event), idempotency, the event. */
export interface SubmitOptions {
  /** StatementName: `<prefix>-…`, so the rule on the Data API's events can tell the pipeline's own. */
  statementName?: string;
  /** ClientToken: a resubmission with the same token returns the statement already submitted. */
  clientToken?: string;
  /** WithEvent: the Data API announces the statement's end on EventBridge (statement waits). */
  withEvent?: boolean;
  /** For errors: the object and what the statement does (`StatementRequest.what`). */
  what?: string;
}

/** The context of a submission's error: what the statement was for, when the caller said. */
function submitContext(operation: string, options: SubmitOptions): string {
  return options.what ? `${options.what}: Redshift Data API ${operation}` : `Redshift Data API ${operation}`;
}

function submitOptions(options: SubmitOptions) {
  return {
    ...(options.statementName ? { StatementName: options.statementName.slice(0, 500) } : {}),
    ...(options.clientToken ? { ClientToken: options.clientToken } : {}),
    ...(options.withEvent ? { WithEvent: true } : {}),
  };
}

/** Submits one statement; values travel as Data API parameters, never spliced into SQL. */
export async function submitStatement(
  client: RedshiftDataClient,
  target: WarehouseTarget,
  sql: string,
  parameters: Record<string, string> = {},
  options: SubmitOptions = {},
): Promise<string> {
  const Parameters: SqlParameter[] = Object.entries(parameters).map(([name, value]) => ({ name, value }));
  try {
    const out = await client.send(
      new ExecuteStatementCommand({
        ...targetParams(target),
        Sql: sql,
        ...(Parameters.length > 0 ? { Parameters } : {}),
        ...submitOptions(options),
      }),
    );
    return out.Id as string;
  } catch (error) {
    throw classifyAwsError(error, submitContext('ExecuteStatement', options));
  }
}

/** Several statements as one transaction (BatchExecuteStatement). */
export async function submitBatch(
  client: RedshiftDataClient,
  target: WarehouseTarget,
  sqls: string[],
  options: SubmitOptions = {},
): Promise<string> {
  try {
    const out = await client.send(
      new BatchExecuteStatementCommand({ ...targetParams(target), Sqls: sqls, ...submitOptions(options) }),
    );
    return out.Id as string;
  } catch (error) {
    throw classifyAwsError(error, submitContext('BatchExecuteStatement', options));
  }
}

/** What one look at a statement found: running, finished, or ended FAILED/ABORTED with Redshift's text. */
type StatementLook = { raw: DescribeStatementCommandOutput } & (
  | { status: 'RUNNING' }
  | { status: 'FINISHED'; hasResultSet: boolean }
  | { status: 'FAILED'; error: string }
  | { status: 'ABORTED'; error: string }
);

async function describeStatement(
  client: RedshiftDataClient,
  id: string,
  what: string,
): Promise<StatementLook> {
  let raw: DescribeStatementCommandOutput;
  try {
    raw = await client.send(new DescribeStatementCommand({ Id: id }));
  } catch (error) {
    throw classifyAwsError(error, `Redshift Data API DescribeStatement (${what})`);
  }
  switch (raw.Status) {
    case 'FINISHED':
      return { status: 'FINISHED', hasResultSet: raw.HasResultSet ?? false, raw };
    case 'FAILED':
      return { status: 'FAILED', error: raw.Error ?? 'no error text', raw };
    case 'ABORTED':
      return { status: 'ABORTED', error: `aborted in Redshift (statement ${id})`, raw };
    default:
      return { status: 'RUNNING', raw };
  }
}

function endedError(what: string, look: { status: 'FAILED' | 'ABORTED'; error: string }): Error {
  const message = `${what} failed in Redshift: ${look.error}`;
  return look.status === 'FAILED' && isTransientStatementError(look.error)
    ? new WarehouseConflictError(message)
    : new StatementFailedError(message);
}

/** FINISHED or still running; FAILED and ABORTED throw with the warehouse's own error text. */
export async function checkStatement(
  client: RedshiftDataClient,
  id: string,
  what: string,
): Promise<StatementState & { raw: DescribeStatementCommandOutput }> {
  const look = await describeStatement(client, id, what);
  if (look.status === 'FAILED' || look.status === 'ABORTED') throw endedError(what, look);
  return {
    id,
    status: look.status,
    hasResultSet: look.status === 'FINISHED' && look.hasResultSet,
    raw: look.raw,
  };
}

/**
 * What an invocation may still spend waiting: Lambda's remaining time less what it needs after
 * its last wait (its other calls, returning the state). Time is a dependency: the local run
 * plays it in simulated seconds, and a function that overruns its timeout dies there as here.
 */
export interface TimeBudget {
  remainingMs(): number;
}

/**
 * Waiting in a Lambda costs its duration; handing a wait to the state machine costs three
 * transitions and three invocations (the await function that parks the token, the statement-ended
 * event's function, the step again), about what 20 s of a 256 MB function cost. So a step waits at
 * most this long per invocation, and never into the time it keeps for after its last wait.
 */
export const IN_FUNCTION_WAIT_MS = 20_000;

export function budgetOf(
  context: { getRemainingTimeInMillis(): number },
  reserveMs: number,
  capMs = IN_FUNCTION_WAIT_MS,
): TimeBudget {
  const atStart = context.getRemainingTimeInMillis();
  return {
    remainingMs: () => {
      const remaining = context.getRemainingTimeInMillis();
      return Math.min(remaining - reserveMs, capMs - (atStart - remaining));
    },
  };
}

/** A fixed budget in wall-clock time, for tools that are not Lambda functions (the operators' CLI). */
export function wallClockBudget(ms: number): TimeBudget {
  const deadline = Date.now() + ms;
  return { remainingMs: () => deadline - Date.now() };
}

/**
 * Looks at a statement until it ends or the budget is spent: most statements finish in
 * seconds, and answering in the same invocation saves the state machine a wait.
 */
async function lookUntilEnded(
  client: RedshiftDataClient,
  id: string,
  what: string,
  budget: TimeBudget,
): Promise<StatementLook> {
  let delay = 50;
  for (;;) {
    const look = await describeStatement(client, id, what);
    if (look.status !== 'RUNNING' || budget.remainingMs() < delay) return look;
    await sleep(delay);
    delay = Math.min(delay * 2, 2000);
  }
}

/**
 * A statement a step sends and may have to wait for across invocations; the state keeps it, so
 * the next invocation picks the same statement up instead of submitting it again.
 */
export interface StatementSlot {
  id: string;
  /** Times the statement was submitted: a transient failure submits it again (a new ClientToken). */
  attempt: number;
  status: 'RUNNING' | 'FINISHED';
}

/** A statement of a step: what it is for, how it is sent, what makes it the same statement again. */
export interface StatementRequest {
  /** For errors and logs: the object and what the statement does. */
  what: string;
  /** StatementName, starting with the pipeline's prefix (its end event is routed by it). */
  name: string;
  /** Run, object and step: with the attempt, the ClientToken, so a retried step never submits twice. */
  idempotencyKey: string;
  /** One statement (ExecuteStatement), or several run as one transaction (BatchExecuteStatement). */
  sql: string | string[];
  parameters?: Record<string, string>;
}

/**
 * Submissions of one statement at most, the first included: a statement that lost its race with a
 * concurrent transaction this often fails its step with `WarehouseConflict`.
 */
export const MAX_STATEMENT_ATTEMPTS = 6;

/**
 * ClientToken (1 to 64 characters). The first submission's is the request's own (its key, SQL and
 * parameters): a retried step gets the statement it submitted before. Each resubmission's also names
 * the failed statement it replaces, so a retried step walks the same chain of statements (each
 * submission answered with the statement already there) and never runs one twice.
 */
export function clientTokenFor(request: StatementRequest, attempt: number, replaces?: string): string {
  return createHash('sha256')
    .update(
      JSON.stringify([
        request.idempotencyKey,
        request.sql,
        request.parameters ?? {},
        attempt,
        replaces ?? '',
      ]),
    )
    .digest('hex')
    .slice(0, 64);
}

export interface StatementRunner {
  client: RedshiftDataClient;
  target: WarehouseTarget;
}

async function submitRequest(
  runner: StatementRunner,
  request: StatementRequest,
  attempt: number,
  replaces?: string,
): Promise<StatementSlot> {
  const options: SubmitOptions = {
    statementName: request.name,
    clientToken: clientTokenFor(request, attempt, replaces),
    withEvent: true,
    what: request.what,
  };
  const id = Array.isArray(request.sql)
    ? await submitBatch(runner.client, runner.target, request.sql, options)
    : await submitStatement(runner.client, runner.target, request.sql, request.parameters, options);
  return { id, attempt, status: 'RUNNING' };
}

/**
 * Runs one statement of a step as far as the budget allows: submits it (or picks up the one the
 * state remembers), waits while the budget lasts, and resubmits after a transient conflict (with a
 * jittered backoff while the budget allows it), at most MAX_STATEMENT_ATTEMPTS times. Returns the
 * slot FINISHED, or RUNNING for the state machine to wait on (the statement's end event); a real
 * failure throws StatementFailed with Redshift's error text.
 */
export async function runStatement(
  runner: StatementRunner,
  request: StatementRequest,
  slot: StatementSlot | undefined,
  budget: TimeBudget,
): Promise<StatementSlot> {
  if (slot?.status === 'FINISHED') return slot;
  let current = slot ?? (await submitRequest(runner, request, 1));
  for (;;) {
    const look = await lookUntilEnded(runner.client, current.id, request.what, budget);
    if (look.status === 'FINISHED') return { ...current, status: 'FINISHED' };
    if (look.status === 'RUNNING') return current;
    const error: Error = endedError(request.what, look);
    if (!(error instanceof WarehouseConflictError)) throw error;
    if (current.attempt >= MAX_STATEMENT_ATTEMPTS) {
      throw new WarehouseConflictError(`${error.message} (after ${current.attempt} attempts)`);
    }
    const backoff = Math.random() * 500 * 2 ** current.attempt;
    if (budget.remainingMs() > backoff) await sleep(backoff);
    current = await submitRequest(runner, request, current.attempt + 1, current.id);
  }
}

/** How far a step's statements got: how many finished, and the one in flight. */
export interface SequenceProgress {
  done: number;
  current?: StatementSlot;
}

/**
 * Runs statements in order from where the progress says, each finished before the next is sent,
 * as far as the budget allows. The list must be the same on every invocation of the step, so that
 * `done` counts the same statements (StartExtract keeps a digest of it: PrepareState.planned).
 */
export async function runSequence(
  runner: StatementRunner,
  requests: StatementRequest[],
  progress: SequenceProgress | undefined,
  budget: TimeBudget,
): Promise<SequenceProgress> {
  let { done, current } = progress ?? { done: 0 };
  while (done < requests.length) {
    const slot = await runStatement(runner, requests[done], current, budget);
    if (slot.status !== 'FINISHED') return { done, current: slot };
    done += 1;
    current = undefined;
  }
  return { done };
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
    let page: GetStatementResultCommandOutput;
    try {
      page = await client.send(new GetStatementResultCommand({ Id: id, NextToken: nextToken }));
    } catch (error) {
      throw classifyAwsError(error, `Redshift Data API GetStatementResult (statement ${id})`);
    }
    const names = (page.ColumnMetadata ?? []).map((column) => column.name ?? column.label ?? '');
    for (const record of page.Records ?? []) {
      rows.push(Object.fromEntries(record.map((field, i) => [names[i], fieldValue(field)])));
    }
    nextToken = page.NextToken;
  } while (nextToken);
  return rows;
}

/**
 * A short statement a tool needs the answer to before it goes on, waited on within the budget
 * (the operators' CLI; pipeline steps use runStatement, which can hand the wait over).
 */
export async function query(
  client: RedshiftDataClient,
  target: WarehouseTarget,
  sql: string,
  parameters: Record<string, string> = {},
  budget: TimeBudget | number = 60_000,
): Promise<Row[]> {
  const what = sql.split('\n')[0].slice(0, 80);
  const id = await submitStatement(client, target, sql, parameters, { what });
  const look = await lookUntilEnded(
    client,
    id,
    what,
    typeof budget === 'number' ? wallClockBudget(budget) : budget,
  );
  if (look.status === 'FAILED' || look.status === 'ABORTED') throw endedError(what, look);
  if (look.status === 'RUNNING') throw new ThrottledError(`Statement ${id} did not finish in time: ${what}`);
  return look.hasResultSet ? fetchRows(client, id) : [];
}

/** BatchExecuteStatement takes 1 to 40 SQL statements (Redshift Data API reference). */
export const MAX_BATCH_STATEMENTS = 40;

/** Consecutive slices of at most `size` items, in order. */
export function chunked<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

/** Identifiers reaching SQL text were validated against the contract's patterns; quoting is the second fence. */
export function quoteIdent(identifier: string): string {
  if (!/^[a-z_][a-z0-9_]{0,126}$/.test(identifier))
    throw new Error(`Refusing SQL identifier "${identifier}"`);
  return `"${identifier}"`;
}
