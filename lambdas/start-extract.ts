import {
  AppflowClient,
  ConflictException,
  CreateFlowCommand,
  DescribeFlowCommand,
  ResourceNotFoundException,
  StartFlowCommand,
} from '@aws-sdk/client-appflow';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { DescribeExecutionCommand, ExecutionDoesNotExist, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { deleteFlowIfExists, describeSourceFields, findExecution } from './common/appflow';
import { claimObject, takeOverObject } from './common/control-table';
import { optionalEnv, requireEnv } from './common/environment';
import { classifyAwsError, ObjectBusyError } from './common/errors';
import {
  buildCreateFlowRequest,
  cursorFilterFor,
  type FlowSettings,
  flowNameFor,
} from './common/flow-definition';
import { flowWaitTimes } from './common/flow-waits';
import type { FlowState, ObjectState, PrepareState } from './common/object-state';
import { logger, objectKeys } from './common/observability';
import { layoutOf, type ObjectPlan } from './common/run-plan';
import { selectSourceFields } from './common/source-fields';
import { historySchemaOf } from './common/sources';
import { statementNameFor, statementWaitFor } from './common/statement-waits';
import {
  type ExistingColumn,
  type ExistingTables,
  planTableChanges,
  type TableChanges,
} from './common/structure-sync';
import {
  budgetOf,
  chunked,
  fetchRows,
  MAX_BATCH_STATEMENTS,
  quoteIdent,
  type Row,
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
const appflow = new AppflowClient({});
const redshift = new RedshiftDataClient({});
const sfn = new SFNClient({});
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});

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
  /** Database user AppFlow loads staging as: granted the staging schema and tables. */
  appflowDatabaseUser?: string;
}

/** Columns of both tables with what type checks need; values travel as Data API parameters. */
export const TABLE_COLUMNS_SQL = `SELECT table_schema, column_name, data_type, character_maximum_length, numeric_precision, numeric_scale
FROM information_schema.columns
WHERE table_name = :table_name AND table_schema IN (:staging_schema, :final_schema)`;

function optionalNumber(value: unknown): number | undefined {
  return value === null || value === undefined || value === '' ? undefined : Number(value);
}

/** The catalog read of an object that keeps history (issue 22): its history table's columns too. */
export const TABLE_COLUMNS_WITH_HISTORY_SQL = `SELECT table_schema, column_name, data_type, character_maximum_length, numeric_precision, numeric_scale
FROM information_schema.columns
WHERE table_name = :table_name AND table_schema IN (:staging_schema, :final_schema, :history_schema)`;

/**
 * The structure sync's catalog read. An object that keeps history (issue 22) reads its history
 * table too, so that a VARCHAR widened in final is widened there as well: the procedure refuses a
 * history column narrower than final's, and widening happens outside a transaction block.
 */
export function catalogReadOf(
  plan: Pick<ObjectPlan, 'targetTable' | 'history'>,
  layout: WarehouseLayout,
): { sql: string; parameters: Record<string, string> } {
  const parameters = {
    table_name: plan.targetTable,
    staging_schema: layout.stagingSchema,
    final_schema: layout.finalSchema,
  };
  return plan.history
    ? {
        sql: TABLE_COLUMNS_WITH_HISTORY_SQL,
        parameters: { ...parameters, history_schema: historySchemaOf(layout.finalSchema) },
      }
    : { sql: TABLE_COLUMNS_SQL, parameters };
}

/** Columns of the tables, by schema, from the catalog read's rows (history: issue 22). */
export function existingTablesFrom(rows: Row[], layout: WarehouseLayout): ExistingTables {
  const history = new Map<string, ExistingColumn>();
  const existing: ExistingTables = { staging: new Map(), final: new Map(), history };
  for (const row of rows) {
    const column: ExistingColumn = {
      dataType: String(row.data_type ?? ''),
      characterMaximumLength: optionalNumber(row.character_maximum_length),
      numericPrecision: optionalNumber(row.numeric_precision),
      numericScale: optionalNumber(row.numeric_scale),
    };
    const table =
      row.table_schema === layout.stagingSchema
        ? existing.staging
        : row.table_schema === historySchemaOf(layout.finalSchema)
          ? history
          : existing.final;
    table.set(String(row.column_name), column);
  }
  return existing;
}

