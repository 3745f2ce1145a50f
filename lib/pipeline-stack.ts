import {
  Annotations,
  ArnFormat,
  type CfnElement,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import { Rule, RuleTargetInput } from 'aws-cdk-lib/aws-events';
import { SnsTopic } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct, IConstruct } from 'constructs';
import {
  SCHEDULE_DAILY_AT_VARIABLE,
  SCHEDULE_TICK_MINUTES_VARIABLE,
  SCHEDULE_TIME_ZONE_VARIABLE,
} from '../lambdas/common/cadence';
import { METRICS_ENVIRONMENT_VARIABLE } from '../lambdas/common/observability';
import { EVENT_DETAIL_TYPE, EVENT_SOURCE } from '../lambdas/common/run-events';
import { RUN_STATE_BUCKET_ENVIRONMENT_VARIABLE, RUN_STATE_PREFIX } from '../lambdas/common/run-state';
import { SOURCES_ENVIRONMENT_VARIABLE } from '../lambdas/common/sources';
import type { EnvironmentConfig } from './config';
import { AppFlowAccess } from './constructs/appflow-access';
import { ControlTable } from './constructs/control-table';
import { FlowRunWaits } from './constructs/flow-run-waits';
import { PipelineFunction } from './constructs/pipeline-function';
import { PipelineSchedule } from './constructs/pipeline-schedule';
import { PipelineStateMachine } from './constructs/pipeline-state-machine';
import { RunAlarms } from './constructs/run-alarms';
import { RunDashboard } from './constructs/run-dashboard';
import { RunStateBucket } from './constructs/run-state-bucket';
import { StatementWaits } from './constructs/statement-waits';
import { WarehouseAccess } from './constructs/warehouse-access';
import { WarehouseSchema } from './constructs/warehouse-schema';

export interface PipelineStackProps extends StackProps {
  readonly config: EnvironmentConfig;
}

/** One environment's pipeline: control table, functions, state machine, schedule, alarms, warehouse SQL. */
export class PipelineStack extends Stack {
  readonly controlTable: ControlTable;
  readonly pipeline: PipelineStateMachine;
  readonly alarms: RunAlarms;
  readonly schedule: PipelineSchedule;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { config } = props;
    const removalPolicy = config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    if (removalPolicy === RemovalPolicy.DESTROY) {
      Annotations.of(this).addWarningV2(
        'saas-to-redshift:destroy',
        `Environment ${config.name} sets removalPolicy "destroy": deleting the stack deletes the control table and watermarks`,
      );
    }
    const logRetention = config.logRetentionDays as RetentionDays;

    this.controlTable = new ControlTable(this, 'ControlTable', { removalPolicy });
    const warehouse = new WarehouseAccess(this, 'Warehouse', {
      redshift: config.redshift,
      stagingSchema: config.source.stagingSchema,
      finalSchema: config.source.finalSchema,
    });
    const appflow = new AppFlowAccess(this, 'AppFlow', {
      flowNamePrefix: config.flowNamePrefix,
      defaultConnectorProfileName: config.source.connectorProfileName,
      // Every configured source's profile: IAM, the precheck and the local IAM gate allow exactly these.
      additionalConnectorProfileNames: [
        ...config.source.additionalConnectorProfileNames,
        ...Object.values(config.sources).flatMap((source) =>
          source.connectorProfileName ? [source.connectorProfileName] : [],
        ),
      ],
      redshiftConnectorProfileName: config.source.redshiftConnectorProfileName,
      stagingBucketName: config.stagingBucketName,
      dataTransferApi: config.source.dataTransferApi,
      removalPolicy,
    });
    const schema = new WarehouseSchema(this, 'WarehouseSchema', {
      warehouse,
      logRemovalPolicy: removalPolicy,
    });

