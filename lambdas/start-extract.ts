import { createHash } from 'node:crypto';
import {
  AppflowClient,
  ConflictException,
  CreateFlowCommand,
  type CreateFlowCommandInput,
  DescribeFlowCommand,
  ResourceNotFoundException,
  StartFlowCommand,
} from '@aws-sdk/client-appflow';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { deleteFlowIfExists, describeSourceFields, findExecution } from './common/appflow';
import {
  buildRefreshFlowRequest,
  type ColumnRefreshPlan,
  planColumnRefresh,
  refreshFlowNameFor,
  refreshTableStatements,
} from './common/column-refresh';
import { claimObject, takeOverObject } from './common/control-table';
import { optionalEnv, requireEnv } from './common/environment';
import {
  classifyAwsError,
  errorMessage,
  ObjectBusyError,
  SchemaMismatchError,
  StatementFailedError,
  WarehouseConflictError,
} from './common/errors';
import { executionIsRunning } from './common/executions';
import {
  buildCreateFlowRequest,
  cursorFilterFor,
  type FlowSettings,
  flowNameFor,
} from './common/flow-definition';
import { flowWaitTimes } from './common/flow-waits';
import type { FlowState, ObjectState, PrepareState, RefreshState } from './common/object-state';
import { logger, objectKeys } from './common/observability';
import { layoutOf, type ObjectPlan, sourceEntityOf } from './common/run-plan';
import { calculatedFieldsOf } from './common/source-describe';
import { type SourceField, selectSourceFields } from './common/source-fields';
import {
  openSalesforceSession,
  parseSalesforceCredentials,
  type SalesforceRequestOptions,
  type SalesforceSession,
  SourceCredentialsError,
} from './common/source-limits';
import { objectStatement, waitingOn } from './common/statement-waits';
import {
  existingTablesFromRows,
  existingTablesParameters,
  planTableChanges,
  SOURCE_COLUMN_TYPES_SQL,
  structureSyncStatements,
  TABLE_COLUMNS_SQL,
  type TableChanges,
} from './common/structure-sync';
import {
  budgetOf,
  checkStatement,
  fetchRows,
  quoteIdent,
  runSequence,
  runStatement,
  type StatementRequest,
  type StatementSlot,
  type TimeBudget,
  type WarehouseLayout,
  type WarehouseTarget,
  warehouseLayoutFromEnv,
  warehouseTargetFromEnv,
} from './common/warehouse';

const CONTROL_TABLE_NAME = requireEnv('CONTROL_TABLE_NAME');
const layout = warehouseLayoutFromEnv();
const target = warehouseTargetFromEnv();
const flowSettings: FlowSettings = {
  flowNamePrefix: requireEnv('FLOW_NAME_PREFIX'),
  redshiftConnectorProfileName: requireEnv('REDSHIFT_CONNECTOR_PROFILE'),
  stagingBucketName: requireEnv('STAGING_BUCKET_NAME'),
  stagingSchema: layout.stagingSchema,
  dataTransferApi: (optionalEnv('DATA_TRANSFER_API') ?? 'AUTOMATIC') as FlowSettings['dataTransferApi'],
  ...(optionalEnv('FLOW_KMS_KEY_ARN') ? { kmsKeyArn: optionalEnv('FLOW_KMS_KEY_ARN') } : {}),
};
/** How long a flow may run before its object fails `FlowWaitTimedOut`, unless the row sets its own. */
const FLOW_TIMEOUT_MINUTES = Number(requireEnv('FLOW_TIMEOUT_MINUTES'));
/** The flow wait's longest heartbeat (FlowRunWaits): the sweep beats more often than this. */
const FLOW_WAIT_HEARTBEAT_SECONDS = Number(requireEnv('FLOW_WAIT_HEARTBEAT_SECONDS'));
/** What the function keeps after its last statement wait: the AppFlow calls and returning the state. */
const RESERVED_MS = 20_000;
/** The database user AppFlow loads staging as (config `redshift.appflowDatabaseUser`; the precheck refuses a run without it). */
const APPFLOW_DATABASE_USER = optionalEnv('APPFLOW_DATABASE_USER');
/** The quota guard's Salesforce credentials (config `source.apiLimitsSecretName`): formula fields come from Salesforce's describe. */
const LIMITS_SECRET_ID = optionalEnv('SOURCE_LIMITS_SECRET_ID');
const appflow = new AppflowClient({});
const secrets = new SecretsManagerClient({});
const redshift = new RedshiftDataClient({});
const sfn = new SFNClient({});
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});
/** Formula fields from Salesforce: built once, so its session serves every invocation of this instance for a while. */
const calculatedFields = LIMITS_SECRET_ID ? calculatedFieldsReader(secrets, LIMITS_SECRET_ID) : undefined;

