import { type CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import {
  Choice,
  Condition,
  DefinitionBody,
  DistributedMap,
  Fail,
  IntegrationPattern,
  JitterType,
  JsonPath,
  LogLevel,
  Pass,
  ResultWriterV2,
  type ResultWriterV2Props,
  type S3FileItemReaderProps,
  S3JsonItemReader,
  StateMachine,
  StateMachineType,
  Succeed,
  TaskInput,
  type TaskStateBase,
  Timeout,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2 } from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { RUN_STATE_PREFIX } from '../../lambdas/common/run-state';

/** The functions the state machine runs, one per step. */
export interface PipelineFunctions {
  readonly precheck: IFunction;
  readonly loadObjects: IFunction;
  readonly startExtract: IFunction;
  /** Called with `.waitForTaskToken`: parks the child on its flow's run (see FlowRunWaits). */
  readonly awaitFlowRun: IFunction;
  /** The wait's fallback after a missed heartbeat: one look at the flow's run. */
  readonly pollFlow: IFunction;
  /**
   * Called with `.waitForTaskToken`: parks the execution on a warehouse statement that outlived its
   * step's time budget, until the statement's end event (see StatementWaits).
   */
  readonly awaitStatement: IFunction;
  readonly consolidate: IFunction;
  readonly finishObject: IFunction;
  readonly recordFailure: IFunction;
  readonly runReport: IFunction;
}

export interface PipelineStateMachineProps {
  readonly functions: PipelineFunctions;
  /**
   * The run-state bucket (RunStateBucket): the Distributed Map reads each run's plan from it and
   * writes the Map Run's results to it, under `runs/`.
   */
  readonly runStateBucket: IBucket;
  /**
   * Objects processed at once (AppFlow allows a limited number of concurrent flow runs).
   * @default 5
   */
  readonly mapConcurrency?: number;
  /**
   * Hard limit of one execution.
   * @default Duration.hours(6)
   */
  readonly executionTimeout?: Duration;
  /** @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: RetentionDays;
  /** @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** Name of the state machine, also used for its vended log group. */
  readonly stateMachineName: string;
}

/**
 * Errors worth retrying: Lambda's own transient failures and our `Throttled` classification (AWS
 * throttling, server errors, the Data API's capacity errors). A statement that lost a race with a
 * concurrent transaction is resubmitted by its step (MAX_STATEMENT_ATTEMPTS, jittered): a retry of
 * the step would only walk the same failed statements again, so `WarehouseConflict` is not here.
 */
export const RETRYABLE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Throttled',
];

/**
 * A function that died (its timeout, or its runtime): retried only on steps that may run again.
 * Every step but ReportRun is idempotent: warehouse statements carry a ClientToken, flows are named
 * per run and started with a client token, control rows are written under the run's claim. ReportRun
 * publishes the run's event (a second would reach the operators twice): a failed ReportRun is redriven.
 */
export const DIED_ERRORS = ['Lambda.Unknown', 'Sandbox.Timedout'];

const runFilesStatement = (bucket: IBucket, actions: string[]) =>
  new PolicyStatement({ actions, resources: [bucket.arnForObjects(`${RUN_STATE_PREFIX}*`)] });

/** CDK grants an ItemReader GetObject on the whole bucket: this one reads run plans only. */
class RunPlanReader extends S3JsonItemReader {
  constructor(private readonly props: S3FileItemReaderProps & { bucket: IBucket }) {
    super(props);
  }

  override providePolicyStatements(): PolicyStatement[] {
    return [runFilesStatement(this.props.bucket, ['s3:GetObject'])];
  }
}

/** CDK grants a ResultWriter the whole bucket: this one writes run results only (AWS's documented actions). */
class RunResultsWriter extends ResultWriterV2 {
  constructor(private readonly props: ResultWriterV2Props & { bucket: IBucket }) {
    super(props);
  }

  override providePolicyStatements(): PolicyStatement[] {
    // https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html#resultwriter-iam-policies
    return [
      runFilesStatement(this.props.bucket, [
        's3:PutObject',
        's3:GetObject',
        's3:ListMultipartUploadParts',
        's3:AbortMultipartUpload',
      ]),
    ];
  }
}

/**
 * One run: a scheduled tick runs the objects that are due, an operator's run the objects it names.
 * LoadObjects plans the run from the control table; a run with objects is prechecked (connector
 * profiles, secret, warehouse, API quota), then per object (a Distributed Map with bounded
 * concurrency) a temporary flow is created and started, its end-of-run event awaited on a task
 * token, the load consolidated in Redshift, the flow deleted and the result recorded. Every
 * per-object failure is caught, cleaned up and reported, so one object never stops the others;
 * ReportRun reports every run, and the execution ends FAILED naming the objects that failed.
 */
