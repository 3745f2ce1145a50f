import { IN_FUNCTION_WAIT_MS } from '../lambdas/common/warehouse';
import { type LocalAssembly, loadAssembly, synthesizeLocalStack } from '../local/runner/assembly';
import { timeoutOverruns } from '../local/runner/day-report';
import { localEnvironmentConfig } from '../local/runner/local-config';
import {
  type DayReport,
  DEFAULT_CACHE_DIR,
  type ProgressEvent,
  runScenario,
} from '../local/runner/run-scenario';
import { n1 } from './format';
import { type Progress, seconds, silentProgress } from './progress';
import { generatedScenario } from './scenarios';
import type { TargetLine } from './target-line';

/**
 * Orchestration: local runs of the real state machine with 1, 10 and 50 objects (2-minute
 * flows), and with flows as long as the polling design needed 1, 3 and 10 polls to see
 * finished (0.5, 2 and 27 minutes): children now wait on the flow's end-of-run event. State
 * transitions and the steps' Lambda invocations are counted from the execution's events by the
 * local runner (`DayReport.stats`), with the functions the event rules invoke (the end-of-run and
 * statement-ended handlers, the sweep); the cost they imply follows the list prices below.
 */

/** List prices (the issue's figures; us-east-1 / eu-west-1 list prices, free tiers ignored). */
export const PRICES = {
  /** Step Functions Standard, per state transition. */
  sfnPerTransition: 0.025 / 1000,
  /** Lambda, per request. */
  lambdaPerRequest: 0.2 / 1_000_000,
  /** Lambda arm64, per GB-second. */
  lambdaPerGbSecond: 0.0000133334,
  lambdaMemoryGb: 256 / 1024,
} as const;

const ORCHESTRATION_TARGETS = {
  transitionsPerObject: 12,
  /** Every Lambda invocation: the steps' and the event rules'. */
  invocationsPerObject: 5,
  /** Issue 19: what a 10-minute CALL may add per object, waited on by the state machine. */
  slowCallExtraTransitions: 4,
} as const;

export interface OrchestrationOptions {
  /** Object counts of the executions whose flows finish on the first poll. @default [1, 10, 50] */
  objectCounts?: number[];
  /** Polls until the flow finishes, for the poll sweep. @default [1, 3, 10] */
  pollCounts?: number[];
  /** Objects in the poll-sweep runs. @default 10 */
  pollSweepObjects?: number;
  /** Records per object (the orchestration does not depend on it). @default 20 */
  rowsPerObject?: number;
  /** Assumed average billed duration of one Lambda invocation, for the cost. @default 500 */
  assumedLambdaMs?: number;
  progress?: Progress;
}

export interface RunFigures {
  label: string;
  objects: number;
  /** Polls of each flow until it reported finished. */
  polls: number;
  /** Seconds the state machine has waited on the flow when it polls for the `polls`th time. */
  flowWaitSeconds: number;
  /** The flow's run time those polls cover: more than the previous poll's wait, at most flowWaitSeconds. */
  flowSecondsRange: [number, number];
  /** The execution measured (an incremental run; day 1 of each local run is the initial full load). */
  executionName: string;
  executionStatus: string;
  objectsSucceeded: number;
  stateTransitions: number;
  /** The steps' invocations (Task states), and the functions the event rules invoked. */
  lambdaInvocations: number;
  eventInvocations: number;
  transitionsPerObject: number;
  /** Every Lambda invocation (steps and event targets) per object. */
  invocationsPerObject: number;
  costPer1000ObjectDays: CostFigures;
  /** Wall time of the local run the execution was part of (setup and other executions included). */
  localRunWallMs: number;
}

export interface CostFigures {
  stepFunctions: number;
  lambdaRequests: number;
  lambdaDuration: number;
  total: number;
}

