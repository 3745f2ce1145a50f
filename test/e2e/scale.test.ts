import { expectNoFlowsLeft, expectWarehouseEqualsSource, runLocalScenario } from './e2e-support';

/** AWS fails an execution at 25,000 history events and a state's input or output at 256 KB. */
const HISTORY_LIMIT = 25_000;
const PAYLOAD_LIMIT = 256 * 1024;
/**
 * ExecutionStarted, LoadObjects, AnyObjectsToRun?, Precheck, PrecheckDone?, the Distributed Map,
 * ReportRun, AllObjectsSucceeded?, Succeed, ExecutionSucceeded.
 */
const PARENT_HISTORY = 29;
/**
 * A child, whatever its flow's length: ExecutionStarted (1), StartExtract (5), ExtractStarted? (2),
 * AwaitFlowRun (6: TaskStateEntered, TaskScheduled, TaskStarted, TaskSubmitted, TaskSucceeded,
 * TaskStateExited), FlowFinished? (2), Consolidate (5), ConsolidationFinished? (2), FinishObject (5),
 * ExecutionSucceeded (1).
 */
const CHILD_HISTORY = 29;
/** Issue 13's targets. */
const CHILD_HISTORY_TARGET = 60;
const TRANSITIONS_PER_OBJECT_TARGET = 12;
/** LoadObjects, AnyObjectsToRun?, Precheck, PrecheckDone?, ProcessObjects, ReportRun, AllObjectsSucceeded?, RunSucceeded. */
const PARENT_TRANSITIONS = 8;

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
const oneRecordEach = (names: string[], day: string) =>
  Object.fromEntries(
    names.map((name) => [name, { upsert: [{ Id: `${name}-${day}-1`, Name: `${name} one` }] }]),
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
          // A lost end-of-run event: the sweep reads the run's status and ends the wait.
          dropFlowEvents: ['Obj0007'],
          // A duplicate event after the wait ended: nothing changes.
          duplicateFlowEvents: ['Obj0011'],
        },
      ],
    });

    const day = run.day(0);
    expect(day.executionStatus).toBe('SUCCEEDED');
    expect(Object.values(day.objects).filter((object) => object.status === 'SUCCEEDED')).toHaveLength(300);
    expect(day.objects.Obj0007).toMatchObject({ status: 'SUCCEEDED', rowsInserted: 2 });
    expect(day.objects.Obj0011).toMatchObject({ status: 'SUCCEEDED', rowsInserted: 2, duplicatesRemoved: 0 });
    expectWarehouseEqualsSource(run);
    expectNoFlowsLeft(run);
    // The polling design put 712 events in each child (77 polls over 6 h); waiting on the event, 27.
    expect(day.historyEvents).toEqual({ parent: PARENT_HISTORY, maxChild: CHILD_HISTORY });
    expect(day.historyEvents.maxChild).toBeLessThanOrEqual(CHILD_HISTORY_TARGET);
    const transitionsPerObject = (day.stats.stateTransitions - PARENT_TRANSITIONS) / 300;
    expect(transitionsPerObject).toBe(7);
    expect(transitionsPerObject).toBeLessThanOrEqual(TRANSITIONS_PER_OBJECT_TARGET);
    expect(day.historyEvents.maxChild).toBeLessThan(HISTORY_LIMIT);
    expect(day.maxPayloadBytes).toBeLessThan(PAYLOAD_LIMIT);
  }, 1_800_000);

  test('a lost event whose sweep fails too: the heartbeat times out and the child reads the status itself', async () => {
    const names = objectNames(3);
    const run = await runLocalScenario({
      objects: names.map((objectName) => ({ objectName })),
      days: [
        {
          date: '2026-01-01',
          changes: twoRecordsEach(names, 'd1'),
          dropFlowEvents: ['Obj0001'],
          // The sweep's answer to Obj0001's token is throttled (the SDK's 3 attempts): nothing ends the wait.
          faults: [
            {
              service: 'stepfunctions',
              operation: 'SendTaskSuccess',
              object: 'Obj0001',
              times: 3,
              error: 'ThrottlingException',
            },
          ],
        },
      ],
    });

    const day = run.day(0);
    expect(day.executionStatus).toBe('SUCCEEDED');
    expect(day.objects.Obj0001).toMatchObject({ status: 'SUCCEEDED', rowsInserted: 2 });
    // AwaitFlowRun ends TaskTimedOut instead of TaskSucceeded (same count); PollFlow's 5 events come on top.
    expect(day.historyEvents.maxChild).toBe(CHILD_HISTORY + 5);
    expectWarehouseEqualsSource(run);
    expectNoFlowsLeft(run);
  }, 600_000);

  test('250 objects whose rows list 100 fields (the inline design failed at ~75): the parent state stays under 64 KB and its history flat', async () => {
    // About 2.4 KB of plan per object: 600 KB of plans and 250 results, all in the run-state
    // bucket (Map ItemReader / ResultWriter); the state holds references, counts and a bounded
    // summary, the same at any count (npm run bench measures 1,000; here CI's time budget rules).
    const names = objectNames(250);
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
      days: [
        { date: '2026-01-01', changes: oneRecordEach(names, 'd1'), flowRunMinutes: minutesEach(names, 1) },
      ],
    });

    const day = run.day(0);
    expect(day.executionStatus).toBe('SUCCEEDED');
    expect(Object.values(day.objects).filter((object) => object.status === 'SUCCEEDED')).toHaveLength(250);
    expect(day.maxPayloadBytes).toBeLessThan(64 * 1024);
    expect(day.historyEvents.parent).toBe(PARENT_HISTORY);
    expect(day.historyEvents.parent).toBeLessThanOrEqual(100);
    expectWarehouseEqualsSource(run);
    expectNoFlowsLeft(run);
  }, 1_200_000);

  test('the parent history is the same for 5 and 40 objects, a child the same for 2-minute, 30-minute and 6-hour flows', async () => {
    const names = objectNames(40);
    const run = await runLocalScenario({
      objects: names.map((objectName) => ({ objectName })),
      days: [
        { date: '2026-01-01', changes: twoRecordsEach(names, 'd1'), input: { objects: names.slice(0, 5) } },
        { date: '2026-01-02', changes: twoRecordsEach(names, 'd2'), flowRunMinutes: minutesEach(names, 30) },
        { date: '2026-01-03', changes: twoRecordsEach(names, 'd3'), flowRunMinutes: minutesEach(names, 360) },
      ],
    });
    expect(Object.keys(run.day(0).objects)).toHaveLength(5);
    expect(Object.keys(run.day(1).objects)).toHaveLength(40);
    expect(run.report.days.map((day) => day.historyEvents.parent)).toEqual([
      PARENT_HISTORY,
      PARENT_HISTORY,
      PARENT_HISTORY,
    ]);
    expect(run.report.days.map((day) => day.historyEvents.maxChild)).toEqual([
      CHILD_HISTORY,
      CHILD_HISTORY,
      CHILD_HISTORY,
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
    expect(day.objects.Obj0000.error).toMatch(
      /FlowWaitTimedOut.*Obj0000: flow \S+ still running at its deadline/,
    );
    // An 11-hour flow completes: the sweep's heartbeats keep its wait alive.
    expect(day.objects.Obj0001).toMatchObject({ status: 'SUCCEEDED', rowsInserted: 2 });
    expect(day.objects.Obj0002).toMatchObject({ status: 'SUCCEEDED', rowsInserted: 2 });
    expect(day.objects.Obj0003.error).toMatch(
      /FlowWaitTimedOut.*Obj0003: flow \S+ still running at its deadline/,
    );
    expectNoFlowsLeft(run);
  }, 600_000);
});

