import type { IncomingHttpHeaders } from 'node:http';

const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The header a local function's requests carry with its invocation's simulated time (epoch ms):
 * stand-ins whose answers depend on the caller's time (a statement's run, a JWT's expiry) read it.
 */
export const SIMULATED_NOW_HEADER = 'x-local-simulated-now';

/** The caller's simulated time from its request headers, if it sent one. */
export function callerSimulatedNow(headers: IncomingHttpHeaders): number | undefined {
  const header = headers[SIMULATED_NOW_HEADER];
  const sent = Number(Array.isArray(header) ? header[0] : header);
  return Number.isFinite(sent) && sent > 0 ? sent : undefined;
}

/**
 * Simulated time shared by the source org (SystemModstamp) and the AppFlow stand-in
 * (execution timestamps). It only ever moves forward, so a rerun of an earlier date
 * still produces newer modstamps than everything before it.
 */
export class SimulatedClock {
  private currentMs: number;

  constructor(startIso = '2026-01-01T00:00:00.000Z') {
    const startMs = Date.parse(startIso);
    if (Number.isNaN(startMs)) {
      throw new Error(`SimulatedClock: invalid start time '${startIso}'`);
    }
    this.currentMs = startMs;
  }

  now(): Date {
    return new Date(this.currentMs);
  }

  /** Advances the clock by `ms` (at least 1 ms, so every tick yields a distinct time) and returns the new time. */
  tick(ms = 1000): Date {
    this.currentMs += Math.max(1, Math.floor(ms));
    return this.now();
  }

  /**
   * Moves to 06:00Z of `date` when that is later than now; for a date already reached
   * (a rerun of the same or an earlier day) time simply keeps its current, later value.
   */
  advanceToDate(date: string): void {
    if (!DATE_PATTERN.test(date)) {
      throw new Error(`SimulatedClock: expected a date as YYYY-MM-DD, got '${date}'`);
    }
    const targetMs = Date.parse(`${date}T06:00:00.000Z`);
    if (Number.isNaN(targetMs)) {
      throw new Error(`SimulatedClock: invalid date '${date}'`);
    }
    if (targetMs > this.currentMs) {
      this.currentMs = targetMs;
    }
  }
}
