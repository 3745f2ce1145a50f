import { randomUUID } from 'node:crypto';
import type { PGlite, Results } from '@electric-sql/pglite';
import { splitSqlStatements } from '../../lambdas/common/sql-statements';
import { toPostgresStatements } from '../warehouse/redshift-dialect';
import { type FaultInjector, injectedServiceError } from './fault-injector';
import {
  awsJson,
  epochSeconds,
  errorMessage,
  HttpStandInServer,
  isJsonObject,
  type JsonObject,
  optionalArray,
  optionalString,
  requiredString,
  ServiceError,
  type ServiceRequest,
  type ServiceResponse,
  type StandInChecksOptions,
  validationError,
} from './http-service';
import { callerSimulatedNow } from './simulated-clock';
import {
  MissingSqlParameterError,
  type SqlParameter,
  substituteNamedParameters,
  usedParameterNames,
  validateSqlParameters,
} from './sql-parameters';

/**
 * Simulated time for statements (issue 19): a statement takes `statementSeconds()` of the caller's
 * simulated time before the Data API says it ended, however fast PGlite ran it. The caller's time
 * is the `x-local-simulated-now` header the local run's function clients send (epoch ms); a caller
 * without one (a tool, a test) is at `now()`.
 */
export interface StatementTime {
  /** Simulated seconds the statement (its SQL as sent) takes. */
  statementSeconds(sql: string): number;
  now(): number;
}

export { SIMULATED_NOW_HEADER } from './simulated-clock';

/** The Data API's end-of-statement event (EventBridge detail), for statements sent WithEvent. */
export interface StatementEndedDetail {
  principal: string;
  statementName?: string;
  statementId: string;
  redshiftQueryId: number;
  state: 'FINISHED' | 'FAILED' | 'ABORTED';
  rows: number;
  expireAt: number;
}

export interface RedshiftDataStandInOptions extends StandInChecksOptions {
  db: PGlite;
  faults: FaultInjector;
  /** Statements take simulated time. @default none: a statement's status is PGlite's, as it runs */
  time?: StatementTime;
  /** Source object names, to narrow faults to the statements that mention one of them. */
  objectNames?: () => string[];
  /** Rows per GetStatementResult page, so callers must follow NextToken. @default 1000 */
  resultPageRows?: number;
}

export interface RedshiftDataCall {
  operation: string;
  sql?: string;
}

type StatementStatus = 'SUBMITTED' | 'STARTED' | 'FINISHED' | 'FAILED' | 'ABORTED';

/** The Data API's Field union, as GetStatementResult returns it. */
type Field =
  | { isNull: true }
  | { booleanValue: boolean }
  | { longValue: number }
  | { doubleValue: number }
  | { stringValue: string };

interface ColumnMetadata {
  name: string;
  label: string;
  typeName: string;
  isCaseSensitive: boolean;
  isCurrency: boolean;
  isSigned: boolean;
  nullable: number;
  precision: number;
  scale: number;
  length: number;
  schemaName: string;
  tableName: string;
}

interface ConnectionTarget {
  Database?: string;
  ClusterIdentifier?: string;
  WorkgroupName?: string;
  SecretArn?: string;
  DbUser?: string;
}

interface Statement {
  id: string;
  /** The SQL as sent (placeholders kept), reported back as QueryString. */
  queryString: string;
  parameters: SqlParameter[];
  status: StatementStatus;
  error?: string;
  createdAt: Date;
  updatedAt: Date;
  startedAtMs?: number;
  durationNs: number;
  hasResultSet: boolean;
  resultRows: number;
  resultSize: number;
  columns?: ColumnMetadata[];
  records?: Field[][];
  redshiftQueryId: number;
  /** Batch members, ids `<batch id>:1`, `:2`, … */
  subStatements?: Statement[];
  isSubStatement: boolean;
}

