import type { StatementRequest, StatementSlot } from './warehouse';

/*
 * Waits on slow warehouse statements: what a step hands the state machine, and how statements are
 * named. Pure, so the steps that hand a wait over load no SDK for it; the rendezvous of the token
 * and the statement's end is in statement-rendezvous.ts (await-statement, statement-ended).
 */

/** The Data API's event when a statement sent `WithEvent` ends (EventBridge `detail-type`). */
export const STATEMENT_ENDED_DETAIL_TYPE = 'Redshift Data Statement Status Change';
export const STATEMENT_EVENT_SOURCE = 'aws.redshift-data';

/** What a step hands the state machine when its statement outlives the step's time budget. */
export interface StatementWait {
  statementId: string;
  /** For the console and the logs: the object and what the statement does. */
  what: string;
  /**
   * The wait's timeout (`TimeoutSecondsPath`): the event is best effort, so after this long the
   * step looks at the statement itself and, if it still runs, waits again twice as long.
   */
  timeoutSeconds: number;
}

/** The first wait on a statement; each wait after a timeout is twice as long, up to a day. */
export const FIRST_STATEMENT_WAIT_SECONDS = 15 * 60;
export const LONGEST_STATEMENT_WAIT_SECONDS = 24 * 3600;

export function statementWaitFor(
  slot: StatementSlot,
  what: string,
  previous: StatementWait | undefined,
): StatementWait {
  const timeoutSeconds =
    previous?.statementId === slot.id
      ? Math.min(previous.timeoutSeconds * 2, LONGEST_STATEMENT_WAIT_SECONDS)
      : FIRST_STATEMENT_WAIT_SECONDS;
  return { statementId: slot.id, what, timeoutSeconds };
}

/**
 * An object's step hands its running statement to the state machine: the state with `progress`
 * (how far the step got) and the wait on `slot`, named after the object. A statement still running
 * after its wait timed out is waited on again, twice as long.
 */
export function waitingOn<S extends { plan: { objectName: string }; waiting?: StatementWait }>(
  state: S,
  progress: Partial<S>,
  slot: StatementSlot,
  what: string,
): S {
  const prefix = `${state.plan.objectName}: `;
  return {
    ...state,
    ...progress,
    waiting: statementWaitFor(slot, what.startsWith(prefix) ? what : `${prefix}${what}`, state.waiting),
  };
}

/**
 * StatementName of the pipeline's statements: `<prefix>-<object or run>-<step>-<run id>`. The rule
 * on the Data API's events matches the prefix, so other applications' statements wake nobody.
 */
export function statementNameFor(prefix: string, subject: string, step: string, runId: string): string {
  return `${prefix}-${subject}-${step}-${runId}`.slice(0, 500);
}

/**
 * A statement one object's step sends in a run: named `<prefix>-<object>-<step>-<run id>` and made
 * idempotent per run, object and step (the ClientToken adds the SQL and the attempt).
 */
export function objectStatement(
  prefix: string,
  state: { plan: { objectName: string }; run: { runId: string } },
  step: string,
  what: string,
  sql: string | string[],
  parameters?: Record<string, string>,
): StatementRequest {
  const { plan, run } = state;
  return {
    what: `${plan.objectName}: ${what}`,
    name: statementNameFor(prefix, plan.objectName, step, run.runId),
    idempotencyKey: `${run.runId}/${plan.objectName}/${step}`,
    sql,
    ...(parameters ? { parameters } : {}),
  };
}
