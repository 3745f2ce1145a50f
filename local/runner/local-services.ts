import { CreateTableCommand, type CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { PGlite } from '@electric-sql/pglite';
import { LOCAL_CONFIG } from '../../config/local-environment';
import type { ObjectState } from '../../lambdas/common/object-state';
import type { RunReport, RunReportSummary } from '../../lambdas/common/run-report';
import type { EnvironmentConfig } from '../../lib/config';
import type { ConnectorProfile } from '../stand-ins/appflow/connector-catalog';
import { AppFlowStandIn } from '../stand-ins/appflow-stand-in';
import { DynamoDbStandIn } from '../stand-ins/dynamodb-stand-in';
import { EventBridgeStandIn } from '../stand-ins/eventbridge-stand-in';
import { FaultInjector, type FaultSpec } from '../stand-ins/fault-injector';
import type { RequestCheck } from '../stand-ins/http-service';
import { RedshiftDataStandIn } from '../stand-ins/redshift-data-stand-in';
import { S3StandIn } from '../stand-ins/s3-stand-in';
import { generateConnectedAppKeys, SalesforceLimitsStandIn } from '../stand-ins/salesforce-limits-stand-in';
import { SecretsManagerStandIn } from '../stand-ins/secrets-manager-stand-in';
import type { SimulatedClock } from '../stand-ins/simulated-clock';
import type { SourceOrg } from '../stand-ins/source-org';
import { StepFunctionsStandIn } from '../stand-ins/step-functions-stand-in';
import { type IamGate, iamGateForAssembly } from '../strict/iam-gate';
import { LOCAL_STACK_NAME, type LocalAssembly } from './assembly';
import { type StateDefinition, walkStates } from './definition';
import type { MapStorage } from './distributed-map';
import { FLOW_WAIT_PATHS, FlowWaitEmulation, waitTimes } from './flow-wait-emulation';
import { LOCAL_CONNECTED_APP } from './local-config';
import {
  type InvocationClock,
  inSimulatedTime,
  type LocalHandler,
  loadBundledHandler,
  setEnvironment,
} from './local-lambda';
import type { LocalStateMachine } from './run-execution';
import type { Scenario, ScenarioDay } from './scenario';
import { currentTimeline, onTimeline, Timeline } from './simulated-time';
import {
  STATEMENT_WAIT_TIMEOUT_PATH,
  StatementWaitEmulation,
  type StatementWaitRequest,
  statementWaitTimeout,
} from './statement-wait-emulation';

/** What the stand-ins play against: the run's scenario, environment, template and simulated world. */
export interface LocalServicesSetup {
  scenario: Scenario;
  config: EnvironmentConfig;
  connectorProfiles: ConnectorProfile[];
  assembly: LocalAssembly;
  db: PGlite;
  clock: SimulatedClock;
  org: SourceOrg;
  /** Handler log level (Powertools). @default SILENT */
  logLevel?: string;
  /** Simulated seconds of a statement by its SQL, before the day's statementSeconds (the bench). */
  statementSeconds?: (sql: string) => number | undefined;
}

/** The stand-ins of a run, up and reached by the bound functions through their endpoints. */
export interface LocalServices {
  appflow: AppFlowStandIn;
  redshift: RedshiftDataStandIn;
  sfn: StepFunctionsStandIn;
  salesforce: SalesforceLimitsStandIn;
  /** AWS_ENDPOINT_URL_<SERVICE>, region, credentials and settings the handlers run with. */
  env: Record<string, string>;
  /** The control table, as the runner reads it. */
  doc: DynamoDBDocumentClient;
  /** What the state machine runs on: its step handlers, Step Functions' own S3 calls, the run reports. */
  machine: Pick<LocalStateMachine, 'handlers' | 'storage' | 'readReport'>;
  /** The day's conditions the stand-ins play: its faults, its flows' run minutes and lost or doubled events. */
  startDay(day: ScenarioDay): void;
  /** The longest simulated run time of each function (logical id) since the day started, in seconds. */
  lambdaSeconds(): Record<string, number>;
  /** Functions the event rules invoked since the day started (retries included): no state counts them. */
  eventInvocations(): number;
  /** The day's faults no call has met yet (what is left of their `times`). */
  faultsNotFired(): FaultSpec[];
  /** Puts the environment back and stops every stand-in. */
  stop(): Promise<void>;
}

/**
 * Stands up the stand-ins (AppFlow over the simulated org, a Data API over PGlite, dynalite,
 * Salesforce's limits and sign-in, EventBridge, Step Functions, S3, Secrets Manager), each behind
 * the IAM gate, and binds the template's functions to them through `AWS_ENDPOINT_URL_<SERVICE>`.
 */
export async function startLocalServices(setup: LocalServicesSetup): Promise<LocalServices> {
  const { scenario, assembly } = setup;
  // IAM as a real account applies it: each function's calls against its role's policies (always on).
  const iam = iamGateForAssembly(assembly, setup.config, LOCAL_STACK_NAME);
  const faults = new FaultInjector();
  // Event targets call the bundled functions, bound once the endpoints are known.
  const functionHandlers: Record<string, LocalHandler> = {};
  const eventTargets = { invocations: 0 };
  // The day being played (startDay), once the days begin: its statementSeconds, flows and events.
  let today: ScenarioDay | undefined;
  const standIns = createStandIns(setup, iam, faults, functionHandlers, eventTargets, () => today);
  const { appflow, redshift, sfn, salesforce, events, s3 } = standIns;
  const restorers: (() => void)[] = [];
  const running: { stop(): Promise<void> }[] = [];
  const stop = async () => {
    for (const restore of restorers.reverse()) restore();
    await Promise.allSettled(running.map((service) => service.stop()));
  };
  try {
    const urls = await startStandIns(standIns, running, [iam.check]);
    const env = handlerEnvironment(urls, setup.logLevel);
    restorers.push(setEnvironment(env));
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: urls.dynamodb }), {
      marshallOptions: { removeUndefinedValues: true },
    });
    await createTables(doc, assembly, scenario.objects);
    let longestRuns: Record<string, number> = {};
    Object.assign(
      functionHandlers,
      bindFunctions(assembly, env, restorers, iam, {
        now: () => setup.clock.now().getTime(),
        ran: (logicalId, seconds) => {
          longestRuns[logicalId] = Math.max(longestRuns[logicalId] ?? 0, seconds);
        },
      }),
    );
    const flowWaits = new FlowWaitEmulation({
      sfn,
      appflow,
      events,
      runMinutes: (objectName) => today?.flowRunMinutes?.[objectName],
      dropsEvent: (objectName) => today?.dropFlowEvents?.includes(objectName) ?? false,
      duplicatesEvent: (objectName) => today?.duplicateFlowEvents?.includes(objectName) ?? false,
      sweepMinutes: sweepMinutesOf(assembly),
    });
    const statementWaits = new StatementWaitEmulation({
      sfn,
      redshift,
      events,
      dropsEvent: (objectName) =>
        objectName !== undefined && (today?.dropStatementEvents?.includes(objectName) ?? false),
    });
    // Step Functions' own S3 calls (the Distributed Map's ItemReader and ResultWriter), as its role.
    const storage = mapStorage(
      new S3Client({
        endpoint: urls.s3,
        region: LOCAL_CONFIG.region,
        credentials: iam.credentialsFor(assembly.stateMachineLogicalId),
      }),
    );
    const readReport = (summary: RunReportSummary): RunReport | undefined => {
      const text = s3.readText(summary.report.bucket, summary.report.key);
      return text === undefined ? undefined : (JSON.parse(text) as RunReport);
    };
    return {
      appflow,
      redshift,
      sfn,
      salesforce,
      env,
      doc,
      machine: {
        handlers: stepHandlers(assembly, functionHandlers, sfn, {
          flows: flowWaits,
          statements: statementWaits,
        }),
        storage,
        readReport,
      },
      startDay: (day) => {
        today = day;
        longestRuns = {};
        eventTargets.invocations = 0;
        faults.clear();
        faults.add(day.faults);
      },
      lambdaSeconds: () => ({ ...longestRuns }),
      eventInvocations: () => eventTargets.invocations,
      faultsNotFired: () => faults.pending(),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

type StandIns = ReturnType<typeof createStandIns>;

function createStandIns(
  setup: LocalServicesSetup,
  iam: IamGate,
  faults: FaultInjector,
  functionHandlers: Record<string, LocalHandler>,
  eventTargets: { invocations: number },
  today: () => ScenarioDay | undefined,
) {
  const { scenario, config, assembly, db, clock, org } = setup;
  const checks = [iam.check];
  const appflow = new AppFlowStandIn({
    org,
    db,
    faults,
    clock,
    connectorProfiles: setup.connectorProfiles,
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
    // Every statement takes the day's statementSeconds of its caller's simulated time.
    time: {
      statementSeconds: (sql) => setup.statementSeconds?.(sql) ?? today()?.statementSeconds ?? 0,
      now: () => currentTimeline()?.now() ?? clock.now().getTime(),
    },
  });
  const dynamodb = new DynamoDbStandIn({ checks, faults });
  const salesforce = new SalesforceLimitsStandIn({ org, clock });
  // The quota guard signs in as Salesforce intends for server jobs (JWT bearer): a key pair per run,
  // its public half registered with the org's connected app, the private half in the secret.
  const connectedAppKeys = generateConnectedAppKeys();
  salesforce.registerConnectedApp({
    clientId: LOCAL_CONNECTED_APP.clientId,
    certificate: connectedAppKeys.publicKey,
    usernames: [LOCAL_CONNECTED_APP.username],
  });
  // The deployed rules with Lambda targets (AppFlow's end-of-run report, the flow-wait sweep).
  const events = new EventBridgeStandIn({
    checks,
    faults,
    account: config.account,
    region: config.region,
    routes: assembly.eventRules.map((rule) => ({
      name: rule.logicalId,
      ...(rule.eventPattern ? { eventPattern: rule.eventPattern } : {}),
      ...(rule.scheduleExpression ? { scheduleExpression: rule.scheduleExpression } : {}),
      // A target runs on a timeline of its own, from the time the event was sent; each call
      // (a retry too) is an invocation Lambda bills.
      targets: rule.targetFunctions.map((logicalId) => (event: unknown) => {
        eventTargets.invocations++;
        return onTimeline(new Timeline(currentTimeline()?.now() ?? clock.now().getTime()), () =>
          functionHandlers[logicalId](event),
        );
      }),
    })),
  });
  const sfn = new StepFunctionsStandIn({ checks, faults });
  const s3 = new S3StandIn(assembly.bucketNames, { checks });
  return { appflow, redshift, dynamodb, salesforce, connectedAppKeys, events, sfn, s3 };
}

type ServiceUrls = Record<
  'appflow' | 'redshift' | 'dynamodb' | 'salesforce' | 'events' | 'sfn' | 's3' | 'secrets',
  string
>;

/** Starts every stand-in (each joins `running` first, so that a failed start stops them all); their URLs. */
async function startStandIns(
  { connectedAppKeys, ...standIns }: StandIns,
  running: { stop(): Promise<void> }[],
  checks: RequestCheck[],
): Promise<ServiceUrls> {
  running.push(...Object.values(standIns));
  const started = await Promise.all(
    Object.entries(standIns).map(async ([name, service]) => [name, (await service.start()).url]),
  );
  const urls = Object.fromEntries(started) as Omit<ServiceUrls, 'secrets'>;
  // The limits secret names the limits endpoint, so Secrets Manager starts once that has a port.
  const secrets = new SecretsManagerStandIn(
    {
      [LOCAL_CONFIG.redshift.secretName]: '{"username":"local","password":"local"}',
      [LOCAL_CONFIG.source.apiLimitsSecretName]: JSON.stringify({
        loginUrl: urls.salesforce,
        clientId: LOCAL_CONNECTED_APP.clientId,
        username: LOCAL_CONNECTED_APP.username,
        privateKey: connectedAppKeys.privateKey,
      }),
    },
    { checks },
  );
  running.push(secrets);
  return { ...urls, secrets: (await secrets.start()).url };
}

/** The environment every bound function runs with: the stand-ins' endpoints, region, credentials, settings. */
function handlerEnvironment(urls: ServiceUrls, logLevel: string | undefined): Record<string, string> {
  return {
    AWS_REGION: LOCAL_CONFIG.region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_APPFLOW: urls.appflow,
    AWS_ENDPOINT_URL_REDSHIFT_DATA: urls.redshift,
    AWS_ENDPOINT_URL_DYNAMODB: urls.dynamodb,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: urls.secrets,
    AWS_ENDPOINT_URL_EVENTBRIDGE: urls.events,
    AWS_ENDPOINT_URL_SFN: urls.sfn,
    // An IP-address endpoint: the SDK addresses buckets path-style by itself, as S3's endpoint rules say.
    AWS_ENDPOINT_URL_S3: urls.s3,
    POWERTOOLS_LOG_LEVEL: logLevel ?? 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    // The deployed functions run Node.js 24; the local Node version says nothing about them.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
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

/**
 * The functions the run calls (steps, event targets) by logical id, each signing as its own role.
 * Each invocation runs in simulated time (simulated-time.ts): from its timeline's time, its sleeps
 * counted against its template timeout; past it, it dies with `Sandbox.Timedout` as in Lambda.
 */
function bindFunctions(
  assembly: LocalAssembly,
  overrides: Record<string, string>,
  restorers: (() => void)[],
  iam: IamGate,
  clock: InvocationClock,
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
        return [fn.logicalId, inSimulatedTime(fn, handler, clock)];
      }),
  );
}

