import { AppflowClient, DescribeConnectorProfilesCommand } from '@aws-sdk/client-appflow';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import type { PrecheckDependencies, PrecheckResult } from '../../lambdas/precheck';
import {
  generateConnectedAppKeys,
  SalesforceLimitsStandIn,
} from '../../local/stand-ins/salesforce-limits-stand-in';
import { SimulatedClock } from '../../local/stand-ins/simulated-clock';
import { SourceOrg } from '../../local/stand-ins/source-org';
import { FakeWarehouse } from './support/fake-warehouse';
import { DEPLOYED_PROCEDURES } from './support/fixtures';

// The handler module reads its environment when loaded.
process.env.CONNECTOR_PROFILES = 'salesforce-test';
process.env.REDSHIFT_WORKGROUP_NAME = 'test';
process.env.REDSHIFT_DATABASE = 'dev';
process.env.REDSHIFT_SECRET_ID = 'redshift-secret';
process.env.FLOW_NAME_PREFIX = 's2r';
process.env.MIN_API_QUOTA_SHARE = '0.2';

const LIMITS_SECRET_ID = 'saas-to-redshift/test/salesforce-limits';
const appflow = mockClient(AppflowClient);
const redshift = mockClient(RedshiftDataClient);
const secrets = mockClient(SecretsManagerClient);
const keys = generateConnectedAppKeys();

let salesforce: SalesforceLimitsStandIn;
let loginUrl: string;
let precheck: (deps: PrecheckDependencies) => Promise<PrecheckResult>;

beforeAll(async () => {
  ({ precheck } = await import('../../lambdas/precheck'));
});

beforeEach(async () => {
  appflow.reset();
  redshift.reset();
  secrets.reset();
  appflow
    .on(DescribeConnectorProfilesCommand)
    .resolves({ connectorProfileDetails: [{ connectorProfileName: 'salesforce-test' }] });
  secrets.on(DescribeSecretCommand).resolves({});
  // The warehouse has the procedure: the setup batch's last statement counts it.
  new FakeWarehouse(redshift).answers(/FROM pg_proc/, DEPLOYED_PROCEDURES);
  const clock = new SimulatedClock();
  salesforce = new SalesforceLimitsStandIn({ org: new SourceOrg(clock), clock });
  salesforce.registerConnectedApp({
    clientId: 'consumer-key',
    certificate: keys.publicKey,
    usernames: ['integration@example.com'],
  });
  ({ url: loginUrl } = await salesforce.start());
});

afterEach(() => salesforce.stop());

function runPrecheck(secret: Record<string, unknown>): Promise<PrecheckResult> {
  secrets
    .on(GetSecretValueCommand, { SecretId: LIMITS_SECRET_ID })
    .resolves({ SecretString: JSON.stringify(secret) });
  const deps: PrecheckDependencies = {
    appflow: new AppflowClient({}),
    redshift: new RedshiftDataClient({}),
    secrets: new SecretsManagerClient({}),
    target: { database: 'dev', secretId: 'redshift-secret', workgroupName: 'test' },
    connectorProfiles: ['salesforce-test'],
    limitsSecretId: LIMITS_SECRET_ID,
    appflowDatabaseUser: 'appflow_loader',
  };
  return precheck(deps);
}

const jwtSecret = (overrides: Record<string, unknown> = {}) => ({
  loginUrl,
  clientId: 'consumer-key',
  username: 'integration@example.com',
  privateKey: keys.privateKey,
  ...overrides,
});

describe('precheck: the quota guard signs in with the JWT bearer flow', () => {
  test('a good secret reads the quota with a token exchanged in this run', async () => {
    const result = await runPrecheck(jwtSecret());
    expect(result.apiQuota).toEqual({ remaining: 15000, max: 15000 });
    expect(salesforce.calls.map((call) => call.path)).toEqual([
      '/services/oauth2/token',
      '/services/data/v60.0/limits',
    ]);
  });

  test('a private key the connected app does not know fails the precheck naming the secret and cause', async () => {
    const wrongKey = generateConnectedAppKeys().privateKey;
    const error = await runPrecheck(jwtSecret({ privateKey: wrongKey })).then(
      () => undefined,
      (caught: Error) => caught,
    );
    expect(error?.name).toBe('PrecheckFailed');
    expect(error?.message).toMatch(
      /^Precheck failed, no flow was created: The API limits secret "saas-to-redshift\/test\/salesforce-limits": .*invalid_grant: invalid assertion/,
    );
    expect(error?.message).not.toContain('PRIVATE KEY');
  });

  test('the old {instanceUrl, accessToken} secret fails the precheck with how to migrate', async () => {
    await expect(runPrecheck({ instanceUrl: loginUrl, accessToken: '00D!old' })).rejects.toMatchObject({
      name: 'PrecheckFailed',
      message: expect.stringContaining(
        'Replace its value with {"loginUrl", "clientId", "username", "privateKey"}',
      ),
    });
  });

  test('a limits secret that does not exist fails the precheck naming it', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: LIMITS_SECRET_ID }).rejects(
      Object.assign(new Error("Secrets Manager can't find the specified secret."), {
        name: 'ResourceNotFoundException',
      }),
    );
    const deps: PrecheckDependencies = {
      appflow: new AppflowClient({}),
      redshift: new RedshiftDataClient({}),
      secrets: new SecretsManagerClient({}),
      target: { database: 'dev', secretId: 'redshift-secret', workgroupName: 'test' },
      connectorProfiles: ['salesforce-test'],
      limitsSecretId: LIMITS_SECRET_ID,
      appflowDatabaseUser: 'appflow_loader',
    };
    await expect(precheck(deps)).rejects.toMatchObject({
      name: 'PrecheckFailed',
      message: expect.stringContaining(`the API limits secret "${LIMITS_SECRET_ID}" does not exist`),
    });
  });

  test('Salesforce not answering leaves the run going without a quota (logged)', async () => {
    await salesforce.stop();
    const result = await runPrecheck(jwtSecret());
    expect(result.apiQuota).toBeUndefined();
  });
});
