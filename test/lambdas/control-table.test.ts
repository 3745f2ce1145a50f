import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  claimObject,
  type ObjectFigures,
  recordObjectFailure,
  recordObjectSuccess,
  scanControlTable,
} from '../../lambdas/common/control-table';
import type { ObjectResult } from '../../lambdas/common/object-state';
import type { ObjectPlan, RunContext, SyncReason } from '../../lambdas/common/run-plan';
import { S3StandIn } from '../../local/stand-ins/s3-stand-in';
import { createControlTable, Dynalite } from '../support/dynalite';
import { anAccountPlan, aRun, PREVIOUS_WATERMARK, RUN_STARTED_AT } from './support/fixtures';

const TABLE = 'control';
const HOUR_MS = 60 * 60 * 1000;
const CLAIMED_AT = new Date('2026-03-10T06:01:00.000Z');
const FINISHED_AT = new Date('2026-03-10T06:20:00.000Z');
const FIGURES: ObjectFigures = {
  recordsExtracted: 120,
  duplicatesRemoved: 20,
  rowsInserted: 95,
  rowsDeleted: 5,
  rowsPurged: 0,
  rowsUpdated: 30,
  rowsUnchanged: 4,
  valuesTruncated: 1,
  consolidationSkipped: false,
};

const dynalite = new Dynalite();
let client: DynamoDBClient;
let doc: DynamoDBDocumentClient;

beforeAll(async () => {
  await dynalite.start();
  client = dynalite.client();
  doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  await createControlTable(client, TABLE);
});

afterAll(async () => {
  client.destroy();
  await dynalite.stop();
});

async function putRow(item: Record<string, unknown>): Promise<void> {
  await doc.send(new PutCommand({ TableName: TABLE, Item: item }));
}

async function getRow(objectName = 'Account'): Promise<Record<string, unknown>> {
  const out = await doc.send(new GetCommand({ TableName: TABLE, Key: { objectName }, ConsistentRead: true }));
  return out.Item ?? {};
}

const runA = aRun({ runId: 'run-a' });
const runB = aRun({ runId: 'run-b', startedAt: '2026-03-10T19:00:00.000Z' });

beforeEach(async () => {
  await putRow({ objectName: 'Account', watermark: PREVIOUS_WATERMARK, runsSinceFullSync: 2 });
});

describe('scanControlTable', () => {
  test('returns every row of a table larger than one 1 MB scan page', async () => {
    // Prepare
    const big = 'control-big';
    await createControlTable(client, big);
    const filler = 'x'.repeat(12 * 1024);
    const names = Array.from({ length: 250 }, (_, i) => `Object_${String(i).padStart(3, '0')}`);
    for (let i = 0; i < names.length; i += 25) {
      await doc.send(
        new BatchWriteCommand({
          RequestItems: {
            [big]: names
              .slice(i, i + 25)
              .map((objectName) => ({ PutRequest: { Item: { objectName, filler } } })),
          },
        }),
      );
    }
    const send = jest.spyOn(doc, 'send');

    try {
      // Act
      const items = await scanControlTable(doc, big);

      // Assess
      expect(items).toHaveLength(250);
      expect(items.map((item) => item.objectName).sort()).toEqual(names);
      expect(send.mock.calls.length).toBeGreaterThanOrEqual(3);
    } finally {
      send.mockRestore();
    }
  });
});

