import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export interface RunAlarmsProps {
  readonly stateMachine: StateMachine;
  /**
   * Where alarms and failed-run reports go by e-mail.
   * @default no subscription: subscribe to the topic yourself
   */
  readonly alarmEmail?: string;
}

/**
 * An encrypted topic for operators (failed-run reports arrive through an EventBridge
 * rule), and an alarm per way an execution can end badly:
 * failed (an object or a step failed), timed out, aborted (someone stopped it).
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
    const metrics = {
      ExecutionsFailed: sm.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }),
      ExecutionsTimedOut: sm.metricTimedOut({ period: Duration.minutes(5), statistic: 'Sum' }),
      ExecutionsAborted: sm.metricAborted({ period: Duration.minutes(5), statistic: 'Sum' }),
    };
    const action = new SnsAction(this.topic);
    this.alarms = Object.entries(metrics).map(([name, metric]) => {
      const alarm = new Alarm(this, name, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `${name} of ${sm.stateMachineName}: see the execution's RunFailed cause or its report`,
      });
      alarm.addAlarmAction(action);
      return alarm;
    });
  }
}