    // Each timeout fits what the function does; the ones that wait on the warehouse wait within it
    // and hand longer waits to the state machine (issue 19).
    const fn = (id: string, handlerFile: string, description: string, timeout = Duration.seconds(60)) =>
      new PipelineFunction(this, id, {
        handlerFile,
        description,
        logRetention,
        logRemovalPolicy: removalPolicy,
        timeout,
      });
    const functions = {
      precheck: fn(
        'PrecheckFunction',
        'precheck',
        'Checks connector profiles, secret, warehouse and API quota; creates the schemas',
        Duration.minutes(2),
      ),
      loadObjects: fn(
        'LoadObjectsFunction',
        'load-objects',
        'Reads and validates the control table, plans the run',
        Duration.minutes(2),
      ),
      startExtract: fn(
        'StartExtractFunction',
        'start-extract',
        'Syncs table structure, creates and starts the temporary flows (load, column refresh)',
        Duration.minutes(2),
      ),
      awaitFlowRun: fn(
        'AwaitFlowRunFunction',
        'await-flow-run',
        "Parks the object's child execution on its flow run (task token)",
      ),
      pollFlow: fn('PollFlowFunction', 'poll-flow', 'Looks at the flow run once after a missed heartbeat'),
      awaitStatement: fn(
        'AwaitStatementFunction',
        'await-statement',
        'Parks the execution on a slow warehouse statement (task token)',
        Duration.seconds(30),
      ),
      consolidate: fn(
        'ConsolidateFunction',
        'consolidate',
        'Calls consolidate_object through the Data API',
        Duration.minutes(2),
      ),
      finishObject: fn(
        'FinishObjectFunction',
        'finish-object',
        'Deletes the flow, records success and the watermark',
      ),
      recordFailure: fn('RecordFailureFunction', 'record-failure', 'Deletes the flow, records the failure'),
      runReport: fn(
        'RunReportFunction',
        'run-report',
        'Builds and publishes the run report',
        Duration.minutes(2),
      ),
    };
    this.controlTable.grantOperationsTo(functions.loadObjects, ['Scan']);
    functions.loadObjects.addEnvironment('DEFAULT_CONNECTOR_PROFILE', config.source.connectorProfileName);
    // A tick runs the objects that are due: cadences are anchored to the daily time in the time zone,
    // and an object is overdue after twice its cadence (in whole ticks) plus its flow timeout (issue 20).
    functions.loadObjects.addEnvironment(SCHEDULE_DAILY_AT_VARIABLE, config.schedule.dailyAt);
    functions.loadObjects.addEnvironment(SCHEDULE_TIME_ZONE_VARIABLE, config.schedule.timeZone);
    functions.loadObjects.addEnvironment(SCHEDULE_TICK_MINUTES_VARIABLE, String(config.schedule.tickMinutes));
    functions.loadObjects.addEnvironment('FLOW_TIMEOUT_MINUTES', String(config.flowTimeoutMinutes));
    // The quota guard runs in the precheck, once the run is planned.
    functions.precheck.addEnvironment('MIN_API_QUOTA_SHARE', String(config.minApiQuotaShare));
    // LoadObjects resolves each row's source (the plans carry schemas, connector and API version onward),
    // and the precheck checks that each source's profile belongs to its connector.
    for (const reader of [functions.loadObjects, functions.precheck]) {
      reader.addEnvironment(SOURCES_ENVIRONMENT_VARIABLE, JSON.stringify(config.sources));
    }
    appflow.grantListConnectorProfilesTo(functions.precheck);
    functions.precheck.addEnvironment('CONNECTOR_PROFILES', appflow.connectorProfileNames.join(','));
    // AppFlow's database user: StartExtract grants it the staging tables; the precheck refuses a run without it.
    if (config.redshift.appflowDatabaseUser) {
      for (const granter of [functions.precheck, functions.startExtract]) {
        granter.addEnvironment('APPFLOW_DATABASE_USER', config.redshift.appflowDatabaseUser);
      }
    }
    // One batch: the sources' schemas (schema-level work once per run) and the procedure check.
    warehouse.grantStatementsTo(functions.precheck, { batch: true, readResults: true });
    warehouse.grantDescribeSecretTo(functions.precheck);
    if (config.source.apiLimitsSecretName) {
      const limitsSecret = Secret.fromSecretNameV2(
        this,
        'ApiLimitsSecret',
        config.source.apiLimitsSecretName,
      );
      // Read, never described: the precheck reads the quota with it, StartExtract the formula fields
      // (Salesforce's describe, issue 21: AppFlow's DescribeConnectorEntity does not mark them).
      for (const reader of [functions.precheck, functions.startExtract]) {
        reader.addToRolePolicy(
          new PolicyStatement({
            actions: ['secretsmanager:GetSecretValue'],
            resources: [`${limitsSecret.secretArn}-??????`],
          }),
        );
        reader.addEnvironment('SOURCE_LIMITS_SECRET_ID', config.source.apiLimitsSecretName);
      }
    }
    // Claims read the row, then update it; finishing and failing update the own row only.
    this.controlTable.grantOperationsTo(functions.startExtract, ['GetItem', 'UpdateItem']);
    this.controlTable.grantOperationsTo(functions.finishObject, ['UpdateItem']);
    this.controlTable.grantOperationsTo(functions.recordFailure, ['UpdateItem']);
    appflow.grantFlowLifecycleTo(functions.startExtract);
    appflow.grantFlowStatusTo(functions.pollFlow);
    // Flows end by event: the child waits on a task token that AppFlow's end-of-run report answers.
    const flowRunEnded = fn(
      'FlowRunEndedFunction',
      'flow-run-ended',
      "Ends flow waits on AppFlow's end-of-run events and sweeps the ones whose event was lost",
      // The sweep looks at every waiting flow (a thousand objects in flight: a thousand looks).
      Duration.minutes(5),
    );
    const flowRunWaits = new FlowRunWaits(this, 'FlowRunWaits', {
      awaitFunction: functions.awaitFlowRun,
      endedFunction: flowRunEnded,
      flowNamePrefix: config.flowNamePrefix,
    });
    appflow.grantFlowStatusTo(functions.awaitFlowRun);
    appflow.grantFlowStatusTo(flowRunEnded);
    functions.startExtract.addEnvironment('FLOW_TIMEOUT_MINUTES', String(config.flowTimeoutMinutes));
    for (const waiter of [functions.startExtract, functions.pollFlow]) {
      waiter.addEnvironment('FLOW_WAIT_HEARTBEAT_SECONDS', String(flowRunWaits.heartbeat.toSeconds()));
    }
    // Slow statements are waited on by the state machine, woken by the Data API's end event.
    const statementEnded = fn(
      'StatementEndedFunction',
      'statement-ended',
      "Ends statement waits on the Redshift Data API's end-of-statement events",
      Duration.seconds(30),
    );
    new StatementWaits(this, 'StatementWaits', {
      awaitFunction: functions.awaitStatement,
      endedFunction: statementEnded,
      statementNamePrefix: config.flowNamePrefix,
    });
    // Statements are named `<prefix>-…` (the rule above matches the prefix).
    for (const submitter of [functions.precheck, functions.consolidate]) {
      submitter.addEnvironment('FLOW_NAME_PREFIX', config.flowNamePrefix);
    }
    appflow.grantFlowCleanupTo(functions.finishObject);
    appflow.grantFlowCleanupTo(functions.recordFailure);
    warehouse.grantStatementsTo(functions.startExtract, { execute: true, batch: true, readResults: true });
    // Consolidate sends one CALL (contract 6): no batch.
    warehouse.grantStatementsTo(functions.consolidate, { execute: true, readResults: true });

