import { randomUUID } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';
import type { StateDefinition } from './definition';
import { currentTimeline, onTimeline, Timeline } from './simulated-time';
import { statesRuntimeError } from './task-failure';

/*
 * aws-local-stepfunctions 3 runs a DISTRIBUTED Map as an inline one. The runner hands the library
 * a Task in each Distributed Map's place (definition.ts: definitionForLibrary) and plays the Map
 * itself (runDistributedMap): items read from S3, each item a child execution of its own, results
 * written to S3 in AWS's format, and the Map's output what AWS returns.
 */

/** The context object parts a Map's paths may read (`$$.Execution.Name`, `$$.Map.Item.Value`). */
export interface MapContext {
  Execution: { Id: string; Name: string; StartTime: string; Input: unknown; RoleArn?: string };
  StateMachine: { Id: string; Name: string };
  /** `$$.Task.Token` (a placeholder the token task's handler replaces with a fresh token). */
  Task?: { Token: string };
}

/** Where a failed child stopped: the state it failed in, with that state's input (where a redrive resumes it). */
export interface ChildFailurePoint {
  stateName: string;
  input: unknown;
}

/** How one child execution ended (its history is the runner's business). */
export type ChildOutcome =
  | { status: 'SUCCEEDED'; output: unknown }
  | { status: 'FAILED'; error: string; cause: string; failedAt?: ChildFailurePoint };

/** What the Map Run asks of one child execution; `redrive` continues a failed one from where it failed. */
export interface ChildRequest {
  index: number;
  input: unknown;
  executionArn: string;
  /** The child's own timeline, from when its slot of MaxConcurrency became free (simulated). */
  timeline: Timeline;
  redrive?: ChildFailurePoint;
}

/** One child of a Map Run as the Map Run keeps it: what a redrive of the parent continues. */
export interface MapRunChild {
  record: ChildRecord;
  input: unknown;
  output?: unknown;
  failedAt?: ChildFailurePoint;
}

/**
 * A Map Run as an attempt of the parent left it. RedriveExecution of the parent continues the same
 * Map Run: its children that succeeded are not run again, the others are redriven from where they
 * failed (a Standard child is redriven, not restarted).
 */
export interface MapRunState {
  mapRunId: string;
  mapRunArn: string;
  children: MapRunChild[];
}

/** Step Functions' own S3 calls for the Map, signed as the state machine's role. */
export interface MapStorage {
  getObject(bucket: string, key: string): Promise<string>;
  putObject(bucket: string, key: string, body: string): Promise<void>;
}

export interface DistributedMapRun {
  stateName: string;
  state: StateDefinition;
  context: MapContext;
  storage: MapStorage;
  /** Runs one child execution of the ItemProcessor with this input, on its timeline. */
  runChild(child: ChildRequest): Promise<ChildOutcome>;
  /** When the Map Run starts (epoch ms, simulated). @default the wall clock */
  startMs?: number;
  /** The Map Run a failed attempt of the parent left (a redrive continues it). @default none: a new Map Run */
  previous?: MapRunState;
  /** Hears the Map Run as this attempt leaves it, once its children ended. */
  onMapRun?: (mapRun: MapRunState) => void;
}

/** What the library needs to run a child: the overrides the parent runs with. */
export interface ChildRunOptions {
  /** The parent's overrides (local Task handlers, instant retries). */
  overrides: Record<string, unknown>;
  context: MapContext;
  storage: MapStorage;
  now: () => Date;
  /** Each event of the child execution for item `index`, with the child's timeline. */
  onChildEvent: (index: number, event: never, timeline: Timeline) => void;
  /**
   * The Map Runs of the execution by state name: each Map Run is left here for a redrive of this
   * attempt. @default none
   */
  mapRuns?: Record<string, MapRunState>;
  /**
   * A redrive's failed Map Runs by state name: the first run of that state in this attempt continues
   * its Map Run; any later one (a Retry, a loop back) starts a new Map Run, as Step Functions does.
   * Taken out as used. @default none
   */
  redriveMapRuns?: Record<string, MapRunState>;
}

