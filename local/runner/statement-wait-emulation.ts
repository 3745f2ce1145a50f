import { STATEMENT_ENDED_DETAIL_TYPE, STATEMENT_EVENT_SOURCE } from '../../lambdas/common/statement-waits';
import type { EventBridgeStandIn } from '../stand-ins/eventbridge-stand-in';
import type { RedshiftDataStandIn } from '../stand-ins/redshift-data-stand-in';
import type { StepFunctionsStandIn, TaskAnswer } from '../stand-ins/step-functions-stand-in';
import { currentTimeline, onTimeline, Timeline } from './simulated-time';
import { secondsAtPath, taskResult } from './task-failure';

export interface StatementWaitEmulationOptions {
  sfn: StepFunctionsStandIn;
  redshift: RedshiftDataStandIn;
  events: EventBridgeStandIn;
  /** The day's `dropStatementEvents`: the Data API's end event of these objects' statements is lost. */
  dropsEvent: (objectName: string | undefined) => boolean;
}

/** What the state machine hands the statement-wait task (its Parameters' Payload). */
export interface StatementWaitRequest {
  wait: { statementId: string; what: string; timeoutSeconds: number };
  objectName?: string;
}

/** Where the Await…Statement tasks' definition reads the wait's timeout (TimeoutSecondsPath). */
export const STATEMENT_WAIT_TIMEOUT_PATH = '$.waiting.timeoutSeconds';

/**
 * The statement wait's timeout as Step Functions reads it from the state when the task starts (the
 * task hands the function `$.waiting` as `wait`): not a positive integer fails the execution
 * (States.Runtime) before the task runs.
 */
export function statementWaitTimeout(request: Partial<StatementWaitRequest>): number {
  return secondsAtPath(
    `The wait on statement ${request.wait?.statementId ?? '(no $.waiting)'}`,
    STATEMENT_WAIT_TIMEOUT_PATH,
    request.wait?.timeoutSeconds,
  );
}

/**
 * What happens in simulated time while an execution waits on a slow statement
 * (`.waitForTaskToken`): the waiting execution's timeline moves to the statement's end, the Data
 * API publishes its end event (a statement sent WithEvent), the rule routes it to the deployed
 * function, which answers the token through the Step Functions stand-in. A statement that outlasts
 * the wait's timeout (or whose event is lost) times the wait out: the step looks for itself.
 */
export class StatementWaitEmulation {
  constructor(private readonly options: StatementWaitEmulationOptions) {}

  /** `timeoutSeconds` is the wait's, as `statementWaitTimeout` read it before the task started. */
  async wait(
    token: string,
    answer: Promise<TaskAnswer>,
    request: StatementWaitRequest,
    timeoutSeconds: number,
  ): Promise<unknown> {
    const { sfn, redshift, events } = this.options;
    const timeline = currentTimeline();
    const now = timeline?.now() ?? Date.now();
    const end = redshift.statementEnd(request.wait.statementId);
    const timeoutAt = now + timeoutSeconds * 1000;
    if (sfn.isOpen(token) && end.readyAtMs > timeoutAt) {
      timeline?.advanceTo(timeoutAt);
      sfn.timeOut(token, 'States.Timeout');
    }
    if (sfn.isOpen(token)) {
      const detail = await end.event();
      timeline?.advanceTo(end.readyAtMs);
      if (detail && !this.options.dropsEvent(request.objectName)) {
        // The event's delivery and its function run on a timeline of their own.
        await onTimeline(new Timeline(timeline?.now() ?? now), () =>
          events.publishServiceEvent(STATEMENT_EVENT_SOURCE, STATEMENT_ENDED_DETAIL_TYPE, { ...detail }, []),
        );
      }
      // No event (lost, or a statement sent without one): the wait runs to its timeout.
      if (sfn.isOpen(token)) {
        timeline?.advanceTo(timeoutAt);
        sfn.timeOut(token, 'States.Timeout');
      }
    }
    return taskResult(await answer);
  }
}
