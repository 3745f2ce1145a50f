import { StateMachine } from 'aws-local-stepfunctions';
import type { RunReport, RunReportSummary } from '../../lambdas/common/run-report';
import type { LocalAssembly } from './assembly';
import { definitionForLibrary, walkStates } from './definition';
import {
  distributedMapHandlers,
  type MapContext,
  type MapRunState,
  type MapStorage,
} from './distributed-map';
import {
  ExecutionHistory,
  type HistoryFigures,
  type LocalStateEvent,
  withinPayloadLimit,
} from './execution-history';
import type { LocalHandler } from './local-lambda';
import { currentTimeline } from './simulated-time';

/** The pipeline's state machine as the local run plays it: the same for every execution of a run. */
export interface LocalStateMachine {
  assembly: LocalAssembly;
  /** Task state name → the function the library calls in its place. */
  handlers: Record<string, LocalHandler>;
  /** Step Functions' S3 calls for a Distributed Map. */
  storage: MapStorage;
  /** The full report ReportRun's summary points at. */
  readReport: (summary: RunReportSummary) => RunReport | undefined;
  /** The simulated clock. */
  now: () => Date;
  /** Fail an execution whose state input or output is over 256 KB, as Step Functions does. */
  enforcePayloadLimit: boolean;
}

/** One execution: its name, when it starts, and (a redrive) where it resumes. */
export interface ExecutionRun {
  executionName: string;
  startTime: Date;
  onStep: (objectName: string, step: string) => void;
  /**
   * RedriveExecution: the same execution continues from the state it failed in, with that
   * state's input; states that succeeded (a finished Map Run, its children) are not rerun, and a
   * failed Map Run reruns only its unsuccessful children.
   */
  redrive?: RedriveFrom;
}

export interface ExecutionOutcome {
  status: 'SUCCEEDED' | 'FAILED';
  report?: RunReport;
  error?: string;
  stateTransitions: number;
  /**
   * Of stateTransitions, those of each child execution this attempt ran (one per Distributed Map
   * item), in item order; a redrive's lists only the children it reran.
   */
  childStateTransitions: number[];
  lambdaInvocations: number;
  history: HistoryFigures;
  /**
   * The top-level state a failed execution ended in (its type as the definition has it), with its
   * input: where a redrive resumes.
   */
  failedAt?: { stateName: string; stateType: string; input: unknown };
  /** The execution's Distributed Map Runs by state name, as this attempt left them. */
  mapRuns: Record<string, MapRunState>;
}

/** What a redrive needs of the attempt it continues. */
export interface RedriveFrom {
  input: unknown;
  failedAt: NonNullable<ExecutionOutcome['failedAt']>;
  /** The failed attempt's Map Runs: a redriven Map continues its own. */
  mapRuns: Record<string, MapRunState>;
}

/** An execution a day started or redrove: what a redrive the next day continues. */
export interface AttemptedExecution {
  executionName: string;
  input: unknown;
  outcome?: ExecutionOutcome;
  /** Its history events so far: a redrive's events follow the failed attempt's. */
  parentHistory: number;
}

export const NO_EXECUTION: AttemptedExecution = { executionName: '(none)', input: {}, parentHistory: 0 };

/** The ARN of a local execution, as `$$.Execution.Id` and DescribeExecution name it. */
export function localExecutionArn(executionName: string): string {
  return `arn:aws:states:eu-west-1:000000000000:execution:saas-to-redshift-local:${executionName}`;
}

interface StateEvent extends LocalStateEvent {
  type: string;
  state?: { name: string; type: string; input?: unknown; output?: unknown };
  Error?: string;
  Cause?: string;
  /** StateRetried: the retrier that matched, and which of its retries this is (from 1). */
  retry?: { retrier: Retrier; attempt: number };
}

/** A state's `Retry` entry, as the definition has it. */
interface Retrier {
  IntervalSeconds?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
}

/**
 * The pause before a retry, as the definition asks (States Language defaults: 1 s, rate 2.0):
 * IntervalSeconds × BackoffRate^(attempt − 1), at most MaxDelaySeconds. With JitterStrategy FULL
 * Step Functions waits a random part of it; the local run waits all of it, the longest it can be.
 */
export function retryBackoffMs(retrier: Retrier, attempt: number): number {
  const seconds = (retrier.IntervalSeconds ?? 1) * (retrier.BackoffRate ?? 2) ** Math.max(0, attempt - 1);
  return 1000 * Math.min(seconds, retrier.MaxDelaySeconds ?? Number.POSITIVE_INFINITY);
}

/**
 * A function's Task runs with a real-time bound in the library (definitionForLibrary); what stops it
 * in simulated time is the function's own timeout. A state timeout that would fire first (or one
 * read from a path) would go unplayed, more lenient than AWS: refused instead.
 */
