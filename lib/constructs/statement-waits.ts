import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction as LambdaTarget } from 'aws-cdk-lib/aws-events-targets';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { STATEMENT_ENDED_DETAIL_TYPE, STATEMENT_EVENT_SOURCE } from '../../lambdas/common/statement-waits';
import { grantTaskAnswers } from './flow-run-waits';

export interface StatementWaitsProps {
  /** The function the state machine calls with `.waitForTaskToken` (await-statement). */
  readonly awaitFunction: LambdaFunction;
  /** The function the Data API's end-of-statement events invoke (statement-ended). */
  readonly endedFunction: LambdaFunction;
  /** The pipeline's statements are named `<prefix>-…`: the rule listens to those only. */
  readonly statementNamePrefix: string;
}

/**
 * Waiting on a slow warehouse without a Lambda waiting (issue 19): a step whose statement outlives
 * its time budget hands the statement to the state machine, which waits on a task token stored here
 * under the statement's id; the Data API's "Redshift Data Statement Status Change" event (sent for
 * statements submitted `WithEvent`) answers it. Token and end meet in one item, in either order.
 */
export class StatementWaits extends Construct {
  readonly table: Table;
  readonly endedRule: Rule;

  constructor(scope: Construct, id: string, props: StatementWaitsProps) {
    super(scope, id);
    // Tokens of waits in progress and ends nobody waited for, gone within a day (TTL).
    this.table = new Table(this, 'Table', {
      partitionKey: { name: 'statementId', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.table).acknowledge({
      id: 'AwsSolutions-DDB3',
      reason:
        'Holds only task tokens of statement waits in progress, expiring within a day; a restore would bring back dead tokens',
    });
    for (const fn of [props.awaitFunction, props.endedFunction]) {
      // Each side writes its half and reads the other's (UpdateItem ALL_OLD), then forgets the item.
      this.table.grant(fn, 'dynamodb:UpdateItem', 'dynamodb:DeleteItem');
      fn.addEnvironment('STATEMENT_WAITS_TABLE_NAME', this.table.tableName);
      grantTaskAnswers(fn, ['states:SendTaskSuccess']);
    }
    // The Data API publishes to the account's default bus; only the pipeline's statements matter.
    this.endedRule = new Rule(this, 'StatementEnded', {
      description: "The Data API's end of the pipeline's statements: ends the execution's wait",
      eventPattern: {
        source: [STATEMENT_EVENT_SOURCE],
        detailType: [STATEMENT_ENDED_DETAIL_TYPE],
        detail: { statementName: [{ prefix: `${props.statementNamePrefix}-` }] },
      },
      targets: [new LambdaTarget(props.endedFunction, { retryAttempts: 8, maxEventAge: Duration.hours(2) })],
    });
  }
}
