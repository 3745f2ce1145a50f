import { TRUNCATE_LENGTH } from '../../lambdas/common/source-fields';
import type { ScenarioInput } from '../../local/runner/scenario';
import { SALESFORCE_FIELD_TYPES, type SourceFieldType } from '../../local/stand-ins/source-org';
import { expectNoFlowsLeft, runLocalScenario, type ScenarioRun } from './e2e-support';

const OBJECT = 'Wide_Object__c';
const TABLE = 'wide_object__c';
const DECLARED_FIELDS = 600;
const ADDED_FIELDS = 60;
const LONG_TEXT_FIELD = 'Long_Text_Area_Of_The_Object__c';

/** A 30-character custom field name, e.g. `Field_0007_xxxxxxxxxxxxxxxx__c`. */
function fieldName(index: number, prefix = 'Field'): string {
  return `${`${prefix}_${String(index).padStart(4, '0')}_`.padEnd(27, 'x')}__c`;
}

/** Every type the Salesforce connector can load, in turn; the unloadable ones are left out. */
const LOADABLE_TYPES = SALESFORCE_FIELD_TYPES.filter(
  (type) => !['base64', 'address', 'location', 'anyType', 'id'].includes(type),
);

function sampleValue(type: SourceFieldType, index: number): unknown {
  switch (type) {
    case 'boolean':
      return index % 2 === 0;
    case 'int':
    case 'long':
      return index;
    case 'double':
      return index * 3;
    case 'currency':
      return index + 0.1 + 0.2; // 0.30000000000000004 in binary: stored and loaded as exactly .30
    case 'percent':
      return 12.5;
    case 'date':
      return '2026-02-01';
    case 'datetime':
      return '2026-02-01T10:00:00.000Z';
    case 'time':
      return '09:30:00.000Z';
    case 'reference':
      return `001Wd${String(index).padStart(13, '0')}`;
    case 'email':
      return `user${index}@example.com`;
    case 'url':
      return `https://example.com/${index}`;
    case 'multipicklist':
      return 'A;B';
    default:
      return `v${index} é`;
  }
}

/**
 * Issue 11's done-when: a 600-field object (30-character names, declared in sourceObjects,
 * most values NULL as in real wide objects), a day that adds 60 fields, and a Long Text Area
 * value of 131,072 characters with 4-byte characters.
 */
function wideObjectScenario(): { scenario: ScenarioInput; longText: string } {
  const declared = Array.from({ length: DECLARED_FIELDS - 1 }, (_, index) => ({
    name: fieldName(index),
    type: LOADABLE_TYPES[index % LOADABLE_TYPES.length],
  }));
  // 131,072 characters, the first half '𝄞' (4 bytes in UTF-8): 327,680 bytes in all.
  const longText = `${'𝄞'.repeat(65_536)}${'abcd'.repeat(16_384)}`;
  const record = (n: number, valued: number[]) => ({
    Id: `a0W${String(n).padStart(15, '0')}`,
    Name: `Wide ${n}`,
    ...Object.fromEntries(
      valued.map((index) => [declared[index].name, sampleValue(declared[index].type, index)]),
    ),
  });
  const addedFields = Array.from({ length: ADDED_FIELDS }, (_, index) => fieldName(index, 'Added'));
  return {
    longText,
    scenario: {
      objects: [{ objectName: OBJECT }],
      sourceObjects: {
        [OBJECT]: {
          fields: [...declared, { name: LONG_TEXT_FIELD, type: 'textarea', length: 131_072 }],
        },
      },
      days: [
        {
          date: '2026-02-02',
          changes: {
            [OBJECT]: {
              upsert: [
                // Each type once across the records, everything else NULL.
                record(1, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
                record(2, [11, 12, 13, 14, 15, 16, 17, 18, 19, 598]),
                { ...record(3, [300]), [LONG_TEXT_FIELD]: longText },
                { ...record(4, []), [LONG_TEXT_FIELD]: 'a short note 𝄞' },
              ],
            },
          },
        },
        {
          // 60 new fields at the source: 60 new columns, more than one Data API batch holds.
          date: '2026-02-03',
          changes: {
            [OBJECT]: {
              upsert: [
                {
                  Id: record(1, []).Id,
                  ...Object.fromEntries(addedFields.map((name, index) => [name, `added ${index}`])),
                },
                record(5, [20, 21]),
              ],
            },
          },
        },
        {
          date: '2026-02-04',
          changes: { [OBJECT]: { upsert: [{ Id: record(2, []).Id, [fieldName(12)]: null }] } },
        },
      ],
    },
  };
}

describe('local run: wide objects and long text (issue 11)', () => {
  let run: ScenarioRun;
  let longText: string;

  beforeAll(async () => {
    const built = wideObjectScenario();
    longText = built.longText;
    run = await runLocalScenario(built.scenario);
  }, 600_000);

  test('every day succeeds and leaves no flow behind', () => {
    expect(
      run.report.days.map((day) => [
        day.executionStatus,
        day.objects[OBJECT]?.status,
        day.objects[OBJECT]?.error,
      ]),
    ).toEqual([
      ['SUCCEEDED', 'SUCCEEDED', null],
      ['SUCCEEDED', 'SUCCEEDED', null],
      ['SUCCEEDED', 'SUCCEEDED', null],
    ]);
    expectNoFlowsLeft(run);
  });

  test('the final table has a column per source field: 600 declared, 60 added, the system fields', () => {
    const columns = Object.keys(run.finalTables[TABLE][0]);
    expect(columns).toEqual(
      expect.arrayContaining([fieldName(0).toLowerCase(), LONG_TEXT_FIELD.toLowerCase()]),
    );
    expect(columns).toEqual(expect.arrayContaining([fieldName(ADDED_FIELDS - 1, 'Added').toLowerCase()]));
    // Id, Name, SystemModstamp, IsDeleted + 600 declared + 60 added (+ the pipeline's own, if any).
    expect(columns.length).toBeGreaterThanOrEqual(4 + DECLARED_FIELDS + ADDED_FIELDS);
  });

  test('the warehouse equals the source except the long value, cut to TRUNCATE_LENGTH characters', () => {
    const [comparison] = run.comparisons;
    expect({
      missing: comparison.missing,
      unexpected: comparison.unexpected,
      differences: comparison.differences,
      truncated: comparison.truncated,
    }).toEqual({
      missing: [],
      unexpected: [],
      differences: [],
      truncated: [`a0W000000000000003.${LONG_TEXT_FIELD.toLowerCase()}`],
    });
    const stored = run.finalTables[TABLE].find((row) => row.id === 'a0W000000000000003')?.[
      LONG_TEXT_FIELD.toLowerCase()
    ] as string;
    expect(TRUNCATE_LENGTH).toBe(16_383);
    expect(stored).toBe('𝄞'.repeat(TRUNCATE_LENGTH));
    expect(Buffer.byteLength(stored)).toBe(65_532); // inside VARCHAR(65535)
    expect(longText.length).toBeGreaterThan(stored.length);
  });

  test('the report counts the cut value as valuesTruncated on the day it was loaded', () => {
    const truncatedPerDay = run.report.days.map(
      (day) => (day.objects[OBJECT] as { valuesTruncated?: number } | undefined)?.valuesTruncated ?? 0,
    );
    expect(truncatedPerDay[0]).toBe(1);
  });
});
