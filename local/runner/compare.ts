import { parseControlRow } from '../../lambdas/common/control-row';
import { TRUNCATE_LENGTH } from '../../lambdas/common/source-fields';
import { scenarioEnvironmentConfig } from './local-config';
import type { Scenario } from './scenario';

export interface ObjectComparison {
  objectName: string;
  table: string;
  sourceRecords: number;
  warehouseRows: number;
  missing: string[];
  unexpected: string[];
  /** `<id>.<column>: warehouse value ≠ source value`, the first few only. */
  differences: string[];
  /**
   * `<id>.<column>` of text values longer than the flow's Truncate task keeps (docs/warehouse.md:
   * what is cut): the warehouse holds their first TRUNCATE_LENGTH characters, by design.
   */
  truncated: string[];
  equal: boolean;
}

const DECIMAL_TEXT = /^-?\d+(\.\d+)?$/;

/** A number or decimal text without insignificant trailing zeros: 12500, '12500.00' → '12500'. */
function canonicalDecimal(value: number | string): string {
  const text =
    typeof value === 'number' ? (/e/i.test(String(value)) ? value.toFixed(20) : String(value)) : value;
  const trimmed = text.includes('.') ? text.replace(/\.?0+$/, '') : text;
  return trimmed === '-0' ? '0' : trimmed;
}

function isDecimal(value: unknown): value is number | string {
  return (
    (typeof value === 'number' && Number.isFinite(value)) ||
    (typeof value === 'string' && DECIMAL_TEXT.test(value))
  );
}

function normalise(value: unknown): unknown {
  if (value === undefined || value === '') return null;
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(Date.parse(value))) {
    return new Date(value).toISOString();
  }
  return value;
}

/**
 * Whether a warehouse value stands for the source value: equal after normalising, or the
 * same number however written (the org keeps exact decimal text, DECIMAL columns come back
 * as text with their scale, DOUBLE PRECISION as numbers).
 */
function sameValue(stored: unknown, source: unknown): boolean {
  const left = normalise(stored);
  const right = normalise(source);
  if (left === right) return true;
  // Numbers only compare as numbers when one side is a number or both are decimal text
  // of a numeric column; '007' and '7' in a text column stay different.
  if (
    isDecimal(left) &&
    isDecimal(right) &&
    (typeof left === 'number' || typeof right === 'number' || /\./.test(`${left}${right}`))
  ) {
    return canonicalDecimal(left) === canonicalDecimal(right);
  }
  return false;
}

/** The first `length` characters (code points) of a text. */
function firstCharacters(text: string, length: number): string {
  return Array.from(text).slice(0, length).join('');
}

/** A source text longer than the Truncate task keeps, stored as its first TRUNCATE_LENGTH characters. */
function isTruncatedCopy(stored: unknown, source: unknown): boolean {
  return (
    typeof stored === 'string' &&
    typeof source === 'string' &&
    source.length > TRUNCATE_LENGTH &&
    Array.from(source).length > TRUNCATE_LENGTH &&
    stored === firstCharacters(source, TRUNCATE_LENGTH)
  );
}

/**
 * The warehouse must equal the source's truth: every live source record once in the
 * final table with the same values in every column the table has, and no other live row.
 * `soft` tables keep deleted records flagged; `ignore` tables may keep records the source deleted.
 */
export function compareWarehouseToSource(
  scenario: Scenario,
  finalTables: Record<string, Record<string, unknown>[]>,
  sourceTruth: Record<string, Record<string, unknown>[]>,
): ObjectComparison[] {
  const comparisons: ObjectComparison[] = [];
  const truthByName = new Map(
    Object.entries(sourceTruth).map(([name, records]) => [name.toLowerCase(), records]),
  );
  // Rows are read against the run's sources, as LoadObjects reads them (issue 14).
  const { sources } = scenarioEnvironmentConfig(scenario);
  for (const row of scenario.objects) {
    const parsed = parseControlRow(row, sources);
    if (!parsed.ok || !parsed.object.enabled) continue;
    const { objectName, targetTable, deleteMode, primaryKey } = parsed.object;
    const entity = parsed.object.entityName ?? objectName;
    const truth = truthByName.get(entity.toLowerCase()) ?? [];
    const rows = finalTables[targetTable] ?? [];
    const key = primaryKey.toLowerCase();
    const live = rows.filter((candidate) => candidate.isdeleted !== true);
    const warehouseById = new Map(live.map((candidate) => [String(candidate[key]), candidate]));
    const sourceById = new Map(truth.map((record) => [String(record[primaryKey]), record]));
    const missing = [...sourceById.keys()].filter((id) => !warehouseById.has(id));
    const unexpected =
      deleteMode === 'ignore' ? [] : [...warehouseById.keys()].filter((id) => !sourceById.has(id));
    const differences: string[] = [];
    const truncated: string[] = [];
    for (const [id, record] of sourceById) {
      const stored = warehouseById.get(id);
      if (!stored) continue;
      for (const [field, value] of Object.entries(record)) {
        const column = field.toLowerCase();
        if (!(column in stored)) continue; // not a selected field
        if (sameValue(stored[column], value)) continue;
        if (isTruncatedCopy(stored[column], value)) {
          truncated.push(`${id}.${column}`);
          continue;
        }
        differences.push(`${id}.${column}: ${abbreviated(stored[column])} ≠ ${abbreviated(value)}`);
      }
    }
    const duplicateKeys = live.length - warehouseById.size;
    if (duplicateKeys > 0) differences.push(`${duplicateKeys} duplicate key(s) in ${targetTable}`);
    comparisons.push({
      objectName,
      table: targetTable,
      sourceRecords: truth.length,
      warehouseRows: live.length,
      missing,
      unexpected,
      differences: differences.slice(0, 10),
      truncated,
      equal: missing.length === 0 && unexpected.length === 0 && differences.length === 0,
    });
  }
  return comparisons;
}

/** A value for a difference line: long text cut to its start and length, so a report stays readable. */
function abbreviated(value: unknown): string {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > 120 ? `${text.slice(0, 100)}… (${text.length} characters)` : text;
}
