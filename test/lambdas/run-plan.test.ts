import { buildRunContext, planObject, runIdFromExecutionName } from '../../lambdas/common/run-plan';
import { anAccountConfig, aRun, PREVIOUS_WATERMARK, RUN_STARTED_AT } from './support/fixtures';

const DEFAULT_PROFILE = 'salesforce-default';
const SAFE_RUN_ID = /^[A-Za-z0-9_-]+$/;

describe('planObject', () => {
  test('loads an object in full on its first run (no watermark) and then stores the execution start', () => {
    // Prepare
    const object = anAccountConfig({ watermark: undefined });

    // Act
    const plan = planObject(object, aRun(), DEFAULT_PROFILE);

    // Assess
    expect(plan).toEqual({
      objectName: 'Account',
      targetTable: 'account',
      connectorType: 'Salesforce',
      connectorProfileName: DEFAULT_PROFILE,
      primaryKey: 'Id',
      cursorField: 'SystemModstamp',
      deleteMode: 'hard',
      syncMode: 'full',
      syncReason: 'first-run',
      window: {},
      nextWatermark: RUN_STARTED_AT,
      // Never refreshed: formulas are due (a full load brings them anyway, and counts as their refresh).
      formulaRefreshDue: true,
    });
  });

  describe('formula refresh (issue 21)', () => {
    const at = (iso: string) => aRun({ startedAt: iso });
    const daily = (lastFormulaRefreshAt?: string) =>
      anAccountConfig({ ...(lastFormulaRefreshAt ? { lastFormulaRefreshAt } : {}) });
    const hourly = (lastFormulaRefreshAt?: string) =>
      anAccountConfig({ syncEveryMinutes: 60, ...(lastFormulaRefreshAt ? { lastFormulaRefreshAt } : {}) });

    test.each([
      [
        'a daily object, refreshed by the previous daily run a few seconds later in the day',
        daily('2026-03-09T06:00:07.000Z'),
        true,
      ],
      [
        'a daily object, refreshed by an operator run three hours ago',
        daily('2026-03-10T03:00:00.000Z'),
        false,
      ],
      [
        'an hourly object, refreshed a day ago (seconds later in the hour)',
        hourly('2026-03-09T06:00:05.000Z'),
        true,
      ],
      ['an hourly object, refreshed 23 hours ago', hourly('2026-03-09T07:00:00.000Z'), false],
      ['an object never refreshed', hourly(), true],
    ])('%s: due %s', (_, object, due) => {
      // Act
      const plan = planObject(object, at(RUN_STARTED_AT), DEFAULT_PROFILE);

      // Assess
      expect(plan.formulaRefreshDue === true).toBe(due);
    });

    test("formulaRefreshEveryMinutes 0 never refreshes; a row's refreshFields travel with the plan", () => {
      // Act
      const never = planObject(
        anAccountConfig({ formulaRefreshEveryMinutes: 0, refreshFields: ['Status__c'] }),
        aRun(),
        DEFAULT_PROFILE,
      );

      // Assess
      expect(never).not.toHaveProperty('formulaRefreshDue');
      expect(never.refreshFields).toEqual(['Status__c']);
    });
  });

  test("a row with flowTimeoutMinutes carries it as the plan's own flow timeout; a row without leaves it absent", () => {
    // Act
    const own = planObject(anAccountConfig({ flowTimeoutMinutes: 120 }), aRun(), DEFAULT_PROFILE);
    const inherited = planObject(anAccountConfig(), aRun(), DEFAULT_PROFILE);

    // Assess
    expect(own.flowTimeoutMinutes).toBe(120);
    expect(inherited).not.toHaveProperty('flowTimeoutMinutes');
    expect(inherited).not.toHaveProperty('maxFlowPolls');
  });

  test('extracts (watermark − lookback, execution start] incrementally and moves the watermark to the start', () => {
    // Act
    const plan = planObject(anAccountConfig({ lookbackMinutes: 90 }), aRun(), DEFAULT_PROFILE);

    // Assess
    expect(plan.syncMode).toBe('incremental');
    expect(plan.syncReason).toBe('incremental');
    expect(plan.window).toEqual({ start: '2026-03-09T04:30:00.000Z', end: RUN_STARTED_AT });
    expect(plan.nextWatermark).toBe(RUN_STARTED_AT);
  });

  test('windows of consecutive runs meet or overlap: the next start is at or before this end', () => {
    // Prepare
    const first = planObject(anAccountConfig({ lookbackMinutes: 0 }), aRun(), DEFAULT_PROFILE);
    const nextRun = aRun({ runId: 'run-2026-03-11', startedAt: '2026-03-11T06:00:00.000Z' });

    // Act
    const second = planObject(
      anAccountConfig({ lookbackMinutes: 0, watermark: first.nextWatermark }),
      nextRun,
      DEFAULT_PROFILE,
    );

    // Assess
    expect(second.window.start).toBe(first.window.end);
  });

  test("keeps the row's own connector profile, field list and modes", () => {
    // Prepare
    const object = anAccountConfig({
      connectorProfileName: 'salesforce-eu',
      fields: ['Name'],
      deleteMode: 'soft',
      primaryKey: 'ExternalId__c',
      cursorField: 'LastModifiedDate',
    });

    // Act
    const plan = planObject(object, aRun(), DEFAULT_PROFILE);

    // Assess
    expect(plan).toMatchObject({
      connectorProfileName: 'salesforce-eu',
      fields: ['Name'],
      deleteMode: 'soft',
      primaryKey: 'ExternalId__c',
      cursorField: 'LastModifiedDate',
    });
  });

  test("carries the row's sortKey to the plan, and none when the row has none", () => {
    // Act
    const sorted = planObject(anAccountConfig({ sortKey: 'CreatedDate' }), aRun(), DEFAULT_PROFILE);
    const plain = planObject(anAccountConfig(), aRun(), DEFAULT_PROFILE);

    // Assess
    expect(sorted.sortKey).toBe('CreatedDate');
    expect(plain).not.toHaveProperty('sortKey');
  });

  test('carries history to the plan, through resets and full syncs too; a row without it plans none', () => {
    // Act
    const incremental = planObject(anAccountConfig({ history: true }), aRun(), DEFAULT_PROFILE);
    const reset = planObject(
      anAccountConfig({ history: true, resetRequested: true }),
      aRun(),
      DEFAULT_PROFILE,
    );
    const full = planObject(
      anAccountConfig({ history: true }),
      aRun({ syncModeOverride: 'full' }),
      DEFAULT_PROFILE,
    );
    const off = planObject(anAccountConfig({ history: false }), aRun(), DEFAULT_PROFILE);

    // Assess: a reset or a full sync keeps the history table (the procedure never empties it).
    expect(incremental).toMatchObject({ history: true, syncMode: 'incremental' });
    expect(reset).toMatchObject({ history: true, syncMode: 'full', syncReason: 'reset' });
    expect(full).toMatchObject({ history: true, syncMode: 'full', syncReason: 'input' });
    expect(off).not.toHaveProperty('history');
  });

  test('reloads in full with reason reset when the row asks for a reset', () => {
    // Act
    const plan = planObject(anAccountConfig({ resetRequested: true }), aRun(), DEFAULT_PROFILE);

    // Assess
    expect(plan).toMatchObject({ syncMode: 'full', syncReason: 'reset', window: {} });
    expect(plan.nextWatermark).toBe(RUN_STARTED_AT);
  });

  test("reloads in full with reason row when the row's syncMode is full", () => {
    // Act
    const plan = planObject(anAccountConfig({ syncMode: 'full' }), aRun(), DEFAULT_PROFILE);

    // Assess
    expect(plan).toMatchObject({ syncMode: 'full', syncReason: 'row', window: {} });
  });

  test('reloads in full with reason input when the execution input forces syncMode full', () => {
    // Act
    const plan = planObject(anAccountConfig(), aRun({ syncModeOverride: 'full' }), DEFAULT_PROFILE);

    // Assess
    expect(plan).toMatchObject({ syncMode: 'full', syncReason: 'input', window: {} });
  });

  test('an input syncMode incremental overrides a full row once the object has a watermark', () => {
    // Act
    const plan = planObject(
      anAccountConfig({ syncMode: 'full' }),
      aRun({ syncModeOverride: 'incremental' }),
      DEFAULT_PROFILE,
    );

    // Assess
    expect(plan).toMatchObject({ syncMode: 'incremental', syncReason: 'incremental' });
  });

  test('a one-day backfill extracts runDate 00:00Z − lookback up to the next midnight and never moves the watermark', () => {
    // Prepare
    const run = buildRunContext({ runDate: '2026-03-05' }, { name: 'backfill-1', startTime: RUN_STARTED_AT });

    // Act
    const plan = planObject(anAccountConfig(), run, DEFAULT_PROFILE);

    // Assess
    expect(plan).toMatchObject({
      syncMode: 'incremental',
      syncReason: 'backfill',
      window: { start: '2026-03-04T23:00:00.000Z', end: '2026-03-06T00:00:00.000Z' },
    });
    expect(plan).not.toHaveProperty('nextWatermark');
  });

  test('a backfill of today ends at the execution start, not in the future', () => {
    // Prepare
    const run = buildRunContext({ runDate: '2026-03-10' }, { name: 'backfill-2', startTime: RUN_STARTED_AT });

    // Act
    const plan = planObject(anAccountConfig(), run, DEFAULT_PROFILE);

    // Assess
    expect(plan.window).toEqual({ start: '2026-03-09T23:00:00.000Z', end: RUN_STARTED_AT });
    expect(plan.nextWatermark).toBeUndefined();
  });

  test('a from/to backfill covers every day of the range, both ends included', () => {
    // Prepare
    const run = buildRunContext(
      { from: '2026-03-01', to: '2026-03-03' },
      { name: 'backfill-3', startTime: RUN_STARTED_AT },
    );

    // Act
    const plan = planObject(anAccountConfig({ lookbackMinutes: 0 }), run, DEFAULT_PROFILE);

    // Assess
    expect(plan).toMatchObject({
      syncReason: 'backfill',
      window: { start: '2026-03-01T00:00:00.000Z', end: '2026-03-04T00:00:00.000Z' },
    });
    expect(plan.nextWatermark).toBeUndefined();
  });

  test.each([
    [0, 'incremental'],
    [1, 'incremental'],
    [2, 'reconcile'],
  ] as const)(
    'with fullSyncEveryDays 3 and %i runs since the last full sync the run is %s',
    (runsSinceFullSync, reason) => {
      // Prepare
      const object = anAccountConfig({ fullSyncEveryDays: 3, runsSinceFullSync });

      // Act
      const plan = planObject(object, aRun(), DEFAULT_PROFILE);

      // Assess
      expect(plan.syncReason).toBe(reason);
      expect(plan.syncMode).toBe(reason === 'reconcile' ? 'full' : 'incremental');
      expect(plan.nextWatermark).toBe(RUN_STARTED_AT);
    },
  );

  test('never moves a watermark backwards when the execution started before it', () => {
    // Prepare
    const run = aRun({ startedAt: '2026-03-09T00:00:00.000Z' });

    // Act
    const plan = planObject(anAccountConfig({ syncMode: 'full' }), run, DEFAULT_PROFILE);

    // Assess
    expect(plan.nextWatermark).toBe(PREVIOUS_WATERMARK);
  });
});

