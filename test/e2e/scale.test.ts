import { pollsCoveringMinutes } from '../../lambdas/common/object-state';
import { expectNoFlowsLeft, expectWarehouseEqualsSource, runLocalScenario } from './e2e-support';

/** AWS fails an execution at 25,000 history events and a state's input or output at 256 KB. */
const HISTORY_LIMIT = 25_000;
const PAYLOAD_LIMIT = 256 * 1024;
/** ExecutionStarted, Precheck, LoadObjects, the Distributed Map, ReportRun, the Choice, Succeed, ExecutionSucceeded. */
const PARENT_HISTORY = 25;
/** A child: ExecutionStarted/Succeeded, StartExtract, P × (Wait, PollFlow, Choice), Consolidate, Choice, FinishObject. */
const childHistory = (polls: number) => 19 + 9 * polls;

const objectNames = (count: number) =>
  Array.from({ length: count }, (_, n) => `Obj${String(n).padStart(4, '0')}`);
const twoRecordsEach = (names: string[], day: string) =>
  Object.fromEntries(
    names.map((name) => [
      name,
      {
        upsert: [
          { Id: `${name}-${day}-1`, Name: `${name} one` },
          { Id: `${name}-${day}-2`, Name: `${name} two` },
        ],
      },
    ]),
  );
const minutesEach = (names: string[], minutes: number) =>
  Object.fromEntries(names.map((name) => [name, minutes]));

