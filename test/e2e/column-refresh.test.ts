import type { ScenarioInput } from '../../local/runner/scenario';
import {
  expectNoFlowsLeft,
  expectWarehouseEqualsSource,
  runLocalScenario,
  type ScenarioRun,
  TIDB_CLOUD_SOURCE,
} from './e2e-support';

/**
 * Issue 21's done-when, end to end through the real state machine, handlers and SQL: values that
 * change without moving the cursor reach the warehouse by a column refresh, never by a full reload.
 * - `Deal__c`: two formula fields recalculated at the source (a number and a cross-object text);
 *   then four type changes (number → text, text → number, a text length shrink, a widening to a
 *   32,000-character text area) and a new field whose values were set without moving the cursor.
 * - `Ticket__c`: a field that behaves like a formula without being one (`refreshFields`).
 * - `Wide__c`: 600 fields, 10 of them formulas.
 */

const DEAL = 'Deal__c';
const TICKET = 'Ticket__c';
const WIDE = 'Wide__c';
const WIDE_FIELDS = 600;
const WIDE_FORMULAS = 10;

const deal = (n: number) => `a0D${String(n).padStart(15, '0')}`;
const ticket = (n: number) => `a0T${String(n).padStart(15, '0')}`;
const wide = (n: number) => `a0W${String(n).padStart(15, '0')}`;
/** A 30-character custom field name, as wide objects have them. */
const wideField = (index: number) => `${`Field_${String(index).padStart(4, '0')}_`.padEnd(27, 'x')}__c`;
const wideFormula = (index: number) => `${`Formula_${String(index).padStart(2, '0')}_`.padEnd(27, 'x')}__c`;
const NOTE = 'A note of a hundred characters, '.padEnd(100, 'n');
const SUMMARY = 'S'.repeat(5_000);

function scenario(): ScenarioInput {
  const wideFields = [
    ...Array.from({ length: WIDE_FIELDS - 4 - WIDE_FORMULAS }, (_, index) => ({
      name: wideField(index),
      type: 'string' as const,
      length: 40,
    })),
    ...Array.from({ length: WIDE_FORMULAS }, (_, index) => ({
      name: wideFormula(index),
      type: 'double' as const,
      precision: 18,
      scale: 2,
      formula: true,
    })),
  ];
  const formulas = (value: number) =>
    Object.fromEntries(
      Array.from({ length: WIDE_FORMULAS }, (_, index) => [wideFormula(index), value + index]),
    );
  return {
    // No lookback: each run extracts only what moved its cursor since the last one (records the
    // overlap would extract again would bring their formulas along, and hide what the refresh does).
    objects: [
      { objectName: DEAL, lookbackMinutes: 0 },
      { objectName: TICKET, lookbackMinutes: 0, refreshFields: ['Status__c'] },
      { objectName: WIDE, lookbackMinutes: 0 },
    ],
    sourceObjects: {
      [DEAL]: {
        fields: [
          { name: 'Amount__c', type: 'currency', precision: 18, scale: 2 },
          { name: 'Days_Open__c', type: 'double', precision: 18, scale: 0, formula: true },
          { name: 'Account_Name__c', type: 'string', length: 80, formula: true },
          { name: 'Score__c', type: 'double', precision: 18, scale: 2 },
          { name: 'Code__c', type: 'string', length: 10 },
          { name: 'Note__c', type: 'string', length: 255 },
          { name: 'Summary__c', type: 'string', length: 255 },
        ],
      },
      [TICKET]: { fields: [{ name: 'Status__c', type: 'picklist', length: 40 }] },
      [WIDE]: { fields: wideFields },
    },
    days: [
      {
        // The first load, in full.
        date: '2026-04-01',
        changes: {
          [DEAL]: {
            upsert: [
              { Id: deal(1), Name: 'Edge', Amount__c: 1000, Score__c: 12.5, Code__c: '42', Note__c: NOTE },
              { Id: deal(2), Name: 'Burlington', Amount__c: 2000, Score__c: 7, Code__c: 'ABC-1' },
              { Id: deal(3), Name: 'Pyramid', Amount__c: 3000, Summary__c: 'short' },
            ],
            // Salesforce computes formulas: upsert refuses them, a recalculation sets them.
            recompute: [
              { Id: deal(1), Days_Open__c: 1, Account_Name__c: 'Edge Communications' },
              { Id: deal(2), Days_Open__c: 2, Account_Name__c: 'Burlington Textiles' },
              { Id: deal(3), Days_Open__c: 3, Account_Name__c: 'Pyramid Construction' },
            ],
          },
          [TICKET]: {
            upsert: [
              { Id: ticket(1), Name: 'T1', Status__c: 'New' },
              { Id: ticket(2), Name: 'T2', Status__c: 'New' },
            ],
          },
          [WIDE]: {
            upsert: [1, 2, 3].map((n) => ({ Id: wide(n), Name: `Wide ${n}`, [wideField(n)]: `v${n}` })),
            recompute: [1, 2, 3].map((n) => ({ Id: wide(n), ...formulas(n) })),
          },
        },
      },
      {
        // A day later: formulas recalculated (no cursor moves), one deal edited.
        date: '2026-04-02',
        changes: {
          [DEAL]: {
            upsert: [{ Id: deal(2), Amount__c: 2500 }],
            recompute: [{ Id: deal(1), Days_Open__c: 2, Account_Name__c: 'Edge Communications Ltd' }],
          },
          [TICKET]: { recompute: [{ Id: ticket(1), Status__c: 'Closed' }] },
          [WIDE]: { recompute: [{ Id: wide(2), ...formulas(100) }] },
        },
      },
      {
        // An operator's run four hours later: formulas are not due again (daily); this change waits.
        date: '2026-04-02',
        startTime: '2026-04-02T10:00:00.000Z',
        changes: { [DEAL]: { recompute: [{ Id: deal(3), Days_Open__c: 9 }] } },
      },
      {
        // Salesforce changes four field types and gains a field whose values no cursor announces.
        date: '2026-04-03',
        alterFields: {
          [DEAL]: [
            { name: 'Score__c', type: 'string', length: 40 },
            { name: 'Code__c', type: 'double', precision: 18, scale: 2 },
            { name: 'Note__c', type: 'string', length: 80 },
            { name: 'Summary__c', type: 'textarea', length: 32_000 },
            { name: 'Tier__c', type: 'picklist', length: 20 },
          ],
        },
        changes: {
          [DEAL]: {
            upsert: [{ Id: deal(2), Summary__c: SUMMARY }],
            recompute: [
              { Id: deal(1), Tier__c: 'Gold' },
              { Id: deal(3), Tier__c: 'Silver' },
            ],
          },
        },
      },
      { date: '2026-04-04' },
    ],
  };
}

