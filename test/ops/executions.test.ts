import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  ExecutionNotRedrivable,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  RedriveExecutionCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { emptyResult, type ObjectResult } from '../../lambdas/common/object-state';
import type { RunReport } from '../../lambdas/common/run-report';
import { EXECUTION_ARN_PREFIX, runCli, STATE_MACHINE_ARN, testClients } from './support/cli';

const sfn = mockClient(SFNClient);
const objects = (...args: string[]) => runCli(['--state-machine-arn', STATE_MACHINE_ARN, ...args]);

beforeEach(() => {
  sfn.reset();
});

const STARTED = new Date('2026-03-10T05:00:00.000Z');
const STOPPED = new Date('2026-03-10T05:21:07.000Z');

function result(objectName: string, overrides: Partial<ObjectResult>): ObjectResult {
  return {
    ...emptyResult(objectName, 'SUCCEEDED', null),
    syncMode: 'incremental',
    durationSeconds: 300,
    ...overrides,
  };
}

const ACCOUNT_OK = result('Account', {
  recordsExtracted: 120,
  duplicatesRemoved: 20,
  rowsInserted: 95,
  rowsDeleted: 5,
});
const CONTACT_FAILED = result('Contact', {
  status: 'FAILED',
  error: 'FlowFailed: connector profile expired',
});

const SUCCEEDED_REPORT: RunReport = {
  runId: 'daily-1',
  runDate: '2026-03-10',
  startedAt: STARTED.toISOString(),
  finishedAt: STOPPED.toISOString(),
  status: 'SUCCEEDED',
  objects: [ACCOUNT_OK],
  failedObjects: [],
  summary: 'Run daily-1: 1 of 1 objects loaded',
};

const FAILED_SUMMARY =
  'Run daily-2: 1 of 2 objects not loaded: Contact (FlowFailed: connector profile expired). Rerun them with input {"objects":["Contact"]}';
const FAILED_REPORT: RunReport = {
  ...SUCCEEDED_REPORT,
  runId: 'daily-2',
  status: 'FAILED',
  objects: [ACCOUNT_OK, CONTACT_FAILED],
  failedObjects: ['Contact'],
  summary: FAILED_SUMMARY,
  rerunInput: { objects: ['Contact'] },
};

describe('run', () => {
  beforeEach(() => {
    sfn
      .on(StartExecutionCommand)
      .resolves({ executionArn: `${EXECUTION_ARN_PREFIX}:rerun-contact`, startDate: STARTED });
  });

  it('with no flags starts the daily run, input {}', async () => {
    const outcome = await objects('run');
    expect(outcome.code).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: STATE_MACHINE_ARN,
      input: '{}',
    });
  });

  it('builds the input from the flags and prints the ARN and console URL', async () => {
    const outcome = await objects(
      'run',
      '--objects',
      'Contact, Account',
      '--full',
      '--name',
      'rerun-contact',
    );
    expect(outcome.code).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: STATE_MACHINE_ARN,
      name: 'rerun-contact',
      input: JSON.stringify({ objects: ['Contact', 'Account'], syncMode: 'full' }),
    });
    expect(outcome.stdout).toContain(`ARN:     ${EXECUTION_ARN_PREFIX}:rerun-contact`);
    expect(outcome.stdout).toContain(
      `Console: https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${EXECUTION_ARN_PREFIX}:rerun-contact`,
    );
    expect(outcome.stdout).toContain('npm run objects -- status rerun-contact');
  });

  it.each([
    [['--run-date', '2026-03-09'], { runDate: '2026-03-09' }],
    [['--from', '2026-03-01', '--to', '2026-03-07'], { from: '2026-03-01', to: '2026-03-07' }],
  ])('backfills with %j', async (flags, input) => {
    expect((await objects('run', ...flags)).code).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { input: JSON.stringify(input) });
  });

  it.each([
    [['--run-date', '2026-02-30'], '--run-date "2026-02-30": is not a calendar date'],
    [['--run-date', '9 March'], '--run-date "9 March": must be YYYY-MM-DD'],
    [
      ['--run-date', '2026-03-09', '--from', '2026-03-01', '--to', '2026-03-02'],
      'cannot be combined with from/to',
    ],
    [['--from', '2026-03-01'], 'from and to go together'],
    [['--from', '2026-03-07', '--to', '2026-03-01'], '--to "2026-03-01": must not be before from'],
    [['--objects', 'Account,Contact;DROP'], '--objects "Contact;DROP": object names must match'],
    [['--objects', ' , '], '--objects needs at least one object name'],
    [['--name', 'my run'], '--name "my run": execution names are 1-80 characters'],
  ])('refuses %j before starting anything', async (flags, message) => {
    const outcome = await objects('run', ...flags);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain(message);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('says so when the execution name is taken', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));
    const outcome = await objects('run', '--name', 'daily-1');
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toContain('An execution named "daily-1" already exists');
  });
});

