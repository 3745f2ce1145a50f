import {
  isJsonObject,
  type JsonObject,
  optionalArray,
  optionalBoolean,
  optionalObject,
  optionalString,
  requiredString,
  validationError,
} from '../http-service';
import type { SourceField } from '../source-org';
import { filterOperatorsFor } from './connector-catalog';

export type ComparisonOperator =
  | 'GREATER_THAN'
  | 'GREATER_THAN_OR_EQUAL_TO'
  | 'LESS_THAN'
  | 'LESS_THAN_OR_EQUAL_TO'
  | 'BETWEEN'
  | 'EQUAL_TO'
  | 'NOT_EQUAL_TO'
  | 'CONTAINS';

export type ValidationOperator =
  | 'VALIDATE_NON_NULL'
  | 'VALIDATE_NON_ZERO'
  | 'VALIDATE_NON_NEGATIVE'
  | 'VALIDATE_NUMERIC';

export type FilterTask = {
  kind: 'filter';
  field: string;
  operator: ComparisonOperator;
  dataType: string;
  value?: string;
  lowerBound?: string;
  upperBound?: string;
};

export type FlowTask =
  | { kind: 'projection'; fields: string[] }
  | FilterTask
  | { kind: 'map'; sourceField: string; destinationField: string }
  | { kind: 'mapAll' }
  | { kind: 'validate'; field: string; operator: ValidationOperator; action: string }
  /** Keeps the first `length` characters (code points) of a text value. */
  | { kind: 'truncate'; field: string; length: number };

/** What a flow does, parsed and validated once at CreateFlow. */
export interface FlowPlan {
  sourceConnectorType: string;
  sourceProfileName: string;
  sourceObject: string;
  includeDeletedRecords: boolean;
  destinationConnectorType: string;
  /** `schema.table` in the warehouse. */
  destinationTable: string;
  /** The S3 bucket AppFlow stages the rows in before Redshift's COPY, and the key prefix. */
  intermediateBucketName: string;
  bucketPrefix?: string;
  tasks: FlowTask[];
}

/** What planning needs from the stand-in: the org's metadata and the known connector profiles. */
export interface FlowPlanContext {
  /**
   * The canonical object name, or a ConnectorServerException when the source of the profile
   * (the org, or a custom connector's source) has no such entity.
   */
  requireSourceObject(objectName: string, source?: { profileName?: string; connectorType?: string }): string;
  fieldsOf(objectName: string): SourceField[];
  requireProfile(name: string | undefined, role: 'Source' | 'Destination'): void;
}

const COMPARISON_OPERATORS = new Set<string>([
  'GREATER_THAN',
  'GREATER_THAN_OR_EQUAL_TO',
  'LESS_THAN',
  'LESS_THAN_OR_EQUAL_TO',
  'BETWEEN',
  'EQUAL_TO',
  'NOT_EQUAL_TO',
  'CONTAINS',
]);
const VALIDATION_OPERATORS = new Set<string>([
  'VALIDATE_NON_NULL',
  'VALIDATE_NON_ZERO',
  'VALIDATE_NON_NEGATIVE',
  'VALIDATE_NUMERIC',
]);
const SUPPORTED_TASK_TYPES = ['Filter', 'Map', 'Map_all', 'Truncate', 'Validate'];

/** The single operator of a task, whichever connector key carries it (Salesforce, CustomConnector, …). */
function operatorOf(task: JsonObject): string | undefined {
  const connectorOperator = optionalObject(task, 'connectorOperator');
  if (!connectorOperator) {
    return undefined;
  }
  const values = Object.values(connectorOperator).filter(
    (value): value is string => typeof value === 'string',
  );
  return values[0];
}

function stringList(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw validationError(`${what} must be a list of strings`);
  }
  return value as string[];
}

function stringMap(task: JsonObject): Record<string, string> {
  const properties = optionalObject(task, 'taskProperties') ?? {};
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(properties)) {
    if (typeof value === 'string') {
      result[key] = value;
    }
  }
  return result;
}

