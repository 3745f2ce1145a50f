import { accounts, expectNoFlowsLeft, expectWarehouseEqualsSource, runLocalScenario } from './e2e-support';

const twoObjects = [{ objectName: 'Account' }, { objectName: 'Contact' }];
const contacts = (count: number) =>
  Array.from({ length: count }, (_, n) => ({ Id: `003C${n}`, Name: `Contact ${n}` }));

describe('local run: failures are isolated, reported, cleaned up and caught up', () => {
  test('a throttled StartFlow succeeds on retry', async () => {
    const run = await runLocalScenario({
      objects: [{ objectName: 'Account' }],
      days: [
        {
          date: '2026-01-01',
          changes: { Account: { upsert: accounts(5) } },
          // More failures than the SDK's own 3 attempts: the state machine's Retry must take over.
          faults: [
            {
              service: 'appflow',
              operation: 'StartFlow',
              object: 'Account',
              times: 4,
              error: 'ThrottlingException',
            },
          ],
        },
      ],
    });

    expect(run.day(0).executionStatus).toBe('SUCCEEDED');
    // Loaded once: the retried step found its flow and the client token kept StartFlow from running twice.
    expect(run.day(0).objects.Account).toMatchObject({
      status: 'SUCCEEDED',
      recordsExtracted: 5,
      rowsInserted: 5,
    });
    expect(run.day(0).stats.startFlowCalls).toBeGreaterThan(4);
    expectWarehouseEqualsSource(run);
    expectNoFlowsLeft(run);
  });

  test('an AppFlow run in Error fails that object only; the next day catches up with nothing lost', async () => {
    const run = await runLocalScenario({
      objects: twoObjects,
      days: [
        {
          date: '2026-01-01',
          changes: { Account: { upsert: accounts(5) }, Contact: { upsert: contacts(5) } },
        },
        {
          date: '2026-01-02',
          changes: {
            Account: { upsert: [{ Id: '001A00001', Name: 'Changed on day 2' }] },
            Contact: { upsert: contacts(8) },
          },
          faults: [
            {
              service: 'appflow',
              operation: 'FlowRun',
              object: 'Contact',
              times: 1,
              error: 'Salesforce timed out',
            },
          ],
        },
        { date: '2026-01-03', changes: {} },
      ],
    });

    expect(run.day(1).executionStatus).toBe('FAILED');
    expect(run.day(1).error).toContain('Contact');
    expect(run.day(1).objects.Contact).toMatchObject({ status: 'FAILED' });
    expect(run.day(1).objects.Contact.error).toMatch(/FlowRunFailed.*Salesforce timed out/);
    expect(run.day(1).objects.Account).toMatchObject({ status: 'SUCCEEDED', rowsInserted: 1 });
    expect(run.day(2).executionStatus).toBe('SUCCEEDED');
    // Day 2's eight upserts (five re-stamped, three new) arrive a day late, all of them.
    expect(run.day(2).objects.Contact).toMatchObject({
      status: 'SUCCEEDED',
      recordsExtracted: 8,
      rowsInserted: 8,
    });
    const contactRow = run.controlRows.find((row) => row.objectName === 'Contact') as {
      lastRun: { status: string };
    };
    expect(contactRow.lastRun.status).toBe('SUCCEEDED');
    expectWarehouseEqualsSource(run);
    expectNoFlowsLeft(run);
  });

  test('a failed Data API statement fails that object, keeps its watermark, and the next day catches up', async () => {
    const run = await runLocalScenario({
      objects: twoObjects,
      days: [
        {
          date: '2026-01-01',
          changes: { Account: { upsert: accounts(5) }, Contact: { upsert: contacts(5) } },
        },
        {
          date: '2026-01-02',
          changes: { Contact: { upsert: [{ Id: '003C1', Name: 'Renamed' }] } },
          faults: [
            {
              service: 'redshift-data',
              operation: 'Statement',
              object: 'Contact',
              times: 1,
              error: 'ERROR: disk full',
            },
          ],
        },
        { date: '2026-01-03', changes: {} },
      ],
    });

    expect(run.day(1).executionStatus).toBe('FAILED');
    expect(run.day(1).objects.Contact.status).toBe('FAILED');
    expect(run.day(1).objects.Contact.error).toContain('disk full');
    expect(run.day(1).objects.Account.status).toBe('SUCCEEDED');
    expect(run.day(2).objects.Contact).toMatchObject({ status: 'SUCCEEDED', rowsInserted: 1 });
    expect(run.finalTables.contact.find((row) => row.id === '003C1')?.name).toBe('Renamed');
    expectWarehouseEqualsSource(run);
    expectNoFlowsLeft(run);
  });

  test('a bad control row is reported next to good ones, which still load', async () => {
    const run = await runLocalScenario({
      objects: [
        { objectName: 'Account' },
        { objectName: 'Account;DROP TABLE x' },
        { objectName: 'Contact', lookbackMinutes: -5 },
      ],
      days: [{ date: '2026-01-01', changes: { Account: { upsert: accounts(3) } } }],
    });

    const day = run.day(0);
    expect(day.executionStatus).toBe('FAILED');
    expect(day.objects.Account).toMatchObject({ status: 'SUCCEEDED', rowsInserted: 3 });
    expect(day.objects['Account;DROP TABLE x']).toMatchObject({ status: 'FAILED', recordsExtracted: 0 });
    expect(day.objects['Account;DROP TABLE x'].error).toContain('objectName');
    expect(day.objects.Contact.status).toBe('FAILED');
    expect(day.objects.Contact.error).toContain('lookbackMinutes');
    expect(day.stats.startFlowCalls).toBe(1);
    expectWarehouseEqualsSource(run);
    expectNoFlowsLeft(run);
  });

  test('an unknown object named in the input fails clearly and starts no flow', async () => {
    const run = await runLocalScenario({
      objects: [{ objectName: 'Account' }],
      days: [
        { date: '2026-01-01', changes: { Account: { upsert: accounts(2) } }, input: { objects: ['Acount'] } },
      ],
    });

    expect(run.day(0).executionStatus).toBe('FAILED');
    expect(run.day(0).objects.Acount.error).toContain('Unknown object "Acount"');
    expect(run.day(0).stats.startFlowCalls).toBe(0);
    expectNoFlowsLeft(run);
  });
});
