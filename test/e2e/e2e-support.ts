import { compareWarehouseToSource, type ObjectComparison } from '../../local/runner/compare';
import {
  type DayReport,
  type LocalRunOptions,
  type LocalRunResult,
  runScenario,
} from '../../local/runner/run-scenario';
import { parseScenario, type Scenario, type ScenarioInput } from '../../local/runner/scenario';
import type { FaultSpec } from '../../local/stand-ins/fault-injector';

export interface ScenarioRun extends LocalRunResult {
  scenario: Scenario;
  comparisons: ObjectComparison[];
  day(index: number): DayReport;
  /**
   * Per scenario day, the faults it injected that no call met (each day report's `faultsNotFired`;
   * [] when every fault fired): a fault nothing met tested nothing, so a test that claims to survive
   * it must not pass.
   */
  unfiredFaults: FaultSpec[][];
}

/** Runs a scenario exactly as `npm run local -- --scenario FILE` does, and compares the warehouse with the source. */
export async function runLocalScenario(
  input: ScenarioInput,
  options: LocalRunOptions = {},
): Promise<ScenarioRun> {
  const scenario = parseScenario(input);
  const result = await runScenario(scenario, options);
  return {
    ...result,
    scenario,
    comparisons: compareWarehouseToSource(scenario, result.finalTables, result.sourceTruth),
    day: (index: number) => result.report.days[index],
    unfiredFaults: result.report.days.map((day) => day.faultsNotFired ?? []),
  };
}

/** Every enabled object's final table equals the source's truth: no row lost, none duplicated, none stale. */
export function expectWarehouseEqualsSource(run: ScenarioRun): void {
  for (const comparison of run.comparisons) {
    expect({
      object: comparison.objectName,
      missing: comparison.missing,
      unexpected: comparison.unexpected,
      differences: comparison.differences,
    }).toEqual({
      object: comparison.objectName,
      missing: [],
      unexpected: [],
      differences: [],
    });
  }
}

export function expectNoFlowsLeft(run: ScenarioRun): void {
  expect(run.report.days.map((day) => day.flowsRemaining)).toEqual(run.report.days.map(() => 0));
}

export const accounts = (count: number, prefix = 'A', extra: Record<string, unknown> = {}) =>
  Array.from({ length: count }, (_, n) => ({
    Id: `001${prefix}${String(n).padStart(5, '0')}`,
    Name: `Account ${n}`,
    ...extra,
  }));

/** A TiDB Cloud source (an AppFlow custom connector) and its connector profile, for a scenario to spread. */
export const TIDB_CLOUD_SOURCE = {
  sources: {
    tidb: {
      connectorType: 'CustomConnector',
      connectorLabel: 'TiDBCloud',
      connectorProfileName: 'tidb-cloud',
    },
  },
  connectorProfiles: [{ name: 'tidb-cloud', connectorType: 'CustomConnector', connectorLabel: 'TiDBCloud' }],
};