describe('claimObject', () => {
  test('marks the object RUNNING for this run and holds it for 24 hours with its execution recorded', async () => {
    // Act
    await claimObject(doc, TABLE, anAccountPlan(), runA, CLAIMED_AT);

    // Assess
    expect(await getRow()).toEqual({
      objectName: 'Account',
      watermark: PREVIOUS_WATERMARK,
      runsSinceFullSync: 2,
      lockRunId: 'run-a',
      lockExecutionArn: '',
      lockExpiresAt: new Date(CLAIMED_AT.getTime() + 24 * HOUR_MS).toISOString(),
      lastRun: {
        runId: 'run-a',
        status: 'RUNNING',
        startedAt: CLAIMED_AT.toISOString(),
        syncMode: 'incremental',
      },
    });
  });

  test('lets a retry of the same run claim the object again', async () => {
    // Prepare
    await claimObject(doc, TABLE, anAccountPlan(), runA, CLAIMED_AT);

    // Act
    const retry = claimObject(doc, TABLE, anAccountPlan(), runA, new Date(CLAIMED_AT.getTime() + 60_000));

    // Assess
    await expect(retry).resolves.toBeUndefined();
  });

  test('refuses another run with ObjectBusy while the first holds the object', async () => {
    // Prepare
    await claimObject(doc, TABLE, anAccountPlan(), runA, CLAIMED_AT);

    // Act
    const second = claimObject(doc, TABLE, anAccountPlan(), runB, new Date(CLAIMED_AT.getTime() + HOUR_MS));

    // Assess
    await expect(second).rejects.toMatchObject({
      name: 'ObjectBusy',
      message: expect.stringContaining('Account: run run-a holds this object'),
    });
    expect((await getRow()).lockRunId).toBe('run-a');
  });

  test('lets another run take over a claim that has expired', async () => {
    // Prepare
    await claimObject(doc, TABLE, anAccountPlan(), runA, CLAIMED_AT);

    // Act
    await claimObject(doc, TABLE, anAccountPlan(), runB, new Date(CLAIMED_AT.getTime() + 25 * HOUR_MS));

    // Assess
    expect(await getRow()).toMatchObject({
      lockRunId: 'run-b',
      lastRun: { runId: 'run-b', status: 'RUNNING' },
    });
  });

  test('claims an object its holder released between the refused claim and the look at who holds it', async () => {
    // Prepare: run A holds it; A releases it just after B's claim was refused
    await claimObject(doc, TABLE, anAccountPlan(), runA, CLAIMED_AT);
    let released = false;
    const racing = {
      send: async (command: Parameters<DynamoDBDocumentClient['send']>[0]) => {
        try {
          return await doc.send(command);
        } catch (error) {
          if (!released && (error as Error).name === 'ConditionalCheckFailedException') {
            released = true;
            await doc.send(
              new UpdateCommand({
                TableName: TABLE,
                Key: { objectName: 'Account' },
                UpdateExpression: 'REMOVE lockRunId, lockExpiresAt',
              }),
            );
          }
          throw error;
        }
      },
    } as unknown as DynamoDBDocumentClient;

    // Act
    await claimObject(racing, TABLE, anAccountPlan(), runB, new Date(CLAIMED_AT.getTime() + HOUR_MS));

    // Assess
    expect(released).toBe(true);
    expect(await getRow()).toMatchObject({
      lockRunId: 'run-b',
      lastRun: { runId: 'run-b', status: 'RUNNING' },
    });
  });

  test('refuses an object whose control row is gone, without creating one', async () => {
    // Act
    const claim = claimObject(doc, TABLE, anAccountPlan({ objectName: 'Ghost' }), runA, CLAIMED_AT);

    // Assess
    await expect(claim).rejects.toMatchObject({ name: 'ObjectBusy' });
    expect(await getRow('Ghost')).toEqual({});
  });
});