export interface ExtractDependencies {
  appflow: AppflowClient;
  redshift: RedshiftDataClient;
  target: WarehouseTarget;
  layout: WarehouseLayout;
  flowSettings: FlowSettings;
  /** The environment's flow timeout; a row's own `flowTimeoutMinutes` wins. */
  flowTimeoutMinutes: number;
  /** The flow wait's longest heartbeat; each wait's heartbeat stays below its timeout. */
  flowWaitHeartbeatSeconds: number;
  /** How long this invocation may wait on the warehouse before handing the wait to the state machine. */
  budget: TimeBudget;
  /** Database user AppFlow loads staging as: granted the staging tables. */
  appflowDatabaseUser?: string;
  /**
   * The names of an object's formula fields (Salesforce's describe, with the quota guard's
   * secret). Absent: none are known (no secret configured), so only `refreshFields`, new columns
   * and type changes are refreshed.
   */
  calculatedFields?: (plan: ObjectPlan) => Promise<string[]>;
}

/**
 * How long a Salesforce session opened for the formula fields serves later objects and invocations
 * of the same Lambda instance: below Salesforce's shortest session timeout (15 minutes of inactivity).
 */
export const SALESFORCE_SESSION_REUSE_MS = 10 * 60_000;

export interface CalculatedFieldsReaderOptions extends Pick<SalesforceRequestOptions, 'fetchImpl'> {
  /** The clock the session's reuse is measured by. @default Date.now */
  now?: () => number;
}

/**
 * Formula fields from Salesforce's describe, signed in with the secret the quota guard reads. The
 * session is kept in the reader (module scope: never in the state, never logged) and reused for
 * SALESFORCE_SESSION_REUSE_MS, so a run's objects share one secret read and one sign-in; a session
 * Salesforce refuses before then is opened anew, once.
 */
export function calculatedFieldsReader(
  client: SecretsManagerClient,
  secretId: string,
  options: CalculatedFieldsReaderOptions = {},
): (plan: ObjectPlan) => Promise<string[]> {
  const now = options.now ?? Date.now;
  const requests: SalesforceRequestOptions = {
    secretId,
    ...(options.fetchImpl ? { fetchImpl: options.fetchImpl } : {}),
  };
  let kept: { session: SalesforceSession; until: number } | undefined;
  const signIn = async (plan: ObjectPlan): Promise<SalesforceSession> => {
    let secret: string;
    try {
      const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
      secret = out.SecretString ?? '{}';
    } catch (error) {
      throw classifyAwsError(error, `${plan.objectName}: GetSecretValue ${secretId}`);
    }
    const session = await openSalesforceSession(parseSalesforceCredentials(secret, requests), requests);
    kept = { session, until: now() + SALESFORCE_SESSION_REUSE_MS };
    return session;
  };
  return async (plan) => {
    const entity = sourceEntityOf(plan);
    const reused = kept && now() < kept.until ? kept.session : undefined;
    try {
      return await calculatedFieldsOf(reused ?? (await signIn(plan)), entity, requests);
    } catch (error) {
      if (!reused || !(error instanceof SourceCredentialsError)) throw error;
      kept = undefined;
      return calculatedFieldsOf(await signIn(plan), entity, requests);
    }
  };
}

