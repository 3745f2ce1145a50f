import type { EnvironmentConfigInput } from '../lib/config';

/**
 * One entry per deployable environment: `cdk deploy -c env=<name>`.
 * Add an environment by adding a key; `lib/config.ts` validates every field at synth time.
 */
export const environments: Record<string, EnvironmentConfigInput> = {
  dev: {
    account: '111111111111',
    region: 'eu-west-1',
    scheduleExpression: 'cron(0 5 * * ? *)',
    redshift: {
      kind: 'serverless',
      workgroupName: 'analytics-dev',
      workgroupId: '5b1f5d42-3c9e-4e55-9a61-0d1a7a3f2c10',
      database: 'dev',
      secretName: 'saas-to-redshift/dev/redshift',
    },
    source: {
      connectorProfileName: 'salesforce-dev',
      redshiftConnectorProfileName: 'redshift-dev',
    },
    stagingBucketName: 'saas-to-redshift-dev-appflow-staging',
    mapConcurrency: 5,
    alarmEmail: 'data-platform-dev@example.com',
    removalPolicy: 'destroy',
  },
  prod: {
    account: '222222222222',
    region: 'eu-west-1',
    scheduleExpression: 'cron(0 3 * * ? *)',
    redshift: {
      kind: 'provisioned',
      clusterIdentifier: 'analytics-prod',
      database: 'analytics',
      secretName: 'saas-to-redshift/prod/redshift',
    },
    source: {
      connectorProfileName: 'salesforce-prod',
      redshiftConnectorProfileName: 'redshift-prod',
    },
    stagingBucketName: 'saas-to-redshift-prod-appflow-staging',
    mapConcurrency: 10,
    alarmEmail: 'data-platform-oncall@example.com',
  },
};
