/**
 * The pipeline's state machine definition (Amazon States Language, from the synthesized
 * template): its shape, the one walk over its states, and the definition as
 * aws-local-stepfunctions runs it.
 */
export interface StateMachineDefinition {
  StartAt: string;
  States: Record<string, StateDefinition>;
  /** A Map's ItemProcessor: how its items run (`DISTRIBUTED`: each a child execution). */
  ProcessorConfig?: { Mode?: string; ExecutionType?: string };
}
export interface StateDefinition {
  Type: string;
  Resource?: string;
  ItemProcessor?: StateMachineDefinition;
  Iterator?: StateMachineDefinition;
  Branches?: StateMachineDefinition[];
  [key: string]: unknown;
}

/** A state met on the walk; `nested` when it stands in a Map's processor or a Parallel branch. */
export interface WalkedState {
  name: string;
  state: StateDefinition;
  nested: boolean;
}

/** Every state of the definition, each Map's processor and Parallel's branches included, parents first. */
export function* walkStates(definition: StateMachineDefinition, nested = false): Generator<WalkedState> {
  for (const [name, state] of Object.entries(definition.States)) {
    yield { name, state, nested };
    for (const inner of [state.ItemProcessor, state.Iterator, ...(state.Branches ?? [])]) {
      if (inner) yield* walkStates(inner, true);
    }
  }
}

/** The definition with every state replaced by what `replace` makes of it, inner definitions first. */
function mapStates(
  definition: StateMachineDefinition,
  replace: (walked: WalkedState) => StateDefinition,
  nested = false,
): StateMachineDefinition {
  const states = Object.entries(definition.States).map(([name, original]): [string, StateDefinition] => {
    const state: StateDefinition = { ...original };
    if (state.ItemProcessor) state.ItemProcessor = mapStates(state.ItemProcessor, replace, true);
    if (state.Iterator) state.Iterator = mapStates(state.Iterator, replace, true);
    if (state.Branches) state.Branches = state.Branches.map((branch) => mapStates(branch, replace, true));
    return [name, replace({ name, state, nested })];
  });
  return { ...definition, States: Object.fromEntries(states) };
}

/** A Map whose items run as child executions (`ProcessorConfig.Mode: DISTRIBUTED`). */
export function isDistributedMap(state: StateDefinition): boolean {
  return state.Type === 'Map' && state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED';
}

/**
 * aws-local-stepfunctions 3 runs a DISTRIBUTED Map as an inline one: it ignores ItemReader,
 * ResultWriter and ToleratedFailure*, and its items' events are the parent's. The runner hands
 * the library a Task with this resource in each Distributed Map's place and plays the Map
 * itself (distributed-map.ts).
 */
export const DISTRIBUTED_MAP_RESOURCE = 'arn:aws:states:::local:distributedMap';

/** The fields a Task and a Map share; everything else of the Map is the emulation's. */
const TASK_FIELDS = [
  'Comment',
  'InputPath',
  'OutputPath',
  'ResultPath',
  'ResultSelector',
  'Retry',
  'Catch',
  'Next',
  'End',
];

/** What the library runs, and the Distributed Map states (as rewritten) it stands in for. */
export interface LibraryDefinition {
  definition: StateMachineDefinition;
  distributedMaps: Record<string, StateDefinition>;
}

/**
 * Real seconds the library gives any other Task (a function's invocation) before it raises
 * States.Timeout. The function's own timeout is applied in simulated time (Sandbox.Timedout,
 * local-lambda.ts), which the task's `TimeoutSeconds` (function timeout + 30 s) always outlasts;
 * in real time the bound only stops a hung handler, and must not fire on a slow PGlite CALL of a
 * busy machine.
 */
export const LOCAL_TASK_REAL_TIMEOUT_SECONDS = 3600;

/**
 * The definition as aws-local-stepfunctions can run it:
 * - each Distributed Map becomes a Task the runner plays (only the top level may hold one, as the
 *   pipeline's does; a nested one is refused);
 * - a token task's `TimeoutSecondsPath` becomes a bound the library never reaches: it would read
 *   the path from the effective input (the Parameters), where Step Functions reads the state
 *   input, and time the wait out in wall-clock time; FlowWaitEmulation applies the wait's timeout
 *   in simulated time instead;
 * - every other Task's `TimeoutSeconds`, which the library counts in real time, becomes
 *   LOCAL_TASK_REAL_TIMEOUT_SECONDS.
 */
export function definitionForLibrary(
  definition: StateMachineDefinition,
  tokenTasks: readonly string[] = [],
): LibraryDefinition {
  const distributedMaps: Record<string, StateDefinition> = {};
  const forLibrary = mapStates(definition, ({ name, state, nested }) => {
    let next = state;
    if (tokenTasks.includes(name) && next.TimeoutSecondsPath !== undefined) {
      const {
        TimeoutSecondsPath: _path,
        HeartbeatSeconds: _heartbeat,
        HeartbeatSecondsPath: _heartbeatPath,
        ...rest
      } = next;
      next = { ...rest, TimeoutSeconds: 7 * 24 * 3600 };
    } else if (next.Type === 'Task' && !tokenTasks.includes(name)) {
      const { TimeoutSecondsPath: _path, ...rest } = next;
      next = { ...rest, TimeoutSeconds: LOCAL_TASK_REAL_TIMEOUT_SECONDS };
    }
    if (!isDistributedMap(next)) return next;
    if (nested) throw new Error(`Distributed Map ${name} is nested: the local run plays top-level ones only`);
    distributedMaps[name] = next;
    return distributedMapTask(next);
  });
  return { definition: forLibrary, distributedMaps };
}

function distributedMapTask(map: StateDefinition): StateDefinition {
  return {
    ...Object.fromEntries(TASK_FIELDS.filter((field) => field in map).map((field) => [field, map[field]])),
    Type: 'Task',
    Resource: DISTRIBUTED_MAP_RESOURCE,
    // The library times Tasks out after 60 s; a Map Run lasts as long as its children
    // (at most Node's longest timer, about 24 days).
    TimeoutSeconds: 2_000_000,
  };
}
