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
import { deleteFlowIfExists, describeSourceFields, findExecution } from './common/appflow';
import { claimObject, takeOverObject } from './common/control-table';
import { optionalEnv, requireEnv } from './common/environment';
import { classifyAwsError, ObjectBusyError } from './common/errors';
import { buildCreateFlowRequest, type FlowSettings, flowNameFor } from './common/flow-definition';
import { FLOW_WAIT_SCHEDULE, type FlowState, nextWaitSeconds, type ObjectState } from './common/object-state';
import { logger, objectKeys } from './common/observability';
import type { ObjectPlan } from './common/run-plan';
import { selectSourceFields } from './common/source-fields';
import { planTableChanges } from './common/structure-sync';
import {
  executeBatch,
  query,
  quoteIdent,
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
}

/** Makes the staging and final tables match the source's fields; returns the columns added. */
export async function syncStructure(deps: ExtractDependencies, plan: ObjectPlan) {
  const entityFields = await describeSourceFields(deps.appflow, plan);
  const fields = selectSourceFields(plan.objectName, entityFields, plan);
  const rows = await query(
    deps.redshift,
    deps.target,
    'SELECT table_schema, column_name FROM information_schema.columns WHERE table_name = :table_name AND table_schema IN (:staging_schema, :final_schema)',
    {
      table_name: plan.targetTable,
      staging_schema: deps.layout.stagingSchema,
      final_schema: deps.layout.finalSchema,
    },
  );
  const existing = { staging: new Set<string>(), final: new Set<string>() };
  for (const row of rows) {
    (row.table_schema === deps.layout.stagingSchema ? existing.staging : existing.final).add(
      String(row.column_name),
    );
  }
  const changes = planTableChanges(deps.layout, plan.targetTable, fields, existing);
  await executeBatch(deps.redshift, deps.target, changes.statements, `${plan.objectName}: structure sync`);
  return { fields, changes };
}

/**
 * Creates and starts the object's flow, or adopts the one an earlier attempt of this run
 * made: staging is cleared only before a run starts, so a retry never erases rows a
 * started flow is writing, and the client token keeps StartFlow from running twice.
 */
export async function createAndStartFlow(
  deps: ExtractDependencies,
  plan: ObjectPlan,
  runId: string,
  fields: ReturnType<typeof selectSourceFields>,
): Promise<{ flowName: string; executionId: string }> {
  const flowName = flowNameFor(deps.flowSettings.flowNamePrefix, plan.objectName, runId);
  const context = `${plan.objectName}: flow ${flowName}`;
  let exists = await flowExists(deps.appflow, flowName, context);
  if (exists) {
    const earlier = await findExecution(deps.appflow, flowName, undefined, context);
    if (earlier?.executionId) {
      logger.info('Adopting the flow run of an earlier attempt', {
        objectName: plan.objectName,
        runId,
        flowName,
        executionId: earlier.executionId,
      });
      return { flowName, executionId: earlier.executionId };
    }
  }
  await executeBatch(
    deps.redshift,
    deps.target,
    [`DELETE FROM ${quoteIdent(deps.layout.stagingSchema)}.${quoteIdent(plan.targetTable)}`],
    `${plan.objectName}: clear staging`,
  );
  if (!exists) {
    try {
      await deps.appflow.send(
        new CreateFlowCommand(buildCreateFlowRequest(plan, fields, runId, deps.flowSettings)),
      );
    } catch (error) {
      if (!(error instanceof ConflictException)) throw classifyAwsError(error, `${context}: CreateFlow`);
      exists = true; // made by a concurrent attempt of this same run: same name, same definition
    }
  }
  try {
    // One token per flow (object and run): a retry replays its own start, never another object's.
    const started = await deps.appflow.send(new StartFlowCommand({ flowName, clientToken: flowName }));
    return { flowName, executionId: started.executionId as string };
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

export async function startExtract(deps: ExtractDependencies, state: ObjectState): Promise<ObjectState> {
  const { fields, changes } = await syncStructure(deps, state.plan);
  // Records changed before a column existed never carry its value in an incremental window.
  const pending = changes.finalColumnsPending;
  const plan: ObjectPlan =
    pending.length > 0 && state.plan.syncMode === 'incremental'
      ? { ...state.plan, syncMode: 'full', syncReason: 'schema-change', window: {} }
      : state.plan;
  if (plan !== state.plan)
    logger.info('New source columns: reloading in full', {
      ...objectKeys(state),
      columns: pending.map((column) => column.column),
    });
  const { flowName, executionId } = await createAndStartFlow(deps, plan, state.run.runId, fields);
  const flow: FlowState = {
    flowName,
    executionId,
    state: 'RUNNING',
    polls: 0,
    nextWaitSeconds: nextWaitSeconds(0, FLOW_WAIT_SCHEDULE),
    recordsProcessed: 0,
    finalColumnsPending: pending,
  };
  return { ...state, plan, flow };
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

export const handler = async (state: ObjectState): Promise<ObjectState> => {
  await claimOrTakeOver(
    { doc, tableName: CONTROL_TABLE_NAME, appflow, sfn, flowNamePrefix: flowSettings.flowNamePrefix },
    state,
    new Date(),
  );
  const next = await startExtract({ appflow, redshift, target, layout, flowSettings }, state);
  logger.info('Flow started', {
    ...objectKeys(state),
    flowName: next.flow?.flowName,
    syncMode: next.plan.syncMode,
    window: next.plan.window,
  });
  return next;
};