/**
 * The library's Task handlers that play the definition's Distributed Maps: each child is its own
 * library run of the ItemProcessor (own events, own context), with the parent's overrides.
 */
export function distributedMapHandlers(
  distributedMaps: Record<string, StateDefinition>,
  options: ChildRunOptions,
): Record<string, (input: unknown) => Promise<unknown>> {
  const { context } = options;
  return Object.fromEntries(
    Object.entries(distributedMaps).map(([stateName, state]) => {
      const processor = state.ItemProcessor ?? state.Iterator;
      const childMachine = (startAt?: string) =>
        new StateMachine((startAt ? { ...processor, StartAt: startAt } : processor) as never, {
          validationOptions: { noValidate: true },
        });
      const fromStart = childMachine();
      const runChild = async (child: ChildRequest): Promise<ChildOutcome> => {
        // Each child runs on a timeline of its own, from when its slot became free.
        const parent = currentTimeline();
        try {
          return await onTimeline(child.timeline, () => runOneChild(child, child.timeline));
        } finally {
          // The Map ends when its last child does.
          parent?.advanceTo(child.timeline.now());
        }
      };
      const runOneChild = async (child: ChildRequest, timeline: Timeline): Promise<ChildOutcome> => {
        // A redriven child goes on from the state it failed in, with that state's input.
        const machine = child.redrive ? childMachine(child.redrive.stateName) : fromStart;
        const execution = machine.run((child.redrive ? child.redrive.input : child.input) as never, {
          overrides: options.overrides as never,
          context: {
            Execution: {
              Id: child.executionArn,
              Name: child.executionArn.split(':').pop() as string,
              StartTime: new Date(timeline.now()).toISOString(),
              Input: child.input as never,
              RoleArn: context.Execution.RoleArn,
            },
            StateMachine: {
              Id: `${context.StateMachine.Id}/${stateName}`,
              Name: `${context.StateMachine.Name}/${stateName}`,
            },
            ...(context.Task ? { Task: context.Task } : {}),
          } as never,
        });
        // A child's states run one at a time: the last one entered is where a failure happened.
        let lastEntered: ChildFailurePoint | undefined;
        const events = (async () => {
          for await (const event of execution.eventLogs) {
            const entered = event as { type: string; state?: { name: string; input?: unknown } };
            if (entered.type === 'StateEntered' && entered.state)
              lastEntered = { stateName: entered.state.name, input: entered.state.input };
            options.onChildEvent(child.index, event as never, timeline);
          }
        })();
        let outcome: ChildOutcome;
        try {
          outcome = { status: 'SUCCEEDED', output: await execution.result };
        } catch (caught) {
          // The library wraps what failed the execution: its name is the error, its message the cause.
          const failed = ((caught as { cause?: unknown }).cause ?? caught) as {
            name?: string;
            message?: string;
            cause?: unknown;
          };
          const cause = typeof failed.cause === 'string' ? failed.cause : (failed.message ?? String(failed));
          outcome = { status: 'FAILED', error: failed.name ?? 'States.Runtime', cause };
        }
        await events;
        return outcome.status === 'FAILED' && lastEntered ? { ...outcome, failedAt: lastEntered } : outcome;
      };
      const handler = (input: unknown) => {
        const previous = options.redriveMapRuns?.[stateName];
        if (previous) delete options.redriveMapRuns?.[stateName];
        return runDistributedMap(
          {
            stateName,
            state,
            context,
            storage: options.storage,
            runChild,
            startMs: currentTimeline()?.now() ?? options.now().getTime(),
            previous,
            onMapRun: (mapRun) => {
              if (options.mapRuns) options.mapRuns[stateName] = mapRun;
            },
          },
          input,
        );
      };
      return [stateName, handler];
    }),
  );
}