interface TopLevelStatement extends Statement {
  target: ConnectionTarget;
  statementName?: string;
  withEvent: boolean;
  /** Simulated: when the caller submitted it, and when it ends for callers (epoch ms). */
  submittedAtMs: number;
  readyAtMs: number;
  /** Resolves when PGlite has run it (or it failed, or was aborted). */
  ran: Promise<void>;
  markRan: () => void;
}

const REDSHIFT_PID = 1073807432;
/** BatchExecuteStatement takes 1 to 40 SQL statements (the API model's SqlList). */
const MAX_BATCH_STATEMENTS = 40;
/**
 * "Maximum query statement size: 100 KB" (Redshift quotas, Data API), answered as a
 * ValidationException "Cannot process query string larger than 100kB". Read as 100,000 UTF-8
 * bytes, the stricter reading (EventBridge's Redshift target caps Sql at 100000 too).
 */
export const MAX_STATEMENT_BYTES = 100_000;

// Postgres type OIDs: which Field member carries the value, and Redshift's type name.
const BOOLEAN_TYPES = new Set([16]);
const INTEGER_TYPES = new Set([20, 21, 23, 26]);
const FLOAT_TYPES = new Set([700, 701]);
const TEXT_TYPES = new Set([18, 19, 25, 1042, 1043]);
const TYPE_NAMES: Record<number, string> = {
  16: 'bool',
  18: 'char',
  19: 'name',
  20: 'int8',
  21: 'int2',
  23: 'int4',
  25: 'text',
  26: 'oid',
  114: 'json',
  700: 'float4',
  701: 'float8',
  1042: 'bpchar',
  1043: 'varchar',
  1082: 'date',
  1083: 'time',
  1114: 'timestamp',
  1184: 'timestamptz',
  1700: 'numeric',
  2950: 'uuid',
  3802: 'jsonb',
};
/** Keep Postgres' text output for these, e.g. timestamps as `2026-01-01 06:00:01` like Redshift. */
const RAW_TEXT_PARSERS: Record<number, (text: string) => string> = Object.fromEntries(
  [20, 1082, 1083, 1114, 1184, 1266, 1700].map((oid) => [oid, (text: string) => text]),
);

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function toField(value: unknown, typeId: number): Field {
  if (value === null || value === undefined) {
    return { isNull: true };
  }
  if (BOOLEAN_TYPES.has(typeId) && typeof value === 'boolean') {
    return { booleanValue: value };
  }
  if (INTEGER_TYPES.has(typeId)) {
    return { longValue: Number(value) };
  }
  if (FLOAT_TYPES.has(typeId) && typeof value === 'number') {
    return { doubleValue: value };
  }
  if (typeof value === 'string') {
    return { stringValue: value };
  }
  if (value instanceof Date) {
    return { stringValue: value.toISOString() };
  }
  return { stringValue: typeof value === 'object' ? JSON.stringify(value) : String(value) };
}

function columnMetadata(field: { name: string; dataTypeID: number }): ColumnMetadata {
  const numeric =
    INTEGER_TYPES.has(field.dataTypeID) || FLOAT_TYPES.has(field.dataTypeID) || field.dataTypeID === 1700;
  return {
    name: field.name,
    label: field.name,
    typeName: TYPE_NAMES[field.dataTypeID] ?? `oid:${field.dataTypeID}`,
    isCaseSensitive: TEXT_TYPES.has(field.dataTypeID),
    isCurrency: false,
    isSigned: numeric,
    nullable: 1,
    precision: 0,
    scale: 0,
    length: 0,
    schemaName: '',
    tableName: '',
  };
}

/** Parameter values as sent, read leniently: only to narrow faults before validation. */
function parameterValues(body: JsonObject): string[] {
  const parameters = Array.isArray(body.Parameters) ? body.Parameters : [];
  return parameters.flatMap((parameter) =>
    isJsonObject(parameter) && typeof parameter.value === 'string' ? [parameter.value] : [],
  );
}

