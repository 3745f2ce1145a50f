import { slowWarehouseFigures, slowWarehouseTimeoutTarget } from '../../bench/orchestration';
import type { DayReport, timeoutOverruns } from '../../local/runner/day-report';

/** Template timeouts of three functions, as the synthesized template gives them. */
const assembly = {
  functions: {
    Consolidate: { timeoutSeconds: 120 },
    StatementEnded: { timeoutSeconds: 30 },
    LoadObjects: { timeoutSeconds: 120 },
  },
} as unknown as Parameters<typeof timeoutOverruns>[1];

function aDay(lambdaSeconds: Record<string, number>, stats: Partial<DayReport['stats']> = {}): DayReport {
  return {
    date: '2026-01-02',
    executionName: 'day-2',
    startTime: '2026-01-02T05:00:00.000Z',
    endTime: '2026-01-02T05:10:00.000Z',
    executionStatus: 'SUCCEEDED',
    objects: {},
    flowsRemaining: 0,
    historyEvents: { parent: 20, maxChild: 20 },
    maxPayloadBytes: 1000,
    lambdaSeconds,
    stats: {
      stateTransitions: 78,
      lambdaInvocations: 43,
      eventInvocations: 10,
      consolidationCalls: 10,
      startFlowCalls: 10,
      ...stats,
    },
  };
}

const figures = (...days: DayReport[]) =>
  slowWarehouseFigures(
    days.map((day, index) => ({ label: `day ${index}`, day })),
    10,
    assembly,
  );

describe('the slow-warehouse timeout target of the bench', () => {
  test('is met when every function ends before its timeout', () => {
    const line = slowWarehouseTimeoutTarget(figures(aDay({ Consolidate: 19.1, StatementEnded: 0.2 })));

    expect(line).toMatchObject({ met: true, measured: 'longest 19.1 s; 0 at or past' });
  });

  test('is missed by a function killed at its timeout: its run time is the timeout exactly', () => {
    const line = slowWarehouseTimeoutTarget(
      figures(aDay({ Consolidate: 1 }), aDay({ Consolidate: 120, LoadObjects: 2 })),
    );

    expect(line.met).toBe(false);
    expect(line.measured).toContain('2026-01-02 Consolidate: 120 s of 120 s');
  });

  test('is missed by a function at its timeout that is not the longest of the day', () => {
    // Consolidate ran longest (60 s of 120), the statement-ended handler was killed at its 30 s.
    const [day] = figures(aDay({ Consolidate: 60, StatementEnded: 30 }));

    expect(day.longestFunction).toEqual({ logicalId: 'Consolidate', seconds: 60, timeoutSeconds: 120 });
    expect(day.timeoutOverruns).toEqual(['2026-01-02 StatementEnded: 30 s of 30 s']);
    expect(slowWarehouseTimeoutTarget([day]).met).toBe(false);
  });
});

describe('the slow-warehouse figures', () => {
  test('count every Lambda invocation per object: the steps and the event rules (statement-ended handler)', () => {
    const [fast, slow] = figures(
      aDay({}),
      aDay({}, { stateTransitions: 108, lambdaInvocations: 63, eventInvocations: 20 }),
    );

    expect(fast.invocationsPerObject).toBeCloseTo(5.3);
    expect(slow).toMatchObject({ eventInvocations: 20, extraTransitionsPerObject: 3 });
    expect(slow.extraInvocationsPerObject).toBeCloseTo(3);
  });
});
