import path from 'node:path';
import {
  BatchExecuteStatementCommand,
  type BatchExecuteStatementCommandInput,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  type ExecuteStatementCommandInput,
  type Field,
  GetStatementResultCommand,
  type RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { readSqlFiles } from '../../../lambdas/common/sql-files';

/** A column as the catalog describes it. */
interface CatalogColumn {
  dataType: string;
  characterMaximumLength: number | null;
  numericPrecision: number | null;
  numericScale: number | null;
}

/** `VARCHAR(18)`, `DECIMAL(18,2)`, `TIMESTAMP`, … → what `information_schema.columns` says of it. */
function catalogColumn(ddlType: string): CatalogColumn {
  const varchar = /^VARCHAR\((\d+)\)$/.exec(ddlType);
  if (varchar)
    return {
      dataType: 'character varying',
      characterMaximumLength: Number(varchar[1]),
      numericPrecision: null,
      numericScale: null,
    };
  const decimal = /^DECIMAL\((\d+),(\d+)\)$/.exec(ddlType);
  if (decimal)
    return {
      dataType: 'numeric',
      characterMaximumLength: null,
      numericPrecision: Number(decimal[1]),
      numericScale: Number(decimal[2]),
    };
  const names: Record<string, string> = {
    TIMESTAMP: 'timestamp without time zone',
    'DOUBLE PRECISION': 'double precision',
    BOOLEAN: 'boolean',
    DATE: 'date',
    BIGINT: 'bigint',
    INTEGER: 'integer',
  };
  return {
    dataType: names[ddlType] ?? ddlType.toLowerCase(),
    characterMaximumLength: null,
    numericPrecision: null,
    numericScale: null,
  };
}

/** A row of public.source_column_types (sql/030). */
interface SourceTypeRecord {
  sourceType: string;
  refreshPending: boolean;
}

const COLUMN_DEFINITION = /"(\w+)" (VARCHAR\(\d+\)|DECIMAL\(\d+,\d+\)|DOUBLE PRECISION|[A-Z]+)/g;

/** `a, f(b, c), d` → 3: the commas outside parentheses separate the items. */
function listLength(list: string): number {
  const flat = list.replace(/\([^()]*\)/g, '');
  return flat.trim() === '' ? 0 : flat.split(',').length;
}

/**
 * The procedures sql/ deploys, as `name/arity` (Redshift finds a procedure by name and argument
 * count): a CALL of anything else fails as it would on the warehouse.
 */
function deployedProcedures(): Set<string> {
  const procedures = new Set<string>();
  for (const { statements } of readSqlFiles(path.join(__dirname, '../../../sql'))) {
    for (const statement of statements) {
      const created = /^CREATE OR REPLACE PROCEDURE public\.(\w+)\(((?:[^()]|\([^()]*\))*)\)/m.exec(
        statement,
      );
      if (created) procedures.add(`${created[1]}/${listLength(created[2])}`);
      const dropped = /^DROP PROCEDURE IF EXISTS public\.(\w+)\(((?:[^()]|\([^()]*\))*)\)/m.exec(statement);
      if (dropped) procedures.delete(`${dropped[1]}/${listLength(dropped[2])}`);
    }
  }
  return procedures;
}

const DEPLOYED_PROCEDURES = deployedProcedures();

/** A statement Redshift would run and fail (a missing table, say): its transaction rolls back. */
class StatementFailure extends Error {}

type Cell = string | number | boolean | null;

/** What a query returns: column names and rows. */
export interface StatementResult {
  columns: string[];
  rows: Cell[][];
}

/** One statement the fake Data API accepted: sent alone (ExecuteStatement) or as a batch. */
export interface SubmittedStatement {
  id: string;
  kind: 'single' | 'batch';
  sqls: string[];
  parameters: Record<string, string>;
  statementName?: string;
  clientToken?: string;
  withEvent: boolean;
  createdAt: Date;
  /** DescribeStatement calls so far. */
  looks: number;
  /** How many looks answer STARTED before the statement ends. */
  runningLooks: number;
  /** How it ends when it does not finish: FAILED with Redshift's text, or ABORTED. */
  ending?: { status: 'FAILED'; error: string } | { status: 'ABORTED' };
  /** Per SQL: the result set of a query, undefined for anything else. */
  results: (StatementResult | undefined)[];
}

interface EndingRule {
  pattern: RegExp;
  ending: NonNullable<SubmittedStatement['ending']>;
  times: number;
}

interface SlowRule {
  pattern: RegExp;
  looks: number;
  times: number;
}

type DataApiOperation =
  | 'ExecuteStatement'
  | 'BatchExecuteStatement'
  | 'DescribeStatement'
  | 'GetStatementResult';

const QUERY = /^\s*(SELECT|WITH)\b/i;
const BATCH_LIMIT = 40;
const CLIENT_TOKEN_LIMIT = 64;

function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}

