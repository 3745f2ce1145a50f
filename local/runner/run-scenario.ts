import './polyfills';
import * as path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { EnvironmentConfig } from '../../lib/config';
import type { SalesforceLimitsStandIn } from '../stand-ins/salesforce-limits-stand-in';
import { SimulatedClock } from '../stand-ins/simulated-clock';
import { SourceOrg } from '../stand-ins/source-org';
import { setUpLocalWarehouse } from '../warehouse/local-warehouse';
import { type LocalAssembly, loadAssembly, synthesizeLocalStack } from './assembly';
import type { LocalReport, ProgressEvent } from './day-report';
import { scenarioConnectorProfiles, scenarioEnvironmentConfig } from './local-config';
import { type LocalServices, startLocalServices } from './local-services';
import { type DayStage, playDay } from './play-day';
import { collectResults, type RunResults } from './results';
import { NO_EXECUTION } from './run-execution';
import type { Scenario } from './scenario';
import { defineSourceObjects } from './source-changes';

// The local run's API, in one place for the CLI, the bench and the tests.
export type { DayReport, LocalReport, ObjectDayReport, ProgressEvent } from './day-report';
export { scenarioEnvironmentConfig } from './local-config';

export const DEFAULT_CACHE_DIR = path.join(__dirname, '..', '..', '.local-out');

export interface LocalRunOptions {
  /** Folder for the cached synth. @default `.local-out/` */
  cacheDir?: string;
  onProgress?: (event: ProgressEvent) => void;
  /** Handler log level (Powertools). @default SILENT */
  logLevel?: string;
  /**
   * Called after the last day, while the stand-ins still answer and the handlers' environment
   * is set (`npm run local -- --keep`, `verify`'s end-to-end test). @default none
   */
  afterRun?: (context: LocalRunContext) => Promise<void>;
  /**
   * Fail a run whose state input or output is over 256 KB, as Step Functions does. Only the
   * bench turns it off, to time runs bigger than the design allows. @default true
   */
  enforcePayloadLimit?: boolean;
  /**
   * Simulated seconds a warehouse statement takes, by its SQL, where the bench wants one kind of
   * statement slow (a 10-minute CALL); a day's `statementSeconds` applies otherwise. @default none
   */
  statementSeconds?: (sql: string) => number | undefined;
}

/** The live stand-ins of a finished run, for tools that talk to them as to AWS and Salesforce. */
export interface LocalRunContext {
  /** AWS_ENDPOINT_URL_<SERVICE>, region and credentials the handlers ran with. */
  env: Record<string, string>;
  config: EnvironmentConfig;
  controlTableName: string;
  db: PGlite;
  org: SourceOrg;
  salesforce: SalesforceLimitsStandIn;
}

export interface LocalRunResult extends RunResults {
  report: LocalReport;
  /** The synthesized template the run played: its functions, their timeouts, its tasks. */
  assembly: LocalAssembly;
}

/**
 * Runs a scenario through the real state machine definition (from the synthesized
 * template) and the real bundled handlers, against embedded stand-ins reached through
 * `AWS_ENDPOINT_URL_<SERVICE>`: dynalite, a Data API over PGlite, AppFlow over a
 * simulated org, Secrets Manager, EventBridge and S3 (the run-state bucket).
 */
export async function runScenario(
  scenario: Scenario,
  options: LocalRunOptions = {},
): Promise<LocalRunResult> {
  const progress = options.onProgress ?? (() => undefined);
  const config = scenarioEnvironmentConfig(scenario);
  const connectorProfiles = scenarioConnectorProfiles(scenario);

  progress({ type: 'setup', message: 'synthesizing the stack (cached after the first run)' });
  const assembly = loadAssembly(await synthesizeLocalStack(config, options.cacheDir ?? DEFAULT_CACHE_DIR));

  progress({ type: 'setup', message: 'starting the warehouse (PGlite) and applying sql/' });
  const db = await PGlite.create();
  let services: LocalServices | undefined;
  try {
    // Redshift emulation, sql/, and AppFlow's database user (no privileges until granted).
    await setUpLocalWarehouse(db);
    const clock = new SimulatedClock(`${scenario.days[0]?.date ?? '2026-01-01'}T00:00:00.000Z`);
    const org = new SourceOrg(clock);
    defineSourceObjects(org, scenario, connectorProfiles);
    services = await startLocalServices({
      scenario,
      config,
      connectorProfiles,
      assembly,
      db,
      clock,
      org,
      logLevel: options.logLevel,
      ...(options.statementSeconds ? { statementSeconds: options.statementSeconds } : {}),
    });
    const stage: DayStage = {
      clock,
      org,
      services,
      machine: {
        assembly,
        ...services.machine,
        now: () => clock.now(),
        enforcePayloadLimit: options.enforcePayloadLimit ?? true,
      },
      progress,
      totalDays: scenario.days.length,
      objects: scenario.objects.length,
    };

    const report: LocalReport = { days: [] };
    let previous = NO_EXECUTION;
    for (const [index, day] of scenario.days.entries()) {
      const played = await playDay(stage, day, index, previous);
      report.days.push(played.report);
      previous = played.execution;
    }

    const { controlTableName } = assembly;
    const results = await collectResults({ db, config, org, doc: services.doc, controlTableName });
    await options.afterRun?.({
      env: services.env,
      config,
      controlTableName,
      db,
      org,
      salesforce: services.salesforce,
    });
    return { report, assembly, ...results };
  } finally {
    await services?.stop();
    await db.close();
  }
}