/**
 * The structure sync's statements (structureSyncStatements, the refresh table last), each named and
 * made idempotent per run, object and step. `round` counts the times the sync was planned again in
 * this run (PrepareState.replans): a new round's statements are new statements.
 */
export function structureStatements(
  deps: Pick<ExtractDependencies, 'flowSettings' | 'layout' | 'appflowDatabaseUser'>,
  state: ObjectState,
  changes: TableChanges,
  refresh: ColumnRefreshPlan | undefined,
  round = 0,
): StatementRequest[] {
  const { plan } = state;
  const refreshTable = refresh
    ? refreshTableStatements(
        layoutOf(plan, deps.layout),
        plan.targetTable,
        plan.primaryKey.toLowerCase(),
        changes.finalColumns,
        refresh.columns,
        deps.appflowDatabaseUser,
      )
    : undefined;
  return structureSyncStatements(changes, refreshTable).map(({ step, what, sql }) =>
    objectStatement(deps.flowSettings.flowNamePrefix, state, stepOfRound(step, round), what, sql),
  );
}

/** A step's name in a round of planning: the first round keeps the plain name. */
function stepOfRound(step: string, round: number): string {
  return round > 0 ? `${step}-r${round}` : step;
}

/** What PrepareState.planned keeps of a planned statement list: the same list, the same digest. */
export function statementsDigest(statements: readonly StatementRequest[]): string {
  return createHash('sha256')
    .update(JSON.stringify(statements.map((statement) => [statement.name, statement.sql])))
    .digest('hex')
    .slice(0, 32);
}

/**
 * Times a run's structure sync may be planned again because the source's fields changed under it;
 * after that the object fails SchemaMismatch and the next run syncs afresh.
 */
export const MAX_STRUCTURE_REPLANS = 5;

/**
 * The run's sync mode once the source's fields are known: a cursor the source cannot filter on
 * cannot bound a change window, so only a full load is complete.
 */
function effectivePlan(state: ObjectState, fields: SourceField[]): ObjectPlan {
  const { plan } = state;
  if (plan.syncMode !== 'incremental') return plan;
  const cursor = fields.find((field) => field.name === plan.cursorField);
  if (cursorFilterFor(plan.connectorType, cursor?.filterOperators) !== undefined) return plan;
  if (!state.prepare)
    logger.warn('Cursor field cannot be filtered: loading in full', {
      ...objectKeys(state),
      cursorField: plan.cursorField,
      declaredOperators: cursor?.filterOperators ?? [],
    });
  return { ...plan, syncMode: 'full', syncReason: 'cursor-not-filterable', window: {} };
}

/** Salesforce describes formula fields; custom connectors have none (their `refreshFields` work the same). */
function formulasWanted(plan: ObjectPlan): boolean {
  return (
    plan.formulaRefreshDue === true && plan.syncMode === 'incremental' && plan.connectorType === 'Salesforce'
  );
}

/**
 * The object's formula fields when this run refreshes them (Salesforce objects, formulas due,
 * an incremental run): read once per run and kept in the state, so every invocation plans the
 * same statements. A describe that fails does not stop the load: the formulas wait for the next
 * run (the refresh time is not recorded), and the log says why.
 */
async function formulaFieldsFor(
  deps: ExtractDependencies,
  state: ObjectState,
  plan: ObjectPlan,
): Promise<PrepareState['calculatedFields']> {
  const read = deps.calculatedFields;
  if (!read || !formulasWanted(plan)) return undefined;
  try {
    return { fields: await read(plan), known: true };
  } catch (error) {
    logger.warn('Could not read the formula fields from the source; refreshing them in a later run', {
      ...objectKeys(state),
      reason: errorMessage(error),
    });
    return { fields: [], known: false };
  }
}

