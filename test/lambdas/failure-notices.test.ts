import { AppflowClient, DeleteFlowCommand } from '@aws-sdk/client-appflow';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { isDailyTick, type ScheduleAnchor } from '../../lambdas/common/cadence';
import { emptyResult, type ObjectResult } from '../../lambdas/common/object-state';
import { applyQuotaGuard } from '../../lambdas/common/quota-guard';
import { planObject } from '../../lambdas/common/run-plan';
import { buildRunReport } from '../../lambdas/common/run-report';
import { captureEmf } from '../support/emf';
import { anAccountConfig, anAccountPlan, anObjectState, aRun } from './support/fixtures';

Object.assign(process.env, {
  CONTROL_TABLE_NAME: 'control-test',
  DEFAULT_CONNECTOR_PROFILE: 'salesforce-default',
  RUN_STATE_BUCKET_NAME: 'run-state-test',
  FLOW_TIMEOUT_MINUTES: '720',
  FLOW_NAME_PREFIX: 'saas2rs-test',
  PIPELINE_ENVIRONMENT: 'prod',
});
const { markRepeated } = require('../../lambdas/load-objects') as typeof import('../../lambdas/load-objects');
const recordFailure =
  require('../../lambdas/record-failure') as typeof import('../../lambdas/record-failure');
const appflowMock = mockClient(AppflowClient);
const dynamoMock = mockClient(DynamoDBDocumentClient);

/**
 * A failure that repeats every 15-minute tick (the object is due again after a failure) must not
 * e-mail the operators 96 times a day: the report's `notify` says whether the stack's rule sends it.
 */
const FINISHED_AT = new Date('2026-03-10T06:20:00.000Z');
const UTC_05: ScheduleAnchor = { dailyAtMinutes: 5 * 60, timeZone: 'UTC' };
const failed = (objectName: string, repeated = false): ObjectResult => ({
  ...emptyResult(objectName, 'FAILED', 'StatementFailed: Account: consolidate_object failed'),
  ...(repeated ? { repeatedFailure: true as const } : {}),
});
const tick = (dailyTick = false) => aRun({ scheduled: true, ...(dailyTick ? { dailyTick: true } : {}) });

describe('which failed runs are e-mailed (the report’s notify)', () => {
  test.each([
    {
      what: 'an operator’s run, even if it fails as before',
      run: aRun(),
      results: [failed('Account', true)],
      notify: true,
    },
    {
      what: 'a tick with a failure not reported before',
      run: tick(),
      results: [failed('Account'), failed('Contact', true)],
      notify: true,
    },
    {
      what: 'a tick whose every failure repeats',
      run: tick(),
      results: [failed('Account', true)],
      notify: false,
    },
    {
      what: 'the day’s first tick, repeats and all',
      run: tick(true),
      results: [failed('Account', true)],
      notify: true,
    },
    {
      what: 'a tick that loaded everything',
      run: tick(),
      results: [emptyResult('Account', 'SUCCEEDED', null)],
      notify: false,
    },
  ])('$what: notify $notify', ({ run, results, notify }) => {
    expect(buildRunReport(run, results, FINISHED_AT).notify).toBe(notify);
  });
});

describe('what repeats', () => {
  test('a plan carries the error name its object last failed with, from the control row', () => {
    const plan = planObject(
      anAccountConfig({
        lastRun: { runId: 'run-1', status: 'FAILED', error: 'StatementFailed: relation does not exist' },
      }),
      aRun(),
      'salesforce-default',
    );
    expect(plan.previousFailure).toBe('StatementFailed');
    expect(planObject(anAccountConfig(), aRun(), 'salesforce-default').previousFailure).toBeUndefined();
  });

  test('an invalid row repeats on every tick but the day’s first, and never in an operator’s run', () => {
    const invalid = emptyResult('Broken', 'FAILED', 'Invalid control row "Broken": lookbackMinutes');
    expect(markRepeated(invalid, tick()).repeatedFailure).toBe(true);
    expect(markRepeated(invalid, tick(true)).repeatedFailure).toBeUndefined();
    expect(markRepeated(invalid, aRun()).repeatedFailure).toBeUndefined();
    expect(markRepeated(emptyResult('Later', 'NOT_DUE', null), tick()).repeatedFailure).toBeUndefined();
  });

  test('objects held back for the API quota are marked repeated when the tick says so', () => {
    const guarded = applyQuotaGuard(
      { objects: [anAccountPlan()], rejected: [] },
      { remaining: 10, max: 1000 },
      0.2,
      true,
    );
    expect(guarded.rejected).toEqual([
      expect.objectContaining({ objectName: 'Account', status: 'SKIPPED_QUOTA', repeatedFailure: true }),
    ]);
  });

  test.each([
    ['2026-03-10T05:00:00Z', true],
    ['2026-03-10T05:14:00Z', true],
    ['2026-03-10T05:15:00Z', false],
    ['2026-03-10T04:45:00Z', false],
  ])('the 15-minute tick at %s is the day’s first (05:00 UTC): %s', (iso, first) => {
    expect(isDailyTick(new Date(iso), 15, UTC_05)).toBe(first);
  });
});

describe('RecordFailure', () => {
  beforeEach(() => {
    appflowMock.reset();
    dynamoMock.reset();
    appflowMock.on(DeleteFlowCommand).resolves({});
    dynamoMock.on(UpdateCommand).resolves({});
  });

  const failing = (previousFailure?: string) =>
    anObjectState({
      plan: anAccountPlan(previousFailure ? { previousFailure } : {}),
      error: { Error: 'StatementFailed', Cause: '{"errorMessage":"Account: catalog read failed"}' },
    });

  test('marks a failure with the same name as the previous run’s a repeat', async () => {
    expect((await recordFailure.handler(failing('StatementFailed'))).repeatedFailure).toBe(true);
    expect((await recordFailure.handler(failing('FlowRunFailed'))).repeatedFailure).toBeUndefined();
    expect((await recordFailure.handler(failing())).repeatedFailure).toBeUndefined();
  });

  test('counts the failure for the environment: the ObjectFailed alarm’s metric', async () => {
    // Act
    const { metrics } = await captureEmf(() => recordFailure.handler(failing()));

    // Assess: per object (the dashboard) and per environment only (the alarm)
    expect(metrics).toContainEqual(
      expect.objectContaining({
        name: 'ObjectFailed',
        value: 1,
        dimensions: { environment: 'prod', service: 'saas-to-redshift' },
      }),
    );
    expect(metrics).toContainEqual(
      expect.objectContaining({
        name: 'ObjectFailed',
        dimensions: { object: 'Account', environment: 'prod', service: 'saas-to-redshift' },
      }),
    );
  });
});
