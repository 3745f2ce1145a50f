import './polyfills';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { CreateTableCommand, type CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { PGlite } from '@electric-sql/pglite';
import { StateMachine } from 'aws-local-stepfunctions';
import { OBJECT_NAME_PATTERN } from '../../lambdas/common/control-row';
import { scanControlTable } from '../../lambdas/common/control-table';
import type { ObjectResult, ObjectState } from '../../lambdas/common/object-state';
import type { RunReport, RunReportSummary } from '../../lambdas/common/run-report';
import type { EnvironmentConfig } from '../../lib/config';
import type { ConnectorProfile } from '../stand-ins/appflow/connector-catalog';
import { AppFlowStandIn } from '../stand-ins/appflow-stand-in';
import { DynamoDbStandIn } from '../stand-ins/dynamodb-stand-in';
import { EventBridgeStandIn } from '../stand-ins/eventbridge-stand-in';
import { FaultInjector } from '../stand-ins/fault-injector';
import { RedshiftDataStandIn } from '../stand-ins/redshift-data-stand-in';
import { S3StandIn } from '../stand-ins/s3-stand-in';
import { generateConnectedAppKeys, SalesforceLimitsStandIn } from '../stand-ins/salesforce-limits-stand-in';
import { SecretsManagerStandIn } from '../stand-ins/secrets-manager-stand-in';
import { SimulatedClock } from '../stand-ins/simulated-clock';
import { SourceOrg } from '../stand-ins/source-org';
import { StepFunctionsStandIn } from '../stand-ins/step-functions-stand-in';
import { type IamGate, iamGateForAssembly } from '../strict/iam-gate';
import { setUpLocalWarehouse } from '../warehouse/local-warehouse';
import { LOCAL_STACK_NAME, type LocalAssembly, loadAssembly, synthesizeLocalStack } from './assembly';
import { definitionForLibrary, walkStates } from './definition';
import { distributedMapHandlers, type MapContext, type MapStorage } from './distributed-map';
import {
  ExecutionHistory,
  type HistoryFigures,
  type LocalStateEvent,
  withinPayloadLimit,
} from './execution-history';
import { FlowWaitEmulation } from './flow-wait-emulation';
import { LOCAL_CONFIG, localEnvironmentConfig } from './local-config';
import { lambdaContext, loadBundledHandler, setEnvironment } from './local-lambda';
import type { ObjectChanges, Scenario } from './scenario';

export const DEFAULT_CACHE_DIR = path.join(__dirname, '..', '..', '.local-out');

/** DESIGN.md report: one entry per object and day (extra fields are compatible additions). */
export interface ObjectDayReport {
  status: string;
  recordsExtracted: number;
  duplicatesRemoved: number;
  rowsInserted: number;
  rowsDeleted: number;
  error: string | null;
  syncMode?: string;
  syncReason?: string;
  rowsPurged?: number;
  /** Of rowsInserted, keys whose final row was replaced by a newer version (contract 6). */
  rowsUpdated?: number;
  /** Staged keys whose newest version was already current (the lookback overlap): not rewritten. */
  rowsUnchanged?: number;
  /** Text values cut to the flow's Truncate length (contract 7; README: long text). */
  valuesTruncated?: number;
  consolidationSkipped?: boolean;
}

export interface DayReport {
  date: string;
  executionName: string;
  executionStatus: 'SUCCEEDED' | 'FAILED';
  objects: Record<string, ObjectDayReport>;
  flowsRemaining: number;
  /** Why the execution failed, as its Fail state or failing step said. */
  error?: string;
  /** Execution history events as AWS would count them: the parent's and the largest child execution's. */
  historyEvents: { parent: number; maxChild: number };
  /** Largest state input or output of the execution and its children, in bytes (AWS: 256 KB each). */
  maxPayloadBytes: number;
  /** Counted from the execution's events and the stand-ins' logs. */
  stats: {
    stateTransitions: number;
    lambdaInvocations: number;
    consolidationCalls: number;
    startFlowCalls: number;
  };
}

export interface LocalReport {
  days: DayReport[];
}

export type ProgressEvent =
  | { type: 'setup'; message: string }
  | { type: 'day-started'; index: number; total: number; date: string; objects: number }
  | { type: 'step'; date: string; objectName: string; step: string }
  | { type: 'day-finished'; index: number; total: number; day: DayReport };

export interface LocalRunOptions {
  /** Folder for the cached synth. @default `.local-out/` */
  cacheDir?: string;
  onProgress?: (event: ProgressEvent) => void;
  /** Handler log level (Powertools). @default SILENT */
  logLevel?: string;
  /**
   * Called after the last day, while the stand-ins still answer and the handlers' environment
   * is set (`npm run local -- --keep`, `verify`'s end-to-end test). @default none
   */
  afterRun?: (context: LocalRunContext) => Promise<void>;
  /**
   * Fail a run whose state input or output is over 256 KB, as Step Functions does. Only the
   * bench turns it off, to time runs bigger than the design allows. @default true
   */
  enforcePayloadLimit?: boolean;
}

/** The live stand-ins of a finished run, for tools that talk to them as to AWS and Salesforce. */
export interface LocalRunContext {
  /** AWS_ENDPOINT_URL_<SERVICE>, region and credentials the handlers ran with. */
  env: Record<string, string>;
  config: EnvironmentConfig;
  controlTableName: string;
  db: PGlite;
  org: SourceOrg;
  salesforce: SalesforceLimitsStandIn;
}

export interface LocalRunResult {
  report: LocalReport;
  /** Final tables as JSON rows with lower-case keys (the `--dump` content). */
  finalTables: Record<string, Record<string, unknown>[]>;
  /** What the simulated org holds at the end: what the warehouse must equal. */
  sourceTruth: Record<string, Record<string, unknown>[]>;
  /** Control rows at the end. */
  controlRows: Record<string, unknown>[];
}

/** The run's environment: the local config plus the scenario's `sources` (issue 14). */
export function scenarioEnvironmentConfig(scenario: Pick<Scenario, 'sources'>): EnvironmentConfig {
  return localEnvironmentConfig(scenario.sources ? { sources: scenario.sources } : {});
}

/**
 * Every connector profile that exists in the run: the environment's Salesforce and Redshift
 * profiles and the scenario's `connectorProfiles`.
 */
export function scenarioConnectorProfiles(scenario: Pick<Scenario, 'connectorProfiles'>): ConnectorProfile[] {
  const profiles: ConnectorProfile[] = [
    { name: LOCAL_CONFIG.source.connectorProfileName, connectorType: 'Salesforce' },
    { name: LOCAL_CONFIG.source.redshiftConnectorProfileName, connectorType: 'Redshift' },
  ];
  for (const profile of scenario.connectorProfiles ?? []) {
    if (profiles.some((known) => known.name === profile.name)) {
      throw new Error(`Scenario: connector profile ${profile.name} is defined twice`);
    }
    profiles.push({ ...profile });
  }
  return profiles;
}

/** The connected app and integration user of the simulated org (the API-limits secret names them). */
export const LOCAL_CONNECTED_APP = { clientId: 'local-connected-app', username: 'integration@local.example' };

/** Step names an operator recognises in the progress lines. */
const STEP_LABELS: Record<string, string> = {
  StartExtract: 'starting flow',
  AwaitFlowRun: 'waiting on flow',
  PollFlow: 'looking at flow',
  Consolidate: 'consolidating',
  FinishObject: 'finishing',
  RecordFailure: 'failed, cleaning up',
};

/**
 * Runs a scenario through the real state machine definition (from the synthesized
 * template) and the real bundled handlers, against embedded stand-ins reached through
 * `AWS_ENDPOINT_URL_<SERVICE>`: dynalite, a Data API over PGlite, AppFlow over a
 * simulated org, Secrets Manager, EventBridge and S3 (the run-state bucket).
 */
export async function runScenario(
  scenario: Scenario,
  options: LocalRunOptions = {},
): Promise<LocalRunResult> {
  const progress = options.onProgress ?? (() => undefined);
  const config = scenarioEnvironmentConfig(scenario);
  const connectorProfiles = scenarioConnectorProfiles(scenario);

  progress({ type: 'setup', message: 'synthesizing the stack (cached after the first run)' });
  const assembly = loadAssembly(await synthesizeLocalStack(config, options.cacheDir ?? DEFAULT_CACHE_DIR));
  // IAM as a real account applies it: each function's calls against its role's policies (always on).
  const iam = iamGateForAssembly(assembly, config, LOCAL_STACK_NAME);
  const checks = [iam.check];

  progress({ type: 'setup', message: 'starting the warehouse (PGlite) and applying sql/' });
  const db = await PGlite.create();
  // Redshift emulation, sql/, and AppFlow's database user (no privileges until granted).
  await setUpLocalWarehouse(db);

  const clock = new SimulatedClock(`${scenario.days[0]?.date ?? '2026-01-01'}T00:00:00.000Z`);
  const org = new SourceOrg(clock);
  const faults = new FaultInjector();
  let day: Scenario['days'][number] | undefined;
  defineSourceObjects(org, scenario, connectorProfiles);
  const appflow = new AppFlowStandIn({
    org,
    db,
    faults,
    clock,
    connectorProfiles,
    // A run ends when its simulated minutes are up (FlowWaitEmulation), not after some polls.
    pollsUntilDone: () => Number.POSITIVE_INFINITY,
    checks,
    stagingBucketAccess: iam.stagingBucketAccess,
  });
  const redshift = new RedshiftDataStandIn({
    checks,
    db,
    faults,
    objectNames: () => scenario.objects.map((row) => String(row.objectName ?? '')).filter(Boolean),
  });
  const dynamodb = new DynamoDbStandIn({ checks });
  const limits = new SalesforceLimitsStandIn({ org, clock });
  // The quota guard signs in as Salesforce intends for server jobs (JWT bearer): a key pair per run,
  // its public half registered with the org's connected app, the private half in the secret.
  const connectedAppKeys = generateConnectedAppKeys();
  limits.registerConnectedApp({
    clientId: LOCAL_CONNECTED_APP.clientId,
    certificate: connectedAppKeys.publicKey,
    usernames: [LOCAL_CONNECTED_APP.username],
  });
  // The deployed rules with Lambda targets (AppFlow's end-of-run report, the flow-wait sweep),
  // each target the bundled function, bound once the endpoints are known.
  const functionHandlers: Record<string, LocalHandler> = {};
  const events = new EventBridgeStandIn({
    checks,
    faults,
    account: config.account,
    region: config.region,
    routes: assembly.eventRules.map((rule) => ({
      name: rule.logicalId,
      ...(rule.eventPattern ? { eventPattern: rule.eventPattern } : {}),
      ...(rule.scheduleExpression ? { scheduleExpression: rule.scheduleExpression } : {}),
      targets: rule.targetFunctions.map(
        (logicalId) => (event: unknown) => functionHandlers[logicalId](event),
      ),
    })),
  });
  const sfn = new StepFunctionsStandIn({ checks, faults });
  const s3 = new S3StandIn(assembly.bucketNames, { checks });
  const restorers: (() => void)[] = [];
  const services: { stop(): Promise<void> }[] = [appflow, redshift, dynamodb, limits, events, sfn, s3];
  try {
    const [appflowUrl, redshiftUrl, dynamodbUrl, limitsUrl, eventsUrl, sfnUrl, s3Url] = await Promise.all(
      [appflow, redshift, dynamodb, limits, events, sfn, s3].map((service) => service.start()),
    );
    // The limits secret names the limits endpoint, so Secrets Manager starts once that has a port.
    const secrets = new SecretsManagerStandIn(
      {
        [LOCAL_CONFIG.redshift.secretName]: '{"username":"local","password":"local"}',
        [LOCAL_CONFIG.source.apiLimitsSecretName]: JSON.stringify({
          loginUrl: limitsUrl.url,
          clientId: LOCAL_CONNECTED_APP.clientId,
          username: LOCAL_CONNECTED_APP.username,
          privateKey: connectedAppKeys.privateKey,
        }),
      },
      { checks },
    );
    services.push(secrets);
    const secretsUrl = await secrets.start();
    const endpoints = {
      AWS_REGION: LOCAL_CONFIG.region,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_APPFLOW: appflowUrl.url,
      AWS_ENDPOINT_URL_REDSHIFT_DATA: redshiftUrl.url,
      AWS_ENDPOINT_URL_DYNAMODB: dynamodbUrl.url,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsUrl.url,
      AWS_ENDPOINT_URL_EVENTBRIDGE: eventsUrl.url,
      AWS_ENDPOINT_URL_SFN: sfnUrl.url,
      // An IP-address endpoint: the SDK addresses buckets path-style by itself, as S3's endpoint rules say.
      AWS_ENDPOINT_URL_S3: s3Url.url,
      POWERTOOLS_LOG_LEVEL: options.logLevel ?? 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
      // The deployed functions run Node.js 24; the local Node version says nothing about them.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      // The Data API stand-in answers in milliseconds; no need to linger between looks.
      CONSOLIDATION_WAIT_MS: '20000',
    };
    restorers.push(setEnvironment(endpoints));
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: dynamodbUrl.url }), {
      marshallOptions: { removeUndefinedValues: true },
    });
    await createTables(doc, assembly, scenario.objects);
    Object.assign(functionHandlers, bindFunctions(assembly, endpoints, restorers, iam));
    const handlers = Object.fromEntries(
      Object.entries(assembly.taskFunctions).map(([stateName, fn]) => [
        stateName,
        functionHandlers[fn.logicalId],
      ]),
    );
    const flowWaits = new FlowWaitEmulation({
      sfn,
      appflow,
      events,
      runMinutes: (objectName) => day?.flowRunMinutes?.[objectName],
      dropsEvent: (objectName) => day?.dropFlowEvents?.includes(objectName) ?? false,
      duplicatesEvent: (objectName) => day?.duplicateFlowEvents?.includes(objectName) ?? false,
      sweepMinutes: sweepMinutesOf(assembly),
      heartbeatSeconds: heartbeatSecondsOf(assembly),
    });
    // A `.waitForTaskToken` task: the function gets a fresh token, then simulated time passes.
    for (const stateName of assembly.tokenTasks) {
      const register = handlers[stateName];
      handlers[stateName] = async (input: unknown) => {
        // `lambda:invoke.waitForTaskToken` hands the function its Parameters' Payload.
        const request = (input as { Payload: { state: ObjectState } }).Payload;
        const { token, answer } = sfn.issueToken(request.state.plan.objectName);
        try {
          await register({ ...request, taskToken: token });
        } catch (error) {
          sfn.timeOut(token, 'States.Timeout'); // the task failed: its token answers nothing more
          throw error;
        }
        return flowWaits.wait(token, answer, request.state);
      };
    }
    // Step Functions' own S3 calls (the Distributed Map's ItemReader and ResultWriter), as its role.
    const storage = mapStorage(
      new S3Client({
        endpoint: s3Url.url,
        region: LOCAL_CONFIG.region,
        credentials: iam.credentialsFor(assembly.stateMachineLogicalId),
      }),
    );
    const readReport = (summary: RunReportSummary): RunReport | undefined => {
      const text = s3.readText(summary.report.bucket, summary.report.key);
      return text === undefined ? undefined : (JSON.parse(text) as RunReport);
    };

    const report: LocalReport = { days: [] };
    let previousExecution: {
      executionName: string;
      input: unknown;
      outcome?: ExecutionOutcome;
      parentHistory: number;
    } = { executionName: '(none)', input: {}, parentHistory: 0 };
    for (const [index, scenarioDay] of scenario.days.entries()) {
      const today = scenarioDay;
      day = today;
      clock.advanceToDate(today.date);
      applyChanges(org, today.changes);
      if (today.apiQuota) org.setApiQuota(today.apiQuota);
      faults.clear();
      faults.add(today.faults);
      progress({
        type: 'day-started',
        index,
        total: scenario.days.length,
        date: today.date,
        objects: scenario.objects.length,
      });
      const appflowCallsBefore = appflow.calls.length;
      const redshiftCallsBefore = redshift.calls.length;
      const startTime = today.startTime ? moveClockTo(clock, today.startTime) : clock.tick(60_000);
      // A redrive continues the previous day's execution: same name, from the state it failed in.
      const redrive = today.redrive ? redrivePoint(previousExecution) : undefined;
      const executionName = redrive ? previousExecution.executionName : `day-${index + 1}-${today.date}`;
      const midRunChanges = today.midRunChanges;
      const executionArn = localExecutionArn(executionName);
      sfn.setExecutionStatus(executionArn, 'RUNNING');
      const outcome = await runExecution(assembly, handlers, redrive ? redrive.failedAt.input : today.input, {
        ...(redrive ? { redrive } : {}),
        enforcePayloadLimit: options.enforcePayloadLimit ?? true,
        executionName,
        startTime,
        storage,
        readReport,
        now: () => clock.now(),
        onStep: (objectName, step) => {
          if (step === 'StartExtract' && midRunChanges) {
            clock.tick();
            applyChanges(org, midRunChanges, objectName);
          }
          const label = STEP_LABELS[step];
          if (label) progress({ type: 'step', date: today.date, objectName, step: label });
        },
      });
      sfn.setExecutionStatus(executionArn, outcome.status);
      // AWS keeps one history per execution: a redrive's events follow the failed attempt's.
      const parentHistory = redrive
        ? previousExecution.parentHistory + outcome.history.parent
        : outcome.history.parent;
      previousExecution = {
        executionName,
        input: redrive ? redrive.input : today.input,
        outcome,
        parentHistory,
      };
      await redshift.whenIdle();
      const dayReport: DayReport = {
        date: today.date,
        executionName,
        executionStatus: outcome.status,
        objects: objectReports(outcome.report),
        flowsRemaining: appflow.flowCount(),
        ...(outcome.error ? { error: outcome.error } : {}),
        historyEvents: { parent: parentHistory, maxChild: outcome.history.maxChild },
        maxPayloadBytes: outcome.history.maxPayloadBytes,
        stats: {
          stateTransitions: outcome.stateTransitions,
          lambdaInvocations: outcome.lambdaInvocations,
          consolidationCalls: redshift.calls
            .slice(redshiftCallsBefore)
            .filter(
              (call) =>
                call.operation === 'ExecuteStatement' && /CALL\s+consolidate_object/i.test(call.sql ?? ''),
            ).length,
          startFlowCalls: appflow.calls
            .slice(appflowCallsBefore)
            .filter((call) => call.operation === 'StartFlow').length,
        },
      };
      report.days.push(dayReport);
      progress({ type: 'day-finished', index, total: scenario.days.length, day: dayReport });
      clock.tick(60_000);
    }

    const finalTables = await dumpFinalTables(db, finalSchemasOf(config));
    const sourceTruth = Object.fromEntries(org.objectNames().map((name) => [name, org.truth(name)]));
    const controlRows = await scanControlTable(doc, assembly.controlTableName);
    await options.afterRun?.({
      env: endpoints,
      config,
      controlTableName: assembly.controlTableName,
      db,
      org,
      salesforce: limits,
    });
    return { report, finalTables, sourceTruth, controlRows };
  } finally {
    for (const restore of restorers.reverse()) restore();
    await Promise.allSettled(services.map((service) => service.stop()));
    await db.close();
  }
}