describe('buildRunContext', () => {
  test('a scheduled run ({}) is dated by its execution start, normalized to ISO with milliseconds', () => {
    // Act
    const run = buildRunContext({}, { name: 'daily-2026-03-10', startTime: '2026-03-10T06:00:00Z' });

    // Assess
    expect(run).toEqual({ runId: 'daily-2026-03-10', startedAt: RUN_STARTED_AT, runDate: '2026-03-10' });
  });

  test("runDate becomes a one-day backfill and the run's date", () => {
    // Act
    const run = buildRunContext({ runDate: '2026-03-05' }, { name: 'x', startTime: RUN_STARTED_AT });

    // Assess
    expect(run.runDate).toBe('2026-03-05');
    expect(run.backfill).toEqual({ from: '2026-03-05', to: '2026-03-05' });
  });

  test('from/to becomes a range backfill and syncMode the override', () => {
    // Act
    const run = buildRunContext(
      { from: '2026-03-01', to: '2026-03-03', syncMode: 'incremental' },
      { name: 'x', startTime: RUN_STARTED_AT },
    );

    // Assess
    expect(run.backfill).toEqual({ from: '2026-03-01', to: '2026-03-03' });
    expect(run.syncModeOverride).toBe('incremental');
    expect(run.runDate).toBe('2026-03-10');
  });
});

