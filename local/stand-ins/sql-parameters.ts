export interface SqlParameter {
  name: string;
  value: string;
}

/** Thrown for a `:name` placeholder without a parameter; the Data API answers ValidationException. */
export class MissingSqlParameterError extends Error {
  constructor(readonly parameterName: string) {
    super(`The parameter '${parameterName}' is used in the SQL but has no value in Parameters`);
    this.name = 'MissingSqlParameterError';
  }
}

/** SqlParameter.name's pattern in the Data API model. */
export const PARAMETER_NAME_PATTERN = /^[0-9a-zA-Z_]+$/;

/**
 * The Data API's rules for ExecuteStatement's Parameters, as its model states them (a list of
 * at least one; name `^[0-9a-zA-Z_]+$`; value at least 1 character: there is no NULL
 * parameter), plus names given once (a repeated name is ambiguous: refused, the stricter
 * reading). Returns the ValidationException message, or undefined when the list is valid.
 */
export function validateSqlParameters(parameters: SqlParameter[]): string | undefined {
  if (parameters.length === 0) {
    return "1 validation error detected: Value '[]' at 'parameters' failed to satisfy constraint: Member must have length greater than or equal to 1";
  }
  const seen = new Set<string>();
  for (const [index, { name, value }] of parameters.entries()) {
    if (!PARAMETER_NAME_PATTERN.test(name)) {
      return `1 validation error detected: Value '${name}' at 'parameters.${index + 1}.member.name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9a-zA-Z_]+$`;
    }
    if (value.length === 0) {
      return `1 validation error detected: Value '' at 'parameters.${index + 1}.member.value' failed to satisfy constraint: Member must have length greater than or equal to 1 (parameter '${name}')`;
    }
    if (seen.has(name)) {
      return `The parameter '${name}' is given more than once in Parameters`;
    }
    seen.add(name);
  }
  return undefined;
}

/** The Data API sends every value as text; Postgres types the quoted literal from its context. */
export function quoteSqlLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

const IDENTIFIER_START = /[A-Za-z_]/;
const IDENTIFIER_PART = /[A-Za-z0-9_]/;
const DOLLAR_TAG = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/;

/**
 * Replaces the Data API's named parameters (`:name`) with quoted literals. Placeholders
 * inside string literals ('…', E'…'), quoted identifiers ("…"), comments (-- and nested
 * /* *\/) and dollar-quoted bodies ($$…$$, $tag$…$tag$) are left alone, as are `::` casts
 * and `:=` assignments. A placeholder without a parameter throws MissingSqlParameterError;
 * parameters the SQL does not use are ignored here (the stand-in refuses them: usedParameterNames).
 */
export function substituteNamedParameters(sql: string, parameters: SqlParameter[]): string {
  const values = new Map(parameters.map((parameter) => [parameter.name, parameter.value]));
  return replacePlaceholders(sql, (name) => {
    const value = values.get(name);
    if (value === undefined) {
      throw new MissingSqlParameterError(name);
    }
    return quoteSqlLiteral(value);
  });
}

/** The names of the `:name` placeholders the SQL uses (same lexical rules as the substitution). */
export function usedParameterNames(sql: string): Set<string> {
  const names = new Set<string>();
  replacePlaceholders(sql, (name) => {
    names.add(name);
    return '';
  });
  return names;
}

function replacePlaceholders(sql: string, replacement: (name: string) => string): string {
  let output = '';
  let index = 0;
  const length = sql.length;

  /** Copies sql[index, end) to the output and moves on. */
  const copyTo = (end: number): void => {
    output += sql.slice(index, end);
    index = end;
  };

  while (index < length) {
    const char = sql[index];
    const next = sql[index + 1];

    if (char === "'") {
      const escapeString =
        index > 0 && /[eE]/.test(sql[index - 1]) && !IDENTIFIER_PART.test(sql[index - 2] ?? '');
      copyTo(endOfQuoted(sql, index, "'", escapeString));
    } else if (char === '"') {
      copyTo(endOfQuoted(sql, index, '"', false));
    } else if (char === '-' && next === '-') {
      const newline = sql.indexOf('\n', index);
      copyTo(newline < 0 ? length : newline + 1);
    } else if (char === '/' && next === '*') {
      copyTo(endOfBlockComment(sql, index));
    } else if (char === '$' && !IDENTIFIER_PART.test(sql[index - 1] ?? '')) {
      const tag = DOLLAR_TAG.exec(sql.slice(index, index + 64))?.[0];
      if (tag) {
        const close = sql.indexOf(tag, index + tag.length);
        copyTo(close < 0 ? length : close + tag.length);
      } else {
        copyTo(index + 1);
      }
    } else if (char === ':' && next === ':') {
      copyTo(index + 2);
    } else if (char === ':' && next !== undefined && IDENTIFIER_START.test(next)) {
      let end = index + 1;
      while (end < length && IDENTIFIER_PART.test(sql[end])) {
        end += 1;
      }
      output += replacement(sql.slice(index + 1, end));
      index = end;
    } else {
      copyTo(index + 1);
    }
  }
  return output;
}

/** Index just past the closing quote; a doubled quote (and, in E'' strings, a backslash) escapes. */
function endOfQuoted(sql: string, start: number, quote: string, backslashEscapes: boolean): number {
  let index = start + 1;
  while (index < sql.length) {
    const char = sql[index];
    if (backslashEscapes && char === '\\') {
      index += 2;
    } else if (char === quote && sql[index + 1] === quote) {
      index += 2;
    } else if (char === quote) {
      return index + 1;
    } else {
      index += 1;
    }
  }
  return sql.length;
}

/** Index just past a (possibly nested) block comment. */
function endOfBlockComment(sql: string, start: number): number {
  let depth = 0;
  let index = start;
  while (index < sql.length) {
    if (sql[index] === '/' && sql[index + 1] === '*') {
      depth += 1;
      index += 2;
    } else if (sql[index] === '*' && sql[index + 1] === '/') {
      depth -= 1;
      index += 2;
      if (depth === 0) {
        return index;
      }
    } else {
      index += 1;
    }
  }
  return sql.length;
}
