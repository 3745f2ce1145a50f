/**
 * When formula fields are refreshed (issue 21): shared by the run's planning (run-plan.ts) and the
 * column refresh itself (column-refresh.ts).
 */

/** Why a refresh runs; `syncReason` of the object's result is the first that applies. */
export type RefreshReason = 'type-change' | 'new-columns' | 'formula-refresh';

/** How often formulas are refreshed when the row does not say (DESIGN.md). */
export const DEFAULT_FORMULA_REFRESH_MINUTES = 1440;

/**
 * Whether the formula refresh is due: never with 0, at once when it never ran, else after
 * `everyMinutes`, less `slackMinutes`. The times compared are runs' start times, which a schedule
 * sets a few seconds apart from day to day: with half the object's cadence as slack, a daily
 * object refreshes on every daily run and an hourly one on the first run a day after the last
 * refresh, never an hour later each day.
 */
export function formulaRefreshDue(
  everyMinutes: number | undefined,
  lastRefreshedAt: string | undefined,
  now: Date,
  slackMinutes = 0,
): boolean {
  const minutes = everyMinutes ?? DEFAULT_FORMULA_REFRESH_MINUTES;
  if (minutes <= 0) return false;
  if (!lastRefreshedAt) return true;
  const last = Date.parse(lastRefreshedAt);
  const slack = Math.min(Math.max(slackMinutes, 0), minutes / 2);
  return Number.isNaN(last) || now.getTime() - last >= (minutes - slack) * 60_000;
}
