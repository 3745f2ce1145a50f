import { AppflowClient, DescribeConnectorProfilesCommand } from '@aws-sdk/client-appflow';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { S3Client } from '@aws-sdk/client-s3';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { optionalEnv, requireEnv } from './common/environment';
import {
  classifyAwsError,
  errorMessage,
  PrecheckFailedError,
  ThrottledError,
  WarehouseConflictError,
} from './common/errors';
import { logger } from './common/observability';
import { guardRunPlan } from './common/quota-guard';
import { isLaterTick, type RunContext } from './common/run-plan';
import type { RunPlanReference } from './common/run-state';
import { type ApiQuota, readApiQuota, SourceCredentialsError } from './common/source-limits';
import {
  DEFAULT_SOURCES,
  parseSourceCatalog,
  SOURCES_ENVIRONMENT_VARIABLE,
  type SourceCatalog,
} from './common/sources';
import { type StatementWait, statementNameFor, statementWaitFor } from './common/statement-waits';
import {
  budgetOf,
  chunked,
  fetchRows,
  MAX_BATCH_STATEMENTS,
  runSequence,
  runStatement,
  type SequenceProgress,
  type StatementSlot,
  type TimeBudget,
  type WarehouseTarget,
  wallClockBudget,
  warehouseTargetFromEnv,
} from './common/warehouse';
import { missingProcedures, warehouseSetupStatements } from './common/warehouse-setup';

const CONNECTOR_PROFILES = requireEnv('CONNECTOR_PROFILES').split(',');
const LIMITS_SECRET_ID = optionalEnv('SOURCE_LIMITS_SECRET_ID');
const APPFLOW_DATABASE_USER = optionalEnv('APPFLOW_DATABASE_USER');
/** Configured sources: each one's profile must be of its connector (type and custom connector label). */
const SOURCES_JSON = optionalEnv(SOURCES_ENVIRONMENT_VARIABLE);
const STATEMENT_NAME_PREFIX = requireEnv('FLOW_NAME_PREFIX');
const MIN_API_QUOTA_SHARE = Number(requireEnv('MIN_API_QUOTA_SHARE'));
const target = warehouseTargetFromEnv();
const appflow = new AppflowClient({});
const redshift = new RedshiftDataClient({});
const secrets = new SecretsManagerClient({});
const s3 = new S3Client({});
/** What the function keeps after its last wait: the Salesforce limits call and the plan's rewrite. */
const RESERVED_MS = 20_000;

export interface PrecheckDependencies {
  appflow: AppflowClient;
  redshift: RedshiftDataClient;
  secrets: SecretsManagerClient;
  target: WarehouseTarget;
  connectorProfiles: string[];
  limitsSecretId?: string;
  /** The database user AppFlow loads staging as (config `redshift.appflowDatabaseUser`). */
  appflowDatabaseUser?: string;
  /** The environment's sources: each profile must belong to its source's connector. */
  sources?: SourceCatalog;
  fetchImpl?: typeof fetch;
  /** How long the warehouse's statement may be waited on here. @default 30 s of wall-clock time */
  budget?: TimeBudget;
  /** Names the warehouse's statement (the rule on the Data API's events matches the prefix). @default 's2r' */
  statementNamePrefix?: string;
  /** The run: names the statement and makes its submission idempotent. @default 'precheck' */
  runId?: string;
}

/** The warehouse's side of the precheck, kept in the state across invocations. */
export interface PrecheckProgress {
  /** Batches of schema statements before the last one (more than 40 statements: many sources). */
  setup?: SequenceProgress;
  /** The last batch: the remaining schema statements and the procedure check. */
  warehouse?: StatementSlot;
}

/**
 * A profile registered for another connector (a Salesforce profile named in a custom source, a
 * profile of another custom connector) would fail every flow with a confusing error: name it now.
 */
function sourceProfileProblems(
  sources: SourceCatalog,
  found: Map<string, { connectorType?: string; connectorLabel?: string }>,
): string[] {
  const problems: string[] = [];
  for (const [name, source] of Object.entries(sources)) {
    const profile = source.connectorProfileName ? found.get(source.connectorProfileName) : undefined;
    if (!profile) continue; // a missing profile is reported above
    const wanted = [source.connectorType, source.connectorLabel].filter(Boolean).join(' ');
    const actual = [profile.connectorType, profile.connectorLabel].filter(Boolean).join(' ');
    const typeDiffers = profile.connectorType !== undefined && profile.connectorType !== source.connectorType;
    const labelDiffers =
      source.connectorLabel !== undefined &&
      profile.connectorLabel !== undefined &&
      profile.connectorLabel !== source.connectorLabel;
    if (typeDiffers || labelDiffers) {
      problems.push(
        `source ${name}: connector profile ${source.connectorProfileName} is a ${actual} profile, not ${wanted}: fix sources.${name} in config/environments.ts or register the profile for that connector`,
      );
    }
  }
  return problems;
}

