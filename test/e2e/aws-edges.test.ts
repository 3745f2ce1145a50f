/**
 * Issue 19, end to end: AWS's edges. Statements slower than any function's timeout, the Data API's
 * capacity errors, statements that lose a race with a concurrent transaction, DynamoDB and AppFlow
 * throttling, and a run with nothing valid to do, each played through the real state machine and
 * handlers in simulated time (local/runner/simulated-time.ts).
 */
import { FIRST_STATEMENT_WAIT_SECONDS } from '../../lambdas/common/statement-waits';
import { IN_FUNCTION_WAIT_MS } from '../../lambdas/common/warehouse';
import { timeoutOverruns } from '../../local/runner/day-report';
import type { DayReport } from '../../local/runner/run-scenario';
import {
  accounts,
  expectNoFlowsLeft,
  expectWarehouseEqualsSource,
  runLocalScenario,
  TIDB_CLOUD_SOURCE,
} from './e2e-support';
import { CONFLICT_ERRORS } from './support/soak-scenario';

const twoObjects = [{ objectName: 'Account' }, { objectName: 'Contact' }];
const contacts = (count: number, name = 'Contact') =>
  Array.from({ length: count }, (_, n) => ({ Id: `003C${n}`, Name: `${name} ${n}` }));
const [SERIALIZABLE_ISOLATION, CONCURRENT_TRANSACTION, TUPLE_CONCURRENTLY_UPDATED] = CONFLICT_ERRORS;
/** A Data API statement that ends FAILED with `error` (its outcome, not an API call), `times` times. */
const statementFault = (fault: { object?: string; times: number; error: string }) => ({
  service: 'redshift-data',
  operation: 'Statement',
  ...fault,
});