/**
 * A Redshift Data API behind aws-sdk-client-mock, as strict as the real one where the pipeline
 * depends on it:
 * - it keeps a tiny catalog: the DDL it receives (batches and single statements) changes it, and
 *   `information_schema.columns` queries read it, so a second attempt of a step sees what the first did;
 * - it runs only the statement shapes the pipeline sends (apply) and throws on any other, naming it:
 *   SQL it cannot judge never passes. A statement on a table or column that does not exist, a
 *   CREATE TABLE of one that does, a CALL of a procedure sql/ does not deploy (name and argument
 *   count) end FAILED with Redshift's text, and the whole batch rolls back. It keeps no rows and
 *   runs no procedure: tests that need the SQL to really run use the Data API stand-in over PGlite;
 * - a ClientToken it has seen returns the statement already submitted, which does not run again;
 * - statements run asynchronously: a test makes one stay RUNNING (STARTED) for a number of
 *   DescribeStatement looks, or end FAILED with Redshift's error text (a failed statement changes
 *   nothing: its transaction rolled back) or ABORTED;
 * - results are only for finished queries (GetStatementResult refuses a running statement, a
 *   statement without a result set and a batch's own id: a batch's results are `<id>:<n>`);
 * - it refuses a batch of no or more than 40 statements and a ClientToken over 64 characters, and
 *   fails an ALTER COLUMN … TYPE inside a batch (a transaction block) the way Redshift does.
 * The DDL of a statement that will finish is applied when it is submitted.
 */
export class FakeWarehouse {
  /** `schema.table` → column name → catalog description. */
  readonly tables = new Map<string, Map<string, CatalogColumn>>();
  /** `final schema.table` → column → what public.source_column_types remembers of it. */
  readonly sourceTypes = new Map<string, Map<string, SourceTypeRecord>>();
  /** Every batch that ran (ended FINISHED), as sent, in order. */
  readonly batches: string[][] = [];
  /** Every statement sent alone that ran, except queries, in order. */
  readonly singles: string[] = [];
  /** Every new statement the Data API accepted, whatever its end (a repeated ClientToken adds none). */
  readonly submitted: SubmittedStatement[] = [];
  /** Submissions (ExecuteStatement and BatchExecuteStatement calls), repeated ClientTokens included. */
  requests = 0;
  /** DDL and DML that ran (batches flattened, single statements in place), in order. */
  private readonly log: string[] = [];
  private readonly byId = new Map<string, SubmittedStatement>();
  private readonly byClientToken = new Map<string, SubmittedStatement>();
  private readonly endings: EndingRule[] = [];
  private readonly slow: SlowRule[] = [];
  private readonly answerRules: { pattern: RegExp; result: StatementResult }[] = [];
  private readonly refusals: { operation: DataApiOperation; error: Error }[] = [];
  private nextId = 1;

  constructor(mock: AwsClientStub<RedshiftDataClient>) {
    mock.on(ExecuteStatementCommand).callsFake((input: ExecuteStatementCommandInput) => {
      this.refuseIfAsked('ExecuteStatement');
      return this.submit('single', [input.Sql ?? ''], {
        parameters: Object.fromEntries((input.Parameters ?? []).map((p) => [p.name ?? '', p.value ?? ''])),
        statementName: input.StatementName,
        clientToken: input.ClientToken,
        withEvent: input.WithEvent ?? false,
      });
    });
    mock.on(BatchExecuteStatementCommand).callsFake((input: BatchExecuteStatementCommandInput) => {
      this.refuseIfAsked('BatchExecuteStatement');
      const sqls = input.Sqls ?? [];
      if (sqls.length < 1 || sqls.length > BATCH_LIMIT)
        throw awsError(
          'ValidationException',
          `1 validation error detected: Value at 'sqls' failed to satisfy constraint: Member must have length between 1 and ${BATCH_LIMIT}`,
        );
      return this.submit('batch', sqls, {
        parameters: {},
        statementName: input.StatementName,
        clientToken: input.ClientToken,
        withEvent: input.WithEvent ?? false,
      });
    });
    mock.on(DescribeStatementCommand).callsFake((input: { Id?: string }) => {
      this.refuseIfAsked('DescribeStatement');
      return this.describe(input.Id ?? '');
    });
    mock.on(GetStatementResultCommand).callsFake((input: { Id?: string }) => {
      this.refuseIfAsked('GetStatementResult');
      return this.result(input.Id ?? '');
    });
  }

