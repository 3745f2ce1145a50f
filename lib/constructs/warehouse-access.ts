import { Arn, ArnFormat, Stack, Token, Validations } from 'aws-cdk-lib';
import { CfnRole, type IRole, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config';

/** The Data API calls a function makes; each grants only its own actions. */
export interface StatementUses {
  /**
   * Sends ExecuteStatement.
   * @default false
   */
  readonly execute?: boolean;
  /**
   * Sends BatchExecuteStatement.
   * @default false
   */
  readonly batch?: boolean;
  /**
   * Reads its own statements' status and results (DescribeStatement, GetStatementResult).
   * @default false
   */
  readonly readResults?: boolean;
}

/** IAM's policy variable for the caller's user id (resolved by IAM, not by JavaScript). */
// biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable
const CALLER_USER_ID = '${aws:userid}';

/** The role's unique id (AROA…), the first part of its sessions' `aws:userid`. */
function roleIdOf(role: IRole): string {
  const cfnRole = role.node.defaultChild;
  if (!(cfnRole instanceof CfnRole)) {
    throw new Error(`${role.node.path} is not a role of this stack: its id is unknown at synth time`);
  }
  return Token.asString(cfnRole.attrRoleId);
}

export interface WarehouseAccessProps {
  /** The Redshift target of the environment. */
  readonly redshift: EnvironmentConfig['redshift'];
  readonly stagingSchema: string;
  readonly finalSchema: string;
}

/**
 * Least-privilege Redshift Data API access: statements only against the configured
 * cluster or workgroup, the one credentials secret, only the Data API calls each function
 * makes, and only the caller's own statements.
 */
export class WarehouseAccess extends Construct {
  readonly targetArn: string;
  readonly secretArnPattern: string;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: WarehouseAccessProps,
  ) {
    super(scope, id);
    const stack = Stack.of(this);
    const redshift = props.redshift;
    this.targetArn =
      redshift.kind === 'serverless'
        ? stack.formatArn({
            service: 'redshift-serverless',
            resource: 'workgroup',
            resourceName: redshift.workgroupId,
            arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
          })
        : stack.formatArn({
            service: 'redshift',
            resource: 'cluster',
            resourceName: redshift.clusterIdentifier,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          });
    // Secrets Manager appends six random characters to a secret's ARN.
    this.secretArnPattern = `${Arn.format(
      {
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: redshift.secretName,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      },
      stack,
    )}-??????`;
  }

  /**
   * Grants what the function's statements need, and no more, and sets the `REDSHIFT_*`,
   * `STAGING_SCHEMA` and `FINAL_SCHEMA` variables the handler reads. Submitting a statement
   * with a secret makes the Data API read that secret as the caller, hence GetSecretValue.
   */
  grantStatementsTo(fn: LambdaFunction, uses: StatementUses): void {
    const submits = [
      ...(uses.execute ? ['redshift-data:ExecuteStatement'] : []),
      ...(uses.batch ? ['redshift-data:BatchExecuteStatement'] : []),
    ];
    if (submits.length > 0) {
      fn.addToRolePolicy(new PolicyStatement({ actions: submits, resources: [this.targetArn] }));
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: ['secretsmanager:GetSecretValue'],
          resources: [this.secretArnPattern],
        }),
      );
    }
    if (uses.readResults) {
      fn.addToRolePolicy(
        new PolicyStatement({
          // These actions name no resource type; the condition limits them to the function's own statements.
          actions: ['redshift-data:DescribeStatement', 'redshift-data:GetStatementResult'],
          resources: ['*'],
          conditions: { StringEquals: { 'redshift-data:statement-owner-iam-userid': CALLER_USER_ID } },
        }),
      );
      this.acknowledgeStatementReaders(fn);
    }
    this.addEnvironmentTo(fn);
  }

  /** The `REDSHIFT_*`, `STAGING_SCHEMA` and `FINAL_SCHEMA` variables (names only: no permission). */
  addEnvironmentTo(fn: LambdaFunction): void {
    const redshift = this.props.redshift;
    fn.addEnvironment('REDSHIFT_DATABASE', redshift.database);
    fn.addEnvironment('REDSHIFT_SECRET_ID', redshift.secretName);
    if (redshift.kind === 'serverless') fn.addEnvironment('REDSHIFT_WORKGROUP_NAME', redshift.workgroupName);
    else fn.addEnvironment('REDSHIFT_CLUSTER_IDENTIFIER', redshift.clusterIdentifier);
    fn.addEnvironment('STAGING_SCHEMA', this.props.stagingSchema);
    fn.addEnvironment('FINAL_SCHEMA', this.props.finalSchema);
  }

  /**
   * DescribeStatement on the statements another role submitted (the custom resource's
   * status function watches the batch its onEvent function sent). A role session's user id
   * is `<role id>:<session name>`, and Lambda names the session after the function.
   */
  grantStatementStatusTo(fn: LambdaFunction, submitter: IRole): void {
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['redshift-data:DescribeStatement'],
        resources: ['*'],
        conditions: {
          StringLike: { 'redshift-data:statement-owner-iam-userid': `${roleIdOf(submitter)}:*` },
        },
      }),
    );
    this.acknowledgeStatementReaders(fn);
  }

  private acknowledgeStatementReaders(fn: LambdaFunction): void {
    if (!fn.role) return;
    Validations.of(fn.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'redshift-data:DescribeStatement/GetStatementResult and the X-Ray tracing actions support no resource types; the Data API ones are limited to the statements of one role (statement-owner-iam-userid)',
    });
  }

  /** For the precheck: the secret must exist. */
  grantDescribeSecretTo(fn: LambdaFunction): void {
    fn.addToRolePolicy(
      new PolicyStatement({ actions: ['secretsmanager:DescribeSecret'], resources: [this.secretArnPattern] }),
    );
  }
}
