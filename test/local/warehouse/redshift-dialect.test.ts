import {
  RedshiftDialectError,
  sortKeyIndexName,
  toPostgres,
  toPostgresStatements,
} from '../../../local/warehouse/redshift-dialect';

/** Whitespace folded, so expectations read like the SQL. */
function folded(sql: string): string {
  return sql
    .replace(/\s+/g, ' ')
    .replace(/\( /g, '(')
    .replace(/ ([,;)])/g, '$1')
    .trim();
}

describe('toPostgres: Redshift table attributes', () => {
  test('DISTSTYLE, DISTKEY, ENCODE and BACKUP are dropped; SORTKEY becomes an index on the same columns', () => {
    const statements = toPostgresStatements(
      'CREATE TABLE IF NOT EXISTS salesforce.account (id VARCHAR(18) ENCODE zstd, name VARCHAR(255) ENCODE lzo) ' +
        'BACKUP NO DISTSTYLE KEY DISTKEY(id) COMPOUND SORTKEY(id, name) ENCODE AUTO',
    );

    expect(statements.map(folded)).toEqual([
      'CREATE TABLE IF NOT EXISTS salesforce.account (id VARCHAR(18), name VARCHAR(255))',
      'CREATE INDEX IF NOT EXISTS "account_sortkey" ON salesforce.account (id, name)',
    ]);
  });

  test('CREATE TEMP TABLE AS keeps its query and gets the sort-key index', () => {
    const statements = toPostgresStatements(
      'CREATE TEMP TABLE tmp_winner DISTKEY(consolidate__key) SORTKEY(consolidate__key) AS SELECT 1 AS consolidate__key',
    );

    expect(statements.map(folded)).toEqual([
      'CREATE TEMP TABLE tmp_winner AS SELECT 1 AS consolidate__key',
      'CREATE INDEX IF NOT EXISTS "tmp_winner_sortkey" ON tmp_winner (consolidate__key)',
    ]);
  });

  test('column-level DISTKEY and SORTKEY, and quoted identifiers', () => {
    const statements = toPostgresStatements(
      'CREATE TABLE "Sales"."My Table" ("Id" varchar(18) DISTKEY SORTKEY, b int)',
    );

    expect(statements.map(folded)).toEqual([
      'CREATE TABLE "Sales"."My Table" ("Id" varchar(18), b int)',
      'CREATE INDEX IF NOT EXISTS "My Table_sortkey" ON "Sales"."My Table" ("Id")',
    ]);
  });

  test('an INTERLEAVED sort key becomes one index per column', () => {
    expect(toPostgresStatements('CREATE TABLE t (a int, b int) INTERLEAVED SORTKEY (a, b)').slice(1)).toEqual(
      [
        'CREATE INDEX IF NOT EXISTS "t_sortkey_1" ON t (a)',
        'CREATE INDEX IF NOT EXISTS "t_sortkey_2" ON t (b)',
      ],
    );
  });

  test('index names stay within 63 bytes, deterministically', () => {
    const long = 'a'.repeat(60);
    expect(sortKeyIndexName('account')).toBe('account_sortkey');
    expect(Buffer.byteLength(sortKeyIndexName(long))).toBeLessThanOrEqual(63);
    expect(sortKeyIndexName(long)).toBe(sortKeyIndexName(long));
    expect(sortKeyIndexName(long)).not.toBe(sortKeyIndexName(`${long}b`));
  });

  test('ALTER SORTKEY replaces the index; ALTER DISTSTYLE and DISTKEY change nothing', () => {
    expect(toPostgresStatements('ALTER TABLE s.t ALTER SORTKEY (b)').at(-1)).toBe(
      'CREATE INDEX "t_sortkey" ON s.t (b)',
    );
    expect(toPostgresStatements('ALTER TABLE s.t ALTER SORTKEY (b)')).toContain(
      'DROP INDEX IF EXISTS s."t_sortkey"',
    );
    expect(toPostgresStatements('ALTER TABLE s.t ALTER DISTSTYLE EVEN')).toEqual([
      'ALTER TABLE s.t SET WITHOUT CLUSTER',
    ]);
    expect(toPostgresStatements('ALTER TABLE s.t ALTER DISTKEY id')).toEqual([
      'ALTER TABLE s.t SET WITHOUT CLUSTER',
    ]);
  });

  test('ADD COLUMN drops its ENCODE', () => {
    expect(toPostgres('ALTER TABLE "s"."t" ADD COLUMN "x" DECIMAL(18,2) ENCODE az64')).toBe(
      'ALTER TABLE "s"."t" ADD COLUMN "x" DECIMAL(18,2)',
    );
  });

  test('VARCHAR(MAX) and NVARCHAR are Redshift spellings of VARCHAR', () => {
    expect(folded(toPostgres('CREATE TABLE t (a VARCHAR(MAX), b NVARCHAR(10))'))).toBe(
      'CREATE TABLE t (a varchar(65535), b varchar(10))',
    );
  });

  test('words inside string literals of ordinary statements are data, not attributes', () => {
    const insert = "INSERT INTO notes VALUES ('DISTKEY(id) SORTKEY(id) string_agg')";
    expect(toPostgres(insert)).toBe(insert);
  });
});