/**
 * Makes the staging, final and history tables match the source's fields, and plans the run's
 * column refresh: reads the catalog and the source types the warehouse remembers, then runs the
 * planned statements in order (structureStatements), the refresh table last. Each statement is
 * waited on as long as the budget allows; one still running is handed to the state machine
 * (`waiting`), and the next invocation picks it up where the state says.
 *
 * Every invocation describes the source again, and plans from the first invocation's catalog read:
 * the same fields plan the same statements, so `done` counts the same list. When the fields
 * changed meanwhile (a field added, or of another type), the list differs (PrepareState.planned):
 * the statement in flight is let end, and the sync is planned again from a fresh catalog read, which
 * sees what the statements that ran changed. Nothing is lost: the flow is created with the fields
 * the tables were brought to.
 */
export async function syncStructure(
  deps: ExtractDependencies,
  state: ObjectState,
): Promise<
  | { kind: 'waiting'; state: ObjectState }
  | {
      kind: 'done';
      plan: ObjectPlan;
      fields: SourceField[];
      changes: TableChanges;
      refresh?: ColumnRefreshPlan;
      formulasKnown: boolean;
      prepare: PrepareState;
    }
> {
  const entityFields = await describeSourceFields(deps.appflow, state.plan);
  const fields = selectSourceFields(state.plan.objectName, entityFields, state.plan);
  const plan = effectivePlan(state, fields);
  let prepare: PrepareState = { ...state.prepare };
  if (!prepare.calculatedFields) {
    const calculatedFields = await formulaFieldsFor(deps, state, plan);
    if (calculatedFields) prepare.calculatedFields = calculatedFields;
  }
  for (;;) {
    const planned = await planStructure(deps, state, plan, fields, prepare);
    if (planned.kind === 'waiting') return planned;
    if (planned.kind === 'done') return { ...planned, plan, fields };
    prepare = planned.prepare;
  }
}

/**
 * One round of the structure sync: the catalog reads, the plan, its statements run as far as the
 * budget allows. `replan`: the plan differs from the one the statements already run belong to, and
 * none of them is in flight any more; the next round reads the catalog afresh.
 */
async function planStructure(
  deps: ExtractDependencies,
  state: ObjectState,
  plan: ObjectPlan,
  fields: SourceField[],
  prepare: PrepareState,
): Promise<
  | { kind: 'waiting'; state: ObjectState }
  | { kind: 'replan'; prepare: PrepareState }
  | {
      kind: 'done';
      changes: TableChanges;
      refresh?: ColumnRefreshPlan;
      formulasKnown: boolean;
      prepare: PrepareState;
    }
