import '../../local/runner/polyfills';
import { StateMachine } from 'aws-local-stepfunctions';
import { environments } from '../../config/environments';
import {
  definitionForLibrary,
  type StateDefinition,
  type StateMachineDefinition,
  walkStates,
} from '../../local/runner/definition';
import {
  type AslChoiceRule,
  type AslMachine,
  type AslState,
  type BuiltPipeline,
  buildPipeline,
  logicalIdOf,
  removeTestApp,
  SYNTH_TIMEOUT_MS,
  stateMachineDefinition,
} from './support/pipeline-app';

const LAMBDA_TRANSIENT_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

const built: Record<string, BuiltPipeline> = {};
const definitions: Record<string, AslMachine> = {};

beforeAll(() => {
  // `tuned` moves every knob off its default, so the test sees config reach the definition.
  const tuned = {
    ...environments.dev,
    mapConcurrency: 3,
    flowTimeoutMinutes: 60,
    executionTimeoutMinutes: 90,
  };
  for (const name of ['dev', 'prod', 'tuned']) {
    built[name] = buildPipeline(name, { environments: { ...environments, tuned } });
    definitions[name] = stateMachineDefinition(
      built[name].template,
      logicalIdOf(built[name].stack.pipeline.stateMachine),
    );
  }
}, SYNTH_TIMEOUT_MS);

afterAll(() => {
  for (const pipeline of Object.values(built)) removeTestApp(pipeline.app);
});

/** The per-object states: the Map's ItemProcessor (or legacy Iterator). */
function mapOf(definition: AslMachine): { name: string; state: AslState; processor: AslMachine } {
  const maps = Object.entries(definition.States).filter(([, state]) => state.Type === 'Map');
  expect(maps).toHaveLength(1);
  const [name, state] = maps[0];
  const processor = state.ItemProcessor ?? state.Iterator;
  if (!processor) throw new Error(`Map ${name} has no ItemProcessor`);
  return { name, state, processor };
}

/** The definition as the local runner's walk takes it (the same JSON, typed for the walk). */
const forWalk = (machine: AslMachine) => machine as unknown as StateMachineDefinition;
const asAsl = (state: StateDefinition) => state as unknown as AslState;

/** Every state of the definition, nested ones included, by name: the local runner's one walk. */
function allStates(machine: AslMachine): Map<string, AslState> {
  const states = new Map<string, AslState>();
  for (const { name, state } of walkStates(forWalk(machine))) {
    // Step Functions wants names unique across the whole definition (nested ones included).
    expect({ name, unique: !states.has(name) }).toEqual({ name, unique: true });
    states.set(name, asAsl(state));
  }
  return states;
}

/** Where a state can go next within its own scope. */
function successors(state: AslState): string[] {
  return [
    ...(state.Next ? [state.Next] : []),
    ...(state.Default ? [state.Default] : []),
    ...(state.Choices ?? []).flatMap((rule) => (rule.Next ? [rule.Next] : [])),
    ...(state.Catch ?? []).map((catcher) => catcher.Next),
  ];
}

const isTerminal = (state: AslState) =>
  state.End === true || state.Type === 'Succeed' || state.Type === 'Fail';

/** Every scope of the definition: the top level, each Map's item processor and Parallel's branches. */
function scopes(machine: AslMachine): Array<[string, AslMachine]> {
  const nested = [...walkStates(forWalk(machine))].flatMap(({ name, state }) => {
    const processor = state.ItemProcessor ?? state.Iterator;
    return [
      ...(processor ? [[`${name} item processor`, processor] as const] : []),
      ...(state.Branches ?? []).map((branch, index) => [`${name} branch ${index}`, branch] as const),
    ];
  });
  return [
    ['top level', machine],
    ...nested.map(([label, scope]): [string, AslMachine] => [label, scope as unknown as AslMachine]),
  ];
}

