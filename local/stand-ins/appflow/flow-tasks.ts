import type { FilterTask, ValidationOperator } from './flow-plan';

type Comparable = number | string | boolean;

function isNumericType(dataType: string): boolean {
  return [
    'double',
    'int',
    'integer',
    'long',
    'number',
    'currency',
    'percent',
    'decimal',
    // Custom connectors' types (Custom Connector SDK names and SQL labels).
    'short',
    'smallint',
    'bigint',
    'biginteger',
    'bigdecimal',
    'numeric',
    'float',
  ].includes(dataType);
}

/** Filter operands of datetime/date filters are epoch milliseconds (AppFlow's format); ISO text is accepted too. */
function comparableValue(value: unknown, dataType: string): Comparable | undefined {
  if (value === null || value === undefined || value === '') {
    return undefined;
  }
  if (dataType === 'datetime' || dataType === 'date' || dataType === 'timestamp') {
    const text = String(value);
    const ms = /^-?\d+$/.test(text) ? Number(text) : Date.parse(text);
    return Number.isNaN(ms) ? undefined : ms;
  }
  if (isNumericType(dataType)) {
    const number = Number(value);
    return Number.isNaN(number) ? undefined : number;
  }
  if (dataType === 'boolean') {
    return String(value).toLowerCase() === 'true';
  }
  return String(value);
}

function compare(left: Comparable, right: Comparable): number {
  if (left === right) {
    return 0;
  }
  return left < right ? -1 : 1;
}

/** Whether a record passes a Filter task, as the connector's pushed-down query would decide. */
export function matchesFilter(record: Record<string, unknown>, task: FilterTask): boolean {
  const actual = comparableValue(record[task.field], task.dataType);
  if (actual === undefined) {
    // Like a SOQL WHERE clause, a comparison with an empty value is never true.
    return false;
  }
  const operand = (text: string | undefined): Comparable => {
    const parsed = comparableValue(text, task.dataType);
    if (parsed === undefined) {
      throw new Error(`Filter on ${task.field} has an invalid ${task.dataType} operand '${text}'`);
    }
    return parsed;
  };
  switch (task.operator) {
    case 'GREATER_THAN':
      return compare(actual, operand(task.value)) > 0;
    case 'GREATER_THAN_OR_EQUAL_TO':
      return compare(actual, operand(task.value)) >= 0;
    case 'LESS_THAN':
      return compare(actual, operand(task.value)) < 0;
    case 'LESS_THAN_OR_EQUAL_TO':
      return compare(actual, operand(task.value)) <= 0;
    case 'BETWEEN':
      return compare(actual, operand(task.lowerBound)) >= 0 && compare(actual, operand(task.upperBound)) <= 0;
    case 'EQUAL_TO':
      return compare(actual, operand(task.value)) === 0;
    case 'NOT_EQUAL_TO':
      return compare(actual, operand(task.value)) !== 0;
    case 'CONTAINS':
      return String(actual).includes(String(operand(task.value)));
  }
}

export function passesValidation(value: unknown, operator: ValidationOperator): boolean {
  switch (operator) {
    case 'VALIDATE_NON_NULL':
      return value !== null && value !== undefined;
    case 'VALIDATE_NON_ZERO':
      return Number(value) !== 0;
    case 'VALIDATE_NON_NEGATIVE':
      return Number(value) >= 0;
    case 'VALIDATE_NUMERIC':
      return value !== null && value !== undefined && value !== '' && !Number.isNaN(Number(value));
  }
}

/**
 * A Truncate task's effect: the first `length` characters of a text value. Characters are
 * code points, so a 4-byte character such as '𝄞' counts once and is never split in half
 * (16,383 characters then take at most 65,532 bytes in UTF-8). Other values pass unchanged.
 */
export function truncateText(value: unknown, length: number): unknown {
  // A string of at most `length` UTF-16 units has at most `length` code points: nothing to cut.
  if (typeof value !== 'string' || value.length <= length) {
    return value;
  }
  let kept = 0;
  let end = 0;
  for (const character of value) {
    if (kept === length) {
      return value.slice(0, end);
    }
    kept += 1;
    end += character.length;
  }
  return value;
}
