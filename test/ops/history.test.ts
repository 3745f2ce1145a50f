import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { environments } from '../../config/environments';
import { type RecordHistory, renderRecordHistory, shownColumns } from '../../ops/objects/history';
import { runCli, testClients } from './support/cli';

const dynamo = mockClient(DynamoDBDocumentClient);
const history = (...argv: string[]) =>
  runCli(['history', ...argv], testClients(DynamoDBDocumentClient.from(new DynamoDBClient({}))), {
    environments,
  });

beforeEach(() => {
  dynamo.reset();
});

describe('history: arguments checked before any call', () => {
  it.each([
    [['Account', '--env', 'dev', '--table', 't'], 'history needs <Object> <id>'],
    [
      ['Account', '001A', '--table', 't'],
      'history needs --env NAME: the warehouse comes from the environment config',
    ],
    [
      ['Account;', '001A', '--env', 'dev', '--table', 't'],
      '<Object> "Account;" is not a valid object API name',
    ],
    [
      ['Account', ' ', '--env', 'dev', '--table', 't'],
      '<id> " ": must be a record key of 1 to 1024 characters',
    ],
    [
      ['Account', '001A', '--env', 'dev', '--table', 't', '--columns', 'name;drop'],
      '--columns "name;drop": must list column names',
    ],
    [
      ['Account', '001A', '--env', 'dev', '--table', 't', '--columns', 'name', '--all-columns'],
      'history takes --columns or --all-columns, not both',
    ],
    [['Account', '001A', '--env', 'nowhere', '--table', 't'], '--env: '],
  ])('%j exits 2', async (argv, message) => {
    const outcome = await history(...argv);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain(`Error: ${message}`);
    expect(dynamo.calls()).toHaveLength(0);
  });

  it('an object not in the control table is an operation error listing the objects', async () => {
    dynamo.on(ScanCommand).resolves({ Items: [{ objectName: 'Account' }] });
    const outcome = await history('Contact', '003A', '--env', 'dev', '--table', 't');
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toContain('Error: Contact is not in control table t (objects: Account)');
  });

  it('is listed in the usage with its flags', async () => {
    const usage = await runCli(['history', '--help']);
    expect(usage.code).toBe(0);
    expect(usage.stdout).toContain(
      'Usage: npm run objects -- history <Object> <id> [--columns a,b] [--all-columns]',
    );
  });
});

/** Three versions of one account: renamed, then deleted and restored with a new phone. */
function accountHistory(overrides: Partial<RecordHistory> = {}): RecordHistory {
  const version = (from: string, to: string, active: boolean, name: string, phone: string | null) => ({
    _valid_from: from,
    _valid_to: to,
    _is_active: active,
    id: '001A',
    systemmodstamp: from,
    name,
    phone,
    industry: 'Energy',
  });
  return {
    objectName: 'Account',
    recordId: '001A',
    table: 'salesforce_history.account',
    keyColumn: 'id',
    cursorColumn: 'systemmodstamp',
    historyOn: true,
    columns: ['id', 'systemmodstamp', 'name', 'phone', 'industry'],
    versions: [
      version('2026-01-01 06:00:01', '2026-01-02 06:00:01', false, 'Edge', null),
      version('2026-01-02 06:00:01', '2026-01-03 06:00:01', false, 'Edge Communications', null),
      version('2026-01-05 06:00:01', '9999-12-31 00:00:00', true, 'Edge Communications', '555-0100'),
    ],
    ...overrides,
  };
}

describe('history: what it prints', () => {
  test('one line per version, oldest first; the columns that change; a delete where a version ends early', () => {
    // Act
    const text = renderRecordHistory(accountHistory(), { objectName: 'Account', recordId: '001A' });

    // Assess
    const lines = text.split('\n');
    expect(lines[0]).toBe('Account 001A in salesforce_history.account: 3 versions, live');
    expect(lines[2].split(/\s{2,}/)).toEqual(['valid from', 'valid to', 'active', 'name', 'phone']);
    expect(lines[4]).toMatch(/^2026-01-01 06:00:01 +2026-01-02 06:00:01 +no +Edge +NULL$/);
    expect(lines[5]).toMatch(
      /^2026-01-02 06:00:01 +2026-01-03 06:00:01 \(deleted\) +no +Edge Communications +NULL$/,
    );
    expect(lines[6]).toMatch(
      /^2026-01-05 06:00:01 +9999-12-31 00:00:00 +yes +Edge Communications +555-0100$/,
    );
  });

  test('--all-columns shows every column but the key and the cursor; --columns shows those asked for', () => {
    expect(
      shownColumns(accountHistory(), { objectName: 'Account', recordId: '001A', allColumns: true }),
    ).toEqual(['name', 'phone', 'industry']);
    expect(
      shownColumns(accountHistory(), {
        objectName: 'Account',
        recordId: '001A',
        columns: ['industry', 'id'],
      }),
    ).toEqual(['industry', 'id']);
  });

  test('a single version shows every column; a deleted record says so; history switched off is named', () => {
    // Prepare
    const [first] = accountHistory().versions;
    const single = accountHistory({ versions: [first], historyOn: false });

    // Act
    const text = renderRecordHistory(single, { objectName: 'Account', recordId: '001A' });

    // Assess
    expect(text.split('\n')[0]).toBe(
      'Account 001A in salesforce_history.account: 1 version, deleted (history is off for this object: the table is kept, no longer updated)',
    );
    expect(text.split('\n')[2].split(/\s{2,}/)).toEqual([
      'valid from',
      'valid to',
      'active',
      'name',
      'phone',
      'industry',
    ]);
    expect(text).toContain('2026-01-02 06:00:01 (deleted)');
  });

  test('a key history never captured says what history holds', () => {
    // Act
    const text = renderRecordHistory(accountHistory({ versions: [] }), {
      objectName: 'Account',
      recordId: '001A',
    });

    // Assess
    expect(text).toBe(
      [
        'Account 001A in salesforce_history.account: 0 versions',
        'No version of id = "001A": history holds records captured since it was switched on.',
      ].join('\n'),
    );
  });
});