describe('toPostgres refuses what Redshift refuses', () => {
  test.each([
    ['VARCHAR(65536)', 'CREATE TABLE t (a VARCHAR(65536))', /length for type varchar cannot exceed 65535/],
    ['CHAR(4097)', 'CREATE TABLE t (a CHAR(4097))', /length for type character cannot exceed 4096/],
    ['string_agg', "SELECT string_agg(name, ',') FROM t", /string_agg is not supported by Amazon Redshift/],
    ['ON CONFLICT', 'INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING', /ON CONFLICT is not supported/],
    ['RETURNING', 'DELETE FROM t RETURNING id', /RETURNING is not supported/],
    ['CREATE INDEX', 'CREATE INDEX t_a ON t (a)', /index is not supported/],
    [
      'several actions in one ALTER TABLE',
      'ALTER TABLE t ADD COLUMN a int, ADD COLUMN b int',
      /one action per ALTER TABLE/,
    ],
    [
      'ALTER COLUMN TYPE to a non-VARCHAR',
      'ALTER TABLE t ALTER COLUMN a TYPE bigint',
      /only the size of a VARCHAR/,
    ],
    [
      'ALTER COLUMN TYPE in a multi-statement text',
      'SELECT 1; ALTER TABLE t ALTER COLUMN a TYPE varchar(20)',
      /cannot run inside a transaction block/,
    ],
    [
      'a procedure that widens a column',
      'CREATE PROCEDURE p() AS $$ BEGIN ALTER TABLE t ALTER COLUMN a TYPE varchar(20); END; $$ LANGUAGE plpgsql',
      /cannot run inside a transaction block/,
    ],
  ])('%s', (_, sql, message) => {
    expect(() => toPostgres(sql)).toThrow(RedshiftDialectError);
    expect(() => toPostgres(sql)).toThrow(message);
  });

  test('ALTER COLUMN TYPE VARCHAR(n) alone passes; inside a batch it is refused', () => {
    const widen = 'ALTER TABLE t ALTER COLUMN a TYPE VARCHAR(20)';
    expect(toPostgres(widen)).toBe(widen);
    expect(() => toPostgres(widen, { inTransactionBlock: true })).toThrow(
      /cannot run inside a transaction block/,
    );
  });

  test('TRUNCATE is fine as a statement of its own, not inside a procedure', () => {
    expect(toPostgres('TRUNCATE salesforce_incremental.account')).toBe(
      'TRUNCATE salesforce_incremental.account',
    );
    expect(() => toPostgres('CREATE PROCEDURE p() AS $$ BEGIN TRUNCATE t; END; $$ LANGUAGE plpgsql')).toThrow(
      /TRUNCATE/,
    );
  });
});

describe('toPostgres on procedures', () => {
  const procedure = `CREATE OR REPLACE PROCEDURE p(p_key varchar) AS $$
DECLARE
  v_count bigint;
BEGIN
  CREATE TEMP TABLE tmp_static DISTKEY(k) SORTKEY(k) AS SELECT 1 AS k;
  EXECUTE 'CREATE TEMP TABLE tmp_dynamic DISTKEY(' || quote_ident(p_key) || ') AS SELECT 1 AS ' || quote_ident(p_key);
  EXECUTE 'SELECT COUNT(*) FROM tmp_dynamic' INTO v_count;
END;
$$ LANGUAGE plpgsql`;

  test('static DDL is translated in place, its index right after the statement', () => {
    const body = toPostgres(procedure);

    expect(folded(body)).toContain(
      'CREATE TEMP TABLE tmp_static AS SELECT 1 AS k; CREATE INDEX IF NOT EXISTS "tmp_static_sortkey" ON tmp_static (k);',
    );
  });

  test('every EXECUTE goes through the warehouse-side translation, INTO kept outside it', () => {
    const body = folded(toPostgres(procedure));

    expect(body).toContain(
      "EXECUTE redshift_local.to_postgres('CREATE TEMP TABLE tmp_dynamic DISTKEY(' || redshift_local.quote_ident(p_key) || ') AS SELECT 1 AS ' || redshift_local.quote_ident(p_key));",
    );
    expect(body).toContain(
      "EXECUTE redshift_local.to_postgres('SELECT COUNT(*) FROM tmp_dynamic') INTO v_count;",
    );
  });
});

