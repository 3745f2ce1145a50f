import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { claimObject, recordObjectSuccess } from '../../lambdas/common/control-table';
import type { ObjectResult, ObjectState } from '../../lambdas/common/object-state';
import { type ObjectPlan, planObject, type RunContext } from '../../lambdas/common/run-plan';
import type { LoadObjectsResult } from '../../lambdas/load-objects';
import { S3StandIn } from '../../local/stand-ins/s3-stand-in';
import { StepFunctionsStandIn } from '../../local/stand-ins/step-functions-stand-in';
import { createControlTable, Dynalite } from '../support/dynalite';
import { anAccountConfig } from './support/fixtures';

/**
 * Issue 20, overlap: a tick fires while an earlier run's 3-hour flow still holds an object. The
 * tick's LoadObjects asks Step Functions about the holder (the local run's stand-in), leaves the
 * object to it as RUNNING, and the tick after the holder's end catches up from where it got to.
 */
const TABLE = 'control-tick-test';
const BUCKET = 'run-state-tick-test';
const ARN = (name: string) =>
  `arn:aws:states:eu-west-1:000000000000:execution:saas-to-redshift-local:${name}`;
const dynalite = new Dynalite();
const s3 = new S3StandIn([BUCKET]);
const sfn = new StepFunctionsStandIn();
let doc: DynamoDBDocumentClient;
let loadObjects: typeof import('../../lambdas/load-objects').handler;
let recordFailure: typeof import('../../lambdas/record-failure').handler;

beforeAll(async () => {
  const [dynamodbUrl, s3Url, sfnUrl] = await Promise.all([dynalite.start(), s3.start(), sfn.start()]);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynamodbUrl,
    AWS_ENDPOINT_URL_S3: s3Url.url,
    AWS_ENDPOINT_URL_SFN: sfnUrl.url,
    // Nothing answers here: a RUNNING object's flow is its holder's, never deleted by a tick.
    AWS_ENDPOINT_URL_APPFLOW: 'http://127.0.0.1:9',
    CONTROL_TABLE_NAME: TABLE,
    DEFAULT_CONNECTOR_PROFILE: 'salesforce-local',
    RUN_STATE_BUCKET_NAME: BUCKET,
    FLOW_TIMEOUT_MINUTES: '720',
    FLOW_NAME_PREFIX: 's2r',
    SCHEDULE_DAILY_AT: '05:00',
    SCHEDULE_TIME_ZONE: 'UTC',
  });
  const client = dynalite.client();
  await createControlTable(client, TABLE);
  doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  jest.isolateModules(() => {
    loadObjects = (require('../../lambdas/load-objects') as typeof import('../../lambdas/load-objects'))
      .handler;
    recordFailure = (require('../../lambdas/record-failure') as typeof import('../../lambdas/record-failure'))
      .handler;
  });
});

afterAll(async () => {
  await Promise.all([dynalite.stop(), s3.stop(), sfn.stop()]);
});

const tickRun = (name: string, startTime: string): RunContext => ({
  runId: name,
  executionArn: ARN(name),
  startedAt: startTime,
  runDate: startTime.slice(0, 10),
  scheduled: true,
});

/** A run-state file the tick wrote to the S3 stand-in. */
async function runStateFile<T>(key: string): Promise<T> {
  const file = await new S3Client({}).send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return JSON.parse((await file.Body?.transformToString()) ?? '[]') as T;
}

async function tick(
  name: string,
  startTime: string,
): Promise<{ result: LoadObjectsResult; rejected: ObjectResult[]; planned: ObjectPlan[] }> {
  const result = await loadObjects({
    input: { scheduled: true },
    execution: { name, startTime, id: ARN(name) },
  });
  return {
    result,
    rejected: await runStateFile<ObjectResult[]>(result.plan.rejectedKey),
    planned: await runStateFile<ObjectPlan[]>(result.plan.key),
  };
}

const row = async (objectName: string) =>
  (await doc.send(new GetCommand({ TableName: TABLE, Key: { objectName }, ConsistentRead: true }))).Item ??
  {};

