import '../../../local/runner/polyfills';
import { StateMachine } from 'aws-local-stepfunctions';
import { definitionForLibrary, type StateMachineDefinition } from '../../../local/runner/definition';
import { distributedMapHandlers } from '../../../local/runner/distributed-map';
import {
  ExecutionHistory,
  type LocalStateEvent,
  withinPayloadLimit,
} from '../../../local/runner/execution-history';
import { memoryStorage } from './support/memory-storage';

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

/** Runs the definition as the local runner does: Distributed Maps played by the runner, each item its own execution. */
async function measure(
  definition: StateMachineDefinition,
  handlers: Record<string, () => Promise<unknown>>,
  storage = memoryStorage(),
  tokenTasks: string[] = [],
) {
  const { definition: forLibrary, distributedMaps } = definitionForLibrary(definition);
  const machine = new StateMachine(forLibrary as never, { validationOptions: { checkPaths: false } });
  const history = new ExecutionHistory(definition, tokenTasks);
  const overrides = {
    taskResourceLocalHandlers: handlers as never,
    waitTimeOverrides: { Pause: 0 },
    retryIntervalOverrides: { Work: 0 },
  };
  const context = {
    Execution: {
      Id: 'arn:aws:states:eu-west-1:000000000000:execution:m:e',
      Name: 'e',
      StartTime: '',
      Input: {},
    },
    StateMachine: { Id: 'arn:aws:states:eu-west-1:000000000000:stateMachine:m', Name: 'm' },
  };
  const maps = distributedMapHandlers(distributedMaps, {
    overrides,
    context,
    storage,
    now: () => new Date(),
    onChildEvent: (index, event: LocalStateEvent) => history.observeChild(index, event),
  });
  const execution = machine.run({ items: [{ n: 0 }, { n: 1 }, { n: 2 }] } as never, {
    overrides: { ...overrides, taskResourceLocalHandlers: { ...handlers, ...maps } as never },
    context: context as never,
  });
  const collect = (async () => {
    for await (const event of execution.eventLogs as AsyncIterable<LocalStateEvent>) history.observe(event);
  })();
  const output = await execution.result.catch(() => undefined);
  await collect;
  return { ...history.figures(), output };
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

test('a task that waits for its token adds TaskSubmitted to its child: one event, however long it waits', async () => {
  const definition = pipeline('DISTRIBUTED');
  const figures = await measure(definition, { Load: ok, Work: ok, Report: ok }, memoryStorage(), ['Work']);
  expect(figures).toMatchObject({ parent: 2 + 5 + 4 + 5, maxChild: PER_ITEM + 1, children: 3 });
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

test('with ItemReader and ResultWriter the items and results stay out of the parent: only the references count', async () => {
  const definition = pipeline('DISTRIBUTED');
  const map = definition.States.Objects as Record<string, unknown>;
  delete map.ItemsPath;
  map.ItemReader = {
    Resource: 'arn:aws:states:::s3:getObject',
    ReaderConfig: { InputType: 'JSON' },
    Parameters: { Bucket: 'runs', 'Key.$': '$.planKey' },
  };
  map.ResultWriter = {
    Resource: 'arn:aws:states:::s3:putObject',
    Parameters: { Bucket: 'runs', 'Prefix.$': "States.Format('{}/results', $$.Execution.Name)" },
  };
  const storage = memoryStorage(
    new Map([
      [
        'runs/plan.json',
        JSON.stringify(Array.from({ length: 4 }, (_, n) => ({ n, pad: 'p'.repeat(20_000) }))),
      ],
    ]),
  );
  const load = async () => 'plan.json';
  const big = async () => ({ n: 0, text: 'é'.repeat(10_000) }); // 20,000 bytes each
  (definition.States.Load as Record<string, unknown>).ResultPath = '$.planKey';

  const figures = await measure(definition, { Load: load, Work: big, Report: async () => 'done' }, storage);

  // Each child's input (20 KB) and output (20 KB) count; 4 × 20 KB of items and results in the parent do not.
  expect(figures.children).toBe(4);
  expect(figures.maxPayloadBytes).toBeLessThan(21_000);
  const manifestKey = [...storage.objects.keys()].find((key) => key.endsWith('/manifest.json')) as string;
  expect(manifestKey).toMatch(/^runs\/e\/results\/[0-9a-f-]{36}\/manifest\.json$/);
  const manifest = JSON.parse(storage.objects.get(manifestKey) as string);
  expect(manifest).toMatchObject({
    DestinationBucket: 'runs',
    MapRunArn: expect.stringMatching(
      /^arn:aws:states:eu-west-1:000000000000:mapRun:m\/Objects:[0-9a-f-]{36}$/,
    ),
    ResultFiles: {
      FAILED: [],
      PENDING: [],
      SUCCEEDED: [{ Key: expect.stringMatching(/SUCCEEDED_0\.json$/) }],
    },
  });
  const succeeded = JSON.parse(
    storage.objects.get(`runs/${manifest.ResultFiles.SUCCEEDED[0].Key}`) as string,
  );
  expect(succeeded).toHaveLength(4);
  expect(JSON.parse(succeeded[3].Input)).toMatchObject({ n: 3 });
  expect(succeeded[3]).toMatchObject({ Status: 'SUCCEEDED', RedriveCount: 0 });
});

test('a child that fails uncaught fails the Map Run unless tolerated; tolerated, it is in FAILED_0.json with its error', async () => {
  const definition = pipeline('DISTRIBUTED');
  const map = definition.States.Objects as Record<string, unknown>;
  map.ResultWriter = {
    Resource: 'arn:aws:states:::s3:putObject',
    Parameters: { Bucket: 'runs', Prefix: 'results' },
  };
  const failOnOne = async () => {
    throw Object.assign(new Error('the flow broke'), { name: 'FlowRunFailed' });
  };
  const strict = await measure(definition, { Load: ok, Work: failOnOne, Report: ok });
  expect(strict.output).toBeUndefined();

  map.ToleratedFailurePercentage = 100;
  const storage = memoryStorage();
  const tolerated = await measure(definition, { Load: ok, Work: failOnOne, Report: ok }, storage);
  expect(tolerated.output).toEqual({ n: 0 });
  const failedKey = [...storage.objects.keys()].find((key) => key.endsWith('/FAILED_0.json')) as string;
  const failed = JSON.parse(storage.objects.get(failedKey) as string);
  expect(failed).toHaveLength(3);
  expect(failed[0]).toMatchObject({ Status: 'FAILED', Error: 'FlowRunFailed', Cause: 'the flow broke' });
  expect(failed[0].Output).toBeUndefined();
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
