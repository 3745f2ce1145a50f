import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { emptyResult, type ObjectResult } from '../../lambdas/common/object-state';
import { applyQuotaGuard, guardRunPlan } from '../../lambdas/common/quota-guard';
import type { ObjectPlan } from '../../lambdas/common/run-plan';
import type { RunPlanReference } from '../../lambdas/common/run-state';
import { ServiceError, type StandInCall } from '../../local/stand-ins/http-service';
import { S3StandIn } from '../../local/stand-ins/s3-stand-in';
import { anAccountPlan } from './support/fixtures';

const BUCKET = 'run-state-test';
const FOLDER = 'runs/daily-2026-03-10';
const PLAN: RunPlanReference = {
  bucket: BUCKET,
  key: `${FOLDER}/plan.json`,
  objectCount: 3,
  rejectedKey: `${FOLDER}/rejected.json`,
  rejectedCount: 1,
  resultsPrefix: `${FOLDER}/results`,
  reportKey: `${FOLDER}/report.json`,
};
/** 10 of 1,000 requests left: 1 %, below the 20 % kept for the org. */
const LOW = { remaining: 10, max: 1000 };
const MIN_SHARE = 0.2;

const orders = anAccountPlan({
  objectName: 'tidb_orders',
  targetTable: 'tidb_orders',
  connectorType: 'CustomConnector',
  connectorLabel: 'TiDBCloud',
  connectorProfileName: 'tidb-cloud',
  sourceName: 'tidb',
});
const planned: ObjectPlan[] = [
  anAccountPlan(),
  anAccountPlan({ objectName: 'Contact', targetTable: 'contact' }),
  orders,
];
const widget = emptyResult('Widget', 'FAILED', 'Unknown object "Widget": no control-table row');

/** The run-state bucket: the S3 stand-in, as the Lambda reaches it. */
const s3StandIn = new S3StandIn([BUCKET], { checks: [(call) => slowDown(call)] });
let s3: S3Client;
/** PutObject keys the stand-in answers SlowDown once each (S3's 503 when a prefix is too busy). */
const slowDownOnce = new Set<string>();
function slowDown(call: StandInCall): void {
  const key = call.request.path.split('/').slice(2).join('/');
  if (call.request.method === 'PUT' && slowDownOnce.delete(key))
    throw new ServiceError('SlowDown', 'Please reduce your request rate.', 503);
}

beforeAll(async () => {
  s3 = new S3Client({
    region: 'eu-west-1',
    endpoint: (await s3StandIn.start()).url,
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1, // see the SlowDown instead of the SDK's retries
  });
});

afterAll(async () => {
  s3.destroy();
  await s3StandIn.stop();
});

/** Calls the stand-in had before the test acted: each test looks at its own. */
let callsBefore = 0;
const callsSince = () => s3StandIn.calls.slice(callsBefore);

beforeEach(async () => {
  slowDownOnce.clear();
  for (const [key, value] of [
    [PLAN.key, planned],
    [PLAN.rejectedKey, [widget]],
  ] as const)
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: JSON.stringify(value) }));
  callsBefore = s3StandIn.calls.length;
});

const read = <T>(key: string) => JSON.parse(s3StandIn.readText(BUCKET, key) ?? 'null') as T;
const bucketContents = () =>
  new Map(s3StandIn.keys(BUCKET).map((key) => [key, s3StandIn.readText(BUCKET, key)]));

describe('guardRunPlan: the quota guard on the plan in S3 (issue 19)', () => {
  test("moves the Salesforce objects to the rejected list as SKIPPED_QUOTA when the org's quota is low, and the counts follow", async () => {
    // Act
    const guarded = await guardRunPlan(s3, PLAN, LOW, MIN_SHARE);

    // Assess
    expect(guarded).toEqual({ ...PLAN, objectCount: 1, rejectedCount: 3 });
    expect(read<ObjectPlan[]>(PLAN.key)).toEqual([orders]);
    expect(
      read<ObjectResult[]>(PLAN.rejectedKey).map((result) => [result.objectName, result.status]),
    ).toEqual([
      ['Widget', 'FAILED'],
      ['Account', 'SKIPPED_QUOTA'],
      ['Contact', 'SKIPPED_QUOTA'],
    ]);
    expect(read<ObjectResult[]>(PLAN.rejectedKey)[1].error).toBe(
      "Skipped: the source org has 10 of 1000 daily API requests left (1.0%), below the 20% kept for the org's own use; watermark unchanged",
    );
  });

  test('writes the rejected list before the plan, so a retry after either write still names each object once', async () => {
    // Act
    await guardRunPlan(s3, PLAN, LOW, MIN_SHARE);

    // Assess
    expect(
      callsSince()
        .filter((call) => call.operation === 'PutObject')
        .map((call) => call.key),
    ).toEqual([PLAN.rejectedKey, PLAN.key]);
  });

  test('is idempotent: the state machine retrying it with the same input writes the same plan and counts', async () => {
    // Prepare
    const first = await guardRunPlan(s3, PLAN, LOW, MIN_SHARE);
    const after = bucketContents();

    // Act
    const again = await guardRunPlan(s3, PLAN, LOW, MIN_SHARE);

    // Assess
    expect(again).toEqual(first);
    expect(bucketContents()).toEqual(after);
  });

  test('a retry after only the rejected list was written (the plan write failed) ends as one clean run would', async () => {
    // Prepare: S3 answers the plan's PutObject SlowDown (503) once: Throttled, which the state machine retries
    slowDownOnce.add(PLAN.key);
    await expect(guardRunPlan(s3, PLAN, LOW, MIN_SHARE)).rejects.toMatchObject({
      name: 'Throttled',
      message: expect.stringContaining('SlowDown'),
    });
    expect(read<ObjectPlan[]>(PLAN.key)).toEqual(planned);

    // Act
    const guarded = await guardRunPlan(s3, PLAN, LOW, MIN_SHARE);

    // Assess
    expect(guarded).toEqual({ ...PLAN, objectCount: 1, rejectedCount: 3 });
    expect(read<ObjectResult[]>(PLAN.rejectedKey).map((result) => result.objectName)).toEqual([
      'Widget',
      'Account',
      'Contact',
    ]);
    expect(read<ObjectPlan[]>(PLAN.key)).toEqual([orders]);
  });

  test.each([
    ['the quota is unknown (no limits secret, or Salesforce did not answer)', undefined],
    ['enough of the quota is left', { remaining: 900, max: 1000 }],
  ])('leaves the plan as it is, touching nothing in S3, when %s', async (_when, quota) => {
    // Act
    const guarded = await guardRunPlan(s3, PLAN, quota, MIN_SHARE);

    // Assess
    expect(guarded).toBe(PLAN);
    expect(callsSince()).toEqual([]);
  });

  test('leaves an empty plan as it is', async () => {
    // Act
    const guarded = await guardRunPlan(s3, { ...PLAN, objectCount: 0 }, LOW, MIN_SHARE);

    // Assess
    expect(guarded.objectCount).toBe(0);
    expect(callsSince()).toEqual([]);
  });
});

describe('applyQuotaGuard', () => {
  test('holds back only the objects that spend the Salesforce org’s quota', () => {
    // Act
    const guarded = applyQuotaGuard({ objects: planned, rejected: [] }, LOW, MIN_SHARE);

    // Assess
    expect(guarded.objects).toEqual([orders]);
    expect(guarded.rejected.map((result) => result.objectName)).toEqual(['Account', 'Contact']);
  });
});