/** The ARN of a local execution, as `$$.Execution.Id` and DescribeExecution name it. */
function localExecutionArn(executionName: string): string {
  return `arn:aws:states:eu-west-1:000000000000:execution:saas-to-redshift-local:${executionName}`;
}

/** The clock only moves forward: a start time behind it is a scenario error, not a time machine. */
function moveClockTo(clock: SimulatedClock, iso: string): Date {
  const ahead = Date.parse(iso) - clock.now().getTime();
  if (ahead < 0)
    throw new Error(`startTime ${iso} is before the simulated clock (${clock.now().toISOString()})`);
  return clock.tick(ahead);
}

function defineSourceObjects(org: SourceOrg, scenario: Scenario, profiles: ConnectorProfile[]): void {
  const names = new Set<string>();
  for (const row of scenario.objects) {
    // A row reading another entity (issue 14: `entityName`) needs that entity, not one named like the row.
    if (typeof row.entityName === 'string' && row.entityName !== '') names.add(row.entityName);
    else if (typeof row.objectName === 'string' && OBJECT_NAME_PATTERN.test(row.objectName))
      names.add(row.objectName);
  }
  for (const name of Object.keys(scenario.sourceObjects ?? {})) names.add(name);
  for (const day of scenario.days) for (const name of Object.keys(day.changes)) names.add(name);
  for (const name of names) {
    if (org.hasObject(name)) continue;
    const declared: NonNullable<Scenario['sourceObjects']>[string] = scenario.sourceObjects?.[name] ?? {
      fields: [],
    };
    const { fields = [], ...options } = declared;
    let connectorType: string | undefined;
    if (options.profile !== undefined) {
      const profile = profiles.find((candidate) => candidate.name === options.profile);
      if (!profile || profile.connectorType === 'Redshift') {
        const known = profiles.filter((candidate) => candidate.connectorType !== 'Redshift');
        throw new Error(
          `Scenario: sourceObjects.${name}.profile ${options.profile} is not a source connector profile (known: ${known.map((candidate) => candidate.name).join(', ')})`,
        );
      }
      connectorType = profile.connectorType;
    }
    org.defineObject(name, fields, { ...options, ...(connectorType ? { connectorType } : {}) });
  }
}