export class PipelineStateMachine extends Construct {
  readonly stateMachine: StateMachine;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: PipelineStateMachineProps) {
    super(scope, id);
    // Without this flag DistributedMap ignores `resultWriterV2`; set here so every app (the CLI's,
    // the local run's, the tests') synthesizes the same definition.
    this.node.setContext(STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2, true);
    const fns = props.functions;

    const task = (
      name: string,
      fn: IFunction,
      extra: Partial<ConstructorParameters<typeof LambdaInvoke>[2]> & { mayRunAgain?: boolean } = {},
    ) => {
      const { mayRunAgain = true, ...options } = extra;
      // The function's own timeout decides when it dies; the task allows a little more for the invoke.
      const functionTimeout = (fn as { timeout?: Duration }).timeout ?? Duration.seconds(60);
      const invoke = new LambdaInvoke(this, name, {
        lambdaFunction: fn,
        // A token task's result is what SendTaskSuccess sends, not the function's response.
        payloadResponseOnly: options.integrationPattern === undefined,
        retryOnServiceExceptions: false,
        taskTimeout: Timeout.duration(Duration.seconds(functionTimeout.toSeconds() + 30)),
        ...options,
      });
      invoke.addRetry({
        errors: mayRunAgain ? [...RETRYABLE_ERRORS, ...DIED_ERRORS] : RETRYABLE_ERRORS,
        interval: Duration.seconds(2),
        maxAttempts: 6,
        backoffRate: 2,
        maxDelay: Duration.seconds(60),
        jitterStrategy: JitterType.FULL,
      });
      return invoke;
    };
    /**
     * A step's statement outlived the step's time budget: the execution waits on the statement's end
     * event (no Lambda waits, no polling), then runs the step again, which reads the outcome itself.
     * The event is best effort: at the wait's timeout the step looks anyway (and waits again, longer).
     */
    const awaitStatement = (name: string, step: TaskStateBase, objectName?: string) => {
      const wait = task(name, fns.awaitStatement, {
        integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        payload: TaskInput.fromObject({
          taskToken: JsonPath.taskToken,
          wait: JsonPath.objectAt('$.waiting'),
          ...(objectName ? { objectName } : {}),
        }),
        resultPath: JsonPath.DISCARD,
        taskTimeout: Timeout.at('$.waiting.timeoutSeconds'),
      });
      wait.addCatch(step, { errors: ['States.Timeout'], resultPath: JsonPath.DISCARD });
      wait.next(step);
      return wait;
    };

    // Per object ------------------------------------------------------------------
    const recordFailure = task('RecordFailure', fns.recordFailure);
    const onFailure = { resultPath: '$.error' };
    const objectName = JsonPath.stringAt('$.plan.objectName');
    const startExtract = task('StartExtract', fns.startExtract).addCatch(recordFailure, onFailure);
    const awaitExtractStatement = awaitStatement('AwaitExtractStatement', startExtract, objectName);
    awaitExtractStatement.addCatch(recordFailure, onFailure);
    // The child sleeps on its flow's run: AppFlow's end-of-run event (or the sweep that catches a
    // lost one) answers the token with the run's outcome as the new `$.flow`. No polling: the
    // child's history is the same for a 2-minute and a 6-hour flow.
    const awaitFlowRun = task('AwaitFlowRun', fns.awaitFlowRun, {
      integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: TaskInput.fromObject({ taskToken: JsonPath.taskToken, state: JsonPath.entirePayload }),
      resultPath: '$.flow',
      // Both from the state: the heartbeat is always below what is left of the flow's timeout.
      heartbeatTimeout: Timeout.at('$.flow.heartbeatSeconds'),
      taskTimeout: Timeout.at('$.flow.waitTimeoutSeconds'),
    });
    // No heartbeat means no sweep: look at the run once, then wait again for what is left.
    const pollFlow = task('PollFlow', fns.pollFlow).addCatch(recordFailure, onFailure);
    const flowTimedOut = new Pass(this, 'FlowWaitTimedOut', {
      parameters: {
        Error: 'FlowWaitTimedOut',
        'Cause.$': `States.Format('{}: flow {} still running at its deadline {} (flowTimeoutMinutes)', $.plan.objectName, $.flow.flowName, $.flow.deadline)`,
      },
      resultPath: '$.error',
    }).next(recordFailure);
    awaitFlowRun
      .addCatch(pollFlow, { errors: ['States.HeartbeatTimeout'], resultPath: JsonPath.DISCARD })
      .addCatch(flowTimedOut, { errors: ['States.Timeout'], resultPath: JsonPath.DISCARD })
      .addCatch(recordFailure, onFailure);
    const consolidate = task('Consolidate', fns.consolidate).addCatch(recordFailure, onFailure);
    const awaitConsolidationStatement = awaitStatement(
      'AwaitConsolidationStatement',
      consolidate,
      objectName,
    );
    awaitConsolidationStatement.addCatch(recordFailure, onFailure);
    const finishObject = task('FinishObject', fns.finishObject).addCatch(recordFailure, onFailure);

    /**
     * A Choice whose rules all failed: a step returned a state this definition does not know. The
     * state the default would go to reads paths the Choice did not check (a wait's `$.waiting`, a
     * flow's wait times), which would fail the child with States.Runtime, uncatchable, and leave
     * its flow behind: the object fails here instead, by its name, through RecordFailure.
     */
    const unknownState = (id: string, choice: string, step: string, expected: string) =>
      new Pass(this, id, {
        parameters: {
          Error: id,
          'Cause.$': `States.Format('{}: ${step} returned a state ${choice} does not know: ${expected}', $.plan.objectName)`,
        },
        resultPath: '$.error',
      }).next(recordFailure);
    // AwaitFlowRun's timeout and heartbeat come from the flow: only a flow with both is waited on.
    const flowWaitable = Condition.and(
      Condition.isPresent('$.flow.waitTimeoutSeconds'),
      Condition.isPresent('$.flow.heartbeatSeconds'),
    );

    const extractStarted = new Choice(this, 'ExtractStarted?')
      .when(Condition.isPresent('$.waiting'), awaitExtractStatement)
      .when(flowWaitable, awaitFlowRun)
      .otherwise(
        unknownState(
          'ExtractStateUnknown',
          'ExtractStarted?',
          'StartExtract',
          'neither a statement to wait on nor a flow with its wait times',
        ),
      );
    // Issue 21: a column refresh due in this run (`$.refresh`, planned by StartExtract) runs its own
    // flow after the incremental one: StartExtract starts it, moving the incremental flow to
    // `$.extract` (so this branch is taken once), the same wait waits on it, and Consolidate calls
    // refresh_columns after the consolidation (or instead of it, when the incremental flow found nothing).
    const incrementalFlowDone = [
      Condition.stringEquals('$.flow.state', 'SUCCEEDED'),
      // Not(IsPresent) rather than IsPresent: false, which the local run's interpreter
      // (aws-local-stepfunctions 3.0.0) never matches; Step Functions reads both alike.
      Condition.not(Condition.isPresent('$.extract')),
    ];
    const flowFinished = new Choice(this, 'FlowFinished?')
      .when(Condition.and(...incrementalFlowDone, Condition.isPresent('$.refresh')), startExtract)
      .when(
        Condition.and(...incrementalFlowDone, Condition.numberEquals('$.flow.recordsProcessed', 0)),
        finishObject, // an empty run has nothing to consolidate
      )
      .when(Condition.stringEquals('$.flow.state', 'SUCCEEDED'), consolidate)
      .when(Condition.and(Condition.stringEquals('$.flow.state', 'RUNNING'), flowWaitable), awaitFlowRun)
      .otherwise(
        unknownState(
          'FlowStateUnknown',
          'FlowFinished?',
          'the flow wait',
          'a flow neither SUCCEEDED nor RUNNING with its wait times',
        ),
      );
    const consolidationFinished = new Choice(this, 'ConsolidationFinished?')
      // The consolidation or the column refresh's CALL still runs: wait on its statement.
      .when(Condition.isPresent('$.waiting'), awaitConsolidationStatement)
      .when(Condition.stringEquals('$.consolidation.state', 'FINISHED'), finishObject)
      .otherwise(
        unknownState(
          'ConsolidationStateUnknown',
          'ConsolidationFinished?',
          'Consolidate',
          'a consolidation not FINISHED and no statement to wait on',
        ),
      );

    startExtract.next(extractStarted);
    awaitFlowRun.next(flowFinished);
    pollFlow.next(flowFinished);
    consolidate.next(consolidationFinished);

    // Distributed: every object runs as a Standard child execution with its own 25,000-event
    // history, so the parent's history stays constant in the number of objects and an object's
    // waits and retries count against its own history only. A redrive reruns only the failed children.
    // The plans come from S3 and the results go there: the parent's state holds references only,
    // so its payload stays constant in the number of objects too.
    const bucket = props.runStateBucket;
    const processObjects = new DistributedMap(this, 'ProcessObjects', {
      itemReader: new RunPlanReader({ bucket, key: JsonPath.stringAt('$.plan.key') }),
      resultWriterV2: new RunResultsWriter({ bucket, prefix: JsonPath.stringAt('$.plan.resultsPrefix') }),
      // Every object is reported, a child that failed uncaught too (ReportRun names it FAILED):
      // the Map Run never fails on its children; the run ends FAILED through AllObjectsSucceeded?.
      toleratedFailurePercentage: 100,
      maxConcurrency: props.mapConcurrency ?? 5,
      mapExecutionType: StateMachineType.STANDARD,
      itemSelector: { 'run.$': '$.run', 'plan.$': '$$.Map.Item.Value' },
      resultPath: '$.mapRun',
    });
    processObjects.itemProcessor(startExtract);

    // Per execution ---------------------------------------------------------------
    // The run is planned first (due objects, valid rows); only a run with objects asks its
    // dependencies. A failed precheck ends the run before any flow exists; its message says what to fix.
    const loadObjects = task('LoadObjects', fns.loadObjects, {
      payload: TaskInput.fromObject({
        input: JsonPath.objectAt('$$.Execution.Input'),
        execution: {
          id: JsonPath.stringAt('$$.Execution.Id'),
          name: JsonPath.stringAt('$$.Execution.Name'),
          startTime: JsonPath.stringAt('$$.Execution.StartTime'),
        },
      }),
    });
    const precheck = task('Precheck', fns.precheck);
    const awaitPrecheckStatement = awaitStatement('AwaitPrecheckStatement', precheck);
    // The whole state: `mapRun` is absent when no object ran (the Map was skipped).
    const reportRun = task('ReportRun', fns.runReport, { mayRunAgain: false });
    const runFailed = new Fail(this, 'RunFailed', { error: 'ObjectsFailed', causePath: '$.summary' });
    const runSucceeded = new Choice(this, 'AllObjectsSucceeded?')
      .when(Condition.stringEquals('$.status', 'FAILED'), runFailed)
      .otherwise(new Succeed(this, 'RunSucceeded'));
    reportRun.next(runSucceeded);

    // A Map Run over no items is never started: AWS does not document its ResultWriter manifest.
    const anyObjectsToRun = new Choice(this, 'AnyObjectsToRun?')
      .when(Condition.numberGreaterThan('$.plan.objectCount', 0), precheck)
      .otherwise(reportRun);
    const precheckDone = new Choice(this, 'PrecheckDone?')
      .when(Condition.isPresent('$.waiting'), awaitPrecheckStatement)
      .when(Condition.numberGreaterThan('$.plan.objectCount', 0), processObjects)
      .otherwise(reportRun); // the quota guard held every object back
    loadObjects.next(anyObjectsToRun);
    precheck.next(precheckDone);
    processObjects.next(reportRun);
    const definition = loadObjects;

    this.logGroup = new LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${props.stateMachineName}`,
      retention: props.logRetention ?? RetentionDays.THREE_MONTHS,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineName: props.stateMachineName,
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(definition),
      timeout: props.executionTimeout ?? Duration.hours(6),
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: LogLevel.ALL, includeExecutionData: true },
    });
    for (const fn of Object.values(fns)) {
      Validations.of(this.stateMachine.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(fn.node.defaultChild as CfnElement)}.Arn>:*]`,
        reason:
          'lambda:InvokeFunction on the function and its versions/aliases (<arn>:*), as LambdaInvoke grants it',
      });
    }
    // The Distributed Map's policy (CDK's own): start, describe, stop and redrive this machine's child executions.
    const stateMachineName = `{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${Stack.of(this).getLogicalId(this.stateMachine.node.defaultChild as CfnElement)}"}]}]}`;
    for (const executions of [`${stateMachineName}:*`, `${stateMachineName}/*:*`]) {
      Validations.of(this.stateMachine).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:${Stack.of(this).region}:${Stack.of(this).account}:execution:${executions}]`,
        reason:
          'Child executions of this state machine, named by Step Functions at run time (Distributed Map); DescribeExecution, StopExecution and RedriveExecution only',
      });
    }
    Validations.of(this.stateMachine.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(bucket.node.defaultChild as CfnElement)}.Arn>/${RUN_STATE_PREFIX}*]`,
      reason:
        "The Distributed Map reads each run's plan and writes its results under runs/<execution name>/, named at run time",
    });
    Validations.of(this.stateMachine.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing and CloudWatch Logs delivery (logs:CreateLogDelivery …) support no resource-level permissions',
    });
  }
}
