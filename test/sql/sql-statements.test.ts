import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readSqlFiles } from '../../lambdas/common/sql-files';
import { splitSqlStatements, tokenizeSql } from '../../lambdas/common/sql-statements';

describe('splitSqlStatements', () => {
  test('splits on semicolons, trims, and drops the semicolons', () => {
    expect(splitSqlStatements('  SELECT 1;\n\nSELECT 2 ;SELECT 3')).toEqual([
      'SELECT 1',
      'SELECT 2',
      'SELECT 3',
    ]);
  });

  test('drops empty and comment-only statements', () => {
    const sqlText = `-- header comment
;;
/* nothing here */ ;
SELECT 1; -- trailing comment
/* closing block */`;
    expect(splitSqlStatements(sqlText)).toEqual(['SELECT 1']);
  });

  test('keeps comments that belong to a statement', () => {
    expect(splitSqlStatements('-- why\nCREATE SCHEMA a; SELECT 1 /* one */ + 1;')).toEqual([
      '-- why\nCREATE SCHEMA a',
      'SELECT 1 /* one */ + 1',
    ]);
  });

  test('ignores semicolons inside single-quoted strings, with doubled quotes', () => {
    expect(splitSqlStatements("SELECT 'a;b', 'it''s; fine'; SELECT ''';'")).toEqual([
      "SELECT 'a;b', 'it''s; fine'",
      "SELECT ''';'",
    ]);
  });

  test('ignores semicolons inside E-strings with backslash escapes', () => {
    expect(splitSqlStatements("SELECT E'a\\';b'; SELECT 2")).toEqual(["SELECT E'a\\';b'", 'SELECT 2']);
  });

  test('ignores semicolons inside double-quoted identifiers', () => {
    expect(splitSqlStatements('SELECT 1 AS "a;""b"; SELECT 2')).toEqual(['SELECT 1 AS "a;""b"', 'SELECT 2']);
  });

  test('ignores semicolons and quotes inside comments', () => {
    const sqlText = `SELECT 1 -- not the end; it's a comment
  + 1 /* nor; "this" /* nested; */ still comment; */;
SELECT 2`;
    expect(splitSqlStatements(sqlText)).toEqual([
      'SELECT 1 -- not the end; it\'s a comment\n  + 1 /* nor; "this" /* nested; */ still comment; */',
      'SELECT 2',
    ]);
  });

  test('keeps a dollar-quoted procedure body, semicolons and quotes included, as one statement', () => {
    const procedure = `CREATE OR REPLACE PROCEDURE p(x varchar) AS $$
DECLARE
  pattern varchar := '^[a-z]{0,3}$';
BEGIN
  -- a comment with an apostrophe: don't split; here
  EXECUTE 'SELECT 1; SELECT 2';
  RAISE INFO 'a $ sign; and $x';
END;
$$ LANGUAGE plpgsql`;
    expect(splitSqlStatements(`${procedure};\nSELECT 1;`)).toEqual([procedure, 'SELECT 1']);
  });

  test('handles tagged dollar quotes containing $$', () => {
    const procedure = `CREATE FUNCTION f() RETURNS text AS $body$ SELECT '$$;' || $$;$$ $body$ LANGUAGE sql`;
    expect(splitSqlStatements(`${procedure}; SELECT 2;`)).toEqual([procedure, 'SELECT 2']);
  });

  test('does not take $1 parameters or $ inside identifiers for dollar quotes', () => {
    expect(splitSqlStatements('SELECT $1; SELECT a$b$ FROM t; SELECT 3')).toEqual([
      'SELECT $1',
      'SELECT a$b$ FROM t',
      'SELECT 3',
    ]);
  });

  test('refuses unterminated strings, comments and dollar quotes, naming the line', () => {
    expect(() => splitSqlStatements("SELECT 1;\nSELECT 'oops;")).toThrow(
      'Unterminated string literal starting at line 2',
    );
    expect(() => splitSqlStatements('SELECT 1 /* open')).toThrow(
      'Unterminated block comment starting at line 1',
    );
    expect(() => splitSqlStatements('\n\nCREATE PROCEDURE p() AS $$ BEGIN END;')).toThrow(
      'Unterminated dollar quote $$ starting at line 3',
    );
  });

  test('tokenizeSql covers the input exactly', () => {
    const sqlText = 'SELECT \'a\' -- c\n, "b" /* d */ $$ e $$;';
    const tokens = tokenizeSql(sqlText);
    expect(tokens.map((token) => token.text).join('')).toBe(sqlText);
    expect(tokens.map((token) => token.kind)).toEqual([
      'code',
      'string',
      'code',
      'line-comment',
      'code',
      'quoted-identifier',
      'code',
      'block-comment',
      'code',
      'dollar-quoted',
      'code',
    ]);
  });
});

describe('readSqlFiles', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sql-files-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('reads .sql files only, in lexical order, split into statements', () => {
    writeFileSync(path.join(dir, '020_b.sql'), 'SELECT 20; SELECT 21;');
    writeFileSync(path.join(dir, '001_a.sql'), '-- only a comment\n');
    writeFileSync(path.join(dir, '010_a.sql'), 'SELECT 10;');
    writeFileSync(path.join(dir, 'README.md'), 'not sql');
    writeFileSync(path.join(dir, '005_backup.sql.bak'), 'SELECT 5;');
    mkdirSync(path.join(dir, '000_dir.sql'));

    expect(readSqlFiles(dir)).toEqual([
      { file: '001_a.sql', statements: [] },
      { file: '010_a.sql', statements: ['SELECT 10'] },
      { file: '020_b.sql', statements: ['SELECT 20', 'SELECT 21'] },
    ]);
  });

  test('names the file of a statement it cannot split', () => {
    writeFileSync(path.join(dir, '001_bad.sql'), "SELECT 'unterminated;");
    expect(() => readSqlFiles(dir)).toThrow('001_bad.sql: Unterminated string literal starting at line 1');
  });
});