export interface OrchestrationFigures {
  assumptions: {
    prices: typeof PRICES;
    assumedLambdaMs: number;
    lambdaMemoryMb: number;
    architecture: string;
    flowWaitSchedule: readonly number[];
    notes: string[];
  };
  runs: RunFigures[];
  /**
   * From the object sweep: what one more object adds, and what every execution costs once
   * (lambdaInvocations: every invocation, the steps' and the event rules').
   */
  perExecution: { stateTransitions: number; lambdaInvocations: number };
  perObjectMarginal: { stateTransitions: number; lambdaInvocations: number };
  /** Per extra poll of a flow, from the poll sweep (per object). */
  perExtraPoll: { stateTransitions: number; lambdaInvocations: number };
  /** What a fixed 30-second poll would need for the same flows, per object (3 transitions per poll). */
  fixedPollComparison: {
    polls: number;
    flowWaitSeconds: number;
    ourTransitions: number;
    fixed30sPolls: number;
    fixed30sTransitions: number;
  }[];
  targets: typeof ORCHESTRATION_TARGETS;
  met: { label: string; transitions: boolean; invocations: boolean }[];
  /** Issue 19: the same incremental run against a fast and against slow warehouses. */
  slowWarehouse: SlowWarehouseFigures[];
}

/** One incremental execution of the slow-warehouse run: how long statements took, and what that cost. */
export interface SlowWarehouseFigures {
  label: string;
  objects: number;
  stateTransitions: number;
  /** The steps' invocations, and the functions the event rules invoked (the statement-ended handler). */
  lambdaInvocations: number;
  eventInvocations: number;
  transitionsPerObject: number;
  /** Every Lambda invocation (steps and event targets) per object. */
  invocationsPerObject: number;
  /** Against the fast warehouse's execution of the same objects. */
  extraTransitionsPerObject: number;
  extraInvocationsPerObject: number;
  /** The function that ran longest (simulated), its seconds and its template timeout. */
  longestFunction: { logicalId: string; seconds: number; timeoutSeconds: number };
  /** Every function whose longest run reached its template timeout (it was killed there). */
  timeoutOverruns: string[];
  executionStatus: string;
}

/**
 * The polling design flows ended with before issue 13 (Wait, PollFlow, Choice per poll, with
 * lengthening waits): the comparison the bench prints beside the event-driven wait.
 */
export const FLOW_WAIT_SCHEDULE = [30, 30, 60, 60, 120, 120, 300] as const;

/** Seconds waited before the `poll`th poll finishes: the waits the schedule puts before polls 1…poll. */
export function flowWaitSeconds(polls: number): number {
  let total = 0;
  for (let poll = 0; poll < polls; poll++)
    total += FLOW_WAIT_SCHEDULE[Math.min(poll, FLOW_WAIT_SCHEDULE.length - 1)];
  return total;
}

/** Polls of the polling design that cover `minutes` of a flow's run. */
export function pollsCoveringMinutes(minutes: number): number {
  let polls = 1;
  while (flowWaitSeconds(polls) < minutes * 60) polls++;
  return polls;
}

export function costPer1000ObjectDays(
  transitionsPerObject: number,
  invocationsPerObject: number,
  lambdaMs: number,
): CostFigures {
  const stepFunctions = transitionsPerObject * 1000 * PRICES.sfnPerTransition;
  const lambdaRequests = invocationsPerObject * 1000 * PRICES.lambdaPerRequest;
  const lambdaDuration =
    invocationsPerObject * 1000 * (lambdaMs / 1000) * PRICES.lambdaMemoryGb * PRICES.lambdaPerGbSecond;
  return {
    stepFunctions,
    lambdaRequests,
    lambdaDuration,
    total: stepFunctions + lambdaRequests + lambdaDuration,
  };
}

interface Measured {
  label: string;
  objects: number;
  polls: number;
  day: DayReport;
  wallMs: number;
}