describe('map over objects', () => {
  test.each([
    ['dev', 5],
    ['prod', 10],
    ['tuned', 3],
  ])('%s processes at most config.mapConcurrency (%i) objects at once', (env, concurrency) => {
    expect(built[env].config.mapConcurrency).toBe(concurrency);
    expect(mapOf(definitions[env]).state.MaxConcurrency).toBe(concurrency);
  });

  test('reads the objects LoadObjects planned from the run-state bucket, not from the state', () => {
    const { name, state } = mapOf(definitions.dev);
    const top = definitions.dev.States;
    // Planned first; only a plan with objects asks its dependencies (the precheck), then the Map.
    expect(definitions.dev.StartAt).toBe('LoadObjects');
    expect(top.LoadObjects.Next).toBe('AnyObjectsToRun?');
    expect(top['AnyObjectsToRun?'].Choices).toContainEqual({
      Variable: '$.plan.objectCount',
      NumericGreaterThan: 0,
      Next: 'Precheck',
    });
    expect(top.Precheck.Next).toBe('PrecheckDone?');
    expect(top['PrecheckDone?'].Choices).toContainEqual({
      Variable: '$.plan.objectCount',
      NumericGreaterThan: 0,
      Next: name,
    });
    expect(state.ItemsPath).toBeUndefined();
    expect(state).toMatchObject({
      ItemReader: {
        Resource: expect.stringMatching(/:states:::s3:getObject$/),
        ReaderConfig: { InputType: 'JSON' },
        Parameters: { Bucket: expect.any(String), 'Key.$': '$.plan.key' },
      },
      // Each child gets the run and its own plan, as before the plan moved to S3.
      ItemSelector: { 'run.$': '$.run', 'plan.$': '$$.Map.Item.Value' },
    });
  });

  test("writes the children's results to the run-state bucket; only the manifest's location enters the state", () => {
    const { state } = mapOf(definitions.dev);
    expect(state).toMatchObject({
      ResultWriter: {
        Resource: expect.stringMatching(/:states:::s3:putObject$/),
        Parameters: { Bucket: expect.any(String), 'Prefix.$': '$.plan.resultsPrefix' },
      },
      ResultPath: '$.mapRun',
    });
    // Both name the run-state bucket by reference (a template token here), never a literal or a path.
    const bucketOf = (field: unknown) => (field as { Parameters: { Bucket: string } }).Parameters.Bucket;
    expect(bucketOf(state.ResultWriter)).toMatch(/^#\{\d+\}$/);
    expect(bucketOf(state.ItemReader)).toMatch(/^#\{\d+\}$/);
  });

  test('a child that fails uncaught does not fail the Map Run: ReportRun reports it', () => {
    expect(mapOf(definitions.dev).state.ToleratedFailurePercentage).toBe(100);
    // ReportRun takes the whole state: `mapRun` is there after the Map and absent when it was skipped.
    expect(definitions.dev.States.ReportRun.Parameters).toBeUndefined();
    expect(definitions.dev.States.ReportRun.Resource).toEqual(expect.any(String));
  });

  test('a plan with no objects (every row rejected, nothing due, every object held back) skips the Map', () => {
    const top = definitions.dev.States;
    // AWS does not document a ResultWriter manifest for a Map Run over zero items: none is started.
    expect(top['AnyObjectsToRun?'].Default).toBe('ReportRun');
    expect(top['PrecheckDone?'].Default).toBe('ReportRun');
  });

  test('runs every object as a Standard child execution: the parent history stays flat in the number of objects', () => {
    const { processor } = mapOf(definitions.dev);
    expect((processor as unknown as { ProcessorConfig?: unknown }).ProcessorConfig).toEqual({
      Mode: 'DISTRIBUTED',
      ExecutionType: 'STANDARD',
    });
  });

  test('the state machine may start, describe, stop and redrive its own child executions only', () => {
    const stateMachineId = logicalIdOf(built.dev.stack.pipeline.stateMachine);
    const policies = Object.values(built.dev.template.findResources('AWS::IAM::Policy')).filter((policy) =>
      String(policy.Properties?.PolicyName).includes('DistributedMapPolicy'),
    );
    expect(policies).toHaveLength(1);
    const statements = (
      policies[0] as {
        Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } };
      }
    ).Properties.PolicyDocument.Statement;
    for (const statement of statements) expect(JSON.stringify(statement.Resource)).toContain(stateMachineId);
    expect(statements.flatMap((statement) => [statement.Action].flat()).sort()).toEqual([
      'states:DescribeExecution',
      'states:RedriveExecution',
      'states:StartExecution',
      'states:StopExecution',
    ]);
  });

  test.each(['dev', 'prod', 'tuned'])('%s times an execution out after executionTimeoutMinutes', (env) => {
    expect(definitions[env].TimeoutSeconds).toBe(built[env].config.executionTimeoutMinutes * 60);
  });
});

