import {
  dailyTimeOfCron,
  dueReason,
  effectiveCadenceMinutes,
  lagMinutes,
  overdueAfterMinutes,
  type ScheduleAnchor,
  scheduleAnchorFrom,
  slotOf,
  tickCronExpression,
  wallClockMinutes,
} from '../../lambdas/common/cadence';
import { parseControlRow } from '../../lambdas/common/control-row';
import { parseExecutionInput } from '../../lambdas/common/execution-input';
import { freshnessEntries, measureFreshness } from '../../lambdas/common/freshness';
import { emptyResult } from '../../lambdas/common/object-state';
import { publishEnvironmentMetrics, publishObjectMetrics } from '../../lambdas/common/observability';
import { buildRunReport, summarizeRunReport } from '../../lambdas/common/run-report';
import { captureEmf } from '../support/emf';
import { anAccountConfig, aRun } from './support/fixtures';

Object.assign(process.env, {
  CONTROL_TABLE_NAME: 'control-test',
  DEFAULT_CONNECTOR_PROFILE: 'salesforce-default',
  RUN_STATE_BUCKET_NAME: 'run-state-test',
  FLOW_TIMEOUT_MINUTES: '720',
});
const { selectObjects, setAsideHeldObjects } =
  require('../../lambdas/load-objects') as typeof import('../../lambdas/load-objects');

const UTC_05: ScheduleAnchor = { dailyAtMinutes: 5 * 60, timeZone: 'UTC' };
const BERLIN_05: ScheduleAnchor = { dailyAtMinutes: 5 * 60, timeZone: 'Europe/Berlin' };
const at = (iso: string) => new Date(iso);
const object = (syncEveryMinutes: number, completeThrough?: string, lastStatus = 'SUCCEEDED') => ({
  syncEveryMinutes,
  ...(completeThrough ? { completeThrough } : {}),
  lastRun: { status: lastStatus },
});

describe('when an object is due', () => {
  test('an hourly object runs on the first tick after each full hour from the daily time, once per hour', () => {
    const ranAt = '2026-03-10T06:00:20.000Z';
    expect(dueReason(object(60, ranAt), at('2026-03-10T06:15:00Z'), UTC_05)).toBeUndefined();
    expect(dueReason(object(60, ranAt), at('2026-03-10T06:45:00Z'), UTC_05)).toBeUndefined();
    expect(dueReason(object(60, ranAt), at('2026-03-10T07:00:00Z'), UTC_05)).toBe('slot-begun');
  });

  test('a 15-minute object runs on every 15-minute tick', () => {
    for (const [ran, tick] of [
      ['2026-03-10T06:00:05Z', '2026-03-10T06:15:00Z'],
      ['2026-03-10T06:15:40Z', '2026-03-10T06:30:00Z'],
    ]) {
      expect(dueReason(object(15, ran), at(tick), UTC_05)).toBe('slot-begun');
    }
  });

  test('a daily object runs on the first tick at or after the daily time, and not again that day', () => {
    const ranYesterday = '2026-03-09T05:00:00.000Z';
    expect(dueReason(object(1440, ranYesterday), at('2026-03-10T04:45:00Z'), UTC_05)).toBeUndefined();
    expect(dueReason(object(1440, ranYesterday), at('2026-03-10T05:00:00Z'), UTC_05)).toBe('slot-begun');
    // Loaded by an operator at 10:00: the next slot is tomorrow's 05:00.
    expect(
      dueReason(object(1440, '2026-03-10T10:00:00Z'), at('2026-03-10T23:45:00Z'), UTC_05),
    ).toBeUndefined();
  });

  test('05:00 Europe/Berlin stays 05:00 across daylight saving time (03:00 UTC in summer, 04:00 in winter)', () => {
    // 29 March 2026: clocks go from 02:00 to 03:00 in Berlin.
    const ranSaturday = '2026-03-28T04:00:00.000Z'; // 05:00 CET
    expect(dueReason(object(1440, ranSaturday), at('2026-03-29T02:45:00Z'), BERLIN_05)).toBeUndefined();
    expect(dueReason(object(1440, ranSaturday), at('2026-03-29T03:00:00Z'), BERLIN_05)).toBe('slot-begun');
    expect(wallClockMinutes(at('2026-03-29T03:00:00Z'), 'Europe/Berlin') % 1440).toBe(5 * 60);
  });

  test('a weekly object runs on Mondays at the daily time', () => {
    const ranMonday = '2026-03-09T05:00:00.000Z'; // a Monday
    expect(dueReason(object(10_080, ranMonday), at('2026-03-15T23:45:00Z'), UTC_05)).toBeUndefined();
    expect(dueReason(object(10_080, ranMonday), at('2026-03-16T05:00:00Z'), UTC_05)).toBe('slot-begun');
  });

  test('an object that never ran, or whose last run failed, is due at once', () => {
    expect(dueReason(object(1440), at('2026-03-10T12:00:00Z'), UTC_05)).toBe('never-ran');
    expect(
      dueReason(object(1440, '2026-03-10T05:00:00Z', 'FAILED'), at('2026-03-10T05:15:00Z'), UTC_05),
    ).toBe('last-run-failed');
  });

  test('a row of an older version (watermark, no completeThrough) counts from its watermark', () => {
    const old = { syncEveryMinutes: 60, watermark: '2026-03-10T06:00:00.000Z' };
    expect(dueReason(old, at('2026-03-10T06:30:00Z'), UTC_05)).toBeUndefined();
  });

  test('slots never drift: the same instant falls in the same slot whatever ran before', () => {
    expect(slotOf(at('2026-03-10T06:59:59Z'), 60, UTC_05)).toBe(
      slotOf(at('2026-03-10T06:00:00Z'), 60, UTC_05),
    );
    expect(slotOf(at('2026-03-10T07:00:00Z'), 60, UTC_05)).toBe(
      slotOf(at('2026-03-10T06:00:00Z'), 60, UTC_05) + 1,
    );
  });
});