function dayProgress(progress: Progress, label: string, labels: string[]) {
  let lastNote = performance.now();
  let dayStarted = performance.now();
  return (event: ProgressEvent) => {
    if (event.type === 'setup') {
      progress.note(`${label}: ${event.message}`);
    } else if (event.type === 'day-started') {
      dayStarted = performance.now();
      progress.note(`${label}: execution ${event.index + 1}/${event.total} (${labels[event.index]}) started`);
    } else if (event.type === 'day-finished') {
      const { stats } = event.day;
      progress.note(
        `${label}: execution ${event.index + 1}/${event.total} ${event.day.executionStatus}: ${stats.stateTransitions} transitions, ${stats.lambdaInvocations} step + ${stats.eventInvocations} event invocations (${seconds(performance.now() - dayStarted)})`,
      );
    } else if (event.type === 'step' && performance.now() - lastNote > 10_000) {
      lastNote = performance.now();
      progress.note(`${label}: … ${event.objectName} ${event.step}`);
    }
  };
}

function checkSucceeded(label: string, days: DayReport[]): void {
  for (const day of days) {
    if (day.executionStatus !== 'SUCCEEDED') {
      throw new Error(`${label}: execution ${day.executionName} ${day.executionStatus}: ${day.error ?? ''}`);
    }
    const notDone = Object.entries(day.objects).filter(([, object]) => object.status !== 'SUCCEEDED');
    if (notDone.length > 0)
      throw new Error(`${label}: ${day.executionName}: ${notDone.map(([n]) => n).join(', ')} not SUCCEEDED`);
  }
}

/**
 * The object sweep in one local run: day 1 loads every object (initial full load), then one
 * incremental execution per object count, narrowed with the execution input `objects`
 * (the operator's rerun input), so each count gets an execution of exactly that many objects.
 */
async function objectSweep(counts: number[], rows: number, progress: Progress): Promise<Measured[]> {
  const total = Math.max(...counts);
  const label = `object sweep (${counts.join(', ')} objects)`;
  const labels = ['initial full load, all objects', ...counts.map((n) => `${n} object${n === 1 ? '' : 's'}`)];
  const scenario = generatedScenario({
    objects: total,
    rows,
    days: counts.length + 1,
    input: (day, names) =>
      day === 0 || counts[day - 1] === total ? {} : { objects: names.slice(0, counts[day - 1]) },
  });
  const started = performance.now();
  const result = await progress.step(`local run: ${label}, 2-minute flows`, () =>
    runScenario(scenario, { onProgress: dayProgress(progress, label, labels) }),
  );
  const wallMs = performance.now() - started;
  checkSucceeded(label, result.report.days);
  const [initial, ...measured] = result.report.days;
  const last = measured[measured.length - 1];
  if (counts[counts.length - 1] === total && initial.stats.stateTransitions !== last.stats.stateTransitions) {
    progress.note(
      `note: the initial full load took ${initial.stats.stateTransitions} transitions, the incremental run of the same objects ${last.stats.stateTransitions}`,
    );
  }
  return counts.map((objects, index) => {
    const day = measured[index];
    const ran = Object.keys(day.objects).length;
    if (ran !== objects)
      throw new Error(`${label}: execution ${index + 2} ran ${ran} objects, expected ${objects}`);
    return {
      label: `${objects} object${objects === 1 ? '' : 's'}, 2-min flows`,
      objects,
      polls: 1,
      day,
      wallMs,
    };
  });
}

/** Flows that finish after `polls` polls: day 1 full load, day 2 (measured) incremental. */
async function pollRun(objects: number, polls: number, rows: number, progress: Progress): Promise<Measured> {
  const label = `${objects} objects, ${flowWaitSeconds(polls) / 60}-min flows (polling: poll ${polls})`;
  const scenario = generatedScenario({ objects, rows, days: 2 });
  // The flow runs as long as the polling design took to see it finish on poll `polls`.
  const minutes = flowWaitSeconds(polls) / 60;
  scenario.days[1].flowRunMinutes = Object.fromEntries(
    scenario.objects.map((row) => [String(row.objectName), minutes]),
  );
  const started = performance.now();
  const result = await progress.step(`local run: ${label}`, () =>
    runScenario(scenario, {
      onProgress: dayProgress(progress, label, ['initial full load', 'incremental (measured)']),
    }),
  );
  checkSucceeded(label, result.report.days);
  return { label, objects, polls, day: result.report.days[1], wallMs: performance.now() - started };
}