  /** The next call of `operation` fails with `error` (throttling, say) before it does anything. */
  refusesNext(operation: DataApiOperation, error: Error): this {
    this.refusals.push({ operation, error });
    return this;
  }

  private refuseIfAsked(operation: DataApiOperation): void {
    const index = this.refusals.findIndex((refusal) => refusal.operation === operation);
    if (index >= 0) throw this.refusals.splice(index, 1)[0].error;
  }

  /**
   * Puts a table in place as an earlier run left it: column names (typed VARCHAR(65535), as
   * older versions made every text column) or column → DDL type.
   */
  withTable(schema: string, table: string, columns: string[] | Record<string, string>): this {
    const typed = Array.isArray(columns)
      ? Object.fromEntries(columns.map((column) => [column, 'VARCHAR(65535)']))
      : columns;
    this.tables.set(
      `${schema}.${table}`,
      new Map(Object.entries(typed).map(([column, type]) => [column, catalogColumn(type)])),
    );
    return this;
  }

  /**
   * What public.source_column_types remembers of a final table, as an earlier run recorded it:
   * column → the source's type (DDL text); `pending` columns still wait for a column refresh.
   */
  remembering(
    finalSchema: string,
    table: string,
    types: Record<string, string>,
    pending: string[] = [],
  ): this {
    this.sourceTypes.set(
      `${finalSchema}.${table}`,
      new Map(
        Object.entries(types).map(([column, sourceType]) => [
          column,
          { sourceType, refreshPending: pending.includes(column) },
        ]),
      ),
    );
    return this;
  }

  /** The next `times` new statements with a SQL matching `pattern` stay STARTED for `looks` looks. */
  runsFor(pattern: RegExp, looks: number, times = Number.POSITIVE_INFINITY): this {
    this.slow.push({ pattern, looks, times });
    return this;
  }

  /** The next `times` new statements with a SQL matching `pattern` end FAILED with `error`. */
  failsWith(pattern: RegExp, error: string, times = 1): this {
    this.endings.push({ pattern, ending: { status: 'FAILED', error }, times });
    return this;
  }

  /** The next `times` new statements with a SQL matching `pattern` end ABORTED. */
  aborts(pattern: RegExp, times = 1): this {
    this.endings.push({ pattern, ending: { status: 'ABORTED' }, times });
    return this;
  }

  /** Queries matching `pattern` return `result` (catalog reads are answered from the tables). */
  answers(pattern: RegExp, result: StatementResult): this {
    this.answerRules.unshift({ pattern, result });
    return this;
  }

  /** Column names of a table. */
  columnsOf(schema: string, table: string): string[] {
    return [...(this.tables.get(`${schema}.${table}`)?.keys() ?? [])];
  }

  /** Every DDL/DML statement that ran (batches flattened, single statements in place), in order. */
  statements(): string[] {
    return [...this.log];
  }

  /** New statements accepted with a SQL matching `pattern`, whatever their end. */
  submittedMatching(pattern: RegExp): SubmittedStatement[] {
    return this.submitted.filter((statement) => statement.sqls.some((sql) => pattern.test(sql)));
  }

  /** The statement (or sub-statement `<id>:<n>`) with this id. */
  statement(id: string): SubmittedStatement | undefined {
    return this.byId.get(id.replace(/:\d+$/, ''));
  }