describe('toPostgres refuses a Redshift reserved word as a bare identifier', () => {
  // Postgres accepts most of these (OPEN, TAG, PERCENT, TIMESTAMP, NEW, SYSTEM, SNAPSHOT …);
  // Redshift answers `syntax error at or near "open"`, and so does the local warehouse.
  test.each([
    ['a CREATE TABLE column', 'CREATE TABLE s.t (id varchar(18), open boolean)', 'open'],
    [
      'a column after a quoted one',
      'CREATE TABLE s.t ("Id" varchar(18), "x" int, timestamp timestamp)',
      'timestamp',
    ],
    ['ADD COLUMN', 'ALTER TABLE "s"."t" ADD COLUMN tag varchar(10)', 'tag'],
    ['ADD without COLUMN', 'ALTER TABLE s.t ADD percent numeric(5,2)', 'percent'],
    ['ALTER COLUMN', 'ALTER TABLE s.t ALTER COLUMN snapshot TYPE varchar(20)', 'snapshot'],
    ['RENAME COLUMN … TO', 'ALTER TABLE s.t RENAME COLUMN a TO new', 'new'],
    ['a qualified table name', 'CREATE TABLE salesforce.system (id int)', 'system'],
    ['an unqualified table name', 'CREATE TABLE tag (id int)', 'tag'],
    ['a schema name', 'CREATE SCHEMA IF NOT EXISTS open', 'open'],
    ['the table of an INSERT', 'INSERT INTO s.offset (id) VALUES (1)', 'offset'],
    ['DISTKEY', 'CREATE TABLE s.t ("user" int, b int) DISTKEY(user)', 'user'],
    ['SORTKEY', 'CREATE TABLE s.t ("id" int, "end" int) SORTKEY("id", end)', 'end'],
    ['a column a query names', 'SELECT id, open FROM s.t', 'open'],
    ['an aggregate over a column', 'SELECT MIN(tag) FROM s.t', 'tag'],
  ])('%s', (_, sql, word) => {
    expect(() => toPostgres(sql)).toThrow(RedshiftDialectError);
    expect(() => toPostgres(sql)).toThrow(
      `syntax error at or near "${word}" (${word.toUpperCase()} is a reserved word in Amazon Redshift: quote the identifier, "${word}")`,
    );
  });

  test('the same statements quoted pass, mixed case and embedded quotes included', () => {
    const statements = toPostgresStatements(
      'CREATE TABLE "salesforce"."system" ("offset" varchar(18), "open" boolean, "timestamp" timestamp, ' +
        '"Mixed Case" int, "say ""hi""" int) DISTKEY("offset") SORTKEY("offset", "timestamp")',
    );
    expect(statements.map(folded)).toEqual([
      'CREATE TABLE "salesforce"."system" ("offset" varchar(18), "open" boolean, "timestamp" timestamp, "Mixed Case" int, "say ""hi""" int)',
      'CREATE INDEX IF NOT EXISTS "system_sortkey" ON "salesforce"."system" ("offset", "timestamp")',
    ]);
    expect(toPostgres('ALTER TABLE "s"."t" ADD COLUMN "tag" varchar(10)')).toBe(
      'ALTER TABLE "s"."t" ADD COLUMN "tag" varchar(10)',
    );
    expect(toPostgres('SELECT "open", t."percent" FROM "s"."t" t ORDER BY "open" LIMIT 1 OFFSET 2')).toBe(
      'SELECT "open", t."percent" FROM "s"."t" t ORDER BY "open" LIMIT 1 OFFSET 2',
    );
  });

  test('words that are syntax stay syntax, and words inside strings are data', () => {
    const sql =
      "SELECT CAST(x AS timestamp), TIMESTAMP '2026-01-01', 'open tag percent' FROM s.t ORDER BY 1 LIMIT 1 OFFSET 1";
    expect(toPostgres(sql)).toBe(sql);
    expect(toPostgres('ALTER TABLE s.t ADD COLUMN "x" varchar(10) ENCODE lzo')).toBe(
      'ALTER TABLE s.t ADD COLUMN "x" varchar(10)',
    );
  });

  test("quote_ident is Redshift's: the warehouse's own, which leaves reserved words bare", () => {
    expect(toPostgres("SELECT quote_ident('open')")).toBe("SELECT redshift_local.quote_ident('open')");
    expect(toPostgres("SELECT 'quote_ident(x)'")).toBe("SELECT 'quote_ident(x)'");
  });
});