describe('task retries and timeouts', () => {
  const tasks = () => [...allStates(definitions.dev)].filter(([, state]) => state.Type === 'Task');

  test('the definition has a Lambda task per pipeline step', () => {
    expect(tasks().map(([name]) => name)).toEqual(
      expect.arrayContaining([
        'LoadObjects',
        'Precheck',
        'AwaitPrecheckStatement',
        'StartExtract',
        'AwaitExtractStatement',
        'PollFlow',
        'AwaitConsolidationStatement',
        'Consolidate',
        'FinishObject',
        'RecordFailure',
        'ReportRun',
      ]),
    );
  });

  test('every Task has a TimeoutSeconds, or (the token waits) a TimeoutSecondsPath', () => {
    for (const [name, task] of tasks()) {
      if (name === 'AwaitFlowRun') {
        expect(task.TimeoutSecondsPath).toEqual(expect.stringMatching(/^\$\.flow\./));
        continue;
      }
      if (/^Await\w+Statement$/.test(name)) {
        expect(task.TimeoutSecondsPath).toBe('$.waiting.timeoutSeconds');
        continue;
      }
      expect({ name, timeout: typeof task.TimeoutSeconds }).toEqual({ name, timeout: 'number' });
      expect(task.TimeoutSeconds).toBeGreaterThan(0);
    }
  });

  test("a Lambda task's timeout outlasts its function's, so the function's own timeout (Sandbox.Timedout) decides", () => {
    const functions = built.dev.template.findResources('AWS::Lambda::Function');
    const timeoutOf = (prefix: string) => {
      const ids = Object.keys(functions).filter((id) => id.startsWith(prefix));
      expect({ prefix, found: ids.length }).toEqual({ prefix, found: 1 });
      return (functions[ids[0]].Properties as { Timeout: number }).Timeout;
    };
    const invoked = (state: string) =>
      state === 'ReportRun'
        ? 'RunReportFunction'
        : /^Await\w+Statement$/.test(state)
          ? 'AwaitStatementFunction'
          : `${state}Function`;
    for (const [name, task] of tasks()) {
      if (task.TimeoutSeconds === undefined) continue;
      expect({ name, taskTimeout: task.TimeoutSeconds }).toEqual({
        name,
        taskTimeout: timeoutOf(invoked(name)) + 30,
      });
    }
  });

  test('a function that died (Lambda.Unknown, Sandbox.Timedout) is retried on every idempotent step, never on ReportRun', () => {
    for (const [name, task] of tasks()) {
      const retried = (task.Retry ?? []).flatMap((retry) => retry.ErrorEquals);
      const expected = name === 'ReportRun' ? 'no' : 'yes';
      expect({
        name,
        died: retried.includes('Sandbox.Timedout') && retried.includes('Lambda.Unknown') ? 'yes' : 'no',
      }).toEqual({
        name,
        died: expected,
      });
    }
  });

  test('no Task retries WarehouseConflict: the step resubmitted the statement already, and a retry would only walk the same failed ones', () => {
    for (const [name, task] of tasks()) {
      const retried = (task.Retry ?? []).flatMap((retry) => retry.ErrorEquals);
      expect({ name, conflict: retried.includes('WarehouseConflict') }).toEqual({ name, conflict: false });
    }
  });

  test('every Task retries Throttled and the Lambda transient errors with capped, jittered exponential backoff', () => {
    for (const [name, task] of tasks()) {
      const retrier = (task.Retry ?? []).find((retry) => retry.ErrorEquals.includes('Throttled'));
      expect({ name, retriesThrottled: retrier !== undefined }).toEqual({ name, retriesThrottled: true });
      if (!retrier) continue;
      expect(retrier.ErrorEquals).toEqual(expect.arrayContaining(LAMBDA_TRANSIENT_ERRORS));
      expect(retrier.BackoffRate).toBeGreaterThan(1);
      expect(retrier.MaxAttempts).toBeGreaterThan(1);
      expect(typeof retrier.MaxDelaySeconds).toBe('number');
      expect(retrier.JitterStrategy).toBe('FULL');
    }
  });

  test('no Task retries every error (States.ALL): only transient ones', () => {
    for (const [name, task] of tasks()) {
      for (const retry of task.Retry ?? []) {
        expect({ name, errors: retry.ErrorEquals }).not.toEqual({
          name,
          errors: expect.arrayContaining(['States.ALL']),
        });
      }
    }
  });
});

