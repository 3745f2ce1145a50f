import { tokenizeSql } from '../../lambdas/common/sql-statements';

/*
 * The local warehouse is Postgres, which accepts far more than Redshift does. This scan finds
 * the Postgres-only constructs so that the local warehouse refuses them as Redshift would.
 * Comments are ignored. Inside procedure bodies string literals are scanned too, since the
 * procedure builds its dynamic SQL from them; in ordinary statements strings are data.
 */

export interface ForbiddenConstruct {
  construct: string;
  pattern: RegExp;
  /** Match against code only (string contents blanked): for words that are fine inside dynamic SQL. */
  codeOnly?: boolean;
  /**
   * `procedure`: refused only inside procedure bodies (the procedure is one transaction and
   * must stay so), e.g. TRUNCATE, which is fine as a statement of its own. @default 'any'
   */
  scope?: 'any' | 'procedure';
}

export const FORBIDDEN_CONSTRUCTS: readonly ForbiddenConstruct[] = [
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
  { construct: 'TRUNCATE', pattern: /\btruncate\b/i, scope: 'procedure' },
  { construct: 'COMMIT / ROLLBACK', pattern: /\b(commit|rollback)\b/i, codeOnly: true, scope: 'procedure' },
  { construct: 'EXECUTE ... USING', pattern: /\bexecute\b[^;]*\busing\b/i, codeOnly: true },
  { construct: 'RAISE ... USING', pattern: /\braise\b[^;]*\busing\b/i, codeOnly: true },
  { construct: 'FOREACH', pattern: /\bforeach\b/i },
  { construct: '%ROWTYPE', pattern: /%rowtype\b/i },
  { construct: 'CREATE OR REPLACE TABLE', pattern: /\bcreate\s+or\s+replace\s+table\b/i },
  { construct: 'LISTAGG (Redshift only: breaks the Postgres stand-in)', pattern: /\blistagg\b/i },
  { construct: 'DISTINCT ON', pattern: /\bdistinct\s+on\s*\(/i },
  { construct: 'LATERAL', pattern: /\blateral\b/i },
  { construct: 'DO block', pattern: /^\s*do\b/i, codeOnly: true },
  { construct: 'UNLOGGED table', pattern: /\bcreate\s+unlogged\s+table\b/i },
];

function blank(text: string): string {
  return text.replace(/[^\n]/g, ' ');
}

/**
 * The SQL with comments blanked (and string contents too, when asked), same length and line
 * breaks, so match offsets still give line numbers. Dollar-quoted bodies are code: their
 * delimiters are blanked and their insides masked the same way.
 */
export function maskSql(sqlText: string, blankStrings: boolean): string {
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

export interface DialectFinding {
  file: string;
  line: number;
  construct: string;
  text: string;
}

export interface ScanOptions {
  /**
   * `procedure`: the text is (or defines) a procedure: string literals are dynamic SQL and are
   * scanned, and procedure-only rules apply. `statement`: an ordinary statement, whose strings
   * are data. @default 'procedure' (the strict reading, used for sql/)
   */
  context?: 'procedure' | 'statement';
}

/** Every Postgres-only construct in the text, with its line. */
export function scanSql(
  file: string,
  sqlText: string,
  { context = 'procedure' }: ScanOptions = {},
): DialectFinding[] {
  const codeOnlyView = maskSql(sqlText, true);
  const views = {
    withStrings: context === 'procedure' ? maskSql(sqlText, false) : codeOnlyView,
    codeOnly: codeOnlyView,
  };
  const findings: DialectFinding[] = [];
  for (const { construct, pattern, codeOnly, scope = 'any' } of FORBIDDEN_CONSTRUCTS) {
    if (scope === 'procedure' && context !== 'procedure') continue;
    const view = codeOnly ? views.codeOnly : views.withStrings;
    const global = new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`);
    for (const match of view.matchAll(global)) {
      const line = view.slice(0, match.index).split('\n').length;
      findings.push({ file, line, construct, text: match[0].replace(/\s+/g, ' ').slice(0, 60) });
    }
  }
  if (context === 'procedure') findings.push(...nestedCursors(file, views.codeOnly));
  return findings.sort((a, b) => a.line - b.line);
}

/** Loop and cursor keywords of PL/pgSQL, in order; a FOR header runs to its own LOOP. */
const LOOPS_AND_CURSORS =
  /\bend\s+loop\b|\bfor\s+\w+\s+in\s+(select|execute)\b[\s\S]*?\bloop\b|\b(for\s+\w+\s+in|while)\b[\s\S]*?\bloop\b|\bloop\b|\bopen\s+\w+\s+for\b|\bclose\s+\w+/gi;

/**
 * Redshift allows one open cursor per session, and a FOR loop over a query is one: a cursor
 * opened (OPEN … FOR, or such a FOR loop) while another is open fails there, while Postgres
 * nests them happily.
 */
function nestedCursors(file: string, code: string): DialectFinding[] {
  const findings: DialectFinding[] = [];
  const loops: boolean[] = [];
  let open = 0;
  for (const match of code.matchAll(LOOPS_AND_CURSORS)) {
    const keyword = match[0].toLowerCase();
    const opensCursor = /^for\s+\w+\s+in\s+(select|execute)\b/.test(keyword) || keyword.startsWith('open');
    if (opensCursor && open > 0) {
      findings.push({
        file,
        line: code.slice(0, match.index).split('\n').length,
        construct:
          'nested cursors (Redshift allows one open cursor per session; a FOR loop over a query is one)',
        text: match[0].replace(/\s+/g, ' ').slice(0, 60),
      });
    }
    if (/^end\s+loop/.test(keyword)) {
      if (loops.pop()) open -= 1;
    } else if (keyword.startsWith('close')) {
      open = Math.max(0, open - 1);
    } else if (keyword.startsWith('open')) {
      open += 1;
    } else {
      loops.push(opensCursor);
      if (opensCursor) open += 1;
    }
  }
  return findings;
}

export function describeFindings(findings: DialectFinding[]): string {
  return findings
    .map(({ file, line, construct, text }) => `${file}:${line}: ${construct} (${text})`)
    .join('\n');
}
