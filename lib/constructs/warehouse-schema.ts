import { createHash } from 'node:crypto';
import * as path from 'node:path';
import {
  type CfnElement,
  CustomResource,
  Duration,
  type RemovalPolicy,
  Stack,
  Validations,
} from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Provider } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { readSqlFiles, type SqlFile } from '../../lambdas/common/sql-files';
import { MAX_BATCH_STATEMENTS } from '../../lambdas/common/warehouse';
import { PipelineFunction } from './pipeline-function';
import type { WarehouseAccess } from './warehouse-access';

export const SQL_DIR = path.join(__dirname, '..', '..', 'sql');

export interface WarehouseSchemaProps {
  readonly warehouse: WarehouseAccess;
  /**
   * Folder of the DDL and procedures, applied in lexical order.
   * @default the project's `sql/`
   */
  readonly sqlDir?: string;
  /**
   * What happens to the functions' log groups when the stack goes.
   * @default RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/** The Data API's statement size limit (BatchExecuteStatement also takes at most 40 of them). */
export const MAX_STATEMENT_BYTES = 100_000;

/**
 * `sql/` goes to Redshift as one batch (one transaction), so it must fit the Data API's
 * limits; a synth that would only fail at deploy time fails here, naming the file.
 */
export function assertWithinDataApiLimits(files: SqlFile[]): void {
  const count = files.reduce((sum, file) => sum + file.statements.length, 0);
  if (count > MAX_BATCH_STATEMENTS) {
    throw new Error(
      `sql/ has ${count} statements; the Data API's BatchExecuteStatement takes at most ${MAX_BATCH_STATEMENTS}: merge statements or files`,
    );
  }
  for (const file of files) {
    for (const statement of file.statements) {
      const bytes = Buffer.byteLength(statement, 'utf8');
      if (bytes > MAX_STATEMENT_BYTES) {
        throw new Error(
          `${file.file}: a statement of ${bytes} bytes exceeds the Data API's ${MAX_STATEMENT_BYTES}-byte statement limit`,
        );
      }
    }
  }
}

/**
 * Applies `sql/` to the configured Redshift on every deploy whose SQL changed, through
 * the Data API, waiting for the result: a SQL error fails the deploy, so the procedure
 * in the warehouse always matches the code. The files are idempotent; deleting the
 * stack leaves the warehouse as it is.
 */
export class WarehouseSchema extends Construct {
  readonly statementCount: number;

  constructor(scope: Construct, id: string, props: WarehouseSchemaProps) {
    super(scope, id);
    const files = readSqlFiles(props.sqlDir ?? SQL_DIR);
    assertWithinDataApiLimits(files);
    const statements = files.flatMap((file) => file.statements);
    this.statementCount = statements.length;
    // One role for both functions, on purpose: the Data API lets only the IAM role that submitted a
    // statement look at it (any session of that role), so StatusFunction, which describes the batch
    // ApplyFunction submitted, must run as the submitting role (issue 19 gave up separate roles for
    // this). It thus holds what submitting needs, BatchExecuteStatement on the warehouse and
    // GetSecretValue on its secret, though it never calls them; the role's DescribeStatement is
    // limited to its own statements (statement-owner-iam-userid).
    const role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    const onEvent = new PipelineFunction(this, 'ApplyFunction', {
      role,
      handlerFile: 'apply-warehouse-sql',
      description: 'Submits sql/ to Redshift through the Data API (custom resource)',
      logRetention: RetentionDays.ONE_MONTH,
      logRemovalPolicy: props.logRemovalPolicy,
    });
    const isComplete = new PipelineFunction(this, 'StatusFunction', {
      role,
      handlerFile: 'apply-warehouse-sql-status',
      description: 'Waits for the sql/ batch to finish (custom resource)',
      logRetention: RetentionDays.ONE_MONTH,
      logRemovalPolicy: props.logRemovalPolicy,
    });
    // onEvent submits the batch; isComplete looks at it, as the same role (another session of it).
    props.warehouse.grantStatementsTo(onEvent, { batch: true });
    props.warehouse.grantStatementStatusTo(isComplete, role);
    // Its bundle shares the warehouse helpers, which read these variables when called.
    props.warehouse.addEnvironmentTo(isComplete);
    const provider = new Provider(this, 'Provider', {
      onEventHandler: onEvent,
      isCompleteHandler: isComplete,
      queryInterval: Duration.seconds(10),
      totalTimeout: Duration.minutes(15),
    });
    acknowledgeProviderFramework(provider, [onEvent, isComplete]);
    new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::WarehouseSchema',
      properties: {
        Statements: statements,
        // Changes whenever a statement does, so CloudFormation sends an Update.
        SqlSha256: createHash('sha256').update(statements.join('\n;\n')).digest('hex'),
      },
    });
  }
}

/** The custom-resource framework is CDK's own code: its roles, runtime and waiter are not ours to shape. */
function acknowledgeProviderFramework(provider: Provider, handlers: PipelineFunction[]): void {
  const stack = Stack.of(provider);
  const reason =
    'CDK custom-resource Provider framework (aws-cdk-lib/custom-resources): CDK manages these roles and the waiter';
  const lambdaArns = [
    ...handlers,
    ...provider.node.findAll().filter((c): c is LambdaFunction => c instanceof LambdaFunction),
  ];
  const ids = [
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    'AwsSolutions-L1',
    'AwsSolutions-SF1',
    'AwsSolutions-SF2',
    ...lambdaArns.map(
      (fn) =>
        `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(fn.node.defaultChild as CfnElement)}.Arn>:*]`,
    ),
  ];
  for (const id of ids) Validations.of(provider).acknowledge({ id, reason });
}
