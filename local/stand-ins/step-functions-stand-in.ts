import { randomBytes } from 'node:crypto';
import { type FaultInjector, injectedServiceError } from './fault-injector';
import {
  awsJson,
  HttpStandInServer,
  type JsonObject,
  requiredString,
  ServiceError,
  type ServiceRequest,
  type ServiceResponse,
  type StandInChecksOptions,
} from './http-service';

/** How a waiting task ended: the token's answer, or Step Functions' own timeout. */
export type TaskAnswer =
  | { kind: 'success'; output: unknown }
  | { kind: 'failure'; error: string; cause: string }
  | { kind: 'timed-out'; error: 'States.Timeout' | 'States.HeartbeatTimeout' };

/** DescribeExecution's statuses of a Standard execution. */
type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

interface OpenTask {
  label: string;
  heartbeats: number;
  answer: Promise<TaskAnswer>;
  settle: (answer: TaskAnswer) => void;
}

/** What Step Functions says of a token whose task has ended (settled, timed out, execution gone). */
const TASK_TIMED_OUT = 'Task Timed Out';
/** The shape of the task tokens the runner issues: anything else is InvalidToken. */
const TOKEN_PATTERN = /^[A-Za-z0-9+/=]{40,}$/;

/**
 * Step Functions' task-token API (awsJson1_0): `SendTaskSuccess`, `SendTaskFailure` and
 * `SendTaskHeartbeat` for the tokens the runner issues to `.waitForTaskToken` tasks, and
 * `DescribeExecution` for the runs the runner started. As Step Functions does, a token
 * answers once: a second answer, or one after the task timed out, is `TaskTimedOut`; a
 * well-formed token it never issued is `TaskDoesNotExist`, a malformed one `InvalidToken`; an
 * output that is not JSON is `InvalidOutput`.
 */
export class StepFunctionsStandIn {
  readonly calls: { operation: string; label?: string }[] = [];
  private readonly open = new Map<string, OpenTask>();
  private readonly closed = new Set<string>();
  private readonly executions = new Map<string, ExecutionStatus>();
  private readonly server: HttpStandInServer;

  private readonly faults: FaultInjector | undefined;

  constructor(options: StandInChecksOptions & { faults?: FaultInjector } = {}) {
    this.faults = options.faults;
    this.server = new HttpStandInServer('StepFunctions', (request) => this.handle(request), {
      awsService: 'stepfunctions',
      checks: options.checks,
    });
  }

  start(): Promise<{ url: string }> {
    return this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  /**
   * A fresh token for a task that waits (`$$.Task.Token`); its answer resolves the promise.
   * `label` names the object, so a scenario's faults on SendTask* can be narrowed to it.
   */
  issueToken(label: string): { token: string; answer: Promise<TaskAnswer> } {
    // Real tokens are long opaque base64; so are these (the model allows up to 2,048 characters).
    const token = randomBytes(96).toString('base64');
    let settle!: (answer: TaskAnswer) => void;
    const answer = new Promise<TaskAnswer>((resolve) => {
      settle = resolve;
    });
    this.open.set(token, { label, heartbeats: 0, answer, settle });
    return { token, answer };
  }

  /** Heartbeats the task got since it was issued. */
  heartbeatsOf(token: string): number {
    return this.open.get(token)?.heartbeats ?? 0;
  }

  isOpen(token: string): boolean {
    return this.open.has(token);
  }

  /** Step Functions' own end of a waiting task: its timeout or heartbeat timeout fired. */
  timeOut(token: string, error: 'States.Timeout' | 'States.HeartbeatTimeout'): void {
    this.close(token, { kind: 'timed-out', error });
  }

  /** The runner's executions, for `DescribeExecution` (the claim's look at the run holding an object). */
  setExecutionStatus(executionArn: string, status: ExecutionStatus): void {
    this.executions.set(executionArn, status);
  }

  private close(token: string, answer: TaskAnswer): void {
    const task = this.open.get(token);
    if (!task) return;
    this.open.delete(token);
    this.closed.add(token);
    task.settle(answer);
  }

  private requireOpenTask(operation: string, body: JsonObject): [string, OpenTask] {
    const token = requiredString(body, 'taskToken');
    const task = this.open.get(token);
    const fault = task ? this.faults?.take('stepfunctions', operation, task.label) : undefined;
    if (fault !== undefined) throw injectedServiceError('stepfunctions', fault);
    if (task) return [token, task];
    if (this.closed.has(token)) throw new ServiceError('TaskTimedOut', TASK_TIMED_OUT);
    if (!TOKEN_PATTERN.test(token)) throw new ServiceError('InvalidToken', 'Invalid Token');
    throw new ServiceError('TaskDoesNotExist', 'Task does not exist anymore');
  }

  private async handle(request: ServiceRequest): Promise<ServiceResponse> {
    const operation = awsJson.operationOf(request);
    try {
      switch (operation) {
        case 'SendTaskSuccess': {
          const [token, task] = this.requireOpenTask(operation, request.body);
          this.calls.push({ operation, label: task.label });
          const text = requiredString(request.body, 'output');
          let output: unknown;
          try {
            output = JSON.parse(text);
          } catch {
            throw new ServiceError('InvalidOutput', 'Invalid Output: the output is not valid JSON');
          }
          this.close(token, { kind: 'success', output });
          return awsJson.ok({});
        }
        case 'SendTaskFailure': {
          const [token, task] = this.requireOpenTask(operation, request.body);
          this.calls.push({ operation, label: task.label });
          const error = typeof request.body.error === 'string' ? request.body.error : '';
          const cause = typeof request.body.cause === 'string' ? request.body.cause : '';
          this.close(token, { kind: 'failure', error, cause });
          return awsJson.ok({});
        }
        case 'SendTaskHeartbeat': {
          const [, task] = this.requireOpenTask(operation, request.body);
          this.calls.push({ operation, label: task.label });
          task.heartbeats += 1;
          return awsJson.ok({});
        }
        case 'DescribeExecution': {
          this.calls.push({ operation });
          const executionArn = requiredString(request.body, 'executionArn');
          const status = this.executions.get(executionArn);
          if (!status)
            throw new ServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
          return awsJson.ok({ executionArn, status, startDate: Date.now() / 1000 });
        }
        default:
          throw new ServiceError(
            'UnknownOperationException',
            `Operation '${operation}' is not supported here`,
          );
      }
    } catch (error) {
      if (error instanceof ServiceError) return awsJson.error(error);
      throw error;
    }
  }
}
