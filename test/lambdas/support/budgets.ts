import type { TimeBudget } from '../../../lambdas/common/warehouse';

/**
 * An invocation with no time left to wait: each statement is looked at once, and one still
 * running is handed to the state machine. Tests need no timers with it.
 */
export const SPENT_BUDGET: TimeBudget = { remainingMs: () => 0 };

/** A budget the test sets and spends itself. */
export class ControlledBudget implements TimeBudget {
  constructor(public leftMs: number) {}

  remainingMs(): number {
    return this.leftMs;
  }
}

/**
 * Runs `act` with jest's fake timers advancing until it settles: the steps' sleeps (looks at a
 * running statement, backoff before a resubmission, re-reads of a flow run) take no real time.
 * Microtasks stay real, so the mocked SDK calls resolve between timer steps.
 */
export async function withFakeTimers<T>(act: () => Promise<T>, stepMs = 50): Promise<T> {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'] });
  try {
    let settled = false;
    const promise = act().finally(() => {
      settled = true;
    });
    // Advance only while the act is pending; a rejection is observed by the caller's await.
    promise.catch(() => undefined);
    while (!settled) await jest.advanceTimersByTimeAsync(stepMs);
    return await promise;
  } finally {
    jest.useRealTimers();
  }
}
