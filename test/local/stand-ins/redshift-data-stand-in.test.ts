import {
  BatchExecuteStatementCommand,
  CancelStatementCommand,
  DescribeStatementCommand,
  type DescribeStatementResponse,
  ExecuteStatementCommand,
  type ExecuteStatementCommandInput,
  GetStatementResultCommand,
  paginateGetStatementResult,
  RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import type { PGlite } from '@electric-sql/pglite';
import { FaultInjector } from '../../../local/stand-ins/fault-injector';
import { MAX_STATEMENT_BYTES, RedshiftDataStandIn } from '../../../local/stand-ins/redshift-data-stand-in';
import { createLocalWarehouse } from '../../../local/warehouse/local-warehouse';
import { createWarehouse } from '../../support/warehouse';

/** Shaped as the Data API's statement ids (a UUID), so only the stand-in can say it is unknown. */
const UNKNOWN_STATEMENT_ID = 'd9b6c0c9-0747-4bf4-b142-e8883122f766';

const TARGET = {
  ClusterIdentifier: 'local-cluster',
  Database: 'dev',
  SecretArn: 'arn:aws:secretsmanager:eu-west-1:000000000000:secret:redshift-AbCdEf',
};

describe('RedshiftDataStandIn through the AWS SDK', () => {
  let db: PGlite;
  let faults: FaultInjector;
  let standIn: RedshiftDataStandIn;
  let redshiftData: RedshiftDataClient;

  beforeAll(async () => {
    db = await createWarehouse();
    await db.exec(`
      CREATE SCHEMA salesforce;
      CREATE TABLE salesforce.account (id varchar(18), name varchar(255), systemmodstamp timestamp);
      CREATE TABLE public.typed (
        i int, b bigint, n numeric(10, 2), f float8, flag boolean, ts timestamp, d date, t varchar(20)
      );
      CREATE PROCEDURE public.rename_account(account_id varchar, new_name varchar) LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE salesforce.account SET name = new_name WHERE id = account_id;
      END;
      $$;
    `);
    faults = new FaultInjector();
    standIn = new RedshiftDataStandIn({
      db,
      faults,
      objectNames: () => ['Account', 'Contact'],
      resultPageRows: 2,
    });
    const { url } = await standIn.start();
    redshiftData = new RedshiftDataClient({
      endpoint: url,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1, // see every injected error instead of the SDK's retries
    });
  });

  afterAll(async () => {
    redshiftData.destroy();
    await standIn.stop();
    await db.close();
  });

  beforeEach(async () => {
    faults.clear();
    await db.exec('DELETE FROM salesforce.account; DELETE FROM public.typed;');
  });

  /** Polls DescribeStatement until the statement ends, as the pipeline's wait loop does. */
  async function waitForStatement(id: string): Promise<DescribeStatementResponse> {
    for (let poll = 0; poll < 200; poll += 1) {
      const described = await redshiftData.send(new DescribeStatementCommand({ Id: id }));
      if (
        described.Status === 'FINISHED' ||
        described.Status === 'FAILED' ||
        described.Status === 'ABORTED'
      ) {
        return described;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error(`statement ${id} never ended`);
  }

  async function execute(
    input: Omit<ExecuteStatementCommandInput, 'Database'>,
  ): Promise<DescribeStatementResponse> {
    const { Id } = await redshiftData.send(new ExecuteStatementCommand({ ...TARGET, ...input }));
    return waitForStatement(Id!);
  }

  test('ExecuteStatement substitutes named parameters as safely quoted literals', async () => {
    const inserted = await execute({
      Sql: 'INSERT INTO salesforce.account (id, name, systemmodstamp) VALUES (:id, :name, :modstamp)',
      Parameters: [
        { name: 'id', value: '001A' },
        { name: 'name', value: "O'Brien; DROP TABLE salesforce.account; --" },
        { name: 'modstamp', value: '2026-01-01T06:00:01.000Z' },
      ],
    });
    expect(inserted).toEqual(
      expect.objectContaining({ Status: 'FINISHED', HasResultSet: false, ResultRows: 1 }),
    );
    expect(inserted.QueryString).toContain(':name');

    const selected = await execute({
      Sql: 'SELECT name, systemmodstamp FROM salesforce.account WHERE id = :id',
      Parameters: [{ name: 'id', value: '001A' }],
    });
    const result = await redshiftData.send(new GetStatementResultCommand({ Id: selected.Id }));

    expect(result.Records).toEqual([
      [{ stringValue: "O'Brien; DROP TABLE salesforce.account; --" }, { stringValue: '2026-01-01 06:00:01' }],
    ]);
    expect(result.ColumnMetadata?.map((column) => [column.name, column.typeName])).toEqual([
      ['name', 'varchar'],
      ['systemmodstamp', 'timestamp'],
    ]);
  });

  test('GetStatementResult types fields like the Data API', async () => {
    await db.exec(`
      INSERT INTO public.typed VALUES (42, 9007199254740991, 12.50, 2.5, true, '2026-01-01 06:00:01.250', '2026-01-02', 'x');
      INSERT INTO public.typed VALUES (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    `);

    const selected = await execute({ Sql: 'SELECT * FROM public.typed ORDER BY i NULLS LAST' });
    const result = await redshiftData.send(new GetStatementResultCommand({ Id: selected.Id }));

    expect(selected).toEqual(expect.objectContaining({ HasResultSet: true, ResultRows: 2 }));
    expect(result.TotalNumRows).toBe(2);
    expect(result.Records).toEqual([
      [
        { longValue: 42 },
        { longValue: 9007199254740991 },
        { stringValue: '12.50' },
        { doubleValue: 2.5 },
        { booleanValue: true },
        { stringValue: '2026-01-01 06:00:01.25' },
        { stringValue: '2026-01-02' },
        { stringValue: 'x' },
      ],
      Array.from({ length: 8 }, () => ({ isNull: true })),
    ]);
    expect(result.ColumnMetadata?.map((column) => column.typeName)).toEqual([
      'int4',
      'int8',
      'numeric',
      'float8',
      'bool',
      'timestamp',
      'date',
      'varchar',
    ]);
  });

  test('results are paged and the SDK paginator follows NextToken', async () => {
    await db.exec("INSERT INTO salesforce.account (id) VALUES ('1'), ('2'), ('3'), ('4'), ('5')");
    const selected = await execute({ Sql: 'SELECT id FROM salesforce.account ORDER BY id' });

    const ids: string[] = [];
    for await (const page of paginateGetStatementResult({ client: redshiftData }, { Id: selected.Id })) {
      expect(page.Records!.length).toBeLessThanOrEqual(2);
      ids.push(...page.Records!.map((record) => record[0].stringValue ?? ''));
    }

    expect(ids).toEqual(['1', '2', '3', '4', '5']);
  });

  test('a failing statement ends FAILED with the database error', async () => {
    const failed = await execute({ Sql: 'SELECT * FROM salesforce.no_such_table' });

    expect(failed.Status).toBe('FAILED');
    expect(failed.Error).toBe('ERROR: relation "salesforce.no_such_table" does not exist');
  });

  test('ExecuteStatement takes one statement; several fail as with prepared statements', async () => {
    const failed = await execute({ Sql: 'SELECT 1; SELECT 2' });

    expect(failed.Status).toBe('FAILED');
    expect(failed.Error).toMatch(/cannot insert multiple commands into a prepared statement/);
  });

  test('a missing parameter and a missing cluster are ValidationExceptions', async () => {
    await expect(
      redshiftData.send(new ExecuteStatementCommand({ ...TARGET, Sql: 'SELECT :nope' })),
    ).rejects.toMatchObject({ name: 'ValidationException', message: /'nope'/ });
    await expect(
      redshiftData.send(new ExecuteStatementCommand({ Database: 'dev', Sql: 'SELECT 1' })),
    ).rejects.toHaveProperty('name', 'ValidationException');
  });

  test('CALL runs a stored procedure with parameters', async () => {
    await db.exec("INSERT INTO salesforce.account (id, name) VALUES ('001A', 'Old')");

    const called = await execute({
      Sql: 'CALL rename_account(:id, :name)',
      Parameters: [
        { name: 'id', value: '001A' },
        { name: 'name', value: "O'Brien" },
      ],
    });

    expect(called.Status).toBe('FINISHED');
    const rows = await db.query<{ name: string }>('SELECT name FROM salesforce.account');
    expect(rows.rows.map((row) => row.name)).toEqual(["O'Brien"]);
  });

  test('BatchExecuteStatement commits all statements with sub-statement ids', async () => {
    const { Id } = await redshiftData.send(
      new BatchExecuteStatementCommand({
        ...TARGET,
        Sqls: [
          "INSERT INTO salesforce.account (id) VALUES ('B1')",
          "INSERT INTO salesforce.account (id) VALUES ('B2')",
          'SELECT count(*) AS n FROM salesforce.account',
        ],
      }),
    );

    const batch = await waitForStatement(Id!);
    expect(batch.Status).toBe('FINISHED');
    expect(batch.SubStatements?.map((sub) => [sub.Id, sub.Status, sub.HasResultSet])).toEqual([
      [`${Id}:1`, 'FINISHED', false],
      [`${Id}:2`, 'FINISHED', false],
      [`${Id}:3`, 'FINISHED', true],
    ]);
    const sub = await redshiftData.send(new DescribeStatementCommand({ Id: `${Id}:3` }));
    expect(sub.QueryString).toBe('SELECT count(*) AS n FROM salesforce.account');
    const count = await redshiftData.send(new GetStatementResultCommand({ Id: `${Id}:3` }));
    expect(count.Records).toEqual([[{ longValue: 2 }]]);
    await expect(redshiftData.send(new GetStatementResultCommand({ Id }))).rejects.toHaveProperty(
      'name',
      'ValidationException',
    );
  });

  test('a failing batch member rolls the whole batch back', async () => {
    const { Id } = await redshiftData.send(
      new BatchExecuteStatementCommand({
        ...TARGET,
        Sqls: [
          "INSERT INTO salesforce.account (id) VALUES ('R1')",
          'INSERT INTO salesforce.account (no_such_column) VALUES (1)',
          "INSERT INTO salesforce.account (id) VALUES ('R3')",
        ],
      }),
    );

    const batch = await waitForStatement(Id!);

    expect(batch.Status).toBe('FAILED');
    expect(batch.Error).toMatch(/column "no_such_column" of relation "account" does not exist/);
    expect(batch.SubStatements?.map((sub) => sub.Status)).toEqual(['FINISHED', 'FAILED', 'ABORTED']);
    const rows = await db.query('SELECT * FROM salesforce.account');
    expect(rows.rows).toEqual([]);
  });

  test('statements run one at a time in the order they arrive', async () => {
    const ids: string[] = [];
    for (const sql of [
      "INSERT INTO salesforce.account (id) VALUES ('F1')",
      "UPDATE salesforce.account SET name = 'second' WHERE id = 'F1'",
      "UPDATE salesforce.account SET name = name || '+third' WHERE id = 'F1'",
    ]) {
      const { Id } = await redshiftData.send(new ExecuteStatementCommand({ ...TARGET, Sql: sql }));
      ids.push(Id!);
    }
    await standIn.whenIdle();

    for (const id of ids) {
      expect((await redshiftData.send(new DescribeStatementCommand({ Id: id }))).Status).toBe('FINISHED');
    }
    const rows = await db.query<{ name: string }>('SELECT name FROM salesforce.account');
    expect(rows.rows).toEqual([{ name: 'second+third' }]);
  });

  test('unknown ids are ResourceNotFoundException; results of DML are ValidationException', async () => {
    await expect(
      redshiftData.send(new DescribeStatementCommand({ Id: UNKNOWN_STATEMENT_ID })),
    ).rejects.toHaveProperty('name', 'ResourceNotFoundException');
    const inserted = await execute({ Sql: "INSERT INTO salesforce.account (id) VALUES ('X')" });
    await expect(
      redshiftData.send(new GetStatementResultCommand({ Id: inserted.Id })),
    ).rejects.toHaveProperty('name', 'ValidationException');
    await expect(redshiftData.send(new CancelStatementCommand({ Id: inserted.Id }))).rejects.toHaveProperty(
      'name',
      'ValidationException',
    );
  });

  test('an API fault narrowed to an object hits only statements naming that object', async () => {
    faults.add([
      {
        service: 'redshift-data',
        operation: 'ExecuteStatement',
        object: 'Account',
        times: 1,
        error: 'ThrottlingException',
      },
    ]);

    await expect(
      redshiftData.send(new ExecuteStatementCommand({ ...TARGET, Sql: 'SELECT * FROM public.typed' })),
    ).resolves.toBeDefined();
    const throttled = await redshiftData
      .send(
        new ExecuteStatementCommand({
          ...TARGET,
          Sql: 'CALL consolidate_object(:staging, :final, :table)',
          Parameters: [
            { name: 'staging', value: 'salesforce_incremental' },
            { name: 'final', value: 'salesforce' },
            { name: 'table', value: 'account' },
          ],
        }),
      )
      .catch((caught: unknown) => caught);

    expect(throttled).toHaveProperty('name', 'ThrottlingException');
    expect(faults.pending()).toEqual([]);
  });

  test('known fault codes map to SDK exceptions; other text is a ValidationException', async () => {
    faults.add([
      {
        service: 'redshift-data',
        operation: 'DescribeStatement',
        times: 1,
        error: 'InternalServerException',
      },
      { service: 'redshift-data', operation: 'ExecuteStatement', times: 1, error: 'cluster is resizing' },
    ]);

    const internal = await redshiftData
      .send(new DescribeStatementCommand({ Id: UNKNOWN_STATEMENT_ID }))
      .catch((caught: unknown) => caught);
    const text = await redshiftData
      .send(new ExecuteStatementCommand({ ...TARGET, Sql: 'SELECT 1' }))
      .catch((caught: unknown) => caught);

    expect(internal).toHaveProperty('name', 'InternalServerException');
    expect(internal).toHaveProperty('$metadata.httpStatusCode', 500);
    expect(text).toMatchObject({ name: 'ValidationException', message: 'cluster is resizing' });
  });

  test('a Statement fault ends the statement FAILED with its text, without running it', async () => {
    faults.add([
      {
        service: 'redshift-data',
        operation: 'Statement',
        object: 'Account',
        times: 1,
        error: 'ERROR: disk full',
      },
    ]);

    const failed = await execute({ Sql: "INSERT INTO salesforce.account (id) VALUES ('S1')" });

    expect(failed).toEqual(expect.objectContaining({ Status: 'FAILED', Error: 'ERROR: disk full' }));
    const rows = await db.query('SELECT * FROM salesforce.account');
    expect(rows.rows).toEqual([]);
    expect(
      standIn.calls.filter((call) => call.sql?.includes("('S1')")).map((call) => call.operation),
    ).toEqual(expect.arrayContaining(['ExecuteStatement', 'DescribeStatement']));
  });
});

describe('RedshiftDataStandIn enforces the Data API limits and Redshift dialect', () => {
  let db: PGlite;
  let standIn: RedshiftDataStandIn;
  let redshiftData: RedshiftDataClient;

  beforeAll(async () => {
    db = await createLocalWarehouse({ applySql: false });
    await db.exec('CREATE SCHEMA salesforce_incremental');
    standIn = new RedshiftDataStandIn({ db, faults: new FaultInjector() });
    const { url } = await standIn.start();
    redshiftData = new RedshiftDataClient({
      endpoint: url,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    redshiftData.destroy();
    await standIn.stop();
    await db.close();
  });

  async function waitFor(id: string): Promise<DescribeStatementResponse> {
    for (let poll = 0; poll < 400; poll += 1) {
      const described = await redshiftData.send(new DescribeStatementCommand({ Id: id }));
      if (
        described.Status === 'FINISHED' ||
        described.Status === 'FAILED' ||
        described.Status === 'ABORTED'
      ) {
        return described;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error(`statement ${id} never ended`);
  }

  async function run(sql: string): Promise<DescribeStatementResponse> {
    const { Id } = await redshiftData.send(new ExecuteStatementCommand({ ...TARGET, Sql: sql }));
    return waitFor(Id!);
  }

  test('a batch of 41 statements is a ValidationException; 40 run', async () => {
    const sqls = (count: number) => Array.from({ length: count }, (_, index) => `SELECT ${index}`);

    await expect(
      redshiftData.send(new BatchExecuteStatementCommand({ ...TARGET, Sqls: sqls(41) })),
    ).rejects.toMatchObject({ name: 'ValidationException', message: /less than or equal to 40/ });
    const { Id } = await redshiftData.send(new BatchExecuteStatementCommand({ ...TARGET, Sqls: sqls(40) }));
    expect((await waitFor(Id!)).Status).toBe('FINISHED');
  });

  test('a statement over 100 KB is a ValidationException, in ExecuteStatement and in a batch', async () => {
    const sqlOfBytes = (bytes: number) => `SELECT '${'x'.repeat(bytes - 'SELECT '.length - 2)}'`;
    expect(Buffer.byteLength(sqlOfBytes(MAX_STATEMENT_BYTES + 1))).toBe(100_001);

    await expect(
      redshiftData.send(new ExecuteStatementCommand({ ...TARGET, Sql: sqlOfBytes(MAX_STATEMENT_BYTES + 1) })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'Cannot process query string larger than 100kB',
    });
    await expect(
      redshiftData.send(
        new BatchExecuteStatementCommand({
          ...TARGET,
          Sqls: ['SELECT 1', sqlOfBytes(MAX_STATEMENT_BYTES + 1)],
        }),
      ),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'Cannot process query string larger than 100kB',
    });
    expect((await run(sqlOfBytes(MAX_STATEMENT_BYTES))).Status).toBe('FINISHED');
  });

  test('the 100 KB counts bytes: 4-byte characters reach it four times sooner', async () => {
    const emoji = '\u{1F600}'; // 4 bytes in UTF-8, 2 UTF-16 code units
    const sql = `SELECT '${emoji.repeat(25_001)}'`;
    expect(sql.length).toBeLessThan(MAX_STATEMENT_BYTES);

    await expect(
      redshiftData.send(new ExecuteStatementCommand({ ...TARGET, Sql: sql })),
    ).rejects.toHaveProperty('name', 'ValidationException');
  });

  test('BatchExecuteStatement takes no Parameters', async () => {
    await expect(
      redshiftData.send(
        new BatchExecuteStatementCommand({
          ...TARGET,
          Sqls: ['SELECT :id'],
          // Not in the SDK's input type: sent as a client that ignores the model would.
          ...({ Parameters: [{ name: 'id', value: '1' }] } as object),
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException', message: /takes no Parameters/ });
  });

  test.each([
    [
      'a name outside ^[0-9a-zA-Z_]+$',
      [{ name: 'bad-name', value: '1' }],
      'SELECT :bad',
      /regular expression/,
    ],
    [
      'an empty value (no NULL parameters)',
      [{ name: 'id', value: '' }],
      'SELECT :id',
      /greater than or equal to 1/,
    ],
    [
      'a parameter the SQL does not use',
      [
        { name: 'id', value: '1' },
        { name: 'extra', value: '2' },
      ],
      'SELECT :id',
      /'extra'.*not used/,
    ],
    [
      'a name given twice',
      [
        { name: 'id', value: '1' },
        { name: 'id', value: '2' },
      ],
      'SELECT :id',
      /more than once/,
    ],
    ['an empty Parameters list', [], 'SELECT 1', /greater than or equal to 1/],
  ])('parameters: %s is a ValidationException', async (_, Parameters, Sql, message) => {
    await expect(
      redshiftData.send(new ExecuteStatementCommand({ ...TARGET, Sql, Parameters })),
    ).rejects.toMatchObject({ name: 'ValidationException', message });
  });

  test('Postgres-only SQL fails the statement, naming the construct', async () => {
    const failed = await run("SELECT string_agg(nspname, ',') FROM pg_namespace");

    expect(failed.Status).toBe('FAILED');
    expect(failed.Error).toMatch(/^ERROR: string_agg is not supported by Amazon Redshift/);
  });

  test('Redshift DDL with DISTKEY and SORTKEY runs, and the sort key becomes an index', async () => {
    const created = await run(
      'CREATE TABLE salesforce_incremental.account (id VARCHAR(18) ENCODE zstd, name VARCHAR(255)) ' +
        'DISTSTYLE KEY DISTKEY(id) COMPOUND SORTKEY(id)',
    );

    expect(created.Status).toBe('FINISHED');
    const indexes = await db.query<{ indexdef: string }>(
      "SELECT indexdef FROM pg_indexes WHERE schemaname = 'salesforce_incremental' AND tablename = 'account'",
    );
    expect(indexes.rows.map((row) => row.indexdef)).toEqual([
      'CREATE INDEX account_sortkey ON salesforce_incremental.account USING btree (id)',
    ]);
  });

  test('VARCHAR(65536) fails like Redshift', async () => {
    const failed = await run('CREATE TABLE salesforce_incremental.too_wide (notes VARCHAR(65536))');

    expect(failed.Status).toBe('FAILED');
    expect(failed.Error).toMatch(/length for type varchar cannot exceed 65535/);
  });

  test('widening a VARCHAR runs alone but not inside a batch (a transaction block)', async () => {
    await run('CREATE TABLE salesforce_incremental.widen (notes VARCHAR(10))');

    const { Id } = await redshiftData.send(
      new BatchExecuteStatementCommand({
        ...TARGET,
        Sqls: ['SELECT 1', 'ALTER TABLE salesforce_incremental.widen ALTER COLUMN notes TYPE VARCHAR(20)'],
      }),
    );
    const batch = await waitFor(Id!);
    expect(batch.Status).toBe('FAILED');
    expect(batch.Error).toMatch(/cannot run inside a transaction block/);

    expect(
      (await run('ALTER TABLE salesforce_incremental.widen ALTER COLUMN notes TYPE VARCHAR(20)')).Status,
    ).toBe('FINISHED');
    const narrowed = await run(
      'ALTER TABLE salesforce_incremental.widen ALTER COLUMN notes TYPE VARCHAR(15)',
    );
    expect(narrowed.Status).toBe('FAILED');
    expect(narrowed.Error).toMatch(
      /target column size 15 should be greater or equal to current maximum column size 20/,
    );
  });

  test("a value of more bytes than its VARCHAR holds fails with Redshift's error text", async () => {
    await run('CREATE TABLE salesforce_incremental.bytes (name VARCHAR(10))');

    const { Id } = await redshiftData.send(
      new ExecuteStatementCommand({
        ...TARGET,
        Sql: 'INSERT INTO salesforce_incremental.bytes VALUES (:name)',
        Parameters: [{ name: 'name', value: `${'\u00e9'.repeat(5)}x` }], // 6 characters, 11 bytes
      }),
    );
    const failed = await waitFor(Id!);

    expect(failed.Status).toBe('FAILED');
    expect(failed.Error).toBe('ERROR: value too long for type character varying(10)');
  });
});