function applyChanges(org: SourceOrg, changes: Record<string, ObjectChanges>, onlyObject?: string): void {
  for (const [objectName, change] of Object.entries(changes)) {
    if (onlyObject && objectName !== onlyObject) continue;
    if (change.upsert.length > 0) org.upsert(objectName, change.upsert);
    if (change.delete.length > 0) org.delete(objectName, change.delete);
    if (change.purge.length > 0) org.purge(objectName, change.purge);
  }
}

/** Every table of the template (control table, flow waits), as CloudFormation would create it; the control rows in. */
async function createTables(
  doc: DynamoDBDocumentClient,
  assembly: LocalAssembly,
  rows: Record<string, unknown>[],
) {
  for (const table of assembly.tables) {
    await doc.send(
      new CreateTableCommand({
        TableName: table.name,
        KeySchema: table.properties.KeySchema as CreateTableCommandInput['KeySchema'],
        AttributeDefinitions: table.properties
          .AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  }
  for (const row of rows) await doc.send(new PutCommand({ TableName: assembly.controlTableName, Item: row }));
}

type LocalHandler = (input: unknown) => Promise<unknown>;

function mapStorage(client: S3Client): MapStorage {
  return {
    async getObject(bucket, key) {
      const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return (await object.Body?.transformToString('utf8')) ?? '';
    },
    async putObject(bucket, key, body) {
      await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }),
      );
    },
  };
}