/**
 * Task state name → its bound function. A `.waitForTaskToken` task's function gets a fresh
 * token, then simulated time passes until the wait ends (FlowWaitEmulation).
 */
function stepHandlers(
  assembly: LocalAssembly,
  functionHandlers: Record<string, LocalHandler>,
  sfn: StepFunctionsStandIn,
  waits: { flows: FlowWaitEmulation; statements: StatementWaitEmulation },
): Record<string, LocalHandler> {
  const handlers = Object.fromEntries(
    Object.entries(assembly.taskFunctions).map(([stateName, fn]) => [
      stateName,
      functionHandlers[fn.logicalId],
    ]),
  );
  refuseWaitPathsNotPlayed(assembly);
  for (const stateName of assembly.tokenTasks) {
    const register = handlers[stateName];
    handlers[stateName] = async (input: unknown) => {
      // `lambda:invoke.waitForTaskToken` hands the function its Parameters' Payload.
      const request = (input as { Payload: { state?: ObjectState } & Partial<StatementWaitRequest> }).Payload;
      const label = request.state?.plan.objectName ?? request.objectName ?? stateName;
      // Step Functions reads the wait's timeouts from the state before the task starts: a bad one
      // fails the execution (States.Runtime) and no function runs.
      const times = request.wait ? statementWaitTimeout(request) : waitTimes(request.state?.flow);
      const { token, answer } = sfn.issueToken(label);
      try {
        await register({ ...request, taskToken: token });
      } catch (error) {
        sfn.timeOut(token, 'States.Timeout'); // the task failed: its token answers nothing more
        throw error;
      }
      // A flow's run (AwaitFlowRun) or a slow statement (Await…Statement), each in simulated time.
      if (typeof times === 'number')
        return waits.statements.wait(token, answer, request as StatementWaitRequest, times);
      return waits.flows.wait(token, answer, request.state as ObjectState, times);
    };
  }
  return handlers;
}