describe('event-driven flow wait', () => {
  const states = (env: string) => mapOf(definitions[env]).processor.States;

  test('StartExtract leads to AwaitFlowRun, a Lambda task that waits for its task token', () => {
    const perObject = states('dev');
    expect(perObject.StartExtract.Next).toBe('ExtractStarted?');
    // Only a flow with its wait times is waited on: AwaitFlowRun reads both from $.flow.
    expect(perObject['ExtractStarted?'].Choices).toContainEqual({
      And: [
        { Variable: '$.flow.waitTimeoutSeconds', IsPresent: true },
        { Variable: '$.flow.heartbeatSeconds', IsPresent: true },
      ],
      Next: 'AwaitFlowRun',
    });
    const wait = perObject.AwaitFlowRun;
    expect(wait.Resource).toEqual(expect.stringMatching(/:states:::lambda:invoke\.waitForTaskToken$/));
    const parameters = wait.Parameters as { Payload: Record<string, unknown> };
    expect(parameters.Payload).toEqual({ 'taskToken.$': '$$.Task.Token', 'state.$': '$' });
    // The token's answer (the flow's new state) replaces $.flow; the plan and run stay.
    expect(wait.ResultPath).toBe('$.flow');
    expect(wait.Next).toBe('FlowFinished?');
  });

  test.each(['dev', 'prod', 'tuned'])(
    "%s: the wait is bounded by the flow's deadline, and a missed heartbeat falls back to PollFlow",
    (env) => {
      const wait = states(env).AwaitFlowRun;
      expect(wait.TimeoutSecondsPath).toBe('$.flow.waitTimeoutSeconds');
      expect(wait.TimeoutSeconds).toBeUndefined();
      // From the state too: the heartbeat must stay below the timeout, which shrinks after a fallback.
      expect(wait.HeartbeatSecondsPath).toBe('$.flow.heartbeatSeconds');
      expect(wait.HeartbeatSeconds).toBeUndefined();
      // Order matters: States.Timeout also matches a heartbeat timeout.
      expect(wait.Catch).toEqual([
        { ErrorEquals: ['States.HeartbeatTimeout'], Next: 'PollFlow', ResultPath: null },
        { ErrorEquals: ['States.Timeout'], Next: 'FlowWaitTimedOut', ResultPath: null },
        { ErrorEquals: ['States.ALL'], Next: 'RecordFailure', ResultPath: '$.error' },
      ]);
      expect(states(env).FlowWaitTimedOut).toMatchObject({ ResultPath: '$.error', Next: 'RecordFailure' });
      expect(states(env).PollFlow.Next).toBe('FlowFinished?');
    },
  );

  test('a run still going after the fallback waits again; a finished one is consolidated', () => {
    const choice = states('dev')['FlowFinished?'];
    expect(choice.Choices).toContainEqual({
      And: [
        { Variable: '$.flow.state', StringEquals: 'RUNNING' },
        {
          And: [
            { Variable: '$.flow.waitTimeoutSeconds', IsPresent: true },
            { Variable: '$.flow.heartbeatSeconds', IsPresent: true },
          ],
        },
      ],
      Next: 'AwaitFlowRun',
    });
    expect(choice.Choices).toContainEqual({
      Variable: '$.flow.state',
      StringEquals: 'SUCCEEDED',
      Next: 'Consolidate',
    });
  });

  test('an empty run (recordsProcessed == 0) goes straight to FinishObject, skipping Consolidate', () => {
    const rules = states('dev')['FlowFinished?'].Choices ?? [];
    const emptyRun = rules.findIndex(
      (rule) =>
        rule.Next === 'FinishObject' &&
        (rule.And ?? []).some(
          (condition) => condition.Variable === '$.flow.recordsProcessed' && condition.NumericEquals === 0,
        ) &&
        (rule.And ?? []).some(
          (condition) => condition.Variable === '$.flow.state' && condition.StringEquals === 'SUCCEEDED',
        ),
    );
    const consolidate = rules.findIndex((rule) => rule.Next === 'Consolidate');
    expect(emptyRun).toBeGreaterThanOrEqual(0);
    expect(consolidate).toBeGreaterThan(emptyRun);
  });

  test('a finished consolidation leads to FinishObject; a long statement is waited on by its end event', () => {
    const perObject = states('dev');
    expect(perObject.Consolidate.Next).toBe('ConsolidationFinished?');
    const choice = perObject['ConsolidationFinished?'];
    expect(choice.Choices).toContainEqual({
      Variable: '$.consolidation.state',
      StringEquals: 'FINISHED',
      Next: 'FinishObject',
    });
    expect(choice.Choices).toContainEqual({
      Variable: '$.waiting',
      IsPresent: true,
      Next: 'AwaitConsolidationStatement',
    });
    // No Wait state polls the warehouse: the statement's end event answers a task token.
    expect(Object.values(perObject).filter((state) => state.Type === 'Wait')).toEqual([]);
  });

  test.each([
    ['StartExtract', 'AwaitExtractStatement'],
    ['Consolidate', 'AwaitConsolidationStatement'],
  ])(
    '%s hands a statement that outlived its budget to %s, and runs again when it ends or the wait times out',
    (step, wait) => {
      const perObject = states('dev');
      const task = perObject[wait];
      expect(task.Resource).toEqual(expect.stringMatching(/:states:::lambda:invoke\.waitForTaskToken$/));
      expect((task.Parameters as { Payload: Record<string, unknown> }).Payload).toEqual({
        'taskToken.$': '$$.Task.Token',
        'wait.$': '$.waiting',
        'objectName.$': '$.plan.objectName',
      });
      // The answer says only "look now": the step reads the statement's outcome itself.
      expect(task.ResultPath).toBeNull();
      expect(task.Next).toBe(step);
      expect(task.Catch).toEqual([
        { ErrorEquals: ['States.Timeout'], Next: step, ResultPath: null },
        { ErrorEquals: ['States.ALL'], Next: 'RecordFailure', ResultPath: '$.error' },
      ]);
    },
  );

  test('the precheck waits on its statement the same way, in the parent', () => {
    const top = definitions.dev.States;
    expect(top['PrecheckDone?'].Choices?.[0]).toEqual({
      Variable: '$.waiting',
      IsPresent: true,
      Next: 'AwaitPrecheckStatement',
    });
    expect(top.AwaitPrecheckStatement).toMatchObject({
      Next: 'Precheck',
      TimeoutSecondsPath: '$.waiting.timeoutSeconds',
    });
  });
});

