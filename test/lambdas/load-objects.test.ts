import { aRun, PREVIOUS_WATERMARK } from './support/fixtures';

Object.assign(process.env, {
  CONTROL_TABLE_NAME: 'control-test',
  DEFAULT_CONNECTOR_PROFILE: 'salesforce-default',
  RUN_STATE_BUCKET_NAME: 'run-state-test',
  FLOW_TIMEOUT_MINUTES: '720',
});
const { selectObjects } =
  require('../../lambdas/load-objects') as typeof import('../../lambdas/load-objects');

const PROFILE = 'salesforce-default';

const rows: Record<string, unknown>[] = [
  { objectName: 'Opportunity', watermark: PREVIOUS_WATERMARK },
  { objectName: 'Account;DROP TABLE x' },
  { objectName: 'Contact', primaryKey: 'Id) OR 1=1' },
  { objectName: 'Account', watermark: PREVIOUS_WATERMARK },
  { objectName: 'Lead', enabled: false },
  { objectName: 'Case', lookbackMinutes: -1 },
];

describe('selectObjects', () => {
  test('plans every good enabled row and reports every bad row FAILED with its name and reason', () => {
    // Act
    const { objects, rejected } = selectObjects(rows, undefined, aRun(), PROFILE);

    // Assess
    expect(objects.map((plan) => plan.objectName)).toEqual(['Account', 'Opportunity']);
    expect(rejected.map((result) => [result.objectName, result.status])).toEqual([
      ['Account;DROP TABLE x', 'FAILED'],
      ['Case', 'FAILED'],
      ['Contact', 'FAILED'],
    ]);
    expect(rejected.find((result) => result.objectName === 'Contact')?.error).toMatch(
      /^Invalid control row "Contact": primaryKey/,
    );
    expect(rejected.find((result) => result.objectName === 'Case')?.error).toMatch(/lookbackMinutes/);
    expect(rejected.find((result) => result.objectName === 'Account;DROP TABLE x')?.error).toMatch(
      /objectName/,
    );
  });

  test('gives rejected objects zero figures so the report can add them up', () => {
    // Act
    const { rejected } = selectObjects(rows, undefined, aRun(), PROFILE);

    // Assess
    expect(rejected[0]).toEqual({
      objectName: 'Account;DROP TABLE x',
      status: 'FAILED',
      recordsExtracted: 0,
      duplicatesRemoved: 0,
      rowsInserted: 0,
      rowsDeleted: 0,
      rowsPurged: 0,
      rowsUpdated: 0,
      rowsUnchanged: 0,
      valuesTruncated: 0,
      consolidationSkipped: false,
      error: expect.stringContaining('Invalid control row'),
    });
  });

  test('skips disabled rows silently when the input names no objects', () => {
    // Act
    const { objects, rejected } = selectObjects(rows, undefined, aRun(), PROFILE);

    // Assess
    expect(objects.map((plan) => plan.objectName)).not.toContain('Lead');
    expect(rejected.map((result) => result.objectName)).not.toContain('Lead');
  });

  test("plans each object with the run's context and the default connector profile", () => {
    // Act
    const { objects } = selectObjects(rows, undefined, aRun(), PROFILE);

    // Assess
    expect(objects[0]).toMatchObject({
      objectName: 'Account',
      targetTable: 'account',
      connectorProfileName: PROFILE,
      syncMode: 'incremental',
      window: { start: '2026-03-09T05:00:00.000Z', end: '2026-03-10T06:00:00.000Z' },
    });
  });

  test('honours the objects subset of the input', () => {
    // Act
    const { objects, rejected } = selectObjects(rows, ['Opportunity'], aRun(), PROFILE);

    // Assess
    expect(objects.map((plan) => plan.objectName)).toEqual(['Opportunity']);
    expect(rejected).toEqual([]);
  });

  test('reports a named object without a row FAILED as unknown, a disabled one SKIPPED, a bad one FAILED', () => {
    // Act
    const { objects, rejected } = selectObjects(
      rows,
      ['Account', 'Widget', 'Lead', 'Contact', 'Account'],
      aRun(),
      PROFILE,
    );

    // Assess
    expect(objects.map((plan) => plan.objectName)).toEqual(['Account']);
    expect(rejected.map((result) => [result.objectName, result.status, result.error])).toEqual([
      ['Contact', 'FAILED', expect.stringMatching(/^Invalid control row "Contact"/)],
      ['Lead', 'SKIPPED', 'Lead is disabled in the control table'],
      ['Widget', 'FAILED', 'Unknown object "Widget": no control-table row'],
    ]);
  });

  test('returns objects and rejections sorted by name whatever the scan order', () => {
    // Act
    const forward = selectObjects(rows, undefined, aRun(), PROFILE);
    const backward = selectObjects([...rows].reverse(), undefined, aRun(), PROFILE);

    // Assess
    expect(backward).toEqual(forward);
    const names = forward.objects.map((plan) => plan.objectName);
    expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b)));
  });

  test('plans nothing for an empty control table', () => {
    // Act / Assess
    expect(selectObjects([], undefined, aRun(), PROFILE)).toEqual({ objects: [], rejected: [], valid: [] });
  });

  describe('two rows writing the same targetTable', () => {
    const clash = (message: string) =>
      expect.stringMatching(new RegExp(`^Invalid control row "${message}": targetTable is shared by `));

    test('rejects both rows FAILED, naming both, when their names differ only in case', () => {
      // Act
      const { objects, rejected } = selectObjects(
        [...rows, { objectName: 'account', watermark: PREVIOUS_WATERMARK }],
        undefined,
        aRun(),
        PROFILE,
      );

      // Assess: the other rows still plan
      expect(objects.map((plan) => plan.objectName)).toEqual(['Opportunity']);
      const clashing = rejected.filter((result) => /targetTable is shared/.test(result.error ?? ''));
      expect(clashing.map((result) => [result.objectName, result.status])).toEqual([
        ['account', 'FAILED'],
        ['Account', 'FAILED'],
      ]);
      for (const result of clashing) {
        expect(result.error).toEqual(clash(result.objectName));
        expect(result.error).toContain('Account');
        expect(result.error).toContain('account');
      }
    });

    test("rejects both rows when an explicit targetTable meets another row's default", () => {
      // Act
      const { objects, rejected } = selectObjects(
        [
          { objectName: 'Account', watermark: PREVIOUS_WATERMARK },
          { objectName: 'Account_Archive', targetTable: 'account' },
          { objectName: 'Opportunity', watermark: PREVIOUS_WATERMARK },
        ],
        undefined,
        aRun(),
        PROFILE,
      );

      // Assess
      expect(objects.map((plan) => plan.objectName)).toEqual(['Opportunity']);
      expect(rejected.map((result) => [result.objectName, result.status, result.error])).toEqual([
        [
          'Account',
          'FAILED',
          expect.stringMatching(/Account and Account_Archive|Account_Archive and Account/),
        ],
        [
          'Account_Archive',
          'FAILED',
          expect.stringMatching(/Account and Account_Archive|Account_Archive and Account/),
        ],
      ]);
    });

    test('rejects both rows when two explicit targetTables are equal', () => {
      // Act
      const { objects, rejected } = selectObjects(
        [
          { objectName: 'Lead', targetTable: 'people' },
          { objectName: 'Contact', targetTable: 'people' },
          { objectName: 'Opportunity', watermark: PREVIOUS_WATERMARK },
        ],
        undefined,
        aRun(),
        PROFILE,
      );

      // Assess
      expect(objects.map((plan) => plan.objectName)).toEqual(['Opportunity']);
      expect(rejected.map((result) => result.objectName)).toEqual(['Contact', 'Lead']);
      for (const result of rejected) {
        expect(result.status).toBe('FAILED');
        expect(result.error).toMatch(/targetTable is shared by (Lead and Contact|Contact and Lead)/);
      }
    });

    test('reports a clashing row named in the input FAILED with the clash, and still plans the other named rows', () => {
      // Act
      const { objects, rejected } = selectObjects(
        [...rows, { objectName: 'account', watermark: PREVIOUS_WATERMARK }],
        ['Account', 'Opportunity'],
        aRun(),
        PROFILE,
      );

      // Assess
      expect(objects.map((plan) => plan.objectName)).toEqual(['Opportunity']);
      expect(rejected.map((result) => [result.objectName, result.status, result.error])).toEqual([
        ['Account', 'FAILED', clash('Account')],
      ]);
    });

    test('leaves rows with distinct targetTables alone', () => {
      // Act
      const { objects, rejected } = selectObjects(
        [
          { objectName: 'Account', watermark: PREVIOUS_WATERMARK },
          { objectName: 'Account_Archive', targetTable: 'account_archive' },
        ],
        undefined,
        aRun(),
        PROFILE,
      );

      // Assess
      expect(objects.map((plan) => plan.objectName)).toEqual(['Account', 'Account_Archive']);
      expect(rejected).toEqual([]);
    });
  });
});

