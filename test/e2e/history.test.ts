import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LOCAL_CONFIG } from '../../config/local-environment';
import type { LocalRunContext } from '../../local/runner/run-scenario';
import type { CliClients } from '../../ops/objects-cli';
import { runCli } from '../ops/support/cli';
import {
  accounts,
  expectNoFlowsLeft,
  expectWarehouseEqualsSource,
  runLocalScenario,
  type ScenarioRun,
} from './e2e-support';

// History mode (issue 22), end to end: five runs of the real state machine, handlers and SQL
// against the stand-ins, an Account control row with history: true.
//   1. six accounts loaded;
//   2. two changed (A0, A1), one deleted (A2);
//   3. the same day rerun;
//   4. one changed twice between two runs (A0: one version), one restored (A2);
//   5. a full sync, after A5 was purged at the source (only a full sync finds a purge).
// History then holds exactly the versions the runs captured: 3, 2, 2, 1, 1, 1.

const OPEN_END = '9999-12-31T00:00:00.000Z';
const VALIDITY = ['_valid_from', '_valid_to', '_is_active'];
const [A0, A1, A2, A3, A4, A5] = accounts(6).map((account) => account.Id);

type Row = Record<string, unknown>;

/** The CLI's clients as an operator's shell builds them, pointed at the stand-ins by AWS_ENDPOINT_URL_*. */
function sdkClients(): CliClients {
  return {
    controlTable: (region) => DynamoDBDocumentClient.from(new DynamoDBClient({ region })),
    stepFunctions: () => {
      throw new Error('history needs no Step Functions');
    },
    cloudFormation: () => {
      throw new Error('--table is given: no stack lookup');
    },
    redshiftData: (region) => new RedshiftDataClient({ region }),
    secretsManager: () => {
      throw new Error('history needs no source credentials');
    },
  };
}

const cli: Record<string, Awaited<ReturnType<typeof runCli>>> = {};
let run: ScenarioRun;

beforeAll(async () => {
  run = await runLocalScenario(
    {
      objects: [{ objectName: 'Account', history: true }],
      days: [
        { date: '2026-01-01', changes: { Account: { upsert: accounts(6) } } },
        {
          date: '2026-01-02',
          changes: {
            Account: {
              upsert: [
                { Id: A0, Name: 'Account 0 renamed' },
                { Id: A1, Name: 'Account 1 renamed' },
              ],
              delete: [A2],
            },
          },
        },
        { date: '2026-01-02', changes: {} },
        {
          date: '2026-01-03',
          changes: {
            Account: {
              upsert: [
                { Id: A0, Name: 'Account 0 renamed again' },
                { Id: A0, Name: 'Account 0 renamed a third time' },
                { Id: A2, Name: 'Account 2 restored' },
              ],
            },
          },
        },
        { date: '2026-01-04', changes: { Account: { purge: [A5] } }, input: { syncMode: 'full' } },
      ],
    },
    {
      afterRun: async (context: LocalRunContext) => {
        // npm run objects -- history, against the stand-ins the run leaves up.
        const history = (...argv: string[]) =>
          runCli(['history', ...argv, '--env', 'local', '--table', context.controlTableName], sdkClients(), {
            environments: { local: LOCAL_CONFIG },
          });
        cli.renamed = await history('Account', A0);
        cli.restored = await history('Account', A2, '--columns', 'name,isdeleted');
        cli.purged = await history('Account', A5, '--all-columns');
        cli.unknown = await history('Account', '001X00000');
        cli.noHistory = await history('Contact', '003A');
      },
    },
  );
}, 600_000);

function historyOf(id: string): Row[] {
  return (run.historyTables.account ?? []).filter((row) => row.id === id);
}

function withoutValidity(row: Row): Row {
  return Object.fromEntries(Object.entries(row).filter(([key]) => !VALIDITY.includes(key)));
}

