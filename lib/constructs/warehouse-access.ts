import { Arn, ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config';

export interface WarehouseAccessProps {
  /** The Redshift target of the environment. */
  readonly redshift: EnvironmentConfig['redshift'];
  readonly stagingSchema: string;
  readonly finalSchema: string;
}

/**
 * Least-privilege Redshift Data API access: statements only against the configured
 * cluster or workgroup, the one credentials secret, and only the caller's own statements.
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

  /** Grants statement rights and sets the `REDSHIFT_*`, `STAGING_SCHEMA` and `FINAL_SCHEMA` variables the handler reads. */
  grantStatementsTo(fn: LambdaFunction): void {
    const redshift = this.props.redshift;
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['redshift-data:ExecuteStatement', 'redshift-data:BatchExecuteStatement'],
        resources: [this.targetArn],
      }),
    );
    fn.addToRolePolicy(
      new PolicyStatement({
        // These actions name no resource type; the condition limits them to the function's own statements.
        actions: [
          'redshift-data:DescribeStatement',
          'redshift-data:GetStatementResult',
          'redshift-data:CancelStatement',
        ],
        resources: ['*'],
        // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, resolved by IAM, not by JavaScript
        conditions: { StringEquals: { 'redshift-data:statement-owner-iam-userid': '${aws:userid}' } },
      }),
    );
    fn.addToRolePolicy(
      new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [this.secretArnPattern] }),
    );
    if (fn.role) {
      Validations.of(fn.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'redshift-data:DescribeStatement/GetStatementResult/CancelStatement and the X-Ray tracing actions support no resource types; the Data API ones are limited to statements this role ran (statement-owner-iam-userid)',
      });
    }
    fn.addEnvironment('REDSHIFT_DATABASE', redshift.database);
    fn.addEnvironment('REDSHIFT_SECRET_ID', redshift.secretName);
    if (redshift.kind === 'serverless') fn.addEnvironment('REDSHIFT_WORKGROUP_NAME', redshift.workgroupName);
    else fn.addEnvironment('REDSHIFT_CLUSTER_IDENTIFIER', redshift.clusterIdentifier);
    fn.addEnvironment('STAGING_SCHEMA', this.props.stagingSchema);
    fn.addEnvironment('FINAL_SCHEMA', this.props.finalSchema);
  }

  /** For the precheck: the secret must exist. */
  grantDescribeSecretTo(fn: LambdaFunction): void {
    fn.addToRolePolicy(
      new PolicyStatement({ actions: ['secretsmanager:DescribeSecret'], resources: [this.secretArnPattern] }),
    );
  }
}