  private submit(
    kind: SubmittedStatement['kind'],
    sqls: string[],
    options: Pick<SubmittedStatement, 'parameters' | 'statementName' | 'clientToken' | 'withEvent'>,
  ): { Id: string } {
    this.requests += 1;
    const { clientToken } = options;
    if (clientToken !== undefined && (clientToken.length < 1 || clientToken.length > CLIENT_TOKEN_LIMIT))
      throw awsError(
        'ValidationException',
        `1 validation error detected: Value at 'clientToken' failed to satisfy constraint: Member must have length between 1 and ${CLIENT_TOKEN_LIMIT}`,
      );
    const earlier = clientToken === undefined ? undefined : this.byClientToken.get(clientToken);
    if (earlier) return { Id: earlier.id };

    const matches = (pattern: RegExp) => sqls.some((sql) => pattern.test(sql));
    const statement: SubmittedStatement = {
      id: `${kind === 'batch' ? 'batch' : 'stmt'}-${this.nextId++}`,
      kind,
      sqls,
      ...options,
      createdAt: new Date(),
      looks: 0,
      runningLooks: 0,
      results: [],
    };
    const slow = this.slow.find((rule) => rule.times > 0 && matches(rule.pattern));
    if (slow) {
      slow.times -= 1;
      statement.runningLooks = slow.looks;
    }
    if (kind === 'batch' && sqls.some((sql) => /ALTER COLUMN .* TYPE/.test(sql))) {
      statement.ending = {
        status: 'FAILED',
        error: 'ERROR: ALTER TABLE ALTER COLUMN cannot run inside a transaction block',
      };
    } else {
      const ending = this.endings.find((rule) => rule.times > 0 && matches(rule.pattern));
      if (ending) {
        ending.times -= 1;
        statement.ending = ending.ending;
      }
    }
    if (!statement.ending) statement.ending = this.runAll(statement);
    if (!statement.ending) {
      if (kind === 'batch') this.batches.push(sqls);
      for (const sql of sqls.filter((sql) => !QUERY.test(sql))) {
        if (kind === 'single') this.singles.push(sql);
        this.log.push(sql);
      }
    }
    this.submitted.push(statement);
    this.byId.set(statement.id, statement);
    if (clientToken !== undefined) this.byClientToken.set(clientToken, statement);
    return { Id: statement.id };
  }

  /** Where a statement is after the looks it has had. */
  private statusOf(statement: SubmittedStatement): 'STARTED' | 'FINISHED' | 'FAILED' | 'ABORTED' {
    if (statement.looks <= statement.runningLooks) return 'STARTED';
    return statement.ending?.status ?? 'FINISHED';
  }

  private describe(id: string) {
    const statement = this.statement(id);
    if (!statement) throw awsError('ResourceNotFoundException', `Query ${id} does not exist.`);
    statement.looks += 1;
    const status = this.statusOf(statement);
    const error = statement.ending?.status === 'FAILED' ? statement.ending.error : undefined;
    const ended = status !== 'STARTED';
    return {
      Id: id,
      Status: status,
      QueryString: statement.sqls.join(';\n'),
      CreatedAt: statement.createdAt,
      UpdatedAt: new Date(),
      ...(statement.statementName ? { StatementName: statement.statementName } : {}),
      ...(status === 'FAILED' ? { Error: error } : {}),
      HasResultSet: status === 'FINISHED' && statement.results.some((result) => result !== undefined),
      Duration: ended ? 1_000_000 : -1,
      ...(statement.kind === 'batch'
        ? {
            SubStatements: statement.sqls.map((sql, index) => ({
              Id: `${statement.id}:${index + 1}`,
              Status: status,
              QueryString: sql,
              HasResultSet: status === 'FINISHED' && statement.results[index] !== undefined,
            })),
          }
        : {}),
    };
  }

  private result(id: string) {
    const statement = this.statement(id);
    if (!statement) throw awsError('ResourceNotFoundException', `Query ${id} does not exist.`);
    const sub = /:(\d+)$/.exec(id);
    if (statement.kind === 'batch' && !sub)
      throw awsError(
        'ValidationException',
        `Statement ${id} is a batch: ask for the result of one of its sub-statements (${id}:1, …)`,
      );
    if (this.statusOf(statement) !== 'FINISHED')
      throw awsError('ValidationException', `Query ${id} has not finished: no result to fetch`);
    const result = statement.results[sub ? Number(sub[1]) - 1 : 0];
    if (!result) throw awsError('ValidationException', `Query ${id} does not have result.`);
    return {
      ColumnMetadata: result.columns.map((name) => ({ name })),
      Records: result.rows.map((row) =>
        row.map((value): Field => {
          if (value === null) return { isNull: true };
          if (typeof value === 'boolean') return { booleanValue: value };
          return typeof value === 'number' ? { longValue: value } : { stringValue: value };
        }),
      ),
      TotalNumRows: result.rows.length,
    };
  }