describe('recordObjectSuccess', () => {
  async function succeed(plan: ObjectPlan, run: RunContext = runA): Promise<Record<string, unknown>> {
    await claimObject(doc, TABLE, plan, run, CLAIMED_AT);
    await recordObjectSuccess(doc, TABLE, plan, run, FIGURES, FINISHED_AT);
    return getRow();
  }

  test("stores the new watermark and the run's figures, counts the run, and releases the object", async () => {
    // Act
    const row = await succeed(anAccountPlan());

    // Assess
    expect(row).toEqual({
      objectName: 'Account',
      watermark: RUN_STARTED_AT,
      // Issue 20: every change up to the window's end is in the final table.
      completeThrough: RUN_STARTED_AT,
      runsSinceFullSync: 3,
      lastRun: {
        runId: 'run-a',
        status: 'SUCCEEDED',
        startedAt: RUN_STARTED_AT,
        finishedAt: FINISHED_AT.toISOString(),
        syncMode: 'incremental',
        syncReason: 'incremental',
        ...FIGURES,
      },
    });
  });

  test("issue 21: records the run's start as the formulas' last refresh when they were due (and done), and the refresh's figures", async () => {
    // Prepare
    const figures: ObjectFigures = {
      ...FIGURES,
      columnsRefreshed: ['days_open__c'],
      rowsRefreshed: 7,
      typeChanges: [{ field: 'Score__c', from: 'DECIMAL(18,2)', to: 'VARCHAR(160)' }],
    };
    const plan = anAccountPlan({ formulaRefreshDue: true, syncReason: 'formula-refresh' });
    await claimObject(doc, TABLE, plan, runA, CLAIMED_AT);

    // Act
    await recordObjectSuccess(doc, TABLE, plan, runA, figures, FINISHED_AT);

    // Assess: the start, not the end, so that the next due run is measured from the same point of the schedule
    expect(await getRow()).toMatchObject({
      lastFormulaRefreshAt: RUN_STARTED_AT,
      lastRun: {
        syncMode: 'incremental',
        syncReason: 'formula-refresh',
        columnsRefreshed: ['days_open__c'],
        rowsRefreshed: 7,
        typeChanges: [{ field: 'Score__c', from: 'DECIMAL(18,2)', to: 'VARCHAR(160)' }],
      },
    });
  });

  test("issue 21: a full sync counts as the formulas' refresh; an incremental run they were not due in leaves the time alone", async () => {
    // Act
    const full = await succeed(anAccountPlan({ syncMode: 'full', syncReason: 'reconcile', window: {} }));
    await putRow({
      objectName: 'Account',
      watermark: PREVIOUS_WATERMARK,
      lastFormulaRefreshAt: PREVIOUS_WATERMARK,
    });
    const incremental = await succeed(anAccountPlan());

    // Assess
    expect(full.lastFormulaRefreshAt).toBe(RUN_STARTED_AT);
    expect(incremental.lastFormulaRefreshAt).toBe(PREVIOUS_WATERMARK);
  });

  test('starts counting runs since the last full sync at one on a row that never counted', async () => {
    // Prepare
    await putRow({ objectName: 'Account', watermark: PREVIOUS_WATERMARK });

    // Act
    const row = await succeed(anAccountPlan());

    // Assess
    expect(row.runsSinceFullSync).toBe(1);
  });

  test('resets the count and stamps lastFullSyncAt after a full sync', async () => {
    // Act
    const row = await succeed(anAccountPlan({ syncMode: 'full', syncReason: 'reconcile', window: {} }));

    // Assess
    expect(row).toMatchObject({
      watermark: RUN_STARTED_AT,
      runsSinceFullSync: 0,
      lastFullSyncAt: FINISHED_AT.toISOString(),
      lastRun: { status: 'SUCCEEDED', syncMode: 'full', syncReason: 'reconcile' },
    });
  });

  test('clears resetRequested after a successful reset', async () => {
    // Prepare
    await putRow({ objectName: 'Account', watermark: PREVIOUS_WATERMARK, resetRequested: true });

    // Act
    const row = await succeed(anAccountPlan({ syncMode: 'full', syncReason: 'reset', window: {} }));

    // Assess
    expect(row.resetRequested).toBe(false);
    expect(row.runsSinceFullSync).toBe(0);
  });

  test.each<SyncReason>(['reconcile', 'schema-change', 'input', 'first-run'])(
    'clears resetRequested after any successful full sync (reason %s)',
    async (syncReason) => {
      // Prepare
      await putRow({ objectName: 'Account', watermark: PREVIOUS_WATERMARK, resetRequested: true });

      // Act
      const row = await succeed(anAccountPlan({ syncMode: 'full', syncReason, window: {} }));

      // Assess: the full reload did everything the reset asked for
      expect(row.resetRequested).toBe(false);
      expect(row.runsSinceFullSync).toBe(0);
    },
  );

  test('leaves resetRequested alone after an incremental success', async () => {
    // Prepare: the operator asked for a reset after this run was planned
    await putRow({ objectName: 'Account', watermark: PREVIOUS_WATERMARK, resetRequested: true });

    // Act
    const row = await succeed(anAccountPlan());

    // Assess
    expect(row.resetRequested).toBe(true);
  });

  test('leaves the watermark and the count alone after a backfill', async () => {
    // Prepare
    const backfill = anAccountPlan({
      syncReason: 'backfill',
      window: { start: '2026-03-04T23:00:00.000Z', end: '2026-03-06T00:00:00.000Z' },
      nextWatermark: undefined,
    });

    // Act
    const row = await succeed(backfill);

    // Assess
    expect(row).toMatchObject({
      watermark: PREVIOUS_WATERMARK,
      runsSinceFullSync: 2,
      lastRun: { status: 'SUCCEEDED', syncReason: 'backfill' },
    });
    expect(row).not.toHaveProperty('lockRunId');
  });

  test('is ignored when another run holds the object: a late writer never clobbers it', async () => {
    // Prepare: run A's claim expired and run B took the object over
    await claimObject(doc, TABLE, anAccountPlan(), runA, CLAIMED_AT);
    await claimObject(doc, TABLE, anAccountPlan(), runB, new Date(CLAIMED_AT.getTime() + 25 * HOUR_MS));
    const before = await getRow();

    // Act
    await recordObjectSuccess(doc, TABLE, anAccountPlan(), runA, FIGURES, FINISHED_AT);
    await recordObjectFailure(
      doc,
      TABLE,
      'Account',
      'run-a',
      { name: 'Throttled', message: 'late' },
      FINISHED_AT,
    );

    // Assess
    expect(await getRow()).toEqual(before);
  });

  test('a late success from a taken-over run never moves the watermark back after the newer run finished', async () => {
    // Prepare: B took the object over from A, finished and released it
    await claimObject(doc, TABLE, anAccountPlan(), runA, CLAIMED_AT);
    const planB = anAccountPlan({ nextWatermark: runB.startedAt });
    await claimObject(doc, TABLE, planB, runB, new Date(CLAIMED_AT.getTime() + 25 * HOUR_MS));
    await recordObjectSuccess(doc, TABLE, planB, runB, FIGURES, new Date('2026-03-10T19:30:00.000Z'));
    const afterB = await getRow();

    // Act: A's FinishObject arrives at last
    await recordObjectSuccess(
      doc,
      TABLE,
      anAccountPlan(),
      runA,
      FIGURES,
      new Date('2026-03-10T19:40:00.000Z'),
    );

    // Assess
    const row = await getRow();
    expect(row.watermark).toBe(runB.startedAt);
    expect(row.lastRun).toEqual(afterB.lastRun);
  });

  test('a repeated success of the same run (a retried FinishObject) leaves the same row', async () => {
    // Prepare
    const first = await succeed(anAccountPlan());

    // Act
    await recordObjectSuccess(doc, TABLE, anAccountPlan(), runA, FIGURES, FINISHED_AT);

    // Assess: the run is counted once, so the reconcile cadence does not drift
    expect(await getRow()).toEqual(first);
  });
});

