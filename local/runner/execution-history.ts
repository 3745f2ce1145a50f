import { isDistributedMap, type StateMachineDefinition, walkStates } from './definition';

/**
 * An event of aws-local-stepfunctions 3's event log. Events of a Map's iterations carry the
 * item's `index`; the iteration's own start and end arrive as `MapIteration*` events.
 */
export interface LocalStateEvent {
  type: string;
  index?: number;
  input?: unknown;
  output?: unknown;
  state?: { name: string; type: string; input?: unknown; output?: unknown };
  parentState?: { type: string; name: string };
}

/** Step Functions refuses a state input or output over 256 KiB of UTF-8 (`States.DataLimitExceeded`). */
export const PAYLOAD_LIMIT_BYTES = 256 * 1024;

/** What Step Functions says when a state's input or output is over the limit. */
export function dataLimitMessage(kind: 'input' | 'output', where: string, bytes: number): string {
  return `States.DataLimitExceeded: the ${kind} of ${where} is ${bytes} bytes, over Step Functions' limit of ${PAYLOAD_LIMIT_BYTES} bytes`;
}

export class DataLimitExceededError extends Error {
  override readonly name = 'States.DataLimitExceeded';
}

/**
 * Runs a Task's handler as Step Functions would: refused before it starts when its input is over
 * 256 KB (the previous state's output, a Map's collected results included), and failed when its
 * result is. aws-local-stepfunctions has no such limit.
 */
export async function withinPayloadLimit(
  stateName: string,
  input: unknown,
  invoke: () => Promise<unknown>,
): Promise<unknown> {
  const inputBytes = Buffer.byteLength(JSON.stringify(input) ?? '');
  if (inputBytes > PAYLOAD_LIMIT_BYTES)
    throw new DataLimitExceededError(dataLimitMessage('input', `state ${stateName}`, inputBytes));
  const output = await invoke();
  const outputBytes = Buffer.byteLength(JSON.stringify(output) ?? '');
  if (outputBytes > PAYLOAD_LIMIT_BYTES)
    throw new DataLimitExceededError(dataLimitMessage('output', `state ${stateName}`, outputBytes));
  return output;
}

/** Execution history as AWS counts it: the parent's events and each child execution's. */
export interface HistoryFigures {
  parent: number;
  /** The largest child execution's history (0 when the run has no child executions). */
  maxChild: number;
  /** Child executions started (one per Distributed Map item). */
  children: number;
  /** Largest state input or output, in UTF-8 bytes (Step Functions' 256 KB limit applies to each). */
  maxPayloadBytes: number;
  /** The first state whose input or output AWS would have refused, as `States.DataLimitExceeded` says it. */
  dataLimitExceeded?: string;
}

/**
 * AWS Standard history events per local event (Step Functions' `GetExecutionHistory` types):
 * - a Lambda Task: `TaskStateEntered`, `LambdaFunctionScheduled`, `LambdaFunctionStarted`, then
 *   `LambdaFunctionSucceeded` and `TaskStateExited`; a failed attempt is `LambdaFunctionFailed`
 *   instead of `…Succeeded`, and a retry adds the next attempt's `Scheduled`/`Started`;
 * - Pass, Wait, Choice, Succeed: `…StateEntered` and `…StateExited`; Fail: `FailStateEntered`
 *   (the execution's `ExecutionFailed` follows);
 * - an inline Map: `MapStateEntered`, `MapStateStarted`, per item `MapIterationStarted` and
 *   `MapIterationSucceeded`/`Failed` plus the item's states, `MapStateSucceeded`, `MapStateExited`;
 * - a Distributed Map: `MapStateEntered`, `MapRunStarted`, `MapRunSucceeded`, `MapStateExited` in
 *   the parent; every item is a child execution with its own history (`ExecutionStarted`, its
 *   states, `ExecutionSucceeded`/`Failed`), counted against its own 25,000-event budget. The
 *   runner plays Distributed Maps itself (distributed-map.ts): the library sees a Task in the
 *   Map's place, and the children's events arrive through `observeChild`;
 * - a `.waitForTaskToken` Task adds `TaskSubmitted` (the function returned; the token is out);
 *   its end is `TaskSucceeded`, `TaskFailed` or `TaskTimedOut`.
 * Reproduces the measured `25 + N·(19 + 9P)` of the inline polling design.
 */
