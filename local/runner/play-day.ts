import type { SimulatedClock } from '../stand-ins/simulated-clock';
import type { SourceOrg } from '../stand-ins/source-org';
import { type DayReport, dayReport, type ProgressEvent } from './day-report';
import type { LocalServices } from './local-services';
import {
  type AttemptedExecution,
  type LocalStateMachine,
  localExecutionArn,
  redrivePoint,
  runExecution,
} from './run-execution';
import type { ScenarioDay } from './scenario';
import { onTimeline, Timeline } from './simulated-time';
import { alterFields, applyChanges } from './source-changes';

/** What every day of a run plays on. */
export interface DayStage {
  clock: SimulatedClock;
  org: SourceOrg;
  services: LocalServices;
  machine: LocalStateMachine;
  progress: (event: ProgressEvent) => void;
  /** Days and control rows of the scenario, for the progress lines. */
  totalDays: number;
  objects: number;
}

/** Step names an operator recognises in the progress lines. */
const STEP_LABELS: Record<string, string> = {
  StartExtract: 'starting flow',
  AwaitFlowRun: 'waiting on flow',
  PollFlow: 'looking at flow',
  Consolidate: 'consolidating',
  FinishObject: 'finishing',
  RecordFailure: 'failed, cleaning up',
};

/**
 * One scenario day: the clock moves to the day, the org takes the day's changes and quota, the
 * stand-ins its faults and flow behaviour; then the day's execution starts (or the previous
 * day's failed one is redriven) and runs to its end. Returns the day's report and the execution,
 * which a redrive the next day continues.
 */
export async function playDay(
  stage: DayStage,
  day: ScenarioDay,
  index: number,
  previous: AttemptedExecution,
): Promise<{ report: DayReport; execution: AttemptedExecution }> {
  const { clock, org, services, progress } = stage;
  clock.advanceToDate(day.date);
  alterFields(org, day.alterFields);
  applyChanges(org, day.changes);
  if (day.apiQuota) org.setApiQuota(day.apiQuota);
  services.startDay(day);
  progress({ type: 'day-started', index, total: stage.totalDays, date: day.date, objects: stage.objects });
  const appflowCallsBefore = services.appflow.calls.length;
  const redshiftCallsBefore = services.redshift.calls.length;
  const startTime = day.startTime ? moveClockTo(clock, day.startTime) : clock.tick(60_000);
  // A redrive continues the previous day's execution: same name, from the state it failed in.
  const redrive = day.redrive ? redrivePoint(previous) : undefined;
  const executionName = redrive ? previous.executionName : `day-${index + 1}-${day.date}`;
  // A tick day starts the state machine as the deployed schedule does: with its target's input.
  const input = isTick(day.input) ? stage.machine.assembly.schedule.input : day.input;
  const executionArn = localExecutionArn(executionName);
  // Mid-run changes reach each object once, when its StartExtract first runs (it runs again to wait
  // on a slow statement, and to start a column refresh's flow).
  const changedMidRun = new Set<string>();
  services.sfn.setExecutionStatus(executionArn, 'RUNNING');
  // The execution's own timeline: its steps' waits (slow statements, flows) move it, not the clock.
  const timeline = new Timeline(startTime.getTime());
  const outcome = await onTimeline(timeline, () =>
    runExecution(stage.machine, redrive ? redrive.failedAt.input : input, {
      ...(redrive ? { redrive } : {}),
      executionName,
      startTime,
      onStep: (objectName, step) => {
        if (step === 'StartExtract' && day.midRunChanges && !changedMidRun.has(objectName)) {
          changedMidRun.add(objectName);
          clock.tick();
          applyChanges(org, day.midRunChanges, objectName);
        }
        const label = STEP_LABELS[step];
        if (label) progress({ type: 'step', date: day.date, objectName, step: label });
      },
    }),
  );
  services.sfn.setExecutionStatus(executionArn, outcome.status);
  // AWS keeps one history per execution: a redrive's events follow the failed attempt's.
  const parentHistory = redrive ? previous.parentHistory + outcome.history.parent : outcome.history.parent;
  await services.redshift.whenIdle();
  const report = dayReport({
    date: day.date,
    executionName,
    startTime: startTime.toISOString(),
    endTime: new Date(timeline.now()).toISOString(),
    outcome,
    parentHistory,
    flowsRemaining: services.appflow.flowCount(),
    lambdaSeconds: services.lambdaSeconds(),
    eventInvocations: services.eventInvocations(),
    faultsNotFired: services.faultsNotFired(),
    calls: {
      appflow: services.appflow.calls.slice(appflowCallsBefore),
      redshift: services.redshift.calls.slice(redshiftCallsBefore),
    },
  });
  progress({ type: 'day-finished', index, total: stage.totalDays, day: report });
  // The next day starts after this execution ended, however long its waits took.
  moveClockTo(clock, new Date(Math.max(timeline.now(), clock.now().getTime())).toISOString());
  clock.tick(60_000);
  return {
    report,
    execution: { executionName, input: redrive ? redrive.input : input, outcome, parentHistory },
  };
}

/** `{"scheduled": true}` and nothing else: what the schedule sends (DESIGN.md). */
function isTick(input: Record<string, unknown>): boolean {
  return input.scheduled === true && Object.keys(input).length === 1;
}

/** The clock only moves forward: a start time behind it is a scenario error, not a time machine. */
function moveClockTo(clock: SimulatedClock, iso: string): Date {
  const ahead = Date.parse(iso) - clock.now().getTime();
  if (ahead < 0)
    throw new Error(`startTime ${iso} is before the simulated clock (${clock.now().toISOString()})`);
  return clock.tick(ahead);
}
