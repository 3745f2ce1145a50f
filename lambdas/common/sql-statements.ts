/**
 * SQL text → single statements, for the Redshift Data API (BatchExecuteStatement takes one
 * statement per array entry) and for the local PGlite warehouse.
 *
 * Pure string work, no `fs`: this module is bundled into the deploy Lambda.
 */

export type SqlTokenKind =
  | 'code'
  | 'string'
  | 'quoted-identifier'
  | 'line-comment'
  | 'block-comment'
  | 'dollar-quoted';

export interface SqlToken {
  kind: SqlTokenKind;
  /** The token's exact source text, delimiters included. */
  text: string;
  /** Offset of the token's first character in the input. */
  start: number;
}

const identifierChar = /[A-Za-z0-9_$]/;
const dollarTagAt = /\$([A-Za-z_][A-Za-z0-9_]*)?\$/y;

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i += 1) {
    if (text[i] === '\n') line += 1;
  }
  return line;
}

function unterminated(what: string, text: string, start: number): Error {
  return new Error(`Unterminated ${what} starting at line ${lineOf(text, start)}`);
}

/** End (exclusive) of a quoted token whose quote char is doubled to escape it: '…' or "…". */
function endOfQuoted(text: string, start: number, quote: string, backslashEscapes: boolean): number {
  let i = start + 1;
  while (i < text.length) {
    const char = text[i];
    if (backslashEscapes && char === '\\') {
      i += 2;
      continue;
    }
    if (char === quote) {
      if (text[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i += 1;
  }
  throw unterminated(quote === "'" ? 'string literal' : 'quoted identifier', text, start);
}

/** Block comments nest in Postgres (and Redshift's parser accepts the same). */
function endOfBlockComment(text: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < text.length) {
    if (text.startsWith('/*', i)) {
      depth += 1;
      i += 2;
    } else if (text.startsWith('*/', i)) {
      depth -= 1;
      i += 2;
      if (depth === 0) return i;
    } else {
      i += 1;
    }
  }
  throw unterminated('block comment', text, start);
}

/**
 * Splits SQL text into tokens: strings, quoted identifiers, comments and dollar-quoted bodies
 * are whole tokens; everything else is `code` (where a `;` ends a statement).
 * Throws on an unterminated string, identifier, comment or dollar quote, naming its line.
 */
export function tokenizeSql(sqlText: string): SqlToken[] {
  const tokens: SqlToken[] = [];
  let codeStart = 0;
  let i = 0;

  const pushToken = (kind: SqlTokenKind, start: number, end: number): void => {
    if (codeStart < start) {
      tokens.push({ kind: 'code', text: sqlText.slice(codeStart, start), start: codeStart });
    }
    tokens.push({ kind, text: sqlText.slice(start, end), start });
    codeStart = end;
    i = end;
  };

  while (i < sqlText.length) {
    const char = sqlText[i];
    const previous = i > 0 ? sqlText[i - 1] : '';
    if (char === '-' && sqlText[i + 1] === '-') {
      const newline = sqlText.indexOf('\n', i);
      pushToken('line-comment', i, newline === -1 ? sqlText.length : newline);
    } else if (char === '/' && sqlText[i + 1] === '*') {
      pushToken('block-comment', i, endOfBlockComment(sqlText, i));
    } else if (char === "'") {
      // E'…' strings take backslash escapes; plain ones do not (standard_conforming_strings).
      const escapeString = /[eE]/.test(previous) && !identifierChar.test(sqlText[i - 2] ?? '');
      const start = escapeString ? i - 1 : i;
      pushToken('string', start, endOfQuoted(sqlText, i, "'", escapeString));
    } else if (char === '"') {
      pushToken('quoted-identifier', i, endOfQuoted(sqlText, i, '"', false));
    } else if (char === '$' && !identifierChar.test(previous)) {
      // `$tag$` opens a dollar quote; `$1` (a parameter) and `a$b` (an identifier) do not.
      dollarTagAt.lastIndex = i;
      const opening = dollarTagAt.exec(sqlText);
      if (opening) {
        const close = sqlText.indexOf(opening[0], i + opening[0].length);
        if (close === -1) throw unterminated(`dollar quote ${opening[0]}`, sqlText, i);
        pushToken('dollar-quoted', i, close + opening[0].length);
      } else {
        i += 1;
      }
    } else {
      i += 1;
    }
  }
  if (codeStart < sqlText.length) {
    tokens.push({ kind: 'code', text: sqlText.slice(codeStart), start: codeStart });
  }
  return tokens;
}

/**
 * Splits a SQL file into its statements on `;`, ignoring `;` inside strings, quoted
 * identifiers, comments and dollar-quoted bodies (`$$ … $$`, `$body$ … $body$`).
 * Statements are trimmed and returned without their `;`; empty and comment-only
 * statements are dropped.
 */
export function splitSqlStatements(sqlText: string): string[] {
  const statements: string[] = [];
  let current = '';
  let hasContent = false;

  const finishStatement = (): void => {
    if (hasContent) statements.push(current.trim());
    current = '';
    hasContent = false;
  };

  for (const token of tokenizeSql(sqlText)) {
    if (token.kind !== 'code') {
      current += token.text;
      if (token.kind !== 'line-comment' && token.kind !== 'block-comment') hasContent = true;
      continue;
    }
    const pieces = token.text.split(';');
    pieces.forEach((piece, index) => {
      if (index > 0) finishStatement();
      current += piece;
      if (piece.trim() !== '') hasContent = true;
    });
  }
  finishStatement();
  return statements;
}
