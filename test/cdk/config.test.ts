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
  ])('rejects %s, naming the environment and the key path', (_label, config, keyPath) => {
    const message = errorFor(config);
    expect(message).toContain('Invalid config for environment "broken"');
    expect(message).toContain(keyPath);
  });

  test("rejects a mapConcurrency above Salesforce's 25 concurrent long-running requests, saying why", () => {
    expect(errorFor({ ...dev, mapConcurrency: 26 })).toMatch(
      /mapConcurrency: must be at most 25: Salesforce allows 25/,
    );
    expect(resolveEnvironmentConfig({ max: { ...dev, mapConcurrency: 25 } }, 'max').mapConcurrency).toBe(25);
  });

  test('the schedule (issue 20): scheduleExpression is the daily time, ticks every 15 minutes in UTC by default', () => {
    expect(resolveEnvironmentConfig(environments, 'prod').schedule).toEqual({
      dailyAt: '03:00',
      timeZone: 'UTC',
      tickMinutes: 15,
      tickExpression: 'cron(0/15 * * * ? *)',
    });
    const berlin = resolveEnvironmentConfig(
      {
        berlin: {
          ...dev,
          scheduleExpression: 'cron(10 5 * * ? *)',
          scheduleTimeZone: 'Europe/Berlin',
          scheduleTickMinutes: 30,
        },
      },
      'berlin',
    );
    // One tick falls on the daily time: 05:10, 05:40, 06:10 … Berlin time.
    expect(berlin.schedule).toEqual({
      dailyAt: '05:10',
      timeZone: 'Europe/Berlin',
      tickMinutes: 30,
      tickExpression: 'cron(10/30 * * * ? *)',
    });
  });

  test.each<[string, Record<string, unknown>, RegExp]>([
    [
      'a rate as the daily time',
      { scheduleExpression: 'rate(6 hours)' },
      /scheduleExpression: must be a daily cron\(M H \* \* \? \*\).*syncEveryMinutes/,
    ],
    [
      'a weekday cron',
      { scheduleExpression: 'cron(0 5 ? * MON-FRI *)' },
      /scheduleExpression: must be a daily cron/,
    ],
    [
      'an unknown time zone',
      { scheduleTimeZone: 'Europe/Atlantis' },
      /scheduleTimeZone: must be an IANA time zone/,
    ],
    [
      'a tick that does not divide a day',
      { scheduleTickMinutes: 45 },
      /scheduleTickMinutes: must be one of 15, 20, 30, 60/,
    ],
  ])('rejects %s, saying what to set instead', (_label, change, message) => {
    expect(errorFor({ ...dev, ...change })).toMatch(message);
  });

  test('rejects an execution timeout that would end the execution before a flow may time out', () => {
    expect(errorFor({ ...dev, flowTimeoutMinutes: 600, executionTimeoutMinutes: 600 })).toMatch(
      /executionTimeoutMinutes: must exceed flowTimeoutMinutes \(600\)/,
    );
  });

  test('derives the execution timeout from flowTimeoutMinutes', () => {
    const sixHours = resolveEnvironmentConfig({ six: { ...dev, flowTimeoutMinutes: 360 } }, 'six');
    expect(sixHours).toMatchObject({ executionTimeoutMinutes: 720 });
  });

  test('an explicit executionTimeoutMinutes wins over the derived one', () => {
    const tuned = resolveEnvironmentConfig({ tuned: { ...dev, executionTimeoutMinutes: 800 } }, 'tuned');
    expect(tuned).toMatchObject({ executionTimeoutMinutes: 800, flowTimeoutMinutes: 720 });
  });

  test.each([7, 0])('refuses an old maxFlowPolls (%s), naming flowTimeoutMinutes in its place', (polls) => {
    const message = errorFor({ ...dev, maxFlowPolls: polls });
    expect(message).toContain('Invalid config for environment "broken"');
    expect(message).toMatch(
      /maxFlowPolls: no longer used: flows are awaited by event now; set flowTimeoutMinutes/,
    );
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
      flowTimeoutMinutes: 720,
      // The lengthening waits (30 s … 5 min) cover 12 h in 149 polls.
      executionTimeoutMinutes: 720 + 360,
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
    scheduleExpression: 'cron(30 6 * * ? *)',
    scheduleTimeZone: 'Europe/Berlin',
    scheduleTickMinutes: 60,
    redshift: {
      kind: 'provisioned',
      clusterIdentifier: 'analytics-staging',
      database: 'analytics',
      secretName: 'saas-to-redshift/staging/redshift',
      appflowDatabaseUser: 'IAMR:appflow-redshift-staging',
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
    // Hourly ticks, one at the daily 06:30 Berlin time.
    stagingTemplate.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(30 0/1 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
    });
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

  test("hands AppFlow's database user to the functions that grant it and check it", () => {
    const functions = stagingTemplate.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: { APPFLOW_DATABASE_USER: 'IAMR:appflow-redshift-staging' } } },
    });
    const descriptions = Object.values(functions).map(
      (resource) => (resource as { Properties: { Description?: string } }).Properties.Description ?? '',
    );
    expect(descriptions).toHaveLength(2);
    expect(descriptions).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Checks/),
        expect.stringMatching(/^Syncs table structure/),
      ]),
    );
  });
});