  /**
   * Runs a statement's SQL in order (a batch is one transaction): one that fails as Redshift would
   * fail it ends the statement FAILED and leaves the catalog and memory as they were.
   */
  private runAll(statement: SubmittedStatement): SubmittedStatement['ending'] {
    const tables = new Map([...this.tables].map(([key, columns]) => [key, new Map(columns)]));
    const sourceTypes = new Map([...this.sourceTypes].map(([key, types]) => [key, new Map(types)]));
    try {
      statement.results = statement.sqls.map((sql) => this.run(sql, statement.parameters));
      return undefined;
    } catch (error) {
      if (!(error instanceof StatementFailure)) throw error;
      this.tables.clear();
      for (const [key, columns] of tables) this.tables.set(key, columns);
      this.sourceTypes.clear();
      for (const [key, types] of sourceTypes) this.sourceTypes.set(key, types);
      statement.results = [];
      return { status: 'FAILED', error: error.message };
    }
  }

  /** Runs one SQL: DDL changes the catalog; a query gets its result set. */
  private run(sql: string, parameters: Record<string, string>): StatementResult | undefined {
    if (/information_schema\.columns/.test(sql)) return this.catalogRead(parameters);
    if (/^\s*SELECT[\s\S]*FROM public\.source_column_types/.test(sql))
      return this.sourceTypesRead(parameters);
    if (QUERY.test(sql))
      return this.answerRules.find((answer) => answer.pattern.test(sql))?.result ?? { columns: [], rows: [] };
    this.apply(sql);
    return undefined;
  }

  private catalogRead(parameters: Record<string, string>): StatementResult {
    const rows: Cell[][] = [];
    const schemas = [parameters.staging_schema, parameters.final_schema, parameters.history_schema];
    for (const schema of schemas.filter((name) => name !== undefined)) {
      let position = 0;
      for (const [column, type] of this.tables.get(`${schema}.${parameters.table_name}`) ?? new Map()) {
        position += 1;
        rows.push([
          schema,
          column,
          position,
          type.dataType,
          type.characterMaximumLength,
          type.numericPrecision,
          type.numericScale,
        ]);
      }
    }
    return {
      columns: [
        'table_schema',
        'column_name',
        'ordinal_position',
        'data_type',
        'character_maximum_length',
        'numeric_precision',
        'numeric_scale',
      ],
      rows,
    };
  }

  /** The rows of public.source_column_types for one final table (sql/030), as INSERTs left them. */
  private sourceTypesRead(parameters: Record<string, string>): StatementResult {
    const remembered = this.sourceTypes.get(`${parameters.final_schema}.${parameters.table_name}`);
    return {
      columns: ['column_name', 'source_type', 'refresh_pending'],
      rows: [...(remembered ?? new Map())].map(([column, record]) => [
        column,
        record.sourceType,
        record.refreshPending,
      ]),
    };
  }