describe('redrive of a failed run', () => {
  test('a run that failed after its objects loaded (ReportRun) is redriven: only ReportRun runs again, from the Map Run in S3', async () => {
    const names = objectNames(4);
    const run = await runLocalScenario({
      objects: names.map((objectName) => ({ objectName })),
      days: [
        {
          date: '2026-01-01',
          changes: twoRecordsEach(names, 'd1'),
          // The run report cannot be published: ReportRun fails, and with it the execution.
          faults: [{ service: 'events', operation: 'PutEvents', times: 1, error: 'AccessDeniedException' }],
        },
        { date: '2026-01-01', changes: {}, redrive: true },
      ],
    });

    const [failed, redriven] = [run.day(0), run.day(1)];
    expect(failed.executionStatus).toBe('FAILED');
    expect(failed.error).toMatch(/AccessDeniedException/);
    expect(failed.stats.startFlowCalls).toBe(4);
    // The objects were loaded before the failure; the redrive does not load them again.
    expect(redriven.executionName).toBe(failed.executionName);
    expect(redriven.executionStatus).toBe('SUCCEEDED');
    expect(redriven.stats.startFlowCalls).toBe(0);
    expect(redriven.stats.consolidationCalls).toBe(0);
    expect(Object.values(redriven.objects).map((object) => object.status)).toEqual(
      Array(4).fill('SUCCEEDED'),
    );
    expect(redriven.objects.Obj0002).toMatchObject({ rowsInserted: 2 });
    // One history: the redrive's events (ReportRun, the Choice, Succeed, ExecutionSucceeded) follow the failed attempt's.
    expect(redriven.historyEvents.parent).toBeGreaterThan(failed.historyEvents.parent);
    expect(redriven.historyEvents.parent).toBeLessThanOrEqual(100);
    expectWarehouseEqualsSource(run);
    expectNoFlowsLeft(run);
  }, 600_000);

  test('a run that ended in its Fail state (objects failed) is not redriven: Step Functions would fail there again', async () => {
    const names = objectNames(2);
    await expect(
      runLocalScenario({
        objects: names.map((objectName) => ({ objectName })),
        days: [
          {
            date: '2026-01-01',
            changes: twoRecordsEach(names, 'd1'),
            faults: [
              { service: 'appflow', operation: 'FlowRun', object: 'Obj0001', times: 1, error: 'boom' },
            ],
          },
          { date: '2026-01-01', changes: {}, redrive: true },
        ],
      }),
    ).rejects.toThrow(/ended in its Fail state RunFailed: a redrive would fail there again/);
  }, 600_000);
});