describe('the schedule', () => {
  test.each([
    [5 * 60, 15, 'cron(0/15 * * * ? *)'],
    [5 * 60 + 10, 20, 'cron(10/20 * * * ? *)'],
    [5 * 60 + 30, 120, 'cron(30 1/2 * * ? *)'],
    [5 * 60, 1440, 'cron(0 5 * * ? *)'],
  ])('daily time %i min, ticks every %i min: %s, one tick on the daily time', (daily, tick, expression) => {
    expect(tickCronExpression(daily, tick)).toBe(expression);
  });

  test('the daily time comes from a daily cron; anything else is not one', () => {
    expect(dailyTimeOfCron('cron(30 4 * * ? *)')).toBe(4 * 60 + 30);
    expect(dailyTimeOfCron('rate(1 day)')).toBeUndefined();
    expect(dailyTimeOfCron('cron(0 25 * * ? *)')).toBeUndefined();
  });

  test('LoadObjects refuses an anchor it cannot read at its cold start', () => {
    expect(scheduleAnchorFrom(undefined, undefined)).toEqual(UTC_05);
    expect(() => scheduleAnchorFrom('5am', 'UTC')).toThrow(/SCHEDULE_DAILY_AT "5am" is not HH:MM/);
    expect(() => scheduleAnchorFrom('05:00', 'Mars/Olympus')).toThrow(/SCHEDULE_TIME_ZONE/);
  });
});

describe('the control row and the execution input', () => {
  test('syncEveryMinutes defaults to 1,440 and is an integer from 15 to 10,080', () => {
    const parsed = parseControlRow({ objectName: 'Account' });
    expect(parsed.ok && parsed.object.syncEveryMinutes).toBe(1440);
    for (const bad of [10, 10_081, 60.5]) {
      const row = parseControlRow({ objectName: 'Account', syncEveryMinutes: bad });
      expect(row.ok ? 'accepted' : row.error).toMatch(/^Invalid control row "Account": syncEveryMinutes/);
    }
  });

  test('{"objects": []} is refused as a mistake, naming the fix', () => {
    expect(() => parseExecutionInput({ objects: [] })).toThrow(
      'Invalid execution input: objects must name at least one object; leave "objects" out to run every enabled object',
    );
  });

  test("a tick names nothing else: objects, dates and sync modes are an operator's", () => {
    expect(parseExecutionInput({ scheduled: true })).toEqual({ scheduled: true });
    expect(() => parseExecutionInput({ scheduled: true, objects: ['Account'] })).toThrow(
      /objects cannot be combined with scheduled/,
    );
  });
});

