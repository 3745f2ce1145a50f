import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/**
 * What AppFlow may do in a bucket it writes to, as the AppFlow User Guide lists it
 * (https://docs.aws.amazon.com/appflow/latest/userguide/s3-policies-management.html).
 */
export const APPFLOW_STAGING_BUCKET_ACTIONS = [
  's3:PutObject',
  's3:AbortMultipartUpload',
  's3:ListMultipartUploadParts',
  's3:ListBucketMultipartUploads',
  's3:GetBucketAcl',
  's3:PutObjectAcl',
] as const;

/** Tags every temporary flow carries (lambdas/common/flow-definition.ts); CreateFlow is granted only with them. */
export const REQUIRED_FLOW_TAG_KEYS = ['saas-to-redshift:object', 'saas-to-redshift:run-id'] as const;
/** Every tag key a flow may carry: the required ones and the custom connector's label. */
export const FLOW_TAG_KEYS = [...REQUIRED_FLOW_TAG_KEYS, 'saas-to-redshift:connector-label'] as const;

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
 * configured connector profiles where IAM has a resource type for the action, and to the
 * pipeline's flow tags where it has none (CreateFlow); plus the bucket AppFlow writes
 * through on its way to Redshift.
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
    // AppFlow's documented bucket policy for a bucket it writes to (the Redshift destination's
    // intermediate bucket and its error records are such writes): exactly these actions; no reads
    // or deletes. https://docs.aws.amazon.com/appflow/latest/userguide/s3-policies-management.html
    // aws:SourceAccount keeps other accounts' flows out (confused deputy); the guide documents no
    // aws:SourceArn for these writes, so the condition does not rely on it.
    this.stagingBucket.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowAppFlowDestinationActions',
        principals: [new ServicePrincipal('appflow.amazonaws.com')],
        actions: [...APPFLOW_STAGING_BUCKET_ACTIONS],
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
    // CreateFlow supports no resource type in IAM: a flow ARN in Resource allows nothing. It is
    // granted on "*" and narrowed by the tags every flow is created with (flow-definition.ts).
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['appflow:CreateFlow'],
        resources: ['*'],
        conditions: {
          Null: Object.fromEntries(REQUIRED_FLOW_TAG_KEYS.map((key) => [`aws:RequestTag/${key}`, 'false'])),
          'ForAllValues:StringEquals': { 'aws:TagKeys': [...FLOW_TAG_KEYS] },
        },
      }),
    );
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: [
          'appflow:StartFlow',
          'appflow:DescribeFlow',
          'appflow:DescribeFlowExecutionRecords',
          'appflow:DeleteFlow',
        ],
        resources: [this.flowArnPattern],
      }),
    );
    // CreateFlow uses the source and destination profiles; StartExtract describes the source's fields.
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['appflow:UseConnectorProfile', 'appflow:DescribeConnectorEntity'],
        resources: this.connectorProfileArns,
      }),
    );
    this.acknowledgeFlowPrefix(fn);
    this.acknowledgeWildcardOnly(
      fn,
      `appflow:CreateFlow supports no resource type (wildcard only); the grant requires the pipeline's flow tags (${REQUIRED_FLOW_TAG_KEYS.join(', ')}) and allows no other tag keys`,
    );
    fn.addEnvironment('DEFAULT_CONNECTOR_PROFILE', this.props.defaultConnectorProfileName);
    fn.addEnvironment('FLOW_NAME_PREFIX', this.props.flowNamePrefix);
    fn.addEnvironment('REDSHIFT_CONNECTOR_PROFILE', this.props.redshiftConnectorProfileName);
    fn.addEnvironment('STAGING_BUCKET_NAME', this.stagingBucket.bucketName);
    fn.addEnvironment('DATA_TRANSFER_API', this.props.dataTransferApi);
  }

  /** Only what watching a flow run needs: its execution records. */
  grantFlowStatusTo(fn: LambdaFunction): void {
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['appflow:DescribeFlowExecutionRecords'],
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

  /** The precheck lists the connector profiles to see that the configured ones exist. */
  grantListConnectorProfilesTo(fn: LambdaFunction): void {
    fn.addToRolePolicy(
      new PolicyStatement({ actions: ['appflow:DescribeConnectorProfiles'], resources: ['*'] }),
    );
    this.acknowledgeWildcardOnly(
      fn,
      'appflow:DescribeConnectorProfiles supports no resource type and no condition key (wildcard only); it only reads profile metadata, never credentials',
    );
  }

  private acknowledgeFlowPrefix(fn: LambdaFunction): void {
    if (!fn.role) return;
    const stack = Stack.of(this);
    Validations.of(fn.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:appflow:${stack.region}:${stack.account}:flow/${this.props.flowNamePrefix}-*]`,
      reason: `Temporary flows are named <prefix>-<object>-<run id> at run time; the wildcard is limited to the "${this.props.flowNamePrefix}-" prefix`,
    });
  }

  private acknowledgeWildcardOnly(fn: LambdaFunction, reason: string): void {
    if (fn.role) Validations.of(fn.role).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason });
  }
}
