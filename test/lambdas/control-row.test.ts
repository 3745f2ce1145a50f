import { parseControlRow, parseControlRows } from '../../lambdas/common/control-row';
import { DEFAULT_SOURCES, type SourceCatalog } from '../../lambdas/common/sources';

/** The environment of issue 14: Salesforce and a TiDB Cloud custom connector. */
const SOURCES: SourceCatalog = {
  salesforce: { ...DEFAULT_SOURCES.salesforce, connectorProfileName: 'salesforce-prod' },
  tidb: {
    connectorType: 'CustomConnector',
    connectorLabel: 'TiDBCloud',
    connectorProfileName: 'tidb-cloud',
    apiVersion: 'v1',
    primaryKey: 'id',
    cursorField: 'updated_at',
    deleteMode: 'hard',
    stagingSchema: 'tidb_incremental',
    finalSchema: 'tidb',
  },
};

function expectRejected(item: Record<string, unknown>) {
  const parsed = parseControlRow(item);
  if (parsed.ok) throw new Error(`expected ${JSON.stringify(item)} to be rejected`);
  return parsed;
}

describe('parseControlRow', () => {
  test('applies every contract default to a row that only names its object', () => {
    // Act
    const parsed = parseControlRow({ objectName: 'Account' });

    // Assess
    expect(parsed).toEqual({
      ok: true,
      object: {
        objectName: 'Account',
        enabled: true,
        sourceName: 'salesforce',
        stagingSchema: 'salesforce_incremental',
        finalSchema: 'salesforce',
        allowUnknownTypes: false,
        connectorType: 'Salesforce',
        primaryKey: 'Id',
        cursorField: 'SystemModstamp',
        syncMode: 'incremental',
        deleteMode: 'hard',
        lookbackMinutes: 60,
        history: false,
        resetRequested: false,
        fullSyncEveryDays: 0,
        syncEveryMinutes: 1440,
        formulaRefreshEveryMinutes: 1440,
        targetTable: 'account',
      },
    });
  });

  test('history: a boolean, off unless the row asks (issue 22)', () => {
    // Act
    const on = parseControlRow({ objectName: 'Opportunity', history: true });
    const bad = expectRejected({ objectName: 'Opportunity', history: 'yes' });

    // Assess
    expect(on.ok && on.object.history).toBe(true);
    expect(bad.error).toMatch(/^Invalid control row "Opportunity": history /);
  });

  test('accepts a sortKey naming a field, for the final table', () => {
    // Act
    const parsed = parseControlRow({ objectName: 'Opportunity', sortKey: 'CloseDate' });

    // Assess
    expect(parsed.ok && parsed.object.sortKey).toBe('CloseDate');
  });

  test('rejects a sortKey that is not a plain field name before it reaches any DDL', () => {
    // Act
    const rejected = expectRejected({ objectName: 'Opportunity', sortKey: 'CloseDate) DISTSTYLE ALL; --' });

    // Assess
    expect(rejected.error).toContain('sortKey');
  });

  test('derives targetTable as the lower-cased object name', () => {
    // Act
    const parsed = parseControlRow({ objectName: 'Opportunity_Line__c' });

    // Assess
    expect(parsed.ok && parsed.object.targetTable).toBe('opportunity_line__c');
  });

  test('keeps an explicit targetTable and the values the pipeline wrote back', () => {
    // Prepare
    const item = {
      objectName: 'Account',
      targetTable: 'accounts_v2',
      watermark: '2026-03-09T06:00:00.000Z',
      runsSinceFullSync: 3,
      lastRun: { runId: 'run-1', status: 'SUCCEEDED', rowsInserted: 4, extra: 'kept' },
    };

    // Act
    const parsed = parseControlRow(item);

    // Assess
    expect(parsed.ok).toBe(true);
    expect(parsed.ok && parsed.object).toMatchObject(item);
  });

  test('accepts a CustomConnector row with its connectorLabel', () => {
    // Act
    const parsed = parseControlRow({
      objectName: 'Invoice',
      connectorType: 'CustomConnector',
      connectorLabel: 'billing-connector',
    });

    // Assess
    expect(parsed.ok).toBe(true);
  });

  test('rejects an objectName carrying SQL and names the row in the error', () => {
    // Act
    const rejected = expectRejected({ objectName: 'Account;DROP TABLE x' });

    // Assess
    expect(rejected.objectName).toBe('Account;DROP TABLE x');
    expect(rejected.error).toContain('"Account;DROP TABLE x"');
    expect(rejected.error).toMatch(/objectName must match/);
  });

  test('reports a row without an objectName', () => {
    // Act
    const rejected = expectRejected({ enabled: true });

    // Assess
    expect(rejected.objectName).toBe('(missing objectName)');
    expect(rejected.error).toMatch(/objectName/);
  });

  test('reports every bad attribute of one row in one error that names the object', () => {
    // Act
    const rejected = expectRejected({
      objectName: 'Account',
      primaryKey: 'Id) OR 1=1',
      lookbackMinutes: -5,
      syncMode: 'weekly',
    });

    // Assess
    expect(rejected.objectName).toBe('Account');
    expect(rejected.error).toMatch(/^Invalid control row "Account": /);
    expect(rejected.error).toMatch(/primaryKey /);
    expect(rejected.error).toMatch(/lookbackMinutes /);
    expect(rejected.error).toMatch(/syncMode /);
  });

  test.each([
    ['primaryKey', 'Id) OR 1=1'],
    ['cursorField', 'SystemModstamp DESC; --'],
    ['lookbackMinutes', -1],
    ['lookbackMinutes', '60'],
    ['flowTimeoutMinutes', 5],
    ['flowTimeoutMinutes', 49 * 60],
    ['flowTimeoutMinutes', 90.5],
    ['syncMode', 'weekly'],
    ['deleteMode', 'purge'],
    ['targetTable', 'Account'],
    ['targetTable', 'account"; drop'],
    ['fields', []],
    ['fields', ['Name', 'Bad Field']],
    ['enabled', 'yes'],
    ['watermark', 'yesterday'],
    ['connectorType', 'Sales force'],
  ])('rejects %s = %j, naming the attribute and the object', (attribute, value) => {
    // Act
    const rejected = expectRejected({ objectName: 'Account', [attribute]: value });

    // Assess
    expect(rejected.error).toContain('"Account"');
    expect(rejected.error).toContain(attribute);
  });

  test('requires a connectorLabel for a CustomConnector row', () => {
    // Act
    const rejected = expectRejected({ objectName: 'Invoice', connectorType: 'CustomConnector' });

    // Assess
    expect(rejected.error).toBe(
      'Invalid control row "Invoice": connectorLabel is required when connectorType is CustomConnector',
    );
  });

  test("takes a custom-connector source's connector, profile, API version, key, cursor and schemas", () => {
    // Act
    const parsed = parseControlRow({ objectName: 'Orders', sourceName: 'tidb' }, SOURCES);

    // Assess
    expect(parsed.ok && parsed.object).toMatchObject({
      sourceName: 'tidb',
      connectorType: 'CustomConnector',
      connectorLabel: 'TiDBCloud',
      connectorProfileName: 'tidb-cloud',
      apiVersion: 'v1',
      primaryKey: 'id',
      cursorField: 'updated_at',
      deleteMode: 'hard',
      stagingSchema: 'tidb_incremental',
      finalSchema: 'tidb',
      targetTable: 'orders',
    });
  });

  test("lets the row's own key, cursor and entityName override the source's", () => {
    // Act
    const parsed = parseControlRow(
      {
        objectName: 'tidb_orders',
        sourceName: 'tidb',
        entityName: 'orders',
        primaryKey: 'order_id',
        cursorField: 'modified_at',
      },
      SOURCES,
    );

    // Assess
    expect(parsed.ok && parsed.object).toMatchObject({
      entityName: 'orders',
      primaryKey: 'order_id',
      cursorField: 'modified_at',
      targetTable: 'tidb_orders',
    });
  });

  test('names an unknown sourceName and lists the configured sources', () => {
    // Act
    const parsed = parseControlRow({ objectName: 'Orders', sourceName: 'mysql' }, SOURCES);

    // Assess
    expect(parsed).toEqual({
      ok: false,
      objectName: 'Orders',
      error:
        'Invalid control row "Orders": sourceName "mysql" is not a configured source (known: salesforce, tidb)',
    });
  });

  test('rejects a sourceName that is not a SQL identifier before it names a schema', () => {
    // Act
    const rejected = expectRejected({ objectName: 'Orders', sourceName: 'tidb"; DROP SCHEMA x' });

    // Assess
    expect(rejected.error).toMatch(/sourceName must be a lower-case SQL identifier/);
  });

  test('keeps rows without sourceName on Salesforce when other sources exist', () => {
    // Act
    const parsed = parseControlRow({ objectName: 'Account' }, SOURCES);

    // Assess
    expect(parsed.ok && parsed.object).toMatchObject({
      sourceName: 'salesforce',
      connectorType: 'Salesforce',
      connectorProfileName: 'salesforce-prod',
      primaryKey: 'Id',
      cursorField: 'SystemModstamp',
      stagingSchema: 'salesforce_incremental',
    });
  });

  test('still refuses two rows of different sources loading one target table', () => {
    // Act
    const rows = parseControlRows(
      [
        { objectName: 'Orders', sourceName: 'tidb' },
        { objectName: 'Order_x', targetTable: 'orders' },
      ],
      SOURCES,
    );

    // Assess: one --dump directory holds every final table, so names stay unique per warehouse
    expect(rows.map((row) => row.ok)).toEqual([false, false]);
    expect(rows[0].ok === false && rows[0].error).toContain('targetTable is shared by Orders and Order_x');
  });

  test('rejects an entityName AppFlow would refuse before it reaches a flow', () => {
    // Act
    const rejected = expectRejected({ objectName: 'Orders', entityName: 'orders; DROP' });

    // Assess
    expect(rejected.error).toMatch(/^Invalid control row "Orders": entityName must be a source entity name/);
  });
});
