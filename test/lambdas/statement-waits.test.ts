import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendTaskSuccessCommand, SFNClient, TaskTimedOut } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  awaitStatement,
  type StatementWaitDependencies,
  statementEnded,
} from '../../lambdas/common/statement-rendezvous';
import {
  STATEMENT_ENDED_DETAIL_TYPE,
  STATEMENT_EVENT_SOURCE,
  statementNameFor,
  statementWaitFor,
} from '../../lambdas/common/statement-waits';
import { Dynalite } from '../support/dynalite';

const TABLE = 'statement-waits-test';
const dynalite = new Dynalite();
const sfnMock = mockClient(SFNClient);
let client: DynamoDBClient;
let deps: StatementWaitDependencies;
let nextStatement = 1;
/** A fresh statement id per test: the table is shared by the file's tests. */
let statementId: string;

type Handler = (event: unknown) => Promise<void>;
let awaitHandler: Handler;
let endedHandler: Handler;

const NOW = new Date('2026-03-10T06:00:00.000Z');
const A_DAY_AND_AN_HOUR = 25 * 3600;

beforeAll(async () => {
  await dynalite.start();
  client = dynalite.client();
  // The stack's table: partition key statementId, TTL on expiresAt.
  await client.send(
    new CreateTableCommand({
      TableName: TABLE,
      AttributeDefinitions: [{ AttributeName: 'statementId', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'statementId', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  deps = {
    sfn: new SFNClient({}),
    doc: DynamoDBDocumentClient.from(client),
    tableName: TABLE,
    now: () => NOW,
  };
  Object.assign(process.env, {
    STATEMENT_WAITS_TABLE_NAME: TABLE,
    AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
  });
  // Loaded now, so that their module-scope clients are made with the stand-in's endpoint.
  awaitHandler = (require('../../lambdas/await-statement') as typeof import('../../lambdas/await-statement'))
    .handler as Handler;
  endedHandler = (require('../../lambdas/statement-ended') as typeof import('../../lambdas/statement-ended'))
    .handler;
});

afterAll(async () => {
  delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
  client.destroy();
  await dynalite.stop();
});

beforeEach(() => {
  sfnMock.reset();
  sfnMock.on(SendTaskSuccessCommand).resolves({});
  statementId = `5f0c2a6e-0000-4000-8000-${String(nextStatement++).padStart(12, '0')}`;
});

const item = async (id = statementId) =>
  (await deps.doc.send(new GetCommand({ TableName: TABLE, Key: { statementId: id } }))).Item;
const answers = () => sfnMock.commandCalls(SendTaskSuccessCommand).map((call) => call.args[0].input);

describe('statement waits: the waiting task and the statement end meet in one item (issue 19)', () => {
  test('token first, then the end: the end answers the task once and the item is forgotten', async () => {
    // Prepare
    const waiting = await awaitStatement(deps, statementId, 'token-1');

    // Act
    const settlement = await statementEnded(deps, statementId, 'FINISHED');

    // Assess
    expect(waiting).toBe('waiting');
    expect(settlement).toBe('answered');
    expect(answers()).toEqual([
      { taskToken: 'token-1', output: JSON.stringify({ statementId, endedState: 'FINISHED' }) },
    ]);
    expect(await item()).toBeUndefined();
  });

  test('end first, then the token: the end is kept and the token is answered at once', async () => {
    // Prepare: a statement that ended between the step's last look and the wait's start
    const noted = await statementEnded(deps, statementId, 'FAILED');
    const kept = await item();

    // Act
    const settlement = await awaitStatement(deps, statementId, 'token-1');

    // Assess
    expect(noted).toBe('waiting');
    expect(kept).toEqual({
      statementId,
      endedState: 'FAILED',
      expiresAt: NOW.getTime() / 1000 + A_DAY_AND_AN_HOUR,
    });
    expect(settlement).toBe('answered');
    expect(answers()).toEqual([
      { taskToken: 'token-1', output: JSON.stringify({ statementId, endedState: 'FAILED' }) },
    ]);
    expect(await item()).toBeUndefined();
  });

  test('token and end at the same moment: exactly one SendTaskSuccess, whichever writes second', async () => {
    // Prepare
    const ids = Array.from({ length: 20 }, (_, index) => `${statementId}-${index}`);

    // Act
    await Promise.all(
      ids.flatMap((id) => [awaitStatement(deps, id, `token-${id}`), statementEnded(deps, id, 'FINISHED')]),
    );

    // Assess
    const tokens = answers().map((answer) => answer.taskToken);
    expect(tokens.sort()).toEqual(ids.map((id) => `token-${id}`).sort());
  });

  test('stores the token until the end comes, expiring a day and an hour after it was written', async () => {
    // Act
    await awaitStatement(deps, statementId, 'token-1');

    // Assess
    expect(await item()).toEqual({
      statementId,
      taskToken: 'token-1',
      expiresAt: NOW.getTime() / 1000 + A_DAY_AND_AN_HOUR,
    });
    expect(sfnMock.calls()).toHaveLength(0);
  });

  test('a duplicate end event after the answer sends nothing more', async () => {
    // Prepare
    await awaitStatement(deps, statementId, 'token-1');
    await statementEnded(deps, statementId, 'FINISHED');

    // Act
    const settlement = await statementEnded(deps, statementId, 'FINISHED');

    // Assess
    expect(settlement).toBe('waiting');
    expect(sfnMock).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
  });

  test('a new wait on the same statement (the first one timed out) replaces the old token: the end answers the new one', async () => {
    // Prepare
    await awaitStatement(deps, statementId, 'token-timed-out');

    // Act
    await awaitStatement(deps, statementId, 'token-2');
    await statementEnded(deps, statementId, 'FINISHED');

    // Assess
    expect(answers().map((answer) => answer.taskToken)).toEqual(['token-2']);
  });

  test('a closed task (TaskTimedOut) is harmless: nothing throws, the settlement says closed', async () => {
    // Prepare: the wait timed out; the step looked itself and went on
    await awaitStatement(deps, statementId, 'token-timed-out');
    sfnMock
      .on(SendTaskSuccessCommand)
      .rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));

    // Act
    const settlement = await statementEnded(deps, statementId, 'FINISHED');

    // Assess
    expect(settlement).toBe('closed');
  });

  test('an end that found only a timed-out task is kept for the wait that follows (the step still saw the statement running)', async () => {
    // Prepare: the first wait timed out; the step looked, found the statement running, and waits again;
    // the end comes between the step's look and the new wait's token
    await awaitStatement(deps, statementId, 'token-timed-out');
    sfnMock
      .on(SendTaskSuccessCommand, { taskToken: 'token-timed-out' })
      .rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));
    await statementEnded(deps, statementId, 'FINISHED');

    // Act
    const settlement = await awaitStatement(deps, statementId, 'token-2');

    // Assess: answered now, not after the new wait's (doubled) timeout
    expect(settlement).toBe('answered');
    expect(sfnMock).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'token-2' });
  });

  test('a throttled SendTaskSuccess fails as Throttled and keeps the item, so the retried event answers', async () => {
    // Prepare
    await awaitStatement(deps, statementId, 'token-1');
    sfnMock
      .on(SendTaskSuccessCommand)
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))
      .resolves({});
    await expect(statementEnded(deps, statementId, 'FINISHED')).rejects.toMatchObject({ name: 'Throttled' });

    // Act: EventBridge delivers the event again
    const settlement = await statementEnded(deps, statementId, 'FINISHED');

    // Assess
    expect(settlement).toBe('answered');
    expect(await item()).toBeUndefined();
  });
});

