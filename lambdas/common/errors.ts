/**
 * Error names are part of the state machine: `Retry` matches `Throttled`, and the
 * `Catch` paths record the name and message on the object's control row and in the report.
 */
export class PipelineError extends Error {}

// Names are literals: bundles are minified, and a class's own name would not survive it.
/** Transient: the state machine retries with backoff and jitter. */
export class ThrottledError extends PipelineError {
  override name = 'Throttled';
}
/** The source's daily API quota is spent: retrying only burns more of it. */
export class SourceApiLimitError extends PipelineError {
  override name = 'SourceApiLimit';
}
/** The connector profile's credentials were refused: a person must reconnect it. */
export class SourceAuthenticationError extends PipelineError {
  override name = 'SourceAuthentication';
}
export class FlowRunFailedError extends PipelineError {
  override name = 'FlowRunFailed';
}
/** The flow was still running at its deadline (the object's `flowTimeoutMinutes`). */
export class FlowWaitTimedOutError extends PipelineError {
  override name = 'FlowWaitTimedOut';
}
export class StatementFailedError extends PipelineError {
  override name = 'StatementFailed';
}
/**
 * A statement Redshift ended FAILED because it collided with a concurrent transaction
 * (serializable isolation, a catalog row updated concurrently): AWS's guidance is to run it again.
 * Resubmitted within the step (MAX_STATEMENT_ATTEMPTS); when that is spent, the object fails
 * `WarehouseConflict` (the state machine does not retry it: RETRYABLE_ERRORS leaves it out) and the
 * next run tries again.
 */
export class WarehouseConflictError extends PipelineError {
  override name = 'WarehouseConflict';
}
export class SchemaMismatchError extends PipelineError {
  override name = 'SchemaMismatch';
}
/** ObjectBusyError's name: RecordFailure tells a tick's lost race for the claim by it. */
export const OBJECT_BUSY = 'ObjectBusy';
export class ObjectBusyError extends PipelineError {
  override name = OBJECT_BUSY;
  constructor(
    message: string,
    /** Who holds the object, when the row says. */
    readonly holder?: { runId: string; executionArn?: string },
  ) {
    super(message);
  }
}
export class PrecheckFailedError extends PipelineError {
  override name = 'PrecheckFailed';
}

const THROTTLING_NAMES = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'ServiceQuotaExceededException',
  'InternalServerException',
  'ServiceUnavailableException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  // The Redshift Data API's capacity errors: too many statements, sessions or queued requests
  // at once (its quotas); they clear as other statements end.
  'ActiveStatementsExceededException',
  'ActiveSessionsExceededException',
  'ActiveWaitingRequestsExceededException',
]);

/**
 * Redshift's words for a statement that lost a race with a concurrent transaction: error 1023
 * (serializable isolation violation), a conflict with a concurrent transaction, and Postgres'
 * "tuple concurrently updated" for catalog rows (GRANT, CREATE SCHEMA at the same moment).
 */
const TRANSIENT_STATEMENT_ERRORS = [
  /ERROR:\s*1023\b/,
  /serializable isolation violation/i,
  /conflict with (a )?concurrent transaction/i,
  /tuple concurrently updated/i,
  /deadlock detected/i,
];

/** Whether a FAILED statement's error text is a transient conflict worth running again. */
export function isTransientStatementError(errorText: string): boolean {
  return TRANSIENT_STATEMENT_ERRORS.some((pattern) => pattern.test(errorText));
}

interface AwsLikeError {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * Maps an AWS SDK error to what the state machine should do with it: throttling and
 * server errors become `Throttled` (retried); a spent Salesforce quota or refused
 * credentials fail fast; anything else keeps its own name and message.
 */
export function classifyAwsError(error: unknown, context: string): Error {
  const err = (error ?? {}) as AwsLikeError;
  const message = `${context}: ${err.name ?? 'Error'}: ${err.message ?? String(error)}`;
  if (/REQUEST_LIMIT_EXCEEDED|TotalRequests Limit exceeded/i.test(err.message ?? '')) {
    return new SourceApiLimitError(
      `${context}: the Salesforce org's daily API request limit is spent (${err.message})`,
    );
  }
  if (
    err.name === 'ConnectorAuthenticationException' ||
    /INVALID_SESSION_ID|invalid_grant|expired access\/refresh token/i.test(err.message ?? '')
  ) {
    return new SourceAuthenticationError(
      `${context}: the source refused the connector profile's credentials; reconnect the profile in AppFlow (${err.message})`,
    );
  }
  const status = err.$metadata?.httpStatusCode;
  if (THROTTLING_NAMES.has(err.name ?? '') || status === 429 || (status !== undefined && status >= 500)) {
    return new ThrottledError(message, { cause: error });
  }
  const classified = new Error(message, { cause: error });
  classified.name = err.name ?? 'Error';
  return classified;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