/** The source object a CreateFlow's sourceFlowConfig names, if it names one. */
export function sourceObjectOf(sourceFlowConfig: JsonObject): string | undefined {
  const properties = sourceFlowConfig.sourceConnectorProperties;
  if (!isJsonObject(properties)) {
    return undefined;
  }
  const salesforce = properties.Salesforce;
  if (isJsonObject(salesforce) && typeof salesforce.object === 'string') {
    return salesforce.object;
  }
  const custom = properties.CustomConnector;
  if (isJsonObject(custom) && typeof custom.entityName === 'string') {
    return custom.entityName;
  }
  return undefined;
}

/** Validates a CreateFlow request the way AppFlow does before accepting it. */
export function planFlow(body: JsonObject, context: FlowPlanContext): FlowPlan {
  const triggerConfig = optionalObject(body, 'triggerConfig');
  const triggerType = triggerConfig && optionalString(triggerConfig, 'triggerType');
  if (triggerType !== 'OnDemand') {
    throw validationError(
      `triggerConfig.triggerType '${triggerType}' is not supported here: only OnDemand flows`,
    );
  }

  const source = optionalObject(body, 'sourceFlowConfig');
  if (!source) {
    throw validationError('sourceFlowConfig is required');
  }
  const sourceConnectorType = requiredString(source, 'connectorType');
  if (sourceConnectorType !== 'Salesforce' && sourceConnectorType !== 'CustomConnector') {
    throw validationError(`Source connector type '${sourceConnectorType}' is not supported here`);
  }
  const sourceProfileName = optionalString(source, 'connectorProfileName');
  context.requireProfile(sourceProfileName, 'Source');
  const sourceProperties = optionalObject(source, 'sourceConnectorProperties') ?? {};
  const connectorProperties = optionalObject(sourceProperties, sourceConnectorType);
  if (!connectorProperties) {
    throw validationError(`sourceConnectorProperties.${sourceConnectorType} is required`);
  }
  const objectName =
    sourceConnectorType === 'Salesforce'
      ? requiredString(connectorProperties, 'object')
      : requiredString(connectorProperties, 'entityName');
  const sourceObject = context.requireSourceObject(objectName, {
    ...(sourceProfileName !== undefined ? { profileName: sourceProfileName } : {}),
    connectorType: sourceConnectorType,
  });
  // A custom connector passes options as string customProperties.
  const customProperties = optionalObject(connectorProperties, 'customProperties') ?? {};
  const includeDeletedRecords =
    sourceConnectorType === 'Salesforce'
      ? (optionalBoolean(connectorProperties, 'includeDeletedRecords') ?? false)
      : String(customProperties.includeDeletedRecords).toLowerCase() === 'true';

  const destinations = optionalArray(body, 'destinationFlowConfigList') ?? [];
  const destination = destinations[0];
  if (destinations.length !== 1 || !isJsonObject(destination)) {
    throw validationError('destinationFlowConfigList must hold exactly one destination');
  }
  const destinationConnectorType = requiredString(destination, 'connectorType');
  if (destinationConnectorType !== 'Redshift') {
    throw validationError(
      `Destination connector type '${destinationConnectorType}' is not supported here: only Redshift`,
    );
  }
  context.requireProfile(optionalString(destination, 'connectorProfileName'), 'Destination');
  const destinationProperties = optionalObject(destination, 'destinationConnectorProperties') ?? {};
  const redshift = optionalObject(destinationProperties, 'Redshift');
  const destinationTable = redshift && optionalString(redshift, 'object');
  if (!redshift || !destinationTable || !/^[^.\s]+\.[^.\s]+$/.test(destinationTable)) {
    throw validationError(
      `destinationConnectorProperties.Redshift.object must be 'schema.table', got '${destinationTable}'`,
    );
  }
  // AppFlow's model requires it: Redshift loads go through an intermediate S3 bucket.
  const intermediateBucketName = requiredString(redshift, 'intermediateBucketName');
  const bucketPrefix = optionalString(redshift, 'bucketPrefix');

  const tasks = planTasks(optionalArray(body, 'tasks') ?? [], sourceObject, context.fieldsOf(sourceObject));
  return {
    sourceConnectorType,
    sourceProfileName: sourceProfileName ?? '',
    sourceObject,
    includeDeletedRecords,
    destinationConnectorType,
    destinationTable,
    intermediateBucketName,
    ...(bucketPrefix === undefined ? {} : { bucketPrefix }),
    tasks,
  };
}

