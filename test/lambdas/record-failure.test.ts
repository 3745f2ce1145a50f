Object.assign(process.env, { CONTROL_TABLE_NAME: 'control-test', FLOW_NAME_PREFIX: 'saas2rs-test' });
const { describeFailure } =
  require('../../lambdas/record-failure') as typeof import('../../lambdas/record-failure');

describe('describeFailure', () => {
  test('reads the message of a Lambda error from its JSON Cause', () => {
    // Prepare
    const cause = JSON.stringify({
      errorType: 'FlowRunFailed',
      errorMessage: 'Account: flow run exec-1 ended in Error: boom',
      trace: ['FlowRunFailed: ...', '    at pollFlow (/var/task/index.js:1:1)'],
    });

    // Act
    const failure = describeFailure({ Error: 'FlowRunFailed', Cause: cause });

    // Assess
    expect(failure).toEqual({
      name: 'FlowRunFailed',
      message: 'Account: flow run exec-1 ended in Error: boom',
    });
  });

  test('takes the Step Functions error name, not the errorType of the Cause', () => {
    // Act
    const failure = describeFailure({ Error: 'X', Cause: '{"errorType":"Y","errorMessage":"m"}' });

    // Assess
    expect(failure).toEqual({ name: 'X', message: 'm' });
  });

  test("falls back to a JSON Cause's message field", () => {
    // Act / Assess
    expect(describeFailure({ Error: 'States.Runtime', Cause: '{"message":"bad path"}' })).toEqual({
      name: 'States.Runtime',
      message: 'bad path',
    });
  });

  test('keeps a plain-text Cause as the message', () => {
    // Act
    const failure = describeFailure({
      Error: 'States.Timeout',
      Cause: 'Task timed out after 120.00 seconds',
    });

    // Assess
    expect(failure).toEqual({ name: 'States.Timeout', message: 'Task timed out after 120.00 seconds' });
  });

  test.each(['null', '42', '"quoted"', '[1,2]'])(
    'keeps a Cause that is JSON but not an object (%s) as text',
    (cause) => {
      // Act
      const failure = describeFailure({ Error: 'E', Cause: cause });

      // Assess
      expect(failure).toEqual({ name: 'E', message: cause });
    },
  );

  test('uses the error name as the message when there is no Cause', () => {
    // Act / Assess
    expect(describeFailure({ Error: 'FlowWaitTimedOut' })).toEqual({
      name: 'FlowWaitTimedOut',
      message: 'FlowWaitTimedOut',
    });
  });

  test('describes a missing error as UnknownError', () => {
    // Act / Assess
    expect(describeFailure(undefined)).toEqual({ name: 'UnknownError', message: 'UnknownError' });
  });
});
