import { parseControlRow } from '../../lambdas/common/control-row';

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
        connectorType: 'Salesforce',
        primaryKey: 'Id',
        cursorField: 'SystemModstamp',
        syncMode: 'incremental',
        deleteMode: 'hard',
        lookbackMinutes: 60,
        resetRequested: false,
        fullSyncEveryDays: 0,
        targetTable: 'account',
      },
    });
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
});