function planTasks(rawTasks: unknown[], sourceObject: string, fields: SourceField[]): FlowTask[] {
  const knownFields = new Map(fields.map((field) => [field.name, field]));
  const requireField = (name: string): string => {
    if (!knownFields.has(name)) {
      throw validationError(`Field '${name}' does not exist on ${sourceObject}`);
    }
    return name;
  };
  const tasks: FlowTask[] = [];
  for (const rawTask of rawTasks) {
    if (!isJsonObject(rawTask)) {
      throw validationError('Every task must be an object');
    }
    const taskType = requiredString(rawTask, 'taskType');
    const sourceFields = stringList(rawTask.sourceFields ?? [], 'sourceFields');
    const operator = operatorOf(rawTask);
    const properties = stringMap(rawTask);
    switch (taskType) {
      case 'Filter': {
        if (operator === 'PROJECTION') {
          tasks.push({ kind: 'projection', fields: sourceFields.map(requireField) });
        } else if (operator === 'NO_OP') {
          // A no-op filter selects nothing and filters nothing.
        } else if (operator !== undefined && COMPARISON_OPERATORS.has(operator)) {
          if (sourceFields.length !== 1) {
            throw validationError(`A ${operator} filter needs exactly one source field`);
          }
          const field = knownFields.get(requireField(sourceFields[0])) as SourceField;
          // The connector reports per field which operators its queries support (e.g. none on a Long Text Area).
          if (!filterOperatorsFor(field).includes(operator)) {
            throw validationError(
              `Filter operator ${operator} is not supported on ${sourceObject}.${field.name} (${field.type})`,
            );
          }
          tasks.push({
            kind: 'filter',
            field: field.name,
            operator: operator as ComparisonOperator,
            dataType: (properties.DATA_TYPE ?? 'string').toLowerCase(),
            value: properties.VALUE,
            lowerBound: properties.LOWER_BOUND,
            upperBound: properties.UPPER_BOUND,
          });
        } else {
          throw validationError(`Filter operator '${operator}' is not supported by the AppFlow stand-in`);
        }
        break;
      }
      case 'Map': {
        const destinationField = optionalString(rawTask, 'destinationField');
        if (sourceFields.length !== 1 || !destinationField) {
          throw validationError('A Map task needs one source field and a destinationField');
        }
        tasks.push({ kind: 'map', sourceField: requireField(sourceFields[0]), destinationField });
        break;
      }
      case 'Map_all':
        tasks.push({ kind: 'mapAll' });
        break;
      case 'Truncate': {
        const length = Number(properties.TRUNCATE_LENGTH);
        if (sourceFields.length !== 1 || operator !== 'NO_OP') {
          throw validationError('A Truncate task needs exactly one source field and the NO_OP operator');
        }
        if (!/^\d+$/.test(properties.TRUNCATE_LENGTH ?? '') || length < 1) {
          throw validationError(
            `A Truncate task on ${sourceFields[0]} needs taskProperties.TRUNCATE_LENGTH, a positive whole number; got '${properties.TRUNCATE_LENGTH}'`,
          );
        }
        tasks.push({ kind: 'truncate', field: requireField(sourceFields[0]), length });
        break;
      }
      case 'Validate': {
        if (operator === undefined || !VALIDATION_OPERATORS.has(operator) || sourceFields.length !== 1) {
          throw validationError(`Validate operator '${operator}' is not supported by the AppFlow stand-in`);
        }
        tasks.push({
          kind: 'validate',
          field: requireField(sourceFields[0]),
          operator: operator as ValidationOperator,
          action: properties.VALIDATION_ACTION ?? 'DropRecord',
        });
        break;
      }
      default:
        throw validationError(
          `Task type '${taskType}' is not supported by the AppFlow stand-in (supported: ${SUPPORTED_TASK_TYPES.join(', ')})`,
        );
    }
  }
  if (!tasks.some((task) => task.kind === 'map' || task.kind === 'mapAll')) {
    throw validationError('A flow needs Map or Map_all tasks to write any field');
  }
  return tasks;
}