describe('history mode over five runs', () => {
  test('every run succeeds, leaves no flow, and the final table equals the source', () => {
    expect(run.report.days.map((day) => day.executionStatus)).toEqual(Array(5).fill('SUCCEEDED'));
    expectNoFlowsLeft(run);
    expectWarehouseEqualsSource(run);
  });

  test('the history table holds exactly the versions captured: 3, 2, 2, 1, 1, 1', () => {
    expect([A0, A1, A2, A3, A4, A5].map((id) => historyOf(id).length)).toEqual([3, 2, 2, 1, 1, 1]);
    expect(historyOf(A0).map((row) => row.name)).toEqual([
      'Account 0',
      'Account 0 renamed',
      // Two changes between two runs are one version: the one the run captured.
      'Account 0 renamed a third time',
    ]);
    expect(historyOf(A2).map((row) => row.name)).toEqual(['Account 2', 'Account 2 restored']);
  });

  test("each key's intervals are ordered, non-overlapping and contiguous, but for the gap of a delete", () => {
    for (const id of [A0, A1, A2, A3, A4, A5]) {
      const versions = historyOf(id);
      for (const [index, version] of versions.entries()) {
        expect(String(version._valid_from) < String(version._valid_to)).toBe(true);
        // The cursor is the version's start.
        expect(version._valid_from).toBe(version.systemmodstamp);
        const next = versions[index + 1];
        if (!next) continue;
        // A version ends where the next begins, unless a delete closed it first (A2's gap).
        if (id === A2) expect(String(version._valid_to) < String(next._valid_from)).toBe(true);
        else expect(version._valid_to).toBe(next._valid_from);
      }
    }
  });

  test('one current version per live key, equal to its final row; none for a purged key', () => {
    const finalRows = new Map(run.finalTables.account.map((row) => [row.id, row]));
    for (const id of [A0, A1, A2, A3, A4]) {
      const current = historyOf(id).filter((row) => row._is_active === true);
      expect(current).toHaveLength(1);
      expect(current[0]._valid_to).toBe(OPEN_END);
      expect(withoutValidity(current[0])).toEqual(finalRows.get(id));
    }
    for (const id of [A0, A1, A2, A3, A4, A5]) {
      const closed = historyOf(id).filter((row) => row._is_active !== true);
      expect(closed.every((row) => row._valid_to !== OPEN_END)).toBe(true);
    }
    expect(finalRows.has(A5)).toBe(false);
    // The purge found by the full sync closed its version at that run's time: the warehouse's clock
    // (in the local run the machine's, not the simulated one; docs/local-run.md).
    const [purged] = historyOf(A5);
    expect(purged).toMatchObject({ _is_active: false, _valid_from: purged.systemmodstamp });
    expect(String(purged._valid_to) > String(purged._valid_from)).toBe(true);
    expect(purged._valid_to).not.toBe(OPEN_END);
  });

  test('the report carries the history figures of each run: versions added and closed', () => {
    const figures = run.report.days.map((day) => {
      const account = day.objects.Account;
      return [account.historyVersionsAdded ?? 0, account.historyVersionsClosed ?? 0];
    });
    expect(figures).toEqual([
      [6, 0], // the first load: one version each
      [2, 3], // two newer versions close theirs; a delete closes one
      [0, 0], // the rerun re-extracts what history has
      [2, 1], // A0's newer version closes its current one; A2's restore opens a new one
      [0, 1], // the full sync re-extracts everything; the purge closes A5
    ]);
  });

  test('the dump rows have lower-case keys, the three validity columns first, ISO timestamps', () => {
    const [first] = historyOf(A0);
    expect(Object.keys(first).slice(0, 4)).toEqual([...VALIDITY, 'id']);
    expect(first._valid_from).toMatch(/^2026-01-01T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });
});

describe('npm run objects -- history, against the stand-ins', () => {
  test("prints a record's versions, oldest first, with the columns that changed", () => {
    expect(cli.renamed.stderr).toBe('');
    expect(cli.renamed.code).toBe(0);
    const lines = cli.renamed.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`Account ${A0} in salesforce_history.account: 3 versions, live`);
    expect(lines[2].split(/\s{2,}/)).toEqual(['valid from', 'valid to', 'active', 'name']);
    expect(lines.slice(4, 7).map((line) => line.split(/\s{2,}/).slice(2))).toEqual([
      ['no', 'Account 0'],
      ['no', 'Account 0 renamed'],
      ['yes', 'Account 0 renamed a third time'],
    ]);
    expect(lines[6]).toContain('9999-12-31 00:00:00');
  });

  test('a version a delete closed says so; --columns shows the columns asked for', () => {
    expect(cli.restored.code).toBe(0);
    expect(cli.restored.stdout).toMatch(/\(deleted\)\s+no\s+Account 2\s+false/);
    expect(cli.restored.stdout).toMatch(/9999-12-31 00:00:00\s+yes\s+Account 2 restored\s+false/);
  });

  test('a purged record: its one version, closed, and every column with --all-columns', () => {
    expect(cli.purged.code).toBe(0);
    expect(cli.purged.stdout).toContain(`Account ${A5} in salesforce_history.account: 1 version, deleted`);
    expect(cli.purged.stdout).toMatch(/valid from\s+valid to\s+active\s+isdeleted\s+name/);
  });

  test('a key history never captured, and an object not in the control table', () => {
    expect(cli.unknown.code).toBe(0);
    expect(cli.unknown.stdout).toContain('0 versions');
    expect(cli.noHistory.code).toBe(1);
    expect(cli.noHistory.stderr).toContain('Error: Contact is not in control table');
  });
});