function refuseTaskTimeoutsNotPlayed(assembly: LocalAssembly): void {
  for (const { name, state } of walkStates(assembly.definition)) {
    const fn = assembly.taskFunctions?.[name];
    if (!fn || assembly.tokenTasks.includes(name)) continue;
    if (state.TimeoutSecondsPath !== undefined)
      throw new Error(`Task ${name}: the local run plays no TimeoutSecondsPath on a function's Task`);
    const seconds = state.TimeoutSeconds as number | undefined;
    if (seconds !== undefined && seconds <= fn.timeoutSeconds)
      throw new Error(
        `Task ${name}: its TimeoutSeconds (${seconds}) would end it before its function's timeout (${fn.timeoutSeconds} s), which the local run does not play`,
      );
  }
}

function objectNameOf(input: unknown): string | undefined {
  const plan = (input as { plan?: { objectName?: string } } | undefined)?.plan;
  return plan?.objectName;
}

/**
 * Runs one execution through aws-local-stepfunctions with the real handlers, playing the
 * Distributed Maps itself (distributed-map.ts) and counting its history as AWS would.
 */
export async function runExecution(
  machine: LocalStateMachine,
  input: unknown,
  run: ExecutionRun,
): Promise<ExecutionOutcome> {
  const { assembly, handlers } = machine;
  // The library would sleep a Wait state's seconds in real time; the pipeline has none.
  const wait = [...walkStates(assembly.definition)].find(({ state }) => state.Type === 'Wait');
  if (wait) throw new Error(`Wait state ${wait.name}: the local run plays no Wait state in simulated time`);
  refuseTaskTimeoutsNotPlayed(assembly);
  const forLibrary = definitionForLibrary(assembly.definition, assembly.tokenTasks);
  const distributedMaps = forLibrary.distributedMaps;
  const definition = run.redrive
    ? { ...forLibrary.definition, StartAt: run.redrive.failedAt.stateName }
    : forLibrary.definition;
  // A redrive starts mid-definition: the states before it are unreachable, by design.
  const library = new StateMachine(definition as never, {
    validationOptions: run.redrive ? { noValidate: true } : { checkPaths: false },
  });
  // Retries go at once in real time; their backoff passes in simulated time (observe, below).
  const instant = Object.fromEntries(
    [...Object.keys(handlers), ...Object.keys(forLibrary.distributedMaps)].map((name) => [name, 0]),
  );
  // aws-local-stepfunctions 3 overwrites the context's Execution.StartTime with the wall
  // clock; AWS would hand the steps the execution's (here: simulated) start time.
  const startTime = run.startTime.toISOString();
  const withStartTime = Object.fromEntries(
    Object.entries(handlers).map(([name, handler]) => [
      name,
      async (event: unknown) => {
        await retryObserved();
        const invoke = () => handler(replaceExecutionStartTime(event, startTime));
        return machine.enforcePayloadLimit ? withinPayloadLimit(name, event, invoke) : invoke();
      },
    ]),
  );
  const context: MapContext = {
    Execution: {
      Id: localExecutionArn(run.executionName),
      Name: run.executionName,
      StartTime: startTime,
      Input: run.redrive ? run.redrive.input : input,
      RoleArn: 'arn:aws:iam::000000000000:role/local',
    },
    StateMachine: {
      Id: 'arn:aws:states:eu-west-1:000000000000:stateMachine:saas-to-redshift-local',
      Name: 'saas-to-redshift-local',
    },
    // aws-local-stepfunctions has no task tokens: the token task's handler puts in a fresh one.
    Task: { Token: 'local-task-token-placeholder' },
  };
  const childOverrides = {
    taskResourceLocalHandlers: withStartTime as never,
    retryIntervalOverrides: instant,
  };
  const mapRuns: Record<string, MapRunState> = { ...run.redrive?.mapRuns };
  const timeline = currentTimeline();

  let stateTransitions = 0;
  const childStateTransitions = new Map<number, number>();
  let lambdaInvocations = 0;
  let summary: RunReportSummary | undefined;
  let failure: string | undefined;
  const history = new ExecutionHistory(assembly.definition, assembly.tokenTasks);
  let lastEntered: ExecutionOutcome['failedAt'];
  /** Every event of the parent (child undefined) and of each child execution, on its timeline. */
  const observe = (event: StateEvent, child?: number, on = timeline) => {
    if (child === undefined) history.observe(event);
    else history.observeChild(child, event);
    // The parent's states run one at a time: the last one entered is where a failure happened. Its
    // type is the definition's (the library runs a Distributed Map as a Task).
    if (child === undefined && event.type === 'StateEntered' && event.state) {
      const stateType = assembly.definition.States[event.state.name]?.Type ?? event.state.type;
      lastEntered = { stateName: event.state.name, stateType, input: event.state.input };
    }
    if (event.type === 'StateRetried' && event.retry && on)
      on.advanceTo(on.now() + retryBackoffMs(event.retry.retrier, event.retry.attempt));
    if (event.type === 'StateEntered' && event.state) {
      stateTransitions++;
      if (child !== undefined) childStateTransitions.set(child, (childStateTransitions.get(child) ?? 0) + 1);
      if (event.state.type === 'Task' && !distributedMaps[event.state.name]) {
        lambdaInvocations++;
        const objectName = objectNameOf(event.state.input);
        if (objectName) run.onStep(objectName, event.state.name);
      }
    } else if (event.type === 'StateRetried') {
      lambdaInvocations++;
    } else if (child === undefined && event.type === 'StateExited' && event.state?.name === 'ReportRun') {
      summary = event.state.output as RunReportSummary;
    } else if (child === undefined && event.type === 'StateFailed' && !failure) {
      failure = `${event.state?.name}: ${event.Error}: ${event.Cause}`;
    }
  };

  const mapHandlers = distributedMapHandlers(distributedMaps, {
    overrides: childOverrides,
    context,
    storage: machine.storage,
    now: machine.now,
    onChildEvent: (index, event: StateEvent, childTimeline) => observe(event, index, childTimeline),
    mapRuns,
    redriveMapRuns: { ...run.redrive?.mapRuns },
  });

  const afterRetries = Object.fromEntries(
    Object.entries(mapHandlers).map(([name, handler]) => [
      name,
      async (event: unknown) => {
        await retryObserved();
        return handler(event);
      },
    ]),
  );
  const execution = library.run(input as never, {
    overrides: {
      ...childOverrides,
      taskResourceLocalHandlers: { ...withStartTime, ...afterRetries } as never,
    },
    context: context as never,
  });
  const collect = (async () => {
    for await (const event of execution.eventLogs as AsyncIterable<StateEvent>) observe(event);
  })();
  let status: ExecutionOutcome['status'] = 'SUCCEEDED';
  let error: string | undefined;
  try {
    await execution.result;
  } catch (caught) {
    status = 'FAILED';
    const failed = caught as { name?: string; message?: string; cause?: unknown };
    error = failed.message ?? String(caught);
  }
  await collect;
  const figures = history.figures();
  const overLimit = machine.enforcePayloadLimit && figures.dataLimitExceeded !== undefined;
  if (overLimit) {
    status = 'FAILED';
    error = figures.dataLimitExceeded;
  }
  return {
    status,
    report: overLimit || !summary ? undefined : machine.readReport(summary),
    error: status === 'FAILED' ? (error ?? failure) : undefined,
    stateTransitions,
    childStateTransitions: [...childStateTransitions].sort(([a], [b]) => a - b).map(([, count]) => count),
    lambdaInvocations,
    history: figures,
    ...(status === 'FAILED' && lastEntered ? { failedAt: lastEntered } : {}),
    mapRuns,
  };
}