/** A Task's scripted answer: its effective input (after Parameters) in, its result out. */
type Step = (input: Record<string, unknown>) => unknown;

/**
 * Runs one child execution (the Map's item processor) with aws-local-stepfunctions, as the local
 * run drives it: each Task answers with the next of its scripted `steps`; Choices, paths, Catch and
 * Pass states are the library's. Returns the states entered, in order, and the child's output.
 */
async function runChild(
  steps: Record<string, Step[]>,
): Promise<{ entered: string[]; output: Record<string, unknown> }> {
  const { processor } = mapOf(definitions.dev);
  const child: StateMachineDefinition = {
    StartAt: processor.StartAt,
    States: forWalk(processor).States,
  };
  const tokenTasks = [...walkStates(child)]
    .filter(({ state }) => String(state.Resource).endsWith('.waitForTaskToken'))
    .map(({ name }) => name);
  const { definition } = definitionForLibrary(child, tokenTasks);
  const tasks = [...walkStates(definition)]
    .filter(({ state }) => state.Type === 'Task')
    .map(({ name }) => name);
  const visits: Record<string, number> = {};
  const unscripted: string[] = [];
  const handlers = Object.fromEntries(
    tasks.map((name) => [
      name,
      (input: unknown) => {
        const visit = visits[name] ?? 0;
        visits[name] = visit + 1;
        const step = steps[name]?.[visit];
        if (!step) {
          unscripted.push(`${name} entered ${visit + 1} times: no answer scripted`);
          throw new Error(unscripted.at(-1));
        }
        return step(input as Record<string, unknown>);
      },
    ]),
  );
  // Function ARNs are template tokens (`#{n}`) here: the library never calls them.
  const library = new StateMachine(definition as never, {
    validationOptions: { checkArn: false, checkPaths: false },
  });
  const execution = library.run(
    { plan: { objectName: 'Account' } },
    {
      overrides: {
        taskResourceLocalHandlers: handlers as never,
        retryIntervalOverrides: Object.fromEntries(tasks.map((name) => [name, 0])),
      },
      context: { Task: { Token: 'test-task-token' } } as never,
    },
  );
  const entered: string[] = [];
  const collect = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered') entered.push(event.state.name);
    }
  })();
  const output = (await execution.result) as Record<string, unknown>;
  await collect;
  expect(unscripted).toEqual([]);
  return { entered, output };
}

/** A flow StartExtract started or the wait found still running: with the wait times AwaitFlowRun reads. */
const runningFlow = (flowName: string) => ({
  flowName,
  state: 'RUNNING',
  waitTimeoutSeconds: 43_200,
  heartbeatSeconds: 3_600,
});
/** AwaitFlowRun's answer (the token's): the flow's new state, which becomes `$.flow`. */
const finishedFlow = (flowName: string, records: number) => () => ({
  ...runningFlow(flowName),
  state: 'SUCCEEDED',
  recordsProcessed: records,
});
const done = (state: Record<string, unknown>) => ({ ...state, consolidation: { state: 'FINISHED' } });
const end: Step = (state) => state;

