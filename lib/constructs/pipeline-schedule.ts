import { Duration, Stack, TimeZone, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Schedule, ScheduleExpression, ScheduleTargetInput, TimeWindow } from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

/** What the schedule sends: a tick, which runs only the objects that are due (DESIGN.md). */
export const SCHEDULED_INPUT = { scheduled: true } as const;

export interface PipelineScheduleProps {
  /** The pipeline's state machine: each tick starts one execution of it. */
  readonly stateMachine: IStateMachine;
  /** The ticks' cron, read in `timeZone` (lib/config.ts derives it from the daily time and the tick). */
  readonly expression: string;
  /** IANA time zone the cron is read in: a daily 05:00 stays 05:00 across daylight saving time. */
  readonly timeZone: string;
  /**
   * Minutes between two ticks: a start is retried for at most that long (the next tick supersedes
   * it); one still failing then goes to the dead-letter queue, which raises ScheduleStartsFailed.
   */
  readonly tickMinutes: number;
  /** Names the schedule (`<name>-tick`) and says whose it is. */
  readonly name: string;
  /**
   * Attempts after a failed start (throttled, the account's open-execution limit), with backoff.
   * @default 10
   */
  readonly retryAttempts?: number;
}

/**
 * The pipeline's tick (issue 20): an EventBridge Scheduler schedule that starts the state machine
 * with `{"scheduled": true}` every `tickMinutes`, in the environment's time zone. It assumes its own
 * role, which may start this one state machine and write to its dead-letter queue, nothing else. A
 * start that still fails after the retries lands in the queue (the `ScheduleStartsFailed` alarm).
 */
export class PipelineSchedule extends Construct {
  readonly schedule: Schedule;
  readonly role: Role;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: PipelineScheduleProps) {
    super(scope, id);
    const stack = Stack.of(this);
    // Scheduler keeps the failed start's request here: the input and the error, for 14 days.
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "This queue is the schedule's dead-letter queue: it holds starts that failed, and nothing consumes it to fail again",
    });
    // Only EventBridge Scheduler of this account, for schedules of its default group (AWS's confused-deputy guidance).
    this.role = new Role(this, 'Role', {
      description: `Starts ${props.name} on its schedule (EventBridge Scheduler)`,
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': stack.account,
            'aws:SourceArn': stack.formatArn({
              service: 'scheduler',
              resource: 'schedule-group',
              resourceName: 'default',
            }),
          },
        },
      }),
    });
    const target = new StepFunctionsStartExecution(props.stateMachine, {
      role: this.role,
      input: ScheduleTargetInput.fromObject(SCHEDULED_INPUT),
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts: props.retryAttempts ?? 10,
      // A start later than one tick is superseded by the next tick, which runs whatever is due.
      maxEventAge: Duration.minutes(Math.min(Math.max(props.tickMinutes, 1), 24 * 60)),
    });
    this.schedule = new Schedule(this, 'Schedule', {
      scheduleName: `${props.name}-tick`,
      description: `Tick of ${props.name}: starts it with {"scheduled": true}; it runs the objects that are due`,
      schedule: ScheduleExpression.expression(props.expression, TimeZone.of(props.timeZone)),
      target,
      timeWindow: TimeWindow.off(),
    });
  }
}
