import {
  BatchExecuteStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import { mockClient } from 'aws-sdk-client-mock';
import { FakeWarehouse } from './fake-warehouse';

// The fake Data API of the handler tests may be no more lenient than Redshift: SQL it cannot
// judge throws, and what Redshift would fail ends FAILED with nothing changed.

const redshiftMock = mockClient(RedshiftDataClient);
const client = new RedshiftDataClient({});
const TARGET = { Database: 'dev', SecretArn: 'redshift/admin', WorkgroupName: 'wg-test' };
let warehouse: FakeWarehouse;

beforeEach(() => {
  redshiftMock.reset();
  warehouse = new FakeWarehouse(redshiftMock).withTable('s', 'account', { id: 'VARCHAR(18)' });
});

async function ending(Id: string | undefined) {
  const described = await client.send(new DescribeStatementCommand({ Id }));
  return { Status: described.Status, Error: described.Error };
}

async function single(Sql: string) {
  const { Id } = await client.send(new ExecuteStatementCommand({ ...TARGET, Sql }));
  return ending(Id);
}

test('throws on a statement it does not understand, naming it', async () => {
  const act = client.send(
    new ExecuteStatementCommand({ ...TARGET, Sql: 'ALTER TABEL "s"."account" ADD "x"' }),
  );

  await expect(act).rejects.toThrow(
    'FakeWarehouse does not understand this statement (teach it, or test it on the stand-in): ALTER TABEL "s"."account" ADD "x"',
  );
});

test('fails a statement on a table or column that does not exist, as Redshift does', async () => {
  expect(await single('TRUNCATE "s"."contact"')).toEqual({
    Status: 'FAILED',
    Error: 'ERROR: relation "s.contact" does not exist',
  });
  expect(await single('ALTER TABLE "s"."account" ALTER COLUMN "name" TYPE VARCHAR(80)')).toEqual({
    Status: 'FAILED',
    Error: 'ERROR: column "name" of relation "account" does not exist',
  });
  expect(await single('GRANT INSERT, SELECT ON TABLE "s"."contact" TO "IAMR:appflow-redshift"')).toEqual({
    Status: 'FAILED',
    Error: 'ERROR: relation "s.contact" does not exist',
  });
  expect(await single('TRUNCATE "s"."account"')).toEqual({ Status: 'FINISHED', Error: undefined });
});

test('fails a CREATE TABLE of a table that exists and an ADD COLUMN of a column that exists', async () => {
  expect(await single('CREATE TABLE "s"."account" ("id" VARCHAR(18)) DISTKEY("id") SORTKEY("id")')).toEqual({
    Status: 'FAILED',
    Error: 'ERROR: relation "account" already exists',
  });
  expect(await single('ALTER TABLE "s"."account" ADD COLUMN "id" VARCHAR(18) ENCODE ZSTD')).toEqual({
    Status: 'FAILED',
    Error: 'ERROR: column "id" of relation "account" already exists',
  });
  expect(
    await single('CREATE TABLE IF NOT EXISTS "s"."account" ("id" VARCHAR(18)) DISTKEY("id") SORTKEY("id")'),
  ).toEqual({ Status: 'FINISHED', Error: undefined });
});

test('rolls back the whole batch when one of its statements fails', async () => {
  // Act
  const { Id } = await client.send(
    new BatchExecuteStatementCommand({
      ...TARGET,
      Sqls: [
        'ALTER TABLE "s"."account" ADD COLUMN "name" VARCHAR(1020) ENCODE ZSTD',
        'TRUNCATE "s"."contact"',
      ],
    }),
  );

  // Assess
  expect(await ending(Id)).toEqual({ Status: 'FAILED', Error: 'ERROR: relation "s.contact" does not exist' });
  expect(warehouse.columnsOf('s', 'account')).toEqual(['id']);
  expect(warehouse.statements()).toEqual([]);
});

test('runs a CALL only of a procedure sql/ deploys, by name and argument count', async () => {
  const arguments8 = ':a, :b, :c, :d, :e, :f, :g, :h';
  const parameters = 'abcdefgh'.split('').map((name) => ({ name, value: name }));
  const call = async (Sql: string) => {
    const { Id } = await client.send(new ExecuteStatementCommand({ ...TARGET, Sql, Parameters: parameters }));
    return ending(Id);
  };

  expect(await call(`CALL consolidate_object(${arguments8})`)).toEqual({
    Status: 'FINISHED',
    Error: undefined,
  });
  expect(await call(`CALL consolidate_object(${arguments8}, 30, :a, :b)`)).toEqual({
    Status: 'FAILED',
    Error: 'ERROR: procedure consolidate_object with 11 arguments does not exist',
  });
  expect(await call('CALL consolidate_objects(:a)')).toMatchObject({ Status: 'FAILED' });
});
