import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { tokenizeSql } from '../../lambdas/common/sql-statements';

/*
 * The tests run sql/ on Postgres, which accepts far more than Redshift does. This scan catches
 * the Postgres-only constructs before a deploy does. Comments are ignored; string literals are
 * scanned too, since the procedure builds its dynamic SQL from them.
 */

const SQL_DIR = path.join(__dirname, '../../sql');

interface ForbiddenConstruct {
  construct: string;
  pattern: RegExp;
  /** Match against code only (string contents blanked): for words that are fine inside dynamic SQL. */
  codeOnly?: boolean;
}

const FORBIDDEN: ForbiddenConstruct[] = [
  { construct: 'ON CONFLICT', pattern: /\bon\s+conflict\b/i },
  { construct: 'RETURNING', pattern: /\breturning\b/i },
  { construct: 'format()', pattern: /\bformat\s*\(/i },
  { construct: 'string_agg', pattern: /\bstring_agg\b/i },
  { construct: 'array_agg', pattern: /\barray_agg\b/i },
  { construct: 'IS DISTINCT FROM', pattern: /\bis\s+(not\s+)?distinct\s+from\b/i },
  { construct: 'generate_series', pattern: /\bgenerate_series\b/i },
  { construct: 'regexp_matches', pattern: /\bregexp_matches\b/i },
  { construct: 'index', pattern: /\bcreate\s+(unique\s+)?index\b/i },
  { construct: 'array', pattern: /\barray\b|\w\s*\[\s*\]/i },
  { construct: 'json/jsonb', pattern: /\bjsonb?\b/i },
  { construct: 'SERIAL', pattern: /\b(small|big)?serial\b/i },
  { construct: 'TRUNCATE', pattern: /\btruncate\b/i },
  { construct: 'COMMIT / ROLLBACK', pattern: /\b(commit|rollback)\b/i, codeOnly: true },
  { construct: 'EXECUTE ... USING', pattern: /\bexecute\b[^;]*\busing\b/i, codeOnly: true },
  { construct: 'RAISE ... USING', pattern: /\braise\b[^;]*\busing\b/i, codeOnly: true },
  { construct: 'FOREACH', pattern: /\bforeach\b/i },
  { construct: '%ROWTYPE', pattern: /%rowtype\b/i },
  { construct: 'CREATE OR REPLACE TABLE', pattern: /\bcreate\s+or\s+replace\s+table\b/i },
  { construct: 'LISTAGG (Redshift only: breaks the Postgres stand-in)', pattern: /\blistagg\b/i },
  { construct: 'DISTINCT ON', pattern: /\bdistinct\s+on\s*\(/i },
  { construct: 'LATERAL', pattern: /\blateral\b/i },
];

function blank(text: string): string {
  return text.replace(/[^\n]/g, ' ');
}

/**
 * The SQL with comments blanked (and string contents too, when asked), same length and line
 * breaks, so match offsets still give line numbers. Dollar-quoted bodies are code: their
 * delimiters are blanked and their insides masked the same way.
 */
function maskSql(sqlText: string, blankStrings: boolean): string {
  return tokenizeSql(sqlText)
    .map((token) => {
      switch (token.kind) {
        case 'line-comment':
        case 'block-comment':
          return blank(token.text);
        case 'string':
          return blankStrings
            ? token.text.replace(/^(E?')([\s\S]*)(')$/i, (_, open, body, close) => open + blank(body) + close)
            : token.text;
        case 'dollar-quoted': {
          const tag = /^\$[A-Za-z0-9_]*\$/.exec(token.text)?.[0] ?? '$$';
          const body = token.text.slice(tag.length, token.text.length - tag.length);
          return blank(tag) + maskSql(body, blankStrings) + blank(tag);
        }
        default:
          return token.text;
      }
    })
    .join('');
}

interface Finding {
  file: string;
  line: number;
  construct: string;
  text: string;
}

function scanSql(file: string, sqlText: string): Finding[] {
  const views = { withStrings: maskSql(sqlText, false), codeOnly: maskSql(sqlText, true) };
  const findings: Finding[] = [];
  for (const { construct, pattern, codeOnly } of FORBIDDEN) {
    const view = codeOnly ? views.codeOnly : views.withStrings;
    const global = new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`);
    for (const match of view.matchAll(global)) {
      const line = view.slice(0, match.index).split('\n').length;
      findings.push({ file, line, construct, text: match[0].replace(/\s+/g, ' ').slice(0, 60) });
    }
  }
  return findings.sort((a, b) => a.line - b.line);
}

function describeFindings(findings: Finding[]): string {
  return findings
    .map(({ file, line, construct, text }) => `${file}:${line}: ${construct} (${text})`)
    .join('\n');
}

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
