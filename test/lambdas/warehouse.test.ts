import {
  BatchExecuteStatementCommand,
  ExecuteStatementCommand,
  RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { quoteDatabaseUser } from '../../lambdas/common/database-user';
import {
  budgetOf,
  chunked,
  clientTokenFor,
  IN_FUNCTION_WAIT_MS,
  MAX_BATCH_STATEMENTS,
  MAX_STATEMENT_ATTEMPTS,
  runSequence,
  runStatement,
  type StatementRequest,
  wallClockBudget,
} from '../../lambdas/common/warehouse';
import { ControlledBudget, SPENT_BUDGET, withFakeTimers } from './support/budgets';
import { FakeWarehouse } from './support/fake-warehouse';

const redshiftMock = mockClient(RedshiftDataClient);
const runner = {
  client: new RedshiftDataClient({}),
  target: { database: 'dev', secretId: 'redshift/admin', workgroupName: 'wg-test' },
};
let warehouse: FakeWarehouse;

beforeEach(() => {
  redshiftMock.reset();
  warehouse = new FakeWarehouse(redshiftMock);
});

describe('chunked', () => {
  test('splits 45 statements into batches of 40 and 5, keeping their order', () => {
    // Prepare
    const statements = Array.from({ length: 45 }, (_, i) => `ALTER ${i}`);

    // Act
    const batches = chunked(statements, MAX_BATCH_STATEMENTS);

    // Assess
    expect(batches.map((batch) => batch.length)).toEqual([40, 5]);
    expect(batches.flat()).toEqual(statements);
  });

  test('makes no batch of nothing (BatchExecuteStatement refuses an empty list)', () => {
    // Act / Assess
    expect(chunked([], MAX_BATCH_STATEMENTS)).toEqual([]);
  });
});

describe('quoteDatabaseUser', () => {
  test.each([
    ['appflow_loader', '"appflow_loader"'],
    ['IAMR:appflow-redshift-dev', '"IAMR:appflow-redshift-dev"'],
    ['IAM:loader@example.com', '"IAM:loader@example.com"'],
  ])('quotes %s as %s', (user, quoted) => {
    // Act / Assess
    expect(quoteDatabaseUser(user)).toBe(quoted);
  });

  test.each(['loader"; DROP TABLE x; --', 'a b', '', 'x'.repeat(128)])('refuses %j', (user) => {
    // Act / Assess
    expect(() => quoteDatabaseUser(user)).toThrow(/Refusing database user name/);
  });
});

describe('runStatement (issue 19)', () => {
  const COUNT = 'SELECT COUNT(*) AS n FROM "salesforce_incremental"."account"';
  const request: StatementRequest = {
    what: 'Account: count staging',
    name: 's2r-Account-count-run-1',
    idempotencyKey: 'run-1/Account/count',
    sql: COUNT,
  };
  const TRANSIENT =
    'ERROR: 1023 DETAIL: Serializable isolation violation on table - 100, transactions forming the cycle are: 1, 2';

  const tokens = () =>
    redshiftMock.commandCalls(ExecuteStatementCommand).map((call) => call.args[0].input.ClientToken);

  test('returns the statement FINISHED when it ends within the budget, looking until it does', async () => {
    // Prepare
    warehouse.runsFor(/^SELECT/, 3);

    // Act
    const slot = await withFakeTimers(() =>
      runStatement(runner, request, undefined, new ControlledBudget(60_000)),
    );

    // Assess
    const [statement] = warehouse.submitted;
    expect(slot).toEqual({ id: statement.id, attempt: 1, status: 'FINISHED' });
    expect(statement.looks).toBe(4);
    expect(warehouse.requests).toBe(1);
  });

  test('sends the statement named, with its ClientToken and asking for its end event', async () => {
    // Act
    await runStatement(
      runner,
      { ...request, parameters: { table_name: 'account' } },
      undefined,
      SPENT_BUDGET,
    );

    // Assess
    expect(redshiftMock).toHaveReceivedCommandWith(ExecuteStatementCommand, {
      Sql: COUNT,
      Parameters: [{ name: 'table_name', value: 'account' }],
      StatementName: 's2r-Account-count-run-1',
      ClientToken: clientTokenFor({ ...request, parameters: { table_name: 'account' } }, 1),
      WithEvent: true,
    });
  });

  test('sends a list of SQL as one BatchExecuteStatement (one transaction)', async () => {
    // Prepare
    const batch = { ...request, sql: ['CREATE SCHEMA IF NOT EXISTS "a"', 'CREATE SCHEMA IF NOT EXISTS "b"'] };

    // Act
    const slot = await runStatement(runner, batch, undefined, SPENT_BUDGET);

    // Assess
    expect(slot.status).toBe('FINISHED');
    expect(redshiftMock).toHaveReceivedCommandWith(BatchExecuteStatementCommand, {
      Sqls: batch.sql,
      StatementName: batch.name,
      ClientToken: clientTokenFor(batch, 1),
      WithEvent: true,
    });
    expect(redshiftMock).not.toHaveReceivedCommand(ExecuteStatementCommand);
  });

  test('waits while the budget lasts, then hands a statement still running over as a RUNNING slot', async () => {
    // Prepare
    warehouse.runsFor(/^SELECT/, 1_000);

    // Act: two seconds to spend, in the fake timers' time
    const { slot, spentMs } = await withFakeTimers(async () => {
      const startedAt = Date.now();
      const result = await runStatement(runner, request, undefined, wallClockBudget(2_000));
      return { slot: result, spentMs: Date.now() - startedAt };
    });

    // Assess
    expect(slot).toEqual({ id: warehouse.submitted[0].id, attempt: 1, status: 'RUNNING' });
    expect(spentMs).toBeLessThanOrEqual(2_000);
    expect(warehouse.submitted[0].looks).toBeGreaterThan(1);
  });

  test('picks a RUNNING slot up on the next call and looks at it again: no second submission', async () => {
    // Prepare
    warehouse.runsFor(/^SELECT/, 1);
    const running = await runStatement(runner, request, undefined, SPENT_BUDGET);

    // Act
    const slot = await runStatement(runner, request, running, SPENT_BUDGET);

    // Assess
    expect(running.status).toBe('RUNNING');
    expect(slot).toEqual({ ...running, status: 'FINISHED' });
    expect(warehouse.requests).toBe(1);
  });

  test('returns a FINISHED slot as it is, asking the Data API nothing', async () => {
    // Prepare
    const finished = { id: 'stmt-earlier', attempt: 1, status: 'FINISHED' as const };

    // Act
    const slot = await runStatement(runner, request, finished, SPENT_BUDGET);

    // Assess
    expect(slot).toBe(finished);
    expect(redshiftMock.calls()).toHaveLength(0);
  });

  test('resubmits a statement that lost a race with a concurrent transaction, with a new ClientToken, and returns it FINISHED', async () => {
    // Prepare
    warehouse.failsWith(/^SELECT/, TRANSIENT);

    // Act
    const slot = await runStatement(runner, request, undefined, SPENT_BUDGET);

    // Assess
    expect(slot).toEqual({
      id: warehouse.submitted[1].id,
      attempt: 2,
      status: 'FINISHED',
    });
    // The resubmission's token names the statement it replaces.
    expect(tokens()).toEqual([
      clientTokenFor(request, 1),
      clientTokenFor(request, 2, warehouse.submitted[0].id),
    ]);
    expect(tokens()[1]).not.toBe(tokens()[0]);
  });

  test('waits a jittered backoff before resubmitting when the budget allows it', async () => {
    // Prepare
    warehouse.failsWith(/^SELECT/, TRANSIENT);
    const random = jest.spyOn(Math, 'random').mockReturnValue(0.5);

    // Act
    try {
      await withFakeTimers(() => runStatement(runner, request, undefined, new ControlledBudget(60_000)));
    } finally {
      random.mockRestore();
    }

    // Assess: 0.5 × 500 ms × 2 before the first resubmission
    const [failed, resubmitted] = warehouse.submitted;
    expect(resubmitted.createdAt.getTime() - failed.createdAt.getTime()).toBeGreaterThanOrEqual(500);
  });

  test('resubmits a statement picked up from the state that then failed transiently, counting on from its attempt', async () => {
    // Prepare: the state remembers attempt 2, still running when the last invocation ended
    warehouse.failsWith(
      /^SELECT/,
      'ERROR: could not complete because of conflict with a concurrent transaction',
    );
    const { Id } = await runner.client.send(new ExecuteStatementCommand({ Database: 'dev', Sql: COUNT }));

    // Act
    const slot = await runStatement(
      runner,
      request,
      { id: Id as string, attempt: 2, status: 'RUNNING' },
      SPENT_BUDGET,
    );

    // Assess
    expect(slot).toMatchObject({ attempt: 3, status: 'FINISHED' });
    expect(tokens().at(-1)).toBe(clientTokenFor(request, 3, Id));
  });

  test(`throws WarehouseConflict naming the attempts once ${MAX_STATEMENT_ATTEMPTS} submissions lost their race`, async () => {
    // Prepare
    warehouse.failsWith(/^SELECT/, TRANSIENT, 10);

    // Act
    const act = runStatement(runner, request, undefined, SPENT_BUDGET);

    // Assess
    await expect(act).rejects.toMatchObject({
      name: 'WarehouseConflict',
      message: `Account: count staging failed in Redshift: ${TRANSIENT} (after ${MAX_STATEMENT_ATTEMPTS} attempts)`,
    });
    expect(warehouse.submitted).toHaveLength(MAX_STATEMENT_ATTEMPTS);
  });

  test('a step retried after its Lambda died walks the statements it sent (each answered by its ClientToken) and goes on from the last', async () => {
    // Prepare: the first invocation resubmitted twice and saw the third submission finish, then died
    warehouse.failsWith(/^SELECT/, TRANSIENT, 2);
    const first = await runStatement(runner, request, undefined, SPENT_BUDGET);
    expect(first).toMatchObject({ attempt: 3, status: 'FINISHED' });

    // Act: the retry gets the same input as the dead invocation (no slot)
    const slot = await runStatement(runner, request, undefined, SPENT_BUDGET);

    // Assess: the same three statements, none sent again
    expect(slot).toEqual(first);
    expect(warehouse.submitted).toHaveLength(3);
  });

  test("throws StatementFailed with Redshift's own text when the statement really failed, resubmitting nothing", async () => {
    // Prepare
    warehouse.failsWith(/^SELECT/, 'ERROR: relation "salesforce_incremental.account" does not exist');

    // Act
    const act = runStatement(runner, request, undefined, SPENT_BUDGET);

    // Assess
    await expect(act).rejects.toMatchObject({
      name: 'StatementFailed',
      message:
        'Account: count staging failed in Redshift: ERROR: relation "salesforce_incremental.account" does not exist',
    });
    expect(warehouse.requests).toBe(1);
  });

  test('throws StatementFailed when the statement was ABORTED', async () => {
    // Prepare
    warehouse.aborts(/^SELECT/);

    // Act
    const error = await runStatement(runner, request, undefined, SPENT_BUDGET).catch(
      (caught: Error) => caught,
    );

    // Assess
    expect(error).toMatchObject({
      name: 'StatementFailed',
      message: `Account: count staging failed in Redshift: aborted in Redshift (statement ${warehouse.submitted[0].id})`,
    });
  });

  test('a retried step (same input, no slot) gets the statement it submitted before: same ClientToken, nothing runs twice', async () => {
    // Prepare
    warehouse.runsFor(/^SELECT/, 1);
    const first = await runStatement(runner, request, undefined, SPENT_BUDGET);

    // Act
    const again = await runStatement(runner, request, undefined, SPENT_BUDGET);

    // Assess
    expect(again).toEqual({ ...first, status: 'FINISHED' });
    expect(tokens()).toEqual([clientTokenFor(request, 1), clientTokenFor(request, 1)]);
    expect(warehouse.submitted).toHaveLength(1);
  });

  test.each([
    'ActiveStatementsExceededException',
    'ActiveSessionsExceededException',
    'ActiveWaitingRequestsExceededException',
  ])(
    'turns the Data API capacity error %s into Throttled, naming the object and the statement',
    async (name) => {
      // Prepare
      redshiftMock
        .on(ExecuteStatementCommand)
        .rejects(Object.assign(new Error('Active statements exceeded the allowed quota'), { name }));

      // Act
      const act = runStatement(runner, request, undefined, SPENT_BUDGET);

      // Assess
      await expect(act).rejects.toMatchObject({
        name: 'Throttled',
        message: expect.stringContaining(
          `Account: count staging: Redshift Data API ExecuteStatement: ${name}`,
        ),
      });
    },
  );
});

describe('runSequence (issue 19)', () => {
  const requests: StatementRequest[] = ['a', 'b', 'c'].map((table, index) => ({
    what: `Account: step ${index + 1}`,
    name: `s2r-Account-step${index + 1}-run-1`,
    idempotencyKey: `run-1/Account/step${index + 1}`,
    sql: `TRUNCATE "s"."${table}"`,
  }));

  beforeEach(() => {
    for (const table of ['a', 'b', 'c']) warehouse.withTable('s', table, ['id']);
  });

  test('runs the statements in order, each seen finished before the next is sent', async () => {
    // Act
    const progress = await runSequence(runner, requests, undefined, SPENT_BUDGET);

    // Assess
    expect(progress).toEqual({ done: 3 });
    expect(warehouse.statements()).toEqual(['TRUNCATE "s"."a"', 'TRUNCATE "s"."b"', 'TRUNCATE "s"."c"']);
    expect(warehouse.submitted.map((statement) => statement.looks)).toEqual([1, 1, 1]);
    const kinds = redshiftMock.calls().map((call) => call.args[0].constructor.name);
    expect(kinds).toEqual([
      'ExecuteStatementCommand',
      'DescribeStatementCommand',
      'ExecuteStatementCommand',
      'DescribeStatementCommand',
      'ExecuteStatementCommand',
      'DescribeStatementCommand',
    ]);
  });

  test('stops at a statement still running, and goes on from it on the next call without resending what finished', async () => {
    // Prepare
    warehouse.runsFor(/"b"/, 1);

    // Act
    const first = await runSequence(runner, requests, undefined, SPENT_BUDGET);
    const next = await runSequence(runner, requests, first, SPENT_BUDGET);

    // Assess
    expect(first).toEqual({
      done: 1,
      current: { id: warehouse.submitted[1].id, attempt: 1, status: 'RUNNING' },
    });
    expect(next).toEqual({ done: 3 });
    expect(warehouse.submitted.map((statement) => statement.sqls[0])).toEqual([
      'TRUNCATE "s"."a"',
      'TRUNCATE "s"."b"',
      'TRUNCATE "s"."c"',
    ]);
  });

  test('sends nothing for an empty list', async () => {
    // Act
    const progress = await runSequence(runner, [], undefined, SPENT_BUDGET);

    // Assess
    expect(progress).toEqual({ done: 0 });
    expect(redshiftMock.calls()).toHaveLength(0);
  });
});

describe('clientTokenFor', () => {
  const request: StatementRequest = {
    what: 'Account: catalog read',
    name: 's2r-Account-catalog-run-1',
    idempotencyKey: 'run-1/Account/catalog',
    sql: 'SELECT 1',
  };

  test('is the same for the same request and attempt, within the Data API limit of 64 characters', () => {
    // Act
    const token = clientTokenFor(request, 1);

    // Assess
    expect(clientTokenFor({ ...request }, 1)).toBe(token);
    expect(token).toMatch(/^[0-9a-f]{64}$/);
  });

  test.each([
    ['another attempt', { ...request }, 2],
    ['other SQL (a plan that changed)', { ...request, sql: 'SELECT 2' }, 1],
    ['other parameters', { ...request, parameters: { table_name: 'contact' } }, 1],
    ['another run, object or step', { ...request, idempotencyKey: 'run-2/Account/catalog' }, 1],
  ] as const)('differs for %s', (_what, other, attempt) => {
    // Act / Assess
    expect(clientTokenFor(other, attempt)).not.toBe(clientTokenFor(request, 1));
  });
});

describe('budgetOf', () => {
  test("is Lambda's remaining time less what the function keeps for after its last wait", () => {
    // Prepare
    let remaining = 90_000;
    const budget = budgetOf({ getRemainingTimeInMillis: () => remaining }, 20_000, 600_000);

    // Act / Assess
    expect(budget.remainingMs()).toBe(70_000);
    remaining = 15_000;
    expect(budget.remainingMs()).toBe(-5_000);
  });

  test(`waits at most ${IN_FUNCTION_WAIT_MS} ms per invocation by default: longer, the handover is cheaper`, () => {
    // Prepare
    let remaining = 100_000;
    const budget = budgetOf({ getRemainingTimeInMillis: () => remaining }, 10_000);

    // Act / Assess
    expect(budget.remainingMs()).toBe(IN_FUNCTION_WAIT_MS);
    remaining -= 15_000;
    expect(budget.remainingMs()).toBe(IN_FUNCTION_WAIT_MS - 15_000);
  });
});
