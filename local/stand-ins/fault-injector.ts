import { API_MODEL_SUBSET } from '../strict/api-model-extract';
import { faultError, type ServiceError } from './http-service';

/**
 * A scripted failure: the next `times` matching calls fail with `error`.
 * `service` is one of FAULT_SERVICES ('appflow', 'redshift-data', 'dynamodb', 'events',
 * 'stepfunctions'); `operation` is an API operation its stand-in serves
 * (`CreateFlow`, `ExecuteStatement`, …), `FlowRun` (a flow execution ending in Error),
 * `Statement` (a Data API statement ending FAILED) or `DuplicateWrite` (service appflow:
 * a flow run writes some of its records to staging twice, as AppFlow can after retrying
 * a page; it needs no `error`). `object` narrows it to one object.
 */
export interface FaultSpec {
  service: string;
  operation: string;
  object?: string;
  times: number;
  error?: string;
}

/** The fault that is not an error: a flow run's retried page lands in staging twice. */
export const DUPLICATE_WRITE = 'DuplicateWrite';

/** What a service's stand-in can be made to fail, and how. */
interface FaultCatalogEntry {
  /** The API operations its stand-in asks the injector about. */
  operations: readonly string[];
  /** Outcomes that fail with any text (the run's or statement's own message), not an API error. */
  outcomes: readonly string[];
  /** The error codes the service answers with, and their HTTP status. */
  errors: Readonly<Record<string, number>>;
  /** The service's catch-all error, for a fault given as a message rather than a code. */
  catchAll: string;
}

/**
 * The services whose stand-ins take faults: the operations each can fail, and the error codes the
 * real service answers those with (its API model's, and the common ones: throttling, access).
 */
const FAULT_CATALOG = {
  appflow: {
    operations: API_MODEL_SUBSET.appflow.operations,
    outcomes: ['FlowRun'],
    errors: {
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
    },
    catchAll: 'ConnectorServerException',
  },
  'redshift-data': {
    operations: API_MODEL_SUBSET['redshift-data'].operations,
    outcomes: ['Statement'],
    errors: {
      ActiveSessionsExceededException: 400,
      ActiveStatementsExceededException: 400,
      ActiveWaitingRequestsExceededException: 400,
      BatchExecuteStatementException: 500,
      DatabaseConnectionException: 500,
      ExecuteStatementException: 500,
      InternalServerException: 500,
      QueryTimeoutException: 400,
      ResourceNotFoundException: 404,
      ThrottlingException: 400,
      ValidationException: 400,
    },
    catchAll: 'ValidationException',
  },
  dynamodb: {
    operations: API_MODEL_SUBSET.dynamodb.operations,
    outcomes: [],
    errors: {
      ConditionalCheckFailedException: 400,
      InternalServerError: 500,
      ItemCollectionSizeLimitExceededException: 400,
      LimitExceededException: 400,
      ProvisionedThroughputExceededException: 400,
      ReplicatedWriteConflictException: 400,
      RequestLimitExceeded: 400,
      ResourceInUseException: 400,
      ResourceNotFoundException: 400,
      ThrottlingException: 400,
      TransactionConflictException: 400,
      ValidationException: 400,
    },
    catchAll: 'ValidationException',
  },
  events: {
    operations: API_MODEL_SUBSET.events.operations,
    outcomes: [],
    errors: { AccessDeniedException: 400, InternalException: 500, ThrottlingException: 400 },
    catchAll: 'InternalException',
  },
  stepfunctions: {
    // DescribeExecution answers from the runner's own record of its executions: no faults.
    operations: API_MODEL_SUBSET.stepfunctions.operations.filter(
      (operation) => operation !== 'DescribeExecution',
    ),
    outcomes: [],
    errors: {
      InvalidOutput: 400,
      InvalidToken: 400,
      ServiceUnavailable: 503,
      TaskDoesNotExist: 400,
      TaskTimedOut: 400,
      ThrottlingException: 400,
    },
    catchAll: 'ServiceUnavailable',
  },
} as const satisfies Record<string, FaultCatalogEntry>;

export type FaultService = keyof typeof FAULT_CATALOG;

/** The services whose stand-ins take faults: a fault of another one would silently never fire. */
export const FAULT_SERVICES = Object.keys(FAULT_CATALOG) as FaultService[];

/** 'redshift-data', 'RedshiftData' and 'redshift_data' all name the same service. */
function normalizeServiceName(service: string): string {
  return service.toLowerCase().replace(/[^a-z0-9]/g, '');
}

