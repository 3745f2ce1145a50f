import {
  type ColumnType,
  columnTypeFor,
  renderColumnType,
  type SourceField,
} from '../../lambdas/common/source-fields';
import {
  type ExistingColumn,
  type ExistingTables,
  existingColumnType,
  existingTablesFromRows,
  existingTablesParameters,
  mergeColumnType,
  planTableChanges,
  structureSyncStatements,
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
/** The fields with one of them replaced (at the end: the order of an existing final table rules). */
const withField = (replacement: SourceField) => [
  ...fields.filter((candidate) => candidate.column !== replacement.column),
  replacement,
];
const noTables = (): ExistingTables => ({ staging: new Map(), final: new Map() });
/** What a sync of tables that already match the source plans. */
const NO_CHANGES = {
  statements: [],
  sourceTypeRecords: [],
  widenings: [],
  transactions: [],
  finalColumns: expect.any(Array),
  typeChanges: [],
  columnChanges: [],
  refreshColumns: [],
  keptColumns: [],
};

describe('planTableChanges: creating tables', () => {
  test('creates both tables, typed from the source, distributed and sorted on the key, and no schema (the precheck does)', () => {
    // Act
    const changes = planTableChanges(layout, 'account', fields, noTables(), options);

    // Assess
    const definition =
      '("id" VARCHAR(18), "systemmodstamp" TIMESTAMP, "name" VARCHAR(1020) ENCODE ZSTD, "annualrevenue" DECIMAL(18,2))';
    expect(changes).toMatchObject({
      statements: [
        `CREATE TABLE IF NOT EXISTS "salesforce_incremental"."account" ${definition} DISTKEY("id") SORTKEY("id")`,
        `CREATE TABLE IF NOT EXISTS "salesforce"."account" ${definition} DISTKEY("id") SORTKEY("id")`,
      ],
      widenings: [],
      transactions: [],
      typeChanges: [],
      refreshColumns: [],
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
    expect(changes).toEqual(NO_CHANGES);
  });

  test('adds a new column to staging, then to final in a transaction of its own, and lists it for a column refresh', () => {
    // Prepare
    const existing = {
      staging: currentTable({ annualrevenue: undefined }),
      final: currentTable({ annualrevenue: undefined }),
    };

    // Act
    const changes = planTableChanges(layout, 'account', fields, existing, options);

    // Assess: no full reload any more; the new column's old records get values from a refresh
    expect(changes.statements).toEqual([
      'ALTER TABLE "salesforce_incremental"."account" ADD COLUMN "annualrevenue" DECIMAL(18,2)',
    ]);
    expect(changes.transactions).toEqual([
      ['ALTER TABLE "salesforce"."account" ADD COLUMN "annualrevenue" DECIMAL(18,2)'],
    ]);
    expect(changes.refreshColumns).toEqual(['annualrevenue']);
  });

  test('still adds the final column, and refreshes it, when a retry finds staging already altered', () => {
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
    expect(changes.transactions).toEqual([
      ['ALTER TABLE "salesforce"."account" ADD COLUMN "annualrevenue" DECIMAL(18,2)'],
    ]);
    expect(changes.refreshColumns).toEqual(['annualrevenue']);
  });

  test('creates a missing final table next to an existing staging table and refreshes nothing', () => {
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
    expect(changes.refreshColumns).toEqual([]);
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

  test('rebuilds a number column whose field became text as a VARCHAR that holds both, then refreshes it', () => {
    // Prepare: AnnualRevenue is now a text field of 40 characters at the source
    const textRevenue = [...fields.slice(0, 3), field('AnnualRevenue', 'string', { length: 40 })];
    const existing = { staging: currentTable(), final: currentTable() };

    // Act
    const changes = planTableChanges(layout, 'account', textRevenue, existing, options);

    // Assess: added anew, copied with a lossless cast, swapped in, in one transaction
    expect(changes.transactions[0]).toEqual([
      'ALTER TABLE "salesforce"."account" ADD COLUMN "annualrevenue__rebuild" VARCHAR(160) ENCODE ZSTD',
      'UPDATE "salesforce"."account" SET "annualrevenue__rebuild" = CAST("annualrevenue" AS VARCHAR(160))',
      'ALTER TABLE "salesforce"."account" DROP COLUMN "annualrevenue"',
      'ALTER TABLE "salesforce"."account" RENAME COLUMN "annualrevenue__rebuild" TO "annualrevenue"',
    ]);
    expect(changes.widenings).toEqual([]);
    expect(changes.typeChanges).toEqual([
      { field: 'AnnualRevenue', from: 'DECIMAL(18,2)', to: 'VARCHAR(160)' },
    ]);
    expect(changes.columnChanges).toEqual([
      {
        table: 'salesforce.account',
        column: 'annualrevenue',
        from: 'DECIMAL(18,2)',
        to: 'VARCHAR(160)',
        how: 'rebuild',
      },
    ]);
    expect(changes.refreshColumns).toEqual(['annualrevenue']);
  });

  test('rebuilds a currency column that gained digits after the point as a DECIMAL keeping every digit', () => {
    // Prepare: DECIMAL(18,2) → the source now says (18,4): 16 digits before the point and 4 after
    const wider = [...fields.slice(0, 3), field('AnnualRevenue', 'currency', { precision: 18, scale: 4 })];
    const existing = { staging: currentTable(), final: currentTable() };

    // Act
    const changes = planTableChanges(layout, 'account', wider, existing, options);

    // Assess
    expect(changes.transactions[0][1]).toBe(
      'UPDATE "salesforce"."account" SET "annualrevenue__rebuild" = CAST("annualrevenue" AS DECIMAL(20,4))',
    );
    expect(changes.finalColumns.at(-1)).toEqual({
      column: 'annualrevenue',
      columnType: { kind: 'decimal', precision: 20, scale: 4 },
      redshiftType: 'DECIMAL(20,4)',
    });
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
    expect(changes).toEqual(NO_CHANGES);
  });

  test('rebuilds an INTEGER column as BIGINT for a field that now needs it', () => {
    // Prepare
    const count = [...fields, field('NumberOfEmployees', 'int', { precision: 18 })];
    const existing = {
      staging: currentTable({ numberofemployees: { dataType: 'integer' } }),
      final: currentTable({ numberofemployees: { dataType: 'integer' } }),
    };

    // Act
    const changes = planTableChanges(layout, 'account', count, existing, options);

    // Assess
    expect(changes.transactions[0]).toContain(
      'UPDATE "salesforce"."account" SET "numberofemployees__rebuild" = CAST("numberofemployees" AS BIGINT)',
    );
    expect(changes.typeChanges).toEqual([{ field: 'NumberOfEmployees', from: 'INTEGER', to: 'BIGINT' }]);
  });
});

describe('mergeColumnType: the merged-type lattice', () => {
  const wanted = (sourceType: string, metadata = {}) => columnTypeFor(sourceType, metadata).columnType;
  const existingOf = (column: ExistingColumn) => existingColumnType(column);

  test.each([
    [
      'a text that grew',
      varchar(320),
      wanted('string', { length: 255 }),
      { action: 'widen', type: { kind: 'varchar', length: 1020 } },
    ],
    ['a text that shrank', varchar(1020), wanted('string', { length: 80 }), { action: 'keep' }],
    [
      'a number that became text',
      numeric(18, 2),
      wanted('string', { length: 40 }),
      { action: 'rebuild', type: { kind: 'varchar', length: 160 } },
    ],
    [
      'a number that became short text: wide enough for the old values',
      numeric(18, 2),
      wanted('string', { length: 2 }),
      { action: 'rebuild', type: { kind: 'varchar', length: 20 } },
    ],
    [
      'a flag that became text',
      { dataType: 'boolean' },
      wanted('string', { length: 1 }),
      { action: 'rebuild', type: { kind: 'varchar', length: 5 } },
    ],
    [
      'a text that became a number stays VARCHAR',
      varchar(160),
      wanted('currency', { precision: 18, scale: 2 }),
      { action: 'kept-other-type' },
    ],
    [
      'a short text that became a number is widened for its values',
      varchar(8),
      wanted('currency', { precision: 18, scale: 2 }),
      { action: 'widen', type: { kind: 'varchar', length: 20 } },
    ],
    [
      'more digits after the point',
      numeric(18, 2),
      wanted('currency', { precision: 18, scale: 4 }),
      { action: 'rebuild', type: { kind: 'decimal', precision: 20, scale: 4 } },
    ],
    ['fewer digits', numeric(18, 2), wanted('currency', { precision: 10, scale: 0 }), { action: 'keep' }],
    [
      'beyond 38 digits a DECIMAL cannot hold both: text',
      numeric(38, 0),
      wanted('currency', { precision: 38, scale: 18 }),
      { action: 'rebuild', type: { kind: 'varchar', length: 40 } },
    ],
    [
      'INTEGER that must hold BIGINT',
      { dataType: 'integer' },
      wanted('long'),
      { action: 'rebuild', type: { kind: 'bigint' } },
    ],
    [
      'BIGINT that now gets int values',
      { dataType: 'bigint' },
      wanted('int', { precision: 9 }),
      { action: 'keep' },
    ],
    [
      'INTEGER that became a decimal',
      { dataType: 'integer' },
      wanted('currency', { precision: 18, scale: 2 }),
      { action: 'rebuild', type: { kind: 'decimal', precision: 18, scale: 2 } },
    ],
    [
      'BIGINT that became a small decimal keeps all 19 digits',
      { dataType: 'bigint' },
      wanted('percent', { precision: 5, scale: 2 }),
      { action: 'rebuild', type: { kind: 'decimal', precision: 21, scale: 2 } },
    ],
    [
      'a DECIMAL too short for BIGINT',
      numeric(10, 2),
      wanted('long'),
      { action: 'rebuild', type: { kind: 'decimal', precision: 21, scale: 2 } },
    ],
    [
      'a decimal that became a float',
      numeric(18, 2),
      wanted('double'),
      { action: 'rebuild', type: { kind: 'double' } },
    ],
    [
      'DOUBLE PRECISION of an older version for a currency',
      DOUBLE,
      wanted('currency', { precision: 18, scale: 2 }),
      { action: 'kept-other-type' },
    ],
    [
      'a date that became a datetime',
      { dataType: 'date' },
      wanted('datetime'),
      { action: 'rebuild', type: { kind: 'timestamp' } },
    ],
    ['a datetime that became a date', TIMESTAMP, wanted('date'), { action: 'keep' }],
    [
      'a date that became a number: text holds both',
      { dataType: 'date' },
      wanted('int', { precision: 9 }),
      { action: 'rebuild', type: { kind: 'varchar', length: 11 } },
    ],
    [
      'a flag that became a number: text holds both',
      { dataType: 'boolean' },
      wanted('currency', { precision: 18, scale: 2 }),
      { action: 'rebuild', type: { kind: 'varchar', length: 20 } },
    ],
  ] as [string, ExistingColumn, ColumnType, unknown][])('%s', (_, existing, target, merge) => {
    expect(mergeColumnType(existingOf(existing), target)).toEqual(merge);
  });

  test('never narrower: every merged type holds the existing type and the wanted one', () => {
    const existingTypes: ExistingColumn[] = [
      varchar(4),
      varchar(8),
      varchar(20),
      varchar(1020),
      numeric(10, 2),
      numeric(18, 2),
      numeric(38, 0),
      DOUBLE,
      TIMESTAMP,
    ].concat(['integer', 'bigint', 'boolean', 'date'].map((dataType) => ({ dataType })));
    const wantedTypes = [
      wanted('string', { length: 1 }),
      wanted('string', { length: 10 }),
      wanted('currency', { precision: 18, scale: 4 }),
      wanted('percent', { precision: 5, scale: 2 }),
      wanted('int', { precision: 9 }),
      wanted('long'),
      wanted('double'),
      wanted('boolean'),
      wanted('date'),
      wanted('datetime'),
    ];
    /**
     * Bytes a value of the type takes as text: sign, digits and point of a number, `false`,
     * `2026-01-31`, `2026-01-31 23:59:59.999999+00`; a double as the planner reckons it (textBytes).
     */
    const asText = (type: ColumnType): number => {
      switch (type.kind) {
        case 'varchar':
          return type.length;
        case 'decimal':
          return type.precision + 2;
        case 'bigint':
          return 20;
        case 'integer':
          return 11;
        case 'timestamp':
          return 29;
        case 'date':
          return 10;
        case 'boolean':
          return 5;
        case 'double':
          return 32;
      }
    };
    const holds = (outer: ColumnType, inner: ColumnType): boolean => {
      // A VARCHAR holds any value whose text fits, and text of its length.
      if (outer.kind === 'varchar') return outer.length >= asText(inner);
      if (outer.kind === 'double') return ['integer', 'bigint', 'decimal', 'double'].includes(inner.kind);
      if (outer.kind === 'decimal') {
        if (inner.kind === 'decimal')
          return outer.scale >= inner.scale && outer.precision - outer.scale >= inner.precision - inner.scale;
        return (
          (inner.kind === 'integer' && outer.precision - outer.scale >= 10) ||
          (inner.kind === 'bigint' && outer.precision - outer.scale >= 19)
        );
      }
      if (outer.kind === 'bigint') return inner.kind === 'bigint' || inner.kind === 'integer';
      if (outer.kind === 'timestamp') return inner.kind === 'timestamp' || inner.kind === 'date';
      return outer.kind === inner.kind;
    };
    const checked: string[] = [];
    for (const existing of existingTypes) {
      const from = existingColumnType(existing) as ColumnType;
      for (const target of wantedTypes) {
        const merge = mergeColumnType(from, target);
        if (!merge) throw new Error('every known type merges');
        // Kept: the column as it is must take the new values; changed: it holds the old and the new ones.
        const next = merge.action === 'keep' || merge.action === 'kept-other-type' ? from : merge.type;
        const result = {
          from: renderColumnType(from),
          target: renderColumnType(target),
          action: merge.action,
          holdsOld: holds(next, from),
          holdsNew: holds(next, target),
        };
        expect(result).toEqual({ ...result, holdsOld: true, holdsNew: true });
        checked.push(result.action);
      }
    }
    // Every action of the lattice was checked, so none of them is left out of the property.
    expect(new Set(checked)).toEqual(new Set(['keep', 'kept-other-type', 'widen', 'rebuild']));
  });
});

describe('planTableChanges: type changes', () => {
  test('staging is dropped and created again in the final column order after a rebuild, with final types and its grants', () => {
    // Prepare: Name was a number and is text again; the rebuilt column moves to the end of final
    const existing = {
      staging: currentTable({ name: numeric(18, 0) }),
      final: currentTable({ name: numeric(18, 0) }),
    };
    const textName = [fields[0], fields[1], field('Name', 'string', { length: 255 }), fields[3]];

    // Act
    const changes = planTableChanges(layout, 'account', textName, existing, {
      ...options,
      appflowDatabaseUser: 'appflow_loader',
    });

    // Assess
    expect(changes.finalColumns.map((column) => `${column.column} ${column.redshiftType}`)).toEqual([
      'id VARCHAR(18)',
      'systemmodstamp TIMESTAMP',
      'annualrevenue DECIMAL(18,2)',
      'name VARCHAR(1020)',
    ]);
    expect(changes.transactions.at(-1)).toEqual([
      'DROP TABLE IF EXISTS "salesforce_incremental"."account"',
      'CREATE TABLE IF NOT EXISTS "salesforce_incremental"."account" ("id" VARCHAR(18), "systemmodstamp" TIMESTAMP, "annualrevenue" DECIMAL(18,2), "name" VARCHAR(1020) ENCODE ZSTD) DISTKEY("id") SORTKEY("id")',
      'GRANT INSERT, SELECT ON TABLE "salesforce_incremental"."account" TO "appflow_loader"',
    ]);
    // Not added to the staging table that is dropped anyway.
    expect(changes.statements.filter((sql) => sql.includes('ADD COLUMN'))).toEqual([]);
  });

  test('staging takes the final type where final keeps another one: a number written into a VARCHAR column', () => {
    // Prepare: an earlier type change left staging with the source's type, not final's
    const existing = {
      staging: currentTable({ annualrevenue: numeric(18, 2) }),
      final: currentTable({ annualrevenue: varchar(160) }),
    };

    // Act
    const changes = planTableChanges(layout, 'account', fields, existing, options);

    // Assess
    expect(changes.transactions).toEqual([
      [
        'DROP TABLE IF EXISTS "salesforce_incremental"."account"',
        expect.stringContaining('"annualrevenue" VARCHAR(160) ENCODE ZSTD'),
      ],
    ]);
    expect(changes.keptColumns).toEqual([
      {
        table: 'salesforce.account',
        column: 'annualrevenue',
        existingType: 'VARCHAR(160)',
        wantedType: 'DECIMAL(18,2)',
      },
    ]);
  });

  test('a flag becoming text is copied as true/false (Redshift casts no BOOLEAN to VARCHAR)', () => {
    // Prepare
    const existing = {
      staging: currentTable({ vip: { dataType: 'boolean' } }),
      final: currentTable({ vip: { dataType: 'boolean' } }),
    };

    // Act
    const changes = planTableChanges(
      layout,
      'account',
      [...fields, field('Vip', 'picklist', { length: 20 })],
      existing,
      options,
    );

    // Assess
    expect(changes.transactions[0][1]).toBe(
      `UPDATE "salesforce"."account" SET "vip__rebuild" = CASE WHEN "vip" THEN 'true' WHEN NOT "vip" THEN 'false' END`,
    );
  });

  test('rebuilds the history table too, and widens its VARCHARs, when the object keeps history', () => {
    // Prepare: history = final's columns + _valid_from, _valid_to, _is_active
    const historyTable = currentTable();
    historyTable.set('_valid_from', TIMESTAMP);
    historyTable.set('_valid_to', TIMESTAMP);
    historyTable.set('_is_active', { dataType: 'boolean' });
    const existing = {
      staging: currentTable({ name: varchar(320) }),
      final: currentTable({ name: varchar(320) }),
      history: new Map(
        [...historyTable].map(([column, type]) => [column, column === 'name' ? varchar(320) : type]),
      ),
    };
    const changed = withField(field('AnnualRevenue', 'string', { length: 40 }));

    // Act
    const changes = planTableChanges(layout, 'account', changed, existing, options);

    // Assess
    expect(changes.widenings).toEqual([
      'ALTER TABLE "salesforce"."account" ALTER COLUMN "name" TYPE VARCHAR(1020)',
      'ALTER TABLE "salesforce_history"."account" ALTER COLUMN "name" TYPE VARCHAR(1020)',
    ]);
    expect(changes.transactions.map((transaction) => transaction[0])).toEqual([
      'ALTER TABLE "salesforce"."account" ADD COLUMN "annualrevenue__rebuild" VARCHAR(160) ENCODE ZSTD',
      'ALTER TABLE "salesforce_history"."account" ADD COLUMN "annualrevenue__rebuild" VARCHAR(160) ENCODE ZSTD',
      'DROP TABLE IF EXISTS "salesforce_incremental"."account"',
    ]);
    expect(changes.columnChanges.map(({ table, column, how }) => `${table}.${column} ${how}`)).toEqual([
      'salesforce.account.name widen',
      'salesforce.account.annualrevenue rebuild',
      'salesforce_history.account.name widen',
      'salesforce_history.account.annualrevenue rebuild',
    ]);
  });

  test('splits many rebuilt columns into transactions of at most 40 statements', () => {
    // Prepare: 30 number fields became text
    const numbers = Array.from({ length: 30 }, (_, index) =>
      field(`N${index}__c`, 'double', { precision: 18, scale: 2 }),
    );
    const texts = numbers.map((number) => field(number.name, 'string', { length: 50 }));
    const table = () =>
      currentTable(Object.fromEntries(numbers.map((number) => [number.column, numeric(18, 2)])));

    // Act
    const changes = planTableChanges(
      layout,
      'account',
      [...fields, ...texts],
      { staging: table(), final: table() },
      options,
    );

    // Assess: 13 + 13 + 4 columns, 3 statements each and one UPDATE; then staging
    expect(changes.transactions.map((transaction) => transaction.length)).toEqual([40, 40, 13, 2]);
    expect(changes.refreshColumns).toHaveLength(30);
  });

  test('refuses to rebuild the primary key column (Redshift cannot drop it), naming object, field and types', () => {
    // Prepare: a custom source's numeric key became text
    const keyed = [field('Id', 'string', { length: 20 }), ...fields.slice(1)];
    const table = () => currentTable({ id: { dataType: 'bigint' } });

    // Act
    const act = () =>
      planTableChanges(layout, 'account', keyed, { staging: table(), final: table() }, options);

    // Assess
    expect(act).toThrow(
      expect.objectContaining({
        name: 'SchemaMismatch',
        message: expect.stringContaining(
          'Account: field Id is BIGINT in salesforce.account but the source now calls for VARCHAR(80) (source type string), and the primary key column cannot be rebuilt',
        ),
      }),
    );
  });

  test("refuses to rebuild the final table's sort key column", () => {
    // Prepare
    const changed = withField(field('SystemModstamp', 'string', { length: 40 }));

    // Act
    const act = () =>
      planTableChanges(
        layout,
        'account',
        changed,
        { staging: currentTable(), final: currentTable() },
        { ...options, finalSortKeyColumn: 'systemmodstamp' },
      );

    // Assess
    expect(act).toThrow(
      /field SystemModstamp is TIMESTAMP in salesforce\.account .* the sort key column cannot be rebuilt/,
    );
  });
});

describe('planTableChanges: the memory of source types', () => {
  const remembered = (entries: Record<string, [string, boolean?]>) =>
    new Map(
      Object.entries(entries).map(([column, [sourceType, refreshPending = false]]) => [
        column,
        { sourceType, refreshPending },
      ]),
    );
  const NOW = new Date('2026-01-05T06:00:00.000Z');

  test('a new table records every column source type, nothing pending', () => {
    // Act
    const changes = planTableChanges(
      layout,
      'account',
      fields,
      { ...noTables(), sourceTypes: new Map() },
      { ...options, now: NOW },
    );

    // Assess
    expect(changes.sourceTypeRecords).toEqual([
      `DELETE FROM public.source_column_types WHERE final_schema = 'salesforce' AND table_name = 'account' AND column_name IN ('id', 'systemmodstamp', 'name', 'annualrevenue')`,
      `INSERT INTO public.source_column_types (final_schema, table_name, column_name, source_type, refresh_pending, recorded_at) VALUES ('salesforce', 'account', 'id', 'VARCHAR(18)', false, CAST('2026-01-05 06:00:00.000' AS timestamp)), ('salesforce', 'account', 'systemmodstamp', 'TIMESTAMP', false, CAST('2026-01-05 06:00:00.000' AS timestamp)), ('salesforce', 'account', 'name', 'VARCHAR(1020)', false, CAST('2026-01-05 06:00:00.000' AS timestamp)), ('salesforce', 'account', 'annualrevenue', 'DECIMAL(18,2)', false, CAST('2026-01-05 06:00:00.000' AS timestamp))`,
    ]);
    expect(changes.refreshColumns).toEqual([]);
  });

  test('tables of an older version get their records, no change reported, nothing to refresh', () => {
    // Act
    const changes = planTableChanges(
      layout,
      'account',
      fields,
      {
        staging: currentTable({ annualrevenue: DOUBLE }),
        final: currentTable({ annualrevenue: DOUBLE }),
        sourceTypes: new Map(),
      },
      options,
    );

    // Assess
    expect(changes.sourceTypeRecords[1]).toContain("'annualrevenue', 'DECIMAL(18,2)', false");
    expect(changes.typeChanges).toEqual([]);
    expect(changes.refreshColumns).toEqual([]);
  });

  test('a text field that became a number keeps its VARCHAR column, yet is a type change refreshed once', () => {
    // Prepare: Name was text; Salesforce converted its values (numbers where they parse, else null)
    const numberName = withField(field('Name', 'double', { precision: 18, scale: 2 }));
    const existing = {
      staging: currentTable(),
      final: currentTable(),
      sourceTypes: remembered({
        id: ['VARCHAR(18)'],
        systemmodstamp: ['TIMESTAMP'],
        name: ['VARCHAR(1020)'],
        annualrevenue: ['DECIMAL(18,2)'],
      }),
    };

    // Act
    const changes = planTableChanges(layout, 'account', numberName, existing, options);

    // Assess
    expect(changes.widenings).toEqual([]);
    expect(changes.transactions).toEqual([]);
    expect(changes.typeChanges).toEqual([{ field: 'Name', from: 'VARCHAR(1020)', to: 'DECIMAL(18,2)' }]);
    expect(changes.refreshColumns).toEqual(['name']);
    expect(changes.sourceTypeRecords[1]).toContain("'name', 'DECIMAL(18,2)', true");
  });

  test('a text field that only grew is a type change with nothing to refresh: its values are the same', () => {
    // Prepare
    const existing = {
      staging: currentTable({ name: varchar(320) }),
      final: currentTable({ name: varchar(320) }),
      sourceTypes: remembered({ name: ['VARCHAR(320)'] }),
    };

    // Act
    const changes = planTableChanges(layout, 'account', fields, existing, options);

    // Assess
    expect(changes.typeChanges).toEqual([{ field: 'Name', from: 'VARCHAR(320)', to: 'VARCHAR(1020)' }]);
    expect(changes.refreshColumns).toEqual([]);
  });

  test('a text field that shrank is refreshed: the source cut what no longer fits', () => {
    // Prepare
    const existing = {
      staging: currentTable(),
      final: currentTable(),
      sourceTypes: remembered({ name: ['VARCHAR(4000)'] }),
    };

    // Act
    const changes = planTableChanges(layout, 'account', fields, existing, options);

    // Assess
    expect(changes.typeChanges).toEqual([{ field: 'Name', from: 'VARCHAR(4000)', to: 'VARCHAR(1020)' }]);
    expect(changes.refreshColumns).toEqual(['name']);
  });

  test('a refresh still pending from an earlier run is planned again, and not written again', () => {
    // Prepare: the column was rebuilt last run, but its refresh failed
    const existing = {
      staging: currentTable(),
      final: currentTable(),
      sourceTypes: remembered({
        id: ['VARCHAR(18)'],
        systemmodstamp: ['TIMESTAMP'],
        name: ['VARCHAR(1020)'],
        annualrevenue: ['DECIMAL(18,2)', true],
      }),
    };

    // Act
    const changes = planTableChanges(layout, 'account', fields, existing, options);

    // Assess
    expect(changes.refreshColumns).toEqual(['annualrevenue']);
    expect(changes.sourceTypeRecords).toEqual([]);
  });

  test('a new column is recorded as pending before final gets it, so a failure in between still refreshes it', () => {
    // Prepare
    const existing = {
      staging: currentTable({ annualrevenue: undefined }),
      final: currentTable({ annualrevenue: undefined }),
      sourceTypes: remembered({
        id: ['VARCHAR(18)'],
        systemmodstamp: ['TIMESTAMP'],
        name: ['VARCHAR(1020)'],
      }),
    };

    // Act
    const changes = planTableChanges(layout, 'account', fields, existing, options);

    // Assess
    expect(changes.sourceTypeRecords[1]).toContain("'annualrevenue', 'DECIMAL(18,2)', true");
    expect(changes.refreshColumns).toEqual(['annualrevenue']);
  });
});

describe('existingTablesFromRows and structureSyncStatements', () => {
  test('puts each table columns in column order and reads the memory', () => {
    // Act
    const existing = existingTablesFromRows(
      layout,
      [
        {
          table_schema: 'salesforce',
          column_name: 'name',
          ordinal_position: 2,
          data_type: 'character varying',
          character_maximum_length: 1020,
        },
        {
          table_schema: 'salesforce',
          column_name: 'id',
          ordinal_position: 1,
          data_type: 'character varying',
          character_maximum_length: 18,
        },
        {
          table_schema: 'salesforce_history',
          column_name: 'id',
          ordinal_position: 1,
          data_type: 'character varying',
          character_maximum_length: 18,
        },
        {
          table_schema: 'salesforce_incremental',
          column_name: 'id',
          ordinal_position: 1,
          data_type: 'character varying',
          character_maximum_length: 18,
        },
        { table_schema: 'elsewhere', column_name: 'id', ordinal_position: 1, data_type: 'character varying' },
      ],
      [{ column_name: 'name', source_type: 'VARCHAR(1020)', refresh_pending: true }],
    );

    // Assess
    expect([...existing.final.keys()]).toEqual(['id', 'name']);
    expect([...existing.staging.keys()]).toEqual(['id']);
    expect([...(existing.history?.keys() ?? [])]).toEqual(['id']);
    expect(existing.sourceTypes).toEqual(
      new Map([['name', { sourceType: 'VARCHAR(1020)', refreshPending: true }]]),
    );
    expect(existingTablesParameters(layout, 'account')).toEqual({
      table_name: 'account',
      staging_schema: 'salesforce_incremental',
      final_schema: 'salesforce',
      history_schema: 'salesforce_history',
    });
  });

  test('lists tables and grants, the memory, widenings one by one, each transaction, then the refresh table, in that order', () => {
    // Prepare
    const changes = planTableChanges(
      layout,
      'account',
      [
        ...fields.slice(0, 2),
        field('Name', 'string', { length: 255 }),
        field('AnnualRevenue', 'string', { length: 40 }),
        field('Industry', 'picklist'),
      ],
      {
        staging: currentTable({ name: varchar(320) }),
        final: currentTable({ name: varchar(320) }),
        sourceTypes: new Map(),
      },
      { ...options, appflowDatabaseUser: 'appflow_loader' },
    );

    // Act
    const statements = structureSyncStatements(changes, ['DROP TABLE IF EXISTS x', 'CREATE TABLE x']);

    // Assess: a list is one transaction (a batch); a string runs alone, outside any transaction block
    const shape = (sql: string) => sql.split(' ').slice(0, 2).join(' ');
    expect(
      statements.map(({ step, sql }) =>
        Array.isArray(sql) ? `${step}: batch ${sql.map(shape).join(' | ')}` : `${step}: single ${shape(sql)}`,
      ),
    ).toEqual([
      'ddl1: batch GRANT INSERT,',
      'types1: batch DELETE FROM | INSERT INTO',
      'widen1: single ALTER TABLE',
      'change1: batch ALTER TABLE | UPDATE "salesforce"."account" | ALTER TABLE | ALTER TABLE',
      'change2: batch ALTER TABLE',
      'change3: batch DROP TABLE | CREATE TABLE | GRANT INSERT,',
      'refresh-table: batch DROP TABLE | CREATE TABLE',
    ]);
  });

  test('splits the DDL into batches of at most 40, named in order', () => {
    // Prepare: 45 new columns of an existing table
    const added = Array.from({ length: 45 }, (_, index) =>
      field(`Extra_${index}__c`, 'string', { length: 10 }),
    );
    const changes = planTableChanges(
      layout,
      'account',
      [...fields, ...added],
      { staging: currentTable(), final: currentTable(), sourceTypes: new Map() },
      options,
    );

    // Act
    const statements = structureSyncStatements(changes);

    // Assess
    expect(statements.slice(0, 2).map(({ step, what, sql }) => [step, what, sql.length])).toEqual([
      ['ddl1', 'structure sync (batch 1 of 2)', 40],
      ['ddl2', 'structure sync (batch 2 of 2)', 5],
    ]);
    expect(statements.every(({ sql }) => !Array.isArray(sql) || sql.length <= 40)).toBe(true);
    expect(statements.at(-1)?.step).not.toBe('refresh-table');
  });
});