/**
 * The wait emulations read a flow wait's timeout and heartbeat, and a statement wait's timeout, from
 * the fields the definition names today (FLOW_WAIT_PATHS, STATEMENT_WAIT_TIMEOUT_PATH). A token task
 * whose definition reads its times elsewhere would be timed by the wrong fields: refused instead.
 */
export function refuseWaitPathsNotPlayed(assembly: Pick<LocalAssembly, 'definition' | 'tokenTasks'>): void {
  const played = (state: StateDefinition) =>
    state.HeartbeatSeconds === undefined &&
    ((state.TimeoutSecondsPath === FLOW_WAIT_PATHS.timeout &&
      state.HeartbeatSecondsPath === FLOW_WAIT_PATHS.heartbeat) ||
      (state.TimeoutSecondsPath === STATEMENT_WAIT_TIMEOUT_PATH && state.HeartbeatSecondsPath === undefined));
  for (const { name, state } of walkStates(assembly.definition)) {
    if (!assembly.tokenTasks.includes(name) || played(state)) continue;
    throw new Error(
      `Token task ${name}: the local run plays a wait whose TimeoutSecondsPath is ${FLOW_WAIT_PATHS.timeout} with HeartbeatSecondsPath ${FLOW_WAIT_PATHS.heartbeat}, or ${STATEMENT_WAIT_TIMEOUT_PATH} alone; this one reads ${JSON.stringify({ TimeoutSecondsPath: state.TimeoutSecondsPath, HeartbeatSecondsPath: state.HeartbeatSecondsPath, HeartbeatSeconds: state.HeartbeatSeconds })}`,
    );
  }
}

/** The deployed sweep's interval: the scheduled rule's `rate(N minutes)`. */
export function sweepMinutesOf(assembly: LocalAssembly): number {
  const rates = assembly.eventRules.flatMap((rule) => {
    const match = /^rate\((\d+) minutes?\)$/.exec(rule.scheduleExpression ?? '');
    return match ? [Number(match[1])] : [];
  });
  if (rates.length !== 1)
    throw new Error(`Expected one rate(N minutes) rule with a function target, found ${rates.length}`);
  return rates[0];
}