export interface PrecheckResult {
  checks: string[];
  /** Absent when no limits check is configured or the org did not answer. */
  apiQuota?: ApiQuota;
  /** The warehouse statement outlived the budget: wait on it, then call the precheck again with `progress`. */
  pending?: StatementSlot;
  progress?: PrecheckProgress;
}

function isNotFound(error: unknown): boolean {
  return (error as { name?: string }).name === 'ResourceNotFoundException';
}

/**
 * Like a migration tool's precheck: every dependency a run needs is asked once, before
 * any flow exists, and a failure says what to fix. Transient errors stay retryable.
 */
export async function precheck(
  deps: PrecheckDependencies,
  progress: PrecheckProgress = {},
): Promise<PrecheckResult> {
  const problems: string[] = [];
  const checks: string[] = [];

  // Without it no staging table is granted to AppFlow, and every flow's load would fail.
  if (!deps.appflowDatabaseUser) {
    problems.push(
      "redshift.appflowDatabaseUser is not set: set it in config/environments.ts to the database user AppFlow loads as (IAMR:<data-api-role-name> on Serverless; the connection's database user on a provisioned cluster), run the one-time setup SQL (docs/deploying.md, one-time setup), and deploy again",
    );
  } else checks.push(`AppFlow loads staging as database user ${deps.appflowDatabaseUser}`);

  try {
    const out = await deps.appflow.send(
      new DescribeConnectorProfilesCommand({ connectorProfileNames: deps.connectorProfiles }),
    );
    const found = new Map(
      (out.connectorProfileDetails ?? []).map((profile) => [profile.connectorProfileName ?? '', profile]),
    );
    const missing = deps.connectorProfiles.filter((name) => !found.has(name));
    if (missing.length > 0) {
      problems.push(
        `AppFlow connector profile(s) ${missing.join(', ')} do not exist: create them in AppFlow or fix source.*ProfileName / sources.<name>.connectorProfileName in config/environments.ts`,
      );
    } else checks.push(`connector profiles ${deps.connectorProfiles.join(', ')} exist`);
    if (deps.sources) problems.push(...sourceProfileProblems(deps.sources, found));
  } catch (error) {
    throw classifyAwsError(error, 'Precheck: DescribeConnectorProfiles');
  }

  try {
    await deps.secrets.send(new DescribeSecretCommand({ SecretId: deps.target.secretId }));
    checks.push(`Redshift secret ${deps.target.secretId} exists`);
  } catch (error) {
    if (!isNotFound(error)) throw classifyAwsError(error, 'Precheck: DescribeSecret');
    problems.push(
      `Secrets Manager secret "${deps.target.secretId}" does not exist: create it or fix redshift.secretName`,
    );
  }

  let pending: StatementSlot | undefined;
  let setup = progress.setup;
  let last = progress.warehouse;
  try {
    // At most 40 statements a batch: the first batches create schemas, the last one ends with the check.
    const batches = chunked(
      warehouseSetupStatements(deps.sources ?? DEFAULT_SOURCES, deps.appflowDatabaseUser),
      MAX_BATCH_STATEMENTS,
    );
    const runId = deps.runId ?? 'precheck';
    const runner = { client: deps.redshift, target: deps.target };
    const budget = deps.budget ?? wallClockBudget(30_000);
    const request = (sql: string[], step: string) => ({
      what: 'Precheck: schemas and procedures',
      name: statementNameFor(deps.statementNamePrefix ?? 's2r', 'run', step, runId),
      idempotencyKey: `${runId}/${step}`,
      sql,
    });
    setup = await runSequence(
      runner,
      batches.slice(0, -1).map((sql, index) => request(sql, `precheck-schemas${index + 1}`)),
      setup,
      budget,
    );
    pending = setup.current;
    if (!pending) {
      const checkBatch = batches[batches.length - 1];
      last = await runStatement(runner, request(checkBatch, 'precheck'), last, budget);
      if (last.status === 'RUNNING') pending = last;
      else {
        // A batch's statements are `<id>:1` … `<id>:n`; the procedure check is the last.
        const [row] = await fetchRows(deps.redshift, `${last.id}:${checkBatch.length}`);
        const missing = missingProcedures(row);
        if (missing.length > 0) {
          problems.push(
            `The warehouse lacks the procedure(s) ${missing.join(' and ')} this version calls: deploy the stack again (it applies sql/)`,
          );
        } else
          checks.push(
            "warehouse answers, the sources' schemas exist and consolidate_object and refresh_columns are deployed",
          );
      }
    }
  } catch (error) {
    // Throttling is retried by the state machine; conflicts that outlast the resubmissions keep
    // their name (nothing is wrong that a person must fix); the rest is the precheck's verdict.
    if (error instanceof ThrottledError || error instanceof WarehouseConflictError) throw error;
    problems.push(
      `The warehouse does not answer through the Data API or refused the schema setup: ${errorMessage(error)}`,
    );
  }

  if (problems.length === 0 && pending)
    return {
      checks,
      pending,
      progress: {
        ...(setup && (setup.done > 0 || setup.current) ? { setup } : {}),
        ...(last ? { warehouse: last } : {}),
      },
    };
  if (problems.length > 0)
    throw new PrecheckFailedError(`Precheck failed, no flow was created: ${problems.join('; ')}`);

  let apiQuota: ApiQuota | undefined;
  if (deps.limitsSecretId) {
    try {
      const secret = await deps.secrets.send(new GetSecretValueCommand({ SecretId: deps.limitsSecretId }));
      apiQuota = await readApiQuota(secret.SecretString ?? '{}', {
        secretId: deps.limitsSecretId,
        ...(deps.fetchImpl ? { fetchImpl: deps.fetchImpl } : {}),
      });
      checks.push(`source API quota: ${apiQuota.remaining} of ${apiQuota.max} requests left today`);
    } catch (error) {
      // A secret or connected app Salesforce refuses needs a person: stop before any flow, say what to fix.
      if (error instanceof SourceCredentialsError)
        throw new PrecheckFailedError(`Precheck failed, no flow was created: ${error.message}`);
      if (isNotFound(error))
        throw new PrecheckFailedError(
          `Precheck failed, no flow was created: the API limits secret "${deps.limitsSecretId}" does not exist: create it (docs/deploying.md, "Quota guard: the API-limits secret") or remove source.apiLimitsSecretName`,
        );
      // A Salesforce outage must not stop the daily load: the run goes on, the log says why.
      logger.warn('Could not read the source API quota', { reason: errorMessage(error) });
    }
  }
  return { checks, ...(apiQuota ? { apiQuota } : {}) };
}

