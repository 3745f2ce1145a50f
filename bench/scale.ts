import { PAYLOAD_LIMIT_BYTES } from '../local/runner/execution-history';
import { type DayReport, runScenario } from '../local/runner/run-scenario';
import type { Scenario } from '../local/runner/scenario';
import { type CostFigures, costPer1000ObjectDays, pollsCoveringMinutes } from './orchestration';
import { type Progress, seconds, silentProgress } from './progress';
import { generatedScenario } from './scenarios';

/**
 * Scale (issue 13): execution history as AWS counts it (the local run's `historyEvents`) and
 * the largest state payload, for many objects and for long flows. Flow length is simulated
 * (`flowRunMinutes`): the local run ends the flow's run when its simulated minutes are up.
 */

const SCALE_TARGETS = {
  parentHistory: 100,
  maxPayloadBytes: 64 * 1024,
  childHistory: 60,
  transitionsPerObject: 12,
} as const;

export interface ScaleOptions {
  /** Object counts of the parent-history runs (flows done on the first poll). @default [10, 100] */
  objectCounts?: number[];
  /** Objects of the wide run, whose rows list `wideFields` fields. @default 100 */
  wideObjects?: number;
  /** @default 100 */
  wideFields?: number;
  /** Flow lengths of the child-history runs, in minutes. @default [2, 30, 360] */
  flowMinutes?: number[];
  /** Objects per flow-length run. @default 5 */
  flowObjects?: number;
  /** The long local run: objects × 6-hour flows × 2 days (the issue: 1,000). @default 20 */
  longObjects?: number;
  /** @default 500 */
  assumedLambdaMs?: number;
  progress?: Progress;
}

export interface ObjectCountFigures {
  objects: number;
  /** As AWS would end the run: FAILED (States.DataLimitExceeded) over 256 KB. */
  executionStatus: string;
  fieldsPerRow: number | null;
  parentHistory: number;
  maxChildHistory: number;
  maxPayloadBytes: number;
  wallMs: number;
}

export interface FlowLengthFigures {
  flowMinutes: number;
  objects: number;
  maxChildHistory: number;
  transitionsPerObject: number;
  /** Every Lambda invocation per object: the steps' and the event rules' (end-of-run handler, sweep). */
  invocationsPerObject: number;
  costPer1000ObjectDays: CostFigures;
  /** The polling design this replaced (issue 13's "today"): 3 transitions and 1 invocation per poll. */
  polling: { polls: number; transitionsPerObject: number; costPer1000ObjectDays: CostFigures };
}

export interface ScaleFigures {
  objectRuns: ObjectCountFigures[];
  flowRuns: FlowLengthFigures[];
  longRun: { objects: number; flowMinutes: number; days: number; wallMs: number; statuses: string[] };
  targets: typeof SCALE_TARGETS;
}

function succeeded(label: string, days: DayReport[]): void {
  for (const day of days) {
    const failed = Object.entries(day.objects).filter(([, object]) => object.status !== 'SUCCEEDED');
    if (day.executionStatus !== 'SUCCEEDED' || failed.length > 0)
      throw new Error(
        `${label}: ${day.executionName} ${day.executionStatus} (${failed.map(([n]) => n).join(', ')}) ${day.error ?? ''}`,
      );
  }
}

/** A generated scenario whose rows list `fields` fields (the declared ones plus text fields). */
function wideScenario(objects: number, fields: number): Scenario {
  const scenario = generatedScenario({ objects, rows: 2, days: 1 });
  const extra = Array.from({ length: Math.max(0, fields - 8) }, (_, n) => ({
    name: `Extra${String(n + 1).padStart(3, '0')}__c`,
    type: 'string' as const,
  }));
  for (const row of scenario.objects) {
    const name = String(row.objectName);
    const source = scenario.sourceObjects?.[name];
    if (!source) continue;
    source.fields = [...source.fields, ...extra];
    row.fields = ['Id', ...source.fields.map((field) => field.name)].slice(0, fields);
  }
  return scenario;
}

function withFlowMinutes(scenario: Scenario, minutesByDay: number[]): Scenario {
  const names = scenario.objects.map((row) => String(row.objectName));
  return {
    ...scenario,
    days: scenario.days.map((day, index) => ({
      ...day,
      flowRunMinutes: Object.fromEntries(names.map((name) => [name, minutesByDay[index] ?? 0])),
    })),
  };
}

