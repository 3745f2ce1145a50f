import { randomUUID } from 'node:crypto';
import type { PGlite } from '@electric-sql/pglite';
import type { FaultInjector } from './fault-injector';
import {
  epochSeconds,
  errorMessage,
  faultError,
  HttpStandInServer,
  isJsonObject,
  type JsonObject,
  optionalArray,
  optionalBoolean,
  optionalNumber,
  optionalObject,
  optionalString,
  paginate,
  requiredString,
  restJson,
  ServiceError,
  type ServiceRequest,
  type ServiceResponse,
  validationError,
} from './http-service';
import type { SimulatedClock } from './simulated-clock';
import type { SourceFieldType, SourceOrg } from './source-org';

/** A connector profile the stand-in knows; a plain name is typed Redshift when it contains 'redshift'. */
export type ConnectorProfileSpec = string | { name: string; connectorType: string; connectorLabel?: string };

export interface AppFlowStandInOptions {
  org: SourceOrg;
  /** The warehouse, shared with the Redshift Data API stand-in. */
  db: PGlite;
  faults: FaultInjector;
  clock: SimulatedClock;
  /** Connector profiles that exist: the source and the Redshift destination profiles. */
  connectorProfiles: ConnectorProfileSpec[];
  /** How many DescribeFlowExecutionRecords calls report a run InProgress before its outcome. @default 1 */
  pollsUntilDone?: number;
  /** Rows per multi-row INSERT into the destination table. @default 1000 */
  insertBatchRows?: number;
}

export interface AppFlowCall {
  operation: string;
  flowName?: string;
}

type ComparisonOperator =
  | 'GREATER_THAN'
  | 'GREATER_THAN_OR_EQUAL_TO'
  | 'LESS_THAN'
  | 'LESS_THAN_OR_EQUAL_TO'
  | 'BETWEEN'
  | 'EQUAL_TO'
  | 'NOT_EQUAL_TO'
  | 'CONTAINS';

type ValidationOperator =
  | 'VALIDATE_NON_NULL'
  | 'VALIDATE_NON_ZERO'
  | 'VALIDATE_NON_NEGATIVE'
  | 'VALIDATE_NUMERIC';

type FlowTask =
  | { kind: 'projection'; fields: string[] }
  | {
      kind: 'filter';
      field: string;
      operator: ComparisonOperator;
      dataType: string;
      value?: string;
      lowerBound?: string;
      upperBound?: string;
    }
  | { kind: 'map'; sourceField: string; destinationField: string }
  | { kind: 'mapAll' }
  | { kind: 'validate'; field: string; operator: ValidationOperator; action: string };

/** What a flow does, parsed and validated once at CreateFlow. */
interface FlowPlan {
  sourceConnectorType: string;
  sourceProfileName: string;
  sourceObject: string;
  includeDeletedRecords: boolean;
  destinationConnectorType: string;
  destinationTable: string;
  tasks: FlowTask[];
}

type ExecutionStatus = 'InProgress' | 'Successful' | 'Error';

interface FlowExecution {
  executionId: string;
  outcome: Exclude<ExecutionStatus, 'InProgress'>;
  message?: string;
  recordsProcessed: number;
  bytesProcessed: number;
  bytesWritten: number;
  putFailuresCount: number;
  startedAt: Date;
  finishedAt: Date;
  /** DescribeFlowExecutionRecords calls that have seen this run; the outcome shows after `pollsUntilDone`. */
  describesSeen: number;
}

interface StoredFlow {
  name: string;
  arn: string;
  request: JsonObject;
  plan: FlowPlan;
  createdAt: Date;
  lastUpdatedAt: Date;
  createClientToken?: string;
  /** Newest first, as DescribeFlowExecutionRecords lists them. */
  executions: FlowExecution[];
  executionIdByStartToken: Map<string, string>;
}