describe('selectObjects with several sources (issue 14)', () => {
  const { applyQuotaGuard } =
    require('../../lambdas/common/quota-guard') as typeof import('../../lambdas/common/quota-guard');
  const { DEFAULT_SOURCES } =
    require('../../lambdas/common/sources') as typeof import('../../lambdas/common/sources');
  const sources = {
    salesforce: { ...DEFAULT_SOURCES.salesforce, connectorProfileName: 'salesforce-prod' },
    tidb: {
      connectorType: 'CustomConnector',
      connectorLabel: 'TiDBCloud',
      connectorProfileName: 'tidb-cloud',
      primaryKey: 'id',
      cursorField: 'updated_at',
      deleteMode: 'hard' as const,
      stagingSchema: 'tidb_incremental',
      finalSchema: 'tidb',
    },
  };
  const mixedRows = [
    { objectName: 'Account', watermark: PREVIOUS_WATERMARK },
    { objectName: 'Orders', sourceName: 'tidb', watermark: PREVIOUS_WATERMARK },
    { objectName: 'Invoices', sourceName: 'billing' },
  ];

  test('reports a row naming an unknown source and plans the other rows with their schemas', () => {
    // Act
    const { objects, rejected } = selectObjects(mixedRows, undefined, aRun(), PROFILE, sources);

    // Assess
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({
      objectName: 'Invoices',
      status: 'FAILED',
      error:
        'Invalid control row "Invoices": sourceName "billing" is not a configured source (known: salesforce, tidb)',
    });
    expect(
      objects.map((plan) => [
        plan.objectName,
        plan.stagingSchema,
        plan.finalSchema,
        plan.connectorProfileName,
      ]),
    ).toEqual([
      ['Account', 'salesforce_incremental', 'salesforce', 'salesforce-prod'],
      ['Orders', 'tidb_incremental', 'tidb', 'tidb-cloud'],
    ]);
    expect(objects[1]).toMatchObject({
      primaryKey: 'id',
      cursorField: 'updated_at',
      connectorLabel: 'TiDBCloud',
    });
  });

  test("skips only the Salesforce objects when the org's API quota is low", () => {
    // Prepare
    const planned = selectObjects(mixedRows.slice(0, 2), undefined, aRun(), PROFILE, sources);

    // Act
    const guarded = applyQuotaGuard(planned, { remaining: 10, max: 1000 }, 0.2);

    // Assess
    expect(guarded.objects.map((plan) => plan.objectName)).toEqual(['Orders']);
    expect(guarded.rejected.map((result) => [result.objectName, result.status])).toEqual([
      ['Account', 'SKIPPED_QUOTA'],
    ]);
  });
});