describe('local run: column refresh (issue 21)', () => {
  let run: ScenarioRun;
  const objectOn = (day: number, objectName: string) => run.day(day).objects[objectName];

  beforeAll(async () => {
    run = await runLocalScenario(scenario());
  }, 600_000);

  test('every day succeeds and leaves no flow behind, the refresh flows included', () => {
    expect(
      run.report.days.map((day) => [
        day.executionStatus,
        ...[DEAL, TICKET, WIDE].map((name) => day.objects[name]?.error ?? day.objects[name]?.status),
      ]),
    ).toEqual(run.report.days.map(() => ['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']));
    expectNoFlowsLeft(run);
  });

  test('after the first load, no object is ever reloaded in full', () => {
    for (const [index, day] of run.report.days.entries()) {
      for (const name of [DEAL, TICKET, WIDE]) {
        expect({ day: index + 1, name, syncMode: day.objects[name]?.syncMode }).toEqual({
          day: index + 1,
          name,
          syncMode: index === 0 ? 'full' : 'incremental',
        });
      }
    }
  });

  test('formula values recalculated at the source reach the warehouse in the next due refresh, nothing else rewritten', () => {
    expect(objectOn(1, DEAL)).toMatchObject({
      syncMode: 'incremental',
      syncReason: 'formula-refresh',
      columnsRefreshed: ['days_open__c', 'account_name__c'],
      // Only the deal whose formulas changed: deal 2 came with the load, deal 3 did not change.
      rowsRefreshed: 1,
      recordsExtracted: 1,
      rowsUpdated: 1,
    });
    const stored = run.finalTables.deal__c.find((row) => row.id === deal(1));
    expect(stored).toMatchObject({ account_name__c: 'Edge Communications Ltd', amount__c: '1000.00' });
  });

  test("a row's refreshFields are refreshed like formulas; a load that found nothing skips the consolidation, not the refresh", () => {
    expect(objectOn(1, TICKET)).toMatchObject({
      syncReason: 'formula-refresh',
      columnsRefreshed: ['status__c'],
      rowsRefreshed: 1,
      recordsExtracted: 0,
      consolidationSkipped: true,
    });
  });

  test('a 600-field object refreshes its 10 formula fields', () => {
    expect(objectOn(1, WIDE)).toMatchObject({ syncReason: 'formula-refresh', rowsRefreshed: 1 });
    expect(objectOn(1, WIDE).columnsRefreshed).toEqual(
      Array.from({ length: WIDE_FORMULAS }, (_, index) => wideFormula(index).toLowerCase()),
    );
    expect(Object.keys(run.finalTables.wide__c[0])).toHaveLength(WIDE_FIELDS);
  });

  test('a child with a refresh takes 11 state transitions (the bench allows 12), one with an empty load 5', () => {
    // Day 2: three refreshing children; the same day's later run: three empty loads. Same parent.
    const refreshing = run.day(1).stats;
    const empty = run.day(2).stats;
    expect(empty.childStateTransitions).toEqual([5, 5, 5]);
    expect(refreshing.childStateTransitions).toEqual([11, 11, 11]);
    expect(refreshing.stateTransitions - empty.stateTransitions).toBe(3 * (11 - 5));
  });

  test('a run within the formula interval refreshes nothing (the change waits for the next day)', () => {
    for (const name of [DEAL, TICKET, WIDE]) {
      expect(objectOn(2, name)).toMatchObject({
        syncReason: 'incremental',
        columnsRefreshed: [],
        rowsRefreshed: 0,
      });
    }
  });

  test('type changes and a new field: the columns hold both old and new values, the values are the source own, no full reload', () => {
    const day = objectOn(3, DEAL);
    // Only the deal whose cursor moved is loaded: the rest of the table stays as it is.
    expect(day).toMatchObject({ syncMode: 'incremental', syncReason: 'type-change', recordsExtracted: 1 });
    expect(day.typeChanges).toEqual([
      { field: 'Score__c', from: 'DECIMAL(18,2)', to: 'VARCHAR(160)' },
      { field: 'Code__c', from: 'VARCHAR(40)', to: 'DECIMAL(18,2)' },
      { field: 'Note__c', from: 'VARCHAR(1020)', to: 'VARCHAR(320)' },
      { field: 'Summary__c', from: 'VARCHAR(1020)', to: 'VARCHAR(65535)' },
    ]);
    // The changed values (and the new field, and today's formulas); a text that only grew keeps its values.
    expect([...(day.columnsRefreshed ?? [])].sort()).toEqual(
      ['account_name__c', 'code__c', 'days_open__c', 'note__c', 'score__c', 'tier__c'].sort(),
    );
    const rows = new Map(run.finalTables.deal__c.map((row) => [row.id, row]));
    expect(rows.get(deal(1))).toMatchObject({
      score__c: '12.50',
      code__c: '42.00',
      note__c: NOTE.slice(0, 80),
      tier__c: 'Gold',
    });
    expect(rows.get(deal(2))).toMatchObject({ code__c: null, summary__c: SUMMARY, tier__c: null });
    expect(rows.get(deal(3))).toMatchObject({ days_open__c: '9', tier__c: 'Silver' });
  });

  test('the control row keeps what the last refresh did and when the formulas were refreshed', () => {
    const row = run.controlRows.find((candidate) => candidate.objectName === DEAL) as Record<string, unknown>;
    expect(row.lastFormulaRefreshAt).toBe(run.day(4).startTime);
    expect(row.lastRun).toMatchObject({
      columnsRefreshed: ['days_open__c', 'account_name__c'],
      typeChanges: [],
    });
  });

  test('every value of every column equals the source, formulas included', () => {
    expectWarehouseEqualsSource(run);
    for (const comparison of run.comparisons) expect(comparison.sourceRecords).toBeGreaterThan(0);
  });
});