const FLOW_NAME_PATTERN = /^[a-zA-Z0-9][\w!@#.-]+$/;
const RECORDS_PER_API_REQUEST = 2000;
const QUOTA_EXCEEDED_MESSAGE = 'REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.';

/** HTTP status of each AppFlow error code (from the SDK's error schemas). */
const ERROR_STATUS: Record<string, number> = {
  AccessDeniedException: 403,
  ConflictException: 409,
  ConnectorAuthenticationException: 401,
  ConnectorServerException: 400,
  InternalServerException: 500,
  ResourceNotFoundException: 404,
  ServiceQuotaExceededException: 402,
  ThrottlingException: 429,
  UnsupportedOperationException: 400,
  ValidationException: 400,
};

const ROUTES: Record<string, string> = {
  '/create-flow': 'CreateFlow',
  '/describe-flow': 'DescribeFlow',
  '/start-flow': 'StartFlow',
  '/describe-flow-execution-records': 'DescribeFlowExecutionRecords',
  '/delete-flow': 'DeleteFlow',
  '/list-flows': 'ListFlows',
  '/describe-connector-entity': 'DescribeConnectorEntity',
  '/describe-connector-profiles': 'DescribeConnectorProfiles',
};

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
const SUPPORTED_TASK_TYPES = ['Filter', 'Map', 'Map_all', 'Validate'];

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Every value goes in as a quoted literal: Postgres types it from the target column,
 * much as Redshift's COPY of AppFlow's staged files converts text to the column type.
 */
function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) {
    return 'NULL';
  }
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return `'${text.replace(/'/g, "''")}'`;
}

function isNumericType(dataType: string): boolean {
  return ['double', 'int', 'integer', 'long', 'number', 'currency', 'percent', 'decimal'].includes(dataType);
}

/** Filter operands of datetime/date filters are epoch milliseconds (AppFlow's format); ISO text is accepted too. */
function comparableValue(value: unknown, dataType: string): number | string | boolean | undefined {
  if (value === null || value === undefined || value === '') {
    return undefined;
  }
  if (dataType === 'datetime' || dataType === 'date') {
    const text = String(value);
    const ms = /^-?\d+$/.test(text) ? Number(text) : Date.parse(text);
    return Number.isNaN(ms) ? undefined : ms;
  }
  if (isNumericType(dataType)) {
    const number = Number(value);
    return Number.isNaN(number) ? undefined : number;
  }
  if (dataType === 'boolean') {
    return String(value).toLowerCase() === 'true';
  }
  return String(value);
}

function compare(left: number | string | boolean, right: number | string | boolean): number {
  if (left === right) {
    return 0;
  }
  return left < right ? -1 : 1;
}

function matchesFilter(
  record: Record<string, unknown>,
  task: Extract<FlowTask, { kind: 'filter' }>,
): boolean {
  const actual = comparableValue(record[task.field], task.dataType);
  if (actual === undefined) {
    // Like a SOQL WHERE clause, a comparison with an empty value is never true.
    return false;
  }
  const operand = (text: string | undefined): number | string | boolean => {
    const parsed = comparableValue(text, task.dataType);
    if (parsed === undefined) {
      throw new Error(`Filter on ${task.field} has an invalid ${task.dataType} operand '${text}'`);
    }
    return parsed;
  };
  switch (task.operator) {
    case 'GREATER_THAN':
      return compare(actual, operand(task.value)) > 0;
    case 'GREATER_THAN_OR_EQUAL_TO':
      return compare(actual, operand(task.value)) >= 0;
    case 'LESS_THAN':
      return compare(actual, operand(task.value)) < 0;
    case 'LESS_THAN_OR_EQUAL_TO':
      return compare(actual, operand(task.value)) <= 0;
    case 'BETWEEN':
      return compare(actual, operand(task.lowerBound)) >= 0 && compare(actual, operand(task.upperBound)) <= 0;
    case 'EQUAL_TO':
      return compare(actual, operand(task.value)) === 0;
    case 'NOT_EQUAL_TO':
      return compare(actual, operand(task.value)) !== 0;
    case 'CONTAINS':
      return String(actual).includes(String(operand(task.value)));
  }
}

function passesValidation(value: unknown, operator: ValidationOperator): boolean {
  switch (operator) {
    case 'VALIDATE_NON_NULL':
      return value !== null && value !== undefined;
    case 'VALIDATE_NON_ZERO':
      return Number(value) !== 0;
    case 'VALIDATE_NON_NEGATIVE':
      return Number(value) >= 0;
    case 'VALIDATE_NUMERIC':
      return value !== null && value !== undefined && value !== '' && !Number.isNaN(Number(value));
  }
}

