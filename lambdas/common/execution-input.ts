import * as z from 'zod/mini';
import { OBJECT_NAME_PATTERN } from './control-row';
import { matching } from './schema';

const isoDate = matching(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD').check(
  // Date.parse rolls 2026-02-30 over to March 2: a real date reads back unchanged.
  z.refine((value) => {
    const date = new Date(`${value}T00:00:00Z`);
    return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
  }, 'is not a calendar date'),
);

/**
 * DESIGN.md: the execution input contract, all optional. `from`/`to` is a compatible
 * extension for backfilling a range of days (`runDate` is a one-day backfill). The schedule sends
 * `{"scheduled": true}`: a tick, which runs only the objects that are due (issue 20).
 */
export const executionInputSchema = z
  .strictObject({
    /** A scheduled tick: only the objects that are due run. Operators leave it out. */
    scheduled: z.optional(z.boolean()),
    runDate: z.optional(isoDate),
    from: z.optional(isoDate),
    to: z.optional(isoDate),
    objects: z.optional(
      z
        .array(matching(OBJECT_NAME_PATTERN, 'object names must match ^[A-Za-z][A-Za-z0-9_]{0,79}$'))
        // An empty list is a mistake (a script that found nothing to rerun), never "everything".
        .check(
          z.minLength(1, 'must name at least one object; leave "objects" out to run every enabled object'),
        ),
    ),
    syncMode: z.optional(z.enum(['incremental', 'full'])),
  })
  .check(
    z.superRefine((input, ctx) => {
      if (input.scheduled) {
        const named = (['runDate', 'from', 'to', 'objects', 'syncMode'] as const).filter(
          (key) => input[key] !== undefined,
        );
        for (const key of named) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message:
              'cannot be combined with scheduled (a tick runs the objects that are due; leave scheduled out to run what you name)',
          });
        }
      }
      if (input.runDate && (input.from || input.to)) {
        ctx.addIssue({ code: 'custom', path: ['runDate'], message: 'cannot be combined with from/to' });
      }
      if ((input.from && !input.to) || (!input.from && input.to)) {
        ctx.addIssue({ code: 'custom', path: ['from'], message: 'from and to go together' });
      }
      if (input.from && input.to && input.from > input.to) {
        ctx.addIssue({ code: 'custom', path: ['to'], message: 'must not be before from' });
      }
    }),
  );

export type ExecutionInput = z.output<typeof executionInputSchema>;

export function parseExecutionInput(raw: unknown): ExecutionInput {
  const parsed = executionInputSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || 'input'} ${issue.message}`,
    );
    throw new InvalidExecutionInputError(`Invalid execution input: ${problems.join('; ')}`);
  }
  return parsed.data;
}

export class InvalidExecutionInputError extends Error {
  override name = 'InvalidExecutionInput';
}
