import '../../../local/runner/polyfills';
import type { LocalAssembly } from '../../../local/runner/assembly';
import type { StateDefinition, StateMachineDefinition } from '../../../local/runner/definition';
import type { MapStorage } from '../../../local/runner/distributed-map';
import type { LocalHandler } from '../../../local/runner/local-lambda';
import {
  type AttemptedExecution,
  type ExecutionOutcome,
  redrivePoint,
  retryBackoffMs,
  runExecution,
} from '../../../local/runner/run-execution';
import { currentTimeline, onTimeline, Timeline } from '../../../local/runner/simulated-time';
import { statesRuntimeError, TaskFailure } from '../../../local/runner/task-failure';
import { memoryStorage } from './support/memory-storage';

const START = Date.parse('2026-01-01T06:00:00.000Z');
const MINUTE = 60_000;
const lambda = 'arn:aws:lambda:eu-west-1:000000000000:function:F';
const task = (next?: string, extra: Record<string, unknown> = {}): StateDefinition => ({
  Type: 'Task',
  Resource: lambda,
  ...extra,
  ...(next ? { Next: next } : { End: true }),
});

/** Plan → a Distributed Map over `$.items` (the processor given) → Report. */
function withMap(
  processor: StateMachineDefinition,
  map: Record<string, unknown> = {},
): StateMachineDefinition {
  return {
    StartAt: 'Objects',
    States: {
      Objects: {
        Type: 'Map',
        ItemsPath: '$.items',
        ItemProcessor: {
          ...processor,
          ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
        },
        ResultWriter: {
          Resource: 'arn:aws:states:::s3:putObject',
          Parameters: { Bucket: 'runs', Prefix: 'results' },
        },
        ResultPath: '$.mapRun',
        ...map,
        Next: 'Report',
      },
      Report: task(),
    },
  } as StateMachineDefinition;
}

/** Runs one execution (or a redrive) of `definition` as the local run does, on its own timeline from START. */
async function execute(
  definition: StateMachineDefinition,
  handlers: Record<string, LocalHandler>,
  options: {
    input?: unknown;
    storage?: MapStorage;
    redriveOf?: AttemptedExecution;
    taskFunctions?: Record<string, { timeoutSeconds: number }>;
  } = {},
): Promise<{ outcome: ExecutionOutcome; timeline: Timeline; attempt: AttemptedExecution }> {
  const timeline = new Timeline(START);
  const input = options.redriveOf?.input ?? options.input ?? {};
  const redrive = options.redriveOf ? redrivePoint(options.redriveOf) : undefined;
  const outcome = await onTimeline(timeline, () =>
    runExecution(
      {
        assembly: {
          definition,
          tokenTasks: [],
          taskFunctions: options.taskFunctions ?? {},
        } as unknown as LocalAssembly,
        handlers,
        storage: options.storage ?? memoryStorage(),
        readReport: () => undefined,
        now: () => new Date(START),
        enforcePayloadLimit: true,
      },
      redrive ? redrive.failedAt.input : input,
      {
        executionName: 'run-1',
        startTime: new Date(START),
        onStep: () => undefined,
        ...(redrive ? { redrive } : {}),
      },
    ),
  );
  return { outcome, timeline, attempt: { executionName: 'run-1', input, outcome, parentHistory: 0 } };
}

/** The child records of the Map Run's result files, as its manifest lists them. */
function resultsOf(storage: ReturnType<typeof memoryStorage>, status: 'SUCCEEDED' | 'FAILED') {
  const manifestKey = [...storage.objects.keys()].find((name) => name.endsWith('/manifest.json')) as string;
  const manifest = JSON.parse(storage.objects.get(manifestKey) as string) as {
    ResultFiles: Record<string, { Key: string }[]>;
  };
  return manifest.ResultFiles[status].flatMap(
    ({ Key }) => JSON.parse(storage.objects.get(`runs/${Key}`) as string) as Record<string, unknown>[],
  );
}

/** A handler that takes `minutes` of the caller's simulated time (and `realMs` of real time). */
const takesTime = async (input: unknown) => {
  const { minutes, realMs } = input as { minutes: number; realMs?: number };
  if (realMs) await new Promise((resolve) => setTimeout(resolve, realMs));
  const timeline = currentTimeline() as Timeline;
  timeline.advanceTo(timeline.now() + minutes * MINUTE);
  return input;
};

