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
import { type ApiQuota, readApiQuota } from './common/source-limits';
import { query, type WarehouseTarget, warehouseTargetFromEnv } from './common/warehouse';

const CONNECTOR_PROFILES = requireEnv('CONNECTOR_PROFILES').split(',');
const LIMITS_SECRET_ID = optionalEnv('SOURCE_LIMITS_SECRET_ID');
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
  fetchImpl?: typeof fetch;
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

  try {
    const out = await deps.appflow.send(
      new DescribeConnectorProfilesCommand({ connectorProfileNames: deps.connectorProfiles }),
    );
    const found = new Set((out.connectorProfileDetails ?? []).map((profile) => profile.connectorProfileName));
    const missing = deps.connectorProfiles.filter((name) => !found.has(name));
    if (missing.length > 0) {
      problems.push(
        `AppFlow connector profile(s) ${missing.join(', ')} do not exist: create them in AppFlow or fix source.*ProfileName in config/environments.ts`,
      );
    } else checks.push(`connector profiles ${deps.connectorProfiles.join(', ')} exist`);
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
      apiQuota = await readApiQuota(secret.SecretString ?? '{}', deps.fetchImpl);
      checks.push(`source API quota: ${apiQuota.remaining} of ${apiQuota.max} requests left today`);
    } catch (error) {
      // An unreadable quota must not stop the daily load: the run goes on, the log says why.
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
  });
  logger.info('Precheck passed', { checks: result.checks });
  return result;
};
