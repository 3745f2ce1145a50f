import { emptyResult, type ObjectResult } from '../../lambdas/common/object-state';
import type { RunReport, RunReportSummary } from '../../lambdas/common/run-report';
import { EventBridgeStandIn } from '../../local/stand-ins/eventbridge-stand-in';
import { S3StandIn } from '../../local/stand-ins/s3-stand-in';
import { aRun } from './support/fixtures';

const BUCKET = 'run-state-test';
const FOLDER = 'runs/daily-2026-03-10';
const MAP_RUN_ID = '5f0c2a6e-1111-4b5e-9d1c-0a2b3c4d5e6f';
const MAP_RUN_ARN = `arn:aws:states:eu-west-1:000000000000:mapRun:saas-to-redshift-dev/ProcessObjects:${MAP_RUN_ID}`;

const s3 = new S3StandIn([BUCKET]);
const events = new EventBridgeStandIn();
type Handler = typeof import('../../lambdas/run-report').handler;
let handler: Handler;

/** Puts a JSON document where Step Functions or LoadObjects would have, as the account's operator. */
async function put(key: string, value: unknown): Promise<void> {
  const { S3Client, PutObjectCommand } = await import('@aws-sdk/client-s3');
  await new S3Client({}).send(
    new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: JSON.stringify(value) }),
  );
}

const plan = {
  bucket: BUCKET,
  key: `${FOLDER}/plan.json`,
  objectCount: 3,
  rejectedKey: `${FOLDER}/rejected.json`,
  rejectedCount: 1,
  resultsPrefix: `${FOLDER}/results`,
  reportKey: `${FOLDER}/report.json`,
};
const mapRun = {
  MapRunArn: MAP_RUN_ARN,
  ResultWriterDetails: { Bucket: BUCKET, Key: `${FOLDER}/results/${MAP_RUN_ID}/manifest.json` },
};
const childInput = (objectName: string) =>
  JSON.stringify({ run: aRun(), plan: { objectName, syncMode: 'incremental', syncReason: 'incremental' } });
const accountLoaded: ObjectResult = { ...emptyResult('Account', 'SUCCEEDED', null), recordsExtracted: 12 };

beforeAll(async () => {
  const [s3Url, eventsUrl] = await Promise.all([s3.start(), events.start()]);
  Object.assign(process.env, {
    EVENT_BUS_NAME: 'default',
    AWS_ENDPOINT_URL_S3: s3Url.url,
    AWS_ENDPOINT_URL_EVENTBRIDGE: eventsUrl.url,
  });
  jest.isolateModules(() => {
    handler = (require('../../lambdas/run-report') as typeof import('../../lambdas/run-report')).handler;
  });
  await put(plan.key, [{ objectName: 'Account' }, { objectName: 'Contact' }, { objectName: 'Lead' }]);
  await put(plan.rejectedKey, [
    emptyResult('Widget', 'FAILED', 'Unknown object "Widget": no control-table row'),
  ]);
  const results = `${FOLDER}/results/${MAP_RUN_ID}`;
  await put(`${results}/SUCCEEDED_0.json`, [
    {
      ExecutionArn: 'arn:aws:states:eu-west-1:000000000000:execution:saas-to-redshift-dev/ProcessObjects:a1',
      Input: childInput('Account'),
      Name: 'a1',
      Output: JSON.stringify(accountLoaded),
      Status: 'SUCCEEDED',
      RedriveCount: 0,
      RedriveStatus: 'NOT_REDRIVABLE',
    },
  ]);
  // RecordFailure itself failed (its retries spent): the child ended FAILED with no output.
  await put(`${results}/FAILED_0.json`, [
    {
      ExecutionArn: 'arn:aws:states:eu-west-1:000000000000:execution:saas-to-redshift-dev/ProcessObjects:c1',
      Input: childInput('Contact'),
      Name: 'c1',
      Error: 'Throttled',
      Cause: 'recording the failure: ProvisionedThroughputExceededException',
      Status: 'FAILED',
      RedriveCount: 0,
      RedriveStatus: 'REDRIVABLE',
    },
  ]);
  await put(mapRun.ResultWriterDetails.Key, {
    DestinationBucket: BUCKET,
    MapRunArn: MAP_RUN_ARN,
    ResultFiles: {
      FAILED: [{ Key: `${results}/FAILED_0.json`, Size: 1 }],
      PENDING: [],
      SUCCEEDED: [{ Key: `${results}/SUCCEEDED_0.json`, Size: 1 }],
    },
  });
});

afterAll(async () => {
  delete process.env.AWS_ENDPOINT_URL_S3;
  delete process.env.AWS_ENDPOINT_URL_EVENTBRIDGE;
  await Promise.all([s3.stop(), events.stop()]);
});

