import type { DayReport } from '../../local/runner/run-scenario';
import { accounts, expectNoFlowsLeft, expectWarehouseEqualsSource, runLocalScenario } from './e2e-support';

const TICK = { scheduled: true };
const contacts = (count: number, prefix = 'C') =>
  Array.from({ length: count }, (_, n) => ({
    Id: `003${prefix}${String(n).padStart(5, '0')}`,
    LastName: `Contact ${n}`,
  }));

/** Minutes from a day's start (its window end) to the object's completeThrough. */
const completeThroughLag = (day: DayReport, objectName: string) =>
  (Date.parse(day.startTime) - Date.parse(day.objects[objectName].completeThrough as string)) / 60_000;

describe('local run: each object on its own cadence (issue 20)', () => {
  test('an hourly Account and a daily Contact over four hourly ticks and the next day: each runs when due', async () => {
    // The local environment's daily time is 05:00 UTC: Account's slots begin every full hour from it.
    const run = await runLocalScenario({
      objects: [
        { objectName: 'Account', syncEveryMinutes: 60 },
        { objectName: 'Contact', syncEveryMinutes: 1440 },
      ],
      days: [
        {
          date: '2026-01-01',
          startTime: '2026-01-01T07:00:00.000Z',
          changes: { Account: { upsert: accounts(3) }, Contact: { upsert: contacts(2) } },
          input: TICK,
        },
        {
          date: '2026-01-01',
          startTime: '2026-01-01T08:00:00.000Z',
          changes: {
            Account: { upsert: [{ Id: '001A00000', Name: 'Seven' }] },
            Contact: { upsert: contacts(1, 'D') },
          },
          input: TICK,
        },
        {
          date: '2026-01-01',
          startTime: '2026-01-01T09:00:00.000Z',
          changes: { Account: { upsert: accounts(1, 'B') } },
          input: TICK,
        },
        { date: '2026-01-01', startTime: '2026-01-01T10:00:00.000Z', changes: {}, input: TICK },
        {
          date: '2026-01-02',
          startTime: '2026-01-02T07:00:00.000Z',
          changes: {
            Account: { delete: ['001A00001'] },
            Contact: { upsert: [{ Id: '003C00000', LastName: 'Renamed' }] },
          },
          input: TICK,
        },
      ],
    });

    const statuses = (name: string) => run.report.days.map((day) => day.objects[name]?.status);
    expect(statuses('Account')).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    expect(statuses('Contact')).toEqual(['SUCCEEDED', 'NOT_DUE', 'NOT_DUE', 'NOT_DUE', 'SUCCEEDED']);
    for (const day of run.report.days) {
      expect(day.executionStatus).toBe('SUCCEEDED');
      // completeThrough is the start of the object's last successful run: this tick's when it ran.
      expect(completeThroughLag(day, 'Account')).toBe(0);
    }
    // Between its runs, Contact is complete through the first tick's start.
    expect(run.day(2).objects.Contact.completeThrough).toBe('2026-01-01T07:00:00.000Z');
    expect(completeThroughLag(run.day(4), 'Contact')).toBe(0);
    // A NOT_DUE line moves nothing and writes nothing.
    expect(run.day(1).objects.Contact).toMatchObject({ recordsExtracted: 0, rowsInserted: 0, error: null });
    expect(run.day(1).stats.startFlowCalls).toBe(1);
    const contactRow = run.controlRows.find((row) => row.objectName === 'Contact') as Record<string, unknown>;
    expect(contactRow).toMatchObject({
      completeThrough: '2026-01-02T07:00:00.000Z',
      lastRun: expect.objectContaining({ status: 'SUCCEEDED', startedAt: '2026-01-02T07:00:00.000Z' }),
    });
    expectWarehouseEqualsSource(run);
    expectNoFlowsLeft(run);
  });

  test("a tick with nothing due ends quickly: no Map Run, two functions; an operator's {} still runs everything", async () => {
    const run = await runLocalScenario({
      objects: [{ objectName: 'Account' }],
      days: [
        {
          date: '2026-01-01',
          startTime: '2026-01-01T07:00:00.000Z',
          changes: { Account: { upsert: accounts(2) } },
          input: TICK,
        },
        {
          date: '2026-01-01',
          startTime: '2026-01-01T07:15:00.000Z',
          changes: { Account: { upsert: accounts(1, 'B') } },
          input: TICK,
        },
        { date: '2026-01-01', startTime: '2026-01-01T07:30:00.000Z', changes: {}, input: {} },
        { date: '2026-01-01', startTime: '2026-01-01T07:45:00.000Z', changes: {}, input: { objects: [] } },
      ],
    });

    const idle = run.day(1);
    expect(idle).toMatchObject({ executionStatus: 'SUCCEEDED', objects: { Account: { status: 'NOT_DUE' } } });
    expect(idle.stats.lambdaInvocations).toBeLessThanOrEqual(2);
    expect(idle.stats.stateTransitions).toBeLessThanOrEqual(8);
    expect(idle.historyEvents.maxChild).toBe(0);
    // The operator's {} runs the object though it is not due, and loads the change the tick left.
    expect(run.day(2).objects.Account).toMatchObject({ status: 'SUCCEEDED', rowsInserted: 1 });
    // {"objects": []} is a mistake, refused before anything runs.
    expect(run.day(3)).toMatchObject({ executionStatus: 'FAILED', objects: {} });
    expect(run.day(3).error).toMatch(/objects must name at least one object/);
    expectWarehouseEqualsSource(run);
    expectNoFlowsLeft(run);
  });
});
