import type { PGlite } from '@electric-sql/pglite';
import { APPFLOW_DATABASE_USER } from '../../../local/warehouse/appflow-user';
import { createLocalWarehouse } from '../../../local/warehouse/local-warehouse';
import { sortKeyIndexName, toPostgres } from '../../../local/warehouse/redshift-dialect';

/*
 * The local warehouse behaves like Redshift where Postgres alone would not. DDL here goes in
 * as Redshift SQL through toPostgres, except where a test shows the warehouse enforcing a rule
 * on DDL that no translation saw (a procedure's dynamic SQL, or Postgres DDL sent directly).
 */
describe('the local warehouse (Redshift emulation on PGlite)', () => {
  let db: PGlite;

  beforeAll(async () => {
    db = await createLocalWarehouse({ applySql: false });
    await db.exec('CREATE SCHEMA staging');
  });

  afterAll(async () => {
    await db.close();
  });

  async function redshift(sql: string): Promise<void> {
    await db.exec(toPostgres(sql));
  }

  describe('VARCHAR lengths count bytes', () => {
    beforeAll(async () => {
      await redshift('CREATE TABLE staging.names (name VARCHAR(10))');
    });

    test("VARCHAR(10) refuses 11 bytes in 6 characters, with Redshift's error text", async () => {
      const elevenBytes = `${'é'.repeat(5)}x`;
      expect(Buffer.byteLength(elevenBytes)).toBe(11);

      await expect(db.query('INSERT INTO staging.names VALUES ($1)', [elevenBytes])).rejects.toThrow(
        /^value too long for type character varying\(10\)$/,
      );
    });

    test('VARCHAR(10) accepts 10 bytes in 5 characters, and NULL', async () => {
      await db.query('INSERT INTO staging.names VALUES ($1), (NULL)', ['é'.repeat(5)]);

      const rows = await db.query<{ name: string | null }>('SELECT name FROM staging.names ORDER BY name');
      expect(rows.rows).toEqual([{ name: 'ééééé' }, { name: null }]);
    });

    test('an UPDATE is held to the same bytes', async () => {
      await expect(db.query("UPDATE staging.names SET name = 'ééééééé' WHERE name IS NULL")).rejects.toThrow(
        'value too long for type character varying(10)',
      );
    });

    test('VARCHAR(65536) is refused even when Postgres DDL bypasses the translation', async () => {
      await expect(db.exec('CREATE TABLE staging.too_wide (notes varchar(65536))')).rejects.toThrow(
        /length for type varchar cannot exceed 65535/,
      );
      await expect(db.exec('ALTER TABLE staging.names ADD COLUMN notes varchar(70000)')).rejects.toThrow(
        /length for type varchar cannot exceed 65535/,
      );
    });

    test('VARCHAR(65535) holds 65,535 bytes of 4-byte characters, not one more', async () => {
      await redshift('CREATE TABLE staging.long_text (body VARCHAR(65535))');
      const fits = `${'😀'.repeat(16_383)}abc`; // 65,532 + 3 bytes
      expect(Buffer.byteLength(fits)).toBe(65_535);

      await db.query('INSERT INTO staging.long_text VALUES ($1)', [fits]);
      await expect(db.query('INSERT INTO staging.long_text VALUES ($1)', [`${fits}d`])).rejects.toThrow(
        'value too long for type character varying(65535)',
      );
    });

    test('a column added later gets its byte check too', async () => {
      await redshift('ALTER TABLE staging.names ADD COLUMN city VARCHAR(4) ENCODE zstd');

      await expect(db.query('INSERT INTO staging.names (city) VALUES ($1)', ['ééé'])).rejects.toThrow(
        'value too long for type character varying(4)',
      );
      await expect(db.query('INSERT INTO staging.names (name) VALUES ($1)', ['é'.repeat(6)])).rejects.toThrow(
        'value too long for type character varying(10)',
      );
    });

    test('a 1,000-column table gets its byte checks as one constraint, the last column held too', async () => {
      const columns = Array.from({ length: 1000 }, (_, index) => `c${index} VARCHAR(20)`).join(', ');
      await redshift(`CREATE TABLE staging.wide (id VARCHAR(18), ${columns}) DISTKEY(id) SORTKEY(id)`);

      const checks = await db.query(
        "SELECT conname FROM pg_constraint WHERE conrelid = 'staging.wide'::regclass",
      );
      expect(checks.rows).toEqual([{ conname: 'redshift_varchar_bytes_1' }]);
      await expect(
        db.query('INSERT INTO staging.wide (id, c999) VALUES ($1, $2)', ['1', 'é'.repeat(11)]),
      ).rejects.toThrow('value too long for type character varying(20)');
    });

    test('TEXT and VARCHAR without a length are VARCHAR(256), as Redshift makes them', async () => {
      await redshift('CREATE TABLE staging.defaults (a TEXT, b VARCHAR)');

      const columns = await db.query<{ column_name: string; character_maximum_length: number }>(
        `SELECT column_name, character_maximum_length FROM information_schema.columns
         WHERE table_schema = 'staging' AND table_name = 'defaults' ORDER BY ordinal_position`,
      );
      expect(columns.rows).toEqual([
        { column_name: 'a', character_maximum_length: 256 },
        { column_name: 'b', character_maximum_length: 256 },
      ]);
      await expect(
        db.query('INSERT INTO staging.defaults (a) VALUES ($1)', ['x'.repeat(257)]),
      ).rejects.toThrow('value too long for type character varying(256)');
    });
  });

  describe('ALTER COLUMN TYPE only widens a VARCHAR', () => {
    beforeAll(async () => {
      await redshift('CREATE TABLE staging.widen (code VARCHAR(4), amount DECIMAL(18,2))');
    });

    test('widening holds the longer values afterwards', async () => {
      await redshift('ALTER TABLE staging.widen ALTER COLUMN code TYPE VARCHAR(8)');

      await db.query('INSERT INTO staging.widen (code) VALUES ($1)', ['éééé']); // 8 bytes
      await expect(db.query('INSERT INTO staging.widen (code) VALUES ($1)', ['éééée'])).rejects.toThrow(
        'value too long for type character varying(8)',
      );
    });

    test('narrowing is refused, even when every value would fit', async () => {
      await expect(db.exec('ALTER TABLE staging.widen ALTER COLUMN code TYPE varchar(6)')).rejects.toThrow(
        'cannot alter column "code" of relation "staging.widen", target column size 6 should be greater or equal to current maximum column size 8',
      );
    });

    test('a VARCHAR changed to another type is refused', async () => {
      await expect(db.exec('ALTER TABLE staging.widen ALTER COLUMN code TYPE text')).rejects.toThrow(
        /only changes the size of a VARCHAR column/,
      );
    });
  });

  describe('sort keys and statistics', () => {
    test('a SORTKEY becomes a b-tree index on the same columns, named <table>_sortkey', async () => {
      await redshift(
        'CREATE TABLE staging.account (id VARCHAR(18), name VARCHAR(40)) DISTKEY(id) SORTKEY(id)',
      );

      const indexes = await db.query<{ indexname: string; indexdef: string }>(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'staging' AND tablename = 'account'",
      );
      expect(indexes.rows).toEqual([
        {
          indexname: 'account_sortkey',
          indexdef: 'CREATE INDEX account_sortkey ON staging.account USING btree (id)',
        },
      ]);
    });

    test('CREATE TEMP TABLE AS is analyzed at once, as Redshift does', async () => {
      await db.exec("INSERT INTO staging.account SELECT 'a' || n, 'name' FROM generate_series(1, 500) n");

      await redshift('CREATE TEMP TABLE tmp_copy DISTKEY(id) SORTKEY(id) AS SELECT * FROM staging.account');

      const stats = await db.query<{ reltuples: number; analyzed: string | null }>(
        `SELECT c.reltuples, s.last_analyze AS analyzed FROM pg_class c
         JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.relname = 'tmp_copy'`,
      );
      expect(stats.rows[0]?.reltuples).toBe(500);
      expect(stats.rows[0]?.analyzed).not.toBeNull();
    });

    test('the warehouse derives the same index names as toPostgres', async () => {
      for (const table of ['account', 'x'.repeat(60)]) {
        const derived = await db.query<{ name: string }>(
          'SELECT redshift_local.sort_key_index_name($1, NULL) AS name',
          [table],
        );
        expect(derived.rows[0]?.name).toBe(sortKeyIndexName(table));
      }
    });
  });

  describe("a procedure's dynamic DDL", () => {
    beforeAll(async () => {
      await redshift(`CREATE OR REPLACE PROCEDURE staging.copy_keys(p_key varchar) AS $$
BEGIN
  DROP TABLE IF EXISTS tmp_keys;
  EXECUTE 'CREATE TEMP TABLE tmp_keys DISTKEY(' || quote_ident(p_key) || ') SORTKEY(' || quote_ident(p_key)
    || ') AS SELECT ' || quote_ident(p_key) || ' FROM staging.account';
END;
$$ LANGUAGE plpgsql`);
      await redshift(`CREATE OR REPLACE PROCEDURE staging.widen_inside() AS $$
BEGIN
  EXECUTE 'ALTER TABLE staging.account ALTER COLUMN name TYPE VARCHAR(80)';
END;
$$ LANGUAGE plpgsql`);
    });

    test('runs with Redshift attributes: the table gets its sort-key index and statistics', async () => {
      await db.exec("CALL staging.copy_keys('id')");

      const index = await db.query("SELECT 1 FROM pg_indexes WHERE indexname = 'tmp_keys_sortkey'");
      expect(index.rows).toHaveLength(1);
      const stats = await db.query<{ reltuples: number }>(
        "SELECT reltuples FROM pg_class WHERE relname = 'tmp_keys'",
      );
      expect(stats.rows[0]?.reltuples).toBeGreaterThan(0);
    });

    test('cannot ALTER COLUMN TYPE: a procedure is a transaction block', async () => {
      await expect(db.exec('CALL staging.widen_inside()')).rejects.toThrow(
        /cannot run inside a transaction block/,
      );
    });
  });

  describe("AppFlow's database user", () => {
    beforeAll(async () => {
      await redshift('CREATE SCHEMA loads');
      await redshift('CREATE TABLE loads.account (id VARCHAR(18), name VARCHAR(10)) DISTKEY(id) SORTKEY(id)');
    });

    afterEach(async () => {
      await db.exec('RESET ROLE');
    });

    async function insertAsAppFlow(name: string): Promise<void> {
      await db.transaction(async (tx) => {
        await tx.exec(`SET LOCAL ROLE ${APPFLOW_DATABASE_USER}`);
        await tx.query('INSERT INTO loads.account (id, name) VALUES ($1, $2)', ['001', name]);
      });
    }

    test('cannot insert before the pipeline grants anything', async () => {
      await expect(insertAsAppFlow('Acme')).rejects.toThrow('permission denied for schema loads');
    });

    test('USAGE on the schema alone is not enough: INSERT on the table is needed too', async () => {
      await db.exec(`GRANT USAGE ON SCHEMA loads TO ${APPFLOW_DATABASE_USER}`);

      await expect(insertAsAppFlow('Acme')).rejects.toThrow('permission denied for table account');
    });

    test('can insert after GRANT USAGE and INSERT, and is held to the byte lengths too', async () => {
      await db.exec(`GRANT INSERT ON loads.account TO ${APPFLOW_DATABASE_USER}`);

      await insertAsAppFlow('Acme');
      await expect(insertAsAppFlow('éééééé')).rejects.toThrow(
        'value too long for type character varying(10)',
      );
      const rows = await db.query('SELECT id, name FROM loads.account');
      expect(rows.rows).toEqual([{ id: '001', name: 'Acme' }]);
    });
  });

  describe('reserved words and QUOTE_IDENT, as Redshift has them', () => {
    beforeAll(async () => {
      await redshift('CREATE TABLE staging.words ("id" VARCHAR(18))');
      // A procedure that runs whatever SQL it is given, as consolidate_object runs what it builds.
      await redshift(
        'CREATE OR REPLACE PROCEDURE public.run_dynamic(p_sql varchar) AS $$ BEGIN EXECUTE p_sql; END; $$ LANGUAGE plpgsql',
      );
    });

    test("quote_ident quotes only where characters or case need it, as Redshift's documentation says", async () => {
      const result = await db.query<Record<string, string | null>>(
        `SELECT redshift_local.quote_ident('open') AS open, redshift_local.quote_ident('order') AS "order",
                quote_ident('order') AS postgres_order, redshift_local.quote_ident('Open') AS mixed,
                redshift_local.quote_ident('say "hi"') AS quotes, redshift_local.quote_ident('1st') AS digit,
                redshift_local.quote_ident('a$1') AS dollar, redshift_local.quote_ident(NULL) AS nothing`,
      );
      expect(result.rows).toEqual([
        {
          open: 'open',
          order: 'order',
          postgres_order: '"order"',
          mixed: '"Open"',
          quotes: '"say ""hi"""',
          digit: '"1st"',
          dollar: 'a$1',
          nothing: null,
        },
      ]);
    });

    test("a procedure's dynamic DDL with a bare reserved word fails with Redshift's syntax error", async () => {
      for (const [sql, word] of [
        ['ALTER TABLE staging.words ADD COLUMN open boolean', 'open'],
        ['ALTER TABLE "staging"."words" ADD COLUMN tag varchar(10)', 'tag'],
        ['CREATE TABLE staging.snapshot AS SELECT 1 AS id', 'snapshot'],
        ['CREATE TEMP TABLE tmp_words DISTKEY(timestamp) AS SELECT 1 AS "timestamp"', 'timestamp'],
        ['SELECT percent FROM staging.words', 'percent'],
      ]) {
        await expect(db.query('CALL public.run_dynamic($1)', [sql])).rejects.toThrow(
          `syntax error at or near "${word}" (${word.toUpperCase()} is a reserved word in Amazon Redshift`,
        );
      }
      const columns = await db.query(
        `SELECT column_name FROM information_schema.columns WHERE table_schema = 'staging' AND table_name = 'words'`,
      );
      expect(columns.rows).toEqual([{ column_name: 'id' }]);
    });

    test("a procedure's quote_ident leaves a reserved word bare, so it fails as on Redshift; quoting works", async () => {
      // Postgres' own quote_ident would have given "order" and let this pass.
      await redshift(
        `CREATE OR REPLACE PROCEDURE public.add_column(p_column varchar) AS $$
         BEGIN EXECUTE 'ALTER TABLE staging.words ADD COLUMN ' || quote_ident(p_column) || ' int'; END;
         $$ LANGUAGE plpgsql`,
      );
      await expect(db.query(`CALL public.add_column('order')`)).rejects.toThrow(
        'syntax error at or near "order"',
      );
      await db.query(`CALL public.add_column('Odd Name')`);

      await db.query(`CALL public.run_dynamic('ALTER TABLE "staging"."words" ADD COLUMN "system" int')`);
      await db.query(
        `CALL public.run_dynamic('ALTER TABLE "staging"."words" ADD COLUMN "Mixed ""Case""" int')`,
      );
      const columns = await db.query(
        `SELECT column_name FROM information_schema.columns WHERE table_schema = 'staging' AND table_name = 'words'
         ORDER BY ordinal_position`,
      );
      expect(columns.rows).toEqual([
        { column_name: 'id' },
        { column_name: 'Odd Name' },
        { column_name: 'system' },
        { column_name: 'Mixed "Case"' },
      ]);
    });
  });
});