/** The parent's state around the precheck: the run, its plan, and where the precheck got to. */
export interface PrecheckState {
  run: RunContext;
  plan: RunPlanReference;
  precheck?: PrecheckProgress & Partial<PrecheckResult>;
  waiting?: StatementWait;
}

/**
 * Every dependency of the run, once it is planned: a failure stops it before any flow exists; a
 * warehouse statement still running leaves `waiting` for the state machine; the quota guard then
 * holds back the objects that would spend the org's last API requests.
 */
export const handler = async (state: PrecheckState, context: Context): Promise<PrecheckState> => {
  const result = await precheck(
    {
      appflow,
      redshift,
      secrets,
      target,
      connectorProfiles: CONNECTOR_PROFILES,
      ...(LIMITS_SECRET_ID ? { limitsSecretId: LIMITS_SECRET_ID } : {}),
      ...(APPFLOW_DATABASE_USER ? { appflowDatabaseUser: APPFLOW_DATABASE_USER } : {}),
      ...(SOURCES_JSON ? { sources: parseSourceCatalog(SOURCES_JSON) } : {}),
      budget: budgetOf(context, RESERVED_MS),
      statementNamePrefix: STATEMENT_NAME_PREFIX,
      runId: state.run.runId,
    },
    { setup: state.precheck?.setup, warehouse: state.precheck?.warehouse },
  );
  if (result.pending) {
    const what = 'Precheck: schemas and procedures';
    logger.info('Precheck waits on the warehouse', { statementId: result.pending.id });
    return {
      run: state.run,
      plan: state.plan,
      precheck: result.progress ?? {},
      waiting: statementWaitFor(result.pending, what, state.waiting),
    };
  }
  const repeated = isLaterTick(state.run);
  const plan = await guardRunPlan(s3, state.plan, result.apiQuota, MIN_API_QUOTA_SHARE, repeated);
  logger.info('Precheck passed', { checks: result.checks, objects: plan.objectCount });
  return {
    run: state.run,
    plan,
    precheck: { checks: result.checks, ...(result.apiQuota ? { apiQuota: result.apiQuota } : {}) },
  };
};