describe('ReportRun from the Map Run results in S3', () => {
  let summary: RunReportSummary;
  let full: RunReport;

  beforeAll(async () => {
    summary = await handler({ run: aRun(), plan, mapRun });
    full = JSON.parse(s3.readText(BUCKET, plan.reportKey) as string) as RunReport;
  });

  test("a child that failed uncaught is a FAILED line naming its object and Step Functions' cause", () => {
    expect(full.objects.find((line) => line.objectName === 'Contact')).toMatchObject({
      status: 'FAILED',
      syncMode: 'incremental',
      error: 'Throttled: recording the failure: ProvisionedThroughputExceededException',
    });
  });

  test('every planned object has a line: one the Map Run reported nothing for is FAILED too', () => {
    expect(full.objects.map((line) => [line.objectName, line.status])).toEqual([
      ['Account', 'SUCCEEDED'],
      ['Contact', 'FAILED'],
      ['Lead', 'FAILED'],
      ['Widget', 'FAILED'],
    ]);
    expect(full.objects.find((line) => line.objectName === 'Account')).toEqual(accountLoaded);
    expect(full.objects.find((line) => line.objectName === 'Lead')?.error).toMatch(/^NoResult:/);
  });

  test('the execution output is the summary with counts and the full report by reference', () => {
    expect(summary).toMatchObject({
      status: 'FAILED',
      objectCounts: { total: 4, SUCCEEDED: 1, FAILED: 3, SKIPPED: 0, SKIPPED_QUOTA: 0 },
      failedObjects: ['Contact', 'Lead', 'Widget'],
      failedObjectCount: 3,
      rerunInput: { objects: ['Contact', 'Lead', 'Widget'] },
      report: { bucket: BUCKET, key: plan.reportKey },
    });
    expect(summary).not.toHaveProperty('objects');
  });

  test('the EventBridge event carries the full report and where it is', () => {
    const detail = events.events.at(-1)?.detail as RunReport & { reportLocation: unknown; message: string };
    expect(detail.objects).toHaveLength(4);
    expect(detail.reportLocation).toEqual({ bucket: BUCKET, key: plan.reportKey });
    expect(detail.message).toContain('Contact');
  });
});

test('1,000 failed objects of 80-character names: the output stays bounded, the full report has them all', async () => {
  const names = Array.from(
    { length: 1_000 },
    (_, index) => `O${String(index).padStart(4, '0')}${'x'.repeat(75)}`,
  );
  const folder = 'runs/wide-run';
  const widePlan = {
    ...plan,
    key: `${folder}/plan.json`,
    rejectedKey: `${folder}/rejected.json`,
    reportKey: `${folder}/report.json`,
  };
  await put(widePlan.key, []);
  await put(
    widePlan.rejectedKey,
    names.map((name) => emptyResult(name, 'FAILED', `Invalid control row "${name}"`)),
  );
  const manifestKey = `${folder}/results/m/manifest.json`;
  await put(manifestKey, {
    DestinationBucket: BUCKET,
    MapRunArn: MAP_RUN_ARN,
    ResultFiles: { FAILED: [], PENDING: [], SUCCEEDED: [] },
  });

  const summary = await handler({
    run: aRun(),
    plan: widePlan,
    mapRun: { MapRunArn: MAP_RUN_ARN, ResultWriterDetails: { Bucket: BUCKET, Key: manifestKey } },
  });

  expect(Buffer.byteLength(JSON.stringify(summary))).toBeLessThan(16 * 1024);
  expect(summary.failedObjectCount).toBe(1_000);
  expect(summary.failedObjects).toHaveLength(100);
  expect(summary.rerunInput).toBeUndefined();
  expect(summary.summary).toContain("Rerun them with the full run report's rerunInput");
  const full = JSON.parse(s3.readText(BUCKET, widePlan.reportKey) as string) as RunReport;
  expect(full.rerunInput?.objects).toHaveLength(1_000);
});

test('a run whose Map was skipped (no mapRun: nothing to run, or the quota guard held every object back) reports the rejected list', async () => {
  // Prepare
  const folder = 'runs/held-back-run';
  const heldBack = {
    ...plan,
    key: `${folder}/plan.json`,
    objectCount: 0,
    rejectedKey: `${folder}/rejected.json`,
    rejectedCount: 2,
    resultsPrefix: `${folder}/results`,
    reportKey: `${folder}/report.json`,
  };
  const quotaReason = 'Skipped: the source org has 10 of 1000 daily API requests left (1.0%)';
  await put(heldBack.key, []);
  await put(heldBack.rejectedKey, [
    emptyResult('Account', 'SKIPPED_QUOTA', quotaReason),
    emptyResult('Contact', 'SKIPPED_QUOTA', quotaReason),
  ]);

  // Act: ReportRun gets the whole state, without `mapRun`
  const summary = await handler({ run: aRun(), plan: heldBack });

  // Assess
  const full = JSON.parse(s3.readText(BUCKET, heldBack.reportKey) as string) as RunReport;
  expect(full.objects.map((line) => [line.objectName, line.status])).toEqual([
    ['Account', 'SKIPPED_QUOTA'],
    ['Contact', 'SKIPPED_QUOTA'],
  ]);
  expect(summary.objectCounts).toMatchObject({ total: 2, SKIPPED_QUOTA: 2, FAILED: 0 });
});

test('a run with nothing planned and nothing rejected reports an empty run', async () => {
  // Prepare
  const folder = 'runs/empty-run';
  const empty = {
    ...plan,
    key: `${folder}/plan.json`,
    objectCount: 0,
    rejectedKey: `${folder}/rejected.json`,
    rejectedCount: 0,
    resultsPrefix: `${folder}/results`,
    reportKey: `${folder}/report.json`,
  };
  await put(empty.key, []);
  await put(empty.rejectedKey, []);

  // Act
  const summary = await handler({ run: aRun(), plan: empty });

  // Assess
  expect(summary.objectCounts).toMatchObject({ total: 0 });
  expect(JSON.parse(s3.readText(BUCKET, empty.reportKey) as string)).toMatchObject({ objects: [] });
});
