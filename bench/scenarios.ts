import { parseScenario, type Scenario } from '../local/runner/scenario';

/**
 * Scenarios the benchmark builds in code: `objects` generated Salesforce-like objects
 * (`Bench01`, `Bench02`, …) with a handful of typed fields, `rows` records each on the first
 * day, and on every later day `changedShare` of them updated.
 */
export interface GeneratedScenarioOptions {
  objects: number;
  rows: number;
  days: number;
  /** Share of each object's records updated on days 2…n. @default 0.03 */
  changedShare?: number;
  /** First day. @default 2026-01-05 */
  startDate?: string;
  /** Execution input of each day (0-based). @default {} */
  input?: (day: number, objectNames: string[]) => Record<string, unknown>;
}

const FIELDS = [
  { name: 'Name', type: 'string' },
  { name: 'Status__c', type: 'picklist' },
  { name: 'Amount__c', type: 'double' },
  { name: 'Quantity__c', type: 'int' },
  { name: 'Active__c', type: 'boolean' },
  { name: 'DueDate__c', type: 'date' },
  { name: 'OwnerId', type: 'reference' },
] as const;
const STATUSES = ['New', 'Working', 'Escalated', 'Closed'];

export function objectName(index: number): string {
  return `Bench${String(index + 1).padStart(2, '0')}`;
}

/** 18 characters, like a Salesforce Id: a 4-character prefix per object (base 36: 46,656 objects), then a counter. */
function recordId(objectIndex: number, n: number): string {
  return `a${objectIndex.toString(36).padStart(3, '0')}${String(n).padStart(11, '0')}AAA`;
}

function record(objectIndex: number, n: number, version: number): Record<string, unknown> {
  return {
    Id: recordId(objectIndex, n),
    Name: `Record ${n} v${version}`,
    Status__c: STATUSES[(n + version) % STATUSES.length],
    Amount__c: ((n * 37 + version) % 100_000) / 100,
    Quantity__c: (n + version) % 500,
    Active__c: (n + version) % 3 !== 0,
    DueDate__c: `2026-0${1 + (n % 9)}-${String(1 + (n % 28)).padStart(2, '0')}`,
    OwnerId: `005${String(n % 50).padStart(12, '0')}AAA`,
  };
}

function addDays(date: string, days: number): string {
  const next = new Date(`${date}T00:00:00.000Z`);
  next.setUTCDate(next.getUTCDate() + days);
  return next.toISOString().slice(0, 10);
}

export function generatedScenario(options: GeneratedScenarioOptions): Scenario {
  const changedShare = options.changedShare ?? 0.03;
  const startDate = options.startDate ?? '2026-01-05';
  const names = Array.from({ length: options.objects }, (_, i) => objectName(i));
  const changed = Math.max(1, Math.round(options.rows * changedShare));
  const days = Array.from({ length: options.days }, (_, day) => {
    const changes = Object.fromEntries(
      names.map((name, objectIndex) => {
        if (day === 0) {
          return [
            name,
            { upsert: Array.from({ length: options.rows }, (_, n) => record(objectIndex, n + 1, 0)) },
          ];
        }
        // A different slice of records changes each day, spread over the object.
        const stride = Math.max(1, Math.floor(options.rows / changed));
        const upsert = Array.from({ length: changed }, (_, k) => {
          const n = 1 + ((k * stride + day * 7) % options.rows);
          return record(objectIndex, n, day);
        });
        return [name, { upsert }];
      }),
    );
    return { date: addDays(startDate, day), changes, input: options.input?.(day, names) ?? {} };
  });
  return parseScenario(
    {
      objects: names.map((name) => ({ objectName: name })),
      sourceObjects: Object.fromEntries(names.map((name) => [name, { fields: FIELDS }])),
      days,
    },
    'generated bench scenario',
  );
}