describe('what a tick plans', () => {
  const tick = aRun({ startedAt: '2026-03-10T07:00:00.000Z', scheduled: true });
  const rows = [
    {
      objectName: 'Account',
      syncEveryMinutes: 60,
      completeThrough: '2026-03-10T06:00:00.000Z',
      watermark: '2026-03-10T06:00:00.000Z',
    },
    {
      objectName: 'Contact',
      completeThrough: '2026-03-10T05:00:00.000Z',
      watermark: '2026-03-10T05:00:00.000Z',
    },
    { objectName: 'Lead', enabled: false },
    { objectName: 'Case', syncEveryMinutes: 5 },
  ];

  test('due objects are planned; the others are NOT_DUE lines with their completeThrough; bad rows FAILED', () => {
    const { objects, rejected } = selectObjects(rows, undefined, tick, 'profile', undefined, UTC_05);
    expect(objects.map((plan) => plan.objectName)).toEqual(['Account']);
    expect(rejected.map((line) => [line.objectName, line.status, line.completeThrough])).toEqual([
      ['Case', 'FAILED', undefined],
      ['Contact', 'NOT_DUE', '2026-03-10T05:00:00.000Z'],
    ]);
  });

  test("an operator's run plans every enabled object, due or not", () => {
    const { objects } = selectObjects(
      rows,
      undefined,
      { ...tick, scheduled: undefined },
      'profile',
      undefined,
      UTC_05,
    );
    expect(objects.map((plan) => plan.objectName)).toEqual(['Account', 'Contact']);
  });

  test('an object a live run holds is RUNNING, not planned; a dead or expired holder is taken over later', async () => {
    const plans = selectObjects(
      ['Account', 'Contact', 'Opportunity', 'Order', 'Case'].map((objectName) => ({ objectName })),
      undefined,
      tick,
      'profile',
      undefined,
      UTC_05,
    );
    const live = 'arn:aws:states:eu-west-1:1:execution:sm:live';
    const items = [
      {
        objectName: 'Account',
        lockRunId: 'live',
        lockExecutionArn: live,
        lockExpiresAt: '2026-03-11T06:00:00.000Z',
      },
      {
        objectName: 'Contact',
        lockRunId: 'dead',
        lockExecutionArn: `${live}-dead`,
        lockExpiresAt: '2026-03-11T06:00:00.000Z',
      },
      {
        objectName: 'Opportunity',
        lockRunId: 'old',
        lockExecutionArn: live,
        lockExpiresAt: '2026-03-10T06:59:00.000Z',
      },
      { objectName: 'Order', lockRunId: 'older-version', lockExpiresAt: '2026-03-11T06:00:00.000Z' },
      { objectName: 'Case', lockRunId: tick.runId, lockExecutionArn: `${live}-dead` },
    ];
    const asked: string[] = [];

    const { objects, rejected } = await setAsideHeldObjects(plans, items, tick, async (arn) => {
      asked.push(arn);
      return arn === live;
    });

    expect(objects.map((plan) => plan.objectName).sort()).toEqual(['Case', 'Contact', 'Opportunity']);
    expect(rejected.map((line) => [line.objectName, line.status])).toEqual([
      ['Account', 'RUNNING'],
      ['Order', 'RUNNING'],
    ]);
    expect(rejected[0].error).toMatch(/run live, which holds it; .*next one catches up/);
    // Only live-looking claims are looked up: not expired ones, not this run's own.
    expect(asked.sort()).toEqual([live, `${live}-dead`]);
  });
});

