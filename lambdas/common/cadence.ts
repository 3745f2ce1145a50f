/**
 * Cadences (issue 20): how often a scheduled tick runs each object (`syncEveryMinutes`), anchored to
 * the environment's daily time in its time zone so that slots never drift. A slot starts at the daily
 * time plus every whole cadence from it, on the zone's wall clock: a daily object's slot at 05:00, an
 * hourly one's at every full hour from 05:00, a 15-minute one's at every quarter hour. An object is
 * due when a slot has begun since its last successful run started (its `completeThrough`), when it
 * never ran, or when its last run failed.
 *
 * Pure and shared: the CDK app derives the schedule from it, LoadObjects decides what a tick runs and
 * when each object is overdue (ReportRun measures lag against that), the CLI's `list` does the same.
 */

export const MIN_SYNC_EVERY_MINUTES = 15;
export const MAX_SYNC_EVERY_MINUTES = 7 * 24 * 60;
export const DEFAULT_SYNC_EVERY_MINUTES = 24 * 60;

/**
 * Tick intervals the schedule may use: each divides a day, and each is a cron expression anchored to
 * the daily time (minutes dividing an hour, or whole hours dividing a day).
 */
export const TICK_MINUTES = [15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440] as const;
export const DEFAULT_TICK_MINUTES = 15;
export const DEFAULT_SCHEDULE_TIME_ZONE = 'UTC';
export const DEFAULT_DAILY_AT = '05:00';

/** Environment variables LoadObjects reads the anchor from (set by the stack from the config). */
export const SCHEDULE_DAILY_AT_VARIABLE = 'SCHEDULE_DAILY_AT';
export const SCHEDULE_TIME_ZONE_VARIABLE = 'SCHEDULE_TIME_ZONE';

/** Where every cadence starts: the daily time (minutes after midnight) on the zone's wall clock. */
export interface ScheduleAnchor {
  readonly dailyAtMinutes: number;
  readonly timeZone: string;
}

/**
 * Cadences that do not divide a day (a weekly object) count their slots from Monday 5 January 1970
 * at the daily time, so a weekly object runs on Mondays. For cadences that divide a day, any whole
 * day would do.
 */