const SLOW_WAREHOUSE_DAYS = [
  { label: 'fast warehouse (statements end at once)', statementSeconds: 0, callSeconds: 0 },
  { label: 'the CALL takes 10 minutes', statementSeconds: 0, callSeconds: 600 },
  { label: 'every statement takes 75 s', statementSeconds: 75, callSeconds: undefined },
  { label: 'every statement takes 10 minutes', statementSeconds: 600, callSeconds: undefined },
] as const;

/**
 * Issue 19: one local run, day 1 the initial load, then the same kind of incremental execution
 * against a fast warehouse and against slow ones (simulated statement time: the functions wait
 * within their budget and hand longer waits to the state machine). Counts per object against the
 * fast day, and the longest simulated run of any function against its template timeout.
 */
async function slowWarehouseRuns(
  objects: number,
  rows: number,
  progress: Progress,
  assembly: Pick<LocalAssembly, 'functions'>,
): Promise<SlowWarehouseFigures[]> {
  const label = `slow warehouse (${objects} objects)`;
  const scenario = generatedScenario({ objects, rows, days: SLOW_WAREHOUSE_DAYS.length + 1 });
  SLOW_WAREHOUSE_DAYS.forEach((day, index) => {
    scenario.days[index + 1].statementSeconds = day.statementSeconds;
  });
  let dayIndex = 0;
  const onProgress = dayProgress(progress, label, [
    'initial full load',
    ...SLOW_WAREHOUSE_DAYS.map((d) => d.label),
  ]);
  const result = await progress.step(`local run: ${label}`, () =>
    runScenario(scenario, {
      onProgress: (event) => {
        if (event.type === 'day-started') dayIndex = event.index;
        onProgress(event);
      },
      // Only the CALL is slow on that day; the others take the day's statementSeconds.
      statementSeconds: (sql) =>
        /CALL\s+consolidate_object/i.test(sql) ? SLOW_WAREHOUSE_DAYS[dayIndex - 1]?.callSeconds : undefined,
    }),
  );
  checkSucceeded(label, result.report.days);
  const [, ...measured] = result.report.days;
  return slowWarehouseFigures(
    measured.map((day, index) => ({ label: SLOW_WAREHOUSE_DAYS[index].label, day })),
    objects,
    assembly,
  );
}

/** Every Lambda invocation of a day: its steps' and the functions the event rules invoked. */
const allInvocations = (day: DayReport) => day.stats.lambdaInvocations + day.stats.eventInvocations;

/**
 * The slow-warehouse days against the first (the fast warehouse): per object, what each cost and
 * added, its longest function, and every function that ran to its timeout.
 */
export function slowWarehouseFigures(
  days: { label: string; day: DayReport }[],
  objects: number,
  assembly: Pick<LocalAssembly, 'functions'>,
): SlowWarehouseFigures[] {
  const fast = days[0].day;
  return days.map(({ label, day }) => {
    const [logicalId, seconds] = Object.entries(day.lambdaSeconds).sort(([, a], [, b]) => b - a)[0] ?? [
      '',
      0,
    ];
    return {
      label,
      objects,
      stateTransitions: day.stats.stateTransitions,
      lambdaInvocations: day.stats.lambdaInvocations,
      eventInvocations: day.stats.eventInvocations,
      transitionsPerObject: day.stats.stateTransitions / objects,
      invocationsPerObject: allInvocations(day) / objects,
      extraTransitionsPerObject: (day.stats.stateTransitions - fast.stats.stateTransitions) / objects,
      extraInvocationsPerObject: (allInvocations(day) - allInvocations(fast)) / objects,
      longestFunction: {
        logicalId,
        seconds,
        timeoutSeconds: assembly.functions[logicalId]?.timeoutSeconds ?? Number.NaN,
      },
      timeoutOverruns: timeoutOverruns(day, assembly),
      executionStatus: day.executionStatus,
    };
  });
}

