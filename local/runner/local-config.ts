import { type EnvironmentConfig, resolveEnvironmentConfig } from '../../lib/config';
import { APPFLOW_DATABASE_USER } from '../warehouse/appflow-user';

/** The environment the local run synthesizes: the same stack, with names the stand-ins answer to. */
export const LOCAL_CONFIG = {
  account: '000000000000',
  region: 'eu-west-1',
  scheduleExpression: 'cron(0 5 * * ? *)',
  redshift: {
    kind: 'serverless',
    workgroupName: 'local',
    workgroupId: '00000000-0000-4000-8000-000000000000',
    database: 'dev',
    secretName: 'saas-to-redshift/local/redshift',
    // The local warehouse's AppFlow role (contract 4): the AppFlow stand-in loads staging as it.
    appflowDatabaseUser: APPFLOW_DATABASE_USER,
  },
  source: {
    connectorProfileName: 'salesforce-local',
    redshiftConnectorProfileName: 'redshift-local',
    apiLimitsSecretName: 'saas-to-redshift/local/salesforce-limits',
  },
  stagingBucketName: 'saas-to-redshift-local-staging',
  mapConcurrency: 5,
  removalPolicy: 'destroy',
} as const;

export function localEnvironmentConfig(overrides: Partial<Record<string, unknown>> = {}): EnvironmentConfig {
  return resolveEnvironmentConfig({ local: { ...LOCAL_CONFIG, ...overrides } }, 'local');
}
