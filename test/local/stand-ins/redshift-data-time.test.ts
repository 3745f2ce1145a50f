import {
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import type { PGlite } from '@electric-sql/pglite';
import { FaultInjector } from '../../../local/stand-ins/fault-injector';
import { RedshiftDataStandIn, SIMULATED_NOW_HEADER } from '../../../local/stand-ins/redshift-data-stand-in';
import { createWarehouse } from '../../support/warehouse';

const TARGET = { WorkgroupName: 'local', Database: 'dev', SecretArn: 'redshift-secret' };
const START = Date.parse('2026-01-02T06:00:00Z');

/**
 * Issue 19: statements take simulated time. A caller is at the simulated time its requests carry
 * (the local run's function clients send it); a statement ends `statementSeconds` after it was sent.
 */
describe('the Data API stand-in in simulated time', () => {
  let db: PGlite;
  let standIn: RedshiftDataStandIn;
  let callerNow = START;
  let client: RedshiftDataClient;

  beforeAll(async () => {
    db = await createWarehouse();
    standIn = new RedshiftDataStandIn({
      db,
      faults: new FaultInjector(),
      time: {
        statementSeconds: (sql) => (/pg_sleep_not_really|SELECT 42/.test(sql) ? 75 : 0),
        now: () => START,
      },
    });
    const { url } = await standIn.start();
    client = new RedshiftDataClient({
      endpoint: url,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    client.middlewareStack.add(
      (next) => async (args) => {
        (args.request as { headers: Record<string, string> }).headers[SIMULATED_NOW_HEADER] =
          String(callerNow);
        return next(args);
      },
      { step: 'build', name: 'simulatedNow' },
    );
  });

  afterAll(async () => {
    client.destroy();
    await standIn.stop();
    await db.close();
  });

  test('a 75-second statement runs until the caller is 75 simulated seconds later, however fast PGlite was', async () => {
    // Prepare
    callerNow = START;
    const { Id } = await client.send(
      new ExecuteStatementCommand({ ...TARGET, Sql: 'SELECT 42 AS answer', WithEvent: true }),
    );
    await standIn.whenIdle();

    // Act
    callerNow = START + 74_000;
    const early = await client.send(new DescribeStatementCommand({ Id }));
    const earlyResult = await client
      .send(new GetStatementResultCommand({ Id }))
      .catch((error: Error) => error);
    callerNow = START + 75_000;
    const done = await client.send(new DescribeStatementCommand({ Id }));

    // Assess
    expect(early.Status).toBe('STARTED');
    expect(earlyResult).toMatchObject({ name: 'ValidationException' });
    expect(done).toMatchObject({ Status: 'FINISHED', HasResultSet: true });
    expect((await client.send(new GetStatementResultCommand({ Id }))).Records).toEqual([[{ longValue: 42 }]]);
  });

  test("a statement sent WithEvent has the Data API's end event, and when it ends for callers", async () => {
    // Prepare
    callerNow = START;
    const { Id } = await client.send(
      new ExecuteStatementCommand({
        ...TARGET,
        Sql: 'SELECT 42',
        WithEvent: true,
        StatementName: 's2r-Account-count-run-1',
      }),
    );

    // Act
    const end = standIn.statementEnd(Id as string);

    // Assess
    expect(end.readyAtMs).toBe(START + 75_000);
    expect(await end.event()).toMatchObject({
      statementId: Id,
      statementName: 's2r-Account-count-run-1',
      state: 'FINISHED',
      rows: 1,
    });
  });

  test('a statement sent without WithEvent publishes no end event', async () => {
    const { Id } = await client.send(new ExecuteStatementCommand({ ...TARGET, Sql: 'SELECT 1' }));
    expect(await standIn.statementEnd(Id as string).event()).toBeUndefined();
  });
});
