import { DEFAULT_TICK_MINUTES } from '../lambdas/common/cadence';
import { renderTable } from '../lambdas/common/text-table';
import { IN_FUNCTION_WAIT_MS } from '../lambdas/common/warehouse';
import { SCHEDULED_INPUT } from '../lib/constructs/pipeline-schedule';
import { loadAssembly, synthesizeLocalStack } from '../local/runner/assembly';
import { DEFAULT_FLOW_RUN_MINUTES } from '../local/runner/flow-wait-emulation';
import { sweepMinutesOf } from '../local/runner/local-services';
import {
  type DayReport,
  DEFAULT_CACHE_DIR,
  runScenario,
  scenarioEnvironmentConfig,
} from '../local/runner/run-scenario';
import { parseScenario } from '../local/runner/scenario';
import { indent, n0, secs, usd } from './format';
import { PRICES } from './orchestration';
import { type Progress, silentProgress } from './progress';
import type { TargetLine } from './target-line';

/**
 * Cadence (issue 20): what each object's `syncEveryMinutes` costs, and how fresh a 15-minute object
 * is. Two local runs of the real state machine on scheduled ticks (`{"scheduled": true}`, 15 minutes
 * apart): one where a 15-minute Account, an hourly Contact and a daily Opportunity share the ticks,
 * one where a daily object alone leaves ticks with nothing due. Transitions and invocations are
 * counted from each tick's events and the event rules' calls (`DayReport.stats`), AppFlow runs from
 * the StartFlow calls. The flow-wait sweep runs on its own schedule whatever is due: it is added
 * from the template's rate, not measured (the local run plays it only when a wait needs it).
 */

const CADENCE_TARGETS = {
  /** A tick with nothing due: LoadObjects, the choice, ReportRun and the end; no Map Run. */
  idleTickTransitions: 8,
  idleTickInvocations: 2,
} as const;

/** AppFlow's list price per flow run (each object-run is one on-demand run of its temporary flow). */
const APPFLOW_PER_FLOW_RUN = 0.001;
/** The schedule's default tick (the local run's): 96 ticks a day. */
const TICKS_PER_DAY = (24 * 60) / DEFAULT_TICK_MINUTES;
const CADENCES = [15, 60, 1440] as const;

export interface TickCost {
  transitions: number;
  /** The steps' functions (Task states). */
  invocations: number;
  /** Functions the event rules invoke: the end-of-run handler per object-run, the sweep. */
  eventInvocations: number;
  appflowRuns: number;
}

export interface CadenceCost {
  syncEveryMinutes: number;
  runsPerDay: number;
  /** The object alone in its environment: its runs' ticks, the ticks with nothing due between them, the sweep. */
  alone: TickCost & { dollars: number };
  /** Added to an environment whose ticks run anyway: its own child executions only. */
  marginal: TickCost & { dollars: number };
}

export interface CadenceFigures {
  tickMinutes: number;
  assumedLambdaMs: number;
  idleTick: TickCost & { mapRuns: number };
  /** A tick that runs one due object (an incremental load), and one that runs two. */
  oneObjectTick: TickCost;
  twoObjectTick: TickCost;
  /** The flow-wait sweep's runs a day (its schedule's rate), whatever is due. */
  sweepsPerDay: number;
  costs: CadenceCost[];
  /** What an environment costs a day when nothing is due: 96 idle ticks and the sweep's runs. */
  nothingDueDay: TickCost & { dollars: number };
  latency: {
    /** The change's cursor: just after a tick's window end, the worst case. */
    changedAt: string;
    /** The tick that loaded it: its start, and when its execution ended (the consolidation committed before). */
    loadedByTickStart: string;
    loadedByTickEnd: string;
    minutes: number;
    flowRunMinutes: number;
    /**
     * What the change may wait, from the design and not from the run: a tick interval, the flow's
     * simulated run time, and the longest a step waits on a statement inside its function.
     */
    boundMinutes: number;
    /** In the final table right after the loading tick (the run's last). */
    inWarehouse: boolean;
  };
  statuses: Record<string, string[]>;
  wallMs: number;
}

function costOf(day: DayReport): TickCost {
  return {
    transitions: day.stats.stateTransitions,
    invocations: day.stats.lambdaInvocations,
    eventInvocations: day.stats.eventInvocations,
    appflowRuns: day.stats.startFlowCalls,
  };
}