export async function benchScale(options: ScaleOptions = {}): Promise<ScaleFigures> {
  const progress = options.progress ?? silentProgress;
  const lambdaMs = options.assumedLambdaMs ?? 500;
  const objectRuns: ObjectCountFigures[] = [];
  const measureObjects = async (objects: number, fields: number | null) => {
    const label = `${objects} objects${fields ? ` with ${fields}-field rows` : ''}`;
    const scenario = fields
      ? wideScenario(objects, fields)
      : generatedScenario({ objects, rows: 2, days: 1 });
    const started = performance.now();
    // Not enforced here, so the run reaches the Map and its results: the payload measured is the whole
    // run's; a run over 256 KB is reported as the DataLimitExceeded failure AWS would end it with.
    const result = await progress.step(`local run: ${label}`, () =>
      runScenario(scenario, { enforcePayloadLimit: false }),
    );
    succeeded(label, result.report.days);
    const day = result.report.days[0];
    const overLimit = day.maxPayloadBytes > PAYLOAD_LIMIT_BYTES;
    objectRuns.push({
      objects,
      executionStatus: overLimit ? 'FAILED (States.DataLimitExceeded)' : day.executionStatus,
      fieldsPerRow: fields,
      parentHistory: day.historyEvents.parent,
      maxChildHistory: day.historyEvents.maxChild,
      maxPayloadBytes: day.maxPayloadBytes,
      wallMs: performance.now() - started,
    });
  };
  for (const objects of options.objectCounts ?? [10, 100]) await measureObjects(objects, null);
  await measureObjects(options.wideObjects ?? 100, options.wideFields ?? 100);

  // One local run, one day per flow length: every object's flow takes that day's minutes.
  const flowMinutes = options.flowMinutes ?? [2, 30, 360];
  const flowObjects = options.flowObjects ?? 5;
  const flowScenario = withFlowMinutes(
    generatedScenario({ objects: flowObjects, rows: 2, days: flowMinutes.length }),
    flowMinutes,
  );
  const flowResult = await progress.step(
    `local run: ${flowObjects} objects, flows of ${flowMinutes.join(', ')} minutes`,
    () => runScenario(flowScenario),
  );
  succeeded('flow lengths', flowResult.report.days);
  const flowRuns = flowResult.report.days.map((day, index): FlowLengthFigures => {
    const transitionsPerObject = day.stats.stateTransitions / flowObjects;
    const stepInvocationsPerObject = day.stats.lambdaInvocations / flowObjects;
    const invocationsPerObject = stepInvocationsPerObject + day.stats.eventInvocations / flowObjects;
    // Polling: StartExtract, P × (Wait, PollFlow, FlowFinished?) where the token wait is AwaitFlowRun + FlowFinished?;
    // P PollFlow invocations instead of AwaitFlowRun's, and no event rule invoked anything.
    const polls = pollsCoveringMinutes(flowMinutes[index]);
    const pollingTransitions = transitionsPerObject - 2 + 3 * polls;
    const pollingInvocations = stepInvocationsPerObject - 1 + polls;
    return {
      polling: {
        polls,
        transitionsPerObject: pollingTransitions,
        costPer1000ObjectDays: costPer1000ObjectDays(pollingTransitions, pollingInvocations, lambdaMs),
      },
      flowMinutes: flowMinutes[index],
      objects: flowObjects,
      maxChildHistory: day.historyEvents.maxChild,
      transitionsPerObject,
      invocationsPerObject,
      costPer1000ObjectDays: costPer1000ObjectDays(transitionsPerObject, invocationsPerObject, lambdaMs),
    };
  });

  const longObjects = options.longObjects ?? 20;
  const longScenario = withFlowMinutes(
    generatedScenario({ objects: longObjects, rows: 2, days: 2 }),
    [360, 360],
  );
  const longStarted = performance.now();
  const longResult = await progress.step(`local run: ${longObjects} objects × 6-hour flows × 2 days`, () =>
    runScenario(longScenario),
  );
  const longWallMs = performance.now() - longStarted;
  progress.note(`long run: ${seconds(longWallMs)}`);
  return {
    objectRuns,
    flowRuns,
    longRun: {
      objects: longObjects,
      flowMinutes: 360,
      days: 2,
      wallMs: longWallMs,
      statuses: longResult.report.days.map((day) => day.executionStatus),
    },
    targets: SCALE_TARGETS,
  };
}