/** States' errors of a Map Run, as Step Functions names them (States.Runtime is statesRuntimeError: never caught). */
export class MapRunError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** A payload template (`Parameters`, `ItemSelector`) evaluated as the library evaluates it: paths, intrinsics, context. */
async function evaluate(
  template: unknown,
  input: unknown,
  context: object,
): Promise<Record<string, unknown>> {
  const machine = new StateMachine(
    { StartAt: 'Evaluate', States: { Evaluate: { Type: 'Pass', Parameters: template, End: true } } } as never,
    { validationOptions: { noValidate: true } },
  );
  return (await machine.run(input as never, { context: context as never }).result) as Record<string, unknown>;
}

async function readItems(run: DistributedMapRun, input: unknown): Promise<unknown[]> {
  const reader = run.state.ItemReader as
    | { Resource?: string; ReaderConfig?: { InputType?: string }; Parameters?: unknown }
    | undefined;
  if (!reader) {
    const items = await evaluate({ 'items.$': run.state.ItemsPath ?? '$' }, input, run.context);
    if (!Array.isArray(items.items)) {
      throw statesRuntimeError(`The items of ${run.stateName} are not an array`);
    }
    return items.items;
  }
  if (!reader.Resource?.endsWith(':s3:getObject') || reader.ReaderConfig?.InputType !== 'JSON') {
    throw new Error(`${run.stateName}: the local run reads items only from a JSON file (s3:getObject)`);
  }
  const { Bucket, Key } = await evaluate(reader.Parameters, input, run.context);
  let items: unknown;
  try {
    items = JSON.parse(await run.storage.getObject(String(Bucket), String(Key)));
  } catch (error) {
    throw new MapRunError(
      'States.ItemReaderFailed',
      `${run.stateName}: s3://${Bucket}/${Key}: ${(error as Error).message}`,
    );
  }
  if (!Array.isArray(items)) {
    throw new MapRunError(
      'States.ItemReaderFailed',
      `${run.stateName}: s3://${Bucket}/${Key} holds no JSON array`,
    );
  }
  return items;
}

/** A child execution as a ResultWriter file lists it (DescribeExecution's fields, PascalCase). */
export interface ChildRecord {
  ExecutionArn: string;
  Input: string;
  InputDetails: { Included: boolean };
  Name: string;
  Output?: string;
  OutputDetails?: { Included: boolean };
  Error?: string;
  Cause?: string;
  RedriveCount: number;
  RedriveStatus: string;
  RedriveStatusReason?: string;
  StartDate: string;
  StateMachineArn: string;
  Status: string;
  StopDate: string;
}

/**
 * One Distributed Map state as Step Functions runs it: reads the items (ItemReader or
 * ItemsPath), starts a child execution per item with the ItemSelector's input (at most
 * MaxConcurrency at once: each slot starts its next child when its last one stopped, in simulated
 * time), fails with States.ExceedToleratedFailureThreshold when more children failed than
 * tolerated, and with a ResultWriter writes `SUCCEEDED_0.json`, `FAILED_0.json` and
 * `manifest.json` under `<Prefix>/<map run id>/` and returns `{ MapRunArn, ResultWriterDetails }`.
 * Continuing a failed attempt's Map Run (`previous`, a redrive), it redrives only the children
 * that did not succeed, each from the state it failed in, and writes the results of all.
 */
