import type { EnvironmentConfigInput } from '../lib/config';

/**
 * One entry per deployable environment: `cdk deploy -c env=<name>`.
 * Add an environment by adding a key; `lib/config.ts` validates every field at synth time.
 */
export const environments: Record<string, EnvironmentConfigInput> = {
  dev: {
    account: '111111111111',
    region: 'eu-west-1',
    // The daily time (daily objects run then, and every object's cadence is anchored to it), read
    // in scheduleTimeZone (default UTC); the schedule ticks every scheduleTickMinutes (default 15).
    scheduleExpression: 'cron(0 5 * * ? *)',
    // scheduleTimeZone: 'Europe/Berlin', // 05:00 Berlin time, summer and winter
    redshift: {
      kind: 'serverless',
      workgroupName: 'analytics-dev',
      workgroupId: '5b1f5d42-3c9e-4e55-9a61-0d1a7a3f2c10',
      database: 'dev',
      secretName: 'saas-to-redshift/dev/redshift',
      // Serverless: Redshift maps the AppFlow connection's Data API role to IAMR:<role-name>.
      appflowDatabaseUser: 'IAMR:appflow-redshift-dev',
    },
    source: {
      connectorProfileName: 'salesforce-dev',
      redshiftConnectorProfileName: 'redshift-dev',
    },
    // More sources next to Salesforce (`salesforce` itself comes from `source` above). A custom
    // connector's rows name it with `sourceName` and load into tidb_incremental / tidb:
    // sources: {
    //   tidb: {
    //     connectorType: 'CustomConnector',
    //     connectorLabel: 'TiDBCloud', // the label the connector was registered with
    //     connectorProfileName: 'tidb-cloud-dev',
    //     apiVersion: 'v1', // optional; defaults: primaryKey 'id', cursorField 'updated_at'
    //   },
    // },
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
      // Provisioned: the database user name given in the AppFlow Redshift connection.
      appflowDatabaseUser: 'appflow_loader',
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
