import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction as LambdaTarget } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { FLOW_RUN_ENDED_DETAIL_TYPE } from '../../lambdas/common/flow-waits';

export interface FlowRunWaitsProps {
  /** The function the state machine calls with `.waitForTaskToken`: stores the token (await-flow-run). */
  readonly awaitFunction: LambdaFunction;
  /** The function AppFlow's end-of-run events and the sweep schedule invoke (flow-run-ended). */
  readonly endedFunction: LambdaFunction;
  /** The pipeline's temporary flows: the rule listens to these flows' events only. */
  readonly flowNamePrefix: string;
  /**
   * How often the sweep looks at every waiting flow: the latest a lost end-of-run event is
   * noticed, and the heartbeat that keeps long waits alive (keep it below `heartbeat`).
   * @default Duration.minutes(15)
   */
  readonly sweepInterval?: Duration;
  /**
   * How long a wait may go without a heartbeat before the child reads the flow's status itself.
   * @default Duration.hours(1)
   */
  readonly heartbeat?: Duration;
}

/**
 * Event-driven flow completion (issue 13): a child execution waits on its flow's run with a
 * task token stored here under the flow's name; AppFlow's "End Flow Run Report" event, or the
 * sweep that catches a lost one, sends the outcome. A child's history stays flat however long
 * its flow runs.
 */
export class FlowRunWaits extends Construct {
  readonly table: Table;
  readonly heartbeat: Duration;
  readonly endedRule: Rule;
  readonly sweepRule: Rule;

  constructor(scope: Construct, id: string, props: FlowRunWaitsProps) {
    super(scope, id);
    const sweepInterval = props.sweepInterval ?? Duration.minutes(15);
    this.heartbeat = props.heartbeat ?? Duration.hours(1);
    if (sweepInterval.toSeconds() >= this.heartbeat.toSeconds()) {
      throw new Error(
        `FlowRunWaits: the sweep (every ${sweepInterval.toHumanString()}) must beat more often than the heartbeat timeout (${this.heartbeat.toHumanString()})`,
      );
    }
    // Task tokens of waits in progress, gone a day after their deadline (TTL): nothing to keep or restore.
    this.table = new Table(this, 'Table', {
      partitionKey: { name: 'flowName', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.table).acknowledge({
      id: 'AwsSolutions-DDB3',
      reason:
        'Holds only task tokens of waits in progress, expiring a day after their deadline; a restore would bring back dead tokens',
    });

    this.table.grant(props.awaitFunction, 'dynamodb:PutItem', 'dynamodb:DeleteItem');
    this.table.grant(props.endedFunction, 'dynamodb:GetItem', 'dynamodb:Scan', 'dynamodb:DeleteItem');
    grantTaskAnswers(props.awaitFunction, ['states:SendTaskSuccess', 'states:SendTaskFailure']);
    grantTaskAnswers(props.endedFunction, [
      'states:SendTaskSuccess',
      'states:SendTaskFailure',
      'states:SendTaskHeartbeat',
    ]);
    for (const fn of [props.awaitFunction, props.endedFunction]) {
      fn.addEnvironment('FLOW_WAITS_TABLE_NAME', this.table.tableName);
    }

    // AppFlow publishes to the account's default bus; only this pipeline's flows matter here.
    this.endedRule = new Rule(this, 'FlowRunEnded', {
      description: "AppFlow's end-of-run report of the pipeline's flows: ends the child's wait",
      eventPattern: {
        source: ['aws.appflow'],
        detailType: [FLOW_RUN_ENDED_DETAIL_TYPE],
        detail: { 'flow-name': [{ prefix: `${props.flowNamePrefix}-` }] },
      },
      targets: [new LambdaTarget(props.endedFunction, { retryAttempts: 8, maxEventAge: Duration.hours(2) })],
    });
    this.sweepRule = new Rule(this, 'Sweep', {
      description: 'Settles flow waits whose end-of-run event was lost; heartbeats the running ones',
      schedule: Schedule.rate(sweepInterval),
      targets: [new LambdaTarget(props.endedFunction, { retryAttempts: 0 })],
    });
  }
}

/**
 * SendTask* support no resource type (Service Authorization Reference): a task token is the
 * credential, so these can only be granted on `*`.
 */
export function grantTaskAnswers(fn: LambdaFunction, actions: string[]): void {
  fn.addToRolePolicy(new PolicyStatement({ actions, resources: ['*'] }));
  Validations.of(fn.role!).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: `${actions.join(', ')} ${actions.length === 1 ? 'supports' : 'support'} no resource type; the task token is the credential`,
  });
}