describe('recordObjectSuccess of a run that no longer holds the object', () => {
  test('a FinishObject repeated after a newer run finished never moves the watermark back nor counts twice', async () => {
    // Prepare: A succeeded and released the object, then B claimed it and succeeded too
    const planA = anAccountPlan();
    await claimObject(doc, TABLE, planA, runA, CLAIMED_AT);
    await recordObjectSuccess(doc, TABLE, planA, runA, FIGURES, FINISHED_AT);
    const planB = anAccountPlan({ nextWatermark: runB.startedAt });
    await claimObject(doc, TABLE, planB, runB, new Date('2026-03-10T19:01:00.000Z'));
    await recordObjectSuccess(doc, TABLE, planB, runB, FIGURES, new Date('2026-03-10T19:30:00.000Z'));
    const afterB = await getRow();

    // Act: A's FinishObject is delivered again
    await recordObjectSuccess(doc, TABLE, planA, runA, FIGURES, new Date('2026-03-10T19:40:00.000Z'));

    // Assess
    const row = await getRow();
    expect(row).toEqual(afterB);
    expect(row.watermark).toBe(runB.startedAt);
    expect(row.runsSinceFullSync).toBe(4);
    expect(row.lastRun).toMatchObject({ runId: 'run-b', status: 'SUCCEEDED' });
  });

  test('a repeated success of the same run counts the run once and keeps its figures', async () => {
    // Prepare
    await claimObject(doc, TABLE, anAccountPlan(), runA, CLAIMED_AT);
    await recordObjectSuccess(doc, TABLE, anAccountPlan(), runA, FIGURES, FINISHED_AT);

    // Act
    await recordObjectSuccess(
      doc,
      TABLE,
      anAccountPlan(),
      runA,
      { ...FIGURES, rowsInserted: 0 },
      new Date('2026-03-10T06:25:00.000Z'),
    );

    // Assess
    expect(await getRow()).toMatchObject({
      watermark: RUN_STARTED_AT,
      runsSinceFullSync: 3,
      lastRun: { runId: 'run-a', finishedAt: FINISHED_AT.toISOString(), rowsInserted: FIGURES.rowsInserted },
    });
  });

  test('is ignored on a row no run holds, with no error', async () => {
    // Prepare: the beforeEach row, never claimed
    const before = await getRow();

    // Act
    const act = recordObjectSuccess(doc, TABLE, anAccountPlan(), runA, FIGURES, FINISHED_AT);

    // Assess
    await expect(act).resolves.toBeUndefined();
    expect(await getRow()).toEqual(before);
  });
});

