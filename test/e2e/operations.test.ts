import { accounts, expectNoFlowsLeft, expectWarehouseEqualsSource, runLocalScenario } from './e2e-support';

describe('local run: operating the pipeline', () => {
  test('a failed precheck ends the run before any flow exists, saying what to fix', async () => {
    const run = await runLocalScenario({
      objects: [{ objectName: 'Account' }],
      days: [
        {
          date: '2026-01-01',
          changes: { Account: { upsert: accounts(3) } },
          // The precheck's catalog query is the run's first statement.
          faults: [
            {
              service: 'redshift-data',
              operation: 'Statement',
              times: 1,
              error: 'ERROR: permission denied for pg_proc',
            },
          ],
        },
        { date: '2026-01-02', changes: {} },
      ],
    });

    const failed = run.day(0);
    expect(failed.executionStatus).toBe('FAILED');
    expect(failed.error).toMatch(
      /Precheck failed, no flow was created: The warehouse does not answer.*permission denied/,
    );
    expect(failed.objects).toEqual({});
    expect(failed.stats.startFlowCalls).toBe(0);
    expect(run.day(1).objects.Account).toMatchObject({ status: 'SUCCEEDED', rowsInserted: 3 });
    expectWarehouseEqualsSource(run);
    expectNoFlowsLeft(run);
  });

  test('a backfill re-extracts a past day and never moves the watermark', async () => {
    const run = await runLocalScenario({
      objects: [{ objectName: 'Account', lookbackMinutes: 0 }],
      days: [
        { date: '2026-01-01', changes: { Account: { upsert: accounts(4) } } },
        { date: '2026-01-02', changes: { Account: { upsert: [{ Id: '001A00001', Name: 'Day 2 change' }] } } },
        { date: '2026-01-03', startTime: '2026-01-03T07:00:00.000Z', changes: {} },
        {
          date: '2026-01-03',
          startTime: '2026-01-03T09:00:00.000Z',
          changes: {},
          input: { runDate: '2026-01-02', objects: ['Account'] },
        },
      ],
    });

    const backfill = run.day(3).objects.Account;
    // Day 2's one change is extracted again; consolidation sees the same version and writes nothing.
    expect(backfill).toMatchObject({
      status: 'SUCCEEDED',
      syncReason: 'backfill',
      recordsExtracted: 1,
      rowsInserted: 0,
    });
    const row = run.controlRows.find((item) => item.objectName === 'Account') as { watermark: string };
    expect(row.watermark).toBe('2026-01-03T07:00:00.000Z');
    expectWarehouseEqualsSource(run);
    expectNoFlowsLeft(run);
  });
});