> {
  const runner = { client: deps.redshift, target: deps.target };
  const layout = layoutOf(plan, deps.layout);
  const round = prepare.replans ?? 0;
  const calculated = prepare.calculatedFields ?? { fields: [], known: true };
  const parameters = existingTablesParameters(layout, plan.targetTable);
  const waiting = (slot: StatementSlot, what: string) => ({
    kind: 'waiting' as const,
    state: waitingOn(state, { prepare }, slot, what),
  });
  prepare.catalog = await runStatement(
    runner,
    objectStatement(
      deps.flowSettings.flowNamePrefix,
      state,
      stepOfRound('catalog', round),
      'catalog read',
      TABLE_COLUMNS_SQL,
      parameters,
    ),
    prepare.catalog,
    deps.budget,
  );
  if (prepare.catalog.status !== 'FINISHED') return waiting(prepare.catalog, 'catalog read');
  // Its own query: information_schema is a leader-node catalog on Redshift, never joined with a user table.
  prepare.sourceTypes = await runStatement(
    runner,
    objectStatement(
      deps.flowSettings.flowNamePrefix,
      state,
      stepOfRound('catalog-types', round),
      'read the source column types',
      SOURCE_COLUMN_TYPES_SQL,
      {
        final_schema: parameters.final_schema,
        table_name: parameters.table_name,
      },
    ),
    prepare.sourceTypes,
    deps.budget,
  );
  if (prepare.sourceTypes.status !== 'FINISHED')
    return waiting(prepare.sourceTypes, 'read the source column types');
  const read = existingTablesFromRows(
    layout,
    await fetchRows(deps.redshift, prepare.catalog.id),
    await fetchRows(deps.redshift, prepare.sourceTypes.id),
  );
  // A history table kept while history is off (issue 22) is left as it is; the structure sync
  // brings it to final's types when history is switched on again.
  const existing = plan.history ? read : { ...read, history: new Map() };
  const changes = planTableChanges(layout, plan.targetTable, fields, existing, {
    objectName: plan.objectName,
    primaryKeyColumn: plan.primaryKey.toLowerCase(),
    ...(plan.sortKey ? { finalSortKeyColumn: plan.sortKey.toLowerCase() } : {}),
    ...(deps.appflowDatabaseUser ? { appflowDatabaseUser: deps.appflowDatabaseUser } : {}),
    // The run's start, not the clock: every invocation plans the very same statements.
    now: new Date(state.run.startedAt),
  });
  // A full load brings every column's values as they are: no refresh (what is pending stays pending).
  const refresh =
    plan.syncMode === 'incremental'
      ? planColumnRefresh({
          objectName: plan.objectName,
          fields,
          primaryKey: plan.primaryKey,
          cursorField: plan.cursorField,
          calculatedFields: calculated.fields,
          refreshFields: plan.refreshFields,
          formulaDue: plan.formulaRefreshDue === true,
          structureColumns: changes.refreshColumns,
          typeChanges: changes.typeChanges,
        })
      : undefined;
  const statements = structureStatements(deps, state, changes, refresh, round);
  const digest = statementsDigest(statements);
  if (prepare.planned !== undefined && prepare.planned !== digest) {
    return replanned(deps, state, prepare, waiting);
  }
  if (!prepare.changes) {
    for (const kept of changes.keptColumns) {
      logger.warn('Column keeps its existing type', { objectName: plan.objectName, ...kept });
    }
    for (const change of changes.columnChanges) {
      logger.info('Column type changes', { objectName: plan.objectName, ...change });
    }
  }
  prepare.planned = digest;
  prepare.changes = await runSequence(runner, statements, prepare.changes, deps.budget);
  if (prepare.changes.current) return waiting(prepare.changes.current, statements[prepare.changes.done].what);
  return {
    kind: 'done',
    changes,
    ...(refresh ? { refresh } : {}),
    formulasKnown: calculated.known,
    prepare,
  };
}

/**
 * The source's fields changed while the structure sync ran: the statement in flight (of the earlier
 * plan) is let end first, whatever its end (a failed one rolled back; the fresh catalog read says
 * what is left), then the sync starts a new round. Fields that keep changing fail the object.
 */
async function replanned(
  deps: ExtractDependencies,
  state: ObjectState,
  prepare: PrepareState,
  waiting: (slot: StatementSlot, what: string) => { kind: 'waiting'; state: ObjectState },
): Promise<{ kind: 'waiting'; state: ObjectState } | { kind: 'replan'; prepare: PrepareState }> {
  const { objectName } = state.plan;
  const inFlight = prepare.changes?.current;
  if (inFlight) {
    const what = `${objectName}: structure sync (a statement planned before the source's fields changed)`;
    try {
      if ((await checkStatement(deps.redshift, inFlight.id, what)).status === 'RUNNING')
        return waiting(inFlight, what);
    } catch (error) {
      if (!(error instanceof StatementFailedError || error instanceof WarehouseConflictError)) throw error;
    }
  }
  const round = (prepare.replans ?? 0) + 1;
  if (round > MAX_STRUCTURE_REPLANS) {
    throw new SchemaMismatchError(
      `${objectName}: the source's fields changed ${round} times while the structure sync ran; the next run syncs them afresh`,
    );
  }
  logger.warn(
    "The source's fields changed during the structure sync: planning it again from a fresh catalog read",
    {
      ...objectKeys(state),
      round,
      statementsRun: prepare.changes?.done ?? 0,
    },
  );
  const { catalog: _stale, sourceTypes: _staleTypes, changes: _earlier, planned: _other, ...kept } = prepare;
  return { kind: 'replan', prepare: { ...kept, replans: round } };
}