describe('column refresh (issue 21): a phase of the same child', () => {
  const perObject = () => mapOf(definitions.dev).processor.States;
  const refresh = { columns: ['days_open__c'], flowName: 'p-Account-refresh-run' };
  /** StartExtract's two answers when a refresh is due: the load's flow, then the refresh's. */
  const startLoadThenRefresh: Step[] = [
    (state) => ({ ...state, flow: runningFlow('p-Account-run'), refresh }),
    (state) => ({ ...state, extract: state.flow, flow: runningFlow(refresh.flowName) }),
  ];

  test('a due refresh: StartExtract starts the refresh flow once the load ended, the same wait waits on it, Consolidate refreshes: 11 transitions', async () => {
    const { entered } = await runChild({
      StartExtract: startLoadThenRefresh,
      AwaitFlowRun: [finishedFlow('p-Account-run', 3), finishedFlow(refresh.flowName, 500)],
      Consolidate: [done],
      FinishObject: [end],
    });

    expect(entered).toEqual([
      'StartExtract',
      'ExtractStarted?',
      'AwaitFlowRun',
      'FlowFinished?',
      'StartExtract',
      'ExtractStarted?',
      'AwaitFlowRun',
      'FlowFinished?',
      'Consolidate',
      'ConsolidationFinished?',
      'FinishObject',
    ]);
    // bench/orchestration.ts: at most 12 transitions per object.
    expect(entered.length).toBeLessThanOrEqual(12);
  });

  test('an incremental load that found nothing still refreshes: Consolidate runs for the refresh alone', async () => {
    const { entered } = await runChild({
      StartExtract: startLoadThenRefresh,
      // A refresh flow that found nothing (an empty object) still clears the pending columns.
      AwaitFlowRun: [finishedFlow('p-Account-run', 0), finishedFlow(refresh.flowName, 0)],
      Consolidate: [done],
      FinishObject: [end],
    });

    expect(entered.filter((name) => name === 'Consolidate')).toHaveLength(1);
    expect(entered.at(-1)).toBe('FinishObject');
  });

  test('no refresh due: the path is as before (7 transitions), an empty load goes straight to FinishObject', async () => {
    const load = async (records: number) =>
      (
        await runChild({
          StartExtract: [(state) => ({ ...state, flow: runningFlow('p-Account-run') })],
          AwaitFlowRun: [finishedFlow('p-Account-run', records)],
          Consolidate: [done],
          FinishObject: [end],
        })
      ).entered;

    expect(await load(3)).toHaveLength(7);
    expect(await load(0)).toEqual([
      'StartExtract',
      'ExtractStarted?',
      'AwaitFlowRun',
      'FlowFinished?',
      'FinishObject',
    ]);
  });

  test('a refresh CALL still running after the consolidation finished is waited on by its end event, then Consolidate goes on', async () => {
    const { entered } = await runChild({
      StartExtract: startLoadThenRefresh,
      AwaitFlowRun: [finishedFlow('p-Account-run', 3), finishedFlow(refresh.flowName, 500)],
      Consolidate: [
        (state) => ({ ...done(state), waiting: { statementId: 'refresh-call', timeoutSeconds: 900 } }),
        (state) => {
          const { waiting: _answered, ...rest } = state;
          return rest;
        },
      ],
      AwaitConsolidationStatement: [() => ({})],
      FinishObject: [end],
    });

    expect(entered.slice(-5)).toEqual([
      'ConsolidationFinished?',
      'AwaitConsolidationStatement',
      'Consolidate',
      'ConsolidationFinished?',
      'FinishObject',
    ]);
  });

  test("the refresh flow's wait is AwaitFlowRun's own: its timeout and heartbeat come from $.flow, past the deadline FlowWaitTimedOut cleans up", () => {
    const states = perObject();
    // StartExtract puts the refresh flow (with its own deadline) in $.flow, the incremental one in $.extract.
    expect(states.AwaitFlowRun).toMatchObject({
      TimeoutSecondsPath: '$.flow.waitTimeoutSeconds',
      HeartbeatSecondsPath: '$.flow.heartbeatSeconds',
    });
    expect(states.FlowWaitTimedOut.Next).toBe('RecordFailure');
    // The refresh branch is taken once: only while the incremental flow is still the one in $.flow.
    const [first] = states['FlowFinished?'].Choices ?? [];
    expect(first).toEqual({
      And: [
        { Variable: '$.flow.state', StringEquals: 'SUCCEEDED' },
        { Not: { Variable: '$.extract', IsPresent: true } },
        { Variable: '$.refresh', IsPresent: true },
      ],
      Next: 'StartExtract',
    });
  });
});

