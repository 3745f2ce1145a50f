import * as fs from 'node:fs';
import * as path from 'node:path';
import { inSimulatedTime, loadBundledHandler } from '../../../local/runner/local-lambda';
import { DEFAULT_CACHE_DIR } from '../../../local/runner/run-scenario';
import { currentTimeline, onTimeline, Timeline } from '../../../local/runner/simulated-time';

/**
 * A bundle whose handler sleeps `event.sleeps` times 10 s (its own setTimeout), then answers with
 * its clock: a deadline it set before the sleeps, and how it sees the time after them.
 */
const BUNDLE = `"use strict";
const loadedAt = Date.now();
exports.handler = async (event, context) => {
  const deadline = new Date(Date.now() + 30000);
  for (let i = 0; i < event.sleeps; i++) await new Promise((resolve) => setTimeout(resolve, 10000));
  return {
    remainingMs: context.getRemainingTimeInMillis(),
    now: Date.now(),
    newDate: new Date().toISOString(),
    pastDeadline: new Date() > deadline,
    parsed: Date.parse('2026-01-01T00:00:00Z'),
    fixed: new Date(0).toISOString(),
    isDate: new Date() instanceof Date,
    strict: (function () { return this === undefined; })(),
    loadedAt,
  };
};
`;

describe('a bundled function in simulated time', () => {
  const dir = path.join(DEFAULT_CACHE_DIR, 'test-simulated-time');
  const bundlePath = path.join(dir, 'index.js');
  const restorers: (() => void)[] = [];
  const START = Date.parse('2026-01-01T06:00:00Z');

  beforeAll(() => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(bundlePath, BUNDLE);
  });

  afterAll(() => {
    for (const restore of restorers.reverse()) restore();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function bind(timeoutSeconds: number) {
    const runs: number[] = [];
    const fn = { logicalId: 'SleepyFunction', bundlePath, environment: {}, timeoutSeconds };
    const invoke = inSimulatedTime(fn, loadBundledHandler(fn, {}, restorers), {
      now: () => START,
      ran: (_id, seconds) => runs.push(seconds),
    });
    return { invoke, runs };
  }

  test('sleeps pass simulated time, not wall-clock time: 50 s of waits return in a fraction of that, and the timeline moves 50 s', async () => {
    // Prepare
    const { invoke, runs } = bind(60);
    const timeline = new Timeline(START);
    const wallClockBefore = Date.now();

    // Act
    const answer = (await onTimeline(timeline, () => invoke({ sleeps: 5 }))) as { remainingMs: number };

    // Assess
    expect(Date.now() - wallClockBefore).toBeLessThan(10_000);
    expect(answer.remainingMs).toBe(10_000);
    expect(timeline.now()).toBe(START + 50_000);
    expect(runs).toEqual([50]);
  });

  test('the bundle’s clock is simulated too: Date.now() and new Date() read the invocation’s time, so a deadline it set before its sleeps has passed after them', async () => {
    // Prepare
    const wallClockBefore = Date.now();
    const { invoke } = bind(60);

    // Act
    const answer = await onTimeline(new Timeline(START), () => invoke({ sleeps: 4 }));

    // Assess: 40 simulated seconds passed, past the 30-second deadline; the rest of Date is Node's
    expect(answer).toEqual({
      remainingMs: 20_000,
      now: START + 40_000,
      newDate: new Date(START + 40_000).toISOString(),
      pastDeadline: true,
      parsed: Date.parse('2026-01-01T00:00:00Z'),
      fixed: '1970-01-01T00:00:00.000Z',
      isDate: true,
      // The prelude goes after the bundle's "use strict", which still holds.
      strict: true,
      // Module scope runs outside any invocation: the wall clock.
      loadedAt: expect.any(Number),
    });
    expect((answer as { loadedAt: number }).loadedAt).toBeGreaterThanOrEqual(wallClockBefore);
  });

  test('a function that sleeps past its template timeout dies with Sandbox.Timedout, as Lambda kills it', async () => {
    // Prepare
    const { invoke, runs } = bind(60);
    const timeline = new Timeline(START);

    // Act
    const act = onTimeline(timeline, () => invoke({ sleeps: 7 }));

    // Assess: Step Functions sees Lambda's own error name; the run took exactly its timeout
    await expect(act).rejects.toMatchObject({
      name: 'Sandbox.Timedout',
      message: expect.stringContaining('SleepyFunction: Task timed out after 60.00 seconds'),
    });
    expect(timeline.now()).toBe(START + 60_000);
    expect(runs).toEqual([60]);
  });

  test('a function whose sleeps end exactly at its timeout dies too: Lambda has killed it by then', async () => {
    const { invoke, runs } = bind(60);

    const act = onTimeline(new Timeline(START), () => invoke({ sleeps: 6 }));

    await expect(act).rejects.toMatchObject({ name: 'Sandbox.Timedout' });
    expect(runs).toEqual([60]);
  });

  test('each timeline keeps its own time: two invocations side by side do not add up', async () => {
    // Prepare
    const { invoke } = bind(120);
    const first = new Timeline(START);
    const second = new Timeline(START);

    // Act
    await Promise.all([
      onTimeline(first, () => invoke({ sleeps: 3 })),
      onTimeline(second, () => invoke({ sleeps: 9 })),
    ]);

    // Assess
    expect(first.now()).toBe(START + 30_000);
    expect(second.now()).toBe(START + 90_000);
    expect(currentTimeline()).toBeUndefined();
  });
});
