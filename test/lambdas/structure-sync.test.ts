import { columnTypeFor, renderColumnType, type SourceField } from '../../lambdas/common/source-fields';
import {
  type ExistingColumn,
  type ExistingTables,
  planTableChanges,
  type TableOptions,
} from '../../lambdas/common/structure-sync';

const layout = { stagingSchema: 'salesforce_incremental', finalSchema: 'salesforce' };

function field(name: string, sourceType: string, metadata = {}): SourceField {
  const { columnType, truncateLength } = columnTypeFor(sourceType, metadata);
  return {
    name,
    sourceType,
    column: name.toLowerCase(),
    redshiftType: renderColumnType(columnType),
    columnType,
    ...(truncateLength !== undefined ? { truncateLength } : {}),
  };
}

const fields: SourceField[] = [
  field('Id', 'id', { length: 18 }),
  field('SystemModstamp', 'datetime'),
  field('Name', 'string', { length: 255 }),
  field('AnnualRevenue', 'currency', { precision: 18, scale: 2 }),
];
const options: TableOptions = { objectName: 'Account', primaryKeyColumn: 'id' };

const varchar = (length: number): ExistingColumn => ({
  dataType: 'character varying',
  characterMaximumLength: length,
});
const numeric = (precision: number, scale: number): ExistingColumn => ({
  dataType: 'numeric',
  numericPrecision: precision,
  numericScale: scale,
});
const TIMESTAMP: ExistingColumn = { dataType: 'timestamp without time zone' };
const DOUBLE: ExistingColumn = { dataType: 'double precision' };

/** A table as this version creates it from `fields`. */
function currentTable(
  overrides: Record<string, ExistingColumn | undefined> = {},
): Map<string, ExistingColumn> {
  const columns: Record<string, ExistingColumn | undefined> = {
    id: varchar(18),
    systemmodstamp: TIMESTAMP,
    name: varchar(1020),
    annualrevenue: numeric(18, 2),
    ...overrides,
  };
  return new Map(
    Object.entries(columns).filter((entry): entry is [string, ExistingColumn] => entry[1] !== undefined),
  );
}
const noTables = (): ExistingTables => ({ staging: new Map(), final: new Map() });

describe('planTableChanges: creating tables', () => {
  test('creates both tables, typed from the source, distributed and sorted on the key, and no schema (the precheck does)', () => {
    // Act
    const changes = planTableChanges(layout, 'account', fields, noTables(), options);

    // Assess
    const definition =
      '("id" VARCHAR(18), "systemmodstamp" TIMESTAMP, "name" VARCHAR(1020) ENCODE ZSTD, "annualrevenue" DECIMAL(18,2))';
    expect(changes).toEqual({
      statements: [
        `CREATE TABLE IF NOT EXISTS "salesforce_incremental"."account" ${definition} DISTKEY("id") SORTKEY("id")`,
        `CREATE TABLE IF NOT EXISTS "salesforce"."account" ${definition} DISTKEY("id") SORTKEY("id")`,
      ],
      widenings: [],
      finalColumnsMissing: [],
      keptColumns: [],
    });
  });

  test("sorts the final table on the control row's sortKey and staging still on the key", () => {
    // Act
    const changes = planTableChanges(layout, 'account', fields, noTables(), {
      ...options,
      finalSortKeyColumn: 'systemmodstamp',
    });

    // Assess
    expect(changes.statements[0]).toMatch(
      /^CREATE TABLE IF NOT EXISTS "salesforce_incremental".* SORTKEY\("id"\)$/,
    );
    expect(changes.statements[1]).toMatch(
      /^CREATE TABLE IF NOT EXISTS "salesforce"\.".* DISTKEY\("id"\) SORTKEY\("systemmodstamp"\)$/,
    );
  });

  test('refuses a sortKey that is not a field of the object, naming it', () => {
    // Act
    const act = () =>
      planTableChanges(layout, 'account', fields, noTables(), {
        ...options,
        finalSortKeyColumn: 'createddate',
      });

    // Assess
    expect(act).toThrow(
      expect.objectContaining({
        name: 'SchemaMismatch',
        message: expect.stringContaining('sortKey createddate'),
      }),
    );
  });

  test('refuses an identifier that is not a plain lower-case name instead of splicing it into DDL', () => {
    // Act
    const act = () =>
      planTableChanges(layout, 'account"; DROP TABLE salesforce.account; --', fields, noTables(), options);

    // Assess
    expect(act).toThrow(/Refusing SQL identifier/);
  });
});