/**
 * Redshift Data API stand-in speaking awsJson1_1 on node:http, backed by PGlite.
 * Asynchronous like the real service: ExecuteStatement answers with an Id at once and
 * statements then run one at a time, in arrival order, on PGlite's single connection.
 * ExecuteStatement takes exactly one SQL statement (Postgres' extended protocol, as the
 * Data API's prepared statements); use BatchExecuteStatement for several.
 */
export class RedshiftDataStandIn {
  readonly calls: RedshiftDataCall[] = [];
  private readonly statements = new Map<string, Statement>();
  /** ClientToken → statement id: a retried submission returns the statement already submitted. */
  private readonly statementIdByClientToken = new Map<string, string>();
  private readonly server: HttpStandInServer;
  private readonly resultPageRows: number;
  private queue: Promise<void> = Promise.resolve();
  private nextQueryId = 1000;

  constructor(private readonly opts: RedshiftDataStandInOptions) {
    this.resultPageRows = Math.max(1, opts.resultPageRows ?? 1000);
    this.server = new HttpStandInServer('Redshift Data API', (request) => this.handle(request), {
      awsService: 'redshift-data',
      checks: opts.checks,
    });
  }

  start(): Promise<{ url: string }> {
    return this.server.start();
  }

  /** Stops listening once the statements already submitted have run. */
  async stop(): Promise<void> {
    await this.server.stop();
    await this.whenIdle();
  }

  /** Resolves when every statement submitted so far has ended. */
  whenIdle(): Promise<void> {
    return this.queue;
  }

  private async handle(request: ServiceRequest): Promise<ServiceResponse> {
    const operation = awsJson.operationOf(request);
    try {
      return awsJson.ok(await this.dispatch(operation, request.body, this.callerNow(request)));
    } catch (error) {
      if (error instanceof ServiceError) {
        return awsJson.error(error);
      }
      throw error;
    }
  }

  private async dispatch(operation: string, body: JsonObject, callerNow: number): Promise<JsonObject> {
    switch (operation) {
      case 'ExecuteStatement':
        return this.executeStatement(body, callerNow);
      case 'BatchExecuteStatement':
        return this.batchExecuteStatement(body, callerNow);
      case 'DescribeStatement':
        return this.describeStatement(body, callerNow);
      case 'GetStatementResult':
        return this.getStatementResult(body, callerNow);
      case 'CancelStatement':
        return this.cancelStatement(body);
      default:
        this.calls.push({ operation });
        throw new ServiceError(
          'UnknownOperationException',
          `Operation '${operation}' is not supported here`,
          400,
        );
    }
  }

  /** Records the call and throws an injected API fault for it, if one applies. */
  private admit(operation: string, sqlTexts: string[], parameterTexts: string[]): void {
    this.calls.push(sqlTexts.length > 0 ? { operation, sql: sqlTexts.join(';\n') } : { operation });
    const fault = this.takeFault(operation, [...sqlTexts, ...parameterTexts]);
    if (fault !== undefined) {
      throw injectedServiceError('redshift-data', fault);
    }
  }

  /**
   * Faults narrowed to an object match when the SQL or a parameter value mentions the
   * object's name as a whole word, case-insensitively ('Account' matches
   * `salesforce_incremental.account` and `'account'`); faults without object match any call.
   */
  private takeFault(operation: string, texts: string[]): string | undefined {
    const mentioned = (this.opts.objectNames?.() ?? []).filter((name) => {
      const word = new RegExp(`(^|[^A-Za-z0-9_])${escapeRegExp(name)}($|[^A-Za-z0-9_])`, 'i');
      return texts.some((text) => word.test(text));
    });
    const candidates: (string | undefined)[] = mentioned.length > 0 ? mentioned : [undefined];
    for (const candidate of candidates) {
      const fault = this.opts.faults.take('redshift-data', operation, candidate);
      if (fault !== undefined) {
        return fault;
      }
    }
    return undefined;
  }

