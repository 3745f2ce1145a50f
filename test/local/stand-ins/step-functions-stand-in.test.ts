import { randomBytes } from 'node:crypto';
import {
  DescribeExecutionCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { StepFunctionsStandIn } from '../../../local/stand-ins/step-functions-stand-in';

const CLIENT_CONFIG = {
  region: 'eu-west-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  maxAttempts: 1, // see every error instead of the SDK's retries
};
const EXECUTION_ARN = 'arn:aws:states:eu-west-1:000000000000:execution:saas-to-redshift-local:run-1';

describe('StepFunctionsStandIn through the AWS SDK', () => {
  const standIn = new StepFunctionsStandIn();
  let sfn: SFNClient;

  beforeAll(async () => {
    sfn = new SFNClient({ ...CLIENT_CONFIG, endpoint: (await standIn.start()).url });
  });

  afterAll(async () => {
    sfn.destroy();
    await standIn.stop();
  });

  const success = (taskToken: string, output = '{"state":"SUCCEEDED"}') =>
    sfn.send(new SendTaskSuccessCommand({ taskToken, output }));

  test('a token answers once: its answer resolves the task, a second answer is TaskTimedOut', async () => {
    // Prepare
    const { token, answer } = standIn.issueToken('Account');

    // Act
    await success(token, '{"state":"SUCCEEDED","recordsProcessed":3}');
    const again = success(token);
    const failureAfter = sfn.send(new SendTaskFailureCommand({ taskToken: token, error: 'E', cause: 'c' }));

    // Assess
    await expect(answer).resolves.toEqual({
      kind: 'success',
      output: { state: 'SUCCEEDED', recordsProcessed: 3 },
    });
    await expect(again).rejects.toMatchObject({ name: 'TaskTimedOut' });
    await expect(failureAfter).rejects.toMatchObject({ name: 'TaskTimedOut' });
    expect(standIn.isOpen(token)).toBe(false);
  });

  test('SendTaskFailure ends the task with its error and cause', async () => {
    // Prepare
    const { token, answer } = standIn.issueToken('Contact');

    // Act
    await sfn.send(
      new SendTaskFailureCommand({ taskToken: token, error: 'FlowRunFailed', cause: 'Contact: flow run x' }),
    );

    // Assess
    await expect(answer).resolves.toEqual({
      kind: 'failure',
      error: 'FlowRunFailed',
      cause: 'Contact: flow run x',
    });
    expect(standIn.calls.at(-1)).toEqual({ operation: 'SendTaskFailure', label: 'Contact' });
  });

  test.each(['States.Timeout', 'States.HeartbeatTimeout'] as const)(
    'a task Step Functions timed out (%s) answers TaskTimedOut to success, failure and heartbeat',
    async (timeout) => {
      // Prepare
      const { token, answer } = standIn.issueToken('Lead');

      // Act
      standIn.timeOut(token, timeout);

      // Assess
      await expect(answer).resolves.toEqual({ kind: 'timed-out', error: timeout });
      await expect(success(token)).rejects.toMatchObject({ name: 'TaskTimedOut' });
      await expect(
        sfn.send(new SendTaskFailureCommand({ taskToken: token, error: 'E' })),
      ).rejects.toMatchObject({ name: 'TaskTimedOut' });
      await expect(sfn.send(new SendTaskHeartbeatCommand({ taskToken: token }))).rejects.toMatchObject({
        name: 'TaskTimedOut',
      });
    },
  );

  test('a well-formed token it never issued is TaskDoesNotExist; a malformed one is InvalidToken', async () => {
    // Prepare
    const unknown = randomBytes(96).toString('base64');

    // Act
    const unknownAnswer = success(unknown);
    const malformedAnswer = success('not a token!');

    // Assess
    await expect(unknownAnswer).rejects.toMatchObject({ name: 'TaskDoesNotExist' });
    await expect(malformedAnswer).rejects.toMatchObject({ name: 'InvalidToken' });
  });

  test('an output that is not JSON is InvalidOutput, and the task stays open for a valid answer', async () => {
    // Prepare
    const { token, answer } = standIn.issueToken('Account');

    // Act
    const invalid = success(token, '{"state": SUCCEEDED');

    // Assess
    await expect(invalid).rejects.toMatchObject({ name: 'InvalidOutput' });
    expect(standIn.isOpen(token)).toBe(true);
    await success(token, '{}');
    await expect(answer).resolves.toEqual({ kind: 'success', output: {} });
  });

  test('an output over 262,144 characters is refused by the API model before the stand-in sees it', async () => {
    // Prepare
    const { token } = standIn.issueToken('Account');
    const callsBefore = standIn.calls.length;
    const output = JSON.stringify({ text: 'x'.repeat(262_144) });

    // Act
    const tooLong = success(token, output);

    // Assess
    await expect(tooLong).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining("at 'output' failed to satisfy constraint"),
    });
    expect(standIn.calls).toHaveLength(callsBefore);
    expect(standIn.isOpen(token)).toBe(true);
  });

  test('heartbeats are counted per token and keep the task open', async () => {
    // Prepare
    const { token } = standIn.issueToken('Account');
    const other = standIn.issueToken('Contact');

    // Act
    await sfn.send(new SendTaskHeartbeatCommand({ taskToken: token }));
    await sfn.send(new SendTaskHeartbeatCommand({ taskToken: token }));

    // Assess
    expect(standIn.heartbeatsOf(token)).toBe(2);
    expect(standIn.heartbeatsOf(other.token)).toBe(0);
    expect(standIn.isOpen(token)).toBe(true);
  });

  test('DescribeExecution reports a known run and answers ExecutionDoesNotExist for an unknown ARN', async () => {
    // Prepare
    standIn.setExecutionStatus(EXECUTION_ARN, 'RUNNING');

    // Act
    const known = await sfn.send(new DescribeExecutionCommand({ executionArn: EXECUTION_ARN }));
    const unknown = sfn.send(new DescribeExecutionCommand({ executionArn: `${EXECUTION_ARN}-gone` }));

    // Assess
    expect(known).toMatchObject({ executionArn: EXECUTION_ARN, status: 'RUNNING' });
    await expect(unknown).rejects.toMatchObject({ name: 'ExecutionDoesNotExist' });
  });
});