describe('a Distributed Map in simulated time', () => {
  test('with more children than MaxConcurrency, a queued child starts when a slot became free, not when the others ended', async () => {
    // Prepare: the 10-minute child ends first in real time, the 1-minute child last
    const storage = memoryStorage();
    const definition = withMap({ StartAt: 'Work', States: { Work: task() } }, { MaxConcurrency: 2 });
    const items = [{ minutes: 10 }, { minutes: 1, realMs: 150 }, { minutes: 5 }];

    // Act
    const { outcome, timeline } = await execute(
      definition,
      { Work: takesTime, Report: async () => 'done' },
      { input: { items }, storage },
    );

    // Assess: the third child takes the slot the 1-minute child freed at minute 1
    expect(outcome.status).toBe('SUCCEEDED');
    const at = (minutes: number) => new Date(START + minutes * MINUTE).toISOString();
    const runs = resultsOf(storage, 'SUCCEEDED').map((record) => ({
      minutes: (JSON.parse(record.Input as string) as { minutes: number }).minutes,
      start: record.StartDate,
      stop: record.StopDate,
    }));
    expect(runs).toEqual([
      { minutes: 10, start: at(0), stop: at(10) },
      { minutes: 1, start: at(0), stop: at(1) },
      { minutes: 5, start: at(1), stop: at(6) },
    ]);
    // The Map ends with its last child.
    expect(timeline.now()).toBe(START + 10 * MINUTE);
  });

  test('a redrive of a failed Map Run reruns only its unsuccessful child, from the state it failed in', async () => {
    // Prepare: item 1's Work fails once; no failure is tolerated, so the Map Run fails
    const storage = memoryStorage();
    const definition = withMap({ StartAt: 'Prepare', States: { Prepare: task('Work'), Work: task() } });
    const calls: string[] = [];
    let failures = 1;
    const handlers: Record<string, LocalHandler> = {
      Prepare: async (input) => {
        calls.push(`Prepare ${(input as { n: number }).n}`);
        return input;
      },
      Work: async (input) => {
        const { n } = input as { n: number };
        calls.push(`Work ${n}`);
        if (n === 1 && failures-- > 0) throw new TaskFailure('WarehouseDown', 'the warehouse is down');
        return { n, done: true };
      },
      Report: async () => 'done',
    };
    const first = await execute(definition, handlers, { input: { items: [{ n: 0 }, { n: 1 }] }, storage });
    const [failed] = resultsOf(storage, 'FAILED');

    // Act
    const redriven = await execute(definition, handlers, { redriveOf: first.attempt, storage });

    // Assess
    expect(first.outcome).toMatchObject({
      status: 'FAILED',
      failedAt: { stateName: 'Objects', stateType: 'Map' },
    });
    expect(failed).toMatchObject({ Status: 'FAILED', Error: 'WarehouseDown', RedriveCount: 0 });
    expect(redriven.outcome.status).toBe('SUCCEEDED');
    expect(calls.sort()).toEqual(['Prepare 0', 'Prepare 1', 'Work 0', 'Work 1', 'Work 1']);
    const succeeded = resultsOf(storage, 'SUCCEEDED');
    expect(succeeded.map((record) => [record.Name, record.RedriveCount])).toEqual([
      [expect.any(String), 0],
      [failed.Name, 1],
    ]);
    expect(resultsOf(storage, 'FAILED')).toEqual([]);
    // The same Map Run, continued.
    expect(redriven.outcome.mapRuns.Objects.mapRunArn).toBe(first.outcome.mapRuns.Objects.mapRunArn);
  });
});

