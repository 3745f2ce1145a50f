import { renderTable } from '../lambdas/common/text-table';
import { type DayReport, runScenario } from '../local/runner/run-scenario';
import { parseScenario } from '../local/runner/scenario';
import { PRICES } from './orchestration';
import { type Progress, silentProgress } from './progress';

/**
 * Cadence (issue 20): what each object's `syncEveryMinutes` costs, and how fresh a 15-minute object
 * is. Two local runs of the real state machine on scheduled ticks (`{"scheduled": true}`, 15 minutes
 * apart): one where a 15-minute Account, an hourly Contact and a daily Opportunity share the ticks,
 * one where a daily object alone leaves ticks with nothing due. Transitions and invocations are
 * counted from each tick's events (`DayReport.stats`), AppFlow runs from the StartFlow calls.
 */

export const CADENCE_TARGETS = {
  /** A tick with nothing due: LoadObjects, the choice, ReportRun and the end; no Map Run. */
  idleTickTransitions: 8,
  idleTickInvocations: 2,
} as const;

/** AppFlow's list price per flow run (each object-run is one on-demand run of its temporary flow). */
export const APPFLOW_PER_FLOW_RUN = 0.001;
/** The schedule's default tick: 96 ticks a day. */
export const TICK_MINUTES = 15;
const TICKS_PER_DAY = (24 * 60) / TICK_MINUTES;
const CADENCES = [15, 60, 1440] as const;

export interface TickCost {
  transitions: number;
  invocations: number;
  appflowRuns: number;
}

export interface CadenceCost {
  syncEveryMinutes: number;
  runsPerDay: number;
  /** The object alone in its environment: its runs' ticks, and the ticks with nothing due between them. */
  alone: TickCost & { dollars: number };
  /** Added to an environment whose ticks run anyway: its own child executions only. */
  marginal: TickCost & { dollars: number };
}

export interface CadenceFigures {
  tickMinutes: number;
  assumedLambdaMs: number;
  idleTick: TickCost & { lambdaSeconds: number; mapRuns: number };
  /** A tick that runs one due object (an incremental load), and one that runs two. */
  oneObjectTick: TickCost;
  twoObjectTick: TickCost;
  costs: CadenceCost[];
  /** What the ticks themselves cost a day when nothing is due (96 × the idle tick). */
  idleTicksPerDay: TickCost & { dollars: number };
  latency: {
    /** The change's cursor: just after a tick's window end, the worst case. */
    changedAt: string;
    /** The tick that loaded it: its start, and when its execution ended (the consolidation committed before). */
    loadedByTickStart: string;
    loadedByTickEnd: string;
    minutes: number;
    flowRunMinutes: number;
    /** 15 minutes + the loading tick's own run time (its flow and consolidation). */
    targetMinutes: number;
    inWarehouse: boolean;
  };
  statuses: Record<string, string[]>;
  wallMs: number;
}

function costOf(day: DayReport): TickCost {
  return {
    transitions: day.stats.stateTransitions,
    invocations: day.stats.lambdaInvocations,
    appflowRuns: day.stats.startFlowCalls,
  };
}

function dollars(cost: TickCost, lambdaMs: number): number {
  const lambda =
    cost.invocations *
    (PRICES.lambdaPerRequest + (lambdaMs / 1000) * PRICES.lambdaMemoryGb * PRICES.lambdaPerGbSecond);
  return cost.transitions * PRICES.sfnPerTransition + lambda + cost.appflowRuns * APPFLOW_PER_FLOW_RUN;
}

const scale = (cost: TickCost, factor: number): TickCost => ({
  transitions: cost.transitions * factor,
  invocations: cost.invocations * factor,
  appflowRuns: cost.appflowRuns * factor,
});
const add = (a: TickCost, b: TickCost): TickCost => ({
  transitions: a.transitions + b.transitions,
  invocations: a.invocations + b.invocations,
  appflowRuns: a.appflowRuns + b.appflowRuns,
});
const minus = (a: TickCost, b: TickCost): TickCost => add(a, scale(b, -1));

/** Per object-day at each cadence, from the measured ticks. */
export function cadenceCosts(idle: TickCost, one: TickCost, two: TickCost, lambdaMs: number): CadenceCost[] {
  return CADENCES.map((syncEveryMinutes) => {
    const runsPerDay = (24 * 60) / syncEveryMinutes;
    const alone = add(scale(one, runsPerDay), scale(idle, TICKS_PER_DAY - runsPerDay));
    const marginal = scale(minus(two, one), runsPerDay);
    return {
      syncEveryMinutes,
      runsPerDay,
      alone: { ...alone, dollars: dollars(alone, lambdaMs) },
      marginal: { ...marginal, dollars: dollars(marginal, lambdaMs) },
    };
  });
}

const at = (time: string) => `2026-01-05T${time}:00.000Z`;
const TICK = { scheduled: true };

