import '../../../local/runner/polyfills';
import { StateMachine } from 'aws-local-stepfunctions';
import type { StateMachineDefinition } from '../../../local/runner/assembly';
import {
  ExecutionHistory,
  type LocalStateEvent,
  withinPayloadLimit,
} from '../../../local/runner/execution-history';

const task = (next?: string) => ({
  Type: 'Task',
  Resource: 'arn:aws:lambda:eu-west-1:000000000000:function:F',
  ...(next ? { Next: next } : { End: true }),
});

/** Load → Map(Work → Wait → Done?) → Report: the pipeline's shape in miniature. */
function pipeline(mode: 'INLINE' | 'DISTRIBUTED'): StateMachineDefinition {
  return {
    StartAt: 'Load',
    States: {
      Load: { ...task('Objects'), ResultPath: '$.loaded' },
      Objects: {
        Type: 'Map',
        ItemsPath: '$.items',
        MaxConcurrency: 2,
        ItemProcessor: {
          ProcessorConfig: { Mode: mode, ...(mode === 'DISTRIBUTED' ? { ExecutionType: 'STANDARD' } : {}) },
          StartAt: 'Work',
          States: {
            Work: task('Pause'),
            Pause: { Type: 'Wait', Seconds: 1, Next: 'Done?' },
            'Done?': {
              Type: 'Choice',
              Choices: [{ Variable: '$.n', NumericEquals: 0, Next: 'ItemDone' }],
              Default: 'ItemDone',
            },
            ItemDone: { Type: 'Succeed' },
          },
        },
        ResultPath: '$.results',
        Next: 'Report',
      },
      Report: task(),
    },
  } as unknown as StateMachineDefinition;
}

async function measure(definition: StateMachineDefinition, handlers: Record<string, () => Promise<unknown>>) {
  const machine = new StateMachine(definition as never, { validationOptions: { checkPaths: false } });
  const execution = machine.run({ items: [{ n: 0 }, { n: 1 }, { n: 2 }] } as never, {
    overrides: {
      taskResourceLocalHandlers: handlers as never,
      waitTimeOverrides: { Pause: 0 },
      retryIntervalOverrides: { Work: 0 },
    },
  });
  const history = new ExecutionHistory(definition);
  const collect = (async () => {
    for await (const event of execution.eventLogs as AsyncIterable<LocalStateEvent>) history.observe(event);
  })();
  await execution.result.catch(() => undefined);
  await collect;
  return history.figures();
}

const ok = async () => ({ n: 0 });
// Per item: MapIterationStarted/Succeeded (or the child's ExecutionStarted/Succeeded) 2,
// Work 5 (TaskStateEntered, LambdaFunctionScheduled/Started/Succeeded, TaskStateExited), Wait 2, Choice 2, Succeed 2.
const PER_ITEM = 2 + 5 + 2 + 2 + 2;

test('an inline Map counts every item in the parent: 2 + Load 5 + Map 4 + items + Report 5', async () => {
  const figures = await measure(pipeline('INLINE'), { Load: ok, Work: ok, Report: ok });
  expect(figures).toMatchObject({ parent: 2 + 5 + 4 + 3 * PER_ITEM + 5, maxChild: 0, children: 0 });
});

test('a Distributed Map keeps the parent flat and gives each item its own history', async () => {
  const figures = await measure(pipeline('DISTRIBUTED'), { Load: ok, Work: ok, Report: ok });
  expect(figures).toMatchObject({ parent: 2 + 5 + 4 + 5, maxChild: PER_ITEM, children: 3 });
});

test('a retried attempt adds LambdaFunctionFailed and the next Scheduled/Started to its child only', async () => {
  const definition = pipeline('DISTRIBUTED');
  const processor = definition.States.Objects.ItemProcessor as StateMachineDefinition;
  processor.States.Work.Retry = [{ ErrorEquals: ['States.ALL'], MaxAttempts: 2, IntervalSeconds: 1 }];
  let failures = 1;
  const flaky = async () => {
    if (failures-- > 0) throw new Error('transient');
    return { n: 0 };
  };
  const figures = await measure(definition, { Load: ok, Work: flaky, Report: ok });
  expect(figures).toMatchObject({ parent: 16, maxChild: PER_ITEM + 3, children: 3 });
});

test('maxPayloadBytes is the largest state input or output in UTF-8 bytes: the Map collects its items', async () => {
  const big = async () => ({ n: 0, text: 'é'.repeat(10_000) }); // 20,000 bytes each
  const figures = await measure(pipeline('DISTRIBUTED'), { Load: ok, Work: big, Report: ok });
  expect(figures.maxPayloadBytes).toBeGreaterThanOrEqual(60_000);
  expect(figures.maxPayloadBytes).toBeLessThan(61_000);
});

test('a state output over 256 KB is named as States.DataLimitExceeded, as AWS would fail it', async () => {
  const huge = async () => ({ n: 0, text: 'x'.repeat(300_000) });
  const figures = await measure(pipeline('DISTRIBUTED'), { Load: huge, Work: ok, Report: ok });
  expect(figures.dataLimitExceeded).toMatch(
    /^States\.DataLimitExceeded: the output of state Load is 3\d{5} bytes, over Step Functions' limit of 262144 bytes$/,
  );
});

test('a payload under 256 KB is no data limit', async () => {
  const figures = await measure(pipeline('DISTRIBUTED'), { Load: ok, Work: ok, Report: ok });
  expect(figures.dataLimitExceeded).toBeUndefined();
});

describe('withinPayloadLimit: a Task as Step Functions runs it', () => {
  test('an input over 256 KB is refused before the handler runs', async () => {
    const handler = jest.fn(async () => ({}));
    await expect(
      withinPayloadLimit('ReportRun', { text: 'x'.repeat(262_144) }, handler),
    ).rejects.toMatchObject({
      name: 'States.DataLimitExceeded',
      message: expect.stringMatching(
        /^States\.DataLimitExceeded: the input of state ReportRun is 262155 bytes/,
      ),
    });
    expect(handler).not.toHaveBeenCalled();
  });

  test('a result over 256 KB fails the state', async () => {
    await expect(
      withinPayloadLimit('LoadObjects', {}, async () => ({ text: 'x'.repeat(262_144) })),
    ).rejects.toThrow(/the output of state LoadObjects is 262155 bytes/);
  });

  test('exactly 256 KB passes', async () => {
    const atLimit = { t: 'x'.repeat(262_144 - 8) }; // {"t":"…"} is 8 bytes of JSON around the text
    await expect(withinPayloadLimit('Work', atLimit, async () => atLimit)).resolves.toBe(atLimit);
  });
});