/** A function that reached its timeout on any slow-warehouse day misses the target (it was killed). */
export function slowWarehouseTimeoutTarget(slowWarehouse: SlowWarehouseFigures[]): TargetLine {
  const overruns = slowWarehouse.flatMap((w) => w.timeoutOverruns);
  const longest = Math.max(...slowWarehouse.map((w) => w.longestFunction.seconds));
  return {
    area: 'orchestration',
    target: 'slow warehouse: every function ends before its timeout',
    measured: `longest ${n1(longest)} s; ${overruns.length} at or past${overruns.length ? ` (${overruns.join('; ')})` : ''}`,
    met: overruns.length === 0,
  };
}

function figuresOf(measured: Measured, lambdaMs: number): RunFigures {
  const { day, objects, polls } = measured;
  const transitionsPerObject = day.stats.stateTransitions / objects;
  const invocationsPerObject = allInvocations(day) / objects;
  const wait = flowWaitSeconds(polls);
  return {
    label: measured.label,
    objects,
    polls,
    flowWaitSeconds: wait,
    flowSecondsRange: [polls > 1 ? flowWaitSeconds(polls - 1) : 0, wait],
    executionName: day.executionName,
    executionStatus: day.executionStatus,
    objectsSucceeded: Object.values(day.objects).filter((object) => object.status === 'SUCCEEDED').length,
    stateTransitions: day.stats.stateTransitions,
    lambdaInvocations: day.stats.lambdaInvocations,
    eventInvocations: day.stats.eventInvocations,
    transitionsPerObject,
    invocationsPerObject,
    costPer1000ObjectDays: costPer1000ObjectDays(transitionsPerObject, invocationsPerObject, lambdaMs),
    localRunWallMs: measured.wallMs,
  };
}