describe('planTableChanges: grants for AppFlow', () => {
  test("grants AppFlow's database user INSERT on the staging table, quoted, and leaves the schema's USAGE to the precheck", () => {
    // Act
    const changes = planTableChanges(layout, 'account', fields, noTables(), {
      ...options,
      appflowDatabaseUser: 'IAMR:appflow-redshift-dev',
    });

    // Assess: after the CREATEs, so the table exists when it is granted; USAGE ON SCHEMA is the
    // precheck's, once per run (concurrent GRANTs on one schema collide: "tuple concurrently updated")
    expect(changes.statements.slice(-1)).toEqual([
      'GRANT INSERT, SELECT ON TABLE "salesforce_incremental"."account" TO "IAMR:appflow-redshift-dev"',
    ]);
    expect(changes.statements.filter((sql) => sql.startsWith('GRANT USAGE'))).toEqual([]);
  });

  test('grants again on every run, so tables made by older versions are granted too', () => {
    // Act
    const changes = planTableChanges(
      layout,
      'account',
      fields,
      { staging: currentTable(), final: currentTable() },
      { ...options, appflowDatabaseUser: 'appflow_loader' },
    );

    // Assess
    expect(changes.statements).toEqual([
      'GRANT INSERT, SELECT ON TABLE "salesforce_incremental"."account" TO "appflow_loader"',
    ]);
  });

  test('refuses a database user name that could break out of its quotes', () => {
    // Act
    const act = () =>
      planTableChanges(layout, 'account', fields, noTables(), {
        ...options,
        appflowDatabaseUser: 'loader"; DROP TABLE x; --',
      });

    // Assess
    expect(act).toThrow(/Refusing database user name/);
  });
});