describe('status', () => {
  it('without an argument lists the last 10 executions', async () => {
    sfn.on(ListExecutionsCommand).resolves({
      executions: [
        {
          executionArn: `${EXECUTION_ARN_PREFIX}:daily-2`,
          stateMachineArn: STATE_MACHINE_ARN,
          name: 'daily-2',
          status: 'RUNNING',
          startDate: new Date('2026-03-11T05:00:00.000Z'),
        },
        {
          executionArn: `${EXECUTION_ARN_PREFIX}:daily-1`,
          stateMachineArn: STATE_MACHINE_ARN,
          name: 'daily-1',
          status: 'FAILED',
          startDate: STARTED,
          stopDate: STOPPED,
          redriveCount: 1,
        },
      ],
    });
    const outcome = await objects('status');
    expect(outcome.code).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(ListExecutionsCommand, {
      stateMachineArn: STATE_MACHINE_ARN,
      maxResults: 10,
    });
    expect(outcome.stdout.trimEnd().split('\n')).toEqual([
      'name     status                start                 stop',
      '-------  --------------------  --------------------  --------------------',
      'daily-2  RUNNING               2026-03-11T05:00:00Z',
      'daily-1  FAILED (redriven 1x)  2026-03-10T05:00:00Z  2026-03-10T05:21:07Z',
    ]);
  });

  it('of a succeeded execution, by name, prints the report from its output', async () => {
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: `${EXECUTION_ARN_PREFIX}:daily-1`,
      stateMachineArn: STATE_MACHINE_ARN,
      name: 'daily-1',
      status: 'SUCCEEDED',
      startDate: STARTED,
      stopDate: STOPPED,
      input: '{}',
      output: JSON.stringify(SUCCEEDED_REPORT),
    });
    const outcome = await objects('status', 'daily-1');
    expect(outcome.code).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(DescribeExecutionCommand, {
      executionArn: `${EXECUTION_ARN_PREFIX}:daily-1`,
    });
    expect(sfn).not.toHaveReceivedCommand(GetExecutionHistoryCommand);
    expect(outcome.stdout).toContain('Status:    SUCCEEDED');
    expect(outcome.stdout).toMatch(
      /object\s+status\s+mode\s+extracted\s+dupes\s+inserted\s+updated\s+unchanged\s+deleted\s+truncated\s+secs\s+error/,
    );
    expect(outcome.stdout).toMatch(/Account\s+SUCCEEDED\s+incremental\s+120\s+20\s+95\s+0\s+0\s+5\s+0\s+300/);
    expect(outcome.stdout).toContain('Run daily-1: 1 of 1 objects loaded');
  });

  function historyEvent(id: number, event: Omit<HistoryEvent, 'id' | 'timestamp'>): HistoryEvent {
    return { id, timestamp: STOPPED, ...event };
  }

  it('of a failed run, finds the report in the history (newest first) and prints the cause and the rerun', async () => {
    const executionArn = `${EXECUTION_ARN_PREFIX}:daily-2`;
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn,
      stateMachineArn: STATE_MACHINE_ARN,
      name: 'daily-2',
      status: 'FAILED',
      startDate: STARTED,
      stopDate: STOPPED,
      input: '{}',
      error: 'ObjectsFailed',
      cause: FAILED_SUMMARY,
      redriveStatus: 'REDRIVABLE',
    });
    sfn
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({
        events: [
          historyEvent(60, { type: 'ExecutionFailed', previousEventId: 59 }),
          historyEvent(59, {
            type: 'FailStateEntered',
            previousEventId: 58,
            stateEnteredEventDetails: { name: 'RunFailed' },
          }),
        ],
        nextToken: 'page-2',
      })
      .resolvesOnce({
        events: [
          historyEvent(58, {
            type: 'TaskStateExited',
            previousEventId: 57,
            stateExitedEventDetails: { name: 'ReportRun', output: JSON.stringify(FAILED_REPORT) },
          }),
        ],
        nextToken: 'page-3',
      });

    const outcome = await objects('status', executionArn);

    expect(outcome.code).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(GetExecutionHistoryCommand, { executionArn, reverseOrder: true });
    expect(sfn).toHaveReceivedCommandTimes(GetExecutionHistoryCommand, 2); // stops at the report
    expect(outcome.stdout).toContain('Status:    FAILED (ObjectsFailed)');
    expect(outcome.stdout).toMatch(/Account\s+SUCCEEDED\s+incremental\s+120/);
    expect(outcome.stdout).toMatch(
      /Contact\s+FAILED\s+incremental\s+0\s+0\s+0\s+0\s+0\s+0\s+0\s+300\s+FlowFailed: connector profile expired/,
    );
    expect(outcome.stdout).toContain(`Cause: ${FAILED_SUMMARY}`);
    expect(outcome.stdout).toContain('npm run objects -- run --objects Contact');
    expect(outcome.stdout).not.toContain('redrive');
  });

  it('traces a TaskSucceeded event back to the ReportRun state when the state has not exited', async () => {
    const executionArn = `${EXECUTION_ARN_PREFIX}:daily-3`;
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn,
      stateMachineArn: STATE_MACHINE_ARN,
      name: 'daily-3',
      status: 'ABORTED',
      startDate: STARTED,
      stopDate: STOPPED,
    });
    sfn.on(GetExecutionHistoryCommand).resolves({
      events: [
        historyEvent(9, { type: 'ExecutionAborted', previousEventId: 8 }),
        historyEvent(8, {
          type: 'TaskSucceeded',
          previousEventId: 7,
          taskSucceededEventDetails: {
            resource: 'invoke',
            resourceType: 'lambda',
            output: JSON.stringify(FAILED_REPORT),
          },
        }),
        historyEvent(7, { type: 'TaskStarted', previousEventId: 6 }),
        historyEvent(6, { type: 'TaskScheduled', previousEventId: 5 }),
        historyEvent(5, {
          type: 'TaskStateEntered',
          previousEventId: 4,
          stateEnteredEventDetails: { name: 'ReportRun' },
        }),
      ],
    });
    const outcome = await objects('status', executionArn);
    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toMatch(/Contact\s+FAILED/);
  });

  it('of an execution that failed before the report says so and offers the redrive', async () => {
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: `${EXECUTION_ARN_PREFIX}:daily-4`,
      stateMachineArn: STATE_MACHINE_ARN,
      name: 'daily-4',
      status: 'FAILED',
      startDate: STARTED,
      stopDate: STOPPED,
      error: 'Lambda.ServiceException',
      cause: 'Lambda is unavailable',
      redriveStatus: 'REDRIVABLE',
    });
    sfn.on(GetExecutionHistoryCommand).resolves({
      events: [
        historyEvent(3, { type: 'ExecutionFailed', previousEventId: 2 }),
        historyEvent(2, {
          type: 'TaskStateEntered',
          previousEventId: 1,
          stateEnteredEventDetails: { name: 'LoadObjects' },
        }),
      ],
    });
    const outcome = await objects('status', 'daily-4');
    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toContain('Status:    FAILED (Lambda.ServiceException)');
    expect(outcome.stdout).toContain('Cause: Lambda is unavailable');
    expect(outcome.stdout).toContain('No run report');
    expect(outcome.stdout).toContain('npm run objects -- redrive daily-4');
  });

  it('of a running execution does not look for a report yet', async () => {
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: `${EXECUTION_ARN_PREFIX}:daily-5`,
      stateMachineArn: STATE_MACHINE_ARN,
      name: 'daily-5',
      status: 'RUNNING',
      startDate: STARTED,
    });
    const outcome = await objects('status', 'daily-5');
    expect(outcome.stdout).toContain('Still running');
    expect(sfn).not.toHaveReceivedCommand(GetExecutionHistoryCommand);
  });

  it('of an unknown execution fails clearly', async () => {
    sfn
      .on(DescribeExecutionCommand)
      .rejects(new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} }));
    const outcome = await objects('status', 'nope');
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toContain(`No execution ${EXECUTION_ARN_PREFIX}:nope`);
  });
});