/** Filter operators the Salesforce connector reports per field type, limited to what the stand-in runs. */
function filterOperatorsFor(type: SourceFieldType): string[] {
  const ordering = [
    'LESS_THAN',
    'GREATER_THAN',
    'BETWEEN',
    'LESS_THAN_OR_EQUAL_TO',
    'GREATER_THAN_OR_EQUAL_TO',
  ];
  switch (type) {
    case 'datetime':
    case 'date':
    case 'double':
    case 'int':
      return ['PROJECTION', ...ordering, 'EQUAL_TO', 'NOT_EQUAL_TO', 'VALIDATE_NON_NULL', 'NO_OP'];
    case 'boolean':
      return ['PROJECTION', 'EQUAL_TO', 'NOT_EQUAL_TO', 'VALIDATE_NON_NULL', 'NO_OP'];
    default:
      return ['PROJECTION', 'EQUAL_TO', 'NOT_EQUAL_TO', 'CONTAINS', 'VALIDATE_NON_NULL', 'NO_OP'];
  }
}

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

/**
 * AppFlow stand-in speaking restJson1 on node:http: temporary on-demand flows from the
 * simulated Salesforce org into Redshift tables of the shared PGlite warehouse. A run
 * happens synchronously inside StartFlow; DescribeFlowExecutionRecords reveals its
 * outcome after `pollsUntilDone` polls, so callers exercise their wait loop.
 */
export class AppFlowStandIn {
  readonly calls: AppFlowCall[] = [];
  private readonly flows = new Map<string, StoredFlow>();
  private readonly server: HttpStandInServer;
  private readonly pollsUntilDone: number;
  private readonly insertBatchRows: number;
  private readonly profiles: { name: string; connectorType: string; connectorLabel?: string }[];

  constructor(private readonly opts: AppFlowStandInOptions) {
    this.pollsUntilDone = opts.pollsUntilDone ?? 1;
    this.insertBatchRows = Math.max(1, opts.insertBatchRows ?? 1000);
    this.profiles = opts.connectorProfiles.map((profile) =>
      typeof profile === 'string'
        ? { name: profile, connectorType: /redshift/i.test(profile) ? 'Redshift' : 'Salesforce' }
        : profile,
    );
    this.server = new HttpStandInServer('AppFlow', (request) => this.handle(request));
  }