describe('local run: refreshFields of a custom connector (no formula metadata, issue 21)', () => {
  test('a field that changes without moving updated_at reaches the warehouse through the refresh', async () => {
    const run = await runLocalScenario({
      ...TIDB_CLOUD_SOURCE,
      sourceObjects: {
        orders: {
          profile: 'tidb-cloud',
          fields: [
            { name: 'id', type: 'bigint' },
            { name: 'status', type: 'string', length: 20 },
            { name: 'updated_at', type: 'timestamp' },
          ],
        },
      },
      objects: [
        {
          objectName: 'tidb_orders',
          sourceName: 'tidb',
          entityName: 'orders',
          lookbackMinutes: 0,
          refreshFields: ['status'],
        },
      ],
      days: [
        {
          date: '2026-01-05',
          changes: { orders: { upsert: ['1', '2'].map((id) => ({ id, status: 'new' })) } },
        },
        // A trigger-less update at the source: the cursor column stays as it was.
        { date: '2026-01-06', changes: { orders: { recompute: [{ id: '2', status: 'shipped' }] } } },
      ],
    });

    expect(run.day(1).objects.tidb_orders).toMatchObject({
      status: 'SUCCEEDED',
      syncMode: 'incremental',
      syncReason: 'formula-refresh',
      recordsExtracted: 0,
      columnsRefreshed: ['status'],
      rowsRefreshed: 1,
    });
    expectWarehouseEqualsSource(run);
    expectNoFlowsLeft(run);
  }, 600_000);
});
