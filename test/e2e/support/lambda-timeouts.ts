import { type LocalAssembly, loadAssembly, synthesizeLocalStack } from '../../../local/runner/assembly';
import {
  type DayReport,
  DEFAULT_CACHE_DIR,
  scenarioEnvironmentConfig,
} from '../../../local/runner/run-scenario';
import type { Scenario } from '../../../local/runner/scenario';

/** The synthesized template the local run played (cached): its functions, their timeouts, its tasks. */
export async function localAssemblyOf(scenario: Scenario): Promise<LocalAssembly> {
  return loadAssembly(await synthesizeLocalStack(scenarioEnvironmentConfig(scenario), DEFAULT_CACHE_DIR));
}

/**
 * The functions whose longest simulated run of the day reached their template `Timeout`: a run
 * that long was killed there (`Sandbox.Timedout`), so "within its timeout" means strictly less.
 */
export function timeoutOverruns(day: DayReport, assembly: LocalAssembly): string[] {
  return Object.entries(day.lambdaSeconds)
    .filter(([logicalId, seconds]) => !(seconds < (assembly.functions[logicalId]?.timeoutSeconds ?? 0)))
    .map(
      ([logicalId, seconds]) =>
        `${day.date} ${logicalId}: ${seconds} s of ${assembly.functions[logicalId]?.timeoutSeconds} s`,
    );
}