const EPOCH_MONDAY_MINUTES = 4 * 24 * 60;
const MINUTE_MS = 60_000;

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** True when the runtime knows the IANA time zone (`Europe/Berlin`, `UTC`). */
export function isTimeZone(name: string): boolean {
  try {
    formatterFor(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Minutes since 1970-01-01 00:00 on the zone's wall clock at `instant`. EventBridge Scheduler reads
 * its cron in the same wall clock: a skipped hour (spring) has no ticks, a repeated hour (autumn)
 * ticks once, and 05:00 stays 05:00 across daylight saving time.
 */
export function wallClockMinutes(instant: Date, timeZone: string): number {
  const parts = Object.fromEntries(
    formatterFor(timeZone)
      .formatToParts(instant)
      .filter((part) => part.type !== 'literal')
      .map((part) => [part.type, Number(part.value)]),
  ) as Record<'year' | 'month' | 'day' | 'hour' | 'minute', number>;
  return Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute) / MINUTE_MS;
}

/** The number of the cadence's slot `instant` falls in: it changes exactly when a slot begins. */
export function slotOf(instant: Date, syncEveryMinutes: number, anchor: ScheduleAnchor): number {
  const minutes = wallClockMinutes(instant, anchor.timeZone) - EPOCH_MONDAY_MINUTES - anchor.dailyAtMinutes;
  return Math.floor(minutes / syncEveryMinutes);
}

/**
 * Whether the tick at `now` is the day's first (the first at or after the daily time): the tick on
 * which failures that repeat every tick are reported again, once a day.
 */
export function isDailyTick(now: Date, tickMinutes: number, anchor: ScheduleAnchor): boolean {
  const previousTick = new Date(now.getTime() - tickMinutes * MINUTE_MS);
  return slotOf(now, 24 * 60, anchor) > slotOf(previousTick, 24 * 60, anchor);
}

/** The environment variable that tells LoadObjects the schedule's tick interval (minutes). */
export const SCHEDULE_TICK_MINUTES_VARIABLE = 'SCHEDULE_TICK_MINUTES';

/** What a tick needs of an object's control row to tell whether it is due. */
export interface CadenceState {
  syncEveryMinutes: number;
  completeThrough?: string;
  /** Rows of older versions have no completeThrough: their watermark is the same time. */
  watermark?: string;
  lastRun?: { status?: string };
}

export type DueReason = 'never-ran' | 'last-run-failed' | 'slot-begun';

/** Why the tick at `now` runs the object; undefined when it is not due. */
export function dueReason(object: CadenceState, now: Date, anchor: ScheduleAnchor): DueReason | undefined {
  const complete = completeThroughOf(object);
  if (!complete) return 'never-ran';
  if (object.lastRun?.status === 'FAILED') return 'last-run-failed';
  return slotOf(now, object.syncEveryMinutes, anchor) >
    slotOf(new Date(complete), object.syncEveryMinutes, anchor)
    ? 'slot-begun'
    : undefined;
}

/** The row's completeThrough, or for rows written before it existed, the watermark (the same instant). */
export function completeThroughOf(object: {
  completeThrough?: string;
  watermark?: string;
}): string | undefined {
  return object.completeThrough ?? object.watermark;
}

/**
 * How often the object really runs: only ticks start runs, so its cadence rounded up to whole ticks
 * (at least one tick). With hourly ticks a 15-minute object runs hourly, a 90-minute one at most two
 * hours apart; with daily ticks an hourly object runs daily.
 */
export function effectiveCadenceMinutes(syncEveryMinutes: number, tickMinutes: number): number {
  if (!(tickMinutes > 0)) throw new Error(`tickMinutes must be positive, got ${tickMinutes}`);
  return Math.max(Math.ceil(syncEveryMinutes / tickMinutes), 1) * tickMinutes;
}

/** What decides when an object is overdue. */
export interface OverdueRule {
  syncEveryMinutes: number;
  /** The schedule's tick interval (`scheduleTickMinutes`). */
  tickMinutes: number;
  /** The object's flow timeout: its row's, or the environment's `flowTimeoutMinutes`. */
  flowTimeoutMinutes: number;
}

/**
 * Lag past which an object is overdue: two effective cadences (a slot missed, and the next one under
 * way) plus the longest its flow may run. A 15-minute object on 15-minute ticks with a 12-hour flow
 * timeout is overdue after 12.5 h; an hourly object on daily ticks after 60 h.
 */
export function overdueAfterMinutes(rule: OverdueRule): number {
  return 2 * effectiveCadenceMinutes(rule.syncEveryMinutes, rule.tickMinutes) + rule.flowTimeoutMinutes;
}

/** Minutes from completeThrough to `now`, to a tenth of a minute (never negative). */
export function lagMinutes(completeThrough: string, now: Date): number {
  return Math.max(0, Math.round((now.getTime() - Date.parse(completeThrough)) / (MINUTE_MS / 10)) / 10);
}

const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** `HH:MM` (24-hour) as minutes after midnight; undefined when it is not such a time. */
export function parseDailyAt(value: string): number | undefined {
  const match = HH_MM.exec(value);
  return match ? Number(match[1]) * 60 + Number(match[2]) : undefined;
}

export function formatDailyAt(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

/** A daily cron (`cron(M H * * ? *)`, the environments' `scheduleExpression`): its time in minutes. */
export function dailyTimeOfCron(expression: string): number | undefined {
  const match = /^cron\((\d{1,2}) (\d{1,2}) \* \* \? \*\)$/.exec(expression.trim());
  if (!match) return undefined;
  const [minute, hour] = [Number(match[1]), Number(match[2])];
  return minute < 60 && hour < 24 ? hour * 60 + minute : undefined;
}

/**
 * The schedule's cron for ticks every `tickMinutes`, one of them at the daily time: `cron(5/15 * * *
 * ? *)` for 15-minute ticks anchored at 05:05, `cron(30 1/2 * * ? *)` for two-hourly ticks at 05:30.
 */
export function tickCronExpression(dailyAtMinutes: number, tickMinutes: number): string {
  if (!(TICK_MINUTES as readonly number[]).includes(tickMinutes)) {
    throw new Error(`tickMinutes ${tickMinutes} is not one of ${TICK_MINUTES.join(', ')}`);
  }
  const minute = dailyAtMinutes % 60;
  const hour = Math.floor(dailyAtMinutes / 60);
  if (tickMinutes < 60) return `cron(${minute % tickMinutes}/${tickMinutes} * * * ? *)`;
  if (tickMinutes === 1440) return `cron(${minute} ${hour} * * ? *)`;
  const hours = tickMinutes / 60;
  return `cron(${minute} ${hour % hours}/${hours} * * ? *)`;
}

/** The anchor from the environment variables the stack sets on LoadObjects (05:00 UTC when unset). */
export function scheduleAnchorFrom(
  dailyAt: string | undefined,
  timeZone: string | undefined,
): ScheduleAnchor {
  const minutes = parseDailyAt(dailyAt ?? DEFAULT_DAILY_AT);
  if (minutes === undefined) throw new Error(`${SCHEDULE_DAILY_AT_VARIABLE} "${dailyAt}" is not HH:MM`);
  const zone = timeZone ?? DEFAULT_SCHEDULE_TIME_ZONE;
  if (!isTimeZone(zone)) throw new Error(`${SCHEDULE_TIME_ZONE_VARIABLE} "${zone}" is not a time zone`);
  return { dailyAtMinutes: minutes, timeZone: zone };
}
