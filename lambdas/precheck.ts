import { AppflowClient, DescribeConnectorProfilesCommand } from '@aws-sdk/client-appflow';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { optionalEnv, requireEnv } from './common/environment';
import { classifyAwsError, errorMessage, PrecheckFailedError } from './common/errors';
import { logger } from './common/observability';
import { type ApiQuota, readApiQuota, SourceCredentialsError } from './common/source-limits';
import { parseSourceCatalog, SOURCES_ENVIRONMENT_VARIABLE, type SourceCatalog } from './common/sources';
import { query, type WarehouseTarget, warehouseTargetFromEnv } from './common/warehouse';

const CONNECTOR_PROFILES = requireEnv('CONNECTOR_PROFILES').split(',');
const LIMITS_SECRET_ID = optionalEnv('SOURCE_LIMITS_SECRET_ID');
const APPFLOW_DATABASE_USER = optionalEnv('APPFLOW_DATABASE_USER');
/** Configured sources: each one's profile must be of its connector (type and custom connector label). */
const SOURCES_JSON = optionalEnv(SOURCES_ENVIRONMENT_VARIABLE);
const target = warehouseTargetFromEnv();
const appflow = new AppflowClient({});
const redshift = new RedshiftDataClient({});
const secrets = new SecretsManagerClient({});

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
}

function isNotFound(error: unknown): boolean {
  return (error as { name?: string }).name === 'ResourceNotFoundException';
}

/**
 * Like a migration tool's precheck: every dependency a run needs is asked once, before
 * any flow exists, and a failure says what to fix. Transient errors stay retryable.
 */
export async function precheck(deps: PrecheckDependencies): Promise<PrecheckResult> {
  const problems: string[] = [];
  const checks: string[] = [];

  // Without it no staging table is granted to AppFlow, and every flow's load would fail.
  if (!deps.appflowDatabaseUser) {
    problems.push(
      "redshift.appflowDatabaseUser is not set: set it in config/environments.ts to the database user AppFlow loads as (IAMR:<data-api-role-name> on Serverless; the connection's database user on a provisioned cluster), run the README's one-time setup SQL, and deploy again",
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

  try {
    const [row] = await query(
      deps.redshift,
      deps.target,
      'SELECT COUNT(*) AS procedures FROM pg_proc WHERE proname = :procedure',
      { procedure: 'consolidate_object' },
      30_000,
    );
    if (Number(row?.procedures ?? 0) === 0) {
      problems.push(
        'The warehouse has no consolidate_object procedure: deploy the stack again (it applies sql/)',
      );
    } else checks.push('warehouse answers and consolidate_object is deployed');
  } catch (error) {
    if (error instanceof Error && error.name === 'Throttled') throw error;
    problems.push(`The warehouse does not answer through the Data API: ${errorMessage(error)}`);
  }

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
          `Precheck failed, no flow was created: the API limits secret "${deps.limitsSecretId}" does not exist: create it (README "Quota guard") or remove source.apiLimitsSecretName`,
        );
      // A Salesforce outage must not stop the daily load: the run goes on, the log says why.
      logger.warn('Could not read the source API quota', { reason: errorMessage(error) });
    }
  }
  return { checks, ...(apiQuota ? { apiQuota } : {}) };
}

export const handler = async (): Promise<PrecheckResult> => {
  const result = await precheck({
    appflow,
    redshift,
    secrets,
    target,
    connectorProfiles: CONNECTOR_PROFILES,
    ...(LIMITS_SECRET_ID ? { limitsSecretId: LIMITS_SECRET_ID } : {}),
    ...(APPFLOW_DATABASE_USER ? { appflowDatabaseUser: APPFLOW_DATABASE_USER } : {}),
    ...(SOURCES_JSON ? { sources: parseSourceCatalog(SOURCES_JSON) } : {}),
  });
  logger.info('Precheck passed', { checks: result.checks });
  return result;
};