function dollars(cost: TickCost, lambdaMs: number): number {
  const lambda =
    (cost.invocations + cost.eventInvocations) *
    (PRICES.lambdaPerRequest + (lambdaMs / 1000) * PRICES.lambdaMemoryGb * PRICES.lambdaPerGbSecond);
  return cost.transitions * PRICES.sfnPerTransition + lambda + cost.appflowRuns * APPFLOW_PER_FLOW_RUN;
}

const withDollars = (cost: TickCost, lambdaMs: number) => ({ ...cost, dollars: dollars(cost, lambdaMs) });
const scale = (cost: TickCost, factor: number): TickCost => ({
  transitions: cost.transitions * factor,
  invocations: cost.invocations * factor,
  eventInvocations: cost.eventInvocations * factor,
  appflowRuns: cost.appflowRuns * factor,
});
const add = (a: TickCost, b: TickCost): TickCost => ({
  transitions: a.transitions + b.transitions,
  invocations: a.invocations + b.invocations,
  eventInvocations: a.eventInvocations + b.eventInvocations,
  appflowRuns: a.appflowRuns + b.appflowRuns,
});
const minus = (a: TickCost, b: TickCost): TickCost => add(a, scale(b, -1));
const sweeps = (perDay: number): TickCost => ({
  transitions: 0,
  invocations: 0,
  eventInvocations: perDay,
  appflowRuns: 0,
});

/** Per object-day at each cadence, from the measured ticks and the sweep's runs a day. */
function cadenceCosts(
  ticks: { idle: TickCost; one: TickCost; two: TickCost },
  sweepsPerDay: number,
  lambdaMs: number,
): CadenceCost[] {
  const { idle, one, two } = ticks;
  return CADENCES.map((syncEveryMinutes) => {
    const runsPerDay = (24 * 60) / syncEveryMinutes;
    const alone = add(
      add(scale(one, runsPerDay), scale(idle, TICKS_PER_DAY - runsPerDay)),
      sweeps(sweepsPerDay),
    );
    const marginal = scale(minus(two, one), runsPerDay);
    return {
      syncEveryMinutes,
      runsPerDay,
      alone: withDollars(alone, lambdaMs),
      marginal: withDollars(marginal, lambdaMs),
    };
  });
}

/**
 * The most a 15-minute object's change may take to reach the final table: it just missed a tick,
 * so it waits a tick interval, then the next tick's flow runs, then the consolidation (which the
 * functions wait on for at most IN_FUNCTION_WAIT_MS before handing the wait over).
 */
export function latencyBoundMinutes(tickMinutes: number, flowRunMinutes: number): number {
  return tickMinutes + flowRunMinutes + IN_FUNCTION_WAIT_MS / 60_000;
}

const at = (time: string) => `2026-01-05T${time}:00.000Z`;

/** Ticks 15 minutes apart; the 07:45 tick gets a change stamped just after its start, the 08:00 tick loads it. */
const SHARED_TICKS = ['07:00', '07:15', '07:30', '07:45', '08:00'];
const LATE_CHANGE = { Id: '001CADENCE0000001', Name: 'Changed right after the 07:45 tick began' };
const LATE_CHANGE_TICK = '07:45';
const LATE_CHANGE_AT = '2026-01-05T07:45:00.500Z';

