import type { ConnectorType, CreateFlowCommandInput, Task } from '@aws-sdk/client-appflow';
import type { ObjectPlan } from './run-plan';
import type { SourceField } from './source-fields';

export interface FlowSettings {
  flowNamePrefix: string;
  redshiftConnectorProfileName: string;
  stagingBucketName: string;
  stagingSchema: string;
  dataTransferApi: 'AUTOMATIC' | 'BULKV2' | 'REST_SYNC';
  kmsKeyArn?: string;
}

/** Deterministic per object and run, so a retried step finds the flow its first attempt made. */
export function flowNameFor(prefix: string, objectName: string, runId: string): string {
  return `${prefix}-${objectName}-${runId}`.slice(0, 256);
}

/** The connector operator key AppFlow expects for a source connector type (`Salesforce`, `CustomConnector`, …). */
function operator(connectorType: string, value: string): Task['connectorOperator'] {
  return { [connectorType]: value } as Task['connectorOperator'];
}

function epochMillis(iso: string): string {
  return String(Date.parse(iso));
}

/**
 * The temporary on-demand full-load flow of one object and run: a projection of the
 * selected fields, the cursor window as two filters (`> start`, `<= end`), one Map
 * task per field into its lower-case column, written to the staging table through S3.
 */
export function buildCreateFlowRequest(
  plan: ObjectPlan,
  fields: SourceField[],
  runId: string,
  settings: FlowSettings,
): CreateFlowCommandInput {
  const flowName = flowNameFor(settings.flowNamePrefix, plan.objectName, runId);
  const connectorType = plan.connectorType;
  const cursorType = fields.find((field) => field.name === plan.cursorField)?.sourceType ?? 'datetime';

  const tasks: Task[] = [
    {
      taskType: 'Filter',
      sourceFields: fields.map((field) => field.name),
      connectorOperator: operator(connectorType, 'PROJECTION'),
    },
  ];
  if (plan.window.start) {
    tasks.push({
      taskType: 'Filter',
      sourceFields: [plan.cursorField],
      connectorOperator: operator(connectorType, 'GREATER_THAN'),
      taskProperties: { DATA_TYPE: cursorType, VALUE: epochMillis(plan.window.start) },
    });
  }
  if (plan.window.end) {
    tasks.push({
      taskType: 'Filter',
      sourceFields: [plan.cursorField],
      connectorOperator: operator(connectorType, 'LESS_THAN_OR_EQUAL_TO'),
      taskProperties: { DATA_TYPE: cursorType, VALUE: epochMillis(plan.window.end) },
    });
  }
  for (const field of fields) {
    tasks.push({
      taskType: 'Map',
      sourceFields: [field.name],
      destinationField: field.column,
      connectorOperator: operator(connectorType, 'NO_OP'),
      taskProperties: { SOURCE_DATA_TYPE: field.sourceType, DESTINATION_DATA_TYPE: field.sourceType },
    });
  }

  const sourceConnectorProperties =
    connectorType === 'Salesforce'
      ? {
          Salesforce: {
            object: plan.objectName,
            // Soft deletes only reach us when the flow asks for them; `ignore` never needs them.
            includeDeletedRecords: plan.deleteMode !== 'ignore',
            enableDynamicFieldUpdate: false,
            dataTransferApi: settings.dataTransferApi,
          },
        }
      : { CustomConnector: { entityName: plan.objectName } };

  return {
    flowName,
    description: `Temporary ${plan.syncMode} load of ${plan.objectName} for run ${runId}`.slice(0, 2048),
    ...(settings.kmsKeyArn ? { kmsArn: settings.kmsKeyArn } : {}),
    triggerConfig: { triggerType: 'OnDemand' },
    sourceFlowConfig: {
      connectorType: connectorType as ConnectorType,
      connectorProfileName: plan.connectorProfileName,
      sourceConnectorProperties,
    },
    destinationFlowConfigList: [
      {
        connectorType: 'Redshift',
        connectorProfileName: settings.redshiftConnectorProfileName,
        destinationConnectorProperties: {
          Redshift: {
            object: `${settings.stagingSchema}.${plan.targetTable}`,
            intermediateBucketName: settings.stagingBucketName,
            bucketPrefix: `staging/${flowName}`,
            errorHandlingConfig: {
              failOnFirstDestinationError: true,
              bucketName: settings.stagingBucketName,
              bucketPrefix: `errors/${flowName}`,
            },
          },
        },
      },
    ],
    tasks,
    tags: {
      'saas-to-redshift:object': plan.objectName,
      'saas-to-redshift:run-id': runId,
      ...(plan.connectorLabel ? { 'saas-to-redshift:connector-label': plan.connectorLabel } : {}),
    },
  };
}
