import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Simulated time of the local run (issue 19: a Lambda dies at its timeout, whatever it waited for).
 *
 * Every execution, and every child execution of a Distributed Map, has its own timeline: children
 * run side by side, each at its own simulated time. A function invocation starts at its
 * timeline's time; its sleeps (`setTimeout` inside the bundle) pass simulated time instead of
 * wall-clock time, count against its template `Timeout`, and move the timeline on when it
 * returns; its clock (`Date` inside the bundle) reads that simulated time. Waits the state
 * machine does (a flow's run, a slow statement, a Retry's backoff) move the timeline too.
 */
export class Timeline {
  /** `onAdvance` hears each move (a Map Run's scheduler waits on its children's time). */
  constructor(
    private nowMs: number,
    private readonly onAdvance?: () => void,
  ) {}

  now(): number {
    return this.nowMs;
  }

  /** Time only moves forward. */
  advanceTo(ms: number): void {
    if (ms <= this.nowMs) return;
    this.nowMs = ms;
    this.onAdvance?.();
  }
}

const timelines = new AsyncLocalStorage<Timeline>();

/** Runs `work` (an execution, a child, an event's invocations) on its own timeline. */
export function onTimeline<T>(timeline: Timeline, work: () => Promise<T>): Promise<T> {
  return timelines.run(timeline, work);
}

/** The timeline of the work under way, if any. */
export function currentTimeline(): Timeline | undefined {
  return timelines.getStore();
}

/** The error Step Functions sees when a function runs past its timeout (Lambda's own name for it). */
export class SandboxTimedOut extends Error {
  override name = 'Sandbox.Timedout';
}

/**
 * One function invocation in simulated time: when it started, how much simulated time its
 * sleeps took, and whether it ran past its timeout (then it is frozen: no sleep of it ends, no
 * AWS call of it goes out, and the state machine sees `Sandbox.Timedout`).
 */
export class Invocation {
  elapsedMs = 0;
  private killed = false;
  private readonly death: Promise<never>;
  private kill!: (error: Error) => void;

  constructor(
    readonly functionId: string,
    readonly startMs: number,
    readonly timeoutMs: number,
  ) {
    this.death = new Promise<never>((_, reject) => {
      this.kill = reject;
    });
    this.death.catch(() => undefined);
  }

  now(): number {
    return this.startMs + this.elapsedMs;
  }

  remainingMs(): number {
    return Math.max(0, this.timeoutMs - this.elapsedMs);
  }

  isDead(): boolean {
    return this.killed;
  }

  /**
   * A sleep of `ms`: true when it ends before the timeout; false when the invocation died in it (a
   * sleep that ends at the timeout ends with it: Lambda has killed the function by then).
   */
  sleep(ms: number): boolean {
    if (this.killed) return false;
    this.elapsedMs += Math.max(0, ms);
    if (this.elapsedMs < this.timeoutMs) return true;
    this.elapsedMs = this.timeoutMs;
    this.killed = true;
    this.kill(
      new SandboxTimedOut(
        `${this.functionId}: Task timed out after ${(this.timeoutMs / 1000).toFixed(2)} seconds (simulated)`,
      ),
    );
    return false;
  }

  /** The handler's result, or Sandbox.Timedout as soon as a sleep runs past the timeout. */
  race<T>(work: Promise<T>): Promise<T> {
    return Promise.race([work, this.death]);
  }
}

const invocations = new AsyncLocalStorage<Invocation>();

export function duringInvocation<T>(invocation: Invocation, work: () => Promise<T>): Promise<T> {
  return invocations.run(invocation, work);
}

export function currentInvocation(): Invocation | undefined {
  return invocations.getStore();
}

type TimerCallback = (...args: unknown[]) => void;

/**
 * `setTimeout` as a bundle sees it in the local run: inside an invocation a sleep passes
 * simulated time (and may kill the invocation); elsewhere (module scope, tools) it is Node's.
 */
export const simulatedTimers = {
  setTimeout(callback: TimerCallback, ms?: number, ...args: unknown[]) {
    const invocation = currentInvocation();
    if (!invocation) return setTimeout(callback, ms, ...args);
    if (invocation.sleep(ms ?? 0)) return setImmediate(() => callback(...args));
    // Frozen: the callback never runs, as in a Lambda sandbox that was stopped.
    return setImmediate(() => undefined);
  },
  clearTimeout(handle: ReturnType<typeof setTimeout> | ReturnType<typeof setImmediate> | undefined) {
    if (handle === undefined) return;
    clearTimeout(handle as ReturnType<typeof setTimeout>);
    clearImmediate(handle as ReturnType<typeof setImmediate>);
  },
};

/** The simulated time of the work under way: its invocation's, else its timeline's; undefined outside both. */
export function simulatedNow(): number | undefined {
  return currentInvocation()?.now() ?? currentTimeline()?.now();
}

/**
 * `Date` as a bundle sees it in the local run: `Date.now()` and `new Date()` read the simulated
 * time of the invocation (or timeline) under way, so a deadline a function sets and one it checks
 * later are both simulated, as both are real in Lambda; outside any (module scope, tools) they read
 * the wall clock. Everything else is the realm's own `Date`: a Proxy rather than a subclass, so
 * `Date.prototype` (and `instanceof Date` on the SDK's dates) stays the same.
 */
export function simulatedDateOf(RealDate: DateConstructor): DateConstructor {
  const now = () => simulatedNow() ?? RealDate.now();
  return new Proxy(RealDate, {
    construct(target, args, newTarget) {
      return Reflect.construct(target, args.length === 0 ? [now()] : args, newTarget);
    },
    // `Date()` called as a function: the current time as a string.
    apply() {
      return new RealDate(now()).toString();
    },
    get(target, property, receiver) {
      if (property === 'now') return now;
      return Reflect.get(target, property, receiver);
    },
  });
}