/** A statement of this object's step, named and made idempotent per run. */
function objectStatement(
  deps: ExtractDependencies,
  state: ObjectState,
  step: string,
  what: string,
  sql: string | string[],
  parameters?: Record<string, string>,
): StatementRequest {
  const { plan, run } = state;
  return {
    what: `${plan.objectName}: ${what}`,
    name: statementNameFor(deps.flowSettings.flowNamePrefix, plan.objectName, step, run.runId),
    idempotencyKey: `${run.runId}/${plan.objectName}/${step}`,
    sql,
    ...(parameters ? { parameters } : {}),
  };
}

/** The structure sync as statements: DDL in batches of at most 40, then each widening alone. */
function structureStatements(deps: ExtractDependencies, state: ObjectState, changes: TableChanges) {
  const batches = chunked(changes.statements, MAX_BATCH_STATEMENTS);
  return [
    ...batches.map((batch, index) =>
      objectStatement(
        deps,
        state,
        `ddl${index + 1}`,
        batches.length > 1 ? `structure sync (batch ${index + 1} of ${batches.length})` : 'structure sync',
        batch,
      ),
    ),
    // Redshift widens a VARCHAR only outside a transaction block: one statement each, never in a batch.
    ...changes.widenings.map((widening, index) =>
      objectStatement(deps, state, `widen${index + 1}`, 'widen column', widening),
    ),
  ];
}

/** The step hands its running statement to the state machine, keeping how far it got. */
function waitingOn(
  state: ObjectState,
  prepare: PrepareState,
  slot: StatementSlot,
  what: string,
): ObjectState {
  return {
    ...state,
    prepare,
    waiting: statementWaitFor(slot, `${state.plan.objectName}: ${what}`, state.waiting),
  };
}

/**
 * Makes the staging and final tables match the source's fields: creates them, adds new columns
 * to staging, widens grown text columns, grants AppFlow's user the staging table. Each statement
 * is waited on as long as the budget allows; one still running is handed to the state machine
 * (`waiting`), and the next invocation picks it up where the state says.
 */
export async function syncStructure(
  deps: ExtractDependencies,
  state: ObjectState,
): Promise<
  | { kind: 'waiting'; state: ObjectState }
  | {
      kind: 'done';
      fields: ReturnType<typeof selectSourceFields>;
      changes: TableChanges;
      prepare: PrepareState;
    }
