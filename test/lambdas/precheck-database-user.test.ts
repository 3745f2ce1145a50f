import { AppflowClient, DescribeConnectorProfilesCommand } from '@aws-sdk/client-appflow';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import type { PrecheckDependencies, PrecheckResult } from '../../lambdas/precheck';
import { FakeWarehouse } from './support/fake-warehouse';
import { DEPLOYED_PROCEDURES } from './support/fixtures';

// The handler module reads its environment when loaded.
process.env.CONNECTOR_PROFILES = 'salesforce-test';
process.env.REDSHIFT_WORKGROUP_NAME = 'test';
process.env.REDSHIFT_DATABASE = 'dev';
process.env.REDSHIFT_SECRET_ID = 'redshift-secret';
process.env.FLOW_NAME_PREFIX = 's2r';
process.env.MIN_API_QUOTA_SHARE = '0.2';

const appflow = mockClient(AppflowClient);
const redshift = mockClient(RedshiftDataClient);
const secrets = mockClient(SecretsManagerClient);
let precheck: (deps: PrecheckDependencies) => Promise<PrecheckResult>;

beforeAll(async () => {
  ({ precheck } = await import('../../lambdas/precheck'));
});

beforeEach(() => {
  appflow.reset();
  redshift.reset();
  secrets.reset();
  appflow
    .on(DescribeConnectorProfilesCommand)
    .resolves({ connectorProfileDetails: [{ connectorProfileName: 'salesforce-test' }] });
  secrets.on(DescribeSecretCommand).resolves({});
  // The warehouse has the procedure: the setup batch's last statement counts it.
  new FakeWarehouse(redshift).answers(/FROM pg_proc/, DEPLOYED_PROCEDURES);
});

function deps(overrides: Partial<PrecheckDependencies> = {}): PrecheckDependencies {
  return {
    appflow: new AppflowClient({}),
    redshift: new RedshiftDataClient({}),
    secrets: new SecretsManagerClient({}),
    target: { database: 'dev', secretId: 'redshift-secret', workgroupName: 'test' },
    connectorProfiles: ['salesforce-test'],
    ...overrides,
  };
}

describe("precheck: AppFlow's database user (defect 8)", () => {
  test('refuses to run, before any flow, when redshift.appflowDatabaseUser is not configured', async () => {
    // Act
    const act = precheck(deps());

    // Assess: without it no staging table is granted to AppFlow and every load would fail
    await expect(act).rejects.toMatchObject({
      name: 'PrecheckFailed',
      message: expect.stringMatching(
        /^Precheck failed, no flow was created: redshift\.appflowDatabaseUser is not set: set it in config\/environments\.ts/,
      ),
    });
  });

  test('passes and names the user when it is configured', async () => {
    // Act
    const result = await precheck(deps({ appflowDatabaseUser: 'IAMR:appflow-redshift-dev' }));

    // Assess
    expect(result.checks).toContain('AppFlow loads staging as database user IAMR:appflow-redshift-dev');
  });
});
