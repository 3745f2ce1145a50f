import type { SourceField } from '../../lambdas/common/source-fields';
import { addPendingColumns, planTableChanges } from '../../lambdas/common/structure-sync';

const layout = { stagingSchema: 'salesforce_incremental', finalSchema: 'salesforce' };
const fields: SourceField[] = [
  { name: 'Id', sourceType: 'id', column: 'id', redshiftType: 'VARCHAR(65535)' },
  { name: 'SystemModstamp', sourceType: 'datetime', column: 'systemmodstamp', redshiftType: 'TIMESTAMP' },
  { name: 'Name', sourceType: 'string', column: 'name', redshiftType: 'VARCHAR(65535)' },
  { name: 'Industry', sourceType: 'picklist', column: 'industry', redshiftType: 'VARCHAR(65535)' },
];
const columns = (...names: string[]) => new Set(names);

describe('planTableChanges', () => {
  test('creates the schemas and both tables when neither exists, every identifier quoted', () => {
    // Act
    const changes = planTableChanges(layout, 'account', fields, { staging: columns(), final: columns() });

    // Assess
    const definition =
      '("id" VARCHAR(65535), "systemmodstamp" TIMESTAMP, "name" VARCHAR(65535), "industry" VARCHAR(65535))';
    expect(changes).toEqual({
      statements: [
        'CREATE SCHEMA IF NOT EXISTS "salesforce_incremental"',
        'CREATE SCHEMA IF NOT EXISTS "salesforce"',
        `CREATE TABLE IF NOT EXISTS "salesforce_incremental"."account" ${definition}`,
        `CREATE TABLE IF NOT EXISTS "salesforce"."account" ${definition}`,
      ],
      finalColumnsPending: [],
    });
  });

  test('changes nothing when both tables already hold every column', () => {
    // Prepare
    const all = columns('id', 'systemmodstamp', 'name', 'industry');

    // Act
    const changes = planTableChanges(layout, 'account', fields, { staging: all, final: new Set(all) });

    // Assess
    expect(changes).toEqual({ statements: [], finalColumnsPending: [] });
  });

  test('adds each new column to staging with its own ALTER TABLE and leaves the final table for consolidation', () => {
    // Prepare
    const existing = { staging: columns('id', 'systemmodstamp'), final: columns('id', 'systemmodstamp') };

    // Act
    const changes = planTableChanges(layout, 'account', fields, existing);

    // Assess: the final table gets its columns in the transaction of the CALL that fills them
    expect(changes.statements).toEqual([
      'ALTER TABLE "salesforce_incremental"."account" ADD COLUMN "name" VARCHAR(65535)',
      'ALTER TABLE "salesforce_incremental"."account" ADD COLUMN "industry" VARCHAR(65535)',
    ]);
    expect(changes.finalColumnsPending).toEqual([
      { column: 'name', redshiftType: 'VARCHAR(65535)' },
      { column: 'industry', redshiftType: 'VARCHAR(65535)' },
    ]);
  });

  test('lists in finalColumnsPending only the columns the existing final table lacks', () => {
    // Prepare
    const existing = {
      staging: columns('id', 'systemmodstamp', 'name'),
      final: columns('id', 'systemmodstamp', 'name', 'industry'),
    };

    // Act
    const changes = planTableChanges(layout, 'account', fields, existing);

    // Assess
    expect(changes.statements).toEqual([
      'ALTER TABLE "salesforce_incremental"."account" ADD COLUMN "industry" VARCHAR(65535)',
    ]);
    expect(changes.finalColumnsPending).toEqual([]);
  });

  test('still reports the final columns pending when a retry finds staging already altered', () => {
    // Prepare: an earlier attempt added the staging columns, the final table never got them
    const existing = {
      staging: columns('id', 'systemmodstamp', 'name', 'industry'),
      final: columns('id', 'systemmodstamp', 'name'),
    };

    // Act
    const changes = planTableChanges(layout, 'account', fields, existing);

    // Assess
    expect(changes.statements).toEqual([]);
    expect(changes.finalColumnsPending).toEqual([{ column: 'industry', redshiftType: 'VARCHAR(65535)' }]);
  });

  test('reports no pending columns when the final table is created from scratch next to an existing staging table', () => {
    // Act
    const changes = planTableChanges(layout, 'account', fields, {
      staging: columns('id', 'systemmodstamp', 'name', 'industry'),
      final: columns(),
    });

    // Assess
    expect(changes.statements).toEqual([
      'CREATE SCHEMA IF NOT EXISTS "salesforce_incremental"',
      'CREATE SCHEMA IF NOT EXISTS "salesforce"',
      expect.stringMatching(/^CREATE TABLE IF NOT EXISTS "salesforce"\."account" \(/),
    ]);
    expect(changes.finalColumnsPending).toEqual([]);
  });

  test('creates a missing staging table next to an existing final table and reports what the final table lacks', () => {
    // Act
    const changes = planTableChanges(layout, 'account', fields, {
      staging: columns(),
      final: columns('id', 'systemmodstamp', 'name'),
    });

    // Assess
    expect(changes.statements).toEqual([
      'CREATE SCHEMA IF NOT EXISTS "salesforce_incremental"',
      'CREATE SCHEMA IF NOT EXISTS "salesforce"',
      expect.stringMatching(/^CREATE TABLE IF NOT EXISTS "salesforce_incremental"\."account" \(/),
    ]);
    expect(changes.finalColumnsPending).toEqual([{ column: 'industry', redshiftType: 'VARCHAR(65535)' }]);
  });

  test('refuses an identifier that is not a plain lower-case name instead of splicing it into DDL', () => {
    // Act
    const act = () =>
      planTableChanges(layout, 'account"; DROP TABLE salesforce.account; --', fields, {
        staging: columns(),
        final: columns(),
      });

    // Assess
    expect(act).toThrow(/Refusing SQL identifier/);
  });
});

describe('addPendingColumns', () => {
  const pending = [
    { column: 'name', redshiftType: 'VARCHAR(65535)' },
    { column: 'industry', redshiftType: 'VARCHAR(65535)' },
  ];

  test('adds each pending column to the final table with its own ALTER TABLE', () => {
    // Act
    const statements = addPendingColumns(layout, 'account', pending, columns('id', 'systemmodstamp'));

    // Assess
    expect(statements).toEqual([
      'ALTER TABLE "salesforce"."account" ADD COLUMN "name" VARCHAR(65535)',
      'ALTER TABLE "salesforce"."account" ADD COLUMN "industry" VARCHAR(65535)',
    ]);
  });

  test('skips a pending column the final table already has (a retried step added it)', () => {
    // Act
    const statements = addPendingColumns(layout, 'account', pending, columns('id', 'systemmodstamp', 'name'));

    // Assess
    expect(statements).toEqual(['ALTER TABLE "salesforce"."account" ADD COLUMN "industry" VARCHAR(65535)']);
  });

  test('returns nothing when every pending column is already there', () => {
    // Act / Assess
    expect(addPendingColumns(layout, 'account', pending, columns('id', 'name', 'industry'))).toEqual([]);
  });

  test('refuses a pending column that is not a plain lower-case name', () => {
    // Act
    const act = () =>
      addPendingColumns(
        layout,
        'account',
        [{ column: 'x" INT; DROP TABLE y; --', redshiftType: 'INT' }],
        columns(),
      );

    // Assess
    expect(act).toThrow(/Refusing SQL identifier/);
  });
});