    // Each run's plan, Map results and full report: LoadObjects writes the plan, the Distributed
    // Map reads it and writes the results, ReportRun reads them and writes the report.
    const runState = new RunStateBucket(this, 'RunState', {
      retentionDays: config.runStateRetentionDays,
      removalPolicy,
    });
    const runStateObjects = runState.runObjectsArn;
    functions.loadObjects.addToRolePolicy(
      new PolicyStatement({ actions: ['s3:PutObject'], resources: [runStateObjects] }),
    );
    // The precheck's quota guard moves objects it holds back from the plan to the rejected list.
    for (const reader of [functions.precheck, functions.runReport]) {
      reader.addToRolePolicy(
        new PolicyStatement({ actions: ['s3:GetObject', 's3:PutObject'], resources: [runStateObjects] }),
      );
    }
    for (const handler of [functions.loadObjects, functions.precheck, functions.runReport]) {
      handler.addEnvironment(RUN_STATE_BUCKET_ENVIRONMENT_VARIABLE, runState.bucket.bucketName);
      Validations.of(handler.role as IConstruct).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(runState.bucket.node.defaultChild as CfnElement)}.Arn>/${RUN_STATE_PREFIX}*]`,
        reason: `Run files are named after the execution at run time (${RUN_STATE_PREFIX}<execution name>/…); the wildcard is limited to that prefix`,
      });
    }

    const stateMachineName = `saas-to-redshift-${config.name}`;
    this.pipeline = new PipelineStateMachine(this, 'Pipeline', {
      stateMachineName,
      functions,
      runStateBucket: runState.bucket,
      mapConcurrency: config.mapConcurrency,
      executionTimeout: Duration.minutes(config.executionTimeoutMinutes),
      logRetention,
      logRemovalPolicy: removalPolicy,
    });
    // StartExtract asks whether the run holding an object is still alive (see claimOrTakeOver); a
    // tick's LoadObjects asks too, and leaves an object a live run holds to it (RUNNING).
    for (const asker of [functions.startExtract, functions.loadObjects]) {
      asker.addToRolePolicy(
        new PolicyStatement({
          actions: ['states:DescribeExecution'],
          resources: [
            this.formatArn({
              service: 'states',
              resource: 'execution',
              resourceName: `${stateMachineName}:*`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          ],
        }),
      );
      Validations.of(asker.role as IConstruct).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:${config.region}:${config.account}:execution:${stateMachineName}:*]`,
        reason:
          'Executions of this one state machine, named at run time; only DescribeExecution is allowed on them',
      });
    }
    // The SQL must be in the warehouse before the first scheduled run calls it.
    this.pipeline.node.addDependency(schema);

    // The tick: EventBridge Scheduler starts the pipeline with {"scheduled": true} in the environment's time zone.
    this.schedule = new PipelineSchedule(this, 'Schedule', {
      stateMachine: this.pipeline.stateMachine,
      expression: config.schedule.tickExpression,
      timeZone: config.schedule.timeZone,
      tickMinutes: config.schedule.tickMinutes,
      name: stateMachineName,
    });
    this.alarms = new RunAlarms(this, 'Alarms', {
      stateMachine: this.pipeline.stateMachine,
      alarmEmail: config.alarmEmail,
      environmentName: config.name,
      scheduleDeadLetterQueue: this.schedule.deadLetterQueue,
    });
    // The functions' metrics carry the environment, so each environment's dashboard shows its own runs.
    for (const handler of [...Object.values(functions), flowRunEnded, statementEnded]) {
      handler.addEnvironment(METRICS_ENVIRONMENT_VARIABLE, config.name);
    }
    const dashboard = new RunDashboard(this, 'Dashboard', {
      stateMachine: this.pipeline.stateMachine,
      environmentName: config.name,
      alarms: this.alarms.alarms,
    });
    new CfnOutput(this, 'DashboardUrl', { value: dashboard.consoleUrl });
    const defaultBusArn = this.formatArn({
      service: 'events',
      resource: 'event-bus',
      resourceName: 'default',
    });
    functions.runReport.addToRolePolicy(
      new PolicyStatement({ actions: ['events:PutEvents'], resources: [defaultBusArn] }),
    );
    functions.runReport.addEnvironment('EVENT_BUS_NAME', 'default');

    // A failed run's report reaches the operators as a readable table; other consumers add their own rules.
    new Rule(this, 'RunFailedRule', {
      description:
        "Sends a failed run's report to the alarm topic: an operator's run, the day's first tick, or a new failure",
      eventPattern: {
        source: [EVENT_SOURCE],
        detailType: [EVENT_DETAIL_TYPE],
        // A failure that repeats every tick is e-mailed when it first appears and on the day's first tick.
        detail: { status: ['FAILED'], notify: [true] },
      },
      targets: [
        new SnsTopic(this.alarms.topic, { message: RuleTargetInput.fromEventPath('$.detail.message') }),
      ],
    });

    new CfnOutput(this, 'StateMachineArn', { value: this.pipeline.stateMachine.stateMachineArn });
    new CfnOutput(this, 'ControlTableName', { value: this.controlTable.table.tableName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarms.topic.topicArn });
    new CfnOutput(this, 'StagingBucketName', { value: appflow.stagingBucket.bucketName });
    new CfnOutput(this, 'RunStateBucketName', { value: runState.bucket.bucketName });
  }
}
