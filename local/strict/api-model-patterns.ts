/**
 * botocore's `pattern` traits are Java regular expressions, and AWS matches them against
 * the whole value (Java's `Matcher.matches()`). This converts one to an equivalent
 * JavaScript RegExp (flag `u`, anchored), and throws for any construct whose meaning it
 * cannot carry over, so that a model never loads with a pattern silently dropped.
 */

export class UnsupportedPatternError extends Error {
  constructor(pattern: string, reason: string) {
    super(`Java pattern ${JSON.stringify(pattern)} cannot be converted to JavaScript: ${reason}`);
    this.name = 'UnsupportedPatternError';
  }
}

// Java's \s is ASCII whitespace only; JavaScript's also matches Unicode spaces.
const JAVA_SPACE_CHARS = ' \\t\\n\\x0B\\f\\r';
// Java's `.` stops at these line terminators (JavaScript's does not stop at U+0085).
const JAVA_DOT = '[^\\n\\r\\u0085\\u2028\\u2029]';
// Characters that may be escaped with a backslash in a `u`-flag JavaScript pattern.
const JS_SYNTAX_CHARACTERS = new Set('^$\\.*+?()[]{}|/'.split(''));

function convertEscape(pattern: string, index: number, inClass: boolean): { text: string; next: number } {
  const char = pattern[index + 1];
  if (char === undefined) throw new UnsupportedPatternError(pattern, 'trailing backslash');
  switch (char) {
    case 'd':
    case 'D':
    case 'w':
    case 'W':
    case 't':
    case 'n':
    case 'r':
    case 'f':
      // ASCII classes and control escapes mean the same in both (without UNICODE_CHARACTER_CLASS).
      return { text: `\\${char}`, next: index + 2 };
    case 'b':
      if (inClass) throw new UnsupportedPatternError(pattern, '\\b inside a character class');
      return { text: '\\b', next: index + 2 };
    case 's':
      return { text: inClass ? JAVA_SPACE_CHARS : `[${JAVA_SPACE_CHARS}]`, next: index + 2 };
    case 'S':
      if (inClass) throw new UnsupportedPatternError(pattern, '\\S inside a character class');
      return { text: `[^${JAVA_SPACE_CHARS}]`, next: index + 2 };
    case 'u': {
      const hex = pattern.slice(index + 2, index + 6);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new UnsupportedPatternError(pattern, 'malformed \\u escape');
      // With flag `u`, a surrogate pair written as two \u escapes is one code point, as in Java.
      return { text: `\\u${hex}`, next: index + 6 };
    }
    case 'x': {
      const hex = pattern.slice(index + 2, index + 4);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new UnsupportedPatternError(pattern, 'malformed \\x escape');
      return { text: `\\x${hex}`, next: index + 4 };
    }
    case '-':
      return { text: inClass ? '\\-' : '-', next: index + 2 };
    case 'p':
      // Java's POSIX class \p{ASCII} (Step Functions' TraceHeader); other \p classes stay refused.
      if (pattern.startsWith('\\p{ASCII}', index)) {
        return { text: inClass ? '\\x00-\\x7F' : '[\\x00-\\x7F]', next: index + '\\p{ASCII}'.length };
      }
      throw new UnsupportedPatternError(pattern, 'escape \\p other than \\p{ASCII}');
    default:
      if (/[A-Za-z0-9]/.test(char)) {
        // \p{..}, \Q..\E, \A, \z, \Z, \G, \h, \R, back-references, octal: no faithful 1:1 form here.
        throw new UnsupportedPatternError(pattern, `escape \\${char}`);
      }
      return { text: JS_SYNTAX_CHARACTERS.has(char) ? `\\${char}` : char, next: index + 2 };
  }
}

/** The JavaScript source (unanchored) equivalent to a Java pattern. */
export function javaPatternToJavaScript(pattern: string): string {
  let out = '';
  let inClass = false;
  let index = 0;
  while (index < pattern.length) {
    const char = pattern[index];
    if (char === '\\') {
      const converted = convertEscape(pattern, index, inClass);
      out += converted.text;
      index = converted.next;
      continue;
    }
    if (inClass) {
      if (char === '[') throw new UnsupportedPatternError(pattern, 'nested character class');
      if (char === '&' && pattern[index + 1] === '&') {
        throw new UnsupportedPatternError(pattern, 'character class intersection (&&)');
      }
      if (char === ']') inClass = false;
      out += char;
      index += 1;
      continue;
    }
    if (char === '[') {
      inClass = true;
      out += char;
      index += 1;
      // A ']' right after '[' or '[^' is a literal in Java, the end of an empty class in JavaScript.
      if (pattern[index] === '^') {
        out += '^';
        index += 1;
      }
      if (pattern[index] === ']') {
        out += '\\]';
        index += 1;
      }
      continue;
    }
    if (char === '.') {
      out += JAVA_DOT;
      index += 1;
      continue;
    }
    if ((char === '*' || char === '+' || char === '?' || char === '}') && pattern[index + 1] === '+') {
      throw new UnsupportedPatternError(pattern, 'possessive quantifier');
    }
    if (char === '(' && pattern[index + 1] === '?') {
      const group = pattern.slice(index, index + 4);
      if (!/^\(\?(?::|=|!|<=|<!)/.test(group)) {
        throw new UnsupportedPatternError(pattern, `group construct ${group}`);
      }
    }
    out += char;
    index += 1;
  }
  if (inClass) throw new UnsupportedPatternError(pattern, 'unterminated character class');
  return out;
}

/** A RegExp that accepts exactly the values Java's `Pattern.compile(pattern).matcher(value).matches()` does. */
export function compileJavaPattern(pattern: string): RegExp {
  const source = javaPatternToJavaScript(pattern);
  try {
    return new RegExp(`^(?:${source})$`, 'u');
  } catch (error) {
    throw new UnsupportedPatternError(pattern, `converted form /${source}/u: ${(error as Error).message}`);
  }
}