  /** The memory of source types: DELETE and INSERT as the structure sync writes them, UPDATE as refresh_columns clears them. */
  private applySourceTypes(sql: string): boolean {
    if (!/^(DELETE FROM|INSERT INTO) public\.source_column_types\b/.test(sql)) return false;
    const deleted = /WHERE final_schema = '(\w+)' AND table_name = '(\w+)' AND column_name IN \((.*)\)$/.exec(
      sql,
    );
    if (deleted) {
      const remembered = this.sourceTypes.get(`${deleted[1]}.${deleted[2]}`);
      for (const [, column] of deleted[3].matchAll(/'(\w+)'/g)) remembered?.delete(column);
      return true;
    }
    for (const tuple of sql.matchAll(/\('(\w+)', '(\w+)', '(\w+)', '((?:[^']|'')*)', (true|false), CAST/g)) {
      const [, schema, table, column, sourceType, pending] = tuple;
      const key = `${schema}.${table}`;
      const remembered = this.sourceTypes.get(key) ?? new Map<string, SourceTypeRecord>();
      remembered.set(column, {
        sourceType: sourceType.replace(/''/g, "'"),
        refreshPending: pending === 'true',
      });
      this.sourceTypes.set(key, remembered);
    }
    return true;
  }

  /** The columns of an existing table; Redshift fails a statement on a table that does not exist. */
  private existingTable(schema: string, table: string): Map<string, CatalogColumn> {
    const columns = this.tables.get(`${schema}.${table}`);
    if (!columns) throw new StatementFailure(`ERROR: relation "${schema}.${table}" does not exist`);
    return columns;
  }

  private existingColumn(schema: string, table: string, column: string): Map<string, CatalogColumn> {
    const columns = this.existingTable(schema, table);
    if (!columns.has(column))
      throw new StatementFailure(`ERROR: column "${column}" of relation "${table}" does not exist`);
    return columns;
  }

  /**
   * Runs a DDL/DML statement of the shapes the pipeline sends. Anything else throws, naming the
   * statement: the fake must not pass SQL it cannot judge (a DDL-shape test belongs on the Data
   * API stand-in over PGlite, which runs it).
   */
  private apply(sql: string): void {
    if (this.applySourceTypes(sql)) return;
    if (/^CREATE SCHEMA IF NOT EXISTS "\w+"$/.test(sql)) return;
    if (/^GRANT USAGE ON SCHEMA "\w+" TO "[^"]+"$/.test(sql)) return;
    const grant = /^GRANT INSERT, SELECT ON TABLE "(\w+)"\."(\w+)" TO "[^"]+"$/.exec(sql);
    if (grant) {
      this.existingTable(grant[1], grant[2]);
      return;
    }
    const truncate = /^TRUNCATE "(\w+)"\."(\w+)"$/.exec(sql);
    if (truncate) {
      // The fake keeps no rows: emptying a table that exists changes nothing it knows.
      this.existingTable(truncate[1], truncate[2]);
      return;
    }
    const call = /^CALL (?:public\.)?(\w+)\(((?:[^()]|\([^()]*\))*)\)$/.exec(sql);
    if (call) {
      // The fake does not run procedures: what they leave is answered by `answers`.
      const arity = listLength(call[2]);
      if (!DEPLOYED_PROCEDURES.has(`${call[1]}/${arity}`))
        throw new StatementFailure(`ERROR: procedure ${call[1]} with ${arity} arguments does not exist`);
      return;
    }
    const drop = /^DROP TABLE IF EXISTS "(\w+)"\."(\w+)"$/.exec(sql);
    if (drop) {
      this.tables.delete(`${drop[1]}.${drop[2]}`);
      return;
    }
    const create =
      /^CREATE TABLE (IF NOT EXISTS )?"(\w+)"\."(\w+)" \((.*)\) DISTKEY\("\w+"\) SORTKEY\("\w+"\)$/.exec(sql);
    if (create) {
      const [, ifNotExists, schema, table, definitions] = create;
      const key = `${schema}.${table}`;
      if (this.tables.has(key)) {
        if (ifNotExists) return;
        throw new StatementFailure(`ERROR: relation "${table}" already exists`);
      }
      this.tables.set(
        key,
        new Map(
          [...definitions.matchAll(COLUMN_DEFINITION)].map((match) => [match[1], catalogColumn(match[2])]),
        ),
      );
      return;
    }
    const add = /^ALTER TABLE "(\w+)"\."(\w+)" ADD COLUMN "(\w+)" (.+?)(?: ENCODE \w+)?$/.exec(sql);
    if (add) {
      const [, schema, table, column, type] = add;
      const columns = this.existingTable(schema, table);
      if (columns.has(column))
        throw new StatementFailure(`ERROR: column "${column}" of relation "${table}" already exists`);
      columns.set(column, catalogColumn(type));
      return;
    }
    const widen = /^ALTER TABLE "(\w+)"\."(\w+)" ALTER COLUMN "(\w+)" TYPE (.+)$/.exec(sql);
    if (widen) {
      const [, schema, table, column, type] = widen;
      this.existingColumn(schema, table, column).set(column, catalogColumn(type));
      return;
    }
    throw new Error(
      `FakeWarehouse does not understand this statement (teach it, or test it on the stand-in): ${sql}`,
    );
  }
}
