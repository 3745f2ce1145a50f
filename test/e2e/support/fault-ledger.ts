import type { ScenarioInput } from '../../../local/runner/scenario';
import { FaultInjector, type FaultSpec } from '../../../local/stand-ins/fault-injector';
import { runLocalScenario, type ScenarioRun } from '../e2e-support';

export interface WatchedRun extends ScenarioRun {
  /** Per scenario day: the faults it injected that never fired (none: every fault was met and survived). */
  unfiredFaults: FaultSpec[][];
}

/**
 * Runs a scenario as `runLocalScenario` does and notes, per day, which of its faults were never
 * taken: a fault no call met tested nothing, and a test that claims to survive it must not pass.
 * The run's FaultInjector is watched from outside (each day starts with `clear` then `add`).
 */
export async function runWatchingFaults(input: ScenarioInput): Promise<WatchedRun> {
  const unfiredFaults: FaultSpec[][] = [];
  let injector: FaultInjector | undefined;
  const { add, clear } = FaultInjector.prototype;
  const addSpy = jest.spyOn(FaultInjector.prototype, 'add').mockImplementation(function (
    this: FaultInjector,
    faults: FaultSpec[],
  ) {
    injector = this;
    unfiredFaults.push([]);
    add.call(this, faults);
  });
  const clearSpy = jest.spyOn(FaultInjector.prototype, 'clear').mockImplementation(function (
    this: FaultInjector,
  ) {
    // The day before this one ends here: what it left untaken never fired.
    if (this === injector && unfiredFaults.length > 0)
      unfiredFaults[unfiredFaults.length - 1] = this.pending();
    clear.call(this);
  });
  try {
    const run = await runLocalScenario(input);
    if (injector && unfiredFaults.length > 0) unfiredFaults[unfiredFaults.length - 1] = injector.pending();
    return { ...run, unfiredFaults };
  } finally {
    addSpy.mockRestore();
    clearSpy.mockRestore();
  }
}