  private connectionTarget(body: JsonObject): ConnectionTarget {
    if (body.SessionId !== undefined) {
      throw validationError('Sessions (SessionId) are not supported by the Redshift Data API stand-in');
    }
    if (body.ResultFormat !== undefined && body.ResultFormat !== 'JSON') {
      throw validationError('Only ResultFormat JSON (GetStatementResult) is supported by the stand-in');
    }
    const target: ConnectionTarget = {
      Database: optionalString(body, 'Database'),
      ClusterIdentifier: optionalString(body, 'ClusterIdentifier'),
      WorkgroupName: optionalString(body, 'WorkgroupName'),
      SecretArn: optionalString(body, 'SecretArn'),
      DbUser: optionalString(body, 'DbUser'),
    };
    if (!target.ClusterIdentifier && !target.WorkgroupName) {
      throw validationError('Either ClusterIdentifier or WorkgroupName must be specified');
    }
    if (target.ClusterIdentifier && target.WorkgroupName) {
      throw validationError('Specify either ClusterIdentifier or WorkgroupName, not both');
    }
    if (!target.Database) {
      throw validationError('Database is required');
    }
    return target;
  }

  private parameters(body: JsonObject): SqlParameter[] {
    const sent = optionalArray(body, 'Parameters');
    if (sent === undefined) {
      return [];
    }
    const parameters = sent.map((parameter) => {
      if (
        !isJsonObject(parameter) ||
        typeof parameter.name !== 'string' ||
        typeof parameter.value !== 'string'
      ) {
        throw validationError('Every parameter needs a string name and a string value');
      }
      return { name: parameter.name, value: parameter.value };
    });
    const problem = validateSqlParameters(parameters);
    if (problem !== undefined) {
      throw validationError(problem);
    }
    return parameters;
  }

  /** The Data API refuses a statement over 100 KB before running anything. */
  private checkStatementSize(sql: string): void {
    if (Buffer.byteLength(sql, 'utf8') > MAX_STATEMENT_BYTES) {
      throw validationError('Cannot process query string larger than 100kB');
    }
  }

  private newStatement(
    id: string,
    sql: string,
    parameters: SqlParameter[],
    isSubStatement: boolean,
  ): Statement {
    try {
      // Every placeholder needs its parameter: checked at submission, as the Data API does.
      substituteNamedParameters(sql, parameters);
      // And every parameter its placeholder: an unused one is refused (the stricter reading).
      const used = usedParameterNames(sql);
      const unused = parameters.find((parameter) => !used.has(parameter.name));
      if (unused !== undefined) {
        throw validationError(`The parameter '${unused.name}' is in Parameters but not used in the SQL`);
      }
    } catch (error) {
      if (error instanceof MissingSqlParameterError) {
        throw validationError(error.message);
      }
      throw error;
    }
    const now = new Date();
    this.nextQueryId += 1;
    return {
      id,
      queryString: sql,
      parameters,
      status: 'SUBMITTED',
      createdAt: now,
      updatedAt: now,
      durationNs: 0,
      hasResultSet: false,
      resultRows: -1,
      resultSize: -1,
      redshiftQueryId: this.nextQueryId,
      isSubStatement,
    };
  }

  private submittedResponse(statement: TopLevelStatement): JsonObject {
    return {
      Id: statement.id,
      CreatedAt: epochSeconds(statement.createdAt),
      ...statement.target,
    };
  }

  /** What a submission adds to a statement: its name, event, simulated times and completion. */
  private topLevelFields(body: JsonObject, callerNow: number, sql: string) {
    let markRan: () => void = () => undefined;
    const ran = new Promise<void>((resolve) => {
      markRan = resolve;
    });
    const seconds = this.opts.time?.statementSeconds(sql) ?? 0;
    return {
      statementName: optionalString(body, 'StatementName'),
      withEvent: body.WithEvent === true,
      submittedAtMs: callerNow,
      readyAtMs: callerNow + seconds * 1000,
      ran,
      markRan,
    };
  }

