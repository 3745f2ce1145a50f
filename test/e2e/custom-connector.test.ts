import { accounts, expectNoFlowsLeft, expectWarehouseEqualsSource, runLocalScenario } from './e2e-support';

/** Issue 14: a TiDB Cloud source (an AppFlow custom connector) next to Salesforce. */
const TIDB = {
  sources: {
    tidb: {
      connectorType: 'CustomConnector',
      connectorLabel: 'TiDBCloud',
      connectorProfileName: 'tidb-cloud',
      apiVersion: 'v1',
    },
  },
  connectorProfiles: [{ name: 'tidb-cloud', connectorType: 'CustomConnector', connectorLabel: 'TiDBCloud' }],
  sourceObjects: {
    orders: {
      profile: 'tidb-cloud',
      fields: [
        { name: 'id', type: 'bigint' as const },
        { name: 'amount', type: 'decimal' as const, precision: 12, scale: 2 },
        { name: 'status', type: 'string' as const, length: 20 },
        { name: 'paid', type: 'boolean' as const },
        { name: 'updated_at', type: 'timestamp' as const },
      ],
    },
  },
};

const orders = (ids: number[], status = 'new') =>
  ids.map((id) => ({ id: String(id), amount: `${id}2.50`, status, paid: false }));

describe('local run: a custom-connector source side by side with Salesforce', () => {
  test('three days of inserts, updates and a purge reconciled on the fullSyncEveryDays run: both schemas equal their sources', async () => {
    const run = await runLocalScenario({
      ...TIDB,
      objects: [
        { objectName: 'Account', fullSyncEveryDays: 2 },
        {
          objectName: 'tidb_orders',
          sourceName: 'tidb',
          entityName: 'orders',
          fullSyncEveryDays: 2,
          lookbackMinutes: 0,
        },
        { objectName: 'Invoices', sourceName: 'billing' },
      ],
      days: [
        {
          date: '2026-01-05',
          changes: { Account: { upsert: accounts(4) }, orders: { upsert: orders([1, 2, 3, 4]) } },
        },
        {
          date: '2026-01-06',
          changes: {
            Account: { upsert: [{ Id: '001A00001', Name: 'Renamed' }, ...accounts(1, 'B')] },
            // One change sets the cursor itself; the others get the simulated clock's time.
            orders: {
              upsert: [
                { id: '2', amount: '99.99', status: 'paid', paid: true },
                {
                  id: '5',
                  amount: '5.00',
                  status: 'new',
                  paid: false,
                  updated_at: '2026-01-06T00:00:30.000Z',
                },
              ],
            },
          },
        },
        {
          date: '2026-01-07',
          changes: {
            Account: { purge: ['001A00002'] },
            orders: { purge: ['3'], upsert: [{ id: '1', status: 'shipped' }] },
          },
        },
      ],
    });

    // The bad row is reported on every day, naming the unknown source and the known ones; the others load.
    for (const index of [0, 1, 2]) {
      expect(run.day(index).executionStatus).toBe('FAILED');
      expect(run.day(index).objects.Invoices).toMatchObject({
        status: 'FAILED',
        error:
          'Invalid control row "Invoices": sourceName "billing" is not a configured source (known: salesforce, tidb)',
      });
      expect(run.day(index).objects.Account.status).toBe('SUCCEEDED');
      expect(run.day(index).objects.tidb_orders.status).toBe('SUCCEEDED');
    }
    expect(run.day(0).objects.tidb_orders).toMatchObject({
      syncMode: 'full',
      syncReason: 'first-run',
      recordsExtracted: 4,
    });
    // Day 2 reads only the window (no lookback): the two changed orders.
    expect(run.day(1).objects.tidb_orders).toMatchObject({ syncMode: 'incremental', recordsExtracted: 2 });
    // Day 3 is the reconciling full sync: the purged order and account leave the warehouse.
    expect(run.day(2).objects.tidb_orders).toMatchObject({
      syncMode: 'full',
      syncReason: 'reconcile',
      rowsPurged: 1,
    });
    expect(run.day(2).objects.Account).toMatchObject({
      syncMode: 'full',
      syncReason: 'reconcile',
      rowsPurged: 1,
    });

    // The custom source's table: its own key, cursor and types, no IsDeleted.
    const tidbOrders = run.finalTables.tidb_orders;
    expect(tidbOrders.map((row) => String(row.id))).toEqual(['1', '2', '4', '5']);
    expect(Object.keys(tidbOrders[0]).sort()).toEqual(['amount', 'id', 'paid', 'status', 'updated_at']);
    expect(tidbOrders.find((row) => String(row.id) === '1')).toMatchObject({
      status: 'shipped',
      amount: '12.50',
    });
    expect(tidbOrders.find((row) => String(row.id) === '5')).toMatchObject({
      updated_at: '2026-01-06T00:00:30.000Z',
    });
    expect(run.finalTables.account.map((row) => row.id)).not.toContain('001A00002');
    expect(run.comparisons.map((comparison) => [comparison.objectName, comparison.equal])).toEqual([
      ['Account', true],
      ['tidb_orders', true],
    ]);
    expectWarehouseEqualsSource(run);
    expectNoFlowsLeft(run);
  });

  test('a custom source offers no soft delete: a scenario delete on it is refused, naming the profile', async () => {
    await expect(
      runLocalScenario({
        ...TIDB,
        objects: [{ objectName: 'orders', sourceName: 'tidb' }],
        days: [{ date: '2026-01-05', changes: { orders: { upsert: orders([1]), delete: ['1'] } } }],
      }),
    ).rejects.toThrow(
      'orders is held by connector profile tidb-cloud (CustomConnector), which has no soft delete',
    );
  });

  test('a cursor the connector cannot filter makes the object full-sync-only, said in the report; IAM allows only configured profiles', async () => {
    const run = await runLocalScenario({
      ...TIDB,
      connectorProfiles: [
        ...TIDB.connectorProfiles,
        // Exists in AppFlow, but no configured source names it: the pipeline's roles may not use it.
        { name: 'tidb-archive', connectorType: 'CustomConnector', connectorLabel: 'TiDBCloud' },
      ],
      sourceObjects: {
        ...TIDB.sourceObjects,
        // A text cursor: the connector declares no ordering operator on it, so no window filter exists.
        events: {
          profile: 'tidb-cloud',
          cursorField: 'version',
          fields: [
            { name: 'id', type: 'bigint' as const },
            { name: 'version', type: 'string' as const, length: 20 },
          ],
        },
      },
      objects: [
        { objectName: 'events', sourceName: 'tidb', cursorField: 'version' },
        {
          objectName: 'archived_orders',
          sourceName: 'tidb',
          entityName: 'orders',
          connectorProfileName: 'tidb-archive',
        },
      ],
      days: [
        {
          date: '2026-01-05',
          changes: {
            events: {
              upsert: [
                { id: '1', version: 'a' },
                { id: '2', version: 'a' },
              ],
            },
            orders: { upsert: orders([1]) },
          },
        },
        {
          date: '2026-01-06',
          changes: {
            events: {
              upsert: [
                { id: '2', version: 'b' },
                { id: '3', version: 'a' },
              ],
            },
          },
        },
      ],
    });

    expect(run.day(1).objects.events).toMatchObject({
      status: 'SUCCEEDED',
      syncMode: 'full',
      syncReason: 'cursor-not-filterable',
      recordsExtracted: 3,
    });
    expect(run.finalTables.events.map((row) => [String(row.id), row.version])).toEqual([
      ['1', 'a'],
      ['2', 'b'],
      ['3', 'a'],
    ]);
    expect(run.day(1).objects.archived_orders).toMatchObject({ status: 'FAILED' });
    expect(run.day(1).objects.archived_orders.error).toMatch(
      /is not authorized to perform: appflow:DescribeConnectorEntity on resource: arn:aws:appflow:[^:]+:\d+:connectorprofile\/tidb-archive/,
    );
    expectNoFlowsLeft(run);
  });
});
