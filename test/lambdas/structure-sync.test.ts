import type { SourceField } from '../../lambdas/common/source-fields';
import { planTableChanges } from '../../lambdas/common/structure-sync';

const layout = { stagingSchema: 'salesforce_incremental', finalSchema: 'salesforce' };
const fields: SourceField[] = [
  { name: 'Id', sourceType: 'id', column: 'id', redshiftType: 'VARCHAR(65535)' },
  { name: 'SystemModstamp', sourceType: 'datetime', column: 'systemmodstamp', redshiftType: 'TIMESTAMP' },
  { name: 'Name', sourceType: 'string', column: 'name', redshiftType: 'VARCHAR(65535)' },
  { name: 'Industry', sourceType: 'picklist', column: 'industry', redshiftType: 'VARCHAR(65535)' },
];
const columns = (...names: string[]) => new Set(names);

describe('planTableChanges', () => {
  test('creates the staging and final tables when neither exists, every identifier quoted', () => {
    // Act
    const changes = planTableChanges(layout, 'account', fields, { staging: columns(), final: columns() });

    // Assess
    const definition =
      '("id" VARCHAR(65535), "systemmodstamp" TIMESTAMP, "name" VARCHAR(65535), "industry" VARCHAR(65535))';
    expect(changes).toEqual({
      statements: [
        `CREATE TABLE IF NOT EXISTS "salesforce_incremental"."account" ${definition}`,
        `CREATE TABLE IF NOT EXISTS "salesforce"."account" ${definition}`,
      ],
      columnsAdded: [],
      finalTableCreated: true,
    });
  });

  test('changes nothing when both tables already hold every column', () => {
    // Prepare
    const all = columns('id', 'systemmodstamp', 'name', 'industry');

    // Act
    const changes = planTableChanges(layout, 'account', fields, { staging: all, final: new Set(all) });

    // Assess
    expect(changes).toEqual({ statements: [], columnsAdded: [], finalTableCreated: false });
  });

  test('adds each new column with its own ALTER TABLE, in staging and in final', () => {
    // Prepare
    const existing = { staging: columns('id', 'systemmodstamp'), final: columns('id', 'systemmodstamp') };

    // Act
    const changes = planTableChanges(layout, 'account', fields, existing);

    // Assess
    expect(changes.statements).toEqual([
      'ALTER TABLE "salesforce_incremental"."account" ADD COLUMN "name" VARCHAR(65535)',
      'ALTER TABLE "salesforce_incremental"."account" ADD COLUMN "industry" VARCHAR(65535)',
      'ALTER TABLE "salesforce"."account" ADD COLUMN "name" VARCHAR(65535)',
      'ALTER TABLE "salesforce"."account" ADD COLUMN "industry" VARCHAR(65535)',
    ]);
    expect(changes.columnsAdded).toEqual(['name', 'industry']);
    expect(changes.finalTableCreated).toBe(false);
  });

  test('lists in columnsAdded only the columns added to an existing final table', () => {
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
    expect(changes.columnsAdded).toEqual([]);
  });

  test('reports no added columns when the final table is created from scratch next to an existing staging table', () => {
    // Act
    const changes = planTableChanges(layout, 'account', fields, {
      staging: columns('id', 'systemmodstamp', 'name', 'industry'),
      final: columns(),
    });

    // Assess
    expect(changes.statements).toEqual([
      expect.stringMatching(/^CREATE TABLE IF NOT EXISTS "salesforce"\."account" \(/),
    ]);
    expect(changes.columnsAdded).toEqual([]);
    expect(changes.finalTableCreated).toBe(true);
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
