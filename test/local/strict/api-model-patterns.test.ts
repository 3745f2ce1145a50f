import { AWS_SERVICE_NAMES, loadApiModel } from '../../../local/strict/api-model';
import { compileJavaPattern, UnsupportedPatternError } from '../../../local/strict/api-model-patterns';
import { compileApiModelPatterns } from '../../../local/strict/api-model-validator';

describe('Java patterns from botocore, converted to JavaScript', () => {
  test('every pattern of every committed model converts', () => {
    for (const service of AWS_SERVICE_NAMES) {
      const model = loadApiModel(service);
      const withPatterns = Object.values(model.shapes).filter((shape) => shape.pattern !== undefined);
      expect(compileApiModelPatterns(model).size).toBe(withPatterns.length);
    }
  });

  test('the whole value must match, as Java matches() does', () => {
    const flowName = compileJavaPattern('[a-zA-Z0-9][\\w!@#.-]+');
    expect(flowName.test('saas-to-redshift-Account-run-1')).toBe(true);
    expect(flowName.test('my flow')).toBe(false);
  });

  test("\\s is Java's ASCII whitespace: a no-break space is not whitespace", () => {
    const description = compileJavaPattern('[\\w!@#\\-.?,\\s]*');
    expect(description.test('Temporary full load of Account')).toBe(true);
    expect(description.test('Temporary\u00a0load')).toBe(false);
    expect(compileJavaPattern('\\S+').test('a\u00a0b')).toBe(true);
  });

  test("'.' stops at Java's line terminators, including U+0085", () => {
    const any = compileJavaPattern('.*');
    expect(any.test('one line')).toBe(true);
    expect(any.test('two\nlines')).toBe(false);
    expect(any.test('next\u0085line')).toBe(false);
  });

  test('a surrogate-pair range covers astral characters as one code point', () => {
    const xmlText = compileJavaPattern('[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\t]*');
    expect(xmlText.test('emoji 😀 ok')).toBe(true);
    expect(xmlText.test('bell \u0007')).toBe(false);
  });

  test('a class range like +-= keeps its Java meaning (tag keys)', () => {
    const tagKey = compileJavaPattern('^(?!aws:)[a-zA-Z+-=._:/]+$');
    expect(tagKey.test('saas-to-redshift:object')).toBe(true);
    expect(tagKey.test('aws:object')).toBe(false);
    expect(tagKey.test('tag with space')).toBe(false);
  });

  test.each([
    ['\\p{Alpha}+', /escape \\p/],
    ['a*+', /possessive quantifier/],
    ['(?i)abc', /group construct/],
    ['[a-z&&[^e]]', /nested character class|intersection/],
    ['\\Qa.b\\E', /escape \\Q/],
    ['[abc', /unterminated character class/],
  ])('%s cannot be converted faithfully: loading fails loudly', (pattern, reason) => {
    expect(() => compileJavaPattern(pattern)).toThrow(UnsupportedPatternError);
    expect(() => compileJavaPattern(pattern)).toThrow(reason);
  });
});