describe('a step that returns a state no rule knows', () => {
  // Without these, each Choice's default led to a wait whose paths ($.waiting, the flow's wait
  // times) were absent: States.Runtime, which no Catch takes, and the object's flow left behind.
  const failedWith = (output: Record<string, unknown>) => output.error as { Error: string; Cause: string };

  test('Consolidate neither FINISHED nor waiting on a statement: the object fails ConsolidationStateUnknown through RecordFailure', async () => {
    const { entered, output } = await runChild({
      StartExtract: [(state) => ({ ...state, flow: runningFlow('p-Account-run') })],
      AwaitFlowRun: [finishedFlow('p-Account-run', 3)],
      Consolidate: [(state) => ({ ...state, consolidation: { state: 'RUNNING' } })],
      RecordFailure: [end],
    });

    expect(entered.slice(-3)).toEqual([
      'ConsolidationFinished?',
      'ConsolidationStateUnknown',
      'RecordFailure',
    ]);
    expect(failedWith(output)).toEqual({
      Error: 'ConsolidationStateUnknown',
      Cause: expect.stringMatching(
        /^Account: Consolidate returned a state ConsolidationFinished\? does not know/,
      ),
    });
  });

  test('StartExtract with neither a statement nor a flow to wait on: ExtractStateUnknown', async () => {
    const { entered, output } = await runChild({
      StartExtract: [(state) => ({ ...state, flow: { flowName: 'p-Account-run', state: 'RUNNING' } })],
      RecordFailure: [end],
    });

    expect(entered).toEqual(['StartExtract', 'ExtractStarted?', 'ExtractStateUnknown', 'RecordFailure']);
    expect(failedWith(output).Error).toBe('ExtractStateUnknown');
  });

  test('a flow neither SUCCEEDED nor RUNNING with its wait times: FlowStateUnknown', async () => {
    const { entered, output } = await runChild({
      StartExtract: [(state) => ({ ...state, flow: runningFlow('p-Account-run') })],
      AwaitFlowRun: [() => ({ flowName: 'p-Account-run', state: 'CANCELED' })],
      RecordFailure: [end],
    });

    expect(entered.slice(-3)).toEqual(['FlowFinished?', 'FlowStateUnknown', 'RecordFailure']);
    expect(failedWith(output).Error).toBe('FlowStateUnknown');
  });

  test('every Choice of the child ends in a state that reads no unchecked path: its default is such a Pass, into RecordFailure', () => {
    const states = mapOf(definitions.dev).processor.States;
    const choices = Object.entries(states).filter(([, state]) => state.Type === 'Choice');
    expect(choices.map(([name]) => name).sort()).toEqual([
      'ConsolidationFinished?',
      'ExtractStarted?',
      'FlowFinished?',
    ]);
    for (const [name, choice] of choices) {
      const fallback = states[choice.Default ?? ''];
      expect({ name, type: fallback?.Type, next: fallback?.Next, resultPath: fallback?.ResultPath }).toEqual({
        name,
        type: 'Pass',
        next: 'RecordFailure',
        resultPath: '$.error',
      });
    }
  });
});

describe('choice rules', () => {
  test('no rule tests IsPresent: false (the local run interprets it as never matching): Not(IsPresent) says it', () => {
    const rules = (rule: AslChoiceRule): AslChoiceRule[] => [
      rule,
      ...(rule.And ?? []).flatMap(rules),
      ...(rule.Or ?? []).flatMap(rules),
      ...(rule.Not ? rules(rule.Not as AslChoiceRule) : []),
    ];
    const all = [...allStates(definitions.dev).values()].flatMap((state) =>
      (state.Choices ?? []).flatMap(rules),
    );
    expect(all.filter((rule) => rule.IsPresent === false)).toEqual([]);
    expect(all.filter((rule) => rule.IsPresent === true).length).toBeGreaterThan(0);
  });
});

describe('per-object failure handling', () => {
  const perObject = () => mapOf(definitions.dev).processor.States;

  test('every Task in the Map except RecordFailure catches States.ALL into RecordFailure with the error at $.error', () => {
    const tasks = Object.entries(perObject()).filter(
      ([name, state]) => state.Type === 'Task' && name !== 'RecordFailure',
    );
    expect(tasks.length).toBeGreaterThanOrEqual(4);
    for (const [name, task] of tasks) {
      expect({ name, catch: task.Catch }).toEqual({
        name,
        catch: expect.arrayContaining([
          { ErrorEquals: ['States.ALL'], Next: 'RecordFailure', ResultPath: '$.error' },
        ]),
      });
    }
  });

  test('RecordFailure is a terminal Task with no Catch of its own', () => {
    const recordFailure = perObject().RecordFailure;
    expect(recordFailure.Type).toBe('Task');
    expect(recordFailure.End).toBe(true);
    expect(recordFailure.Catch).toBeUndefined();
  });

  test('every object ends in FinishObject or RecordFailure (both delete the flow), never in a Fail state', () => {
    const ends = Object.entries(perObject())
      .filter(([, state]) => isTerminal(state))
      .map(([name]) => name)
      .sort();
    expect(ends).toEqual(['FinishObject', 'RecordFailure']);
    expect(Object.values(perObject()).filter((state) => state.Type === 'Fail')).toEqual([]);
  });
});