/**
 * Creates and starts the object's flow, or adopts the one an earlier attempt of this run
 * made: staging is cleared only before a run starts, so a retry never erases rows a
 * started flow is writing, and the client token keeps StartFlow from running twice.
 *
 * Staging is emptied with TRUNCATE (Redshift's DELETE only marks rows, leaving them for
 * VACUUM), as a statement of its own: TRUNCATE commits at once and cannot be rolled back.
 * That is safe here because it runs only when no flow run of this object and run exists:
 * an adopted run returns above without touching staging, the claim keeps every other run
 * off this table, and rows an earlier, failed attempt left are reloaded by the new flow.
 * A TRUNCATE still running when the budget is spent is handed to the state machine.
 */
export async function createAndStartFlow(
  deps: ExtractDependencies,
  state: ObjectState,
  prepare: PrepareState,
  fields: ReturnType<typeof selectSourceFields>,
): Promise<
  { kind: 'waiting'; state: ObjectState } | { kind: 'started'; flowName: string; executionId: string }
> {
  const { plan, run } = state;
  const flowName = flowNameFor(deps.flowSettings.flowNamePrefix, plan.objectName, run.runId);
  const context = `${plan.objectName}: flow ${flowName}`;
  const exists = await flowExists(deps.appflow, flowName, context);
  if (exists) {
    const earlier = await findExecution(deps.appflow, flowName, undefined, context);
    if (earlier?.executionId) {
      logger.info('Adopting the flow run of an earlier attempt', {
        objectName: plan.objectName,
        runId: run.runId,
        flowName,
        executionId: earlier.executionId,
      });
      return { kind: 'started', flowName, executionId: earlier.executionId };
    }
  }
  const clear = await runStatement(
    { client: deps.redshift, target: deps.target },
    objectStatement(
      deps.flowSettings.flowNamePrefix,
      state,
      'clear',
      'clear staging',
      `TRUNCATE ${quoteIdent(layoutOf(plan, deps.layout).stagingSchema)}.${quoteIdent(plan.targetTable)}`,
    ),
    prepare.clear,
    deps.budget,
  );
  if (clear.status !== 'FINISHED')
    return {
      kind: 'waiting',
      state: waitingOn(state, { prepare: { ...prepare, clear } }, clear, 'clear staging'),
    };
  if (!exists)
    await createFlow(
      deps.appflow,
      () => buildCreateFlowRequest(plan, fields, run.runId, deps.flowSettings),
      context,
    );
  return { kind: 'started', flowName, executionId: await startFlow(deps.appflow, flowName, context) };
}

/** CreateFlow; a conflict means a concurrent attempt of this same run made it: same name, same definition. */
async function createFlow(
  client: AppflowClient,
  request: () => CreateFlowCommandInput,
  context: string,
): Promise<void> {
  try {
    await client.send(new CreateFlowCommand(request()));
  } catch (error) {
    if (!(error instanceof ConflictException)) throw classifyAwsError(error, `${context}: CreateFlow`);
  }
}

/** StartFlow with one token per flow (object and run): a retry replays its own start, never another object's. */
async function startFlow(client: AppflowClient, flowName: string, context: string): Promise<string> {
  try {
    const started = await client.send(new StartFlowCommand({ flowName, clientToken: flowName }));
    return started.executionId as string;
  } catch (error) {
    throw classifyAwsError(error, `${context}: StartFlow`);
  }
}

async function flowExists(client: AppflowClient, flowName: string, context: string): Promise<boolean> {
  try {
    await client.send(new DescribeFlowCommand({ flowName }));
    return true;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return false;
    throw classifyAwsError(error, `${context}: DescribeFlow`);
  }
}