/** The functions the run calls (steps, event targets) by logical id, each signing as its own role. */
function bindFunctions(
  assembly: LocalAssembly,
  overrides: Record<string, string>,
  restorers: (() => void)[],
  iam: IamGate,
): Record<string, LocalHandler> {
  const used = new Set([
    ...Object.values(assembly.taskFunctions).map((fn) => fn.logicalId),
    ...assembly.eventRules.flatMap((rule) => rule.targetFunctions),
  ]);
  return Object.fromEntries(
    [...used]
      .map((logicalId) => assembly.functions[logicalId])
      .map((fn) => {
        // The function's SDK clients sign as its role; the gate learns who submitted which statement.
        const handler = loadBundledHandler(fn, overrides, restorers, {
          credentials: iam.credentialsFor(fn.logicalId),
          onResponse: (commandName, output) => iam.observeResponse(fn.logicalId, commandName, output),
        });
        return [fn.logicalId, (input: unknown) => handler(input, lambdaContext(fn.logicalId, randomUUID()))];
      }),
  );
}

/** The deployed sweep's interval: the scheduled rule's `rate(N minutes)`. */
function sweepMinutesOf(assembly: LocalAssembly): number {
  const rates = assembly.eventRules.flatMap((rule) => {
    const match = /^rate\((\d+) minutes?\)$/.exec(rule.scheduleExpression ?? '');
    return match ? [Number(match[1])] : [];
  });
  if (rates.length !== 1)
    throw new Error(`Expected one rate(N minutes) rule with a function target, found ${rates.length}`);
  return rates[0];
}

