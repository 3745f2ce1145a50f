/**
 * EventBridge's event-pattern matching (User Guide, "Event patterns" and "Content filtering"),
 * for the operators the template's rules use: exact values, `prefix`, `suffix`,
 * `equals-ignore-case`, `exists` and `anything-but`. Any other operator is refused rather than
 * guessed: a rule this stand-in cannot read must not silently match or miss.
 */
export function matchesEventPattern(
  pattern: Record<string, unknown>,
  event: Record<string, unknown>,
): boolean {
  return Object.entries(pattern).every(([field, expected]) =>
    matchesField(field, expected, event[field], field in event),
  );
}

function matchesField(field: string, expected: unknown, actual: unknown, present: boolean): boolean {
  if (Array.isArray(expected)) {
    const values = Array.isArray(actual) ? actual : [actual];
    return expected.some((matcher) => matchesValue(field, matcher, values, present));
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) {
      // A nested pattern only matches a nested object, except for `exists: false` leaves under it.
      return Object.entries(expected as Record<string, unknown>).every(([child, childExpected]) =>
        matchesField(`${field}.${child}`, childExpected, undefined, false),
      );
    }
    return matchesEventPattern(expected as Record<string, unknown>, actual as Record<string, unknown>);
  }
  throw new Error(
    `Event pattern field ${field}: a value must be an array or an object, not ${JSON.stringify(expected)}`,
  );
}

function matchesValue(field: string, matcher: unknown, values: unknown[], present: boolean): boolean {
  if (matcher === null || typeof matcher !== 'object') {
    return present && values.some((value) => value === matcher);
  }
  const entries = Object.entries(matcher as Record<string, unknown>);
  if (entries.length !== 1)
    throw new Error(`Event pattern field ${field}: one operator per matcher, got ${JSON.stringify(matcher)}`);
  const [operator, operand] = entries[0];
  const strings = values.filter((value): value is string => typeof value === 'string');
  switch (operator) {
    case 'prefix':
      return present && typeof operand === 'string' && strings.some((value) => value.startsWith(operand));
    case 'suffix':
      return present && typeof operand === 'string' && strings.some((value) => value.endsWith(operand));
    case 'equals-ignore-case':
      return (
        present &&
        typeof operand === 'string' &&
        strings.some((value) => value.toLowerCase() === operand.toLowerCase())
      );
    case 'exists':
      return operand === present;
    case 'anything-but': {
      const excluded = Array.isArray(operand) ? operand : [operand];
      if (excluded.some((item) => item !== null && typeof item === 'object')) {
        throw new Error(`Event pattern field ${field}: anything-but with an operator is not simulated`);
      }
      return present && values.every((value) => !excluded.includes(value));
    }
    default:
      throw new Error(
        `Event pattern field ${field}: operator "${operator}" is not simulated by the local EventBridge`,
      );
  }
}
