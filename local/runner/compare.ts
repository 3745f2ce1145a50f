import { parseControlRow } from '../../lambdas/common/control-row';
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
  equal: boolean;
}

function normalise(value: unknown): unknown {
  if (value === undefined || value === '') return null;
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(Date.parse(value))) {
    return new Date(value).toISOString();
  }
  return value;
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
  for (const row of scenario.objects) {
    const parsed = parseControlRow(row);
    if (!parsed.ok || !parsed.object.enabled) continue;
    const { objectName, targetTable, deleteMode, primaryKey } = parsed.object;
    const truth = truthByName.get(objectName.toLowerCase()) ?? [];
    const rows = finalTables[targetTable] ?? [];
    const key = primaryKey.toLowerCase();
    const live = rows.filter((candidate) => candidate.isdeleted !== true);
    const warehouseById = new Map(live.map((candidate) => [String(candidate[key]), candidate]));
    const sourceById = new Map(truth.map((record) => [String(record[primaryKey]), record]));
    const missing = [...sourceById.keys()].filter((id) => !warehouseById.has(id));
    const unexpected =
      deleteMode === 'ignore' ? [] : [...warehouseById.keys()].filter((id) => !sourceById.has(id));
    const differences: string[] = [];
    for (const [id, record] of sourceById) {
      const stored = warehouseById.get(id);
      if (!stored) continue;
      for (const [field, value] of Object.entries(record)) {
        const column = field.toLowerCase();
        if (!(column in stored)) continue; // not a selected field
        if (normalise(stored[column]) !== normalise(value)) {
          differences.push(`${id}.${column}: ${JSON.stringify(stored[column])} ≠ ${JSON.stringify(value)}`);
        }
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
      equal: missing.length === 0 && unexpected.length === 0 && differences.length === 0,
    });
  }
  return comparisons;
}
