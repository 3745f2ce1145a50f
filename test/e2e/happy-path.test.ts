import { compareWarehouseToSource } from '../../local/runner/compare';
import { demoScenario } from '../../local/runner/demo-scenario';
import { runScenario } from '../../local/runner/run-scenario';
import { accounts, expectNoFlowsLeft, expectWarehouseEqualsSource, runLocalScenario } from './e2e-support';

describe('local run: the happy paths', () => {
  test('the bundled demo runs four days and the warehouse equals the source', async () => {
    const scenario = demoScenario();
    const result = await runScenario(scenario);

    expect(result.report.days.map((day) => day.executionStatus)).toEqual([
      'SUCCEEDED',
      'SUCCEEDED',
      'SUCCEEDED',
      'SUCCEEDED',
    ]);
    expect(result.report.days.map((day) => day.flowsRemaining)).toEqual([0, 0, 0, 0]);
    const [day1, day2, day3] = result.report.days;
    // Day 3 has AppFlow write some Opportunity records twice: the dedupe removes the copies.
    expect(day3.objects.Opportunity.duplicatesRemoved).toBeGreaterThan(0);
    // Two ExpectedRevenue formulas recalculated without a cursor move: the daily refresh brings them.
    expect(day3.objects.Opportunity).toMatchObject({
      syncMode: 'incremental',
      syncReason: 'formula-refresh',
      columnsRefreshed: ['expectedrevenue'],
      rowsRefreshed: 2,
    });
    // The lookback overlap re-extracts current records: counted as unchanged, not rewritten.
    expect(
      result.report.days.reduce(
        (sum, day) =>
          sum + Object.values(day.objects).reduce((inner, object) => inner + (object.rowsUnchanged ?? 0), 0),
        0,
      ),
    ).toBeGreaterThan(0);
    expect(day1.objects.Account).toMatchObject({
      status: 'SUCCEEDED',
      recordsExtracted: 13,
      rowsInserted: 13,
      syncMode: 'full',
    });
    // A new field: a column refresh fills it for every record, no full reload (issue 21).
    expect(day2.objects.Account).toMatchObject({
      syncMode: 'incremental',
      syncReason: 'new-columns',
      columnsRefreshed: ['customerpriority__c'],
    });
    expect(day2.objects.Contact).toMatchObject({ rowsDeleted: 2 });
    expect(result.finalTables.account.filter((row) => row.customerpriority__c !== null)).toHaveLength(4);
    // Opportunity keeps history (issue 22): the first deal changed on days 2 and 3, the tenth was
    // deleted on day 3; the rerun and the retried page (DuplicateWrite) add no version.
    const versions = (id: string) =>
      (result.historyTables.opportunity ?? []).filter((row) => row.id === id).map((row) => row._is_active);
    expect(versions('006Dm0000000001AAA')).toEqual([false, false, true]);
    expect(versions('006Dm0000000010AAA')).toEqual([false]);
    expect(result.historyTables).not.toHaveProperty('account');
    const finalById = new Map(result.finalTables.opportunity.map((row) => [row.id, row]));
    const current = (result.historyTables.opportunity ?? []).filter((row) => row._is_active === true);
    expect(current).toHaveLength(finalById.size);
    // A column refresh rewrites final, not history (docs/warehouse.md, what history cannot hold): the
    // two deals whose ExpectedRevenue formula was recalculated on day 3 differ there, and only there.
    const refreshed = new Set(['006Dm0000000011AAA', '006Dm0000000012AAA']);
    expect(current.filter((row) => refreshed.has(String(row.id)))).toHaveLength(2);
    for (const { _valid_from, _valid_to, _is_active, ...row } of current) {
      const { expectedrevenue, ...rest } = finalById.get(row.id) as Record<string, unknown>;
      expect(row).toEqual({
        ...rest,
        expectedrevenue: refreshed.has(String(row.id)) ? row.expectedrevenue : expectedrevenue,
      });
      if (refreshed.has(String(row.id))) expect(row.expectedrevenue).not.toEqual(expectedrevenue);
    }
    expect(day3.objects.Opportunity.historyVersionsAdded).toBeGreaterThan(0);
    const comparisons = compareWarehouseToSource(scenario, result.finalTables, result.sourceTruth);
    expect(comparisons.map((c) => [c.objectName, c.equal])).toEqual([
      ['Account', true],
      ['Contact', true],
      ['Opportunity', true],
    ]);
  });

  test('multi-day inserts, updates and deletes end with the source truth, one row per key', async () => {
    const run = await runLocalScenario({
      objects: [{ objectName: 'Account' }],
      days: [
        { date: '2026-01-01', changes: { Account: { upsert: accounts(50) } } },
        {
          date: '2026-01-02',
          changes: {
            Account: {
              upsert: [{ Id: '001A00001', Name: 'Renamed' }, ...accounts(5, 'B')],
              delete: ['001A00002'],
            },
          },
        },
        {
          date: '2026-01-03',
          changes: { Account: { upsert: [{ Id: '001A00001', Name: 'Renamed twice' }] } },
        },
      ],
    });

    expect(run.day(0).objects.Account).toMatchObject({
      status: 'SUCCEEDED',
      recordsExtracted: 50,
      rowsInserted: 50,
    });
    expect(run.day(1).objects.Account).toMatchObject({ status: 'SUCCEEDED', rowsDeleted: 1 });
    expect(run.finalTables.account).toHaveLength(54);
    expect(run.finalTables.account.find((row) => row.id === '001A00001')?.name).toBe('Renamed twice');
    expectWarehouseEqualsSource(run);
    expectNoFlowsLeft(run);
  });

  test('a rerun of the same day duplicates nothing and changes nothing', async () => {
    const run = await runLocalScenario({
      objects: [{ objectName: 'Account' }],
      days: [
        { date: '2026-01-01', changes: { Account: { upsert: accounts(20) } } },
        { date: '2026-01-02', changes: { Account: { upsert: [{ Id: '001A00003', Name: 'Changed' }] } } },
        { date: '2026-01-02', changes: {} },
      ],
    });

    expect(run.report.days.map((day) => day.executionStatus)).toEqual([
      'SUCCEEDED',
      'SUCCEEDED',
      'SUCCEEDED',
    ]);
    expect(run.day(2).objects.Account).toMatchObject({ rowsInserted: 0, rowsDeleted: 0 });
    expect(run.finalTables.account).toHaveLength(20);
    expectWarehouseEqualsSource(run);
    expectNoFlowsLeft(run);
  });

  test('a new source field on day 2 becomes a column and is filled for every record, without a full reload', async () => {
    const run = await runLocalScenario({
      objects: [{ objectName: 'Account' }],
      days: [
        { date: '2026-01-01', changes: { Account: { upsert: accounts(10) } } },
        {
          date: '2026-01-02',
          changes: { Account: { upsert: [{ Id: '001A00000', Segment__c: 'Enterprise' }] } },
        },
      ],
    });

    expect(run.day(1).objects.Account).toMatchObject({
      status: 'SUCCEEDED',
      syncMode: 'incremental',
      syncReason: 'new-columns',
      columnsRefreshed: ['segment__c'],
    });
    expect(Object.keys(run.finalTables.account[0])).toContain('segment__c');
    expect(run.finalTables.account.find((row) => row.id === '001A00000')?.segment__c).toBe('Enterprise');
    expectWarehouseEqualsSource(run);
    expectNoFlowsLeft(run);
  });

  test('syncMode full through the execution input reloads every object', async () => {
    const run = await runLocalScenario({
      objects: [{ objectName: 'Account' }, { objectName: 'Contact' }],
      days: [
        {
          date: '2026-01-01',
          changes: { Account: { upsert: accounts(10) }, Contact: { upsert: [{ Id: '003A', Name: 'Ann' }] } },
        },
        { date: '2026-01-02', changes: {}, input: { syncMode: 'full' } },
      ],
    });

    expect(run.day(1).objects.Account).toMatchObject({
      status: 'SUCCEEDED',
      syncMode: 'full',
      syncReason: 'input',
      recordsExtracted: 10,
    });
    expect(run.day(1).objects.Contact).toMatchObject({
      syncMode: 'full',
      recordsExtracted: 1,
      rowsInserted: 0,
    });
    expectWarehouseEqualsSource(run);
    expectNoFlowsLeft(run);
  });
});
