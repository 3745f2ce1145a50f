import { accounts, expectWarehouseEqualsSource, runLocalScenario } from './e2e-support';

const contacts = (count: number) =>
  Array.from({ length: count }, (_, n) => ({ Id: `003E${String(n).padStart(5, '0')}`, LastName: `C ${n}` }));

describe('local run: the functions the event rules invoke are counted per day (stats.eventInvocations)', () => {
  test("each flow's end-of-run event, a duplicate, the sweep that catches a lost one, statement-ended events", async () => {
    const day = (date: string, extra: Record<string, unknown> = {}) => ({
      date,
      changes: { Account: { upsert: accounts(1, date.slice(8)) }, Contact: { upsert: contacts(1) } },
      ...extra,
    });
    const run = await runLocalScenario({
      objects: [{ objectName: 'Account' }, { objectName: 'Contact' }],
      days: [
        day('2026-01-01'),
        day('2026-01-02', { duplicateFlowEvents: ['Account'] }),
        day('2026-01-03', { dropFlowEvents: ['Account'] }),
        day('2026-01-04', { statementSeconds: 75 }),
      ],
    });

    const events = run.report.days.map((report) => report.stats.eventInvocations);
    // One end-of-run handler per flow run; none of them is a state of the execution.
    expect(events[0]).toBe(2);
    // Account's event arrives twice: the handler runs twice.
    expect(events[1]).toBe(3);
    // Account's event is lost: the sweep's run (the same function, by the schedule) finds the run ended.
    expect(events[2]).toBe(2);
    // Statements outlive the steps' budget: the Data API's end events invoke the statement-ended handler.
    expect(events[3]).toBeGreaterThan(2);
    for (const report of run.report.days) expect(report.executionStatus).toBe('SUCCEEDED');
    expectWarehouseEqualsSource(run);
  });
});