export async function runDistributedMap(run: DistributedMapRun, input: unknown): Promise<unknown> {
  const { state, context, previous } = run;
  const startMs = run.startMs ?? Date.now();
  const label = typeof state.Label === 'string' ? state.Label : run.stateName;
  const [, , , region, account] = context.StateMachine.Id.split(':');
  const childMachineArn = `${context.StateMachine.Id}/${label}`;
  const mapRunId = previous?.mapRunId ?? randomUUID();
  const mapRunArn =
    previous?.mapRunArn ??
    `arn:aws:states:${region}:${account}:mapRun:${context.StateMachine.Name}/${label}:${mapRunId}`;
  const children: MapRunChild[] = previous ? [...previous.children] : [];
  let toRun: { index: number; input: unknown; name: string; before?: MapRunChild }[];
  if (previous) {
    toRun = previous.children.flatMap((child, index) =>
      child.record.Status === 'SUCCEEDED'
        ? []
        : [{ index, input: child.input, name: child.record.Name, before: child }],
    );
  } else {
    const items = await readItems(run, input);
    if (items.length === 0) {
      // AWS does not document what a Map Run over no items writes (its ResultWriter manifest):
      // the local run refuses it rather than guess, so the definition must skip an empty Map.
      throw statesRuntimeError(
        `${run.stateName}: a Distributed Map over zero items; AWS does not document its ResultWriter output, skip the Map when the plan is empty`,
      );
    }
    toRun = [];
    for (const [index, item] of items.entries()) {
      const childInput = state.ItemSelector
        ? await evaluate(state.ItemSelector, input, {
            ...context,
            Map: { Item: { Index: index, Value: item } },
          })
        : item;
      toRun.push({ index, input: childInput, name: randomUUID() });
    }
  }

  const runOne = async (child: (typeof toRun)[number], timeline: Timeline) => {
    const { index, input: childInput, name, before } = child;
    const executionArn = `arn:aws:states:${region}:${account}:execution:${context.StateMachine.Name}/${label}:${name}`;
    const startMs = timeline.now();
    const outcome = await run.runChild({
      index,
      input: childInput,
      executionArn,
      timeline,
      ...(before?.failedAt ? { redrive: before.failedAt } : {}),
    });
    children[index] = mapRunChild(outcome, childInput, {
      ExecutionArn: executionArn,
      Input: JSON.stringify(childInput),
      InputDetails: { Included: true },
      Name: name,
      RedriveCount: before ? before.record.RedriveCount + 1 : 0,
      // A redriven child keeps its first start; it stops when its last attempt does.
      StartDate: before?.record.StartDate ?? new Date(startMs).toISOString(),
      StateMachineArn: childMachineArn,
      StopDate: new Date(timeline.now()).toISOString(),
    });
  };
  const concurrency = Number(state.MaxConcurrency) > 0 ? Number(state.MaxConcurrency) : toRun.length;
  await inSlots(toRun, Math.min(concurrency, toRun.length), startMs, runOne);
  run.onMapRun?.({ mapRunId, mapRunArn, children });

  const records = children.map((child) => child.record);
  const failed = records.filter((record) => record.Status !== 'SUCCEEDED');
  const result = state.ResultWriter
    ? await writeResults(run, input, mapRunArn, mapRunId, records)
    : children.map((child) => child.output);
  if (exceedsToleratedFailures(state, failed.length, records.length)) {
    throw new MapRunError(
      'States.ExceedToleratedFailureThreshold',
      `The specified tolerated failure threshold was exceeded: ${failed.length} of ${records.length} child executions failed (${failed[0].Error}: ${failed[0].Cause})`,
    );
  }
  return result;
}

type CommonChildRecord = Omit<
  ChildRecord,
  'Output' | 'OutputDetails' | 'Error' | 'Cause' | 'RedriveStatus' | 'RedriveStatusReason' | 'Status'
>;

function mapRunChild(ran: ChildOutcome, input: unknown, common: CommonChildRecord): MapRunChild {
  if (ran.status === 'SUCCEEDED') {
    return {
      input,
      output: ran.output,
      record: {
        ...common,
        Output: JSON.stringify(ran.output),
        OutputDetails: { Included: true },
        RedriveStatus: 'NOT_REDRIVABLE',
        RedriveStatusReason: 'Execution is SUCCEEDED and cannot be redriven',
        Status: 'SUCCEEDED',
      },
    };
  }
  return {
    input,
    ...(ran.failedAt ? { failedAt: ran.failedAt } : {}),
    record: { ...common, Error: ran.error, Cause: ran.cause, RedriveStatus: 'REDRIVABLE', Status: 'FAILED' },
  };
}

/**
 * Runs `work` for each item, at most `slots` at once, in simulated time: each slot starts its next
 * item when its last one stopped, and the next item goes to the slot that became free first. The
 * children run side by side in real time, so a slot free at T waits until every running child has
 * reached T (or stopped): one still behind could free its slot earlier, and take the item then.
 */
