import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  MathExpression,
  type MetricOptions,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { environmentMetric, objectsOverdueMetric } from './environment-metrics';

export interface RunAlarmsProps {
  readonly stateMachine: StateMachine;
  /**
   * Where alarms and failed-run reports go by e-mail.
   * @default no subscription: subscribe to the topic yourself
   */
  readonly alarmEmail?: string;
  /**
   * The environment: the `environment` dimension of the `ObjectsOverdue` metric ReportRun emits.
   * @default no ObjectsOverdue alarm
   */
  readonly environmentName?: string;
  /**
   * The schedule's dead-letter queue (PipelineSchedule): a tick whose start failed lands there.
   * @default no ScheduleStartsFailed alarm
   */
  readonly scheduleDeadLetterQueue?: IQueue;
}

const EXECUTION_METRIC_OPTIONS = { period: Duration.minutes(5), statistic: 'Sum' } satisfies MetricOptions;

/** The ways an execution ends badly, each an alarm: its name, its id in the expression, its metric. */
const EXECUTION_ENDINGS = [
  {
    name: 'ExecutionsFailed',
    id: 'failed',
    metric: (sm: StateMachine) => sm.metricFailed(EXECUTION_METRIC_OPTIONS),
  },
  {
    name: 'ExecutionsTimedOut',
    id: 'timedOut',
    metric: (sm: StateMachine) => sm.metricTimedOut(EXECUTION_METRIC_OPTIONS),
  },
  {
    name: 'ExecutionsAborted',
    id: 'aborted',
    metric: (sm: StateMachine) => sm.metricAborted(EXECUTION_METRIC_OPTIONS),
  },
] as const;

/**
 * Executions that ended badly, per period, with a datapoint only where some execution ended badly or
 * succeeded: IF without a false value drops the periods in which nothing ended, FILL defines the sum
 * where only one of the two metrics has data. With missing data ignored, the quiet periods between
 * ticks keep the alarm's state, so a failure repeated every tick is one alarm, not ALARM and OK in
 * turn (an e-mail each time); the first execution that succeeds clears it (a tick with nothing due
 * succeeds too).
 */
function executionEndingsMetric(id: string, endedBadly: IMetric, succeeded: IMetric): MathExpression {
  return new MathExpression({
    expression: `IF(FILL(${id}, 0) + FILL(succeeded, 0) > 0, FILL(${id}, 0))`,
    usingMetrics: { [id]: endedBadly, succeeded },
    period: EXECUTION_METRIC_OPTIONS.period,
    label: `${id} executions (periods in which an execution ended)`,
  });
}

/**
 * An encrypted topic for operators (failed-run reports arrive through an EventBridge
 * rule), and an alarm per way an execution can end badly, each holding its state until an
 * execution succeeds: failed (an object or a step failed), timed out, aborted (someone stopped it). With the
 * environment's name, an alarm on objects that fall behind their cadence (`ObjectsOverdue`); with
 * the schedule's dead-letter queue, one on ticks that never started.
 */
export class RunAlarms extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[];

  constructor(scope: Construct, id: string, props: RunAlarmsProps) {
    super(scope, id);
    const key = new Key(this, 'TopicKey', {
      enableKeyRotation: true,
      description: 'Encrypts the SaaS-to-Redshift alarm topic',
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // CloudWatch alarms publish through the key; the AWS-managed SNS key would refuse them.
    key.grantEncryptDecrypt(new ServicePrincipal('cloudwatch.amazonaws.com'));
    key.grantEncryptDecrypt(new ServicePrincipal('events.amazonaws.com'));
    this.topic = new Topic(this, 'Topic', {
      masterKey: key,
      enforceSSL: true,
      displayName: 'SaaS to Redshift alarms',
    });
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));

    const sm = props.stateMachine;
    const action = new SnsAction(this.topic);
    this.alarms = EXECUTION_ENDINGS.map(({ name, id, metric }) => {
      const alarm = new Alarm(this, name, {
        metric: executionEndingsMetric(id, metric(sm), sm.metricSucceeded(EXECUTION_METRIC_OPTIONS)),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // A period in which no execution ended has no datapoint: the alarm keeps its state.
        treatMissingData: TreatMissingData.IGNORE,
        alarmDescription:
          `${name} of ${sm.stateMachineName}: see the execution's RunFailed cause or its report. ` +
          'It stays in ALARM while executions keep ending so, and clears when an execution succeeds.',
      });
      alarm.addAlarmAction(action);
      return alarm;
    });

    if (props.environmentName) {
      const environment = props.environmentName;
      // Objects that failed: 1 each from RecordFailure, 0 each from FinishObject. Missing data keeps
      // the state, so a failure that repeats every tick keeps the alarm up (one e-mail), and a period
      // in which only loads happened clears it.
      const objectFailed = new Alarm(this, 'ObjectFailed', {
        metric: environmentMetric('ObjectFailed', environment, {
          statistic: 'Sum',
          period: EXECUTION_METRIC_OPTIONS.period,
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.IGNORE,
        alarmDescription:
          `ObjectFailed of ${environment}: an object failed to load; the other objects went on. ` +
          `Which and why: "npm run objects -- list --env ${environment}" (error column), the failed run's report ` +
          '(e-mailed, or "objects status <execution>"), the dashboard\'s ObjectFailed graph. Fix the cause, rerun the object ' +
          '(docs/operating.md#objectfailed). It clears when a period has loads and no failure.',
      });
      objectFailed.addAlarmAction(action);
      this.alarms.push(objectFailed);
      const overdue = new Alarm(this, 'ObjectsOverdue', {
        metric: objectsOverdueMetric(environment),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // Every run measures every object: between two runs the last measurement stands.
        treatMissingData: TreatMissingData.IGNORE,
        alarmDescription:
          `ObjectsOverdue of ${environment}: an object's lag (now minus its completeThrough) exceeds twice its cadence (in whole schedule ticks) plus its flow timeout. ` +
          `Which object: "npm run objects -- list --env ${environment}" marks it OVERDUE in the lag column; the last run report's ` +
          'overdueObjects and summary name it; the dashboard graphs FreshnessLagMinutes per object. ' +
          'Then: its last error in the list, the run report (docs/freshness.md#freshnesslagminutes-and-objectsoverdue).',
      });
      overdue.addAlarmAction(action);
      this.alarms.push(overdue);
    }
    if (props.scheduleDeadLetterQueue) {
      const startsFailed = new Alarm(this, 'ScheduleStartsFailed', {
        metric: props.scheduleDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
          statistic: 'Maximum',
          period: Duration.minutes(5),
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription:
          "ScheduleStartsFailed: a scheduled tick could not start the state machine after its retries; the schedule's dead-letter queue " +
          'holds the request and the error (docs/operating.md#what-each-alarm-means). Purge the queue once understood.',
      });
      startsFailed.addAlarmAction(action);
      this.alarms.push(startsFailed);
    }
  }
}