export class ExecutionHistory {
  private parentEvents = 0;
  private readonly childEvents = new Map<number, number>();
  private maxPayload = 0;
  private dataLimitExceeded: string | undefined;
  private readonly distributedMaps: Set<string>;
  private readonly tokenTasks: Set<string>;

  constructor(definition: StateMachineDefinition, tokenTasks: readonly string[] = []) {
    this.distributedMaps = new Set(
      [...walkStates(definition)].filter(({ state }) => isDistributedMap(state)).map(({ name }) => name),
    );
    this.tokenTasks = new Set(tokenTasks);
  }

  /** `eventsFor` plus the `TaskSubmitted` of a token task. */
  private eventsOf(event: LocalStateEvent): number {
    const submitted = event.type === 'StateEntered' && this.tokenTasks.has(event.state?.name ?? '') ? 1 : 0;
    return eventsFor(event) + submitted;
  }

  /** True when the run's Map states run their items as child executions. */
  get hasChildExecutions(): boolean {
    return this.distributedMaps.size > 0;
  }

  /** An event of the parent execution (an inline Map's items included: they are the parent's). */
  observe(event: LocalStateEvent): void {
    this.measurePayload(event);
    // The Task standing in for a Distributed Map counts as the Map it is.
    const asAws =
      event.state && this.distributedMaps.has(event.state.name)
        ? { ...event, state: { ...event.state, type: 'Map' } }
        : event;
    this.parentEvents += this.eventsOf(asAws);
  }

  /** An event of the Distributed Map's child execution for item `index`. */
  observeChild(index: number, event: LocalStateEvent): void {
    this.measurePayload(event);
    this.childEvents.set(index, (this.childEvents.get(index) ?? 0) + this.eventsOf(event));
  }

  figures(): HistoryFigures {
    return {
      parent: this.parentEvents,
      maxChild: Math.max(0, ...this.childEvents.values()),
      children: this.childEvents.size,
      maxPayloadBytes: this.maxPayload,
      ...(this.dataLimitExceeded ? { dataLimitExceeded: this.dataLimitExceeded } : {}),
    };
  }

  private measurePayload(event: LocalStateEvent): void {
    const values: [string, unknown][] = [
      ['input', event.state?.input ?? event.input],
      ['output', event.state?.output ?? event.output],
    ];
    for (const [kind, value] of values) {
      if (value === undefined) continue;
      const bytes = Buffer.byteLength(JSON.stringify(value) ?? '');
      if (bytes > this.maxPayload) this.maxPayload = bytes;
      if (bytes > PAYLOAD_LIMIT_BYTES && !this.dataLimitExceeded) {
        const where = event.state ? `state ${event.state.name}` : 'the execution';
        this.dataLimitExceeded = dataLimitMessage(kind as 'input' | 'output', where, bytes);
      }
    }
  }
}

/** The history events one local event stands for (see the class comment). */
function eventsFor(event: LocalStateEvent): number {
  const stateType = event.state?.type;
  switch (event.type) {
    case 'ExecutionStarted':
    case 'ExecutionSucceeded':
    case 'ExecutionFailed':
    case 'ExecutionTimeout':
    case 'ExecutionAborted':
      return 1;
    case 'MapIterationStarted':
    case 'MapIterationSucceeded':
    case 'MapIterationFailed':
      // Inline: the parent's MapIteration* event; distributed: the child's ExecutionStarted/…Succeeded.
      return 1;
    case 'StateEntered':
      if (stateType === 'Task') return 3;
      if (stateType === 'Map') return 2; // MapStateEntered + MapStateStarted / MapRunStarted
      return 1;
    case 'StateExited':
      if (stateType === 'Task') return 2;
      if (stateType === 'Map') return 2; // MapStateSucceeded / MapRunSucceeded + MapStateExited
      if (stateType === 'Fail') return 0;
      return 1;
    case 'StateFailed':
      // A Task's failed attempt (LambdaFunctionFailed); a failing Map's MapStateFailed / MapRunFailed.
      return stateType === 'Task' || stateType === 'Map' ? 1 : 0;
    case 'StateRetried':
      // The next attempt's LambdaFunctionScheduled and LambdaFunctionStarted.
      return stateType === 'Task' ? 2 : 0;
    case 'StateCaught':
      // The StateExited that follows a caught failure has no LambdaFunctionSucceeded before it.
      return stateType === 'Task' ? -1 : 0;
    default:
      return 0;
  }
}