describe('recordObjectFailure', () => {
  test('records the error, keeps the watermark and releases the object', async () => {
    // Prepare
    await claimObject(doc, TABLE, anAccountPlan(), runA, CLAIMED_AT);

    // Act
    await recordObjectFailure(
      doc,
      TABLE,
      'Account',
      'run-a',
      { name: 'FlowRunFailed', message: 'Account: flow run exec-1 ended in Error: boom' },
      FINISHED_AT,
    );

    // Assess
    expect(await getRow()).toEqual({
      objectName: 'Account',
      watermark: PREVIOUS_WATERMARK,
      runsSinceFullSync: 2,
      lastRun: {
        runId: 'run-a',
        status: 'FAILED',
        finishedAt: FINISHED_AT.toISOString(),
        error: 'FlowRunFailed: Account: flow run exec-1 ended in Error: boom',
      },
    });
  });

  test('caps a very long error at 2000 characters', async () => {
    // Act
    await recordObjectFailure(
      doc,
      TABLE,
      'Account',
      'run-a',
      { name: 'E', message: 'm'.repeat(5000) },
      FINISHED_AT,
    );

    // Assess
    const row = await getRow();
    expect((row.lastRun as { error: string }).error).toHaveLength(2000);
  });

  test('does not create a row for an object that has none', async () => {
    // Act
    await recordObjectFailure(doc, TABLE, 'Ghost', 'run-a', { name: 'E', message: 'm' }, FINISHED_AT);

    // Assess
    expect(await getRow('Ghost')).toEqual({});
  });

  test('is ignored after a newer run finished and released the object: its result stays', async () => {
    // Prepare: A's claim expired, B took over, succeeded and released the object
    await claimObject(doc, TABLE, anAccountPlan(), runA, CLAIMED_AT);
    const planB = anAccountPlan({ nextWatermark: runB.startedAt });
    await claimObject(doc, TABLE, planB, runB, new Date(CLAIMED_AT.getTime() + 25 * HOUR_MS));
    await recordObjectSuccess(doc, TABLE, planB, runB, FIGURES, new Date('2026-03-10T19:30:00.000Z'));
    const afterB = await getRow();

    // Act: A's failure arrives at last
    await recordObjectFailure(doc, TABLE, 'Account', 'run-a', { name: 'E', message: 'late' }, FINISHED_AT);

    // Assess
    expect(await getRow()).toEqual(afterB);
  });

  test('is recorded again by the run that recorded the last result (a retried RecordFailure)', async () => {
    // Prepare
    await claimObject(doc, TABLE, anAccountPlan(), runA, CLAIMED_AT);
    await recordObjectFailure(doc, TABLE, 'Account', 'run-a', { name: 'E', message: 'first' }, FINISHED_AT);

    // Act
    await recordObjectFailure(
      doc,
      TABLE,
      'Account',
      'run-a',
      { name: 'E', message: 'second' },
      new Date('2026-03-10T06:21:00.000Z'),
    );

    // Assess
    expect(await getRow()).toMatchObject({
      watermark: PREVIOUS_WATERMARK,
      lastRun: { runId: 'run-a', status: 'FAILED', error: 'E: second' },
    });
  });
});

