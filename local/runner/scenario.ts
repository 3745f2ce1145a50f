import * as fs from 'node:fs';
import { z } from 'zod';
import { faultProblems } from '../stand-ins/fault-injector';
import { SOURCE_FIELD_TYPES } from '../stand-ins/source-org';

const sourceRecord = z.record(z.string(), z.unknown());

const fieldDeclaration = {
  name: z.string().min(1),
  type: z.enum(SOURCE_FIELD_TYPES),
  length: z.number().int().min(1).optional(),
  precision: z.number().int().min(1).optional(),
  scale: z.number().int().min(0).optional(),
};
const scaleWithinPrecision = [
  (field: { scale?: number; precision?: number }) =>
    field.scale === undefined || field.precision === undefined || field.scale <= field.precision,
  { message: 'scale must not exceed precision' },
] as const;

/**
 * A field as Salesforce describes it (contract 8): type, and length or precision/scale where it
 * has them; `formula: true` for a formula or roll-up (describe `calculated: true`, issue 21).
 */
const sourceField = z
  .object({ ...fieldDeclaration, formula: z.boolean().optional() })
  .strict()
  .refine(...scaleWithinPrecision);

/** A day's `alterFields` entry (issue 21): a field's type and describe values from that day on. */
const fieldAlteration = z
  .object(fieldDeclaration)
  .strict()
  .refine(...scaleWithinPrecision);

/** DESIGN.md `sourceObjects.<entity>`; `profile`, `primaryKey` and `cursorField` are stored with the object. */
const sourceObject = z
  .object({
    fields: z.array(sourceField).default([]),
    profile: z.string().min(1).optional(),
    primaryKey: z.string().min(1).optional(),
    cursorField: z.string().min(1).optional(),
  })
  .strict();

/** `connectorProfiles[]`: AppFlow connector profiles that exist besides the environment's own. */
const connectorProfile = z
  .object({
    name: z.string().regex(/^[\w!@#.-]{1,256}$/, 'must be a valid AppFlow connector profile name'),
    connectorType: z.string().regex(/^[A-Za-z]{1,64}$/, 'must be an AppFlow connector type'),
    connectorLabel: z.string().min(1).optional(),
  })
  .strict()
  .refine((profile) => profile.connectorType !== 'CustomConnector' || profile.connectorLabel !== undefined, {
    message: 'connectorLabel is required for a CustomConnector profile',
    path: ['connectorLabel'],
  });

const objectChanges = z
  .object({
    upsert: z.array(sourceRecord).default([]),
    delete: z.array(z.string()).default([]),
    /** Removed with no trace, as an emptied recycle bin does. */
    purge: z.array(z.string()).default([]),
    /**
     * Issue 21: values set without moving the cursor (a formula's recalculation), each
     * `{ "<primary key>": "…", "<field>": value, … }` (`SourceOrg.recompute`).
     */
    recompute: z.array(sourceRecord).default([]),
  })
  .strict();

const fault = z
  .object({
    service: z.string(),
    operation: z.string(),
    object: z.string().optional(),
    times: z.number().int().min(1).default(1),
    /** Not needed by `DuplicateWrite` (service appflow), which writes records twice instead of failing. */
    error: z.string().min(1).optional(),
  })
  .strict()
  // Checked up front, as the injector checks it: a fault that cannot fire must not wait for its day.
  .superRefine((spec, context) => {
    for (const problem of faultProblems(spec)) {
      context.addIssue({ code: 'custom', path: [problem.field], message: problem.message });
    }
  });

/**
 * DESIGN.md: the scenario file. `objects` are control-table rows, written as given (a bad
 * row stays bad). Compatible extensions: `sourceObjects` declares fields and types of
 * the simulated org's objects up front (with Salesforce's length, precision and scale);
 * a fault `DuplicateWrite` makes a flow run write some records twice; a day's `midRunChanges` are applied while the
 * execution runs (after its start time, before its flows read the org); a day's
 * `startTime` fixes when its execution starts.
 */
export const scenarioSchema = z
  .object({
    objects: z.array(z.record(z.string(), z.unknown())),
    /**
     * Issue 14: sources added to the run's environment config (`sources` in lib/config.ts,
     * validated there: a bad entry fails the run naming the key).
     */
    sources: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
    connectorProfiles: z.array(connectorProfile).optional(),
    sourceObjects: z.record(z.string(), sourceObject).optional(),
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
          /** Simulated minutes an object's flow run takes (DESIGN.md); default 2. */
          flowRunMinutes: z.record(z.string(), z.number().min(0)).optional(),
          /**
           * Issue 21: fields whose declared type changes (or that are added) from this day on, per
           * entity; existing values convert as Salesforce converts them (`SourceOrg.alterFields`).
           */
          alterFields: z.record(z.string(), z.array(fieldAlteration)).optional(),
          /** Objects whose end-of-run event is lost (DESIGN.md): the sweep settles their wait. */
          dropFlowEvents: z.array(z.string()).optional(),
          /** Objects whose end-of-run event arrives twice, the second after the wait ended (changes nothing). */
          duplicateFlowEvents: z.array(z.string()).optional(),
          /**
           * DESIGN.md (issue 19): simulated seconds every warehouse statement of the day takes
           * before it finishes; the functions' waits and timeouts play out in simulated time.
           */
          statementSeconds: z.number().min(0).optional(),
          /** Objects whose statements' end events (the Data API's, WithEvent) are lost: waits run to their timeout. */
          dropStatementEvents: z.array(z.string()).optional(),
          /**
           * Redrive the previous day's failed execution (RedriveExecution) instead of starting one:
           * it continues from the state it failed in; `input` is then not used.
           */
          redrive: z.boolean().optional(),
        })
        .strict()
        .refine((day) => !day.startTime || new Date(day.startTime).toISOString().slice(0, 10) === day.date, {
          message: 'must fall on the day’s date (UTC)',
          path: ['startTime'],
        }),
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
