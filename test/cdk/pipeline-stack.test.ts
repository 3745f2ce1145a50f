import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { EVENT_DETAIL_TYPE } from '../../lambdas/common/run-events';
import { PipelineFunction } from '../../lib/constructs/pipeline-function';
import {
  type BuiltPipeline,
  buildPipeline,
  constructPathsByLogicalId,
  isCdkFrameworkPath,
  logicalIdOf,
  removeTestApp,
  SYNTH_TIMEOUT_MS,
  stateMachineDefinition,
} from './support/pipeline-app';

interface LambdaProperties {
  Runtime: string;
  Architectures?: string[];
  TracingConfig?: { Mode: string };
  LoggingConfig?: { LogGroup?: unknown; LogFormat?: string };
  Environment?: { Variables: Record<string, unknown> };
  Code: { S3Key?: string };
  Timeout?: number;
}

let dev: BuiltPipeline;
let prod: BuiltPipeline;

beforeAll(() => {
  // dev is bundled for real (the handlers must compile); prod only needs its template.
  dev = buildPipeline('dev', { bundle: true });
  prod = buildPipeline('prod');
}, SYNTH_TIMEOUT_MS);

afterAll(() => {
  removeTestApp(dev?.app);
  removeTestApp(prod?.app);
});

/** The functions of the state machine's steps and of the warehouse-schema custom resource. */
const EXPECTED_FUNCTIONS = [
  'LoadObjectsFunction',
  'StartExtractFunction',
  'AwaitFlowRunFunction',
  'PollFlowFunction',
  'FlowRunEndedFunction',
  'AwaitStatementFunction',
  'StatementEndedFunction',
  'ConsolidateFunction',
  'FinishObjectFunction',
  'RecordFailureFunction',
  'RunReportFunction',
  'ApplyFunction',
  'StatusFunction',
];

const pipelineFunctions = (built: BuiltPipeline) =>
  built.stack.node
    .findAll()
    .filter((construct): construct is PipelineFunction => construct instanceof PipelineFunction);

const lambdaProperties = (built: BuiltPipeline, logicalId: string) =>
  built.template.toJSON().Resources[logicalId].Properties as LambdaProperties;

/** Where CDK staged a function's bundled code in the cloud assembly (dev only: it is bundled). */
const assetDirOf = (fn: PipelineFunction) => {
  const s3Key = lambdaProperties(dev, logicalIdOf(fn)).Code.S3Key ?? '';
  return path.join(dev.app.outdir, `asset.${s3Key.replace(/\.zip$/, '')}`);
};