> {
  const { plan } = state;
  const runner = { client: deps.redshift, target: deps.target };
  const entityFields = await describeSourceFields(deps.appflow, plan);
  const fields = selectSourceFields(plan.objectName, entityFields, plan);
  const layout = layoutOf(plan, deps.layout);
  const prepare: PrepareState = { ...state.prepare };
  const catalogRead = catalogReadOf(plan, layout);
  prepare.catalog = await runStatement(
    runner,
    objectStatement(deps, state, 'catalog', 'catalog read', catalogRead.sql, catalogRead.parameters),
    prepare.catalog,
    deps.budget,
  );
  if (prepare.catalog.status !== 'FINISHED')
    return { kind: 'waiting', state: waitingOn(state, prepare, prepare.catalog, 'catalog read') };
  const existing = existingTablesFrom(await fetchRows(deps.redshift, prepare.catalog.id), layout);
  const changes = planTableChanges(layout, plan.targetTable, fields, existing, {
    objectName: plan.objectName,
    primaryKeyColumn: plan.primaryKey.toLowerCase(),
    ...(plan.sortKey ? { finalSortKeyColumn: plan.sortKey.toLowerCase() } : {}),
    ...(deps.appflowDatabaseUser ? { appflowDatabaseUser: deps.appflowDatabaseUser } : {}),
  });
  if (!prepare.changes) {
    for (const kept of changes.keptColumns) {
      logger.warn('Column keeps its existing type', { objectName: plan.objectName, ...kept });
    }
  }
  prepare.changes = await runSequence(
    runner,
    structureStatements(deps, state, changes),
    prepare.changes,
    deps.budget,
  );
  if (prepare.changes.current)
    return {
      kind: 'waiting',
      state: waitingOn(state, prepare, prepare.changes.current, 'structure sync'),
    };
  return { kind: 'done', fields, changes, prepare };
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
  let exists = await flowExists(deps.appflow, flowName, context);
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
      deps,
      state,
      'clear',
      'clear staging',
      `TRUNCATE ${quoteIdent(layoutOf(plan, deps.layout).stagingSchema)}.${quoteIdent(plan.targetTable)}`,
    ),
    prepare.clear,
    deps.budget,
  );
  if (clear.status !== 'FINISHED')
    return { kind: 'waiting', state: waitingOn(state, { ...prepare, clear }, clear, 'clear staging') };
  if (!exists) {
    try {
      await deps.appflow.send(
        new CreateFlowCommand(buildCreateFlowRequest(plan, fields, run.runId, deps.flowSettings)),
      );
    } catch (error) {
      if (!(error instanceof ConflictException)) throw classifyAwsError(error, `${context}: CreateFlow`);
      exists = true; // made by a concurrent attempt of this same run: same name, same definition
    }
  }
  try {
    // One token per flow (object and run): a retry replays its own start, never another object's.
    const started = await deps.appflow.send(new StartFlowCommand({ flowName, clientToken: flowName }));
    return { kind: 'started', flowName, executionId: started.executionId as string };
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

export async function startExtract(
  deps: ExtractDependencies,
  state: ObjectState,
  now: () => Date = () => new Date(),
): Promise<ObjectState> {
  // `waiting` stays until the flow starts: a statement still running waits twice as long next time.
  const synced = await syncStructure(deps, state);
  if (synced.kind === 'waiting') return synced.state;
  const { fields, changes, prepare } = synced;
  // Records changed before a column existed never carry its value in an incremental window.
  // The final table lacks the column until the CALL that fills it commits, so a retry still reloads.
  const missing = changes.finalColumnsMissing;
  const cursor = fields.find((field) => field.name === state.plan.cursorField);
  const cursorFilterable = cursorFilterFor(state.plan.connectorType, cursor?.filterOperators) !== undefined;
  let plan: ObjectPlan = state.plan;
  if (plan.syncMode === 'incremental' && !cursorFilterable) {
    // The source cannot bound the window on this cursor: only a full load is complete.
    plan = { ...plan, syncMode: 'full', syncReason: 'cursor-not-filterable', window: {} };
    if (!prepare.clear)
      logger.warn('Cursor field cannot be filtered: loading in full', {
        ...objectKeys(state),
        cursorField: plan.cursorField,
        declaredOperators: cursor?.filterOperators ?? [],
      });
  } else if (missing.length > 0 && plan.syncMode === 'incremental') {
    plan = { ...plan, syncMode: 'full', syncReason: 'schema-change', window: {} };
    if (!prepare.clear)
      logger.info('New source columns: reloading in full', { ...objectKeys(state), columns: missing });
  }
  const started = await createAndStartFlow(deps, { ...state, plan }, prepare, fields);
  if (started.kind === 'waiting') return started.state;
  const { flowName, executionId } = started;
  const timeoutSeconds = 60 * (plan.flowTimeoutMinutes ?? deps.flowTimeoutMinutes);
  const deadline = new Date(now().getTime() + timeoutSeconds * 1000).toISOString();
  const flow: FlowState = {
    flowName,
    executionId,
    state: 'RUNNING',
    polls: 0,
    deadline,
    ...flowWaitTimes(deadline, now(), deps.flowWaitHeartbeatSeconds),
    recordsProcessed: 0,
    truncatedColumns: fields
      .filter((field) => field.truncateLength !== undefined)
      .map((field) => field.column),
  };
  const { prepare: _done, waiting: _answered, ...rest } = state;
  return { ...rest, plan, flow };
}

export interface ClaimDependencies {
  doc: DynamoDBDocumentClient;
  tableName: string;
  appflow: AppflowClient;
  sfn: SFNClient;
  flowNamePrefix: string;
}

async function executionIsRunning(sfn: SFNClient, executionArn: string): Promise<boolean> {
  try {
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    return execution.status === 'RUNNING';
  } catch (error) {
    if (error instanceof ExecutionDoesNotExist) return false;
    throw classifyAwsError(error, 'DescribeExecution of the run holding the object');
  }
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
    if (!holder?.executionArn || (await executionIsRunning(deps.sfn, holder.executionArn))) throw error;
    await takeOverObject(deps.doc, deps.tableName, state.plan, state.run, holder.runId, now);
    const deadFlow = flowNameFor(deps.flowNamePrefix, state.plan.objectName, holder.runId);
    await deleteFlowIfExists(deps.appflow, deadFlow, state.plan.objectName);
    logger.warn('Took the object over from a run that is no longer running', {
      ...objectKeys(state),
      deadRunId: holder.runId,
      deletedFlow: deadFlow,
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
    },
    state,
  );
  if (next.waiting) {
    logger.info('Waiting on the warehouse', { ...objectKeys(state), waiting: next.waiting });
    return next;
  }
  logger.info('Flow started', {
    ...objectKeys(state),
    flowName: next.flow?.flowName,
    syncMode: next.plan.syncMode,
    window: next.plan.window,
  });
  return next;
};