describe('Retry in simulated time', () => {
  test('retryBackoffMs: IntervalSeconds × BackoffRate^(n−1), at most MaxDelaySeconds; the States Language defaults otherwise', () => {
    const retrier = { IntervalSeconds: 2, BackoffRate: 3, MaxDelaySeconds: 10 };
    expect([1, 2, 3].map((attempt) => retryBackoffMs(retrier, attempt))).toEqual([2_000, 6_000, 10_000]);
    expect([1, 2].map((attempt) => retryBackoffMs({}, attempt))).toEqual([1_000, 2_000]);
  });

  test.each(['parent', 'child'] as const)(
    'each retry of a %s execution’s task starts after its backoff on that execution’s timeline',
    async (where) => {
      // Prepare: three failures, then success
      const flaky = task(undefined, {
        Retry: [
          {
            ErrorEquals: ['States.ALL'],
            IntervalSeconds: 2,
            BackoffRate: 3,
            MaxAttempts: 3,
            MaxDelaySeconds: 10,
          },
        ],
      });
      const attempts: number[] = [];
      let failures = 3;
      const handlers: Record<string, LocalHandler> = {
        Flaky: async () => {
          attempts.push((currentTimeline() as Timeline).now() - START);
          if (failures-- > 0) throw new TaskFailure('Throttled', 'slow down');
          return 'ok';
        },
        Report: async () => 'done',
      };
      const definition =
        where === 'parent'
          ? ({ StartAt: 'Flaky', States: { Flaky: flaky } } as StateMachineDefinition)
          : withMap({ StartAt: 'Flaky', States: { Flaky: flaky } });

      // Act
      const { outcome } = await execute(definition, handlers, { input: { items: [{}] } });

      // Assess
      expect(outcome.status).toBe('SUCCEEDED');
      expect(attempts).toEqual([0, 2_000, 8_000, 18_000]);
    },
  );
});

describe('errors Step Functions does not let a Catch stop', () => {
  const caught = (error: Error): StateMachineDefinition =>
    ({
      StartAt: 'Wait',
      States: {
        Wait: task('Done', { Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }] }),
        Caught: { Type: 'Pass', Result: { caught: error.name }, End: true },
        Done: { Type: 'Succeed' },
      },
    }) as StateMachineDefinition;

  test('States.Runtime fails the execution, whatever the state’s Catch (States.ALL included)', async () => {
    const error = statesRuntimeError(
      'The wait on flow f: $.flow.heartbeatSeconds must hold a positive integer',
    );
    const { outcome } = await execute(caught(error), {
      Wait: async () => {
        throw error;
      },
    });

    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toContain('$.flow.heartbeatSeconds must hold a positive integer');
  });

  test('a Distributed Map over zero items fails the execution with States.Runtime, whatever the Map’s Catch', async () => {
    const definition = withMap(
      { StartAt: 'Load', States: { Load: task() } },
      { Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Report' }] },
    );

    const { outcome } = await execute(
      definition,
      { Load: async (input) => input, Report: async (input) => input },
      {
        input: { items: [] },
      },
    );

    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toContain('a Distributed Map over zero items');
  });

  test('any other task failure (States.Timeout) is caught as the definition says', async () => {
    const error = new TaskFailure('States.Timeout', "The task's timeout elapsed");
    const { outcome } = await execute(caught(error), {
      Wait: async () => {
        throw error;
      },
    });

    expect(outcome.status).toBe('SUCCEEDED');
  });

  test('a function’s Task whose state timeout would end it before the function’s own is refused: only the latter is played', async () => {
    const definition = {
      StartAt: 'Load',
      States: { Load: task(undefined, { TimeoutSeconds: 60 }) },
    } as StateMachineDefinition;
    const handlers = { Load: async (input: unknown) => input };

    await expect(
      execute(definition, handlers, { taskFunctions: { Load: { timeoutSeconds: 120 } } }),
    ).rejects.toThrow(
      "Task Load: its TimeoutSeconds (60) would end it before its function's timeout (120 s)",
    );
    const { outcome } = await execute(definition, handlers, {
      taskFunctions: { Load: { timeoutSeconds: 30 } },
    });
    expect(outcome.status).toBe('SUCCEEDED');
  });

  test('a Wait state is refused: the library would sleep it in real time', async () => {
    const definition = {
      StartAt: 'Pause',
      States: { Pause: { Type: 'Wait', Seconds: 60, End: true } },
    } as StateMachineDefinition;

    await expect(execute(definition, {})).rejects.toThrow(
      'Wait state Pause: the local run plays no Wait state in simulated time',
    );
  });
});
