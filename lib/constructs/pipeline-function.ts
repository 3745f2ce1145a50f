import * as path from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { type IRole, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import {
  LogLevel,
  NodejsFunction,
  type NodejsFunctionProps,
  OutputFormat,
} from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

export const LAMBDAS_DIR = path.join(__dirname, '..', '..', 'lambdas');

export interface PipelineFunctionProps
  extends Omit<
    NodejsFunctionProps,
    'entry' | 'runtime' | 'architecture' | 'tracing' | 'logGroup' | 'bundling' | 'role'
  > {
  /**
   * A role shared with other functions, when they must act as one identity (the Data API lets
   * only a statement's own role look at it).
   * @default a role of its own, allowed to write its own log group only
   */
  readonly role?: IRole;
  /** Handler file name in `lambdas/`, e.g. `load-objects`. */
  readonly handlerFile: string;
  /**
   * Retention of the function's log group.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
  /**
   * What happens to the log group when the stack goes.
   * @default RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * The one Lambda construct of the project: every function gets the same runtime,
 * architecture, tracing, JSON logs in its own log group, source maps and bundling
 * (esbuild, no Docker; the AWS SDK v3 comes from the runtime).
 */
export class PipelineFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    const { handlerFile, logRetention, logRemovalPolicy, environment, role: sharedRole, ...rest } = props;
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: logRetention ?? RetentionDays.THREE_MONTHS,
      removalPolicy: logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    // The shared role, or one of its own; either may write this function's log group (no
    // AWSLambdaBasicExecutionRole, which would allow every log group).
    const role =
      sharedRole ?? new Role(scope, `${id}Role`, { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    logGroup.grantWrite(role);
    super(scope, id, {
      role,
      entry: path.join(LAMBDAS_DIR, `${handlerFile}.ts`),
      handler: 'handler',
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      tracing: Tracing.ACTIVE,
      timeout: Duration.seconds(60),
      memorySize: 256,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      bundling: {
        minify: true,
        sourceMap: true,
        target: 'node24',
        format: OutputFormat.CJS,
        externalModules: ['@aws-sdk/*'],
        logLevel: LogLevel.WARNING,
      },
      ...rest,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'saas-to-redshift',
        POWERTOOLS_METRICS_NAMESPACE: 'SaasToRedshift',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...environment,
      },
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) support no resource-level permissions',
    });
  }
}