describe('freshness', () => {
  test('lag is measured from completeThrough; overdue past twice the cadence plus the flow timeout', () => {
    const entries = freshnessEntries(
      [
        anAccountConfig({ syncEveryMinutes: 15, completeThrough: '2026-03-10T06:00:00.000Z' }),
        anAccountConfig({
          objectName: 'Contact',
          completeThrough: '2026-03-08T00:00:00.000Z',
          flowTimeoutMinutes: 60,
        }),
        anAccountConfig({ objectName: 'Lead', enabled: false }),
        anAccountConfig({ objectName: 'Order', watermark: undefined }),
      ],
      { tickMinutes: 15, flowTimeoutMinutes: 720 },
    );
    expect(entries.map((entry) => [entry.objectName, entry.overdueAfterMinutes])).toEqual([
      ['Account', 2 * 15 + 720],
      ['Contact', 2 * 1440 + 60],
      ['Order', 2 * 1440 + 720],
    ]);

    // This run loaded Account again at 12:00.
    const measured = measureFreshness(
      entries,
      [{ ...emptyResult('Account', 'SUCCEEDED', null), completeThrough: '2026-03-10T12:00:00.000Z' }],
      at('2026-03-10T12:30:00Z'),
    );

    expect(measured.map((entry) => [entry.objectName, entry.lagMinutes, entry.overdue])).toEqual([
      ['Account', 30, false],
      ['Contact', lagMinutes('2026-03-08T00:00:00.000Z', at('2026-03-10T12:30:00Z')), true],
      // Never loaded: no lag to chart, not counted overdue.
      ['Order', undefined, false],
    ]);
    expect(overdueAfterMinutes({ syncEveryMinutes: 60, tickMinutes: 15, flowTimeoutMinutes: 720 })).toBe(840);
  });

  test("an object's cadence counts in whole ticks: it runs no more often than the schedule ticks", () => {
    expect(effectiveCadenceMinutes(15, 15)).toBe(15);
    expect(effectiveCadenceMinutes(60, 15)).toBe(60);
    // Hourly ticks: a 15-minute object runs hourly, a 90-minute one at most two hours apart.
    expect(effectiveCadenceMinutes(15, 60)).toBe(60);
    expect(effectiveCadenceMinutes(90, 60)).toBe(120);
    expect(effectiveCadenceMinutes(60, 1440)).toBe(1440);
    expect(effectiveCadenceMinutes(7 * 1440, 1440)).toBe(7 * 1440);
  });

  test('with daily ticks an hourly object is not overdue the day after its run: the limit counts days, not hours', () => {
    // Daily ticks at 05:00: an hourly object runs once a day; the day after, its lag is a day and a bit.
    const [entry] = freshnessEntries(
      [anAccountConfig({ syncEveryMinutes: 60, completeThrough: '2026-03-09T05:00:30.000Z' })],
      { tickMinutes: 1440, flowTimeoutMinutes: 720 },
    );
    expect(entry.overdueAfterMinutes).toBe(2 * 1440 + 720);

    const [nextDay] = measureFreshness([entry], [], at('2026-03-10T05:20:00Z'));
    expect(nextDay).toMatchObject({ lagMinutes: 1459.5, overdue: false });
    // Missed two daily runs and the longest flow: overdue.
    const [stuck] = measureFreshness([entry], [], at('2026-03-11T17:01:00Z'));
    expect(stuck.overdue).toBe(true);
  });

  test('ObjectsOverdue carries exactly the dimensions its alarm watches; FreshnessLagMinutes those of the dashboard', async () => {
    const { metrics } = await captureEmf(
      () => {
        publishEnvironmentMetrics({ ObjectsOverdue: 2 });
        publishObjectMetrics('Account', { FreshnessLagMinutes: 42.5 });
      },
      { PIPELINE_ENVIRONMENT: 'prod' },
    );
    expect(metrics).toEqual([
      {
        namespace: 'SaasToRedshift',
        name: 'ObjectsOverdue',
        unit: 'Count',
        value: 2,
        dimensions: { environment: 'prod', service: 'saas-to-redshift' },
      },
      {
        namespace: 'SaasToRedshift',
        name: 'FreshnessLagMinutes',
        unit: 'None',
        value: 42.5,
        dimensions: { environment: 'prod', object: 'Account', service: 'saas-to-redshift' },
      },
    ]);
  });

  test("a tick's report counts only the objects that were due; NOT_DUE and RUNNING are neither failures nor loads", () => {
    const report = buildRunReport(
      aRun({ scheduled: true }),
      [
        emptyResult('Account', 'SUCCEEDED', null),
        emptyResult('Contact', 'NOT_DUE', null),
        emptyResult('Order', 'RUNNING', 'Still loading in run r0'),
      ],
      at('2026-03-10T06:05:00Z'),
      [{ objectName: 'Order', lagMinutes: 1500, overdueAfterMinutes: 1200 }],
    );
    expect(report).toMatchObject({ status: 'SUCCEEDED', scheduled: true, failedObjects: [] });
    expect(report.summary).toBe(
      'Run run-2026-03-10: 1 of 1 due objects loaded; 1 not due; still running from an earlier run: Order; ' +
        'overdue (lag over twice the cadence plus the flow timeout): Order 1500 min',
    );
    expect(summarizeRunReport(report, { bucket: 'b', key: 'k' })).toMatchObject({
      objectCounts: { total: 3, SUCCEEDED: 1, NOT_DUE: 1, RUNNING: 1, FAILED: 0 },
      overdueObjects: ['Order'],
    });
  });
});