/** The wait on a flow that just started: its deadline counts from now. */
function startedFlow(
  deps: ExtractDependencies,
  plan: ObjectPlan,
  flowName: string,
  executionId: string,
  now: () => Date,
): FlowState {
  const timeoutSeconds = 60 * (plan.flowTimeoutMinutes ?? deps.flowTimeoutMinutes);
  const deadline = new Date(now().getTime() + timeoutSeconds * 1000).toISOString();
  return {
    flowName,
    executionId,
    state: 'RUNNING',
    polls: 0,
    deadline,
    ...flowWaitTimes(deadline, now(), deps.flowWaitHeartbeatSeconds),
    recordsProcessed: 0,
  };
}

/** The refresh flow's fields: the key and the refreshed fields, each as the source describes it now. */
async function refreshFlowFields(
  deps: ExtractDependencies,
  plan: ObjectPlan,
  refresh: RefreshState,
): Promise<SourceField[]> {
  const fields = selectSourceFields(plan.objectName, await describeSourceFields(deps.appflow, plan), plan);
  const byName = new Map(fields.map((field) => [field.name, field]));
  const chosen = [plan.primaryKey, ...refresh.fields];
  const gone = chosen.filter((name) => !byName.has(name));
  if (gone.length > 0)
    throw new SchemaMismatchError(
      `${plan.objectName}: field(s) ${gone.join(', ')} to refresh no longer exist at the source`,
    );
  return chosen.map((name) => byName.get(name) as SourceField);
}

/**
 * The refresh phase (issue 21): the incremental flow ended, and the column refresh's flow comes
 * next. Creates it (the key and the refreshed fields of every live record, no cursor filter, into
 * the refresh table the structure sync created) and starts it, or adopts the run an earlier
 * attempt started. The refresh table is never touched here: a retry keeps what the flow wrote.
 * The incremental flow moves to `extract`; `flow` is now the refresh flow the child waits on.
 */
export async function startRefreshFlow(
  deps: ExtractDependencies,
  state: ObjectState,
  now: () => Date = () => new Date(),
): Promise<ObjectState> {
  const { plan, run } = state;
  const refresh = state.refresh as RefreshState;
  const { flowName } = refresh;
  const context = `${plan.objectName}: refresh flow ${flowName}`;
  const exists = await flowExists(deps.appflow, flowName, context);
  const earlier = exists ? await findExecution(deps.appflow, flowName, undefined, context) : undefined;
  let executionId = earlier?.executionId;
  if (executionId) {
    logger.info('Adopting the refresh flow run of an earlier attempt', {
      ...objectKeys(state),
      flowName,
      executionId,
    });
  } else {
    if (!exists) {
      const flowFields = await refreshFlowFields(deps, plan, refresh);
      await createFlow(
        deps.appflow,
        () =>
          buildRefreshFlowRequest(
            plan,
            { flowFields, reasons: refresh.reasons },
            run.runId,
            deps.flowSettings,
          ),
        context,
      );
    }
    executionId = await startFlow(deps.appflow, flowName, context);
  }
  return {
    ...state,
    extract: state.flow,
    flow: startedFlow(deps, plan, flowName, executionId, now),
  };
}

/**
 * StartExtract: the structure sync, then the object's incremental (or full) flow, created and
 * started. Called again once that flow ended when a column refresh is due (`refresh` and `flow`
 * in the state): then it starts the refresh flow (startRefreshFlow).
 */
