import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { environments } from '../../config/environments';
import { scanControlTable } from '../../lambdas/common/control-table';
import { buildNewControlRow } from '../../ops/objects/control-rows';
import { UsageError } from '../../ops/objects/errors';
import { createControlTable, Dynalite } from '../support/dynalite';
import { runCli, testClients } from './support/cli';

const TABLE = 'control';
const dynalite = new Dynalite();
let client: DynamoDBClient;
let doc: DynamoDBDocumentClient;

beforeAll(async () => {
  await dynalite.start();
  client = dynalite.client();
  doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  await createControlTable(client, TABLE);
});

afterAll(async () => {
  client.destroy();
  await dynalite.stop();
});

beforeEach(async () => {
  for (const item of await scanControlTable(doc, TABLE)) {
    await doc.send(new DeleteCommand({ TableName: TABLE, Key: { objectName: item.objectName } }));
  }
});

/** `list` measures lag against this instant. */
const NOW = new Date('2026-03-10T12:00:00.000Z');
const objects = (...args: string[]) =>
  runCli(['--table', TABLE, ...args], testClients(doc), { now: () => NOW });

async function rowOf(objectName: string): Promise<Record<string, unknown> | undefined> {
  const result = await doc.send(
    new GetCommand({ TableName: TABLE, Key: { objectName }, ConsistentRead: true }),
  );
  return result.Item;
}

async function put(item: Record<string, unknown>): Promise<void> {
  await doc.send(new PutCommand({ TableName: TABLE, Item: item }));
}

