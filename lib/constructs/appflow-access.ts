import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface AppFlowAccessProps {
  /** Prefix of every temporary flow's name; IAM is scoped to it. */
  readonly flowNamePrefix: string;
  /** Source connector profile used when a control row names none. */
  readonly defaultConnectorProfileName: string;
  /** Other source profiles rows may name. */
  readonly additionalConnectorProfileNames: string[];
  readonly redshiftConnectorProfileName: string;
  /** Name of the S3 bucket AppFlow stages Redshift loads through. */
  readonly stagingBucketName: string;
  readonly dataTransferApi: string;
  /**
   * Keep the staging bucket when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The flow lifecycle's permissions, scoped to flows named `<prefix>-…` and to the
 * configured connector profiles, plus the bucket AppFlow writes through on its way to Redshift.
 */
export class AppFlowAccess extends Construct {
  readonly stagingBucket: Bucket;
  readonly flowArnPattern: string;
  readonly connectorProfileArns: string[];
  /** Every connector profile the pipeline uses: sources and the Redshift destination. */
  readonly connectorProfileNames: string[];

  constructor(
    scope: Construct,
    id: string,
    private readonly props: AppFlowAccessProps,
  ) {
    super(scope, id);
    const stack = Stack.of(this);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.stagingBucket = new Bucket(this, 'StagingBucket', {
      bucketName: props.stagingBucketName,
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      removalPolicy,
      autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
      // Intermediate files are only needed while a flow runs; error files for a week of debugging.
      lifecycleRules: [{ expiration: Duration.days(7) }],
    });
    Validations.of(this.stagingBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        "Holds only AppFlow's intermediate load files and error records, which expire after 7 days; no person reads or writes it",
    });
    this.stagingBucket.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('appflow.amazonaws.com')],
        actions: [
          's3:PutObject',
          's3:GetObject',
          's3:ListBucket',
          's3:DeleteObject',
          's3:AbortMultipartUpload',
          's3:GetBucketAcl',
          's3:PutObjectAcl',
        ],
        resources: [this.stagingBucket.bucketArn, this.stagingBucket.arnForObjects('*')],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    this.flowArnPattern = stack.formatArn({
      service: 'appflow',
      resource: 'flow',
      resourceName: `${props.flowNamePrefix}-*`,
    });
    const profiles = [
      props.defaultConnectorProfileName,
      ...props.additionalConnectorProfileNames,
      props.redshiftConnectorProfileName,
    ];
    this.connectorProfileNames = [...new Set(profiles)];
    this.connectorProfileArns = this.connectorProfileNames.map((name) =>
      stack.formatArn({ service: 'appflow', resource: 'connectorprofile', resourceName: name }),
    );
  }

  /** Create, start, watch and delete the temporary flows; sets the variables the handlers read. */
  grantFlowLifecycleTo(fn: LambdaFunction): void {
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: [
          'appflow:CreateFlow',
          'appflow:StartFlow',
          'appflow:DescribeFlow',
          'appflow:DescribeFlowExecutionRecords',
          'appflow:DeleteFlow',
          'appflow:TagResource',
        ],
        resources: [this.flowArnPattern],
      }),
    );
    this.acknowledgeFlowPrefix(fn);
    this.grantDescribeSourceTo(fn);
    fn.addEnvironment('FLOW_NAME_PREFIX', this.props.flowNamePrefix);
    fn.addEnvironment('REDSHIFT_CONNECTOR_PROFILE', this.props.redshiftConnectorProfileName);
    fn.addEnvironment('STAGING_BUCKET_NAME', this.stagingBucket.bucketName);
    fn.addEnvironment('DATA_TRANSFER_API', this.props.dataTransferApi);
  }

  /** Only what watching a flow run needs. */
  grantFlowStatusTo(fn: LambdaFunction): void {
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['appflow:DescribeFlow', 'appflow:DescribeFlowExecutionRecords'],
        resources: [this.flowArnPattern],
      }),
    );
    this.acknowledgeFlowPrefix(fn);
  }

  /** Only what deleting a run's flows needs. */
  grantFlowCleanupTo(fn: LambdaFunction): void {
    fn.addToRolePolicy(
      new PolicyStatement({ actions: ['appflow:DeleteFlow'], resources: [this.flowArnPattern] }),
    );
    this.acknowledgeFlowPrefix(fn);
    fn.addEnvironment('FLOW_NAME_PREFIX', this.props.flowNamePrefix);
  }

  private acknowledgeFlowPrefix(fn: LambdaFunction): void {
    if (!fn.role) return;
    const stack = Stack.of(this);
    Validations.of(fn.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:appflow:${stack.region}:${stack.account}:flow/${this.props.flowNamePrefix}-*]`,
      reason: `Temporary flows are named <prefix>-<object>-<run id> at run time; the wildcard is limited to the "${this.props.flowNamePrefix}-" prefix`,
    });
  }

  /** Read source metadata through the configured connector profiles. */
  grantDescribeSourceTo(fn: LambdaFunction): void {
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: [
          'appflow:UseConnectorProfile',
          'appflow:DescribeConnectorEntity',
          'appflow:DescribeConnectorProfiles',
        ],
        resources: this.connectorProfileArns,
      }),
    );
    fn.addEnvironment('DEFAULT_CONNECTOR_PROFILE', this.props.defaultConnectorProfileName);
  }
}