test('a tick leaves an object to the live run that holds it (RUNNING); the tick after that run ends catches up', async () => {
  // Prepare: hourly Account, complete through 05:00; the 06:00 tick claimed it and its flow runs 3 hours.
  await doc.send(
    new PutCommand({
      TableName: TABLE,
      Item: {
        objectName: 'Account',
        syncEveryMinutes: 60,
        watermark: '2026-03-10T05:00:00.000Z',
        completeThrough: '2026-03-10T05:00:00.000Z',
      },
    }),
  );
  const sixOClock = tickRun('tick-0600', '2026-03-10T06:00:00.000Z');
  const plan = planObject(
    anAccountConfig({ syncEveryMinutes: 60, watermark: '2026-03-10T05:00:00.000Z' }),
    sixOClock,
    'salesforce-local',
  );
  await claimObject(doc, TABLE, plan, sixOClock, new Date('2026-03-10T06:00:05.000Z'));
  sfn.setExecutionStatus(ARN('tick-0600'), 'RUNNING');
  const claimed = await row('Account');

  // Act: the 07:00 and 08:00 ticks fire while it runs.
  const seven = await tick('tick-0700', '2026-03-10T07:00:00.000Z');
  const eight = await tick('tick-0800', '2026-03-10T08:00:00.000Z');

  // Assess: not planned, not failed, not taken over; the holder's claim and row untouched.
  for (const { result, rejected } of [seven, eight]) {
    expect(result.plan.objectCount).toBe(0);
    expect(rejected).toEqual([
      expect.objectContaining({
        objectName: 'Account',
        status: 'RUNNING',
        completeThrough: '2026-03-10T05:00:00.000Z',
        error: expect.stringContaining('run tick-0600, which holds it'),
      }),
    ]);
  }
  expect(await row('Account')).toEqual(claimed);

  // Act: the 06:00 run's flow ends at 09:05 and its object succeeds; the 10:00 tick comes.
  await recordObjectSuccess(doc, TABLE, plan, sixOClock, noFigures, new Date('2026-03-10T09:05:00.000Z'));
  sfn.setExecutionStatus(ARN('tick-0600'), 'SUCCEEDED');
  const ten = await tick('tick-1000', '2026-03-10T10:00:00.000Z');

  // Assess: the holder's success made Account complete through 06:00; the 10:00 tick loads the rest
  // once, from there (the lookback's overlap before it) to its own start.
  expect(await row('Account')).toMatchObject({ completeThrough: '2026-03-10T06:00:00.000Z' });
  expect(ten.rejected).toEqual([]);
  expect(ten.planned).toEqual([
    expect.objectContaining({
      objectName: 'Account',
      window: { start: '2026-03-10T05:00:00.000Z', end: '2026-03-10T10:00:00.000Z' },
      completeThrough: '2026-03-10T06:00:00.000Z',
    }),
  ]);
});

test('a holder that is no longer running (aborted) does not hold the tick: the object is planned for takeover', async () => {
  // Prepare: Contact (this test's own object) was claimed by a run that was aborted
  await doc.send(new PutCommand({ TableName: TABLE, Item: { objectName: 'Contact', syncEveryMinutes: 15 } }));
  const crashed = tickRun('tick-1100', '2026-03-10T11:00:00.000Z');
  const plan = planObject(anAccountConfig({ objectName: 'Contact', targetTable: 'contact' }), crashed, 'p');
  await claimObject(doc, TABLE, plan, crashed, new Date('2026-03-10T11:00:05.000Z'));
  sfn.setExecutionStatus(ARN('tick-1100'), 'ABORTED');

  // Act
  const { rejected, planned } = await tick('tick-1115', '2026-03-10T11:15:00.000Z');

  // Assess: planned (StartExtract takes it over), not reported RUNNING
  expect(rejected.filter((line) => line.objectName === 'Contact')).toEqual([]);
  expect(planned).toContainEqual(expect.objectContaining({ objectName: 'Contact', targetTable: 'contact' }));
});

test('a tick whose StartExtract lost the race for the claim reports RUNNING and touches neither flow nor row', async () => {
  // Prepare: Lead (this test's own object) is claimed by tick-1130, a later tick's child found it busy.
  const holder = tickRun('tick-1130', '2026-03-10T11:30:00.000Z');
  const late = tickRun('tick-1145', '2026-03-10T11:45:00.000Z');
  const plan = planObject(
    anAccountConfig({ objectName: 'Lead', targetTable: 'lead', watermark: '2026-03-10T06:00:00.000Z' }),
    late,
    'p',
  );
  await doc.send(new PutCommand({ TableName: TABLE, Item: { objectName: 'Lead', syncEveryMinutes: 15 } }));
  await claimObject(doc, TABLE, plan, holder, new Date('2026-03-10T11:30:05.000Z'));
  const before = await row('Lead');
  const state: ObjectState = {
    run: late,
    plan,
    error: {
      Error: 'ObjectBusy',
      Cause: JSON.stringify({
        errorMessage: 'Lead: run tick-1130 holds this object; retry after it ends',
      }),
    },
  };

  // Act
  const line = await recordFailure(state);

  // Assess
  expect(line).toMatchObject({
    objectName: 'Lead',
    status: 'RUNNING',
    completeThrough: '2026-03-10T06:00:00.000Z',
  });
  expect(await row('Lead')).toEqual(before);
});

const noFigures = {
  recordsExtracted: 0,
  duplicatesRemoved: 0,
  rowsInserted: 0,
  rowsDeleted: 0,
  rowsPurged: 0,
  rowsUpdated: 0,
  rowsUnchanged: 0,
  valuesTruncated: 0,
  consolidationSkipped: true,
};