/** Ticks 15 minutes apart; the 07:30 tick gets a change stamped just after its start. */
const SHARED_TICKS = ['07:00', '07:15', '07:30', '07:45', '08:00'];
const LATE_CHANGE = { Id: '001CADENCE0000001', Name: 'Changed right after the 07:30 tick began' };
const LATE_CHANGE_AT = '2026-01-05T07:30:00.500Z';

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
      input: TICK,
      changes: {
        Account: { upsert: [{ Id: `001CADENCE00000${10 + index}`, Name: `Tick ${time}` }] },
        Contact: { upsert: [{ Id: `003CADENCE00000${10 + index}`, LastName: `Tick ${time}` }] },
      },
      // Stamped half a second after the tick's window end: it is the next tick's to load.
      ...(time === '07:30'
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
      input: TICK,
      changes: {},
    })),
  });
  const idleRun = await progress.step('local run: a daily object, then a tick with nothing due', () =>
    runScenario(idleScenario),
  );

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

  const loading = days[3];
  const latencyMinutes = (Date.parse(loading.endTime) - Date.parse(LATE_CHANGE_AT)) / 60_000;
  const account = sharedRun.finalTables.account ?? [];
  const idleTicksPerDay = scale(idle, TICKS_PER_DAY);
  return {
    tickMinutes: TICK_MINUTES,
    assumedLambdaMs: lambdaMs,
    idleTick: {
      ...idle,
      lambdaSeconds: Object.values(idleDay.lambdaSeconds).reduce((sum, s) => sum + s, 0),
      mapRuns: idleDay.historyEvents.maxChild > 0 ? 1 : 0,
    },
    oneObjectTick: one,
    twoObjectTick: two,
    costs: cadenceCosts(idle, one, two, lambdaMs),
    idleTicksPerDay: { ...idleTicksPerDay, dollars: dollars(idleTicksPerDay, lambdaMs) },
    latency: {
      changedAt: LATE_CHANGE_AT,
      loadedByTickStart: loading.startTime,
      loadedByTickEnd: loading.endTime,
      minutes: latencyMinutes,
      flowRunMinutes: 2,
      targetMinutes: TICK_MINUTES + (Date.parse(loading.endTime) - Date.parse(loading.startTime)) / 60_000,
      inWarehouse: account.some((row) => row.name === LATE_CHANGE.Name),
    },
    statuses,
    wallMs: performance.now() - started,
  };
}

const usd = (value: number) => `$${value.toFixed(4)}`;
const n1 = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(1));
const indent = (text: string) =>
  text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');

export function cadenceSection(c: CadenceFigures): string {
  const rows = c.costs.flatMap((cost) => [
    [
      `${cost.syncEveryMinutes} min`,
      n1(cost.runsPerDay),
      'alone',
      n1(cost.alone.transitions),
      n1(cost.alone.invocations),
      n1(cost.alone.appflowRuns),
      usd(cost.alone.dollars),
    ],
    [
      '',
      '',
      'added to busy ticks',
      n1(cost.marginal.transitions),
      n1(cost.marginal.invocations),
      n1(cost.marginal.appflowRuns),
      usd(cost.marginal.dollars),
    ],
  ]);
  const l = c.latency;
  return [
    `Cadence — scheduled ticks every ${c.tickMinutes} minutes, real state machine, local run; per object-day`,
    '',
    indent(
      renderTable(
        ['cadence', 'runs/day', 'environment', 'transitions', 'invocations', 'AppFlow runs', '$/object-day'],
        rows,
      ),
    ),
    '',
    `  Measured ticks: nothing due ${c.idleTick.transitions} transitions, ${c.idleTick.invocations} invocations, ${c.idleTick.mapRuns} Map Runs; ` +
      `one due object ${c.oneObjectTick.transitions} / ${c.oneObjectTick.invocations}; two ${c.twoObjectTick.transitions} / ${c.twoObjectTick.invocations}.`,
    `  The ticks themselves, nothing due all day: ${n1(c.idleTicksPerDay.transitions)} transitions, ${n1(c.idleTicksPerDay.invocations)} invocations, ${usd(c.idleTicksPerDay.dollars)} a day.`,
    `  'alone': the object's runs plus the idle ticks between them; 'added to busy ticks': its child executions only. Dollars: Step Functions $0.025/1,000 transitions, ` +
      `Lambda $0.20/1M requests + ${c.assumedLambdaMs} ms at 256 MB arm64, AppFlow $${APPFLOW_PER_FLOW_RUN} per flow run (data processing and Salesforce API calls not included).`,
    `  Statuses per tick (${SHARED_TICKS.join(', ')}): ${Object.entries(c.statuses)
      .map(([name, list]) => `${name} ${list.join(' ')}`)
      .join('; ')}.`,
    `  Latency, 15-minute object: a change at ${l.changedAt.slice(11, 23)} (just after a tick's window end) reached the final table with the ${l.loadedByTickStart.slice(11, 16)} tick, ` +
      `whose execution ended ${l.loadedByTickEnd.slice(11, 19)}: ${l.minutes.toFixed(1)} simulated minutes (${l.flowRunMinutes}-minute flow; target <= ${l.targetMinutes.toFixed(1)}); in the warehouse: ${l.inWarehouse ? 'yes' : 'NO'}.`,
    `  Wall time ${(c.wallMs / 1000).toFixed(1)} s.`,
  ].join('\n');
}

export function cadenceTargetLines(c: CadenceFigures) {
  const t = CADENCE_TARGETS;
  return [
    {
      area: 'cadence',
      target: `tick with nothing due: <= ${t.idleTickTransitions} transitions, <= ${t.idleTickInvocations} invocations, no Map Run`,
      measured: `${c.idleTick.transitions}, ${c.idleTick.invocations}, ${c.idleTick.mapRuns}`,
      met:
        c.idleTick.transitions <= t.idleTickTransitions &&
        c.idleTick.invocations <= t.idleTickInvocations &&
        c.idleTick.mapRuns === 0,
    },
    {
      area: 'cadence',
      target: '15-minute object: change to final table <= 15 min + flow + consolidation',
      measured: `${c.latency.minutes.toFixed(1)} min (<= ${c.latency.targetMinutes.toFixed(1)})`,
      met: c.latency.inWarehouse && c.latency.minutes <= c.latency.targetMinutes,
    },
  ];
}
