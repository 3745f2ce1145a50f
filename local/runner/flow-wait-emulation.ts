import { FLOW_RUN_ENDED_DETAIL_TYPE } from '../../lambdas/common/flow-waits';
import type { FlowState, ObjectState } from '../../lambdas/common/object-state';
import type { AppFlowStandIn } from '../stand-ins/appflow-stand-in';
import type { EventBridgeStandIn } from '../stand-ins/eventbridge-stand-in';
import type { StepFunctionsStandIn, TaskAnswer } from '../stand-ins/step-functions-stand-in';
import { currentTimeline } from './simulated-time';
import { secondsAtPath, statesRuntimeError, taskResult } from './task-failure';

/** Minutes a flow run takes when the scenario does not say (a small object's incremental run). */
export const DEFAULT_FLOW_RUN_MINUTES = 2;

export interface FlowWaitEmulationOptions {
  sfn: StepFunctionsStandIn;
  appflow: AppFlowStandIn;
  events: EventBridgeStandIn;
  /** The scenario day's `flowRunMinutes` of an object, if any. */
  runMinutes: (objectName: string) => number | undefined;
  /** The day's `dropFlowEvents`: the object's end-of-run event is lost. */
  dropsEvent: (objectName: string) => boolean;
  /** The day's `duplicateFlowEvents`: the object's end-of-run event arrives twice. */
  duplicatesEvent: (objectName: string) => boolean;
  /** The deployed sweep schedule's interval, in minutes. */
  sweepMinutes: number;
}

/**
 * What happens in simulated time while a child waits on its flow (`.waitForTaskToken`), which
 * aws-local-stepfunctions does not do: the sweep ticks while the run goes on (heartbeats), the
 * run ends and AppFlow publishes its end-of-run event (unless the day drops it), the next sweep
 * catches a lost event, and with nothing settling the wait its heartbeat times out (the child's
 * fallback reads the status). A wait the flow outlasts times out (`States.Timeout`). Each step
 * goes through the stand-ins and the deployed functions: the rule's pattern routes the event,
 * the function answers the token through the Step Functions stand-in.
 */
export class FlowWaitEmulation {
  /** Simulated minutes each flow has run so far, across the waits of one run (after a fallback). */
  private readonly elapsedMinutes = new Map<string, number>();
  private sweeping: Promise<void> | undefined;
  private queuedSweep: Promise<void> | undefined;

  constructor(private readonly options: FlowWaitEmulationOptions) {}

  /**
   * Runs the wait of a registered token to its end: the task's output, or its error thrown. `times`
   * are the wait's, as `waitTimes` read them from the state before the task started.
   */
  async wait(
    token: string,
    answer: Promise<TaskAnswer>,
    state: ObjectState,
    times: WaitTimes,
  ): Promise<unknown> {
    const { sfn } = this.options;
    if (sfn.isOpen(token)) await this.passTime(token, state, times);
    return taskResult(await answer);
  }

  private async passTime(token: string, state: ObjectState, times: WaitTimes): Promise<void> {
    const { sfn, appflow, events, sweepMinutes } = this.options;
    const objectName = state.plan.objectName;
    const flow = state.flow as FlowState;
    const elapsed = this.elapsedMinutes.get(flow.flowName) ?? 0;
    const remaining = Math.max(
      0,
      (this.options.runMinutes(objectName) ?? DEFAULT_FLOW_RUN_MINUTES) - elapsed,
    );
    const { heartbeatSeconds, timeoutSeconds } = times;
    const heartbeatMinutes = heartbeatSeconds / 60;
    const timeoutMinutes = timeoutSeconds / 60;
    // The child's timeline moves as the wait's simulated minutes pass.
    const timeline = currentTimeline();
    const startMs = timeline?.now() ?? 0;
    const passMinutes = (minutes: number) => timeline?.advanceTo(startMs + minutes * 60_000);

    // While the run goes on, the sweep ticks and sends the wait its heartbeat.
    if (remaining >= sweepMinutes) await this.sweep();
    if (sfn.isOpen(token) && remaining >= heartbeatMinutes && sfn.heartbeatsOf(token) === 0) {
      this.elapsedMinutes.set(flow.flowName, elapsed + heartbeatMinutes);
      passMinutes(heartbeatMinutes);
      sfn.timeOut(token, 'States.HeartbeatTimeout');
      return;
    }
    if (sfn.isOpen(token) && remaining >= timeoutMinutes) {
      this.elapsedMinutes.set(flow.flowName, elapsed + timeoutMinutes);
      passMinutes(timeoutMinutes);
      sfn.timeOut(token, 'States.Timeout');
      return;
    }
    if (!sfn.isOpen(token)) return;
    this.elapsedMinutes.set(flow.flowName, elapsed + remaining);
    passMinutes(remaining);
    const report = appflow.endRun(flow.flowName);
    const publish = () =>
      report
        ? events.publishServiceEvent(
            'aws.appflow',
            FLOW_RUN_ENDED_DETAIL_TYPE,
            report.detail,
            report.resources,
          )
        : undefined;
    if (!this.options.dropsEvent(objectName)) await publish();
    // A lost event: the next sweep reads the run's status.
    if (sfn.isOpen(token)) await this.sweep();
    // No sweep either: the heartbeat times out and the child looks at the run itself.
    if (sfn.isOpen(token)) sfn.timeOut(token, 'States.HeartbeatTimeout');
    // A duplicate (or late) event after the wait ended: must change nothing.
    if (this.options.duplicatesEvent(objectName)) await publish();
  }

  /**
   * One sweep of the schedule. Children asking while one is under way share the next one, so
   * every asker gets a sweep that started after it asked.
   */
  private sweep(): Promise<void> {
    if (!this.sweeping) {
      this.sweeping = this.options.events.fireSchedules().finally(() => {
        this.sweeping = undefined;
      });
      return this.sweeping;
    }
    this.queuedSweep ??= this.sweeping.then(() => {
      this.queuedSweep = undefined;
      return this.sweep();
    });
    return this.queuedSweep;
  }
}

export interface WaitTimes {
  heartbeatSeconds: number;
  timeoutSeconds: number;
}

/** Where AwaitFlowRun's definition reads its wait's timeout and heartbeat (TimeoutSecondsPath, HeartbeatSecondsPath). */
export const FLOW_WAIT_PATHS = { timeout: '$.flow.waitTimeoutSeconds', heartbeat: '$.flow.heartbeatSeconds' };

/**
 * The wait's timeout and heartbeat as Step Functions reads them from the state when the task
 * starts. As there, a path that holds no positive integer, or a heartbeat not below the timeout,
 * fails the execution (States.Runtime, which no Catch stops) before the task runs.
 */
export function waitTimes(flow: FlowState | undefined): WaitTimes {
  const what = `The wait on flow ${flow?.flowName ?? '(no $.flow)'}`;
  const timeoutSeconds = secondsAtPath(what, FLOW_WAIT_PATHS.timeout, flow?.waitTimeoutSeconds);
  const heartbeatSeconds = secondsAtPath(what, FLOW_WAIT_PATHS.heartbeat, flow?.heartbeatSeconds);
  if (!(heartbeatSeconds < timeoutSeconds)) {
    throw statesRuntimeError(
      `${what}: HeartbeatSeconds (${heartbeatSeconds}) must be smaller than TimeoutSeconds (${timeoutSeconds})`,
    );
  }
  return { heartbeatSeconds, timeoutSeconds };
}