describe('load-objects handler against DynamoDB', () => {
  const E2E_TABLE = 'control-e2e';
  const RUN_STATE_BUCKET = 'run-state-test';
  let runState: S3StandIn;
  type Handler = typeof import('../../lambdas/load-objects').handler;
  let handler: Handler;

  beforeAll(async () => {
    await createControlTable(client, E2E_TABLE);
    for (const item of [
      { objectName: 'Account', watermark: PREVIOUS_WATERMARK },
      { objectName: 'Account;DROP TABLE x' },
      { objectName: 'Contact', primaryKey: 'Id) OR 1=1' },
      { objectName: 'Opportunity', fields: ['Name', 'Amount'], deleteMode: 'soft' },
      { objectName: 'Lead', enabled: false },
    ]) {
      await doc.send(new PutCommand({ TableName: E2E_TABLE, Item: item }));
    }
    runState = new S3StandIn([RUN_STATE_BUCKET]);
    const { url } = await runState.start();
    Object.assign(process.env, {
      CONTROL_TABLE_NAME: E2E_TABLE,
      DEFAULT_CONNECTOR_PROFILE: 'salesforce-default',
      MIN_API_QUOTA_SHARE: '0.2',
      RUN_STATE_BUCKET_NAME: RUN_STATE_BUCKET,
      FLOW_TIMEOUT_MINUTES: '720',
      AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
      AWS_ENDPOINT_URL_S3: url,
    });
    jest.isolateModules(() => {
      handler = (require('../../lambdas/load-objects') as typeof import('../../lambdas/load-objects'))
        .handler;
    });
  });

  afterAll(async () => {
    delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
    delete process.env.AWS_ENDPOINT_URL_S3;
    await runState.stop();
  });

  const execution = { name: 'daily-2026-03-10', startTime: RUN_STARTED_AT };
  /** What LoadObjects left in the run-state bucket (the Map's items and the rejected rows). */
  const written = (key: string) => JSON.parse(runState.readText(RUN_STATE_BUCKET, key) ?? 'null');
  const planned = () => written('runs/daily-2026-03-10/plan.json') as ObjectPlan[];
  const rejected = () => written('runs/daily-2026-03-10/rejected.json') as ObjectResult[];

  test('plans the good rows and reports the hostile and bad ones by name', async () => {
    // Act
    const result = await handler({ input: {}, execution });

    // Assess
    expect(result.run).toEqual({
      runId: 'daily-2026-03-10',
      startedAt: RUN_STARTED_AT,
      runDate: '2026-03-10',
    });
    // The state holds references and counts only; the plans are in the run-state bucket.
    expect(result.plan).toEqual({
      bucket: RUN_STATE_BUCKET,
      key: 'runs/daily-2026-03-10/plan.json',
      objectCount: 2,
      rejectedKey: 'runs/daily-2026-03-10/rejected.json',
      rejectedCount: 2,
      resultsPrefix: 'runs/daily-2026-03-10/results',
      reportKey: 'runs/daily-2026-03-10/report.json',
      freshnessKey: 'runs/daily-2026-03-10/freshness.json',
    });
    expect(planned().map((plan) => [plan.objectName, plan.syncMode, plan.syncReason])).toEqual([
      ['Account', 'incremental', 'incremental'],
      ['Opportunity', 'full', 'first-run'],
    ]);
    expect(planned()[1]).toMatchObject({
      connectorProfileName: 'salesforce-default',
      fields: ['Name', 'Amount'],
      deleteMode: 'soft',
    });
    expect(rejected().map((bad) => [bad.objectName, bad.status])).toEqual([
      ['Account;DROP TABLE x', 'FAILED'],
      ['Contact', 'FAILED'],
    ]);
    expect(rejected()[0].error).toMatch(/^Invalid control row "Account;DROP TABLE x": objectName/);
  });

  test('narrows the run to the objects of the input', async () => {
    // Act
    const result = await handler({
      input: { objects: ['Opportunity', 'Widget'], syncMode: 'full' },
      execution,
    });

    // Assess
    expect(result.plan).toMatchObject({ objectCount: 1, rejectedCount: 1 });
    expect(planned().map((plan) => [plan.objectName, plan.syncReason])).toEqual([['Opportunity', 'input']]);
    expect(rejected().map((bad) => [bad.objectName, bad.status])).toEqual([['Widget', 'FAILED']]);
  });

  test('refuses an invalid execution input before reading the table', async () => {
    // Act
    const act = handler({ input: { objects: ['Account;DROP TABLE x'] }, execution });

    // Assess
    await expect(act).rejects.toMatchObject({ name: 'InvalidExecutionInput' });
  });
});