describe('control table', () => {
  test('is keyed by objectName (HASH, string), pay-per-request, with point-in-time recovery', () => {
    // The control table and the token tables of the flow waits and the statement waits.
    dev.template.resourceCountIs('AWS::DynamoDB::Table', 3);
    dev.template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'objectName', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'objectName', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  test('is retained when the environment keeps data (prod: removalPolicy "retain")', () => {
    expect(prod.config.removalPolicy).toBe('retain');
    prod.template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  test('is deleted with the stack when the environment says "destroy" (dev)', () => {
    expect(dev.config.removalPolicy).toBe('destroy');
    dev.template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
    });
  });
});

describe('lambda functions', () => {
  test('every Lambda function is a PipelineFunction or CDK framework code', () => {
    const ours = new Set(pipelineFunctions(dev).map(logicalIdOf));
    const ids = pipelineFunctions(dev).map((fn) => fn.node.id);
    expect(ids).toEqual(expect.arrayContaining(EXPECTED_FUNCTIONS));
    const paths = constructPathsByLogicalId(dev.stack);
    const others = Object.keys(dev.template.findResources('AWS::Lambda::Function')).filter(
      (id) => !ours.has(id),
    );
    for (const id of others) {
      expect({ id, framework: isCdkFrameworkPath(paths.get(id) ?? id) }).toEqual({ id, framework: true });
    }
  });

  test('every function (CDK framework ones included) runs on Node.js 22 or newer', () => {
    const functions = dev.template.findResources('AWS::Lambda::Function');
    expect(Object.keys(functions).length).toBeGreaterThanOrEqual(9);
    for (const [id, resource] of Object.entries(functions)) {
      const runtime = (resource.Properties as LambdaProperties).Runtime;
      const major = Number(/^nodejs(\d+)\.x$/.exec(runtime)?.[1] ?? Number.NaN);
      expect({ id, runtime, atLeast22: major >= 22 }).toEqual({ id, runtime, atLeast22: true });
    }
  });

  test('every pipeline function is arm64, actively traced and logs to its own explicit log group', () => {
    for (const fn of pipelineFunctions(dev)) {
      const id = logicalIdOf(fn);
      const props = lambdaProperties(dev, id);
      expect({ id, architectures: props.Architectures }).toEqual({ id, architectures: ['arm64'] });
      expect({ id, tracing: props.TracingConfig }).toEqual({ id, tracing: { Mode: 'Active' } });
      expect({ id, logGroup: props.LoggingConfig?.LogGroup }).toEqual({
        id,
        logGroup: { Ref: logicalIdOf(fn.logGroup) },
      });
    }
  });

  test('every pipeline function is bundled by esbuild into index.js with a source map', () => {
    for (const fn of pipelineFunctions(dev)) {
      const assetDir = assetDirOf(fn);
      expect({ fn: fn.node.id, bundled: existsSync(path.join(assetDir, 'index.js')) }).toEqual({
        fn: fn.node.id,
        bundled: true,
      });
      expect(existsSync(path.join(assetDir, 'index.js.map'))).toBe(true);
    }
  });
});

describe('handler wiring', () => {
  /** The project sources esbuild bundled into a function, from its source map. */
  const bundledSources = (fn: PipelineFunction): string[] => {
    const assetDir = assetDirOf(fn);
    const sourceMap = JSON.parse(readFileSync(path.join(assetDir, 'index.js.map'), 'utf8')) as {
      sources: string[];
    };
    return sourceMap.sources
      .filter((source) => !source.includes('node_modules'))
      .map((source) => path.resolve(assetDir, source));
  };

  test('every function gets each variable its bundled code reads with requireEnv() (a missing one fails the cold start)', () => {
    for (const fn of pipelineFunctions(dev)) {
      const required = new Set<string>();
      for (const file of bundledSources(fn)) {
        for (const match of readFileSync(file, 'utf8').matchAll(
          /requireEnv\(\s*['"]([A-Z0-9_]+)['"]\s*\)/g,
        )) {
          required.add(match[1]);
        }
      }
      const variables = lambdaProperties(dev, logicalIdOf(fn)).Environment?.Variables ?? {};
      const missing = [...required].filter((name) => !(name in variables));
      expect({ fn: fn.node.id, missing }).toEqual({ fn: fn.node.id, missing: [] });
    }
  });

  test('every function that talks to Redshift names exactly one target (dev: its serverless workgroup)', () => {
    for (const fn of pipelineFunctions(dev)) {
      const variables = lambdaProperties(dev, logicalIdOf(fn)).Environment?.Variables ?? {};
      if (!('REDSHIFT_DATABASE' in variables)) continue;
      const targets = ['REDSHIFT_WORKGROUP_NAME', 'REDSHIFT_CLUSTER_IDENTIFIER'].filter(
        (name) => name in variables,
      );
      expect({ fn: fn.node.id, targets }).toEqual({ fn: fn.node.id, targets: ['REDSHIFT_WORKGROUP_NAME'] });
    }
  });

  test('functions that use the control table get its name as a reference to the table', () => {
    const tableRef = { Ref: logicalIdOf(dev.stack.controlTable.table) };
    for (const id of [
      'LoadObjectsFunction',
      'StartExtractFunction',
      'FinishObjectFunction',
      'RecordFailureFunction',
    ]) {
      const variables = lambdaProperties(dev, logicalIdOf(dev.stack.node.findChild(id))).Environment
        ?.Variables;
      expect({ id, tableName: variables?.CONTROL_TABLE_NAME }).toEqual({ id, tableName: tableRef });
    }
  });

  test('the warehouse functions name the configured serverless workgroup, database and secret', () => {
    const redshift = dev.config.redshift;
    if (redshift.kind !== 'serverless') throw new Error('dev is expected to use Redshift Serverless');
    const variables = lambdaProperties(dev, logicalIdOf(dev.stack.node.findChild('ConsolidateFunction')))
      .Environment?.Variables;
    expect(variables).toMatchObject({
      REDSHIFT_WORKGROUP_NAME: redshift.workgroupName,
      REDSHIFT_DATABASE: redshift.database,
      REDSHIFT_SECRET_ID: redshift.secretName,
      STAGING_SCHEMA: dev.config.source.stagingSchema,
      FINAL_SCHEMA: dev.config.source.finalSchema,
    });
    expect(variables).not.toHaveProperty('REDSHIFT_CLUSTER_IDENTIFIER');
  });
});

describe('state machine', () => {
  const stateMachineId = () => logicalIdOf(dev.stack.pipeline.stateMachine);

  test('is a STANDARD state machine named after the environment, with X-Ray tracing', () => {
    dev.template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: `saas-to-redshift-${dev.config.name}`,
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
    });
  });

  test('logs ALL events with execution data to a /aws/vendedlogs/states/ log group', () => {
    const logGroupId = logicalIdOf(dev.stack.pipeline.logGroup);
    dev.template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: `saas-to-redshift-${dev.config.name}`,
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: true,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [logGroupId, 'Arn'] } } }],
      },
    });
    const logGroup = dev.template.toJSON().Resources[logGroupId];
    expect(logGroup.Properties.LogGroupName).toBe(
      `/aws/vendedlogs/states/saas-to-redshift-${dev.config.name}`,
    );
    expect(logGroup.Properties.RetentionInDays).toBe(dev.config.logRetentionDays);
  });

  test('times out an execution after executionTimeoutMinutes', () => {
    const definition = stateMachineDefinition(dev.template, stateMachineId());
    expect(definition.TimeoutSeconds).toBe(dev.config.executionTimeoutMinutes * 60);
  });
});