  /** The caller's simulated time (its header), or the stand-in's own clock. */
  private callerNow(request: ServiceRequest): number {
    return callerSimulatedNow(request.headers) ?? this.opts.time?.now() ?? Date.now();
  }

  /**
   * A statement's simulated end, for the local run's statement waits: when it ends for callers,
   * and its end event once PGlite has run it (undefined for a statement sent without WithEvent).
   */
  statementEnd(id: string): { readyAtMs: number; event: () => Promise<StatementEndedDetail | undefined> } {
    const statement = this.statements.get(id) as TopLevelStatement | undefined;
    if (!statement || statement.isSubStatement)
      throw new Error(`No statement ${id} in the Data API stand-in`);
    return {
      readyAtMs: statement.readyAtMs,
      event: async () => {
        await statement.ran;
        if (!statement.withEvent) return undefined;
        return {
          principal: 'arn:aws:sts::000000000000:assumed-role/local/function',
          ...(statement.statementName ? { statementName: statement.statementName } : {}),
          statementId: statement.id,
          redshiftQueryId: statement.redshiftQueryId,
          state: statement.status as StatementEndedDetail['state'],
          rows: Math.max(0, statement.resultRows),
          expireAt: Math.floor(statement.updatedAt.getTime() / 1000) + 24 * 3600,
        };
      },
    };
  }

  private executeStatement(body: JsonObject, callerNow: number): JsonObject {
    this.admit('ExecuteStatement', typeof body.Sql === 'string' ? [body.Sql] : [], parameterValues(body));
    const sql = requiredString(body, 'Sql');
    this.checkStatementSize(sql);
    const parameters = this.parameters(body);
    const target = this.connectionTarget(body);
    const repeated = this.repeatedSubmission(body);
    if (repeated) {
      return this.submittedResponse(repeated);
    }
    const statement: TopLevelStatement = {
      ...this.newStatement(randomUUID(), sql, parameters, false),
      target,
      ...this.topLevelFields(body, callerNow, sql),
    };
    this.register(statement, body);
    this.enqueue(() => this.runSingle(statement));
    return this.submittedResponse(statement);
  }

  private batchExecuteStatement(body: JsonObject, callerNow: number): JsonObject {
    const sentSqls = Array.isArray(body.Sqls)
      ? body.Sqls.filter((sql): sql is string => typeof sql === 'string')
      : [];
    this.admit('BatchExecuteStatement', sentSqls, parameterValues(body));
    const sqls = optionalArray(body, 'Sqls') ?? [];
    if (sqls.length > MAX_BATCH_STATEMENTS) {
      throw validationError(
        `1 validation error detected: Value at 'sqls' failed to satisfy constraint: Member must have length less than or equal to ${MAX_BATCH_STATEMENTS} (${sqls.length} statements sent)`,
      );
    }
    if (sqls.length === 0 || sqls.some((sql) => typeof sql !== 'string' || !sql)) {
      throw validationError(`Sqls must hold 1 to ${MAX_BATCH_STATEMENTS} non-empty SQL strings`);
    }
    const sqlTexts = sqls as string[];
    for (const sql of sqlTexts) {
      this.checkStatementSize(sql);
    }
    if (body.Parameters !== undefined) {
      // BatchExecuteStatementInput has no Parameters member: values cannot be bound in a batch.
      throw validationError(
        'BatchExecuteStatement takes no Parameters; send parameterised SQL with ExecuteStatement',
      );
    }
    const parameters: SqlParameter[] = [];
    const target = this.connectionTarget(body);
    const repeated = this.repeatedSubmission(body);
    if (repeated) {
      return this.submittedResponse(repeated);
    }
    const id = randomUUID();
    const subStatements = sqlTexts.map((sql, index) =>
      this.newStatement(`${id}:${index + 1}`, sql, parameters, true),
    );
    const batch: TopLevelStatement = {
      ...this.newStatement(id, sqlTexts.join(';\n'), [], false),
      target,
      ...this.topLevelFields(body, callerNow, sqlTexts.join(';\n')),
      subStatements,
    };
    this.register(batch, body);
    for (const subStatement of subStatements) {
      this.statements.set(subStatement.id, subStatement);
    }
    this.enqueue(() => this.runBatch(batch, subStatements));
    return this.submittedResponse(batch);
  }

