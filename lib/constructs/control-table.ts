import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

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

  /** Grants read access and tells the function where the table is (`CONTROL_TABLE_NAME`). */
  grantReadTo(fn: LambdaFunction): void {
    this.table.grantReadData(fn);
    fn.addEnvironment('CONTROL_TABLE_NAME', this.table.tableName);
  }

  /** Grants read/write access and sets `CONTROL_TABLE_NAME`. */
  grantReadWriteTo(fn: LambdaFunction): void {
    this.table.grantReadWriteData(fn);
    fn.addEnvironment('CONTROL_TABLE_NAME', this.table.tableName);
  }

  grantReadWrite(grantee: IGrantable): void {
    this.table.grantReadWriteData(grantee);
  }
}