describe('flow run waits (event-driven completion)', () => {
  const endedFunction = () => ({
    'Fn::GetAtt': [logicalIdOf(dev.stack.node.findChild('FlowRunEndedFunction')), 'Arn'],
  });

  test("AppFlow's end-of-run reports of this pipeline's flows go to FlowRunEnded", () => {
    dev.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.appflow'],
        'detail-type': ['AppFlow End Flow Run Report'],
        detail: { 'flow-name': [{ prefix: `${dev.config.flowNamePrefix}-` }] },
      },
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: endedFunction(),
          RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 8 }),
        }),
      ],
    });
  });

  test('a sweep every 15 minutes settles waits whose event was lost and heartbeats the rest', () => {
    dev.template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(15 minutes)',
      Targets: [Match.objectLike({ Arn: endedFunction() })],
    });
  });

  test('the tokens live in their own table keyed by flow name, expiring by TTL', () => {
    dev.template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'flowName', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      BillingMode: 'PAY_PER_REQUEST',
    });
  });

  test('StartExtract learns the environment flow timeout it sets the deadline from', () => {
    const variables = lambdaProperties(dev, logicalIdOf(dev.stack.node.findChild('StartExtractFunction')))
      .Environment?.Variables;
    expect(variables?.FLOW_TIMEOUT_MINUTES).toBe(String(dev.config.flowTimeoutMinutes));
  });
});

describe('statement waits (a slow warehouse)', () => {
  const endedFunction = () => ({
    'Fn::GetAtt': [logicalIdOf(dev.stack.node.findChild('StatementEndedFunction')), 'Arn'],
  });

  test("the Data API's end-of-statement events of the pipeline's statements go to StatementEnded", () => {
    dev.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.redshift-data'],
        'detail-type': ['Redshift Data Statement Status Change'],
        detail: { statementName: [{ prefix: `${dev.config.flowNamePrefix}-` }] },
      },
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: endedFunction() })],
    });
  });

  test('the tokens live in their own table keyed by statement id, expiring by TTL', () => {
    dev.template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'statementId', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      BillingMode: 'PAY_PER_REQUEST',
    });
  });

  test.each([
    ['PrecheckFunction', 120],
    ['LoadObjectsFunction', 120],
    ['StartExtractFunction', 120],
    ['ConsolidateFunction', 120],
    ['AwaitStatementFunction', 30],
    ['StatementEndedFunction', 30],
    ['FlowRunEndedFunction', 300],
    ['FinishObjectFunction', 60],
  ])("%s's timeout (%i s) fits what it does: the warehouse's waits hand over within it", (id, seconds) => {
    expect(lambdaProperties(dev, logicalIdOf(dev.stack.node.findChild(id))).Timeout).toBe(seconds);
  });

  test('the functions that wait on the flow learn the longest heartbeat the sweep keeps alive', () => {
    for (const id of ['StartExtractFunction', 'PollFlowFunction']) {
      const variables = lambdaProperties(dev, logicalIdOf(dev.stack.node.findChild(id))).Environment
        ?.Variables;
      expect({ id, heartbeat: variables?.FLOW_WAIT_HEARTBEAT_SECONDS }).toEqual({ id, heartbeat: '3600' });
    }
  });
});