describe('runIdFromExecutionName', () => {
  test('keeps a name that is already safe', () => {
    // Act / Assess
    expect(runIdFromExecutionName('daily-2026-03-10_a1')).toBe('daily-2026-03-10_a1');
  });

  test.each([
    ['SQL and quotes', "run'; DROP TABLE salesforce.account; --"],
    ['spaces and punctuation', 'manual rerun (Account, Contact) #2'],
    ['only unsafe characters', '!!!'],
    ['non-ASCII', 'Lauf-März-日本'],
    ['a leading dash after cleaning', ' leading space'],
    ['too long for the pattern', `a${'b'.repeat(80)}`],
  ])('turns a name with %s into a safe, deterministic run id', (_what, name) => {
    // Act
    const runId = runIdFromExecutionName(name);

    // Assess
    expect(runId).toMatch(SAFE_RUN_ID);
    expect(runId).toMatch(/^[A-Za-z0-9]/);
    expect(runId.length).toBeLessThanOrEqual(80);
    expect(runIdFromExecutionName(name)).toBe(runId);
  });

  test('different unsafe names that clean up to the same text get different run ids', () => {
    // Act
    const a = runIdFromExecutionName('rerun Account');
    const b = runIdFromExecutionName('rerun;Account');

    // Assess
    expect(a).not.toBe(b);
    expect(a.startsWith('rerun-Account-')).toBe(true);
  });
});