async function inSlots<T>(
  items: readonly T[],
  slots: number,
  startMs: number,
  work: (item: T, timeline: Timeline) => Promise<void>,
): Promise<void> {
  const free = Array.from({ length: slots }, () => startMs);
  const running = new Set<Timeline>();
  const failures: unknown[] = [];
  // Settles when a child moves on or stops; each wait takes the next one.
  let wake: () => void = () => undefined;
  const changed = () =>
    new Promise<void>((resolve) => {
      wake = resolve;
    });
  let signal = changed();
  const notify = () => {
    const waiting = wake;
    signal = changed();
    waiting();
  };
  const settled: Promise<void>[] = [];
  for (const item of items) {
    for (;;) {
      const earliest = Math.min(...free);
      const behind = [...running].some((timeline) => timeline.now() < earliest);
      if (free.length > 0 && !behind) break;
      await signal;
    }
    const slotFreeAt = Math.min(...free);
    free.splice(free.indexOf(slotFreeAt), 1);
    const timeline = new Timeline(slotFreeAt, notify);
    running.add(timeline);
    settled.push(
      work(item, timeline)
        .catch((error: unknown) => {
          failures.push(error);
        })
        .finally(() => {
          running.delete(timeline);
          free.push(timeline.now());
          notify();
        }),
    );
  }
  await Promise.all(settled);
  if (failures.length > 0) throw failures[0];
}

/**
 * Without ToleratedFailure* no child may fail; with either or both, the Map Run fails as soon as
 * one threshold is exceeded.
 */
function exceedsToleratedFailures(state: StateDefinition, failed: number, total: number): boolean {
  const percent = state.ToleratedFailurePercentage;
  const count = state.ToleratedFailureCount;
  if (percent === undefined && count === undefined) return failed > 0;
  return (
    (percent !== undefined && total > 0 && (100 * failed) / total > Number(percent)) ||
    (count !== undefined && failed > Number(count))
  );
}

async function writeResults(
  run: DistributedMapRun,
  input: unknown,
  mapRunArn: string,
  mapRunId: string,
  records: ChildRecord[],
): Promise<{ MapRunArn: string; ResultWriterDetails: { Bucket: string; Key: string } }> {
  const writer = run.state.ResultWriter as { Resource?: string; Parameters?: unknown };
  if (!writer.Resource?.endsWith(':s3:putObject')) {
    throw new Error(`${run.stateName}: the local run writes results only to S3 (s3:putObject)`);
  }
  const { Bucket, Prefix } = await evaluate(writer.Parameters, input, run.context);
  const bucket = String(Bucket);
  const folder = Prefix ? `${String(Prefix)}/${mapRunId}` : mapRunId;
  const resultFiles: Record<'SUCCEEDED' | 'FAILED' | 'PENDING', { Key: string; Size: number }[]> = {
    FAILED: [],
    PENDING: [],
    SUCCEEDED: [],
  };
  try {
    for (const status of ['SUCCEEDED', 'FAILED'] as const) {
      const entries = records.filter(
        (record) => (status === 'SUCCEEDED') === (record.Status === 'SUCCEEDED'),
      );
      if (entries.length === 0) continue;
      const key = `${folder}/${status}_0.json`;
      const body = JSON.stringify(entries);
      await run.storage.putObject(bucket, key, body);
      resultFiles[status].push({ Key: key, Size: Buffer.byteLength(body) });
    }
    const manifestKey = `${folder}/manifest.json`;
    const manifest = { DestinationBucket: bucket, MapRunArn: mapRunArn, ResultFiles: resultFiles };
    await run.storage.putObject(bucket, manifestKey, JSON.stringify(manifest));
    return { MapRunArn: mapRunArn, ResultWriterDetails: { Bucket: bucket, Key: manifestKey } };
  } catch (error) {
    throw new MapRunError('States.ResultWriterFailed', `${run.stateName}: ${(error as Error).message}`);
  }
}
