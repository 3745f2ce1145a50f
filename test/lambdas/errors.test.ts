import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ActiveSessionsExceededException,
  ActiveStatementsExceededException,
  ActiveWaitingRequestsExceededException,
} from '@aws-sdk/client-redshift-data';
import { buildSync } from 'esbuild';
import * as errors from '../../lambdas/common/errors';

const { classifyAwsError, errorMessage } = errors;

/** An error as the AWS SDK v3 throws it: a name, a message and the HTTP status. */
function awsError(name: string, message: string, httpStatusCode?: number) {
  return Object.assign(new Error(message), {
    name,
    $metadata: httpStatusCode === undefined ? {} : { httpStatusCode },
  });
}

describe('classifyAwsError', () => {
  test.each([
    ['ThrottlingException', 400],
    ['TooManyRequestsException', 429],
    ['ServiceQuotaExceededException', 402],
    ['ProvisionedThroughputExceededException', 400],
    ['InternalServerException', 500],
    ['ServiceUnavailableException', 503],
  ])('turns %s into Throttled, which the state machine retries', (name, status) => {
    // Act
    const classified = classifyAwsError(awsError(name, 'Rate exceeded', status), 'Account: StartFlow');

    // Assess
    expect(classified).toBeInstanceOf(errors.ThrottledError);
    expect(classified.name).toBe('Throttled');
    expect(classified.message).toBe(`Account: StartFlow: ${name}: Rate exceeded`);
  });

  test.each([429, 500, 502, 504])('turns any HTTP %i into Throttled, whatever its name', (status) => {
    // Act
    const classified = classifyAwsError(awsError('UnknownError', 'upstream trouble', status), 'ctx');

    // Assess
    expect(classified.name).toBe('Throttled');
  });

  test('keeps the original error as the cause of a Throttled error', () => {
    // Prepare
    const original = awsError('ThrottlingException', 'Rate exceeded', 400);

    // Act
    const classified = classifyAwsError(original, 'ctx');

    // Assess
    expect(classified.cause).toBe(original);
  });

  test.each([
    'REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.',
    'Salesforce error: request_limit_exceeded',
  ])(
    'turns a spent Salesforce quota (%s) into SourceApiLimit, not Throttled, so it fails fast',
    (message) => {
      // Act
      const classified = classifyAwsError(
        awsError('ConnectorServerException', message, 500),
        'Account: StartFlow',
      );

      // Assess
      expect(classified.name).toBe('SourceApiLimit');
      expect(classified).toBeInstanceOf(errors.SourceApiLimitError);
      expect(classified.message).toContain('Account: StartFlow');
      expect(classified.message).toContain(message);
    },
  );

  test('turns a quota message into SourceApiLimit even when it comes as a throttling error', () => {
    // Act
    const classified = classifyAwsError(
      awsError('ThrottlingException', 'REQUEST_LIMIT_EXCEEDED', 429),
      'ctx',
    );

    // Assess
    expect(classified.name).toBe('SourceApiLimit');
  });

  test.each([
    ['ConnectorAuthenticationException', 'The connector profile credentials are invalid'],
    ['ConnectorServerException', 'INVALID_SESSION_ID: Session expired or invalid'],
    ['ValidationException', 'invalid_grant: expired access/refresh token'],
  ])('turns %s (%s) into SourceAuthentication telling the operator to reconnect', (name, message) => {
    // Act
    const classified = classifyAwsError(awsError(name, message, 400), 'Account: DescribeConnectorEntity');

    // Assess
    expect(classified.name).toBe('SourceAuthentication');
    expect(classified.message).toMatch(/^Account: DescribeConnectorEntity: .*reconnect the profile/);
  });

  test('keeps the name of any other error and prefixes its message with the context', () => {
    // Prepare
    const original = awsError('ValidationException', 'Flow name is invalid', 400);

    // Act
    const classified = classifyAwsError(original, 'Account: flow f-1: CreateFlow');

    // Assess
    expect(classified.name).toBe('ValidationException');
    expect(classified.message).toBe(
      'Account: flow f-1: CreateFlow: ValidationException: Flow name is invalid',
    );
    expect(classified.cause).toBe(original);
  });

  test.each([
    ActiveStatementsExceededException,
    ActiveSessionsExceededException,
    ActiveWaitingRequestsExceededException,
  ])(
    "turns the Data API's capacity error %p into Throttled: it clears as other statements end",
    (ErrorClass) => {
      // Prepare: as the SDK throws it, a client fault (HTTP 400)
      const original = new ErrorClass({
        message: 'Active statements exceeded the allowed quota.',
        $metadata: { httpStatusCode: 400 },
      });

      // Act
      const classified = classifyAwsError(original, 'Redshift Data API ExecuteStatement');

      // Assess
      expect(classified).toBeInstanceOf(errors.ThrottledError);
      expect(classified.message).toBe(
        `Redshift Data API ExecuteStatement: ${original.name}: Active statements exceeded the allowed quota.`,
      );
    },
  );

  test('copes with something that is not an error at all', () => {
    // Act
    const classified = classifyAwsError('socket hang up', 'ctx');

    // Assess
    expect(classified.name).toBe('Error');
    expect(classified.message).toBe('ctx: Error: socket hang up');
  });
});