export async function benchCadence(
  options: { assumedLambdaMs?: number; progress?: Progress } = {},
): Promise<CadenceFigures> {
  const progress = options.progress ?? silentProgress;
  const lambdaMs = options.assumedLambdaMs ?? 500;
  const started = performance.now();

  const shared = parseScenario({
    objects: [
      { objectName: 'Account', syncEveryMinutes: 15 },
      { objectName: 'Contact', syncEveryMinutes: 60 },
      { objectName: 'Opportunity', syncEveryMinutes: 1440 },
    ],
    days: SHARED_TICKS.map((time, index) => ({
      date: '2026-01-05',
      startTime: at(time),
      input: SCHEDULED_INPUT,
      changes: {
        Account: { upsert: [{ Id: `001CADENCE00000${10 + index}`, Name: `Tick ${time}` }] },
        Contact: { upsert: [{ Id: `003CADENCE00000${10 + index}`, LastName: `Tick ${time}` }] },
      },
      // Stamped half a second after the tick's window end: it is the next (the last) tick's to load.
      ...(time === LATE_CHANGE_TICK
        ? { midRunChanges: { Account: { upsert: [{ ...LATE_CHANGE, SystemModstamp: LATE_CHANGE_AT }] } } }
        : {}),
    })),
  });
  const sharedRun = await progress.step(
    'local run: 15-minute Account, hourly Contact, daily Opportunity, 5 ticks',
    () => runScenario(shared),
  );
  const idleScenario = parseScenario({
    objects: [{ objectName: 'Opportunity', syncEveryMinutes: 1440 }],
    days: ['07:00', '07:15'].map((time) => ({
      date: '2026-01-05',
      startTime: at(time),
      input: SCHEDULED_INPUT,
      changes: {},
    })),
  });
  const idleRun = await progress.step('local run: a daily object, then a tick with nothing due', () =>
    runScenario(idleScenario),
  );
  const assembly = loadAssembly(
    await synthesizeLocalStack(scenarioEnvironmentConfig(shared), DEFAULT_CACHE_DIR),
  );
  const sweepsPerDay = (24 * 60) / sweepMinutesOf(assembly);

  const days = sharedRun.report.days;
  const statuses = Object.fromEntries(
    ['Account', 'Contact', 'Opportunity'].map((name) => [
      name,
      days.map((day) => day.objects[name]?.status ?? '-'),
    ]),
  );
  for (const day of [...days, ...idleRun.report.days]) {
    if (day.executionStatus !== 'SUCCEEDED')
      throw new Error(`cadence: ${day.executionName} ${day.executionStatus}`);
  }
  // 07:15 and 07:45 run Account alone (incremental), 08:00 Account and Contact.
  const one = costOf(days[1]);
  const two = costOf(days[4]);
  const idleDay = idleRun.report.days[1];
  if (Object.values(idleDay.objects).some((object) => object.status !== 'NOT_DUE'))
    throw new Error('cadence: the idle tick ran an object');
  const idle = costOf(idleDay);
  // The ticks' event invocations are their flows' end-of-run handlers only: a sweep or a statement
  // wait played there would be counted twice beside the sweep's runs a day added below.
  for (const [label, tick] of Object.entries({ idle, one, two })) {
    if (tick.eventInvocations !== tick.appflowRuns)
      throw new Error(
        `cadence: the ${label} tick made ${tick.eventInvocations} event invocations for ${tick.appflowRuns} flow runs`,
      );
  }

  // The run's last tick loads the late change: the final tables are as that tick left them.
  const loading = days[days.length - 1];
  if (loading.objects.Account?.status !== 'SUCCEEDED')
    throw new Error(`cadence: the ${loading.startTime} tick did not run Account`);
  const latencyMinutes = (Date.parse(loading.endTime) - Date.parse(LATE_CHANGE_AT)) / 60_000;
  const account = sharedRun.finalTables.account ?? [];
  return {
    tickMinutes: DEFAULT_TICK_MINUTES,
    assumedLambdaMs: lambdaMs,
    idleTick: { ...idle, mapRuns: idleDay.historyEvents.maxChild > 0 ? 1 : 0 },
    oneObjectTick: one,
    twoObjectTick: two,
    sweepsPerDay,
    costs: cadenceCosts({ idle, one, two }, sweepsPerDay, lambdaMs),
    nothingDueDay: withDollars(add(scale(idle, TICKS_PER_DAY), sweeps(sweepsPerDay)), lambdaMs),
    latency: {
      changedAt: LATE_CHANGE_AT,
      loadedByTickStart: loading.startTime,
      loadedByTickEnd: loading.endTime,
      minutes: latencyMinutes,
      // The scenario sets no flowRunMinutes: every flow runs the local run's default.
      flowRunMinutes: DEFAULT_FLOW_RUN_MINUTES,
      boundMinutes: latencyBoundMinutes(DEFAULT_TICK_MINUTES, DEFAULT_FLOW_RUN_MINUTES),
      inWarehouse: account.some((row) => row.name === LATE_CHANGE.Name),
    },
    statuses,
    wallMs: performance.now() - started,
  };
}

