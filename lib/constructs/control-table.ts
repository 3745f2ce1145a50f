import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

/** The DynamoDB operations the handlers send to the control table (lambdas/common/control-table.ts). */
export type ControlTableOperation = 'Scan' | 'GetItem' | 'UpdateItem';

export interface ControlTableProps {
  /**
   * Keep the table (and every object's watermark) when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** One row per source object (DESIGN.md control-table contract), partition key `objectName`. */
export class ControlTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string, props: ControlTableProps = {}) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: 'objectName', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }

  /**
   * Grants exactly the item operations the function sends (no stream, batch or table-level
   * actions: the table has no stream and the handlers use none) and sets `CONTROL_TABLE_NAME`.
   */
  grantOperationsTo(fn: LambdaFunction, operations: readonly ControlTableOperation[]): void {
    this.table.grant(fn, ...operations.map((operation) => `dynamodb:${operation}`));
    fn.addEnvironment('CONTROL_TABLE_NAME', this.table.tableName);
  }
}
