import { randomUUID } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';
import type { StateDefinition } from './definition';
import { currentTimeline, onTimeline, Timeline } from './simulated-time';

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

/** How one child execution ended (its history is the runner's business). */
export type ChildOutcome =
  | { status: 'SUCCEEDED'; output: unknown }
  | { status: 'FAILED'; error: string; cause: string };

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
  /** Runs one child execution of the ItemProcessor with this input. */
  runChild(child: { index: number; input: unknown; executionArn: string }): Promise<ChildOutcome>;
  /** When children start and stop (the simulated clock). @default the wall clock */
  now?: () => Date;
}

/** What the library needs to run a child: the overrides the parent runs with. */
export interface ChildRunOptions {
  /** The parent's overrides (local Task handlers, instant waits and retries). */
  overrides: Record<string, unknown>;
  context: MapContext;
  storage: MapStorage;
  now: () => Date;
  /** Each event of the child execution for item `index`. */
  onChildEvent: (index: number, event: never) => void;
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
      const childMachine = new StateMachine(processor as never, { validationOptions: { noValidate: true } });
      const runChild = async (child: {
        index: number;
        input: unknown;
        executionArn: string;
      }): Promise<ChildOutcome> => {
        // Each child runs on a timeline of its own, from the parent's time when it starts.
        const parent = currentTimeline();
        const timeline = new Timeline(parent?.now() ?? options.now().getTime());
        try {
          return await onTimeline(timeline, () => runOneChild(child, timeline));
        } finally {
          // The Map ends when its last child does.
          parent?.advanceTo(timeline.now());
        }
      };
      const runOneChild = async (
        child: { index: number; input: unknown; executionArn: string },
        timeline: Timeline,
      ): Promise<ChildOutcome> => {
        const execution = childMachine.run(child.input as never, {
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
        const events = (async () => {
          for await (const event of execution.eventLogs) options.onChildEvent(child.index, event as never);
        })();
        try {
          return { status: 'SUCCEEDED', output: await execution.result };
        } catch (caught) {
          // The library wraps what failed the execution: its name is the error, its message the cause.
          const failed = ((caught as { cause?: unknown }).cause ?? caught) as {
            name?: string;
            message?: string;
            cause?: unknown;
          };
          const cause = typeof failed.cause === 'string' ? failed.cause : (failed.message ?? String(failed));
          return { status: 'FAILED', error: failed.name ?? 'States.Runtime', cause };
        } finally {
          await events;
        }
      };
      const handler = (input: unknown) =>
        runDistributedMap(
          { stateName, state, context, storage: options.storage, runChild, now: options.now },
          input,
        );
      return [stateName, handler];
    }),
  );
}

/** States' errors of a Map Run, as Step Functions names them. */
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
      throw new MapRunError('States.Runtime', `The items of ${run.stateName} are not an array`);
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
interface ChildRecord {
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
 * MaxConcurrency at once), fails with States.ExceedToleratedFailureThreshold when more children
 * failed than tolerated, and with a ResultWriter writes `SUCCEEDED_0.json`, `FAILED_0.json` and
 * `manifest.json` under `<Prefix>/<map run id>/` and returns `{ MapRunArn, ResultWriterDetails }`.
 */
export async function runDistributedMap(run: DistributedMapRun, input: unknown): Promise<unknown> {
  const { state, context } = run;
  const now = run.now ?? (() => new Date());
  const items = await readItems(run, input);
  if (items.length === 0) {
    // AWS does not document what a Map Run over no items writes (its ResultWriter manifest):
    // the local run refuses it rather than guess, so the definition must skip an empty Map.
    throw new MapRunError(
      'States.Runtime',
      `${run.stateName}: a Distributed Map over zero items; AWS does not document its ResultWriter output, skip the Map when the plan is empty`,
    );
  }
  const label = typeof state.Label === 'string' ? state.Label : run.stateName;
  const [, , , region, account] = context.StateMachine.Id.split(':');
  const mapRunId = randomUUID();
  const mapRunArn = `arn:aws:states:${region}:${account}:mapRun:${context.StateMachine.Name}/${label}:${mapRunId}`;
  const childMachineArn = `${context.StateMachine.Id}/${label}`;

  const records: ChildRecord[] = new Array(items.length);
  const outputs: unknown[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      const childInput = state.ItemSelector
        ? await evaluate(state.ItemSelector, input, {
            ...context,
            Map: { Item: { Index: index, Value: items[index] } },
          })
        : items[index];
      const name = randomUUID();
      const executionArn = `arn:aws:states:${region}:${account}:execution:${context.StateMachine.Name}/${label}:${name}`;
      const startDate = now().toISOString();
      const outcome = await run.runChild({ index, input: childInput, executionArn });
      const common = {
        ExecutionArn: executionArn,
        Input: JSON.stringify(childInput),
        InputDetails: { Included: true },
        Name: name,
        RedriveCount: 0,
        StartDate: startDate,
        StateMachineArn: childMachineArn,
        StopDate: now().toISOString(),
      };
      outputs[index] = outcome.status === 'SUCCEEDED' ? outcome.output : undefined;
      records[index] =
        outcome.status === 'SUCCEEDED'
          ? {
              ...common,
              Output: JSON.stringify(outcome.output),
              OutputDetails: { Included: true },
              RedriveStatus: 'NOT_REDRIVABLE',
              RedriveStatusReason: 'Execution is SUCCEEDED and cannot be redriven',
              Status: 'SUCCEEDED',
            }
          : {
              ...common,
              Error: outcome.error,
              Cause: outcome.cause,
              RedriveStatus: 'REDRIVABLE',
              Status: 'FAILED',
            };
    }
  };
  const concurrency = Number(state.MaxConcurrency) > 0 ? Number(state.MaxConcurrency) : items.length;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));

  const failed = records.filter((record) => record.Status !== 'SUCCEEDED');
  const result = state.ResultWriter ? await writeResults(run, input, mapRunArn, mapRunId, records) : outputs;
  if (exceedsToleratedFailures(state, failed.length, items.length)) {
    throw new MapRunError(
      'States.ExceedToleratedFailureThreshold',
      `The specified tolerated failure threshold was exceeded: ${failed.length} of ${items.length} child executions failed (${failed[0].Error}: ${failed[0].Cause})`,
    );
  }
  return result;
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