/** The flow wait's HeartbeatSeconds, from the definition. */
function heartbeatSecondsOf(assembly: LocalAssembly): number {
  const seconds = [...walkStates(assembly.definition)]
    .filter(({ name }) => assembly.tokenTasks.includes(name))
    .map(({ state }) => state.HeartbeatSeconds as number | undefined);
  if (seconds.length !== 1 || seconds[0] === undefined)
    throw new Error('Expected one token task with HeartbeatSeconds');
  return seconds[0];
}

interface ExecutionOutcome {
  status: 'SUCCEEDED' | 'FAILED';
  report?: RunReport;
  error?: string;
  stateTransitions: number;
  lambdaInvocations: number;
  history: HistoryFigures;
  /** The top-level state a failed execution ended in, with its input: where a redrive resumes. */
  failedAt?: { stateName: string; stateType: string; input: unknown };
}

/** What a redrive needs of the attempt it continues. */
interface RedriveFrom {
  input: unknown;
  failedAt: NonNullable<ExecutionOutcome['failedAt']>;
}

interface StateEvent extends LocalStateEvent {
  type: string;
  state?: { name: string; type: string; input?: unknown; output?: unknown };
  Error?: string;
  Cause?: string;
}

function objectNameOf(input: unknown): string | undefined {
  const plan = (input as { plan?: { objectName?: string } } | undefined)?.plan;
  return plan?.objectName;
}

