import {
  ABSENT,
  DAY_TABLE_HEADERS,
  dayTableRows,
  SUMMARY_TABLE_HEADERS,
  summaryTableRows,
} from '../../local/runner/day-table';
import type { DayReport, ObjectDayReport } from '../../local/runner/run-scenario';

function anObject(overrides: Partial<ObjectDayReport> = {}): ObjectDayReport {
  return {
    status: 'SUCCEEDED',
    recordsExtracted: 12,
    duplicatesRemoved: 0,
    rowsInserted: 5,
    rowsDeleted: 1,
    error: null,
    syncMode: 'incremental',
    ...overrides,
  };
}

function aDay(objects: Record<string, ObjectDayReport>): DayReport {
  return {
    date: '2026-01-02',
    executionName: 'day-2',
    executionStatus: 'SUCCEEDED',
    objects,
    flowsRemaining: 0,
    stats: { stateTransitions: 0, lambdaInvocations: 0, consolidationCalls: 0, startFlowCalls: 0 },
  } as DayReport;
}

/** A table row as column → cell. */
const byColumn = (headers: string[], row: unknown[]) =>
  Object.fromEntries(headers.map((header, index) => [header, row[index]]));

describe('per-day table of npm run local', () => {
  test('inserted counts only new keys: replaced versions (rowsUpdated) come off rowsInserted', () => {
    // Act
    const [row] = dayTableRows(
      aDay({ Account: anObject({ rowsInserted: 5, rowsUpdated: 2, rowsUnchanged: 7 }) }),
    );

    // Assess
    expect(byColumn(DAY_TABLE_HEADERS, row)).toMatchObject({
      object: 'Account',
      extracted: 12,
      inserted: 3,
      updated: 2,
      unchanged: 7,
      deleted: 1,
    });
  });

  test('the note says what a column refresh rewrote and which field types changed (issue 21)', () => {
    // Act
    const [refreshed, wide] = dayTableRows(
      aDay({
        Deal__c: anObject({
          consolidationSkipped: true,
          columnsRefreshed: ['code__c', 'days_open__c'],
          rowsRefreshed: 3,
          typeChanges: [{ field: 'Code__c', from: 'VARCHAR(40)', to: 'DECIMAL(18,2)' }],
        }),
        Wide__c: anObject({ columnsRefreshed: ['a', 'b', 'c', 'd'], rowsRefreshed: 0 }),
      }),
    );

    // Assess
    expect(byColumn(DAY_TABLE_HEADERS, refreshed).note).toBe(
      '(empty run: no consolidation); type changed: Code__c; refreshed code__c, days_open__c (3 rows rewritten)',
    );
    expect(byColumn(DAY_TABLE_HEADERS, wide).note).toBe('refreshed 4 columns (0 rows rewritten)');
  });

  test('dupes removed shows the staging duplicates of the day (a DuplicateWrite fault)', () => {
    // Act
    const [row] = dayTableRows(
      aDay({ Contact: anObject({ duplicatesRemoved: 4, rowsUpdated: 0, rowsUnchanged: 0 }) }),
    );

    // Assess
    expect(byColumn(DAY_TABLE_HEADERS, row)['dupes removed']).toBe(4);
  });

  test("a report without rowsUpdated / rowsUnchanged prints '-' there, and inserted as reported", () => {
    // Act
    const [row] = dayTableRows(aDay({ Account: anObject({ rowsInserted: 5 }) }));

    // Assess
    expect(byColumn(DAY_TABLE_HEADERS, row)).toMatchObject({
      inserted: 5,
      updated: ABSENT,
      unchanged: ABSENT,
    });
  });

  test('a failed object shows its error in the note, an empty run says it skipped consolidation', () => {
    // Act
    const rows = dayTableRows(
      aDay({
        Account: anObject({ status: 'FAILED', error: 'FlowRunFailed: INVALID_SESSION_ID' }),
        Contact: anObject({
          recordsExtracted: 0,
          rowsInserted: 0,
          rowsDeleted: 0,
          consolidationSkipped: true,
        }),
      }),
    );

    // Assess
    expect(rows.map((row) => byColumn(DAY_TABLE_HEADERS, row).note)).toEqual([
      'FlowRunFailed: INVALID_SESSION_ID',
      '(empty run: no consolidation)',
    ]);
  });
});

describe('summary table of npm run local', () => {
  test('sums each figure over the objects of the day, inserted being new keys only', () => {
    // Act
    const [row] = summaryTableRows([
      aDay({
        Account: anObject({ rowsInserted: 5, rowsUpdated: 2, rowsUnchanged: 7, duplicatesRemoved: 3 }),
        Contact: anObject({ rowsInserted: 4, rowsUpdated: 4, rowsUnchanged: 1, status: 'FAILED' }),
      }),
    ]);

    // Assess
    expect(byColumn(SUMMARY_TABLE_HEADERS, row)).toMatchObject({
      day: 1,
      succeeded: 1,
      failed: 1,
      extracted: 24,
      inserted: 3,
      updated: 6,
      unchanged: 8,
      deleted: 2,
      'dupes removed': 3,
      'flows left': 0,
    });
  });

  test("a figure no object reported is '-', not 0; a day without objects sums to 0", () => {
    // Act
    const [reported, empty] = summaryTableRows([aDay({ Account: anObject() }), aDay({})]);

    // Assess
    expect(byColumn(SUMMARY_TABLE_HEADERS, reported)).toMatchObject({ updated: ABSENT, unchanged: ABSENT });
    expect(byColumn(SUMMARY_TABLE_HEADERS, empty)).toMatchObject({ inserted: 0, updated: 0, unchanged: 0 });
  });
});