describe('local run at scale: objects as child executions', () => {
  test('300 objects with 6-hour flows load in one run; the parent history stays flat, each child within its budget', async () => {
    const names = objectNames(300);
    const run = await runLocalScenario({
      objects: names.map((objectName) => ({ objectName })),
      days: [
        {
          date: '2026-01-01',
          changes: twoRecordsEach(names, 'd1'),
          flowRunMinutes: minutesEach(names, 360),
          // Completion is polled: an end-of-run event that never arrives holds nothing up.
          dropFlowEvents: ['Obj0007'],
        },
      ],
    });

    const day = run.day(0);
    expect(day.executionStatus).toBe('SUCCEEDED');
    expect(Object.values(day.objects).filter((object) => object.status === 'SUCCEEDED')).toHaveLength(300);
    expect(day.objects.Obj0007).toMatchObject({ status: 'SUCCEEDED', rowsInserted: 2 });
    expectWarehouseEqualsSource(run);
    expectNoFlowsLeft(run);
    // 6 h of lengthening waits is 77 polls; the inline Map would have put 25 + 300 × 712 events in one history.
    expect(day.historyEvents).toEqual({ parent: PARENT_HISTORY, maxChild: childHistory(77) });
    expect(pollsCoveringMinutes(360)).toBe(77);
    expect(day.historyEvents.maxChild).toBeLessThan(HISTORY_LIMIT);
    expect(day.maxPayloadBytes).toBeLessThan(PAYLOAD_LIMIT);
  }, 1_800_000);

  test('plans over 256 KB fail the run as AWS would (States.DataLimitExceeded): the limit this design keeps', async () => {
    // 120 objects whose rows list 100 fields: about 2.4 KB of plan each in LoadObjects' output.
    const names = objectNames(120);
    const fields = Array.from({ length: 99 }, (_, n) => ({
      name: `Replicated_Field_${String(n).padStart(3, '0')}__c`,
      type: 'string' as const,
    }));
    const run = await runLocalScenario({
      objects: names.map((objectName) => ({
        objectName,
        fields: ['Id', ...fields.map((field) => field.name)],
      })),
      sourceObjects: Object.fromEntries(names.map((name) => [name, { fields }])),
      days: [{ date: '2026-01-01', changes: twoRecordsEach(names, 'd1') }],
    });

    const day = run.day(0);
    expect(day.executionStatus).toBe('FAILED');
    expect(day.error).toMatch(
      /States\.DataLimitExceeded: the output of state LoadObjects is \d+ bytes, over Step Functions' limit of 262144 bytes/,
    );
    // AWS stops at LoadObjects: no flow starts, nothing is loaded.
    expect(day.objects).toEqual({});
    expect(day.stats.startFlowCalls).toBe(0);
  }, 600_000);

  test('the parent history is the same for 5 and 40 objects', async () => {
    const names = objectNames(40);
    const run = await runLocalScenario({
      objects: names.map((objectName) => ({ objectName })),
      days: [
        { date: '2026-01-01', changes: twoRecordsEach(names, 'd1'), input: { objects: names.slice(0, 5) } },
        { date: '2026-01-02', changes: twoRecordsEach(names, 'd2') },
      ],
    });
    expect(Object.keys(run.day(0).objects)).toHaveLength(5);
    expect(Object.keys(run.day(1).objects)).toHaveLength(40);
    expect(run.report.days.map((day) => day.historyEvents.parent)).toEqual([PARENT_HISTORY, PARENT_HISTORY]);
    // Flows done on the first poll: every child is 19 + 9 events whatever the count.
    expect(run.report.days.map((day) => day.historyEvents.maxChild)).toEqual([
      childHistory(1),
      childHistory(1),
    ]);
  }, 600_000);

  test('one failing child leaves the others loaded, the report names it, and the next run catches it up', async () => {
    const names = objectNames(6);
    const run = await runLocalScenario({
      objects: names.map((objectName) => ({ objectName })),
      days: [
        {
          date: '2026-01-01',
          changes: twoRecordsEach(names, 'd1'),
          flowRunMinutes: minutesEach(names, 360),
          faults: [
            {
              service: 'appflow',
              operation: 'FlowRun',
              object: 'Obj0003',
              times: 1,
              error: 'Salesforce timed out',
            },
          ],
        },
        { date: '2026-01-02', changes: {}, flowRunMinutes: minutesEach(names, 30) },
      ],
    });

    const failed = run.day(0);
    expect(failed.executionStatus).toBe('FAILED');
    expect(failed.error).toContain('Obj0003');
    expect(failed.objects.Obj0003).toMatchObject({ status: 'FAILED' });
    expect(failed.objects.Obj0003.error).toMatch(/FlowRunFailed.*Salesforce timed out/);
    for (const name of names.filter((n) => n !== 'Obj0003'))
      expect(failed.objects[name]).toMatchObject({ status: 'SUCCEEDED', rowsInserted: 2 });
    expect(run.day(1).executionStatus).toBe('SUCCEEDED');
    expect(run.day(1).objects.Obj0003).toMatchObject({ status: 'SUCCEEDED', rowsInserted: 2 });
    expectWarehouseEqualsSource(run);
    expectNoFlowsLeft(run);
  }, 600_000);

  test("a flow still running after flowTimeoutMinutes (12 h, or the row's own) fails its object with FlowWaitTimedOut; the others load", async () => {
    const names = objectNames(4);
    const run = await runLocalScenario({
      // A row's own flowTimeoutMinutes replaces the environment's: longer for Obj0002, shorter for Obj0003.
      objects: [
        { objectName: 'Obj0000' },
        { objectName: 'Obj0001' },
        { objectName: 'Obj0002', flowTimeoutMinutes: 15 * 60 },
        { objectName: 'Obj0003', flowTimeoutMinutes: 60 },
      ],
      days: [
        {
          date: '2026-01-01',
          changes: twoRecordsEach(names, 'd1'),
          flowRunMinutes: { Obj0000: 13 * 60, Obj0001: 11 * 60, Obj0002: 13 * 60, Obj0003: 2 * 60 },
        },
      ],
    });

    const day = run.day(0);
    expect(day.executionStatus).toBe('FAILED');
    expect(day.objects.Obj0000).toMatchObject({ status: 'FAILED' });
    expect(day.objects.Obj0000.error).toMatch(/FlowWaitTimedOut.*still running after 149 polls/);
    // An 11-hour flow, far past the old 40-poll (2 h 57 min) limit, completes.
    expect(day.objects.Obj0001).toMatchObject({ status: 'SUCCEEDED', rowsInserted: 2 });
    expect(day.objects.Obj0002).toMatchObject({ status: 'SUCCEEDED', rowsInserted: 2 });
    expect(day.objects.Obj0003.error).toMatch(/FlowWaitTimedOut.*still running after 17 polls/);
    expectNoFlowsLeft(run);
  }, 600_000);
});