describe('list', () => {
  it('says how to add the first object when the table is empty', async () => {
    const result = await objects('list');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Control table ${TABLE} has no objects yet`);
  });

  it('renders valid rows with their defaults and last run, and invalid rows with their validation error', async () => {
    await put({
      objectName: 'Account',
      deleteMode: 'soft',
      watermark: '2026-03-10T05:00:00.000Z',
      lastRun: { runId: 'run-1', status: 'SUCCEEDED', recordsExtracted: 1250 },
    });
    await put({ objectName: 'Contact', enabled: false, resetRequested: true });
    await put({
      objectName: 'Lead',
      lastRun: {
        runId: 'run-1',
        status: 'FAILED',
        error: `FlowFailed: ${'the connector said no '.repeat(10)}`,
      },
    });
    await put({ objectName: 'Broken', deleteMode: 'maybe', lookbackMinutes: -5 });

    const result = await objects('list');

    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe(`Control table ${TABLE}: 4 objects, 1 invalid`);
    const header = lines.find((line) => line.startsWith('object'));
    expect(header?.split(/\s{2,}/)).toEqual([
      'object',
      'mode',
      'delete',
      'enabled',
      'every',
      'complete through',
      'lag',
      'last run',
      'records',
      'error',
    ]);
    const rowFor = (name: string) => lines.find((line) => line.startsWith(`${name} `)) ?? '';
    // A row of an older version: its watermark is what it is complete through, 7 hours before NOW.
    expect(rowFor('Account').split(/\s{2,}/)).toEqual([
      'Account',
      'incremental',
      'soft',
      'yes',
      '1d',
      '2026-03-10T05:00:00.000Z',
      '7h00m',
      'SUCCEEDED',
      '1250',
    ]);
    expect(rowFor('Contact').split(/\s{2,}/)).toEqual(['Contact', 'incremental (reset)', 'hard', 'no', '1d']);
    expect(rowFor('Lead')).toMatch(/^Lead\s+incremental\s+hard\s+yes\s+1d\s+never loaded\s+FAILED/);
    // A long run error is cut to the column width, on one line.
    expect(rowFor('Lead')).toMatch(/FAILED\s+FlowFailed: the connector said no .*…$/);
    expect(rowFor('Lead').length).toBeLessThan(200);
    expect(rowFor('Broken')).toContain('INVALID');
    // The full validation error, every bad attribute, is printed below the table.
    expect(result.stdout).toContain('Invalid rows');
    expect(result.stdout).toMatch(/Invalid control row "Broken": deleteMode .*; lookbackMinutes .*>=0/);
  });

  it("shows each object's cadence, completeThrough and lag, OVERDUE past twice the cadence plus the flow timeout", async () => {
    // 12 h flow timeout (no --env): an hourly object is overdue after 14 h, a daily one after 60 h.
    await put({ objectName: 'Account', syncEveryMinutes: 60, completeThrough: '2026-03-09T21:00:00.000Z' });
    await put({ objectName: 'Contact', completeThrough: '2026-03-09T21:00:00.000Z' });
    await put({ objectName: 'Lead', syncEveryMinutes: 15, completeThrough: '2026-03-10T11:45:00.000Z' });

    const result = await objects('list');

    const rowFor = (name: string) =>
      (result.stdout.split('\n').find((line) => line.startsWith(`${name} `)) ?? '').split(/\s{2,}/);
    expect(rowFor('Account').slice(4, 7)).toEqual(['1h', '2026-03-09T21:00:00.000Z', '15h00m OVERDUE']);
    expect(rowFor('Contact').slice(4, 7)).toEqual(['1d', '2026-03-09T21:00:00.000Z', '15h00m']);
    expect(rowFor('Lead').slice(4, 7)).toEqual(['15m', '2026-03-10T11:45:00.000Z', '15m']);
  });

  it("counts cadences in the environment's whole ticks: on daily ticks an hourly object a day behind is on time", async () => {
    // Daily ticks (--env): the hourly Account runs once a day, so it is overdue after 2 days + 12 h.
    const daily = { ...environments.dev, scheduleTickMinutes: 1440 };
    await put({ objectName: 'Account', syncEveryMinutes: 60, completeThrough: '2026-03-09T05:00:00.000Z' });
    await put({ objectName: 'Contact', syncEveryMinutes: 60, completeThrough: '2026-03-07T23:00:00.000Z' });

    const result = await runCli(['--env', 'daily', '--table', TABLE, 'list'], testClients(doc), {
      now: () => NOW,
      environments: { daily },
    });

    const rowFor = (name: string) =>
      (result.stdout.split('\n').find((line) => line.startsWith(`${name} `)) ?? '').split(/\s{2,}/);
    expect(rowFor('Account').slice(4, 7)).toEqual(['1h', '2026-03-09T05:00:00.000Z', '1d7h']);
    expect(rowFor('Contact').slice(4, 7)).toEqual(['1h', '2026-03-07T23:00:00.000Z', '2d13h OVERDUE']);
  });

  it('flags rows that share a target table, as the pipeline rejects both', async () => {
    await put({ objectName: 'Account' });
    await put({ objectName: 'Account2', targetTable: 'account' });
    const result = await objects('list');
    expect(result.stdout).toContain('2 objects, 2 invalid');
    expect(result.stdout).toContain(
      'Invalid control row "Account2": targetTable is shared by Account and Account2; give each its own targetTable',
    );
  });
});

describe('add', () => {
  it('writes only the attributes given, so every default stays the pipeline default', async () => {
    const result = await objects('add', 'Opportunity');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Added Opportunity');
    expect(result.stdout).toContain('run --objects Opportunity');
    expect(await rowOf('Opportunity')).toEqual({ objectName: 'Opportunity' });
  });

  it('maps every flag to its control-row attribute', async () => {
    const result = await objects(
      'add',
      'Case',
      '--fields',
      'Id, Subject,Status',
      '--cursor',
      'LastModifiedDate',
      '--pk',
      'CaseNumber',
      '--mode',
      'full',
      '--delete-mode',
      'ignore',
      '--lookback',
      '0',
      '--target-table',
      'support_case',
      '--profile-name',
      'salesforce-service',
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('mode full, delete mode ignore, target table support_case');
    expect(await rowOf('Case')).toEqual({
      objectName: 'Case',
      fields: ['Id', 'Subject', 'Status'],
      cursorField: 'LastModifiedDate',
      primaryKey: 'CaseNumber',
      syncMode: 'full',
      deleteMode: 'ignore',
      lookbackMinutes: 0,
      targetTable: 'support_case',
      connectorProfileName: 'salesforce-service',
    });
  });

  it('--every sets how often scheduled ticks run the object (syncEveryMinutes)', async () => {
    const result = await objects('add', 'Opportunity', '--every', '60');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('every 1h');
    expect(await rowOf('Opportunity')).toEqual({ objectName: 'Opportunity', syncEveryMinutes: 60 });
  });

  it('--history, --formulas-every and --refresh-fields set history mode and the column refresh', async () => {
    const result = await objects(
      'add',
      'ContractLineItem',
      '--history',
      '--formulas-every',
      '360',
      '--refresh-fields',
      'Status, Days_Open__c',
    );
    expect(result.code).toBe(0);
    expect(await rowOf('ContractLineItem')).toEqual({
      objectName: 'ContractLineItem',
      history: true,
      formulaRefreshEveryMinutes: 360,
      refreshFields: ['Status', 'Days_Open__c'],
    });
  });

  it('refuses a duplicate and leaves the existing row alone', async () => {
    await put({ objectName: 'Account', deleteMode: 'soft', watermark: '2026-03-10T05:00:00.000Z' });
    const result = await objects('add', 'Account', '--delete-mode', 'hard');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Account already exists; use enable/reset/remove');
    expect(await rowOf('Account')).toEqual({
      objectName: 'Account',
      deleteMode: 'soft',
      watermark: '2026-03-10T05:00:00.000Z',
    });
  });

  it('refuses an object that would load into the table of another one', async () => {
    await put({ objectName: 'Account' });
    const result = await objects('add', 'ACCOUNT');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('"account", which Account already loads into');
    expect(await rowOf('ACCOUNT')).toBeUndefined();
  });

  it.each([
    [['add', 'Lead', '--mode', 'sometimes'], '--mode "sometimes"'],
    [['add', 'Lead', '--delete-mode', 'x'], '--delete-mode "x"'],
    [['add', 'Account;DROP TABLE x'], '<Object> "Account;DROP TABLE x"'],
    [['add', 'Lead', '--lookback', '-1'], '--lookback "-1": Too small'],
    [['add', 'Lead', '--lookback', 'soon'], '--lookback "soon": must be a number of minutes'],
    [['add', 'Lead', '--every', '5'], '--every "5": must be at least 15 (minutes)'],
    [['add', 'Lead', '--every', '90.5'], '--every "90.5"'],
    [['add', 'Lead', '--every', 'hourly'], '--every "hourly": must be a number of minutes'],
    [['add', 'Lead', '--fields', 'Id,Na me'], '--fields "Id,Na me"'],
    [['add', 'Lead', '--target-table', 'Leads'], '--target-table "Leads"'],
  ])('refuses %j naming the bad flag, and writes nothing', async (argv, expected) => {
    const result = await objects(...argv);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(expected);
    expect(result.stderr).toContain('Usage: npm run objects -- add <Object>');
    expect(await scanControlTable(doc, TABLE)).toEqual([]);
  });

  it('names every bad flag at once', () => {
    expect(() => buildNewControlRow('Lead', { mode: 'sometimes', 'delete-mode': 'x' })).toThrow(
      new UsageError(
        'Cannot add "Lead": --mode "sometimes": Invalid option: expected one of "incremental"|"full"; ' +
          '--delete-mode "x": Invalid option: expected one of "hard"|"soft"|"ignore"',
      ),
    );
  });
});

describe('enable, disable, reset', () => {
  beforeEach(async () => {
    await put({ objectName: 'Account', watermark: '2026-03-10T05:00:00.000Z' });
  });

  it('disable and enable set only `enabled`', async () => {
    const disabled = await objects('disable', 'Account');
    expect(disabled.code).toBe(0);
    expect(disabled.stdout).toContain('Account disabled');
    expect(await rowOf('Account')).toEqual({
      objectName: 'Account',
      watermark: '2026-03-10T05:00:00.000Z',
      enabled: false,
    });

    const again = await objects('disable', 'Account');
    expect(again.stdout).toContain('Account was already disabled');

    const enabled = await objects('enable', 'Account');
    expect(enabled.code).toBe(0);
    expect(enabled.stdout).toContain('Account enabled');
    expect((await rowOf('Account'))?.enabled).toBe(true);
  });

  it('reset requests a one-shot full reload', async () => {
    const result = await objects('reset', 'Account');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('run --objects Account');
    expect(await rowOf('Account')).toEqual({
      objectName: 'Account',
      watermark: '2026-03-10T05:00:00.000Z',
      resetRequested: true,
    });
  });

  it.each(['enable', 'disable', 'reset'])(
    '%s refuses an unknown object and creates no row',
    async (command) => {
      const result = await objects(command, 'Acount');
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`No object "Acount" in control table ${TABLE}`);
      expect(await rowOf('Acount')).toBeUndefined();
    },
  );

  it('refuses a hostile name before it reaches the table', async () => {
    const result = await objects('reset', 'Account OR 1=1');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('is not a valid object API name');
  });
});

describe('remove', () => {
  beforeEach(async () => {
    await put({
      objectName: 'Account',
      targetTable: 'sf_account',
      lastRun: { runId: 'r', status: 'SUCCEEDED' },
    });
  });

  it('without --yes says what it would delete and keep, and deletes nothing', async () => {
    const result = await objects('remove', 'Account');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Would delete the control row of Account');
    expect(result.stderr).toContain('target table sf_account');
    expect(result.stderr).toContain(
      'warehouse tables salesforce_incremental.sf_account and salesforce.sf_account are kept',
    );
    expect(result.stderr).toContain('--yes');
    expect(await rowOf('Account')).toBeDefined();
  });

  it('with --yes deletes the row and says the warehouse tables are kept', async () => {
    const result = await objects('remove', 'Account', '--yes');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Deleted the control row of Account');
    expect(result.stdout).toContain('are kept');
    expect(await rowOf('Account')).toBeUndefined();
  });

  it.each([[['remove', 'Contact']], [['remove', 'Contact', '--yes']]])(
    '%j refuses an unknown object',
    async (argv) => {
      const result = await objects(...argv);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`No object "Contact" in control table ${TABLE}`);
      expect(await rowOf('Account')).toBeDefined();
    },
  );
});

describe('several sources (issue 14)', () => {
  const multi = {
    multi: {
      ...environments.dev,
      sources: {
        tidb: {
          connectorType: 'CustomConnector',
          connectorLabel: 'TiDBCloud',
          connectorProfileName: 'tidb-cloud',
        },
      },
    },
  };
  const inMulti = (...args: string[]) =>
    runCli(['--env', 'multi', '--table', TABLE, ...args], testClients(doc), { environments: multi });

  it("add --source --entity writes them and reports the source's key and cursor", async () => {
    const result = await inMulti('add', 'tidb_orders', '--source', 'tidb', '--entity', 'orders');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      'target table tidb_orders (source tidb, entity orders: key id, cursor updated_at)',
    );
    expect(await rowOf('tidb_orders')).toEqual({
      objectName: 'tidb_orders',
      sourceName: 'tidb',
      entityName: 'orders',
    });
  });

  it('add refuses a source the environment does not configure, listing the known ones', async () => {
    const result = await inMulti('add', 'Invoices', '--source', 'billing');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'sourceName "billing" is not a configured source (known: salesforce, tidb)',
    );
    expect(await rowOf('Invoices')).toBeUndefined();
  });

  it('add refuses a source name that is not a SQL identifier, naming the flag', async () => {
    const result = await objects('add', 'Invoices', '--source', 'Bill-ing');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--source "Bill-ing"');
  });

  it('list groups the objects by source, the default source first, with each source’s schemas', async () => {
    await put({ objectName: 'Account' });
    await put({ objectName: 'tidb_orders', sourceName: 'tidb', entityName: 'orders' });
    await put({ objectName: 'Invoices', sourceName: 'billing' });

    const result = await inMulti('list');

    expect(result.stdout).toContain('3 objects, 1 invalid');
    const headings = result.stdout.split('\n').filter((line) => line.startsWith('source '));
    expect(headings).toEqual([
      'source salesforce (Salesforce; salesforce_incremental -> salesforce): 1 object',
      'source billing (not configured): 1 object',
      'source tidb (CustomConnector TiDBCloud; tidb_incremental -> tidb): 1 object',
    ]);
    expect(result.stdout).toMatch(/tidb_orders \(orders\)\s+incremental/);
    expect(result.stdout).toContain(
      'Invalid control row "Invoices": sourceName "billing" is not a configured source',
    );
  });

  it('remove names the tables in the schemas of the row’s source', async () => {
    await put({ objectName: 'tidb_orders', sourceName: 'tidb' });
    const result = await inMulti('remove', 'tidb_orders');
    expect(result.stderr).toContain('tidb_incremental.tidb_orders and tidb.tidb_orders are kept');
  });
});
