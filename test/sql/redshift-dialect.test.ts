import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describeFindings, maskSql, scanSql } from '../../local/warehouse/dialect-scanner';

/*
 * The tests run sql/ on Postgres, which accepts far more than Redshift does. The dialect
 * scanner (local/warehouse/dialect-scanner.ts, also run by the local warehouse on every
 * statement) catches the Postgres-only constructs before a deploy does.
 */

const SQL_DIR = path.join(__dirname, '../../sql');

describe('Redshift dialect of sql/', () => {
  const files = readdirSync(SQL_DIR)
    .filter((file) => file.endsWith('.sql'))
    .sort();

  test('sql/ has files to scan', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  test.each(files)('%s uses nothing Redshift lacks', (file) => {
    const findings = scanSql(file, readFileSync(path.join(SQL_DIR, file), 'utf8'));
    expect(describeFindings(findings)).toBe('');
  });

  // Redshift's QUOTE_IDENT quotes only where characters or case need it, so a column named
  // open, tag or timestamp would come out bare, and Redshift reserves those words. sql/ quotes
  // every identifier itself (double quotes, embedded ones doubled), in code and in the dynamic
  // SQL it builds; comments may mention the function.
  test.each(files)('%s never calls quote_ident', (file) => {
    const code = maskSql(readFileSync(path.join(SQL_DIR, file), 'utf8'), false);
    const calls = code
      .split('\n')
      .flatMap((line, index) => (/\bquote_ident\b/i.test(line) ? [index + 1] : []));
    expect(calls).toEqual([]);
  });
});

describe('the dialect scanner itself', () => {
  test('flags forbidden constructs in code, dynamic SQL strings and procedure bodies, with their lines', () => {
    const bad = `-- comments may say TRUNCATE, RETURNING and format() freely
CREATE TABLE t (id SERIAL, tags varchar[]);
CREATE INDEX t_id ON t (id);
CREATE OR REPLACE PROCEDURE p() AS $$
BEGIN
  EXECUTE 'INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING';
  EXECUTE format('SELECT %s', 1);
  EXECUTE 'SELECT $1' USING 1;
  TRUNCATE t;
  SELECT string_agg(x, ',') FROM t WHERE a IS DISTINCT FROM b;
END;
$$ LANGUAGE plpgsql;`;

    const findings = scanSql('bad.sql', bad);

    expect(findings.map(({ line, construct }) => `${line} ${construct}`)).toEqual([
      '2 array',
      '2 SERIAL',
      '3 index',
      '6 ON CONFLICT',
      '7 format()',
      '8 EXECUTE ... USING',
      '9 TRUNCATE',
      '10 string_agg',
      '10 IS DISTINCT FROM',
    ]);
    expect(describeFindings(findings)).toContain('bad.sql:6: ON CONFLICT (ON CONFLICT)');
  });

  test('does not flag USING inside dynamic SQL, nor words that only contain a forbidden one', () => {
    const fine = `CREATE OR REPLACE PROCEDURE p() AS $$
BEGIN
  EXECUTE 'DELETE FROM t USING u WHERE t.id = u.id';
  -- EXECUTE ... USING in a comment
  SELECT returning_customer, formatted, my_array_total FROM t;
  RAISE EXCEPTION 'bad value: % (not using it)', v;
END;
$$ LANGUAGE plpgsql;`;

    expect(scanSql('fine.sql', fine)).toEqual([]);
  });
});

describe('the dialect scanner on ordinary statements (context statement)', () => {
  test('string literals are data, and TRUNCATE and COMMIT are fine on their own', () => {
    const statement = `INSERT INTO notes VALUES ('format() and string_agg are only words here')`;

    expect(scanSql('s', statement, { context: 'statement' })).toEqual([]);
    expect(scanSql('s', 'TRUNCATE salesforce_incremental.account', { context: 'statement' })).toEqual([]);
  });

  test('Postgres-only code is still found, and so is an anonymous DO block', () => {
    expect(
      scanSql('s', `SELECT string_agg(id, ',') FROM t`, { context: 'statement' }).map((f) => f.construct),
    ).toEqual(['string_agg']);
    expect(
      scanSql('s', 'DO $$ BEGIN PERFORM 1; END $$', { context: 'statement' }).map((f) => f.construct),
    ).toEqual(['DO block']);
  });
});

describe('cursors: Redshift allows one open cursor per session', () => {
  const procedure = (body: string) =>
    `CREATE OR REPLACE PROCEDURE p() AS $$\nDECLARE r record; c refcursor;\nBEGIN\n${body}\nEND;\n$$ LANGUAGE plpgsql;`;
  const nested = (sql: string) =>
    scanSql('p.sql', sql)
      .filter((finding) => finding.construct.startsWith('nested cursors'))
      .map((finding) => finding.line);

  test('a FOR loop over a query inside another is refused, at the inner loop', () => {
    const sql = procedure(
      'FOR r IN SELECT 1 LOOP\n  FOR r IN SELECT 2 LOOP\n    NULL;\n  END LOOP;\nEND LOOP;',
    );
    expect(nested(sql)).toEqual([5]);
  });

  test('a FOR loop over a query while an explicit cursor is open is refused', () => {
    const sql = procedure(
      'OPEN c FOR SELECT 1;\nFOR r IN SELECT 2 LOOP\n  FETCH c INTO r;\nEND LOOP;\nCLOSE c;',
    );
    expect(nested(sql)).toEqual([5]);
  });

  test('OPEN inside a FOR loop over EXECUTE is refused', () => {
    const sql = procedure("FOR r IN EXECUTE 'SELECT 1' LOOP\n  OPEN c FOR SELECT 2;\n  CLOSE c;\nEND LOOP;");
    expect(nested(sql)).toEqual([5]);
  });

  test('loops one after the other, an integer loop around a query loop, and a cursor closed first pass', () => {
    const sql = procedure(
      [
        'FOR r IN SELECT 1 LOOP NULL; END LOOP;',
        'FOR r IN SELECT 2 LOOP NULL; END LOOP;',
        'FOR i IN 1..3 LOOP',
        '  FOR r IN SELECT i LOOP NULL; END LOOP;',
        'END LOOP;',
        'OPEN c FOR SELECT 1; CLOSE c;',
        "FOR r IN SELECT 3 LOOP EXECUTE 'SELECT 1'; END LOOP;",
      ].join('\n'),
    );
    expect(nested(sql)).toEqual([]);
  });
});