/**
 * The library announces a retry (StateRetried) just before it calls the Task's handler again: one
 * turn of the event loop lets `observe` hear it and move the timeline on by the retry's backoff
 * before the attempt reads the time.
 */
function retryObserved(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Where RedriveExecution would resume the day's failed execution (a failed Distributed Map: its
 * Map Run, whose unsuccessful children only run again). A run that ended in its Fail state (objects
 * failed, each caught and reported by its child) has nothing to redo there: the local run refuses,
 * and the report's rerun input (`{"objects": [...]}`) starts a new execution.
 */
export function redrivePoint(previous: AttemptedExecution): RedriveFrom {
  const { outcome } = previous;
  if (outcome?.status !== 'FAILED' || !outcome.failedAt) {
    throw new Error(
      `Scenario: "redrive" needs the previous day's execution to have failed (${previous.executionName} ${outcome?.status ?? 'did not run'})`,
    );
  }
  if (outcome.failedAt.stateType === 'Fail') {
    throw new Error(
      `Scenario: ${previous.executionName} ended in its Fail state ${outcome.failedAt.stateName}: a redrive would fail there again; rerun the failed objects with a new execution`,
    );
  }
  return { input: previous.input, failedAt: outcome.failedAt, mapRuns: outcome.mapRuns };
}

/** The `execution.startTime` a step received from `$$.Execution.StartTime`, set to the run's start. */
function replaceExecutionStartTime(event: unknown, startTime: string): unknown {
  const execution = (event as { execution?: { startTime?: string } } | null)?.execution;
  if (!execution || typeof execution.startTime !== 'string') return event;
  return { ...(event as object), execution: { ...execution, startTime } };
}