  private repeatedSubmission(body: JsonObject): TopLevelStatement | undefined {
    const clientToken = optionalString(body, 'ClientToken');
    const id = clientToken === undefined ? undefined : this.statementIdByClientToken.get(clientToken);
    return id === undefined ? undefined : (this.statements.get(id) as TopLevelStatement);
  }

  private register(statement: TopLevelStatement, body: JsonObject): void {
    this.statements.set(statement.id, statement);
    const clientToken = optionalString(body, 'ClientToken');
    if (clientToken !== undefined) {
      this.statementIdByClientToken.set(clientToken, statement.id);
    }
  }

  private enqueue(run: () => Promise<void>): void {
    this.queue = this.queue.then(run).catch((error: unknown) => {
      // A statement runner never throws; reaching here is a stand-in bug worth seeing.
      console.error('Redshift Data API stand-in: statement runner failed', error);
    });
  }

  private markStarted(statement: Statement): void {
    statement.status = 'STARTED';
    statement.startedAtMs = Date.now();
    statement.updatedAt = new Date();
  }

  private markEnded(statement: Statement, status: StatementStatus, error?: string): void {
    statement.status = status;
    statement.error = error;
    statement.updatedAt = new Date();
    statement.durationNs =
      statement.startedAtMs === undefined ? 0 : (Date.now() - statement.startedAtMs) * 1_000_000;
    if (!statement.isSubStatement) (statement as TopLevelStatement).markRan?.();
  }

  private recordResult(statement: Statement, result: Results<Record<string, unknown>>): void {
    const records = result.rows.map((row) => {
      const values = row as Record<string, unknown>;
      return result.fields.map((field) => toField(values[field.name], field.dataTypeID));
    });
    statement.hasResultSet = result.fields.length > 0;
    if (statement.hasResultSet) {
      statement.columns = result.fields.map(columnMetadata);
      statement.records = records;
      statement.resultRows = records.length;
      statement.resultSize = Buffer.byteLength(JSON.stringify(records));
    } else {
      statement.resultRows = result.affectedRows ?? 0;
      statement.resultSize = 0;
    }
  }

  /**
   * What runs for a statement: its Redshift SQL translated for the local warehouse (toPostgres:
   * Postgres-only SQL and what Redshift refuses throw RedshiftDialectError, so the statement
   * fails as it would on Redshift), parameters substituted. One statement per ExecuteStatement.
   */
  private executableStatements(statement: Statement, inTransactionBlock: boolean): string[] {
    if (!inTransactionBlock && splitSqlStatements(statement.queryString).length > 1) {
      throw new Error('cannot insert multiple commands into a prepared statement');
    }
    return toPostgresStatements(statement.queryString, { inTransactionBlock }).map((sql) =>
      substituteNamedParameters(sql, statement.parameters),
    );
  }

