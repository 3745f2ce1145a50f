import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { RUN_STATE_PREFIX } from '../../lambdas/common/run-state';

export interface RunStateBucketProps {
  /**
   * Days a run's files (plan, Map results, full report) are kept. They serve reruns and
   * investigations of recent runs; the warehouse's audit table keeps the lasting record.
   * @default 30
   */
  readonly retentionDays?: number;
  /**
   * Keep the bucket when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Where each execution keeps what would not fit in Step Functions' 256 KB state payload, under
 * `runs/<execution name>/`: the run plan the Distributed Map reads its items from, the rejected
 * rows, the Map Run's results (ResultWriter) and the full run report.
 */
export class RunStateBucket extends Construct {
  readonly bucket: Bucket;
  /** The key pattern every grant is scoped to. */
  readonly runObjectsArn: string;

  constructor(scope: Construct, id: string, props: RunStateBucketProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      removalPolicy,
      autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
      lifecycleRules: [
        {
          prefix: RUN_STATE_PREFIX,
          expiration: Duration.days(props.retentionDays ?? 30),
          // ResultWriter writes large result files in parts; a failed upload's parts cost until removed.
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
    this.runObjectsArn = this.bucket.arnForObjects(`${RUN_STATE_PREFIX}*`);
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        "Holds only the pipeline's own run files (plans, Map results, reports), written and read by its roles and expired after the retention days; CloudTrail data events audit it where an account requires object-level logs",
    });
  }
}
