import { AppflowClient, DeleteFlowCommand } from '@aws-sdk/client-appflow';
import { DescribeExecutionCommand, ExecutionDoesNotExist, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createControlTable, Dynalite } from '../support/dynalite';
import { anObjectState, aRun } from './support/fixtures';

// The handler module reads its configuration at load time.
Object.assign(process.env, {
  CONTROL_TABLE_NAME: 'control-test',
  STAGING_SCHEMA: 'salesforce_incremental',
  FINAL_SCHEMA: 'salesforce',
  REDSHIFT_DATABASE: 'dev',
  REDSHIFT_SECRET_ID: 'redshift/admin',
  REDSHIFT_WORKGROUP_NAME: 'wg-test',
  FLOW_NAME_PREFIX: 's2r',
  REDSHIFT_CONNECTOR_PROFILE: 'redshift-test',
  STAGING_BUCKET_NAME: 'staging-bucket-test',
  FLOW_TIMEOUT_MINUTES: '720',
  FLOW_WAIT_HEARTBEAT_SECONDS: '3600',
});
const { claimOrTakeOver } =
  require('../../lambdas/start-extract') as typeof import('../../lambdas/start-extract');

const TABLE = 'control-claims';
const DEAD_EXECUTION = 'arn:aws:states:eu-west-1:111111111111:execution:saas-to-redshift-dev:dead-run';
const dynalite = new Dynalite();
let doc: DynamoDBDocumentClient;
const appflowMock = mockClient(AppflowClient);
const sfnMock = mockClient(SFNClient);

function deps() {
  return {
    doc,
    tableName: TABLE,
    appflow: new AppflowClient({}),
    sfn: new SFNClient({}),
    flowNamePrefix: 's2r',
  };
}

async function rowHeldBy(runId: string, executionArn: string) {
  await doc.send(
    new PutCommand({
      TableName: TABLE,
      Item: {
        objectName: 'Account',
        lockRunId: runId,
        lockExecutionArn: executionArn,
        lockExpiresAt: '2999-01-01T00:00:00.000Z',
      },
    }),
  );
}

async function lockOf() {
  const row = await doc.send(new GetCommand({ TableName: TABLE, Key: { objectName: 'Account' } }));
  return row.Item?.lockRunId;
}

beforeAll(async () => {
  await dynalite.start();
  const client = dynalite.client();
  await createControlTable(client, TABLE);
  doc = DynamoDBDocumentClient.from(client);
});
afterAll(() => dynalite.stop());
beforeEach(() => {
  appflowMock.reset();
  sfnMock.reset();
});

