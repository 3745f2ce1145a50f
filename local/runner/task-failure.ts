import type { TaskAnswer } from '../stand-ins/step-functions-stand-in';

/**
 * A task's failure as Step Functions raises it in the state machine (`Error`, `Cause`).
 *
 * aws-local-stepfunctions asks what a Task throws whether it `isRetryable` and `isCatchable`, and
 * takes an error that does not say for both. `States.Runtime` is neither, as in AWS: no Retry and
 * no Catch (not `States.ALL`, not its own name) stops it failing the execution.
 */
export class TaskFailure extends Error {
  readonly isRetryable: boolean;
  readonly isCatchable: boolean;

  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
    const terminal = name === STATES_RUNTIME;
    this.isRetryable = !terminal;
    this.isCatchable = !terminal;
  }
}

const STATES_RUNTIME = 'States.Runtime';

/** What Step Functions raises for a state it cannot run (e.g. a timeout path that holds no positive integer). */
export function statesRuntimeError(cause: string): TaskFailure {
  return new TaskFailure(STATES_RUNTIME, cause);
}

/**
 * A `TimeoutSecondsPath` or `HeartbeatSecondsPath` value as Step Functions takes it: a positive
 * integer; anything else (missing included) fails the execution with States.Runtime.
 */
export function secondsAtPath(what: string, path: string, value: unknown): number {
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  throw statesRuntimeError(
    `${what}: ${path} must hold a positive integer of seconds, found ${value === undefined ? 'nothing' : JSON.stringify(value)}`,
  );
}

/** How a token task ended, as the state machine sees it: its output, or its error thrown. */
export function taskResult(answer: TaskAnswer): unknown {
  switch (answer.kind) {
    case 'success':
      return answer.output;
    case 'failure':
      throw new TaskFailure(answer.error, answer.cause);
    case 'timed-out':
      throw new TaskFailure(
        answer.error,
        `The task's ${answer.error === 'States.Timeout' ? 'timeout' : 'heartbeat timeout'} elapsed`,
      );
  }
}
