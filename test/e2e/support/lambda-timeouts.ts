import { type LocalAssembly, loadAssembly, synthesizeLocalStack } from '../../../local/runner/assembly';
import { DEFAULT_CACHE_DIR, scenarioEnvironmentConfig } from '../../../local/runner/run-scenario';
import type { Scenario } from '../../../local/runner/scenario';

// The bench holds its slow-warehouse days to the same check.
export { timeoutOverruns } from '../../../local/runner/day-report';

/** The synthesized template the local run played (cached): its functions, their timeouts, its tasks. */
export async function localAssemblyOf(scenario: Scenario): Promise<LocalAssembly> {
  return loadAssembly(await synthesizeLocalStack(scenarioEnvironmentConfig(scenario), DEFAULT_CACHE_DIR));
}
