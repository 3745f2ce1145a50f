import { accounts, expectNoFlowsLeft, expectWarehouseEqualsSource, runLocalScenario } from './e2e-support';

describe('local run: hazards at the source', () => {
  test('records purged at the source disappear on the next reconciling run, and not before', async () => {
    const run = await runLocalScenario({
      objects: [{ objectName: 'Account', fullSyncEveryDays: 2 }],
      days: [
        { date: '2026-01-01', changes: { Account: { upsert: accounts(10) } } },
        { date: '2026-01-02', changes: { Account: { purge: ['001A00003', '001A00004'] } } },
        { date: '2026-01-03', changes: {} },
        { date: '2026-01-04', changes: { Account: { upsert: [{ Id: '001A00005', Name: 'Still here' }] } } },
      ],
    });

    // Day 2 is incremental: a purge leaves no trace to extract, so the rows are still there.
    expect(run.day(1).objects.Account).toMatchObject({ status: 'SUCCEEDED', syncMode: 'incremental' });
    expect(run.day(2).objects.Account).toMatchObject({
      status: 'SUCCEEDED',
      syncMode: 'full',
      syncReason: 'reconcile',
      rowsPurged: 2,
    });
    expect(run.day(3).objects.Account).toMatchObject({ syncMode: 'incremental' });
    expect(run.finalTables.account.map((row) => row.id)).not.toContain('001A00003');
    expect(run.finalTables.account).toHaveLength(8);
    expectWarehouseEqualsSource(run);
    expectNoFlowsLeft(run);
  });

  test('a flow failure during a full sync leaves yesterday’s final table intact', async () => {
    const run = await runLocalScenario({
      objects: [{ objectName: 'Account' }],
      days: [
        { date: '2026-01-01', changes: { Account: { upsert: accounts(10) } } },
        {
          date: '2026-01-02',
          changes: { Account: { purge: ['001A00001'] } },
          input: { syncMode: 'full' },
          faults: [
            {
              service: 'appflow',
              operation: 'FlowRun',
              object: 'Account',
              times: 1,
              error: 'Connection reset',
            },
          ],
        },
      ],
    });

    expect(run.day(1).objects.Account.status).toBe('FAILED');
    expect(run.finalTables.account).toHaveLength(10);
    expect(run.finalTables.account.map((row) => row.id)).toContain('001A00001');
    expectNoFlowsLeft(run);
  });

  test('a failed consolidation during a full sync rolls back: yesterday’s table stays whole', async () => {
    const run = await runLocalScenario({
      objects: [{ objectName: 'Account' }],
      days: [
        { date: '2026-01-01', changes: { Account: { upsert: accounts(10) } } },
        {
          date: '2026-01-02',
          changes: { Account: { upsert: [{ Id: '001A00002', Name: 'Changed' }], purge: ['001A00001'] } },
          input: { syncMode: 'full' },
          faults: [
            {
              service: 'redshift-data',
              operation: 'Statement',
              object: 'Account',
              times: 1,
              error: 'ERROR: out of memory',
            },
          ],
        },
        { date: '2026-01-03', changes: {}, input: { syncMode: 'full' } },
      ],
    });

    expect(run.day(1).objects.Account.status).toBe('FAILED');
    expect(run.day(2).objects.Account).toMatchObject({ status: 'SUCCEEDED', rowsPurged: 1 });
    expectWarehouseEqualsSource(run);
    expectNoFlowsLeft(run);
  });

  test('a quota below the threshold skips the run with SKIPPED_QUOTA and moves nothing', async () => {
    const run = await runLocalScenario({
      objects: [{ objectName: 'Account' }, { objectName: 'Contact' }],
      days: [
        {
          date: '2026-01-01',
          changes: { Account: { upsert: accounts(5) }, Contact: { upsert: [{ Id: '003A', Name: 'Ann' }] } },
        },
        {
          date: '2026-01-02',
          changes: { Account: { upsert: [{ Id: '001A00001', Name: 'Changed while quota was low' }] } },
          apiQuota: { remaining: 1000, max: 15000 },
        },
        { date: '2026-01-03', changes: {}, apiQuota: { remaining: 15000, max: 15000 } },
      ],
    });

    const skipped = run.day(1);
    expect(skipped.executionStatus).toBe('FAILED');
    expect(skipped.objects.Account).toMatchObject({ status: 'SKIPPED_QUOTA', recordsExtracted: 0 });
    expect(skipped.objects.Account.error).toContain('1000 of 15000');
    expect(skipped.objects.Contact.status).toBe('SKIPPED_QUOTA');
    expect(skipped.stats.startFlowCalls).toBe(0);
    // The next day's window still starts at day 1's watermark: the change is not lost.
    expect(run.day(2).objects.Account).toMatchObject({ status: 'SUCCEEDED', rowsInserted: 1 });
    expectWarehouseEqualsSource(run);
    expectNoFlowsLeft(run);
  });

  test('an empty day makes no consolidation call and still advances the watermark', async () => {
    const run = await runLocalScenario({
      objects: [{ objectName: 'Account', lookbackMinutes: 0 }],
      days: [
        { date: '2026-01-01', changes: { Account: { upsert: accounts(5) } } },
        { date: '2026-01-02', changes: {} },
      ],
    });

    expect(run.day(0).stats.consolidationCalls).toBe(1);
    expect(run.day(1).objects.Account).toMatchObject({
      status: 'SUCCEEDED',
      recordsExtracted: 0,
      consolidationSkipped: true,
    });
    expect(run.day(1).stats.consolidationCalls).toBe(0);
    const row = run.controlRows.find((item) => item.objectName === 'Account') as { watermark: string };
    expect(row.watermark.startsWith('2026-01-02')).toBe(true);
    expectNoFlowsLeft(run);
  });

  test('records stamped exactly at a window boundary or during the run are loaded exactly once', async () => {
    const boundary = '2026-01-02T07:00:00.000Z';
    const run = await runLocalScenario({
      objects: [{ objectName: 'Account', lookbackMinutes: 0 }],
      days: [
        // The first run is a full load; it sets the watermark the next windows start from.
        {
          date: '2026-01-01',
          startTime: '2026-01-01T07:00:00.000Z',
          changes: { Account: { upsert: accounts(2) } },
        },
        {
          date: '2026-01-02',
          startTime: boundary,
          changes: {
            Account: {
              upsert: [
                { Id: '001EDGE', Name: 'At the boundary', SystemModstamp: boundary },
                { Id: '001AFTER', Name: 'A millisecond late', SystemModstamp: '2026-01-02T07:00:00.001Z' },
              ],
            },
          },
          midRunChanges: {
            Account: { upsert: [{ Id: '001DURING', Name: 'Changed while the run went on' }] },
          },
        },
        { date: '2026-01-03', startTime: '2026-01-03T07:00:00.000Z', changes: {} },
      ],
    });

    // Windows are (start, end]: the boundary record belongs to day 2, the later ones to day 3.
    expect(run.day(1).objects.Account).toMatchObject({
      syncMode: 'incremental',
      recordsExtracted: 1,
      rowsInserted: 1,
    });
    expect(run.day(2).objects.Account).toMatchObject({
      syncMode: 'incremental',
      recordsExtracted: 2,
      rowsInserted: 2,
    });
    expect(run.finalTables.account.map((row) => row.id)).toEqual(
      expect.arrayContaining(['001AFTER', '001DURING', '001EDGE']),
    );
    expect(run.finalTables.account).toHaveLength(5);
    expectWarehouseEqualsSource(run);
    expectNoFlowsLeft(run);
  });
});