async function runExecution(
  assembly: LocalAssembly,
  handlers: Record<string, LocalHandler>,
  input: unknown,
  run: {
    executionName: string;
    startTime: Date;
    onStep: (objectName: string, step: string) => void;
    enforcePayloadLimit: boolean;
    /** Step Functions' S3 calls for a Distributed Map. */
    storage: MapStorage;
    /** The full report ReportRun's summary points at. */
    readReport: (summary: RunReportSummary) => RunReport | undefined;
    now: () => Date;
    /**
     * RedriveExecution: the same execution continues from the state it failed in, with that
     * state's input; states that succeeded (a finished Map Run, its children) are not rerun.
     */
    redrive?: RedriveFrom;
  },
): Promise<ExecutionOutcome> {
  const libraryDefinition = definitionForLibrary(assembly.definition, assembly.tokenTasks);
  const distributedMaps = libraryDefinition.distributedMaps;
  const definition = run.redrive
    ? { ...libraryDefinition.definition, StartAt: run.redrive.failedAt.stateName }
    : libraryDefinition.definition;
  // A redrive starts mid-definition: the states before it are unreachable, by design.
  const machine = new StateMachine(definition as never, {
    validationOptions: run.redrive ? { noValidate: true } : { checkPaths: false },
  });
  const instant = Object.fromEntries(Object.keys(handlers).map((name) => [name, 0]));
  const waits = Object.fromEntries(
    [...walkStates(assembly.definition)]
      .filter(({ state }) => state.Type === 'Wait')
      .map(({ name }) => [name, 0]),
  );
  // aws-local-stepfunctions 3 overwrites the context's Execution.StartTime with the wall
  // clock; AWS would hand the steps the execution's (here: simulated) start time.
  const startTime = run.startTime.toISOString();
  const withStartTime = Object.fromEntries(
    Object.entries(handlers).map(([name, handler]) => [
      name,
      (event: unknown) => {
        const invoke = () => handler(replaceExecutionStartTime(event, startTime));
        return run.enforcePayloadLimit ? withinPayloadLimit(name, event, invoke) : invoke();
      },
    ]),
  );
  const context: MapContext = {
    Execution: {
      Id: localExecutionArn(run.executionName),
      Name: run.executionName,
      StartTime: startTime,
      Input: run.redrive ? run.redrive.input : input,
      RoleArn: 'arn:aws:iam::000000000000:role/local',
    },
    StateMachine: {
      Id: 'arn:aws:states:eu-west-1:000000000000:stateMachine:saas-to-redshift-local',
      Name: 'saas-to-redshift-local',
    },
    // aws-local-stepfunctions has no task tokens: the token task's handler puts in a fresh one.
    Task: { Token: 'local-task-token-placeholder' },
  };
  const childOverrides = {
    taskResourceLocalHandlers: withStartTime as never,
    waitTimeOverrides: waits,
    retryIntervalOverrides: instant,
  };

  let stateTransitions = 0;
  let lambdaInvocations = 0;
  let summary: RunReportSummary | undefined;
  let failure: string | undefined;
  const history = new ExecutionHistory(assembly.definition, assembly.tokenTasks);
  let lastEntered: ExecutionOutcome['failedAt'];
  /** Every event of the parent (child undefined) and of each child execution. */
  const observe = (event: StateEvent, child?: number) => {
    if (child === undefined) history.observe(event);
    else history.observeChild(child, event);
    // The parent's states run one at a time: the last one entered is where a failure happened.
    if (child === undefined && event.type === 'StateEntered' && event.state)
      lastEntered = { stateName: event.state.name, stateType: event.state.type, input: event.state.input };
    if (event.type === 'StateEntered' && event.state) {
      stateTransitions++;
      if (event.state.type === 'Task' && !distributedMaps[event.state.name]) {
        lambdaInvocations++;
        const objectName = objectNameOf(event.state.input);
        if (objectName) run.onStep(objectName, event.state.name);
      }
    } else if (event.type === 'StateRetried') {
      lambdaInvocations++;
    } else if (child === undefined && event.type === 'StateExited' && event.state?.name === 'ReportRun') {
      summary = event.state.output as RunReportSummary;
    } else if (child === undefined && event.type === 'StateFailed' && !failure) {
      failure = `${event.state?.name}: ${event.Error}: ${event.Cause}`;
    }
  };

  const mapHandlers = distributedMapHandlers(distributedMaps, {
    overrides: childOverrides,
    context,
    storage: run.storage,
    now: run.now,
    onChildEvent: (index, event: StateEvent) => observe(event, index),
  });

  const execution = machine.run(input as never, {
    overrides: {
      ...childOverrides,
      taskResourceLocalHandlers: { ...withStartTime, ...mapHandlers } as never,
    },
    context: context as never,
  });
  const collect = (async () => {
    for await (const event of execution.eventLogs as AsyncIterable<StateEvent>) observe(event);
  })();
  let status: ExecutionOutcome['status'] = 'SUCCEEDED';
  let error: string | undefined;
  try {
    await execution.result;
  } catch (caught) {
    status = 'FAILED';
    const failed = caught as { name?: string; message?: string; cause?: unknown };
    error = failed.message ?? String(caught);
  }
  await collect;
  const figures = history.figures();
  const overLimit = run.enforcePayloadLimit && figures.dataLimitExceeded !== undefined;
  if (overLimit) {
    status = 'FAILED';
    error = figures.dataLimitExceeded;
  }
  return {
    status,
    report: overLimit || !summary ? undefined : run.readReport(summary),
    error: status === 'FAILED' ? (error ?? failure) : undefined,
    stateTransitions,
    lambdaInvocations,
    history: figures,
    ...(status === 'FAILED' && lastEntered ? { failedAt: lastEntered } : {}),
  };
}