describe('pipeline error names', () => {
  test.each([
    [errors.ThrottledError, 'Throttled'],
    [errors.SourceApiLimitError, 'SourceApiLimit'],
    [errors.SourceAuthenticationError, 'SourceAuthentication'],
    [errors.FlowRunFailedError, 'FlowRunFailed'],
    [errors.StatementFailedError, 'StatementFailed'],
    [errors.SchemaMismatchError, 'SchemaMismatch'],
    [errors.ObjectBusyError, 'ObjectBusy'],
    [errors.PrecheckFailedError, 'PrecheckFailed'],
    [errors.WarehouseConflictError, 'WarehouseConflict'],
  ])('%p is named %s, the name the state machine matches', (ErrorClass, name) => {
    // Act
    const error = new ErrorClass('boom');

    // Assess
    expect(error.name).toBe(name);
    expect(error).toBeInstanceOf(Error);
  });

  test('keep their names in a minified bundle, as the stack deploys the handlers', () => {
    // Prepare: the same esbuild settings as lib/constructs/pipeline-function.ts
    const bundled = buildSync({
      entryPoints: [path.join(__dirname, '../../lambdas/common/errors.ts')],
      bundle: true,
      minify: true,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      write: false,
      logLevel: 'silent',
    });
    const dir = mkdtempSync(path.join(tmpdir(), 'errors-bundle-'));
    const file = path.join(dir, 'index.js');
    writeFileSync(file, bundled.outputFiles[0].text);

    try {
      // Act
      const deployed = require(file) as typeof errors;
      const throttled = deployed.classifyAwsError(awsError('ThrottlingException', 'slow', 400), 'ctx');

      // Assess
      expect(throttled.name).toBe('Throttled');
      expect(new deployed.SourceApiLimitError('x').name).toBe('SourceApiLimit');
      expect(new deployed.FlowRunFailedError('x').name).toBe('FlowRunFailed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('isTransientStatementError', () => {
  test.each([
    [
      'serializable isolation violation (error 1023)',
      'ERROR: 1023 DETAIL: Serializable isolation violation on table - 164038, transactions forming the cycle are: 5812, 5813 (pid:12345)',
    ],
    ['error 1023 without the detail', 'ERROR:1023'],
    [
      'the isolation violation in other words',
      'ERROR: Serializable isolation violation on a table in Redshift',
    ],
    [
      'a conflict with a concurrent transaction',
      'ERROR: could not complete because of conflict with a concurrent transaction',
    ],
    [
      "Redshift's own words for it (no article)",
      'ERROR: could not complete because of conflict with concurrent transaction',
    ],
    ['a catalog row updated concurrently (two GRANTs)', 'ERROR: tuple concurrently updated'],
    ['a deadlock', 'ERROR: deadlock detected DETAIL: Process 1 waits for AccessExclusiveLock'],
  ])('is true for %s: running it again is AWS’s advice', (_what, text) => {
    // Act / Assess
    expect(errors.isTransientStatementError(text)).toBe(true);
  });

  test.each([
    ['a missing relation', 'ERROR: relation "salesforce.account" does not exist'],
    ['a refused permission', 'ERROR: permission denied for schema salesforce_incremental'],
    ['a value too long', 'ERROR: value too long for type character varying(18)'],
    ['another error number that contains 1023', 'ERROR: 10230 something else'],
    ["the procedure's own refusal", 'ERROR: Refusing identifier "Account;DROP"'],
  ])('is false for %s: running it again fails the same way', (_what, text) => {
    // Act / Assess
    expect(errors.isTransientStatementError(text)).toBe(false);
  });
});

describe('errorMessage', () => {
  test("gives an error's message, or the string form of anything else", () => {
    // Act / Assess
    expect(errorMessage(new Error('boom'))).toBe('boom');
    expect(errorMessage(42)).toBe('42');
  });
});
