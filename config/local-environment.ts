import type { EnvironmentConfigInput } from '../lib/config';

/**
 * The environment the local run synthesizes (`npm run local`): the same stack, with names the
 * stand-ins answer to. `npm run objects -- --env local` reaches it in the shell `--keep` prepared.
 */
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
    appflowDatabaseUser: 'appflow_loader',
  },
  source: {
    connectorProfileName: 'salesforce-local',
    redshiftConnectorProfileName: 'redshift-local',
    apiLimitsSecretName: 'saas-to-redshift/local/salesforce-limits',
  },
  stagingBucketName: 'saas-to-redshift-local-staging',
  mapConcurrency: 5,
  removalPolicy: 'destroy',
} as const satisfies EnvironmentConfigInput;
