import type { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { environments } from '../../config/environments';
import { type EnvironmentConfigInput, resolveEnvironmentConfig } from '../../lib/config';
import { addPipelineStack, createTestApp, removeTestApp, SYNTH_TIMEOUT_MS } from './support/pipeline-app';

const dev = environments.dev;

/** The error `resolveEnvironmentConfig` throws for a `broken` environment holding `config`. */
function errorFor(config: unknown): string {
  try {
    resolveEnvironmentConfig({ ...environments, broken: config }, 'broken');
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the config to be rejected');
}

describe('choosing an environment', () => {
  test('an unknown environment fails, listing the known ones', () => {
    expect(() => resolveEnvironmentConfig(environments, 'staging')).toThrow(
      /Unknown environment "staging".*dev, prod/,
    );
  });

  test.each([
    ['absent', undefined],
    ['empty', ''],
  ])('a missing environment (-c env %s) fails, saying how to pass one', (_label, envName) => {
    expect(() => resolveEnvironmentConfig(environments, envName)).toThrow(
      /No environment given: pass -c env=<name> \(one of: dev, prod\)/,
    );
  });

  test('an inherited property name is not an environment', () => {
    expect(() => resolveEnvironmentConfig(environments, 'toString')).toThrow(
      /Unknown environment "toString"/,
    );
  });
});

describe('validating an environment', () => {
  test.each<[string, unknown, string]>([
    ['region "mars"', { ...dev, region: 'mars' }, 'region: '],
    ['mapConcurrency 0', { ...dev, mapConcurrency: 0 }, 'mapConcurrency: '],
    ['scheduleExpression "daily"', { ...dev, scheduleExpression: 'daily' }, 'scheduleExpression: '],
    [
      'a serverless target without workgroupId',
      {
        ...dev,
        redshift: { kind: 'serverless', workgroupName: 'analytics', database: 'dev', secretName: 's' },
      },
      'redshift.workgroupId: ',
    ],
    ['account "1234"', { ...dev, account: '1234' }, 'account: '],
    ['maxFlowPolls 0', { ...dev, maxFlowPolls: 0 }, 'maxFlowPolls: '],
  ])('rejects %s, naming the environment and the key path', (_label, config, keyPath) => {
    const message = errorFor(config);
    expect(message).toContain('Invalid config for environment "broken"');
    expect(message).toContain(keyPath);
  });

  test('rejects an unknown top-level key, naming it', () => {
    const message = errorFor({ ...dev, colour: 'blue' });
    expect(message).toContain('environment "broken"');
    expect(message).toMatch(/colour/);
  });

  test('rejects an unknown key inside a nested block (a typo would silently fall back to a default)', () => {
    // `stagingSchma` for `stagingSchema`: accepted, the stack would load into the default schema.
    const message = errorFor({ ...dev, source: { ...dev.source, stagingSchma: 'crm_incremental' } });
    expect(message).toContain('environment "broken"');
    expect(message).toMatch(/source.*stagingSchma/);
  });

  test('names every bad key at once', () => {
    const message = errorFor({ ...dev, region: 'mars', mapConcurrency: 0 });
    expect(message).toContain('region: ');
    expect(message).toContain('mapConcurrency: ');
  });
});

describe('the environments of config/environments.ts', () => {
  test.each(Object.keys(environments))('%s validates', (name) => {
    const config = resolveEnvironmentConfig(environments, name);
    expect(config.name).toBe(name);
  });

  test('dev and prod are both defined', () => {
    expect(Object.keys(environments)).toEqual(expect.arrayContaining(['dev', 'prod']));
  });

  test('prod keeps its data: removalPolicy defaults to "retain"', () => {
    expect(environments.prod.removalPolicy).toBeUndefined();
    expect(resolveEnvironmentConfig(environments, 'prod').removalPolicy).toBe('retain');
  });

  test('defaults fill what an environment leaves out', () => {
    const config = resolveEnvironmentConfig(environments, 'prod');
    expect(config).toMatchObject({
      flowNamePrefix: 's2r',
      maxFlowPolls: 40,
      executionTimeoutMinutes: 360,
      source: {
        stagingSchema: 'salesforce_incremental',
        finalSchema: 'salesforce',
        connectorType: 'Salesforce',
      },
    });
  });

  test('no two environments share a staging bucket name (S3 names are global)', () => {
    const names = Object.keys(environments).map(
      (name) => resolveEnvironmentConfig(environments, name).stagingBucketName,
    );
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('a user-added environment', () => {
  const staging: EnvironmentConfigInput = {
    account: '333333333333',
    region: 'eu-central-1',
    scheduleExpression: 'rate(12 hours)',
    redshift: {
      kind: 'provisioned',
      clusterIdentifier: 'analytics-staging',
      database: 'analytics',
      secretName: 'saas-to-redshift/staging/redshift',
    },
    source: { connectorProfileName: 'salesforce-staging', redshiftConnectorProfileName: 'redshift-staging' },
    stagingBucketName: 'saas-to-redshift-staging-appflow-staging',
  };
  const withStaging = { ...environments, staging };
  let app: App;
  let stagingStack: Stack;
  let stagingTemplate: Template;

  beforeAll(() => {
    app = createTestApp();
    stagingStack = addPipelineStack(app, resolveEnvironmentConfig(withStaging, 'staging'));
    stagingTemplate = Template.fromStack(stagingStack);
  }, SYNTH_TIMEOUT_MS);

  afterAll(() => removeTestApp(app));

  test('synthesizes its own stack, SaasToRedshift-staging, in its own account and region', () => {
    expect(stagingStack.stackName).toBe('SaasToRedshift-staging');
    expect(stagingStack.account).toBe('333333333333');
    expect(stagingStack.region).toBe('eu-central-1');
    expect(app.synth().stacks.map((artifact) => artifact.stackName)).toEqual(['SaasToRedshift-staging']);
  });

  test('runs on its own schedule, with its own state machine name', () => {
    stagingTemplate.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(12 hours)' });
    stagingTemplate.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'saas-to-redshift-staging',
    });
    expect(staging.scheduleExpression).not.toBe(dev.scheduleExpression);
  });

  test('without alarmEmail, the topic has no subscription', () => {
    expect(staging.alarmEmail).toBeUndefined();
    stagingTemplate.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  test('keeps its data by default (no removalPolicy given)', () => {
    stagingTemplate.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain' });
  });
});
