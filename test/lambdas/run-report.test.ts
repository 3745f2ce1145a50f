import { emptyResult, type ObjectResult } from '../../lambdas/common/object-state';
import { buildRunReport, renderRunReport } from '../../lambdas/common/run-report';
import { aRun } from './support/fixtures';

const FINISHED_AT = new Date('2026-03-10T06:20:00.000Z');

function succeeded(objectName: string, overrides: Partial<ObjectResult> = {}): ObjectResult {
  return {
    ...emptyResult(objectName, 'SUCCEEDED', null),
    syncMode: 'incremental',
    syncReason: 'incremental',
    recordsExtracted: 120,
    duplicatesRemoved: 20,
    rowsInserted: 95,
    rowsDeleted: 5,
    durationSeconds: 300,
    ...overrides,
  };
}

describe('buildRunReport', () => {
  test('is SUCCEEDED, with results sorted by name, when every object loaded', () => {
    // Act
    const report = buildRunReport(aRun(), [succeeded('Opportunity'), succeeded('Account')], FINISHED_AT);

    // Assess
    expect(report).toMatchObject({
      runId: 'run-2026-03-10',
      runDate: '2026-03-10',
      startedAt: '2026-03-10T06:00:00.000Z',
      finishedAt: '2026-03-10T06:20:00.000Z',
      status: 'SUCCEEDED',
      failedObjects: [],
      summary: 'Run run-2026-03-10: 2 of 2 objects loaded',
    });
    expect(report.objects.map((result) => result.objectName)).toEqual(['Account', 'Opportunity']);
    expect(report).not.toHaveProperty('rerunInput');
  });

  test('is FAILED when any object failed; the summary names each with its error and gives the rerun input', () => {
    // Prepare
    const results = [
      succeeded('Opportunity'),
      emptyResult('Contact', 'FAILED', 'Throttled: Contact: StartFlow: Rate exceeded'),
      succeeded('Account'),
      emptyResult('Account;DROP TABLE x', 'FAILED', 'Invalid control row "Account;DROP TABLE x": objectName'),
      emptyResult('Lead', 'SKIPPED', 'Lead is disabled in the control table'),
    ];

    // Act
    const report = buildRunReport(aRun(), results, FINISHED_AT);

    // Assess
    expect(report.status).toBe('FAILED');
    expect(report.failedObjects).toEqual(['Account;DROP TABLE x', 'Contact']);
    expect(report.rerunInput).toEqual({ objects: ['Account;DROP TABLE x', 'Contact'] });
    expect(report.summary).toMatch(/^Run run-2026-03-10: 2 of 5 objects (failed|not loaded): /);
    expect(report.summary).toContain('Contact (Throttled: Contact: StartFlow: Rate exceeded)');
    expect(report.summary).toContain('Account;DROP TABLE x (Invalid control row');
    expect(report.summary).toContain('Rerun them with input {"objects":["Account;DROP TABLE x","Contact"]}');
  });

  test('a skipped object does not fail the run', () => {
    // Act
    const report = buildRunReport(
      aRun(),
      [succeeded('Account'), emptyResult('Lead', 'SKIPPED', 'Lead is disabled in the control table')],
      FINISHED_AT,
    );

    // Assess
    expect(report.status).toBe('SUCCEEDED');
    expect(report.summary).toBe('Run run-2026-03-10: 1 of 2 objects loaded');
  });

  test("an object skipped for the source's API quota fails the run and is named for the rerun", () => {
    // Act
    const report = buildRunReport(
      aRun(),
      [
        succeeded('Account'),
        emptyResult('Contact', 'SKIPPED_QUOTA', 'Skipped: the source org has 10 of 100 left'),
      ],
      FINISHED_AT,
    );

    // Assess
    expect(report.status).toBe('FAILED');
    expect(report.rerunInput).toEqual({ objects: ['Contact'] });
  });

  test('keeps the summary short enough for a console cause even with many long errors', () => {
    // Prepare
    const results = Array.from({ length: 50 }, (_, i) =>
      emptyResult(`Object${i}`, 'FAILED', 'x'.repeat(500)),
    );

    // Act
    const report = buildRunReport(aRun(), results, FINISHED_AT);

    // Assess
    expect(report.summary.length).toBeLessThan(3000 + 1000);
    expect(report.rerunInput?.objects).toHaveLength(50);
  });
});

