import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { environments } from '../../config/environments';
import { parseVerifyWindow, windowDays } from '../../ops/objects/verify';
import { runCli, testClients } from './support/cli';

const dynamo = mockClient(DynamoDBDocumentClient);
const withLimitsSecret = {
  dev: {
    ...environments.dev,
    source: { ...environments.dev.source, apiLimitsSecretName: 'saas-to-redshift/dev/salesforce-limits' },
  },
};
const verify = (...argv: string[]) =>
  runCli(['verify', ...argv], testClients(DynamoDBDocumentClient.from(new DynamoDBClient({}))), {
    environments: withLimitsSecret,
    now: () => new Date('2026-03-10T12:00:00Z'),
  });

beforeEach(() => {
  dynamo.reset();
});

describe('verify: arguments checked before any call', () => {
  it.each([
    [['--env', 'dev', '--table', 't'], 'verify needs <Object> or --all (one of them)'],
    [['Account', '--all', '--env', 'dev', '--table', 't'], 'verify needs <Object> or --all (one of them)'],
    [['Account', '--table', 't'], 'verify needs --env NAME'],
    [
      ['Account', '--env', 'dev', '--table', 't', '--days', '0'],
      '--days "0": must be a whole number of days from 1 to 2000',
    ],
    [['Account', '--env', 'dev', '--table', 't', '--days', '2.5'], '--days "2.5"'],
    [
      ['Account', '--env', 'dev', '--table', 't', '--as-of', '10/03/2026'],
      '--as-of "10/03/2026": must be a date',
    ],
    [['Account;', '--env', 'dev', '--table', 't'], '<Object> "Account;" is not a valid object API name'],
  ])('%j exits 2', async (argv, message) => {
    const outcome = await verify(...argv);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain(`Error: ${message}`);
    expect(dynamo.calls()).toHaveLength(0);
  });

  it('an environment without an API-limits secret says which setting verify needs', async () => {
    dynamo.on(ScanCommand).resolves({ Items: [{ objectName: 'Account' }] });
    const outcome = await runCli(
      ['verify', 'Account', '--env', 'dev', '--table', 't'],
      testClients(DynamoDBDocumentClient.from(new DynamoDBClient({}))),
      { environments },
    );
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toContain('Environment dev has no source.apiLimitsSecretName');
  });
});

describe('verify: what it selects', () => {
  it('skips custom connectors, saying counting them is out of scope', async () => {
    dynamo.on(ScanCommand).resolves({
      Items: [{ objectName: 'tickets', connectorType: 'CustomConnector', connectorLabel: 'zendesk' }],
    });
    const outcome = await verify('--all', '--env', 'dev', '--table', 't');
    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toMatch(/tickets\s+salesforce\.tickets\s+skipped/);
    expect(outcome.stdout).toContain(
      "CustomConnector (zendesk) source: verify counts through Salesforce's REST API only",
    );
  });

  it('an object not in the control table is an operation error listing the objects', async () => {
    dynamo.on(ScanCommand).resolves({ Items: [{ objectName: 'Account' }] });
    const outcome = await verify('Contact', '--env', 'dev', '--table', 't');
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toContain('Error: Contact is not in control table t (objects: Account)');
  });
});

describe('verify: the window', () => {
  it('defaults to the 30 days ending today (UTC)', () => {
    expect(parseVerifyWindow({}, new Date('2026-03-10T23:30:00Z'))).toEqual({ days: 30, asOf: '2026-03-10' });
    expect(windowDays('2026-03-10', 30)[0]).toBe('2026-02-09');
    expect(windowDays('2026-03-01', 2)).toEqual(['2026-02-28', '2026-03-01']);
  });
});