export async function startExtract(
  deps: ExtractDependencies,
  state: ObjectState,
  now: () => Date = () => new Date(),
): Promise<ObjectState> {
  if (state.flow && state.refresh) return startRefreshFlow(deps, state, now);
  // `waiting` stays until the flow starts: a statement still running waits twice as long next time.
  const synced = await syncStructure(deps, state);
  if (synced.kind === 'waiting') return synced.state;
  const { fields, changes, prepare, refresh } = synced;
  let { plan } = synced;
  const started = await createAndStartFlow(deps, { ...state, plan }, prepare, fields);
  if (started.kind === 'waiting') return started.state;
  const flow: FlowState = {
    ...startedFlow(deps, plan, started.flowName, started.executionId, now),
    truncatedColumns: fields
      .filter((field) => field.truncateLength !== undefined)
      .map((field) => field.column),
  };
  // The formulas count as refreshed only when every one of them is in this run's refresh.
  if (plan.formulaRefreshDue && (!synced.formulasKnown || (refresh && !refresh.formulasComplete))) {
    const { formulaRefreshDue: _later, ...rest } = plan;
    plan = rest;
  }
  if (refresh && plan.syncReason === 'incremental') plan = { ...plan, syncReason: refresh.syncReason };
  const { prepare: _done, waiting: _answered, ...rest } = state;
  return {
    ...rest,
    plan,
    flow,
    ...(refresh
      ? {
          refresh: {
            columns: refresh.columns,
            fields: refresh.flowFields.slice(1).map((field) => field.name),
            reasons: refresh.reasons,
            flowName: refreshFlowNameFor(deps.flowSettings.flowNamePrefix, plan.objectName, state.run.runId),
          },
        }
      : {}),
    ...(changes.typeChanges.length > 0 ? { typeChanges: changes.typeChanges } : {}),
  };
}

export interface ClaimDependencies {
  doc: DynamoDBDocumentClient;
  tableName: string;
  appflow: AppflowClient;
  sfn: SFNClient;
  flowNamePrefix: string;
}

/**
 * Claims the object. When another run holds it, asks Step Functions whether that run is
 * still going: an aborted or timed-out execution never released its claim nor deleted its
 * flow, so this run takes the object over and deletes the dead run's flow.
 */
export async function claimOrTakeOver(deps: ClaimDependencies, state: ObjectState, now: Date): Promise<void> {
  try {
    await claimObject(deps.doc, deps.tableName, state.plan, state.run, now);
  } catch (error) {
    const holder = error instanceof ObjectBusyError ? error.holder : undefined;
    if (
      !holder?.executionArn ||
      (await executionIsRunning(deps.sfn, holder.executionArn, state.plan.objectName))
    )
      throw error;
    await takeOverObject(deps.doc, deps.tableName, state.plan, state.run, holder.runId, now);
    // Both of its flows: the incremental one and, if it got that far, its column refresh's.
    const deadFlows = [
      flowNameFor(deps.flowNamePrefix, state.plan.objectName, holder.runId),
      refreshFlowNameFor(deps.flowNamePrefix, state.plan.objectName, holder.runId),
    ];
    for (const deadFlow of deadFlows) await deleteFlowIfExists(deps.appflow, deadFlow, state.plan.objectName);
    logger.warn('Took the object over from a run that is no longer running', {
      ...objectKeys(state),
      deadRunId: holder.runId,
      deletedFlows: deadFlows,
    });
  }
}

export const handler = async (state: ObjectState, context: Context): Promise<ObjectState> => {
  await claimOrTakeOver(
    { doc, tableName: CONTROL_TABLE_NAME, appflow, sfn, flowNamePrefix: flowSettings.flowNamePrefix },
    state,
    new Date(),
  );
  const next = await startExtract(
    {
      appflow,
      redshift,
      target,
      layout,
      flowSettings,
      flowTimeoutMinutes: FLOW_TIMEOUT_MINUTES,
      flowWaitHeartbeatSeconds: FLOW_WAIT_HEARTBEAT_SECONDS,
      budget: budgetOf(context, RESERVED_MS),
      ...(APPFLOW_DATABASE_USER ? { appflowDatabaseUser: APPFLOW_DATABASE_USER } : {}),
      ...(calculatedFields ? { calculatedFields } : {}),
    },
    state,
  );
  if (next.waiting) {
    logger.info('Waiting on the warehouse', { ...objectKeys(state), waiting: next.waiting });
    return next;
  }
  logger.info(next.extract ? 'Refresh flow started' : 'Flow started', {
    ...objectKeys(state),
    flowName: next.flow?.flowName,
    syncMode: next.plan.syncMode,
    syncReason: next.plan.syncReason,
    window: next.plan.window,
    ...(next.refresh ? { columnsToRefresh: next.refresh.columns } : {}),
    ...(next.typeChanges ? { typeChanges: next.typeChanges } : {}),
  });
  return next;
};