describe('statementWaitFor / statementNameFor', () => {
  const slot = { id: 'stmt-1', attempt: 1, status: 'RUNNING' as const };

  test('waits 15 minutes on a new statement, twice as long on the same one after each timeout, at most a day', () => {
    // Act
    const first = statementWaitFor(slot, 'Account: consolidate_object', undefined);
    const timeouts = [first.timeoutSeconds];
    let wait = first;
    for (let timedOut = 0; timedOut < 8; timedOut++) {
      wait = statementWaitFor(slot, 'Account: consolidate_object', wait);
      timeouts.push(wait.timeoutSeconds);
    }

    // Assess
    expect(first).toEqual({
      statementId: 'stmt-1',
      what: 'Account: consolidate_object',
      timeoutSeconds: 900,
    });
    expect(timeouts).toEqual([900, 1800, 3600, 7200, 14400, 28800, 57600, 86400, 86400]);
  });

  test('starts again at 15 minutes for another statement (the next one of the step)', () => {
    // Act
    const wait = statementWaitFor({ ...slot, id: 'stmt-2' }, 'Account: audit', {
      statementId: 'stmt-1',
      what: 'Account: consolidate_object',
      timeoutSeconds: 3600,
    });

    // Assess
    expect(wait.timeoutSeconds).toBe(900);
  });

  test("names statements with the pipeline's prefix, so the event rule wakes only its own, within 500 characters", () => {
    // Act / Assess
    expect(statementNameFor('s2r-dev', 'Account', 'consolidate', 'run-1')).toBe(
      's2r-dev-Account-consolidate-run-1',
    );
    expect(statementNameFor('s2r-dev', 'x'.repeat(600), 'consolidate', 'run-1')).toHaveLength(500);
  });
});

describe('await-statement and statement-ended handlers', () => {
  const endEvent = (detail: Record<string, unknown>) => ({
    version: '0',
    id: 'e-1',
    source: STATEMENT_EVENT_SOURCE,
    'detail-type': STATEMENT_ENDED_DETAIL_TYPE,
    account: '111111111111',
    region: 'eu-west-1',
    time: '2026-03-10T06:12:00Z',
    resources: [],
    detail,
  });

  test("the state machine's token and the Data API's end event meet through the table", async () => {
    // Act
    await awaitHandler({
      taskToken: 'token-1',
      wait: { statementId, what: 'Account: consolidate_object', timeoutSeconds: 900 },
      objectName: 'Account',
    });
    await endedHandler(
      endEvent({
        principal: 'arn:aws:sts::111111111111:assumed-role/consolidate/fn',
        statementName: 's2r-Account-consolidate-run-1',
        statementId,
        state: 'FINISHED',
        rows: 1,
        expireAt: 1773216000,
      }),
    );

    // Assess
    expect(answers()).toEqual([
      { taskToken: 'token-1', output: JSON.stringify({ statementId, endedState: 'FINISHED' }) },
    ]);
  });

  test.each([
    ['another service', { source: 'aws.s3', 'detail-type': 'Object Created', detail: {} }],
    ['an end event without a statement id', endEvent({ state: 'FINISHED' })],
    ['an end event without a state', endEvent({ statementId: 'stmt-1' })],
    ['not an event at all', 'ping'],
  ])('statement-ended refuses %s, touching nothing', async (_what, event) => {
    // Act
    const act = endedHandler(event);

    // Assess
    await expect(act).rejects.toThrow('Not a Redshift Data API statement event');
    expect(sfnMock.calls()).toHaveLength(0);
  });
});