describe('run report figures of contracts 6 and 7', () => {
  test('carries rowsUpdated, rowsUnchanged and valuesTruncated per object', () => {
    // Act
    const report = buildRunReport(
      aRun(),
      [succeeded('Account', { rowsUpdated: 30, rowsUnchanged: 4, valuesTruncated: 2 })],
      FINISHED_AT,
    );

    // Assess
    expect(report.objects[0]).toMatchObject({ rowsUpdated: 30, rowsUnchanged: 4, valuesTruncated: 2 });
    expect(renderRunReport(report.objects).split('\n')[2]).toMatch(/ +95 +30 +4 +5 +2 +300$/);
  });

  test('names the objects whose long-text values were cut in the summary line: never a silent cut', () => {
    // Act
    const report = buildRunReport(
      aRun(),
      [succeeded('Account', { valuesTruncated: 2 }), succeeded('Contact')],
      FINISHED_AT,
    );

    // Assess
    expect(report.summary).toBe(
      'Run run-2026-03-10: 2 of 2 objects loaded; long-text values cut to 16383 characters: Account 2',
    );
  });
});

describe('renderRunReport', () => {
  test('renders a header, a rule and one line per object', () => {
    // Prepare
    const objects = [
      succeeded('Account'),
      emptyResult('Contact', 'FAILED', 'Throttled: Rate exceeded'),
      succeeded('Opportunity', { syncMode: 'full' }),
    ];

    // Act
    const lines = renderRunReport(objects).split('\n');

    // Assess
    expect(lines).toHaveLength(2 + objects.length);
    expect(lines[0].split(/\s+/)).toEqual([
      'object',
      'status',
      'mode',
      'extracted',
      'dupes',
      'inserted',
      'updated',
      'unchanged',
      'deleted',
      'truncated',
      'secs',
      'error',
    ]);
    expect(lines[1]).toMatch(/^-+( +-+)+$/);
    expect(lines[2]).toMatch(/^Account +SUCCEEDED +incremental +120 +20 +95 +0 +0 +5 +0 +300$/);
    expect(lines[3]).toMatch(/^Contact +FAILED +0 +0 +0 +0 +0 +0 +0 +Throttled: Rate exceeded$/);
    expect(lines[4]).toMatch(/^Opportunity +SUCCEEDED +full /);
  });

  test('lines up the columns', () => {
    // Act
    const lines = renderRunReport([succeeded('A'), succeeded('AVeryLongObjectName__c')]).split('\n');

    // Assess
    const statusAt = lines[0].indexOf('status');
    expect(lines.slice(2).map((line) => line.indexOf('SUCCEEDED'))).toEqual([statusAt, statusAt]);
  });

  test('shortens long errors to 120 characters', () => {
    // Act
    const table = renderRunReport([emptyResult('Contact', 'FAILED', `E${'x'.repeat(300)}`)]);

    // Assess
    expect(table).toContain(`E${'x'.repeat(119)}`);
    expect(table).not.toContain('x'.repeat(120));
  });

  test('renders only the header and rule when there are no objects', () => {
    // Act / Assess
    expect(renderRunReport([]).split('\n')).toHaveLength(2);
  });
});

describe('run report of objects that keep history (issue 22)', () => {
  test('a history column (+added -closed) appears when some object keeps history, blank for the others', () => {
    // Prepare
    const objects = [
      succeeded('Account'),
      succeeded('Opportunity', { historyVersionsAdded: 12, historyVersionsClosed: 5 }),
    ];

    // Act
    const lines = renderRunReport(buildRunReport(aRun(), objects, FINISHED_AT).objects).split('\n');

    // Assess
    expect(lines[0].split(/\s+/)).toEqual([
      'object',
      'status',
      'mode',
      'extracted',
      'dupes',
      'inserted',
      'updated',
      'unchanged',
      'deleted',
      'truncated',
      'history',
      'secs',
      'error',
    ]);
    expect(lines[2]).toMatch(/^Account +SUCCEEDED +incremental +120 +20 +95 +0 +0 +5 +0 +300$/);
    expect(lines[3]).toMatch(/^Opportunity +SUCCEEDED +incremental +120 +20 +95 +0 +0 +5 +0 +\+12 -5 +300$/);
  });

  test('no history column when no object keeps history', () => {
    // Act
    const header = renderRunReport([succeeded('Account')]).split('\n')[0];

    // Assess
    expect(header).not.toContain('history');
  });
});

describe('run report of a source that cannot filter the cursor', () => {
  test('names the full-sync-only objects in the summary and marks their mode in the table', () => {
    // Prepare
    const orders = succeeded('tidb_orders', { syncMode: 'full', syncReason: 'cursor-not-filterable' });

    // Act
    const report = buildRunReport(aRun(), [succeeded('Account'), orders], FINISHED_AT);
    const table = renderRunReport(report.objects);

    // Assess
    expect(report.summary).toBe(
      'Run run-2026-03-10: 2 of 2 objects loaded; full sync only (the source cannot filter the cursor field): tidb_orders',
    );
    expect(table).toMatch(/tidb_orders\s+SUCCEEDED\s+full \(only\)/);
  });
});
