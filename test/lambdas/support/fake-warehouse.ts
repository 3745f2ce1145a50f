import {
  BatchExecuteStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  type Field,
  GetStatementResultCommand,
  type RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import type { AwsClientStub } from 'aws-sdk-client-mock';

/**
 * A Redshift Data API behind aws-sdk-client-mock that keeps a tiny catalog: the DDL
 * batches it receives change it, and `information_schema.columns` queries read it, so a
 * second attempt of a step sees what the first attempt did.
 */
export class FakeWarehouse {
  /** `schema.table` → column names. */
  readonly tables = new Map<string, Set<string>>();
  /** Every statement of every batch, in order. */
  readonly batches: string[][] = [];
  private readonly results = new Map<string, { columns: string[]; rows: string[][] }>();
  private nextId = 1;

  constructor(mock: AwsClientStub<RedshiftDataClient>) {
    mock
      .on(ExecuteStatementCommand)
      .callsFake((input: { Sql?: string; Parameters?: { name?: string; value?: string }[] }) => {
        const id = `stmt-${this.nextId++}`;
        const params = Object.fromEntries((input.Parameters ?? []).map((p) => [p.name, p.value]));
        if (/information_schema\.columns/.test(input.Sql ?? '')) {
          const rows: string[][] = [];
          for (const schema of [params.staging_schema, params.final_schema]) {
            for (const column of this.tables.get(`${schema}.${params.table_name}`) ?? [])
              rows.push([schema as string, column]);
          }
          this.results.set(id, { columns: ['table_schema', 'column_name'], rows });
        }
        return { Id: id };
      });
    mock.on(BatchExecuteStatementCommand).callsFake((input: { Sqls?: string[] }) => {
      const sqls = input.Sqls ?? [];
      this.batches.push(sqls);
      for (const sql of sqls) this.apply(sql);
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
        Records: result.rows.map((row) => row.map((value): Field => ({ stringValue: value }))),
        TotalNumRows: result.rows.length,
      };
    });
  }

  /** Puts a table in place as an earlier run left it. */
  withTable(schema: string, table: string, columns: string[]): this {
    this.tables.set(`${schema}.${table}`, new Set(columns));
    return this;
  }

  /** Every statement that ran, batches flattened. */
  statements(): string[] {
    return this.batches.flat();
  }

  private apply(sql: string): void {
    const create = /^CREATE TABLE IF NOT EXISTS "(\w+)"\."(\w+)" \((.*)\)$/.exec(sql);
    if (create) {
      const key = `${create[1]}.${create[2]}`;
      if (!this.tables.has(key)) {
        this.tables.set(key, new Set([...create[3].matchAll(/"(\w+)" [^,]+/g)].map((match) => match[1])));
      }
      return;
    }
    const alter = /^ALTER TABLE "(\w+)"\."(\w+)" ADD COLUMN "(\w+)" /.exec(sql);
    if (alter) this.tables.get(`${alter[1]}.${alter[2]}`)?.add(alter[3]);
  }
}