/**
 * Where RedriveExecution would resume the day's failed execution. A run that ended in its Fail
 * state (objects failed, each caught and reported by its child) has nothing to redo there: the
 * local run refuses, and the report's rerun input (`{"objects": [...]}`) starts a new execution.
 */
function redrivePoint(previous: {
  executionName: string;
  input: unknown;
  outcome?: ExecutionOutcome;
}): RedriveFrom {
  const { outcome } = previous;
  if (outcome?.status !== 'FAILED' || !outcome.failedAt) {
    throw new Error(
      `Scenario: "redrive" needs the previous day's execution to have failed (${previous.executionName} ${outcome?.status ?? 'did not run'})`,
    );
  }
  if (outcome.failedAt.stateType === 'Map') {
    throw new Error(
      `Scenario: ${previous.executionName} failed in its Distributed Map ${outcome.failedAt.stateName}: AWS would redrive only its unsuccessful children, which the local run does not play`,
    );
  }
  if (outcome.failedAt.stateType === 'Fail') {
    throw new Error(
      `Scenario: ${previous.executionName} ended in its Fail state ${outcome.failedAt.stateName}: a redrive would fail there again; rerun the failed objects with a new execution`,
    );
  }
  return { input: previous.input, failedAt: outcome.failedAt };
}

