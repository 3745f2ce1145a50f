import * as fs from 'node:fs';
import { z } from 'zod';

const sourceRecord = z.record(z.string(), z.unknown());
const fieldType = z.enum([
  'id',
  'string',
  'datetime',
  'date',
  'boolean',
  'double',
  'int',
  'reference',
  'picklist',
]);

const objectChanges = z
  .object({
    upsert: z.array(sourceRecord).default([]),
    delete: z.array(z.string()).default([]),
    /** Removed with no trace, as an emptied recycle bin does. */
    purge: z.array(z.string()).default([]),
  })
  .strict();

const fault = z
  .object({
    service: z.string(),
    operation: z.string(),
    object: z.string().optional(),
    times: z.number().int().min(1).default(1),
    error: z.string(),
  })
  .strict();

/**
 * DESIGN.md: the scenario file. `objects` are control-table rows, written as given (a bad
 * row stays bad). Compatible extensions: `sourceObjects` declares fields and types of
 * the simulated org's objects up front; a day's `midRunChanges` are applied while the
 * execution runs (after its start time, before its flows read the org); a day's
 * `startTime` fixes when its execution starts.
 */
export const scenarioSchema = z
  .object({
    objects: z.array(z.record(z.string(), z.unknown())),
    sourceObjects: z
      .record(z.string(), z.object({ fields: z.array(z.object({ name: z.string(), type: fieldType })) }))
      .optional(),
    days: z.array(
      z
        .object({
          date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD'),
          changes: z.record(z.string(), objectChanges).default({}),
          midRunChanges: z.record(z.string(), objectChanges).optional(),
          /** When the day's execution starts (its window end); default: a minute after the day's changes. */
          startTime: z.iso.datetime().optional(),
          input: z.record(z.string(), z.unknown()).default({}),
          faults: z.array(fault).default([]),
          apiQuota: z.object({ remaining: z.number().int().min(0), max: z.number().int().min(1) }).optional(),
        })
        .strict(),
    ),
  })
  .strict();

export type Scenario = z.output<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;
export type ScenarioDay = Scenario['days'][number];
export type ObjectChanges = z.output<typeof objectChanges>;

export function parseScenario(raw: unknown, origin = 'scenario'): Scenario {
  const parsed = scenarioSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new Error(`Invalid ${origin}:\n  ${problems.join('\n  ')}`);
  }
  return parsed.data;
}

export function readScenarioFile(file: string): Scenario {
  return parseScenario(JSON.parse(fs.readFileSync(file, 'utf8')), `scenario file ${file}`);
}