describe('planTableChanges: existing tables', () => {
  test('changes nothing when both tables already hold every column with its type', () => {
    // Act
    const changes = planTableChanges(
      layout,
      'account',
      fields,
      { staging: currentTable(), final: currentTable() },
      options,
    );

    // Assess
    expect(changes).toEqual({ statements: [], widenings: [], finalColumnsMissing: [], keptColumns: [] });
  });

  test('adds a new column to staging only and reports the final table missing it (the CALL adds it)', () => {
    // Prepare
    const existing = {
      staging: currentTable({ annualrevenue: undefined }),
      final: currentTable({ annualrevenue: undefined }),
    };

    // Act
    const changes = planTableChanges(layout, 'account', fields, existing, options);

    // Assess
    expect(changes.statements).toEqual([
      'ALTER TABLE "salesforce_incremental"."account" ADD COLUMN "annualrevenue" DECIMAL(18,2)',
    ]);
    expect(changes.finalColumnsMissing).toEqual(['annualrevenue']);
  });

  test('still reports the final column missing when a retry finds staging already altered', () => {
    // Act
    const changes = planTableChanges(
      layout,
      'account',
      fields,
      { staging: currentTable(), final: currentTable({ annualrevenue: undefined }) },
      options,
    );

    // Assess
    expect(changes.statements).toEqual([]);
    expect(changes.finalColumnsMissing).toEqual(['annualrevenue']);
  });

  test('creates a missing final table next to an existing staging table and reports nothing missing', () => {
    // Act
    const changes = planTableChanges(
      layout,
      'account',
      fields,
      { staging: currentTable(), final: new Map() },
      options,
    );

    // Assess
    expect(changes.statements).toEqual([
      expect.stringMatching(/^CREATE TABLE IF NOT EXISTS "salesforce"\."account" \(/),
    ]);
    expect(changes.finalColumnsMissing).toEqual([]);
  });

  test('widens the VARCHAR of a field that grew, in both tables, as statements of their own', () => {
    // Prepare: Name was 80 characters (320 bytes); the source now says 255
    const existing = {
      staging: currentTable({ name: varchar(320) }),
      final: currentTable({ name: varchar(320) }),
    };

    // Act
    const changes = planTableChanges(layout, 'account', fields, existing, options);

    // Assess
    // Final first: a failure then leaves staging the narrower side, which the procedure accepts.
    expect(changes.widenings).toEqual([
      'ALTER TABLE "salesforce"."account" ALTER COLUMN "name" TYPE VARCHAR(1020)',
      'ALTER TABLE "salesforce_incremental"."account" ALTER COLUMN "name" TYPE VARCHAR(1020)',
    ]);
    expect(changes.statements).toEqual([]);
  });

  test('never narrows a VARCHAR wider than the source now needs', () => {
    // Prepare: tables of older versions made every text column VARCHAR(65535)
    const existing = {
      staging: currentTable({ id: varchar(65535), name: varchar(65535) }),
      final: currentTable({ id: varchar(65535), name: varchar(65535) }),
    };

    // Act
    const changes = planTableChanges(layout, 'account', fields, existing, options);

    // Assess
    expect(changes.widenings).toEqual([]);
    expect(changes.keptColumns).toEqual([]);
  });

  test('keeps a DOUBLE PRECISION column an older version made for a currency field, and reports it', () => {
    // Prepare
    const existing = {
      staging: currentTable({ annualrevenue: DOUBLE }),
      final: currentTable({ annualrevenue: DOUBLE }),
    };

    // Act
    const changes = planTableChanges(layout, 'account', fields, existing, options);

    // Assess
    expect(changes.keptColumns).toEqual([
      {
        table: 'salesforce_incremental.account',
        column: 'annualrevenue',
        existingType: 'DOUBLE PRECISION',
        wantedType: 'DECIMAL(18,2)',
      },
      {
        table: 'salesforce.account',
        column: 'annualrevenue',
        existingType: 'DOUBLE PRECISION',
        wantedType: 'DECIMAL(18,2)',
      },
    ]);
    expect(changes.widenings).toEqual([]);
  });

  test('fails naming object, field, old and new type when a number field became text', () => {
    // Prepare: AnnualRevenue is now a text field at the source
    const textRevenue = [...fields.slice(0, 3), field('AnnualRevenue', 'string', { length: 40 })];
    const existing = { staging: currentTable(), final: currentTable() };

    // Act
    const act = () => planTableChanges(layout, 'account', textRevenue, existing, options);

    // Assess
    expect(act).toThrow(
      expect.objectContaining({
        name: 'SchemaMismatch',
        message: expect.stringContaining(
          'Account: field AnnualRevenue is DECIMAL(18,2) in salesforce_incremental.account but the source now calls for VARCHAR(160)',
        ),
      }),
    );
  });

  test('fails when a currency field gained digits Redshift cannot add to the column in place', () => {
    // Prepare
    const wider = [...fields.slice(0, 3), field('AnnualRevenue', 'currency', { precision: 18, scale: 4 })];
    const existing = { staging: currentTable(), final: currentTable() };

    // Act
    const act = () => planTableChanges(layout, 'account', wider, existing, options);

    // Assess
    expect(act).toThrow(
      /field AnnualRevenue is DECIMAL\(18,2\) in salesforce\.account but the source now calls for DECIMAL\(18,4\)/,
    );
  });

  test('keeps a DECIMAL column that holds every value of the narrower type the source now reports', () => {
    // Prepare
    const narrower = [...fields.slice(0, 3), field('AnnualRevenue', 'currency', { precision: 10, scale: 2 })];

    // Act
    const changes = planTableChanges(
      layout,
      'account',
      narrower,
      { staging: currentTable(), final: currentTable() },
      options,
    );

    // Assess
    expect(changes).toEqual({ statements: [], widenings: [], finalColumnsMissing: [], keptColumns: [] });
  });

  test('refuses an INTEGER column for a field that now needs BIGINT', () => {
    // Prepare
    const count = [...fields, field('NumberOfEmployees', 'int', { precision: 18 })];
    const existing = {
      staging: currentTable({ numberofemployees: { dataType: 'integer' } }),
      final: currentTable({ numberofemployees: { dataType: 'integer' } }),
    };

    // Act
    const act = () => planTableChanges(layout, 'account', count, existing, options);

    // Assess
    expect(act).toThrow(
      /field NumberOfEmployees is INTEGER in salesforce_incremental\.account but the source now calls for BIGINT/,
    );
  });
});