describe('redrive', () => {
  it('redrives the execution named', async () => {
    sfn.on(RedriveExecutionCommand).resolves({ redriveDate: STOPPED });
    const outcome = await objects('redrive', 'daily-4');
    expect(outcome.code).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(RedriveExecutionCommand, {
      executionArn: `${EXECUTION_ARN_PREFIX}:daily-4`,
    });
    expect(outcome.stdout).toContain('Redrove daily-4 at 2026-03-10T05:21:07Z');
  });

  it('surfaces why an execution is not redrivable', async () => {
    sfn.on(RedriveExecutionCommand).rejects(
      new ExecutionNotRedrivable({
        message: 'Execution daily-1 cannot be redriven: it succeeded',
        $metadata: {},
      }),
    );
    const outcome = await objects('redrive', 'daily-1');
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toContain(
      'daily-1 cannot be redriven: Execution daily-1 cannot be redriven: it succeeded',
    );
  });

  it('surfaces an unknown execution', async () => {
    sfn
      .on(RedriveExecutionCommand)
      .rejects(new ExecutionDoesNotExist({ message: 'does not exist', $metadata: {} }));
    const outcome = await objects('redrive', 'nope');
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toContain(`No execution ${EXECUTION_ARN_PREFIX}:nope`);
  });

  it("by ARN needs no target and uses the ARN's region", async () => {
    sfn.on(RedriveExecutionCommand).resolves({ redriveDate: STOPPED });
    const clients = testClients();
    const executionArn = 'arn:aws:states:us-east-2:333333333333:execution:saas-to-redshift-x:daily-9';
    const outcome = await runCli(['redrive', executionArn], clients);
    expect(outcome.code).toBe(0);
    expect(clients.regions).toEqual([{ service: 'states', region: 'us-east-2' }]);
    expect(outcome.stdout).toContain(`Follow it with: npm run objects -- status ${executionArn}`);
  });

  it('refuses a malformed reference before calling AWS', async () => {
    const outcome = await objects('redrive', 'daily/1');
    expect(outcome.code).toBe(2);
    expect(sfn).not.toHaveReceivedCommand(RedriveExecutionCommand);
  });
});
