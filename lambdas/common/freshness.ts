import * as z from 'zod/mini';
import './schema';
import { completeThroughOf, lagMinutes, overdueAfterMinutes } from './cadence';
import type { ObjectConfig } from './control-row';
import type { ObjectResult } from './object-state';

/**
 * One enabled object's freshness as LoadObjects found it (issue 20): ReportRun updates completeThrough
 * from the run's results and emits `FreshnessLagMinutes` for every one of them, run or not.
 */
export interface FreshnessEntry {
  objectName: string;
  syncEveryMinutes: number;
  /** Lag past which the object counts as overdue: twice its cadence (in whole ticks) plus its flow timeout. */
  overdueAfterMinutes: number;
  completeThrough?: string;
}

export const freshnessEntriesSchema = z.array(
  z.looseObject({
    objectName: z.string(),
    syncEveryMinutes: z.number(),
    overdueAfterMinutes: z.number(),
    completeThrough: z.optional(z.string()),
  }),
);

/** What the environment sets of the overdue rule: its tick interval and its flow timeout. */
export interface FreshnessSettings {
  tickMinutes: number;
  flowTimeoutMinutes: number;
}

/** Every enabled object's entry, by name; its own flow timeout when the row sets one. */
export function freshnessEntries(objects: ObjectConfig[], environment: FreshnessSettings): FreshnessEntry[] {
  return objects
    .filter((object) => object.enabled)
    .map((object) => {
      const completeThrough = completeThroughOf(object);
      return {
        objectName: object.objectName,
        syncEveryMinutes: object.syncEveryMinutes,
        overdueAfterMinutes: overdueAfterMinutes({
          syncEveryMinutes: object.syncEveryMinutes,
          tickMinutes: environment.tickMinutes,
          flowTimeoutMinutes: object.flowTimeoutMinutes ?? environment.flowTimeoutMinutes,
        }),
        ...(completeThrough ? { completeThrough } : {}),
      };
    })
    .sort((a, b) => a.objectName.localeCompare(b.objectName));
}

export interface ObjectFreshness extends FreshnessEntry {
  /** Minutes from completeThrough to now; absent for an object that never completed a run. */
  lagMinutes?: number;
  overdue: boolean;
}

/**
 * Each object's lag at `now`: the run's own results first (a success moves completeThrough), the
 * entries for the rest. An object that never completed a run has no lag and is not counted overdue:
 * its failures show as failed runs.
 */
export function measureFreshness(
  entries: FreshnessEntry[],
  results: ObjectResult[],
  now: Date,
): ObjectFreshness[] {
  const completedNow = new Map(
    results.flatMap((result) =>
      result.completeThrough ? [[result.objectName, result.completeThrough]] : [],
    ),
  );
  return entries.map((entry) => {
    const completeThrough = latest(entry.completeThrough, completedNow.get(entry.objectName));
    if (!completeThrough) return { ...entry, overdue: false };
    const lag = lagMinutes(completeThrough, now);
    return { ...entry, completeThrough, lagMinutes: lag, overdue: lag > entry.overdueAfterMinutes };
  });
}

function latest(a: string | undefined, b: string | undefined): string | undefined {
  if (!a || !b) return a ?? b;
  return Date.parse(a) >= Date.parse(b) ? a : b;
}