describe("AppFlow's database user (redshift.appflowDatabaseUser)", () => {
  test('every bundled environment names one, so its precheck can pass', () => {
    for (const name of Object.keys(environments)) {
      expect(resolveEnvironmentConfig(environments, name).redshift.appflowDatabaseUser).toBeTruthy();
    }
  });

  test.each(['appflow_loader', 'IAMR:appflow-redshift-dev', 'IAM:loader@example.com'])(
    'accepts %s',
    (user) => {
      const config = resolveEnvironmentConfig(
        { ...environments, custom: { ...dev, redshift: { ...dev.redshift, appflowDatabaseUser: user } } },
        'custom',
      );
      expect(config.redshift.appflowDatabaseUser).toBe(user);
    },
  );

  test('rejects a name that could break out of its quotes in a GRANT, naming the key', () => {
    const message = errorFor({
      ...dev,
      redshift: { ...dev.redshift, appflowDatabaseUser: 'loader"; DROP TABLE x' },
    });
    expect(message).toContain('redshift.appflowDatabaseUser');
  });

  test('may be left out of the config (the precheck then refuses to run, saying what to set)', () => {
    const { appflowDatabaseUser: _omitted, ...redshift } = dev.redshift as { appflowDatabaseUser?: string };
    const config = resolveEnvironmentConfig(
      { ...environments, bare: { ...dev, redshift } as EnvironmentConfigInput },
      'bare',
    );
    expect(config.redshift.appflowDatabaseUser).toBeUndefined();
  });
});

describe('sources (issue 14)', () => {
  const tidb = {
    connectorType: 'CustomConnector',
    connectorLabel: 'TiDBCloud',
    connectorProfileName: 'tidb-cloud',
  };
  const withSources = (sources: Record<string, unknown>) =>
    resolveEnvironmentConfig(
      { ...environments, multi: { ...dev, sources } as EnvironmentConfigInput },
      'multi',
    );

  test('a config without sources gets salesforce from source, with the DESIGN.md schemas', () => {
    expect(resolveEnvironmentConfig(environments, 'dev').sources).toEqual({
      salesforce: {
        connectorType: 'Salesforce',
        connectorProfileName: 'salesforce-dev',
        primaryKey: 'Id',
        cursorField: 'SystemModstamp',
        deleteMode: 'hard',
        stagingSchema: 'salesforce_incremental',
        finalSchema: 'salesforce',
      },
    });
  });

  test('a custom-connector source gets id, updated_at and <name>_incremental / <name> by default', () => {
    const config = withSources({ tidb: { ...tidb, apiVersion: 'v1' } });
    expect(config.sources.tidb).toEqual({
      ...tidb,
      apiVersion: 'v1',
      primaryKey: 'id',
      cursorField: 'updated_at',
      deleteMode: 'hard',
      stagingSchema: 'tidb_incremental',
      finalSchema: 'tidb',
    });
    expect(Object.keys(config.sources)).toEqual(['salesforce', 'tidb']);
  });

  test('a CustomConnector source without connectorLabel fails, naming the key', () => {
    const message = errorFor({
      ...dev,
      sources: { tidb: { connectorType: 'CustomConnector', connectorProfileName: 'tidb-cloud' } },
    });
    expect(message).toContain(
      'sources.tidb.connectorLabel: is required when connectorType is CustomConnector',
    );
  });

  test('a source name that is not a SQL identifier fails', () => {
    const message = errorFor({ ...dev, sources: { 'Ti-DB': tidb } });
    expect(message).toContain('source names must be lower-case SQL identifiers');
  });

  test('a misspelt key in a source fails the synth', () => {
    const message = errorFor({ ...dev, sources: { tidb: { ...tidb, cursorFeild: 'ts' } } });
    expect(message).toMatch(/sources\.tidb: Unrecognized key/);
  });

  test('two sources sharing a schema fail, naming both', () => {
    const message = errorFor({ ...dev, sources: { tidb: { ...tidb, finalSchema: 'salesforce' } } });
    expect(message).toContain('schema "salesforce" is used by salesforce and tidb');
  });

  test(
    "every source's profile is granted and checked by the precheck",
    () => {
      const app = createTestApp();
      try {
        const stack = addPipelineStack(app, withSources({ tidb }));
        const template = Template.fromStack(stack).toJSON() as {
          Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
        };
        const text = JSON.stringify(template);
        expect(text).toContain('connectorprofile/tidb-cloud');
        const loadObjects = Object.values(template.Resources).find(
          (resource) =>
            resource.Type === 'AWS::Lambda::Function' &&
            JSON.stringify(resource.Properties?.Environment ?? {}).includes('PIPELINE_SOURCES'),
        );
        const environment = loadObjects?.Properties?.Environment as
          | { Variables: Record<string, string> }
          | undefined;
        const variables = environment?.Variables ?? {};
        expect(JSON.parse(variables.PIPELINE_SOURCES).tidb).toMatchObject({
          stagingSchema: 'tidb_incremental',
        });
      } finally {
        removeTestApp(app);
      }
    },
    SYNTH_TIMEOUT_MS,
  );
});
