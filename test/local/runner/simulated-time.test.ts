import * as fs from 'node:fs';
import * as path from 'node:path';
import { inSimulatedTime, loadBundledHandler } from '../../../local/runner/local-lambda';
import { DEFAULT_CACHE_DIR } from '../../../local/runner/run-scenario';
import { currentTimeline, onTimeline, Timeline } from '../../../local/runner/simulated-time';

/** A bundle whose handler sleeps `event.sleeps` times 10 s (its own setTimeout), then answers. */
const BUNDLE = `
exports.handler = async (event, context) => {
  for (let i = 0; i < event.sleeps; i++) await new Promise((resolve) => setTimeout(resolve, 10000));
  return { remainingMs: context.getRemainingTimeInMillis(), now: Date.now() };
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

  test('sleeps pass simulated time, not wall-clock time: 50 s of waits return at once, and the timeline moves 50 s', async () => {
    // Prepare
    const { invoke, runs } = bind(60);
    const timeline = new Timeline(START);
    const wallClockBefore = Date.now();

    // Act
    const answer = (await onTimeline(timeline, () => invoke({ sleeps: 5 }))) as { remainingMs: number };

    // Assess
    expect(Date.now() - wallClockBefore).toBeLessThan(5_000);
    expect(answer.remainingMs).toBe(10_000);
    expect(timeline.now()).toBe(START + 50_000);
    expect(runs).toEqual([50]);
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