export async function benchOrchestration(options: OrchestrationOptions = {}): Promise<OrchestrationFigures> {
  const progress = options.progress ?? silentProgress;
  const objectCounts = [...(options.objectCounts ?? [1, 10, 50])].sort((a, b) => a - b);
  const pollCounts = options.pollCounts ?? [1, 3, 10];
  const pollSweepObjects = options.pollSweepObjects ?? 10;
  const rows = options.rowsPerObject ?? 20;
  const lambdaMs = options.assumedLambdaMs ?? 500;

  const sweep = (await objectSweep(objectCounts, rows, progress)).map((m) => figuresOf(m, lambdaMs));
  const pollSweep: RunFigures[] = [];
  for (const polls of pollCounts) {
    const known = sweep.find((r) => r.objects === pollSweepObjects && r.polls === polls);
    pollSweep.push(known ?? figuresOf(await pollRun(pollSweepObjects, polls, rows, progress), lambdaMs));
  }
  const runs = [...sweep, ...pollSweep.filter((r) => !sweep.includes(r))];
  const assembly = loadAssembly(await synthesizeLocalStack(localEnvironmentConfig(), DEFAULT_CACHE_DIR));
  const slowWarehouse = await slowWarehouseRuns(pollSweepObjects, rows, progress, assembly);
  for (const r of runs) {
    progress.note(
      `${r.label}: ${r.transitionsPerObject.toFixed(2)} transitions, ${r.invocationsPerObject.toFixed(2)} invocations (steps + event targets) per object`,
    );
  }

  // Fixed and marginal parts from the object sweep (least squares over the counts measured).
  const transitionsFit = linearFit(sweep.map((r) => [r.objects, r.stateTransitions]));
  const invocationsFit = linearFit(sweep.map((r) => [r.objects, r.lambdaInvocations + r.eventInvocations]));
  const pollTransitionsFit = linearFit(pollSweep.map((r) => [r.polls, r.transitionsPerObject]));
  const pollInvocationsFit = linearFit(pollSweep.map((r) => [r.polls, r.invocationsPerObject]));
  const firstPoll = pollSweep.find((r) => r.polls === 1) ?? pollSweep[0];
  const firstPollTransitions = firstPoll.transitionsPerObject - 3 * (firstPoll.polls - 1);

  return {
    assumptions: {
      prices: PRICES,
      assumedLambdaMs: lambdaMs,
      lambdaMemoryMb: 256,
      architecture: 'arm64',
      flowWaitSchedule: FLOW_WAIT_SCHEDULE,
      notes: [
        `Lambda duration: every invocation is assumed to bill ${lambdaMs} ms on average (256 MB, arm64); the local run cannot measure it.`,
        `A step waits on a warehouse statement inside its Lambda for at most ${IN_FUNCTION_WAIT_MS / 1000} s per invocation (IN_FUNCTION_WAIT_MS), then hands the wait to the state machine (the statement’s end event answers a task token): ${IN_FUNCTION_WAIT_MS / 1000} s of a 256 MB function cost about what the handover does (3 transitions; 3 invocations: the token wait's, the statement-ended handler's, the step's again), so no wait costs more than the cheaper of the two.`,
        'Step Functions Standard bills every state entered (Task, Wait, Choice, Pass, Map, Succeed); the count is the StateEntered events of the execution.',
        'Lambda invocations are the steps’ (Task states entered and retried) plus the functions the event rules invoke, which no state counts: the end-of-run handler (one per object-run), the statement-ended handler (one per statement handed to the state machine) and the flow-wait sweep when a run plays it (a long flow, a lost event; deployed, it runs every 15 minutes whatever is running: see cadence).',
        'Per object = the whole execution divided by its objects, so it includes the per-execution steps (Precheck, LoadObjects, ReportRun …) spread over the objects.',
        'Measured executions are incremental runs (a few records changed per object); the 1/10/50 runs are executions of one local run narrowed with the input {"objects": [...]}.',
        'Prices are list prices as given, without free tiers, AppFlow (per flow run and data processed) or Redshift.',
      ],
    },
    runs,
    perExecution: { stateTransitions: transitionsFit.intercept, lambdaInvocations: invocationsFit.intercept },
    perObjectMarginal: { stateTransitions: transitionsFit.slope, lambdaInvocations: invocationsFit.slope },
    perExtraPoll: { stateTransitions: pollTransitionsFit.slope, lambdaInvocations: pollInvocationsFit.slope },
    fixedPollComparison: pollSweep.map((r) => ({
      polls: r.polls,
      flowWaitSeconds: r.flowWaitSeconds,
      ourTransitions: r.transitionsPerObject,
      fixed30sPolls: Math.ceil(r.flowWaitSeconds / FLOW_WAIT_SCHEDULE[0]),
      fixed30sTransitions:
        firstPollTransitions + 3 * (Math.ceil(r.flowWaitSeconds / FLOW_WAIT_SCHEDULE[0]) - 1),
    })),
    targets: ORCHESTRATION_TARGETS,
    slowWarehouse,
    met: runs
      .filter((r) => r.polls === 1)
      .map((r) => ({
        label: r.label,
        transitions: r.transitionsPerObject <= ORCHESTRATION_TARGETS.transitionsPerObject,
        invocations: r.invocationsPerObject <= ORCHESTRATION_TARGETS.invocationsPerObject,
      })),
  };
}

function linearFit(points: [number, number][]): { slope: number; intercept: number } {
  if (points.length < 2) return { slope: Number.NaN, intercept: Number.NaN };
  const n = points.length;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  const sxx = points.reduce((sum, [x]) => sum + (x - meanX) ** 2, 0);
  const sxy = points.reduce((sum, [x, y]) => sum + (x - meanX) * (y - meanY), 0);
  const slope = sxx === 0 ? Number.NaN : sxy / sxx;
  return { slope, intercept: meanY - slope * meanX };
}