  private async runSingle(statement: Statement): Promise<void> {
    if (statement.status === 'ABORTED') {
      return;
    }
    this.markStarted(statement);
    const fault = this.takeFault('Statement', [
      statement.queryString,
      ...statement.parameters.map((p) => p.value),
    ]);
    if (fault !== undefined) {
      this.markEnded(statement, 'FAILED', fault);
      return;
    }
    try {
      const [first, ...followUps] = this.executableStatements(statement, false);
      if (followUps.length === 0) {
        this.recordResult(
          statement,
          await this.opts.db.query(first ?? 'SELECT', [], { parsers: RAW_TEXT_PARSERS }),
        );
      } else {
        // A translation that adds statements (a sort key's index) runs as one unit.
        await this.opts.db.transaction(async (tx) => {
          this.recordResult(statement, await tx.query(first, [], { parsers: RAW_TEXT_PARSERS }));
          for (const followUp of followUps) {
            await tx.query(followUp);
          }
        });
      }
      this.markEnded(statement, 'FINISHED');
    } catch (error) {
      this.markEnded(statement, 'FAILED', `ERROR: ${errorMessage(error)}`);
    }
  }

  /** One transaction: a failing member rolls back the batch, the members after it are aborted. */
  private async runBatch(batch: Statement, subStatements: Statement[]): Promise<void> {
    if (batch.status === 'ABORTED') {
      return;
    }
    this.markStarted(batch);
    let failed: { statement: Statement; error: string } | undefined;
    try {
      await this.opts.db.transaction(async (tx) => {
        for (const statement of subStatements) {
          this.markStarted(statement);
          const fault = this.takeFault('Statement', [
            statement.queryString,
            ...statement.parameters.map((p) => p.value),
          ]);
          if (fault !== undefined) {
            failed = { statement, error: fault };
            throw new Error(fault);
          }
          try {
            const [first, ...followUps] = this.executableStatements(statement, true);
            const result = await tx.query<Record<string, unknown>>(first ?? 'SELECT', [], {
              parsers: RAW_TEXT_PARSERS,
            });
            for (const followUp of followUps) {
              await tx.query(followUp);
            }
            this.recordResult(statement, result);
            this.markEnded(statement, 'FINISHED');
          } catch (error) {
            failed = { statement, error: `ERROR: ${errorMessage(error)}` };
            throw error;
          }
        }
      });
    } catch (error) {
      failed ??= { statement: batch, error: `ERROR: ${errorMessage(error)}` };
    }
    if (failed) {
      this.markEnded(failed.statement, 'FAILED', failed.error);
      for (const statement of subStatements) {
        if (statement.status === 'SUBMITTED') {
          this.markEnded(statement, 'ABORTED');
        }
      }
      this.markEnded(batch, 'FAILED', failed.error);
      return;
    }
    batch.hasResultSet = subStatements.some((statement) => statement.hasResultSet);
    batch.resultRows = subStatements.reduce((sum, statement) => sum + Math.max(0, statement.resultRows), 0);
    batch.resultSize = subStatements.reduce((sum, statement) => sum + Math.max(0, statement.resultSize), 0);
    this.markEnded(batch, 'FINISHED');
  }

  private requireStatement(body: JsonObject): Statement {
    const id = requiredString(body, 'Id');
    const statement = this.statements.get(id);
    if (!statement) {
      throw new ServiceError('ResourceNotFoundException', `Query does not exist: ${id}`, 404, {
        ResourceId: id,
      });
    }
    return statement;
  }

  /** Looks the statement up first, so that an object-narrowed fault can see its SQL. */
  private admitForStatement(operation: string, body: JsonObject): Statement {
    const id = typeof body.Id === 'string' ? body.Id : undefined;
    const known = id === undefined ? undefined : this.statements.get(id);
    this.admit(
      operation,
      known ? [known.queryString] : [],
      (known?.parameters ?? []).map((parameter) => parameter.value),
    );
    return this.requireStatement(body);
  }

  private statementDetails(statement: Statement): JsonObject {
    return {
      Id: statement.id,
      Status: statement.status,
      Error: statement.error,
      CreatedAt: epochSeconds(statement.createdAt),
      UpdatedAt: epochSeconds(statement.updatedAt),
      Duration: statement.durationNs,
      HasResultSet: statement.hasResultSet,
      QueryString: statement.queryString,
      ResultRows: statement.resultRows,
      ResultSize: statement.resultSize,
      RedshiftQueryId: statement.redshiftQueryId,
    };
  }

