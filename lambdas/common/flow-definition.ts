import type { ConnectorType, CreateFlowCommandInput, Task } from '@aws-sdk/client-appflow';
import { type ObjectPlan, sourceEntityOf } from './run-plan';
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

/**
 * AppFlow tag values allow `[\s\w+-=.:/@]*` (max 256), narrower than connector labels (`!`, `#`):
 * other characters become `_`, so a valid label never makes CreateFlow refuse its tags.
 */
function tagValue(text: string): string {
  return text.replace(/[^\s\w+,\-./:;<=@]/g, '_').slice(0, 256);
}

function epochMillis(iso: string, offsetMs = 0): string {
  return String(Date.parse(iso) + offsetMs);
}

/**
 * How the change window `(start, end]` is expressed with the operators the cursor field
 * declares (`supportedFieldTypeDetails.v1.filterOperators`). Bounds may only widen the window
 * (`>=` for `>`, `< end + 1 ms` for `<= end`, BETWEEN): an overlap is deduplicated by the
 * consolidation, a gap would lose records. `undefined`: the field cannot bound the window.
 */
export type CursorFilter =
  | {
      kind: 'bounds';
      lower: 'GREATER_THAN' | 'GREATER_THAN_OR_EQUAL_TO';
      upper: 'LESS_THAN_OR_EQUAL_TO' | 'LESS_THAN';
    }
  | { kind: 'between' };

export function cursorFilterFor(
  connectorType: string,
  declared: readonly string[] | undefined,
): CursorFilter | undefined {
  // Salesforce fields described without operators (older descriptions) keep the filters they always had.
  if (connectorType === 'Salesforce' && (declared === undefined || declared.length === 0)) {
    return { kind: 'bounds', lower: 'GREATER_THAN', upper: 'LESS_THAN_OR_EQUAL_TO' };
  }
  const has = (operator: string) => declared?.includes(operator) ?? false;
  const lower = has('GREATER_THAN')
    ? 'GREATER_THAN'
    : has('GREATER_THAN_OR_EQUAL_TO')
      ? 'GREATER_THAN_OR_EQUAL_TO'
      : undefined;
  const upper = has('LESS_THAN_OR_EQUAL_TO')
    ? 'LESS_THAN_OR_EQUAL_TO'
    : has('LESS_THAN')
      ? 'LESS_THAN'
      : undefined;
  if (lower && upper) return { kind: 'bounds', lower, upper };
  if (has('BETWEEN')) return { kind: 'between' };
  return undefined;
}

/** The Filter tasks bounding the cursor to the plan's window (none for a full load). */
function windowTasks(plan: ObjectPlan, cursor: SourceField | undefined, connectorType: string): Task[] {
  const { start, end } = plan.window;
  if (!start && !end) return [];
  const filter = cursorFilterFor(connectorType, cursor?.filterOperators);
  if (!filter) {
    // startExtract turns such plans into full loads; reaching here is a bug, not a source problem.
    throw new Error(
      `${plan.objectName}: cursor field ${plan.cursorField} declares no operator that can bound the change window`,
    );
  }
  const dataType = cursor?.sourceType ?? 'datetime';
  const task = (op: string, properties: Record<string, string>): Task => ({
    taskType: 'Filter',
    sourceFields: [plan.cursorField],
    connectorOperator: operator(connectorType, op),
    taskProperties: { DATA_TYPE: dataType, ...properties },
  });
  if (filter.kind === 'between') {
    // BETWEEN includes both bounds; an open bound becomes the widest instant.
    return [
      task('BETWEEN', {
        LOWER_BOUND: start ? epochMillis(start) : '0',
        UPPER_BOUND: end ? epochMillis(end) : String(Date.parse('9999-12-31T23:59:59.999Z')),
      }),
    ];
  }
  const tasks: Task[] = [];
  if (start) tasks.push(task(filter.lower, { VALUE: epochMillis(start) }));
  if (end) {
    tasks.push(
      filter.upper === 'LESS_THAN_OR_EQUAL_TO'
        ? task('LESS_THAN_OR_EQUAL_TO', { VALUE: epochMillis(end) })
        : task('LESS_THAN', { VALUE: epochMillis(end, 1) }),
    );
  }
  return tasks;
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
  const cursor = fields.find((field) => field.name === plan.cursorField);

  const tasks: Task[] = [
    {
      taskType: 'Filter',
      sourceFields: fields.map((field) => field.name),
      connectorOperator: operator(connectorType, 'PROJECTION'),
    },
    ...windowTasks(plan, cursor, connectorType),
  ];
  for (const field of fields) {
    tasks.push({
      taskType: 'Map',
      sourceFields: [field.name],
      destinationField: field.column,
      connectorOperator: operator(connectorType, 'NO_OP'),
      taskProperties: { SOURCE_DATA_TYPE: field.sourceType, DESTINATION_DATA_TYPE: field.sourceType },
    });
  }
  // Long text (Salesforce holds up to 131,072 characters) would fail the load of a VARCHAR(65535):
  // AppFlow cuts it to a length that fits whatever the characters (contract 7); Consolidate counts the cut values.
  for (const field of fields.filter((candidate) => candidate.truncateLength !== undefined)) {
    tasks.push({
      taskType: 'Truncate',
      sourceFields: [field.name],
      connectorOperator: operator(connectorType, 'NO_OP'),
      taskProperties: { TRUNCATE_LENGTH: String(field.truncateLength) },
    });
  }

  const sourceConnectorProperties =
    connectorType === 'Salesforce'
      ? {
          Salesforce: {
            object: sourceEntityOf(plan),
            // Soft deletes only reach us when the flow asks for them; `ignore` never needs them.
            includeDeletedRecords: plan.deleteMode !== 'ignore',
            enableDynamicFieldUpdate: false,
            dataTransferApi: settings.dataTransferApi,
          },
        }
      : { CustomConnector: { entityName: sourceEntityOf(plan) } };

  return {
    flowName,
    description: `Temporary ${plan.syncMode} load of ${plan.objectName} for run ${runId}`.slice(0, 2048),
    ...(settings.kmsKeyArn ? { kmsArn: settings.kmsKeyArn } : {}),
    triggerConfig: { triggerType: 'OnDemand' },
    sourceFlowConfig: {
      connectorType: connectorType as ConnectorType,
      connectorProfileName: plan.connectorProfileName,
      // Custom connectors: the API version the entity was described with.
      ...(plan.apiVersion ? { apiVersion: plan.apiVersion } : {}),
      sourceConnectorProperties,
    },
    destinationFlowConfigList: [
      {
        connectorType: 'Redshift',
        connectorProfileName: settings.redshiftConnectorProfileName,
        destinationConnectorProperties: {
          Redshift: {
            object: `${plan.stagingSchema ?? settings.stagingSchema}.${plan.targetTable}`,
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
      ...(plan.connectorLabel ? { 'saas-to-redshift:connector-label': tagValue(plan.connectorLabel) } : {}),
    },
  };
}