function sameText(left: string, right: string): boolean {
  return left.toLowerCase() === right.toLowerCase();
}

function serviceOf(name: string): FaultService | undefined {
  return FAULT_SERVICES.find((service) => normalizeServiceName(service) === normalizeServiceName(name));
}

/** A single word in PascalCase names an error code; anything else is a message. */
const ERROR_CODE_PATTERN = /^[A-Z][A-Za-z0-9]+$/;

/** What is wrong with a fault (none: the run can inject it), each with the field it concerns. */
export function faultProblems(fault: FaultSpec): { field: keyof FaultSpec; message: string }[] {
  const service = serviceOf(fault.service ?? '');
  if (!service) {
    return [
      {
        field: 'service',
        message: `no stand-in of service ${fault.service} takes faults (known: ${FAULT_SERVICES.join(', ')})`,
      },
    ];
  }
  const problems: { field: keyof FaultSpec; message: string }[] = [];
  if (!Number.isInteger(fault.times) || fault.times < 1)
    problems.push({ field: 'times', message: 'must be a positive integer' });
  if (sameText(fault.operation ?? '', DUPLICATE_WRITE)) {
    if (service !== 'appflow')
      problems.push({ field: 'service', message: `${DUPLICATE_WRITE} is a fault of service appflow` });
    return problems;
  }
  const catalog: FaultCatalogEntry = FAULT_CATALOG[service];
  const operation = [...catalog.operations, ...catalog.outcomes].find((known) =>
    sameText(known, fault.operation ?? ''),
  );
  if (!operation) {
    const known = [
      ...catalog.operations,
      ...catalog.outcomes,
      ...(service === 'appflow' ? [DUPLICATE_WRITE] : []),
    ];
    problems.push({
      field: 'operation',
      message: `the ${service} stand-in fails no operation ${fault.operation} (known: ${known.join(', ')})`,
    });
  }
  if (!fault.error) {
    problems.push({ field: 'error', message: `required for operation ${fault.operation}` });
  } else if (
    operation &&
    catalog.operations.includes(operation) &&
    ERROR_CODE_PATTERN.test(fault.error) &&
    catalog.errors[fault.error] === undefined
  ) {
    problems.push({
      field: 'error',
      message: `${service} answers with no error ${fault.error} (known: ${Object.keys(catalog.errors).join(', ')}); a message (text with a space) fails the call as ${catalog.catchAll}`,
    });
  }
  return problems;
}

/**
 * An injected API fault as the service answers it: a known error code with its HTTP status, or a
 * message as the service's catch-all error.
 */
export function injectedServiceError(service: FaultService, fault: string): ServiceError {
  const catalog: FaultCatalogEntry = FAULT_CATALOG[service];
  return faultError(fault, catalog.errors, catalog.catchAll);
}

/** Holds the faults a scenario day injects; the stand-ins consult it before every call. */
export class FaultInjector {
  private faults: FaultSpec[] = [];

  /** Adds the faults; refuses the lot, naming each problem, when one could not be injected as given. */
  add(faults: FaultSpec[]): void {
    for (const fault of faults) {
      const problems = faultProblems(fault);
      if (problems.length > 0) {
        throw new Error(
          `FaultInjector: ${problems.map((problem) => `${problem.field}: ${problem.message}`).join('; ')}: ${JSON.stringify(fault)}`,
        );
      }
    }
    this.faults.push(...faults.map((fault) => ({ ...fault })));
  }

  /**
   * Returns the error of the first remaining fault matching the call (the operation's name
   * for a fault without one) and uses up one of its `times`. Service, operation and object compare case-insensitively; a fault with an
   * `object` only matches calls about that object, one without matches any call.
   */
  take(service: string, operation: string, objectName?: string): string | undefined {
    const index = this.faults.findIndex(
      (fault) =>
        normalizeServiceName(fault.service) === normalizeServiceName(service) &&
        sameText(fault.operation, operation) &&
        (fault.object === undefined || (objectName !== undefined && sameText(fault.object, objectName))),
    );
    if (index < 0) {
      return undefined;
    }
    const fault = this.faults[index];
    fault.times -= 1;
    if (fault.times <= 0) {
      this.faults.splice(index, 1);
    }
    return fault.error || fault.operation;
  }

  clear(): void {
    this.faults = [];
  }

  /** Faults not used up yet (copies), e.g. to report a scenario fault that never fired. */
  pending(): FaultSpec[] {
    return this.faults.map((fault) => ({ ...fault }));
  }
}