describe('schedule (issue 20: EventBridge Scheduler ticks)', () => {
  const scheduleOf = (pipeline: BuiltPipeline) =>
    Object.values(pipeline.template.findResources('AWS::Scheduler::Schedule'));

  test('one schedule starts the state machine with {"scheduled": true}, every 15 minutes in the configured time zone', () => {
    const schedules = scheduleOf(dev);
    expect(schedules).toHaveLength(1);
    expect(schedules[0].Properties).toMatchObject({
      ScheduleExpression: dev.config.schedule.tickExpression,
      ScheduleExpressionTimezone: dev.config.scheduleTimeZone,
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: { Ref: logicalIdOf(dev.stack.pipeline.stateMachine) },
        Input: JSON.stringify({ scheduled: true }),
        RoleArn: { 'Fn::GetAtt': [logicalIdOf(dev.stack.schedule.role), 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalIdOf(dev.stack.schedule.deadLetterQueue), 'Arn'] } },
        RetryPolicy: { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 15 * 60 },
      },
    });
    expect(dev.config.schedule.tickExpression).toBe('cron(0/15 * * * ? *)');
    // No legacy scheduled rule starts the state machine any more.
    for (const rule of Object.values(dev.template.findResources('AWS::Events::Rule'))) {
      const targets = (rule.Properties.Targets ?? []) as { Arn: unknown }[];
      expect(targets.map((target) => target.Arn)).not.toContainEqual({
        Ref: logicalIdOf(dev.stack.pipeline.stateMachine),
      });
    }
  });

  test('each environment ticks anchored to its own daily time', () => {
    expect(prod.config.schedule.dailyAt).toBe('03:00');
    expect(dev.config.schedule.dailyAt).toBe('05:00');
    expect(scheduleOf(prod)[0].Properties.Description).toContain('saas-to-redshift-prod');
  });

  test("the schedule's own role: assumed by Scheduler of this account only; starts this state machine, writes its dead-letter queue", () => {
    const roleId = logicalIdOf(dev.stack.schedule.role);
    const role = dev.template.toJSON().Resources[roleId];
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { Service: 'scheduler.amazonaws.com' },
        Condition: {
          StringEquals: {
            'aws:SourceAccount': dev.config.account,
            'aws:SourceArn': {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  `:scheduler:${dev.config.region}:${dev.config.account}:schedule-group/default`,
                ],
              ],
            },
          },
        },
      },
    ]);
    const policies = Object.values(dev.template.findResources('AWS::IAM::Policy')).filter((policy) =>
      (policy.Properties.Roles as unknown[]).some(
        (ref) => JSON.stringify(ref) === JSON.stringify({ Ref: roleId }),
      ),
    );
    expect(policies.flatMap((policy) => policy.Properties.PolicyDocument.Statement)).toEqual([
      {
        Action: 'states:StartExecution',
        Effect: 'Allow',
        Resource: { Ref: logicalIdOf(dev.stack.pipeline.stateMachine) },
      },
      {
        Action: 'sqs:SendMessage',
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [logicalIdOf(dev.stack.schedule.deadLetterQueue), 'Arn'] },
      },
    ]);
  });

  test('the dead-letter queue is encrypted and refuses plain HTTP', () => {
    dev.template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    dev.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  test('LoadObjects knows the daily time, the time zone and the flow timeout (due objects, overdue lag)', () => {
    const variables = lambdaProperties(dev, logicalIdOf(dev.stack.node.findChild('LoadObjectsFunction')))
      .Environment?.Variables;
    expect(variables).toMatchObject({
      SCHEDULE_DAILY_AT: '05:00',
      SCHEDULE_TIME_ZONE: dev.config.scheduleTimeZone,
      FLOW_TIMEOUT_MINUTES: String(dev.config.flowTimeoutMinutes),
    });
  });
});

