/**
 * Soak (issue 19): simulated days of random inserts, updates, deletes, undeletes and purges, some
 * dates run again the same day, under random transient faults (Data API capacity errors,
 * serialization conflicts in an object's catalog read and in the precheck's batch, DeleteFlow and
 * DynamoDB throttling, AppFlow's duplicate writes) and, some days, statements slower than any
 * function's timeout; then a final full sync. No execution may fail, every fault must fire, no
 * flow may be left, no function may reach its timeout, and the warehouse must equal the source.
 *
 * The suite plays one fixed seed (SUITE_SEED, chosen because it plays every hazard). Play others,
 * longer, with:
 *
 *   SOAK_SEED=7 SOAK_DAYS=30 npm run jest -- test/e2e/soak.test.ts
 *
 * A seed is a reproducible bug report: the scenario is written to
 * `<os tmpdir>/soak-seed-<seed>-days-<days>.json` (replay it with `npm run local -- --scenario FILE`).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { timeoutOverruns } from '../../local/runner/day-report';
import { expectWarehouseEqualsSource, runLocalScenario } from './e2e-support';
import { SOAK_HAZARDS, soakScenario } from './support/soak-scenario';

const SUITE_SEED = 72;
const SUITE_DAYS = 16;
const seed = Number(process.env.SOAK_SEED ?? SUITE_SEED);
const days = Number(process.env.SOAK_DAYS ?? SUITE_DAYS);

describe('soak: random changes under random transient faults (issue 19)', () => {
  test(`the suite's seed (${SUITE_SEED}, ${SUITE_DAYS} days) plays every hazard`, () => {
    const { executions } = soakScenario({ seed: SUITE_SEED, days: SUITE_DAYS });
    const played = new Set(executions.flatMap((execution) => execution.hazards));

    expect(SOAK_HAZARDS.filter((hazard) => !played.has(hazard))).toEqual([]);
  });

  test(
    `seed ${seed}, ${days} days: no execution fails, every fault fires, no flow is left, no function reaches its timeout; after a final full sync the warehouse equals the source`,
    async () => {
      if (!Number.isInteger(seed) || !Number.isInteger(days) || days < 2) {
        throw new Error(`SOAK_SEED must be an integer and SOAK_DAYS an integer of 2 or more`);
      }
      const soak = soakScenario({ seed, days });
      const replay = path.join(os.tmpdir(), `soak-seed-${seed}-days-${days}.json`);
      fs.writeFileSync(replay, `${JSON.stringify(soak.scenario, null, 2)}\n`);

      const run = await runLocalScenario(soak.scenario);
      const { assembly } = run;

      // One line per execution, compared with the same line as it must be: a failure names the
      // execution, what it played and what went wrong.
      const outcomes = soak.executions.map((execution) => {
        const day = run.day(execution.index);
        return {
          execution: `#${execution.index} ${execution.date} ${execution.kind} (replay: ${replay})`,
          hazards: execution.hazards,
          status: day.executionStatus,
          error: day.error ?? null,
          objects: Object.entries(day.objects)
            .map(([name, object]) => `${name} ${object.status}`)
            .sort(),
          unfiredFaults: run.unfiredFaults[execution.index],
          flowsRemaining: day.flowsRemaining,
          timeoutOverruns: timeoutOverruns(day, assembly),
        };
      });
      expect(outcomes).toEqual(
        soak.executions.map((execution, index) => ({
          ...outcomes[index],
          status: 'SUCCEEDED',
          error: null,
          objects: execution.objects.map((name) => `${name} SUCCEEDED`).sort(),
          unfiredFaults: [],
          flowsRemaining: 0,
          timeoutOverruns: [],
        })),
      );
      const fullSync = run.day(soak.executions.length - 1);
      expect(Object.values(fullSync.objects).map((object) => object.syncMode)).toEqual(
        soak.executions[soak.executions.length - 1].objects.map(() => 'full'),
      );
      expectWarehouseEqualsSource(run);
    },
    (days * 12 + 120) * 1000,
  );
});
