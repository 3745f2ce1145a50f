import { AppflowClient, DescribeConnectorProfilesCommand } from '@aws-sdk/client-appflow';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { DEFAULT_SOURCES, type SourceCatalog } from '../../lambdas/common/sources';
import type { PrecheckDependencies, PrecheckResult } from '../../lambdas/precheck';
import { FakeWarehouse } from './support/fake-warehouse';
import { DEPLOYED_PROCEDURES } from './support/fixtures';

// The handler module reads its environment when loaded.
process.env.CONNECTOR_PROFILES = 'salesforce-test,tidb-cloud';
process.env.REDSHIFT_WORKGROUP_NAME = 'test';
process.env.REDSHIFT_DATABASE = 'dev';
process.env.REDSHIFT_SECRET_ID = 'redshift-secret';
process.env.FLOW_NAME_PREFIX = 's2r';
process.env.MIN_API_QUOTA_SHARE = '0.2';

const appflow = mockClient(AppflowClient);
const redshift = mockClient(RedshiftDataClient);
const secrets = mockClient(SecretsManagerClient);
let precheck: (deps: PrecheckDependencies) => Promise<PrecheckResult>;

const SOURCES: SourceCatalog = {
  salesforce: { ...DEFAULT_SOURCES.salesforce, connectorProfileName: 'salesforce-test' },
  tidb: {
    connectorType: 'CustomConnector',
    connectorLabel: 'TiDBCloud',
    connectorProfileName: 'tidb-cloud',
    primaryKey: 'id',
    cursorField: 'updated_at',
    deleteMode: 'hard',
    stagingSchema: 'tidb_incremental',
    finalSchema: 'tidb',
  },
};

beforeAll(async () => {
  ({ precheck } = await import('../../lambdas/precheck'));
});

beforeEach(() => {
  appflow.reset();
  redshift.reset();
  secrets.reset();
  secrets.on(DescribeSecretCommand).resolves({});
  // The warehouse has the procedure: the setup batch's last statement counts it.
  new FakeWarehouse(redshift).answers(/FROM pg_proc/, DEPLOYED_PROCEDURES);
});

function deps(): PrecheckDependencies {
  return {
    appflow: new AppflowClient({}),
    redshift: new RedshiftDataClient({}),
    secrets: new SecretsManagerClient({}),
    target: { database: 'dev', secretId: 'redshift-secret', workgroupName: 'test' },
    connectorProfiles: ['salesforce-test', 'tidb-cloud'],
    appflowDatabaseUser: 'appflow_loader',
    sources: SOURCES,
  };
}

describe('precheck: every source profile belongs to its connector (issue 14)', () => {
  test('passes when each profile has its source’s connector type and label', async () => {
    // Prepare
    appflow.on(DescribeConnectorProfilesCommand).resolves({
      connectorProfileDetails: [
        { connectorProfileName: 'salesforce-test', connectorType: 'Salesforce' },
        { connectorProfileName: 'tidb-cloud', connectorType: 'CustomConnector', connectorLabel: 'TiDBCloud' },
      ],
    });

    // Act
    const result = await precheck(deps());

    // Assess
    expect(result.checks).toContain('connector profiles salesforce-test, tidb-cloud exist');
  });

  test('refuses, naming source and profile, a profile registered for another custom connector', async () => {
    // Prepare
    appflow.on(DescribeConnectorProfilesCommand).resolves({
      connectorProfileDetails: [
        { connectorProfileName: 'salesforce-test', connectorType: 'Salesforce' },
        { connectorProfileName: 'tidb-cloud', connectorType: 'CustomConnector', connectorLabel: 'MySQL' },
      ],
    });

    // Act
    const act = precheck(deps());

    // Assess
    await expect(act).rejects.toMatchObject({
      name: 'PrecheckFailed',
      message: expect.stringContaining(
        'source tidb: connector profile tidb-cloud is a CustomConnector MySQL profile, not CustomConnector TiDBCloud',
      ),
    });
  });
});