describe('local run: AWS’s edges (issue 19)', () => {
  test('statements of 75 s and of 600 s (one object’s end events lost): every day SUCCEEDS, the warehouse equals the source, no function reaches its template timeout', async () => {
    const run = await runLocalScenario({
      objects: twoObjects,
      days: [
        {
          date: '2026-01-01',
          changes: { Account: { upsert: accounts(6) }, Contact: { upsert: contacts(4) } },
          statementSeconds: 75,
        },
        {
          date: '2026-01-02',
          changes: {
            Account: { upsert: [{ Id: '001A00001', Name: 'Renamed' }], delete: ['001A00002'] },
            Contact: {
              upsert: [...contacts(3, 'Contact v2'), { Id: '003C9', Name: 'New' }],
              delete: ['003C3'],
            },
          },
          statementSeconds: 600,
          // Account's waits end by the statements' end events; Contact's only at their timeout, when
          // the step looks for itself.
          dropStatementEvents: ['Contact'],
        },
        {
          // The same day with every end event: the waits end when the statements do.
          date: '2026-01-03',
          changes: {
            Account: { upsert: [{ Id: '001A00003', Name: 'Renamed' }], delete: ['001A00004'] },
            Contact: { upsert: [{ Id: '003C0', Name: 'Contact v3' }], delete: ['003C1'] },
          },
          statementSeconds: 600,
        },
      ],
    });
    const { assembly } = run;
    const logicalIdOf = (stateName: string) => assembly.taskFunctions[stateName].logicalId;
    const statementEnded = assembly.eventRules.find((rule) =>
      (rule.eventPattern?.source as string[] | undefined)?.includes('aws.redshift-data'),
    )?.targetFunctions[0];

    expect(run.report.days.map((day) => day.executionStatus)).toEqual([
      'SUCCEEDED',
      'SUCCEEDED',
      'SUCCEEDED',
    ]);
    for (const day of run.report.days) {
      expect(Object.values(day.objects).map((object) => object.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    }
    expect(run.report.days.flatMap((day) => timeoutOverruns(day, assembly))).toEqual([]);
    // A step waits at most 20 s per invocation (IN_FUNCTION_WAIT_MS): statements of 75 s and of
    // 600 s are both handed to the state machine, and their end events answer the waits.
    for (const day of run.report.days) {
      expect(day.lambdaSeconds[logicalIdOf('Precheck')]).toBeLessThanOrEqual(IN_FUNCTION_WAIT_MS / 1000 + 1);
      expect(Object.keys(day.lambdaSeconds)).toEqual(
        expect.arrayContaining([
          logicalIdOf('AwaitPrecheckStatement'),
          logicalIdOf('AwaitConsolidationStatement'),
          statementEnded,
        ]),
      );
    }
    // Lost end events cost Contact's waits their whole first timeout (900 s) instead of the
    // statement's 600 s: its child, the day's longest, ends at least 300 s later than with events.
    const seconds = (day: DayReport) => (Date.parse(day.endTime) - Date.parse(day.startTime)) / 1000;
    expect(seconds(run.day(1)) - seconds(run.day(2))).toBeGreaterThanOrEqual(
      FIRST_STATEMENT_WAIT_SECONDS - 600,
    );
    expect(run.day(1).objects.Contact).toMatchObject({ rowsInserted: 4, rowsUpdated: 3, rowsDeleted: 1 });
    expect(run.finalTables.account.find((row) => row.id === '001A00001')?.name).toBe('Renamed');
    expectWarehouseEqualsSource(run);
    expectNoFlowsLeft(run);
  });

  test('a flow that outlasts its deadline after a missed heartbeat fails FlowWaitTimedOut, as in AWS: the deadline is set and checked on the same (simulated) clock', async () => {
    const run = await runLocalScenario({
      objects: [{ objectName: 'Account', flowTimeoutMinutes: 60 }],
      days: [
        {
          date: '2026-01-01',
          changes: { Account: { upsert: accounts(3) } },
          // 70 minutes of a 60-minute deadline; the sweep's heartbeats fail, so the wait's heartbeat
          // times out first and PollFlow looks: a minute before the deadline, too late to wait again.
          flowRunMinutes: { Account: 70 },
          faults: [
            {
              service: 'stepfunctions',
              operation: 'SendTaskHeartbeat',
              object: 'Account',
              times: 20,
              error: 'ThrottlingException',
            },
          ],
        },
      ],
    });

    const day = run.day(0);
    expect(day.executionStatus).toBe('FAILED');
    expect(day.objects.Account.status).toBe('FAILED');
    expect(day.objects.Account.error).toMatch(
      /^FlowWaitTimedOut: Account: flow \S+ still running at its deadline 2026-01-01T07:0\d:\d\d\.\d{3}Z \(flowTimeoutMinutes\)$/,
    );
    // The heartbeat was asked for, and refused.
    expect(run.unfiredFaults[0][0].times).toBeLessThan(20);
    expectNoFlowsLeft(run);
  });

  test('ReportRun measures freshness in simulated time: an object not run for four simulated days is overdue by that lag', async () => {
    const run = await runLocalScenario({
      objects: twoObjects,
      days: [
        {
          date: '2026-01-01',
          changes: { Account: { upsert: accounts(2) }, Contact: { upsert: contacts(2) } },
        },
        {
          // Only Contact runs: Account's data is still that of four days ago.
          date: '2026-01-05',
          changes: { Contact: { upsert: [{ Id: '003C1', Name: 'Renamed' }] } },
          input: { objects: ['Contact'] },
        },
      ],
    });

    expect(run.report.days.map((day) => day.executionStatus)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    // Right after its load nothing is overdue (the wall clock would see the whole year since).
    expect(run.day(0).overdueObjects).toBeUndefined();
    // Daily cadence, 12-hour flow timeout: overdue past 2 × 1,440 + 720 minutes.
    const [account] = run.day(1).overdueObjects ?? [];
    expect(account).toEqual({
      objectName: 'Account',
      lagMinutes: expect.any(Number),
      overdueAfterMinutes: 3600,
    });
    const lagFromDay1 = (Date.parse(run.day(1).endTime) - Date.parse(run.day(0).startTime)) / 60_000;
    expect(account.lagMinutes).toBeGreaterThan(4 * 1440 - 5);
    expect(account.lagMinutes).toBeLessThanOrEqual(Math.ceil(lagFromDay1));
  });

  test('capacity errors (two ExecuteStatement, one BatchExecuteStatement) and a statement ended by "tuple concurrently updated" are retried: the day SUCCEEDS', async () => {
    const run = await runLocalScenario({
      objects: twoObjects,
      days: [
        {
          date: '2026-01-01',
          changes: { Account: { upsert: accounts(5) }, Contact: { upsert: contacts(3) } },
          faults: [
            {
              service: 'redshift-data',
              operation: 'ExecuteStatement',
              times: 2,
              error: 'ActiveStatementsExceededException',
            },
            {
              service: 'redshift-data',
              operation: 'BatchExecuteStatement',
              times: 1,
              error: 'ActiveStatementsExceededException',
            },
            // Not narrowed: the run's first statement, the precheck's schema batch.
            statementFault({ times: 1, error: TUPLE_CONCURRENTLY_UPDATED }),
          ],
        },
      ],
    });

    expect(run.unfiredFaults).toEqual([[]]);
    expect(run.day(0).executionStatus).toBe('SUCCEEDED');
    expect(run.day(0).objects.Account).toMatchObject({ status: 'SUCCEEDED', rowsInserted: 5 });
    expect(run.day(0).objects.Contact).toMatchObject({ status: 'SUCCEEDED', rowsInserted: 3 });
    expectWarehouseEqualsSource(run);
    expectNoFlowsLeft(run);
  });

  test('serialization conflicts in objects’ catalog reads, in Redshift’s own words, are resubmitted: no object fails', async () => {
    const run = await runLocalScenario({
      objects: twoObjects,
      days: [
        {
          date: '2026-01-01',
          changes: { Account: { upsert: accounts(4) }, Contact: { upsert: contacts(4) } },
          faults: [
            // Narrowed to an object: its first statement, the catalog read of StartExtract.
            statementFault({ object: 'Account', times: 2, error: SERIALIZABLE_ISOLATION }),
            statementFault({ object: 'Contact', times: 1, error: CONCURRENT_TRANSACTION }),
          ],
        },
        {
          date: '2026-01-02',
          changes: { Account: { upsert: [{ Id: '001A00003', Name: 'Changed' }] } },
          faults: [statementFault({ object: 'Account', times: 5, error: TUPLE_CONCURRENTLY_UPDATED })],
        },
      ],
    });

    expect(run.unfiredFaults).toEqual([[], []]);
    for (const day of run.report.days) {
      expect({ date: day.date, status: day.executionStatus, error: day.error }).toEqual({
        date: day.date,
        status: 'SUCCEEDED',
        error: undefined,
      });
    }
    expect(run.day(1).objects.Account).toMatchObject({ status: 'SUCCEEDED', rowsUpdated: 1 });
    expectWarehouseEqualsSource(run);
    expectNoFlowsLeft(run);
  });

  test('a conflict that never clears fails only its object, after six submissions, as WarehouseConflict; the next day catches up', async () => {
    const run = await runLocalScenario({
      objects: twoObjects,
      days: [
        {
          date: '2026-01-01',
          changes: { Account: { upsert: accounts(3) }, Contact: { upsert: contacts(3) } },
          faults: [statementFault({ object: 'Contact', times: 6, error: TUPLE_CONCURRENTLY_UPDATED })],
        },
        { date: '2026-01-02', changes: { Contact: { upsert: [{ Id: '003C1', Name: 'Renamed' }] } } },
      ],
    });

    expect(run.unfiredFaults).toEqual([[], []]);
    expect(run.day(0).executionStatus).toBe('FAILED');
    expect(run.day(0).objects.Account.status).toBe('SUCCEEDED');
    expect(run.day(0).objects.Contact.status).toBe('FAILED');
    expect(run.day(0).objects.Contact.error).toMatch(
      /^WarehouseConflict: .*tuple concurrently updated \(after 6 attempts\)$/,
    );
    expect(run.day(1).executionStatus).toBe('SUCCEEDED');
    expect(run.day(1).objects.Contact).toMatchObject({ status: 'SUCCEEDED', rowsInserted: 3 });
    expectWarehouseEqualsSource(run);
    expectNoFlowsLeft(run);
  });

  test('DynamoDB throttling on the control table (UpdateItem) and a throttled DeleteFlow are retried: the day SUCCEEDS and no flow is left', async () => {
    const run = await runLocalScenario({
      objects: twoObjects,
      days: [
        {
          date: '2026-01-01',
          changes: { Account: { upsert: accounts(3) }, Contact: { upsert: contacts(3) } },
          faults: [
            // More than the SDK's own three attempts: the state machine's Retry must take over.
            {
              service: 'dynamodb',
              operation: 'UpdateItem',
              object: 'Account',
              times: 4,
              error: 'ProvisionedThroughputExceededException',
            },
            {
              service: 'appflow',
              operation: 'DeleteFlow',
              object: 'Contact',
              times: 4,
              error: 'ThrottlingException',
            },
          ],
        },
      ],
    });

    expect(run.unfiredFaults).toEqual([[]]);
    expect(run.day(0).executionStatus).toBe('SUCCEEDED');
    expect(run.day(0).objects.Account).toMatchObject({ status: 'SUCCEEDED', rowsInserted: 3 });
    expect(run.day(0).objects.Contact).toMatchObject({ status: 'SUCCEEDED', rowsInserted: 3 });
    expectWarehouseEqualsSource(run);
    expectNoFlowsLeft(run);
  });

  test('a run whose every control row is rejected ends FAILED, naming each row and its error, and starts no Map Run', async () => {
    const run = await runLocalScenario({
      objects: [
        { objectName: 'Account;DROP TABLE x' },
        { objectName: 'Contact', lookbackMinutes: -5 },
        { objectName: 'Lead', syncMode: 'sometimes' },
      ],
      days: [{ date: '2026-01-01', changes: { Contact: { upsert: contacts(2) } } }],
    });

    const day = run.day(0);
    expect(day.executionStatus).toBe('FAILED');
    expect(day.objects).toEqual({
      'Account;DROP TABLE x': expect.objectContaining({
        status: 'FAILED',
        error: expect.stringContaining('objectName'),
      }),
      Contact: expect.objectContaining({
        status: 'FAILED',
        error: expect.stringContaining('lookbackMinutes'),
      }),
      Lead: expect.objectContaining({ status: 'FAILED', error: expect.stringContaining('syncMode') }),
    });
    for (const [objectName, object] of Object.entries(day.objects)) {
      expect(day.error).toContain(`${objectName} (${object.error})`);
    }
    // LoadObjects, AnyObjectsToRun?, ReportRun, AllObjectsSucceeded?, RunFailed: no precheck, no Map.
    expect(day.stats.stateTransitions).toBe(5);
    expect(day.historyEvents.maxChild).toBe(0);
    expect(day.stats.startFlowCalls).toBe(0);
    const { assembly } = run;
    expect(Object.keys(day.lambdaSeconds).sort()).toEqual(
      ['LoadObjects', 'ReportRun'].map((state) => assembly.taskFunctions[state].logicalId).sort(),
    );
    expectNoFlowsLeft(run);
  });

  test('a custom-connector entity whose columns are Redshift reserved words (order, user, offset, end, open, tag, percent, language, timestamp, new, system, snapshot) loads and equals its source', async () => {
    // Quoted unconditionally by the Lambdas and the procedure; the local warehouse refuses a bare one as Redshift does.
    const reserved = [
      'order',
      'user',
      'offset',
      'end',
      'open',
      'tag',
      'percent',
      'language',
      'timestamp',
      'new',
      'system',
      'snapshot',
    ];
    const types = [
      { type: 'string' as const, length: 40 },
      { type: 'decimal' as const, precision: 12, scale: 2 },
      { type: 'boolean' as const },
      { type: 'timestamp' as const },
    ];
    const row = (id: number, round: number) => ({
      id: String(id),
      ...Object.fromEntries(
        reserved.map((name, index) => {
          const kind = types[index % types.length].type;
          const value =
            kind === 'string'
              ? `${name} ${id}.${round}`
              : kind === 'decimal'
                ? `${id}${round}.25`
                : kind === 'boolean'
                  ? (id + round) % 2 === 0
                  : `2025-12-0${round}T10:00:00.000Z`;
          return [name, value];
        }),
      ),
    });
    const run = await runLocalScenario({
      ...TIDB_CLOUD_SOURCE,
      sourceObjects: {
        events: {
          profile: 'tidb-cloud',
          fields: [
            { name: 'id', type: 'bigint' as const },
            ...reserved.map((name, index) => ({ name, ...types[index % types.length] })),
            { name: 'updated_at', type: 'timestamp' as const },
          ],
        },
      },
      objects: [{ objectName: 'events', sourceName: 'tidb', lookbackMinutes: 0 }],
      days: [
        { date: '2026-01-05', changes: { events: { upsert: [1, 2, 3].map((id) => row(id, 1)) } } },
        { date: '2026-01-06', changes: { events: { upsert: [row(2, 2), row(4, 2)], purge: [] } } },
      ],
    });

    expect(run.report.days.map((day) => [day.executionStatus, day.objects.events?.status])).toEqual([
      ['SUCCEEDED', 'SUCCEEDED'],
      ['SUCCEEDED', 'SUCCEEDED'],
    ]);
    expect(run.day(1).objects.events).toMatchObject({ rowsInserted: 2, rowsUpdated: 1 });
    expect(Object.keys(run.finalTables.events[0])).toEqual(expect.arrayContaining(reserved));
    expectWarehouseEqualsSource(run);
    expectNoFlowsLeft(run);
  });
});
