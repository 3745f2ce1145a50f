import { sqlLiteral } from '../../lambdas/common/warehouse';

describe('sqlLiteral', () => {
  test.each([
    ['a schema name', 'salesforce_incremental', "'salesforce_incremental'"],
    ['a run id', 'run-2026-03-10', "'run-2026-03-10'"],
    ['a mixed-case value', 'Daily_Run-01', "'Daily_Run-01'"],
  ])('quotes %s', (_what, value, literal) => {
    // Act / Assess
    expect(sqlLiteral(value)).toBe(literal);
  });

  test.each([
    ['a quote', "a'b"],
    ['a statement separator', 'x;drop'],
    ['an empty value', ''],
    ['a space', 'a b'],
    ['a backslash', 'a\\b'],
    ['a newline', 'a\nb'],
    ['a value longer than 128 characters', 'a'.repeat(129)],
  ])('refuses %s instead of escaping it', (_what, value) => {
    // Act / Assess
    expect(() => sqlLiteral(value)).toThrow(/Refusing SQL literal/);
  });

  test('accepts 128 characters', () => {
    // Act / Assess
    expect(sqlLiteral('a'.repeat(128))).toBe(`'${'a'.repeat(128)}'`);
  });
});