describe('claiming an object held by another run', () => {
  test('a run that is still going keeps the object: ObjectBusy names it, nothing is deleted', async () => {
    // Prepare
    await rowHeldBy('live-run', DEAD_EXECUTION);
    sfnMock.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' } as never);
    // Act
    const claim = claimOrTakeOver(deps(), anObjectState(), new Date('2026-03-10T06:00:00Z'));
    // Assess
    await expect(claim).rejects.toMatchObject({
      name: 'ObjectBusy',
      message: expect.stringContaining('live-run'),
    });
    expect(await lockOf()).toBe('live-run');
    expect(appflowMock).not.toHaveReceivedCommand(DeleteFlowCommand);
  });

  test.each([
    ['aborted', 'ABORTED'],
    ['timed out', 'TIMED_OUT'],
    ['failed', 'FAILED'],
  ])(
    'an %s run is taken over and its temporary flows deleted (its load and its column refresh)',
    async (_, status) => {
      await rowHeldBy('dead-run', DEAD_EXECUTION);
      sfnMock.on(DescribeExecutionCommand).resolves({ status } as never);
      appflowMock.on(DeleteFlowCommand).resolves({});

      await claimOrTakeOver(
        deps(),
        anObjectState({ run: aRun({ runId: 'new-run' }) }),
        new Date('2026-03-10T06:00:00Z'),
      );

      expect(await lockOf()).toBe('new-run');
      expect(sfnMock).toHaveReceivedCommandWith(DescribeExecutionCommand, { executionArn: DEAD_EXECUTION });
      expect(appflowMock).toHaveReceivedCommandWith(DeleteFlowCommand, {
        flowName: 's2r-Account-dead-run',
        forceDelete: true,
      });
      expect(appflowMock).toHaveReceivedCommandWith(DeleteFlowCommand, {
        flowName: 's2r-Account-refresh-dead-run',
        forceDelete: true,
      });
    },
  );

  test('an execution Step Functions no longer knows is treated as dead', async () => {
    await rowHeldBy('ancient-run', DEAD_EXECUTION);
    sfnMock
      .on(DescribeExecutionCommand)
      .rejects(new ExecutionDoesNotExist({ message: 'gone', $metadata: {} }));
    appflowMock.on(DeleteFlowCommand).resolves({});

    await claimOrTakeOver(
      deps(),
      anObjectState({ run: aRun({ runId: 'new-run' }) }),
      new Date('2026-03-10T06:00:00Z'),
    );

    expect(await lockOf()).toBe('new-run');
  });

  test('a holder without a recorded execution stays busy: nothing proves it is dead', async () => {
    await doc.send(
      new PutCommand({
        TableName: TABLE,
        Item: { objectName: 'Account', lockRunId: 'old-style', lockExpiresAt: '2999-01-01T00:00:00.000Z' },
      }),
    );

    await expect(claimOrTakeOver(deps(), anObjectState(), new Date())).rejects.toMatchObject({
      name: 'ObjectBusy',
    });
    expect(sfnMock).not.toHaveReceivedCommand(DescribeExecutionCommand);
  });

  test('a free object is claimed with this run’s execution recorded', async () => {
    await doc.send(new PutCommand({ TableName: TABLE, Item: { objectName: 'Account' } }));
    const run = aRun({
      runId: 'fresh-run',
      executionArn: 'arn:aws:states:eu-west-1:1:execution:sm:fresh-run',
    });

    await claimOrTakeOver(deps(), anObjectState({ run }), new Date());

    const row = await doc.send(new GetCommand({ TableName: TABLE, Key: { objectName: 'Account' } }));
    expect(row.Item).toMatchObject({ lockRunId: 'fresh-run', lockExecutionArn: run.executionArn });
  });

  test("a DescribeExecution that fails names the object and the holder's execution", async () => {
    // Prepare
    await rowHeldBy('live-run', DEAD_EXECUTION);
    sfnMock
      .on(DescribeExecutionCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    // Act
    const claim = claimOrTakeOver(deps(), anObjectState(), new Date('2026-03-10T06:00:00Z'));

    // Assess
    await expect(claim).rejects.toMatchObject({
      name: 'Throttled',
      message: expect.stringContaining(`Account: DescribeExecution ${DEAD_EXECUTION}`),
    });
  });
});

describe('claiming again on every StartExtract invocation of the same run', () => {
  test("keeps the claim's start and expiry: a later invocation (after a statement wait) is the same claim", async () => {
    // Prepare
    await doc.send(new PutCommand({ TableName: TABLE, Item: { objectName: 'Account' } }));
    const state = anObjectState({ run: aRun({ runId: 'slow-run' }) });
    await claimOrTakeOver(deps(), state, new Date('2026-03-10T06:00:05Z'));
    const claimed = await doc.send(new GetCommand({ TableName: TABLE, Key: { objectName: 'Account' } }));

    // Act: the next invocations, after the state machine waited on a slow statement
    await claimOrTakeOver(deps(), state, new Date('2026-03-10T06:20:00Z'));
    await claimOrTakeOver(deps(), state, new Date('2026-03-10T09:00:00Z'));

    // Assess
    const row = await doc.send(new GetCommand({ TableName: TABLE, Key: { objectName: 'Account' } }));
    expect(row.Item).toEqual(claimed.Item);
    expect(row.Item?.lastRun).toMatchObject({ status: 'RUNNING', startedAt: '2026-03-10T06:00:05.000Z' });
  });
});