  start(): Promise<{ url: string }> {
    return this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  /** Flows that exist now; the pipeline should leave none behind. */
  flowCount(): number {
    return this.flows.size;
  }

  private async handle(request: ServiceRequest): Promise<ServiceResponse> {
    const operation = ROUTES[request.path];
    if (request.method !== 'POST' || !operation) {
      return restJson.error(
        new ServiceError(
          'UnknownOperationException',
          `No AppFlow operation at ${request.method} ${request.path}`,
          404,
        ),
      );
    }
    const flowName = typeof request.body.flowName === 'string' ? request.body.flowName : undefined;
    this.calls.push(flowName === undefined ? { operation } : { operation, flowName });
    try {
      const fault = this.opts.faults.take('appflow', operation, this.objectOfRequest(request.body));
      if (fault !== undefined) {
        throw faultError(fault, ERROR_STATUS, 'ConnectorServerException');
      }
      return restJson.ok(await this.dispatch(operation, request));
    } catch (error) {
      if (error instanceof ServiceError) {
        return restJson.error(error);
      }
      throw error;
    }
  }

  private dispatch(operation: string, request: ServiceRequest): Promise<JsonObject> | JsonObject {
    const body = request.body;
    switch (operation) {
      case 'CreateFlow':
        return this.createFlow(body, request.region);
      case 'DescribeFlow':
        return this.describeFlow(body);
      case 'StartFlow':
        return this.startFlow(body);
      case 'DescribeFlowExecutionRecords':
        return this.describeFlowExecutionRecords(body);
      case 'DeleteFlow':
        return this.deleteFlow(body);
      case 'ListFlows':
        return this.listFlows(body);
      case 'DescribeConnectorEntity':
        return this.describeConnectorEntity(body);
      default:
        return this.describeConnectorProfiles(body, request.region);
    }
  }

  /** The source object a call is about, so that faults can be narrowed to one object. */
  private objectOfRequest(body: JsonObject): string | undefined {
    if (typeof body.connectorEntityName === 'string') {
      return body.connectorEntityName;
    }
    const sourceFlowConfig = body.sourceFlowConfig;
    if (isJsonObject(sourceFlowConfig)) {
      return this.sourceObjectOf(sourceFlowConfig);
    }
    if (typeof body.flowName === 'string') {
      return this.flows.get(body.flowName)?.plan.sourceObject;
    }
    return undefined;
  }

  private sourceObjectOf(sourceFlowConfig: JsonObject): string | undefined {
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

  private requireProfile(name: string | undefined, role: string): void {
    if (name === undefined) {
      throw validationError(`${role} connectorProfileName is required`);
    }
    if (!this.profiles.some((profile) => profile.name === name)) {
      throw new ServiceError('ResourceNotFoundException', `Connector profile '${name}' does not exist`, 404);
    }
  }

  private requireFlow(body: JsonObject): StoredFlow {
    const name = requiredString(body, 'flowName');
    const flow = this.flows.get(name);
    if (!flow) {
      throw new ServiceError('ResourceNotFoundException', `Flow '${name}' does not exist`, 404);
    }
    return flow;
  }

  private requireSourceObject(objectName: string): string {
    if (!this.opts.org.hasObject(objectName)) {
      throw new ServiceError(
        'ConnectorServerException',
        `Salesforce: sObject type '${objectName}' is not supported or does not exist in the org`,
        400,
      );
    }
    return this.opts.org.canonicalName(objectName);
  }

  private createFlow(body: JsonObject, region: string): JsonObject {
    const flowName = requiredString(body, 'flowName');
    if (flowName.length > 256 || !FLOW_NAME_PATTERN.test(flowName)) {
      throw validationError(
        `flowName '${flowName}' must match ${FLOW_NAME_PATTERN.source} and be at most 256 characters`,
      );
    }
    const clientToken = optionalString(body, 'clientToken');
    const existing = this.flows.get(flowName);
    if (existing) {
      // A retried CreateFlow with the same client token is the same call, not a conflict.
      if (clientToken !== undefined && existing.createClientToken === clientToken) {
        return { flowArn: existing.arn, flowStatus: 'Active' };
      }
      throw new ServiceError('ConflictException', `Flow '${flowName}' already exists`, 409);
    }
    const plan = this.planFlow(body);
    const now = this.opts.clock.now();
    const flow: StoredFlow = {
      name: flowName,
      arn: `arn:aws:appflow:${region}:000000000000:flow/${flowName}`,
      request: body,
      plan,
      createdAt: now,
      lastUpdatedAt: now,
      createClientToken: clientToken,
      executions: [],
      executionIdByStartToken: new Map(),
    };
    this.flows.set(flowName, flow);
    return { flowArn: flow.arn, flowStatus: 'Active' };
  }

  /** Validates a CreateFlow request the way AppFlow does before accepting it. */
  private planFlow(body: JsonObject): FlowPlan {
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
    this.requireProfile(sourceProfileName, 'Source');
    const sourceProperties = optionalObject(source, 'sourceConnectorProperties') ?? {};
    const connectorProperties = optionalObject(sourceProperties, sourceConnectorType);
    if (!connectorProperties) {
      throw validationError(`sourceConnectorProperties.${sourceConnectorType} is required`);
    }
    const objectName =
      sourceConnectorType === 'Salesforce'
        ? requiredString(connectorProperties, 'object')
        : requiredString(connectorProperties, 'entityName');
    const sourceObject = this.requireSourceObject(objectName);
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
    this.requireProfile(optionalString(destination, 'connectorProfileName'), 'Destination');
    const destinationProperties = optionalObject(destination, 'destinationConnectorProperties') ?? {};
    const redshift = optionalObject(destinationProperties, 'Redshift');
    const destinationTable = redshift && optionalString(redshift, 'object');
    if (!destinationTable || !/^[^.\s]+\.[^.\s]+$/.test(destinationTable)) {
      throw validationError(
        `destinationConnectorProperties.Redshift.object must be 'schema.table', got '${destinationTable}'`,
      );
    }

    const tasks = this.planTasks(optionalArray(body, 'tasks') ?? [], sourceObject);
    return {
      sourceConnectorType,
      sourceProfileName: sourceProfileName ?? '',
      sourceObject,
      includeDeletedRecords,
      destinationConnectorType,
      destinationTable,
      tasks,
    };
  }

  private planTasks(rawTasks: unknown[], sourceObject: string): FlowTask[] {
    const knownFields = new Set(this.opts.org.fields(sourceObject).map((field) => field.name));
    const requireField = (field: string): string => {
      if (!knownFields.has(field)) {
        throw validationError(`Field '${field}' does not exist on ${sourceObject}`);
      }
      return field;
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
            tasks.push({
              kind: 'filter',
              field: requireField(sourceFields[0]),
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

  private describeFlow(body: JsonObject): JsonObject {
    const flow = this.requireFlow(body);
    const request = flow.request;
    return {
      flowArn: flow.arn,
      description: request.description,
      flowName: flow.name,
      flowStatus: 'Active',
      sourceFlowConfig: request.sourceFlowConfig,
      destinationFlowConfigList: request.destinationFlowConfigList,
      lastRunExecutionDetails: this.lastRunDetails(flow),
      triggerConfig: request.triggerConfig,
      tasks: request.tasks,
      createdAt: epochSeconds(flow.createdAt),
      lastUpdatedAt: epochSeconds(flow.lastUpdatedAt),
      createdBy: 'arn:aws:iam::000000000000:role/local-stand-in',
      lastUpdatedBy: 'arn:aws:iam::000000000000:role/local-stand-in',
      tags: request.tags ?? {},
      schemaVersion: 1,
    };
  }

  private lastRunDetails(flow: StoredFlow): JsonObject | undefined {
    const latest = flow.executions[0];
    if (!latest) {
      return undefined;
    }
    const status = this.visibleStatus(latest);
    return {
      mostRecentExecutionMessage: status === 'Error' ? latest.message : undefined,
      mostRecentExecutionTime: epochSeconds(latest.startedAt),
      mostRecentExecutionStatus: status,
    };
  }

  private visibleStatus(execution: FlowExecution): ExecutionStatus {
    return execution.describesSeen >= this.pollsUntilDone ? execution.outcome : 'InProgress';
  }

  private async startFlow(body: JsonObject): Promise<JsonObject> {
    const flow = this.requireFlow(body);
    const clientToken = optionalString(body, 'clientToken');
    const knownExecutionId =
      clientToken === undefined ? undefined : flow.executionIdByStartToken.get(clientToken);
    if (knownExecutionId !== undefined) {
      return { flowArn: flow.arn, flowStatus: 'Active', executionId: knownExecutionId };
    }
    // Claim the token before running, so a retry arriving mid-run gets the same execution.
    const executionId = randomUUID();
    if (clientToken !== undefined) {
      flow.executionIdByStartToken.set(clientToken, executionId);
    }
    flow.executions.unshift(await this.runFlow(flow, executionId));
    return { flowArn: flow.arn, flowStatus: 'Active', executionId };
  }

  /** Reads the source, applies the tasks in order and writes the result to the destination table. */
  private async runFlow(flow: StoredFlow, executionId: string): Promise<FlowExecution> {
    const { org, clock, faults } = this.opts;
    const plan = flow.plan;
    const startedAt = clock.now();
    const execution: FlowExecution = {
      executionId,
      outcome: 'Successful',
      recordsProcessed: 0,
      bytesProcessed: 0,
      bytesWritten: 0,
      putFailuresCount: 0,
      startedAt,
      finishedAt: startedAt,
      describesSeen: 0,
    };
    const fail = (message: string): FlowExecution => {
      execution.outcome = 'Error';
      execution.message = message;
      execution.finishedAt = clock.now();
      return execution;
    };

    const injected = faults.take('appflow', 'FlowRun', plan.sourceObject);
    if (injected !== undefined) {
      return fail(injected);
    }

    // Filters are pushed down to the source query, so they bound what the API calls return.
    let records = org.query(plan.sourceObject, { includeDeleted: plan.includeDeletedRecords });
    try {
      for (const task of plan.tasks) {
        if (task.kind === 'filter') {
          records = records.filter((record) => matchesFilter(record, task));
        }
      }
    } catch (error) {
      return fail(errorMessage(error));
    }
    if (!org.consumeApiRequests(1 + Math.ceil(records.length / RECORDS_PER_API_REQUEST))) {
      return fail(QUOTA_EXCEEDED_MESSAGE);
    }
    execution.bytesProcessed = Buffer.byteLength(JSON.stringify(records));

    const projection = plan.tasks.find((task) => task.kind === 'projection');
    const readableFields = projection ? new Set(projection.fields) : undefined;
    const readValue = (record: Record<string, unknown>, field: string): unknown =>
      readableFields === undefined || readableFields.has(field) ? record[field] : null;

    for (const task of plan.tasks) {
      if (task.kind !== 'validate') {
        continue;
      }
      const invalid = records.filter(
        (record) => !passesValidation(readValue(record, task.field), task.operator),
      );
      if (invalid.length > 0 && task.action === 'TerminateFlow') {
        return fail(`Validation ${task.operator} failed on ${task.field} for ${invalid.length} record(s)`);
      }
      if (task.action === 'DropRecord') {
        records = records.filter((record) => passesValidation(readValue(record, task.field), task.operator));
      }
    }

    const mapping = this.columnMapping(plan, readableFields);
    const rows = records.map((record) => mapping.map(({ sourceField }) => readValue(record, sourceField)));
    try {
      await this.insertRows(
        plan.destinationTable,
        mapping.map(({ column }) => column),
        rows,
      );
    } catch (error) {
      execution.recordsProcessed = records.length;
      execution.putFailuresCount = records.length;
      return fail(errorMessage(error));
    }
    execution.recordsProcessed = rows.length;
    execution.bytesWritten = Buffer.byteLength(JSON.stringify(rows));
    execution.finishedAt = clock.now();
    return execution;
  }

  /** Source field → destination column (lower case, as Redshift folds names), in task order. */
  private columnMapping(
    plan: FlowPlan,
    readableFields: Set<string> | undefined,
  ): { sourceField: string; column: string }[] {
    const mapping: { sourceField: string; column: string }[] = [];
    for (const task of plan.tasks) {
      if (task.kind === 'map') {
        mapping.push({ sourceField: task.sourceField, column: task.destinationField.toLowerCase() });
      } else if (task.kind === 'mapAll') {
        for (const field of this.opts.org.fields(plan.sourceObject)) {
          if (readableFields === undefined || readableFields.has(field.name)) {
            mapping.push({ sourceField: field.name, column: field.name.toLowerCase() });
          }
        }
      }
    }
    return mapping;
  }

  /** All batches in one transaction: a failed run leaves nothing behind, and no Data API statement interleaves. */
  private async insertRows(destinationTable: string, columns: string[], rows: unknown[][]): Promise<void> {
    if (rows.length === 0) {
      return;
    }
    const table = destinationTable
      .split('.')
      .map((part) => quoteIdentifier(part.toLowerCase()))
      .join('.');
    const columnList = columns.map(quoteIdentifier).join(', ');
    await this.opts.db.transaction(async (tx) => {
      for (let offset = 0; offset < rows.length; offset += this.insertBatchRows) {
        const values = rows
          .slice(offset, offset + this.insertBatchRows)
          .map((row) => `(${row.map(sqlLiteral).join(', ')})`)
          .join(',\n');
        await tx.exec(`INSERT INTO ${table} (${columnList}) VALUES\n${values}`);
      }
    });
  }

  private describeFlowExecutionRecords(body: JsonObject): JsonObject {
    const flow = this.requireFlow(body);
    const { page, nextToken } = paginate(
      flow.executions,
      optionalNumber(body, 'maxResults'),
      optionalString(body, 'nextToken'),
      20,
    );
    const flowExecutions = page.map((execution) => {
      execution.describesSeen += 1;
      const status = this.visibleStatus(execution);
      const done = status !== 'InProgress';
      return {
        executionId: execution.executionId,
        executionStatus: status,
        executionResult: {
          errorInfo:
            done && status === 'Error'
              ? { putFailuresCount: execution.putFailuresCount, executionMessage: execution.message }
              : undefined,
          bytesProcessed: done ? execution.bytesProcessed : 0,
          bytesWritten: done ? execution.bytesWritten : 0,
          recordsProcessed: done ? execution.recordsProcessed : 0,
        },
        startedAt: epochSeconds(execution.startedAt),
        lastUpdatedAt: epochSeconds(done ? execution.finishedAt : execution.startedAt),
      };
    });
    return { flowExecutions, nextToken };
  }

  private deleteFlow(body: JsonObject): JsonObject {
    const flow = this.requireFlow(body);
    const forceDelete = optionalBoolean(body, 'forceDelete') ?? false;
    const running = flow.executions.some((execution) => this.visibleStatus(execution) === 'InProgress');
    if (running && !forceDelete) {
      throw new ServiceError(
        'ConflictException',
        `Flow '${flow.name}' has a run in progress; set forceDelete to delete it anyway`,
        409,
      );
    }
    this.flows.delete(flow.name);
    return {};
  }

  private listFlows(body: JsonObject): JsonObject {
    const { page, nextToken } = paginate(
      [...this.flows.values()],
      optionalNumber(body, 'maxResults'),
      optionalString(body, 'nextToken'),
      100,
    );
    const flows = page.map((flow) => ({
      flowArn: flow.arn,
      description: flow.request.description,
      flowName: flow.name,
      flowStatus: 'Active',
      sourceConnectorType: flow.plan.sourceConnectorType,
      destinationConnectorType: flow.plan.destinationConnectorType,
      triggerType: 'OnDemand',
      createdAt: epochSeconds(flow.createdAt),
      lastUpdatedAt: epochSeconds(flow.lastUpdatedAt),
      tags: flow.request.tags ?? {},
      lastRunExecutionDetails: this.lastRunDetails(flow),
    }));
    return { flows, nextToken };
  }

  private describeConnectorEntity(body: JsonObject): JsonObject {
    const entityName = requiredString(body, 'connectorEntityName');
    const profileName = optionalString(body, 'connectorProfileName');
    if (profileName !== undefined) {
      this.requireProfile(profileName, 'Source');
    }
    const objectName = this.requireSourceObject(entityName);
    const connectorEntityFields = this.opts.org.fields(objectName).map((field) => ({
      identifier: field.name,
      label: field.name,
      isPrimaryKey: field.name === 'Id',
      supportedFieldTypeDetails: {
        v1: { fieldType: field.type, filterOperators: filterOperatorsFor(field.type) },
      },
      sourceProperties: {
        isRetrievable: true,
        isQueryable: true,
        isTimestampFieldForIncrementalQueries: false,
      },
      destinationProperties: {
        isCreatable: field.name !== 'Id' && field.name !== 'SystemModstamp' && field.name !== 'IsDeleted',
        isNullable: field.name !== 'Id',
        isUpsertable: false,
        isUpdatable: field.name !== 'Id' && field.name !== 'SystemModstamp' && field.name !== 'IsDeleted',
      },
    }));
    return { connectorEntityFields };
  }

  private describeConnectorProfiles(body: JsonObject, region: string): JsonObject {
    const names = optionalArray(body, 'connectorProfileNames');
    const connectorType = optionalString(body, 'connectorType');
    const selected = this.profiles.filter(
      (profile) =>
        (names === undefined || names.length === 0 || names.includes(profile.name)) &&
        (connectorType === undefined || profile.connectorType === connectorType),
    );
    const { page, nextToken } = paginate(
      selected,
      optionalNumber(body, 'maxResults'),
      optionalString(body, 'nextToken'),
      20,
    );
    const createdAt = epochSeconds(new Date(Date.UTC(2025, 0, 1)));
    const connectorProfileDetails = page.map((profile) => ({
      connectorProfileArn: `arn:aws:appflow:${region}:000000000000:connectorprofile/${profile.name}`,
      connectorProfileName: profile.name,
      connectorType: profile.connectorType,
      connectorLabel: profile.connectorLabel,
      connectionMode: 'Public',
      credentialsArn: `arn:aws:secretsmanager:${region}:000000000000:secret:appflow!${profile.name}`,
      connectorProfileProperties:
        profile.connectorType === 'Salesforce'
          ? {
              Salesforce: {
                instanceUrl: 'https://local-stand-in.my.salesforce.com',
                isSandboxEnvironment: false,
              },
            }
          : {},
      createdAt,
      lastUpdatedAt: createdAt,
    }));
    return { connectorProfileDetails, nextToken };
  }
}