export function cadenceSection(c: CadenceFigures): string {
  // Whole numbers without separators: the table right-aligns a column of plain numbers.
  const row = (cost: TickCost & { dollars: number }) => [
    Math.round(cost.transitions),
    Math.round(cost.invocations),
    Math.round(cost.eventInvocations),
    Math.round(cost.appflowRuns),
    usd(cost.dollars),
  ];
  const rows = c.costs.flatMap((cost) => [
    [`${cost.syncEveryMinutes} min`, Math.round(cost.runsPerDay), 'alone', ...row(cost.alone)],
    ['', '', 'added to busy ticks', ...row(cost.marginal)],
  ]);
  const tick = (cost: TickCost) =>
    `${cost.transitions} transitions, ${cost.invocations} step + ${cost.eventInvocations} event invocations`;
  const idle = c.nothingDueDay;
  const l = c.latency;
  return [
    `Cadence — scheduled ticks every ${c.tickMinutes} minutes, real state machine, local run; per object-day`,
    '',
    indent(
      renderTable(
        [
          'cadence',
          'runs/day',
          'environment',
          'transitions',
          'step inv',
          'event inv',
          'AppFlow runs',
          '$/object-day',
        ],
        rows,
      ),
    ),
    '',
    indent(
      [
        `Measured ticks: nothing due ${tick(c.idleTick)}, ${c.idleTick.mapRuns} Map Runs; one due object ${tick(c.oneObjectTick)}; two ${tick(c.twoObjectTick)}.`,
        `Nothing due all day: ${TICKS_PER_DAY} ticks and ${n0(c.sweepsPerDay)} sweeps, ${n0(idle.transitions)} transitions, ${n0(idle.invocations + idle.eventInvocations)} invocations (${n0(idle.invocations)} step, ${n0(idle.eventInvocations)} sweep), ${usd(idle.dollars)} a day.`,
        `'step inv': the Task states' functions; 'event inv': functions the event rules invoke (the flow's end-of-run handler per object-run; the sweep, every ${(24 * 60) / c.sweepsPerDay} minutes, in 'alone' and the day with nothing due).`,
        `'alone': the object's runs plus the idle ticks between them and the sweep; 'added to busy ticks': its child executions and their end-of-run events only. Dollars: Step Functions $0.025/1,000 transitions, ` +
          `Lambda $0.20/1M requests + ${c.assumedLambdaMs} ms at 256 MB arm64 for every invocation, AppFlow $${APPFLOW_PER_FLOW_RUN} per flow run (data processing and Salesforce API calls not included).`,
        `Statuses per tick (${SHARED_TICKS.join(', ')}): ${Object.entries(c.statuses)
          .map(([name, list]) => `${name} ${list.join(' ')}`)
          .join('; ')}.`,
        `Latency, 15-minute object: a change at ${l.changedAt.slice(11, 23)} (just after a tick's window end) was in the final table after the ${l.loadedByTickStart.slice(11, 16)} tick, ` +
          `whose execution ended ${l.loadedByTickEnd.slice(11, 19)}: ${l.minutes.toFixed(2)} simulated minutes; bound ${l.boundMinutes.toFixed(2)} ` +
          `(a ${c.tickMinutes}-minute tick + a ${l.flowRunMinutes}-minute flow + ${IN_FUNCTION_WAIT_MS / 1000} s of in-function statement wait); in the warehouse: ${l.inWarehouse ? 'yes' : 'NO'}.`,
        `Wall time ${secs(c.wallMs)} s.`,
      ].join('\n'),
    ),
  ].join('\n');
}

export function cadenceTargetLines(c: CadenceFigures): TargetLine[] {
  const t = CADENCE_TARGETS;
  const idleInvocations = c.idleTick.invocations + c.idleTick.eventInvocations;
  return [
    {
      area: 'cadence',
      target: `tick with nothing due: <= ${t.idleTickTransitions} transitions, <= ${t.idleTickInvocations} invocations, no Map Run`,
      measured: `${c.idleTick.transitions}, ${idleInvocations}, ${c.idleTick.mapRuns}`,
      met:
        c.idleTick.transitions <= t.idleTickTransitions &&
        idleInvocations <= t.idleTickInvocations &&
        c.idleTick.mapRuns === 0,
    },
    {
      area: 'cadence',
      target: `15-minute object: change to final table <= ${c.tickMinutes} min + ${c.latency.flowRunMinutes}-min flow + ${IN_FUNCTION_WAIT_MS / 1000} s statement wait`,
      measured: `${c.latency.minutes.toFixed(2)} min (<= ${c.latency.boundMinutes.toFixed(2)}); in the final table: ${c.latency.inWarehouse ? 'yes' : 'NO'}`,
      met: c.latency.inWarehouse && c.latency.minutes <= c.latency.boundMinutes,
    },
  ];
}
