import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { emptyResult, type ObjectResult } from '../../lambdas/common/object-state';
import { applyQuotaGuard, guardRunPlan } from '../../lambdas/common/quota-guard';
import type { ObjectPlan } from '../../lambdas/common/run-plan';
import type { RunPlanReference } from '../../lambdas/common/run-state';
import { anAccountPlan } from './support/fixtures';

const s3Mock = mockClient(S3Client);
const s3 = new S3Client({});

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

/** The run-state bucket: what was put is what is got, as JSON text. */
let objects: Map<string, string>;

beforeEach(() => {
  s3Mock.reset();
  objects = new Map([
    [PLAN.key, JSON.stringify(planned)],
    [PLAN.rejectedKey, JSON.stringify([widget])],
  ]);
  s3Mock.on(GetObjectCommand).callsFake((input) => {
    const text = objects.get(input.Key ?? '');
    if (text === undefined)
      throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' });
    return { Body: { transformToString: async () => text } };
  });
  s3Mock.on(PutObjectCommand).callsFake((input) => {
    objects.set(input.Key ?? '', String(input.Body));
    return {};
  });
});

const read = <T>(key: string) => JSON.parse(objects.get(key) ?? 'null') as T;

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
    expect(s3Mock.commandCalls(PutObjectCommand).map((call) => call.args[0].input.Key)).toEqual([
      PLAN.rejectedKey,
      PLAN.key,
    ]);
  });

  test('is idempotent: the state machine retrying it with the same input writes the same plan and counts', async () => {
    // Prepare
    const first = await guardRunPlan(s3, PLAN, LOW, MIN_SHARE);
    const after = new Map(objects);

    // Act
    const again = await guardRunPlan(s3, PLAN, LOW, MIN_SHARE);

    // Assess
    expect(again).toEqual(first);
    expect(objects).toEqual(after);
  });

  test('a retry after only the rejected list was written (the plan write failed) ends as one clean run would', async () => {
    // Prepare
    s3Mock
      .on(PutObjectCommand, { Key: PLAN.key })
      .rejectsOnce(Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown' }));
    await expect(guardRunPlan(s3, PLAN, LOW, MIN_SHARE)).rejects.toThrow();
    s3Mock.on(PutObjectCommand, { Key: PLAN.key }).callsFake((input) => {
      objects.set(input.Key ?? '', String(input.Body));
      return {};
    });

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
    expect(s3Mock.calls()).toHaveLength(0);
  });

  test('leaves an empty plan as it is', async () => {
    // Act
    const guarded = await guardRunPlan(s3, { ...PLAN, objectCount: 0 }, LOW, MIN_SHARE);

    // Assess
    expect(guarded.objectCount).toBe(0);
    expect(s3Mock.calls()).toHaveLength(0);
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
