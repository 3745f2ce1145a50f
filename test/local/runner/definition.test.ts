import {
  DISTRIBUTED_MAP_RESOURCE,
  definitionForLibrary,
  LOCAL_TASK_REAL_TIMEOUT_SECONDS,
  type StateMachineDefinition,
  walkStates,
} from '../../../local/runner/definition';

const lambda = 'arn:aws:lambda:eu-west-1:000000000000:function:F';

/** Plan → Distributed Map (Start → Wait for the flow) → Report, and a Parallel beside it. */
function pipeline(): StateMachineDefinition {
  return {
    StartAt: 'Plan',
    States: {
      Plan: { Type: 'Task', Resource: lambda, TimeoutSeconds: 90, Next: 'Objects' },
      Objects: {
        Type: 'Map',
        ItemReader: { Resource: 'arn:aws:states:::s3:getObject' },
        ItemProcessor: {
          ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
          StartAt: 'Start',
          States: {
            Start: { Type: 'Task', Resource: lambda, Next: 'AwaitFlow' },
            AwaitFlow: {
              Type: 'Task',
              Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
              TimeoutSecondsPath: '$.flow.timeoutSeconds',
              HeartbeatSeconds: 900,
              End: true,
            },
          },
        },
        ResultPath: '$.results',
        Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Report' }],
        Next: 'Both',
      },
      Both: {
        Type: 'Parallel',
        Branches: [{ StartAt: 'Left', States: { Left: { Type: 'Pass', End: true } } }],
        Next: 'Report',
      },
      Report: { Type: 'Task', Resource: lambda, End: true },
    },
  };
}

describe('walkStates', () => {
  test("visits every state, parents first, a Map's processor and a Parallel's branches marked nested", () => {
    const walked = [...walkStates(pipeline())].map(
      ({ name, nested }) => `${name}${nested ? ' (nested)' : ''}`,
    );
    expect(walked).toEqual([
      'Plan',
      'Objects',
      'Start (nested)',
      'AwaitFlow (nested)',
      'Both',
      'Left (nested)',
      'Report',
    ]);
  });
});

describe('definitionForLibrary', () => {
  test('puts a Task the runner plays in the Distributed Map’s place, keeping its paths, catchers and next state', () => {
    const { definition, distributedMaps } = definitionForLibrary(pipeline(), ['AwaitFlow']);
    expect(definition.States.Objects).toEqual({
      Type: 'Task',
      Resource: DISTRIBUTED_MAP_RESOURCE,
      ResultPath: '$.results',
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Report' }],
      Next: 'Both',
      TimeoutSeconds: 2_000_000,
    });
    expect(Object.keys(distributedMaps)).toEqual(['Objects']);
    expect(distributedMaps.Objects.ItemReader).toEqual(pipeline().States.Objects.ItemReader);
  });

  test('gives a token task a timeout the library never reaches, in place of its TimeoutSecondsPath and heartbeat', () => {
    // Prepare
    const given = pipeline();

    // Act
    const { distributedMaps } = definitionForLibrary(given, ['AwaitFlow']);

    // Assess
    const awaitFlow = distributedMaps.Objects.ItemProcessor?.States.AwaitFlow;
    expect(awaitFlow).toEqual({
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      TimeoutSeconds: 7 * 24 * 3600,
      End: true,
    });
    // The processor keeps its configuration; the given definition is not changed.
    expect(distributedMaps.Objects.ItemProcessor).toMatchObject({ ProcessorConfig: { Mode: 'DISTRIBUTED' } });
    expect(given.States.Objects.ItemProcessor?.States.AwaitFlow).toMatchObject({
      TimeoutSecondsPath: '$.flow.timeoutSeconds',
      HeartbeatSeconds: 900,
    });
    expect(given.States.Plan.TimeoutSeconds).toBe(90);
  });

  test('gives every other Task a real-time bound far beyond its function’s timeout: the simulated invocation applies that', () => {
    const { definition, distributedMaps } = definitionForLibrary(pipeline(), ['AwaitFlow']);

    expect(LOCAL_TASK_REAL_TIMEOUT_SECONDS).toBeGreaterThanOrEqual(3600);
    expect(definition.States.Plan.TimeoutSeconds).toBe(LOCAL_TASK_REAL_TIMEOUT_SECONDS);
    expect(definition.States.Report.TimeoutSeconds).toBe(LOCAL_TASK_REAL_TIMEOUT_SECONDS);
    expect(distributedMaps.Objects.ItemProcessor?.States.Start.TimeoutSeconds).toBe(
      LOCAL_TASK_REAL_TIMEOUT_SECONDS,
    );
  });

  test('refuses a Distributed Map inside another state, naming it', () => {
    const outer = pipeline();
    const nested: StateMachineDefinition = {
      StartAt: 'Outer',
      States: {
        Outer: {
          Type: 'Map',
          ItemProcessor: { StartAt: 'Objects', States: { Objects: { ...outer.States.Objects, End: true } } },
          End: true,
        },
      },
    };
    expect(() => definitionForLibrary(nested)).toThrow(
      'Distributed Map Objects is nested: the local run plays top-level ones only',
    );
  });
});