/** The `execution.startTime` a step received from `$$.Execution.StartTime`, set to the run's start. */
function replaceExecutionStartTime(event: unknown, startTime: string): unknown {
  const execution = (event as { execution?: { startTime?: string } } | null)?.execution;
  if (!execution || typeof execution.startTime !== 'string') return event;
  return { ...(event as object), execution: { ...execution, startTime } };
}

function objectReports(report: RunReport | undefined): Record<string, ObjectDayReport> {
  const entries = (report?.objects ?? []).map((result: ObjectResult): [string, ObjectDayReport] => [
    result.objectName,
    {
      status: result.status,
      recordsExtracted: result.recordsExtracted,
      duplicatesRemoved: result.duplicatesRemoved,
      rowsInserted: result.rowsInserted,
      rowsDeleted: result.rowsDeleted,
      error: result.error,
      ...(result.syncMode ? { syncMode: result.syncMode } : {}),
      ...(result.syncReason ? { syncReason: result.syncReason } : {}),
      rowsPurged: result.rowsPurged,
      ...(result.rowsUpdated !== undefined ? { rowsUpdated: result.rowsUpdated } : {}),
      ...(result.rowsUnchanged !== undefined ? { rowsUnchanged: result.rowsUnchanged } : {}),
      ...(result.valuesTruncated !== undefined ? { valuesTruncated: result.valuesTruncated } : {}),
      consolidationSkipped: result.consolidationSkipped,
    },
  ]);
  return Object.fromEntries(entries);
}

/** JSON as an analyst would read it: timestamps in ISO 8601 (UTC), dates as YYYY-MM-DD. */
function jsonValue(value: unknown, dataType: string | undefined): unknown {
  if (!(value instanceof Date)) return value;
  return dataType === 'date' ? value.toISOString().slice(0, 10) : value.toISOString();
}

/** The final schemas of every configured source (DESIGN.md: `<source>`), each once. */
function finalSchemasOf(config: EnvironmentConfig): string[] {
  return [...new Set(Object.values(config.sources).map((source) => source.finalSchema))];
}

/**
 * Every final table of every source's final schema as rows with lower-case keys, ordered by
 * `id` when it has one. Target tables are unique across the warehouse (control-row check), so
 * one map (and one `--dump` directory) holds them all.
 */
async function dumpFinalTables(
  db: PGlite,
  finalSchemas: string[],
): Promise<Record<string, Record<string, unknown>[]>> {
  const dump: Record<string, Record<string, unknown>[]> = {};
  for (const schema of finalSchemas) {
    const columns = await db.query<{ table_name: string; column_name: string; data_type: string }>(
      `SELECT table_name, column_name, data_type FROM information_schema.columns
       WHERE table_schema = $1 ORDER BY table_name, ordinal_position`,
      [schema],
    );
    const types = new Map<string, Map<string, string>>();
    for (const column of columns.rows) {
      const table = types.get(column.table_name) ?? new Map<string, string>();
      table.set(column.column_name, column.data_type);
      types.set(column.table_name, table);
    }
    for (const [table, tableTypes] of types) {
      if (dump[table])
        throw new Error(`Final table ${table} exists in two final schemas; --dump needs one name per table`);
      const orderBy = tableTypes.has('id') ? ' ORDER BY "id"' : '';
      const rows = await db.query<Record<string, unknown>>(`SELECT * FROM "${schema}"."${table}"${orderBy}`);
      dump[table] = rows.rows.map((row) =>
        Object.fromEntries(
          Object.entries(row).map(([key, value]) => [
            key.toLowerCase(),
            jsonValue(value, tableTypes.get(key)),
          ]),
        ),
      );
    }
  }
  return dump;
}