describe('alarms and notifications', () => {
  const topicRef = () => ({ Ref: logicalIdOf(dev.stack.alarms.topic) });

  /** The alarms on this state machine's executions: metric math over AWS/States metrics. */
  const executionAlarms = () =>
    Object.values(dev.template.findResources('AWS::CloudWatch::Alarm')).filter((alarm) =>
      (alarm.Properties.Metrics ?? []).some(
        (query: { MetricStat?: { Metric: { Namespace: string } } }) =>
          query.MetricStat?.Metric.Namespace === 'AWS/States',
      ),
    );

  test('one alarm per failed, timed-out and aborted execution of this state machine, each notifying the topic', () => {
    const alarms = executionAlarms();
    expect(alarms).toHaveLength(3);
    const stateMachine = {
      Namespace: 'AWS/States',
      Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: logicalIdOf(dev.stack.pipeline.stateMachine) } }],
    };
    const watched = alarms.map((alarm) => {
      const queries = alarm.Properties.Metrics as {
        Id: string;
        Expression?: string;
        MetricStat?: { Metric: { MetricName: string }; Period: number; Stat: string };
      }[];
      return queries
        .flatMap((query) => (query.MetricStat ? [query.MetricStat.Metric.MetricName] : []))
        .sort()
        .join(' + ');
    });
    expect(watched.sort()).toEqual([
      'ExecutionsAborted + ExecutionsSucceeded',
      'ExecutionsFailed + ExecutionsSucceeded',
      'ExecutionsSucceeded + ExecutionsTimedOut',
    ]);
    for (const alarm of alarms) {
      expect(alarm.Properties).toMatchObject({
        AlarmActions: [topicRef()],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
      });
      for (const query of alarm.Properties.Metrics.filter((q: { MetricStat?: unknown }) => q.MetricStat)) {
        expect(query).toMatchObject({
          MetricStat: { Metric: stateMachine, Period: 300, Stat: 'Sum' },
          ReturnData: false,
        });
      }
    }
  });

  test('an execution alarm holds its state while failures repeat every tick, and clears when an execution succeeds', () => {
    const failed = executionAlarms().find((alarm) =>
      alarm.Properties.Metrics.some(
        (query: { MetricStat?: { Metric: { MetricName: string } } }) =>
          query.MetricStat?.Metric.MetricName === 'ExecutionsFailed',
      ),
    );
    if (!failed) throw new Error('no ExecutionsFailed alarm');
    const ids = Object.fromEntries(
      (failed.Properties.Metrics as { Id: string; MetricStat?: { Metric: { MetricName: string } } }[])
        .filter((query) => query.MetricStat)
        .map((query) => [query.MetricStat?.Metric.MetricName, query.Id]),
    );
    const [expression] = (
      failed.Properties.Metrics as { Expression?: string; ReturnData?: boolean }[]
    ).filter((query) => query.Expression);
    // A datapoint only in periods in which an execution failed (>= 1) or succeeded (0): the quiet
    // periods between ticks have none, and missing data keeps the state (no ALARM, OK, ALARM …).
    expect(expression.Expression).toBe(
      `IF(FILL(${ids.ExecutionsFailed}, 0) + FILL(${ids.ExecutionsSucceeded}, 0) > 0, FILL(${ids.ExecutionsFailed}, 0))`,
    );
    expect(expression.ReturnData).not.toBe(false);
    expect(failed.Properties.TreatMissingData).toBe('ignore');
    // The description names the state machine by reference (a Fn::Join).
    expect(JSON.stringify(failed.Properties.AlarmDescription)).toContain('clears when an execution succeeds');
    for (const alarm of executionAlarms()) expect(alarm.Properties.TreatMissingData).toBe('ignore');
  });

  test('ObjectsOverdue >= 1 alarms the topic; its description says where to find the stale object', () => {
    const alarm = Object.values(dev.template.findResources('AWS::CloudWatch::Alarm')).find(
      (candidate) => candidate.Properties.MetricName === 'ObjectsOverdue',
    );
    expect(alarm?.Properties).toMatchObject({
      Namespace: 'SaasToRedshift',
      // The exact dimension set ReportRun emits (Powertools adds service).
      Dimensions: [
        { Name: 'environment', Value: 'dev' },
        { Name: 'service', Value: 'saas-to-redshift' },
      ],
      Statistic: 'Maximum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'ignore',
      AlarmActions: [topicRef()],
    });
    expect(alarm?.Properties.AlarmDescription).toMatch(/npm run objects -- list --env dev.*OVERDUE/);
    expect(alarm?.Properties.AlarmDescription).toContain('FreshnessLagMinutes');
  });

  test('ObjectFailed >= 1 alarms the topic; missing data keeps its state, so a failure repeated every tick is one alarm', () => {
    const alarm = Object.values(dev.template.findResources('AWS::CloudWatch::Alarm')).find(
      (candidate) => candidate.Properties.MetricName === 'ObjectFailed',
    );
    expect(alarm?.Properties).toMatchObject({
      Namespace: 'SaasToRedshift',
      // RecordFailure's 1s and FinishObject's 0s, per environment only.
      Dimensions: [
        { Name: 'environment', Value: 'dev' },
        { Name: 'service', Value: 'saas-to-redshift' },
      ],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'ignore',
      AlarmActions: [topicRef()],
    });
    expect(alarm?.Properties.AlarmDescription).toContain('npm run objects -- list --env dev');
  });

  test('LoadObjects learns the tick interval: the day’s first tick e-mails repeated failures again', () => {
    const variables = lambdaProperties(dev, logicalIdOf(dev.stack.node.findChild('LoadObjectsFunction')))
      .Environment?.Variables;
    expect(variables?.SCHEDULE_TICK_MINUTES).toBe('15');
  });

  test("a tick that could not start lands in the schedule's dead-letter queue, which alarms the topic", () => {
    dev.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [logicalIdOf(dev.stack.schedule.deadLetterQueue), 'QueueName'] },
        },
      ],
      Threshold: 1,
      AlarmActions: [topicRef()],
    });
  });

  test('the topic is encrypted with a rotating customer-managed KMS key', () => {
    const keyId = Object.keys(dev.template.findResources('AWS::KMS::Key'))[0];
    dev.template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
    });
    dev.template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  test('CloudWatch and EventBridge may use the key, so alarms and run reports can be published', () => {
    for (const service of ['cloudwatch.amazonaws.com', 'events.amazonaws.com']) {
      dev.template.hasResourceProperties('AWS::KMS::Key', {
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Allow',
              Principal: { Service: service },
              Action: Match.arrayWith(['kms:Decrypt', 'kms:GenerateDataKey*']),
            }),
          ]),
        },
      });
    }
  });

  test('subscribes the configured alarm e-mail address', () => {
    expect(dev.config.alarmEmail).toBeDefined();
    dev.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: dev.config.alarmEmail,
      TopicArn: topicRef(),
    });
  });

  test('the RunFailed rule forwards the reports of failed runs to notify (new failures, the daily tick, operators) to the topic', () => {
    dev.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['saas-to-redshift'],
        'detail-type': [EVENT_DETAIL_TYPE],
        detail: Match.exact({ status: ['FAILED'], notify: [true] }),
      },
      Targets: [Match.objectLike({ Arn: topicRef(), InputPath: '$.detail.message' })],
    });
    dev.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sns:Publish',
            Principal: { Service: 'events.amazonaws.com' },
          }),
        ]),
      },
    });
  });
});

describe('outputs', () => {
  test('export the state machine ARN and the control table name', () => {
    dev.template.hasOutput('StateMachineArn', {
      Value: { Ref: logicalIdOf(dev.stack.pipeline.stateMachine) },
    });
    dev.template.hasOutput('ControlTableName', { Value: { Ref: logicalIdOf(dev.stack.controlTable.table) } });
  });
});
