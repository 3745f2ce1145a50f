import {
  BatchExecuteStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  type Field,
  GetStatementResultCommand,
  type RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import type { AwsClientStub } from 'aws-sdk-client-mock';

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

const COLUMN_DEFINITION = /"(\w+)" (VARCHAR\(\d+\)|DECIMAL\(\d+,\d+\)|DOUBLE PRECISION|[A-Z]+)/g;

/**
 * A Redshift Data API behind aws-sdk-client-mock that keeps a tiny catalog: the DDL it
 * receives (batches and single statements) changes it, and `information_schema.columns`
 * queries read it, so a second attempt of a step sees what the first attempt did. Like the
 * Data API, it refuses a batch of more than 40 statements and an ALTER COLUMN … TYPE inside
 * a batch (a transaction block).
 */
export class FakeWarehouse {
  /** `schema.table` → column name → catalog description. */
  readonly tables = new Map<string, Map<string, CatalogColumn>>();
  /** Every statement of every batch, in order. */
  readonly batches: string[][] = [];
  /** Every statement sent alone (ExecuteStatement) except catalog reads, in order. */
  readonly singles: string[] = [];
  /** Batches and single DDL in the order they arrived. */
  private readonly log: string[] = [];
  private readonly results = new Map<string, { columns: string[]; rows: (string | number | null)[][] }>();
  private nextId = 1;

  constructor(mock: AwsClientStub<RedshiftDataClient>) {
    mock
      .on(ExecuteStatementCommand)
      .callsFake((input: { Sql?: string; Parameters?: { name?: string; value?: string }[] }) => {
        const id = `stmt-${this.nextId++}`;
        const sql = input.Sql ?? '';
        const params = Object.fromEntries((input.Parameters ?? []).map((p) => [p.name, p.value]));
        if (/information_schema\.columns/.test(sql)) {
          const rows: (string | number | null)[][] = [];
          for (const schema of [params.staging_schema, params.final_schema]) {
            for (const [column, type] of this.tables.get(`${schema}.${params.table_name}`) ?? new Map()) {
              rows.push([
                schema as string,
                column,
                type.dataType,
                type.characterMaximumLength,
                type.numericPrecision,
                type.numericScale,
              ]);
            }
          }
          this.results.set(id, {
            columns: [
              'table_schema',
              'column_name',
              'data_type',
              'character_maximum_length',
              'numeric_precision',
              'numeric_scale',
            ],
            rows,
          });
          return { Id: id };
        }
        this.singles.push(sql);
        this.log.push(sql);
        this.apply(sql);
        return { Id: id };
      });
    mock.on(BatchExecuteStatementCommand).callsFake((input: { Sqls?: string[] }) => {
      const sqls = input.Sqls ?? [];
      if (sqls.length < 1 || sqls.length > 40)
        throw Object.assign(new Error('Sqls: member must have length between 1 and 40'), {
          name: 'ValidationException',
        });
      if (sqls.some((sql) => /ALTER COLUMN .* TYPE/.test(sql)))
        throw new Error('ALTER TABLE ALTER COLUMN cannot run inside a transaction block');
      this.batches.push(sqls);
      for (const sql of sqls) {
        this.log.push(sql);
        this.apply(sql);
      }
      return { Id: `batch-${this.nextId++}` };
    });
    mock.on(DescribeStatementCommand).callsFake((input: { Id?: string }) => ({
      Id: input.Id,
      Status: 'FINISHED',
      HasResultSet: this.results.has(input.Id ?? ''),
    }));
    mock.on(GetStatementResultCommand).callsFake((input: { Id?: string }) => {
      const result = this.results.get(input.Id ?? '') ?? { columns: [], rows: [] };
      return {
        ColumnMetadata: result.columns.map((name) => ({ name })),
        Records: result.rows.map((row) =>
          row.map((value): Field => {
            if (value === null) return { isNull: true };
            return typeof value === 'number' ? { longValue: value } : { stringValue: value };
          }),
        ),
        TotalNumRows: result.rows.length,
      };
    });
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

  /** Column names of a table. */
  columnsOf(schema: string, table: string): string[] {
    return [...(this.tables.get(`${schema}.${table}`)?.keys() ?? [])];
  }

  /** Every DDL/DML statement that ran (batches flattened, single statements in place), in order. */
  statements(): string[] {
    return [...this.log];
  }

  private apply(sql: string): void {
    const create = /^CREATE TABLE IF NOT EXISTS "(\w+)"\."(\w+)" \((.*)\) DISTKEY/.exec(sql);
    if (create) {
      const key = `${create[1]}.${create[2]}`;
      if (!this.tables.has(key)) {
        this.tables.set(
          key,
          new Map(
            [...create[3].matchAll(COLUMN_DEFINITION)].map((match) => [match[1], catalogColumn(match[2])]),
          ),
        );
      }
      return;
    }
    const add = /^ALTER TABLE "(\w+)"\."(\w+)" ADD COLUMN "(\w+)" (.+?)(?: ENCODE \w+)?$/.exec(sql);
    if (add) {
      this.tables.get(`${add[1]}.${add[2]}`)?.set(add[3], catalogColumn(add[4]));
      return;
    }
    const widen = /^ALTER TABLE "(\w+)"\."(\w+)" ALTER COLUMN "(\w+)" TYPE (.+)$/.exec(sql);
    if (widen) this.tables.get(`${widen[1]}.${widen[2]}`)?.set(widen[3], catalogColumn(widen[4]));
  }
}