  /**
   * With simulated time, a statement runs until the caller's time reaches its end; from then on
   * the caller sees what PGlite made of it (waiting for PGlite if it is still at work: its speed
   * is not part of the simulation).
   */
  private async simulatedStatus(statement: Statement, callerNow: number): Promise<'RUNNING' | 'ENDED'> {
    if (!this.opts.time) return 'ENDED';
    const topLevel = this.topLevelOf(statement);
    if (callerNow < topLevel.readyAtMs) return 'RUNNING';
    await topLevel.ran;
    return 'ENDED';
  }

  private async describeStatement(body: JsonObject, callerNow: number): Promise<JsonObject> {
    const statement = this.admitForStatement('DescribeStatement', body);
    const topLevel = this.topLevelOf(statement);
    const running = (await this.simulatedStatus(statement, callerNow)) === 'RUNNING';
    // Still running in simulated time: what PGlite made of it is not visible yet.
    const details = (one: Statement) =>
      running
        ? {
            ...this.statementDetails(one),
            Status: 'STARTED',
            Error: undefined,
            HasResultSet: false,
            ResultRows: -1,
            ResultSize: -1,
            Duration: (callerNow - topLevel.submittedAtMs) * 1_000_000,
          }
        : this.statementDetails(one);
    return {
      ...details(statement),
      ...topLevel.target,
      RedshiftPid: REDSHIFT_PID,
      QueryParameters: statement.parameters.length > 0 ? statement.parameters : undefined,
      SubStatements: statement.subStatements?.map(details),
      ResultFormat: 'JSON',
    };
  }

  private topLevelOf(statement: Statement): TopLevelStatement {
    const topLevelId = statement.isSubStatement ? statement.id.split(':')[0] : statement.id;
    return this.statements.get(topLevelId) as TopLevelStatement;
  }

  private async getStatementResult(body: JsonObject, callerNow: number): Promise<JsonObject> {
    const statement = this.admitForStatement('GetStatementResult', body);
    if ((await this.simulatedStatus(statement, callerNow)) === 'RUNNING') {
      throw validationError('Query has not finished (status STARTED); its result is not available');
    }
    if (statement.subStatements) {
      throw validationError(
        `Statement ${statement.id} is a batch: ask for the result of a sub-statement (${statement.id}:1, …)`,
      );
    }
    if (statement.status !== 'FINISHED') {
      throw validationError(
        `Query has not finished (status ${statement.status}); its result is not available`,
      );
    }
    if (!statement.hasResultSet || !statement.records || !statement.columns) {
      throw validationError('Query does not have result. Please check query status.');
    }
    const nextToken = optionalString(body, 'NextToken');
    const start = nextToken === undefined ? 0 : Number.parseInt(nextToken, 10);
    if (!Number.isInteger(start) || start < 0) {
      throw validationError(`Invalid NextToken '${nextToken}'`);
    }
    const end = start + this.resultPageRows;
    return {
      Records: statement.records.slice(start, end),
      ColumnMetadata: statement.columns,
      TotalNumRows: statement.records.length,
      NextToken: end < statement.records.length ? String(end) : undefined,
    };
  }

  private cancelStatement(body: JsonObject): JsonObject {
    const statement = this.admitForStatement('CancelStatement', body);
    if (statement.status === 'SUBMITTED') {
      this.markEnded(statement, 'ABORTED');
      for (const subStatement of statement.subStatements ?? []) {
        this.markEnded(subStatement, 'ABORTED');
      }
      return { Status: true };
    }
    if (statement.status === 'STARTED') {
      // PGlite cannot interrupt a running query; say so instead of pretending.
      return { Status: false };
    }
    throw validationError(`Could not cancel a query that is already in ${statement.status} state.`);
  }
}
