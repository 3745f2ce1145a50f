import { type CadenceFigures, cadenceTargetLines, latencyBoundMinutes } from '../../bench/cadence';

const tick = { transitions: 5, invocations: 2, eventInvocations: 0, appflowRuns: 0 };

function figures(latency: Partial<CadenceFigures['latency']>): CadenceFigures {
  return {
    tickMinutes: 15,
    assumedLambdaMs: 500,
    idleTick: { ...tick, mapRuns: 0 },
    oneObjectTick: tick,
    twoObjectTick: tick,
    sweepsPerDay: 96,
    costs: [],
    nothingDueDay: { ...tick, dollars: 0 },
    latency: {
      changedAt: '2026-01-05T07:45:00.500Z',
      loadedByTickStart: '2026-01-05T08:00:00.000Z',
      loadedByTickEnd: '2026-01-05T08:02:00.000Z',
      minutes: 16.99,
      flowRunMinutes: 2,
      boundMinutes: latencyBoundMinutes(15, 2),
      inWarehouse: true,
      ...latency,
    },
    statuses: {},
    wallMs: 0,
  };
}

const latencyLine = (c: CadenceFigures) =>
  cadenceTargetLines(c).find((line) => /15-minute/.test(line.target));

describe("the cadence bench's latency target", () => {
  test('is bounded by the design, not by the run: a tick, the flow, the in-function statement wait', () => {
    expect(latencyBoundMinutes(15, 2)).toBeCloseTo(17 + 20 / 60);
  });

  test('is met when the change is in the final table within the bound', () => {
    expect(latencyLine(figures({}))?.met).toBe(true);
  });

  test('is missed when the loading tick ran longer than the bound allows', () => {
    // A tick whose run took 5 minutes: the old target (15 + the tick's own run time) grew with it.
    expect(latencyLine(figures({ loadedByTickEnd: '2026-01-05T08:05:00.000Z', minutes: 19.99 }))?.met).toBe(
      false,
    );
  });

  test('is missed when the change is not in the final table after the loading tick', () => {
    expect(latencyLine(figures({ inWarehouse: false }))?.met).toBe(false);
  });
});

describe("the cadence bench's idle-tick target", () => {
  test('counts the event rules’ invocations with the steps’', () => {
    const c = figures({});
    c.idleTick = { ...c.idleTick, eventInvocations: 1 };

    expect(cadenceTargetLines(c)[0]).toMatchObject({ measured: '5, 3, 0', met: false });
  });
});