describe('end of the run', () => {
  test('ReportRun runs after the Map and leads to a Choice', () => {
    const top = definitions.dev.States;
    const { name } = mapOf(definitions.dev);
    expect(top[name].Next).toBe('ReportRun');
    expect(top[top.ReportRun.Next ?? ''].Type).toBe('Choice');
  });

  test('the run ends FAILED with error ObjectsFailed and the summary as cause when any object failed', () => {
    const top = definitions.dev.States;
    const choice = top[top.ReportRun.Next ?? ''];
    const fails = Object.entries(top).filter(([, state]) => state.Type === 'Fail');
    expect(fails).toHaveLength(1);
    const [failName, fail] = fails[0];
    expect(fail).toMatchObject({ Error: 'ObjectsFailed', CausePath: '$.summary' });
    expect(choice.Choices).toContainEqual(expect.objectContaining({ Next: failName }));
    expect(top[choice.Default ?? ''].Type).toBe('Succeed');
  });
});

describe('graph', () => {
  test.each(['dev', 'prod'])('%s: every transition names a state of the same scope', (env) => {
    for (const [label, scope] of scopes(definitions[env])) {
      expect({ label, startAt: scope.StartAt in scope.States }).toEqual({ label, startAt: true });
      for (const [name, state] of Object.entries(scope.States)) {
        for (const next of successors(state)) {
          expect({ label, from: name, to: next, exists: next in scope.States }).toEqual({
            label,
            from: name,
            to: next,
            exists: true,
          });
        }
      }
    }
  });

  test.each(['dev', 'prod'])('%s: every state is reachable from StartAt', (env) => {
    for (const [label, scope] of scopes(definitions[env])) {
      const seen = new Set<string>([scope.StartAt]);
      const queue = [scope.StartAt];
      while (queue.length > 0) {
        for (const next of successors(scope.States[queue.shift() as string] ?? { Type: 'Missing' })) {
          if (!seen.has(next)) {
            seen.add(next);
            queue.push(next);
          }
        }
      }
      const unreachable = Object.keys(scope.States).filter((name) => !seen.has(name));
      expect({ label, unreachable }).toEqual({ label, unreachable: [] });
    }
  });

  test.each(['dev', 'prod'])(
    '%s: every path can end (each state is terminal or reaches a terminal)',
    (env) => {
      for (const [label, scope] of scopes(definitions[env])) {
        const states = Object.entries(scope.States);
        for (const [name, state] of states) {
          const hasExit = isTerminal(state) || successors(state).length > 0;
          expect({ label, name, hasExit }).toEqual({ label, name, hasExit: true });
        }
        // Fixed point: a state can end if it is terminal or any successor can end.
        const canEnd = new Set(states.filter(([, state]) => isTerminal(state)).map(([name]) => name));
        let grew = true;
        while (grew) {
          grew = false;
          for (const [name, state] of states) {
            if (!canEnd.has(name) && successors(state).some((next) => canEnd.has(next))) {
              canEnd.add(name);
              grew = true;
            }
          }
        }
        const stuck = states.map(([name]) => name).filter((name) => !canEnd.has(name));
        expect({ label, stuck }).toEqual({ label, stuck: [] });
      }
    },
  );

  test('the only loops go back through a Choice: the flow wait (bounded by its deadline) and the statement waits', () => {
    const perObject = mapOf(definitions.dev).processor.States;
    // Drop the edges out of the waits (token tasks): what remains must be acyclic.
    const edges = (name: string) =>
      /^Await\w*Statement$|^AwaitFlowRun$/.test(name) ? [] : successors(perObject[name]);
    const visiting = new Set<string>();
    const done = new Set<string>();
    const cycles: string[] = [];
    const visit = (name: string, trail: string[]) => {
      if (done.has(name)) return;
      if (visiting.has(name)) {
        cycles.push([...trail, name].join(' → '));
        return;
      }
      visiting.add(name);
      for (const next of edges(name)) visit(next, [...trail, name]);
      visiting.delete(name);
      done.add(name);
    };
    for (const name of Object.keys(perObject)) visit(name, []);
    expect(cycles).toEqual([]);
    // A statement wait loops only while its statement runs: each pass sleeps on the end event.
    for (const [choice, wait] of [
      ['ConsolidationFinished?', 'AwaitConsolidationStatement'],
      ['ExtractStarted?', 'AwaitExtractStatement'],
    ]) {
      expect(perObject[choice].Choices).toContainEqual({
        Variable: '$.waiting',
        IsPresent: true,
        Next: wait,
      });
    }
    expect(perObject['FlowFinished?'].Choices).toContainEqual(
      expect.objectContaining({ Next: 'AwaitFlowRun' }),
    );
    expect(perObject.AwaitFlowRun.TimeoutSecondsPath).toBe('$.flow.waitTimeoutSeconds');
  });
});
