import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type App, Validations } from 'aws-cdk-lib';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { environments } from '../../config/environments';
import { resolveEnvironmentConfig } from '../../lib/config';
import { addPipelineStack, createTestApp, removeTestApp, SYNTH_TIMEOUT_MS } from './support/pipeline-app';

interface ValidationReport {
  pluginReports: Array<{
    pluginName: string;
    violations?: Array<{ ruleName: string; violatingConstructs: Array<{ constructPath: string }> }>;
  }>;
}

interface Acknowledgement {
  readonly path: string;
  readonly rule: string;
  readonly reason: unknown;
}

/** An App with the environment's stack and cdk-nag's AwsSolutions pack, as `bin/app.ts` wires them. */
function nagApp(
  envName: string,
  addToStack?: (stack: ReturnType<typeof addPipelineStack>) => void,
  envs: typeof environments = environments,
): App {
  const app = createTestApp();
  const stack = addPipelineStack(app, resolveEnvironmentConfig(envs, envName));
  addToStack?.(stack);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

/** `ruleName @ constructPath` of every finding in the report synth wrote (empty when it passed). */
function reportedViolations(app: App): string[] {
  const file = path.join(app.outdir, 'validation-report.json');
  if (!existsSync(file)) return [];
  const report = JSON.parse(readFileSync(file, 'utf8')) as ValidationReport;
  return report.pluginReports.flatMap((plugin) =>
    (plugin.violations ?? []).flatMap((violation) =>
      violation.violatingConstructs.map((construct) => `${violation.ruleName} @ ${construct.constructPath}`),
    ),
  );
}

/** Synthesizes; a validation failure is returned with the findings instead of thrown. */
function synthesize(app: App): { error?: Error; violations: string[] } {
  try {
    app.synth();
    return { violations: reportedViolations(app) };
  } catch (error) {
    return { error: error as Error, violations: reportedViolations(app) };
  }
}

/** Every acknowledgement in the construct tree, from the metadata `Validations.acknowledge` writes. */
function acknowledgements(app: App): Acknowledgement[] {
  return app.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, unknown>).map(([rule, reason]) => ({
          path: construct.node.path,
          rule,
          reason,
        })),
      ),
  );
}

const GENERIC_REASON =
  /^(n\/?a|none|todo|tbd|ok|fine|suppressed?|ignored?|not needed|needed|required|by design|false positive|acknowledged)\.?$/i;

describe.each(['dev', 'prod'])('%s stack under the AwsSolutions pack', (env) => {
  let app: App;
  let result: { error?: Error; violations: string[] };

  beforeAll(() => {
    app = nagApp(env);
    result = synthesize(app);
  }, SYNTH_TIMEOUT_MS);

  afterAll(() => removeTestApp(app));

  test('synthesizes with zero unacknowledged findings', () => {
    expect(result.violations).toEqual([]);
    expect(result.error).toBeUndefined();
  });

  test('acknowledges findings through Validations.acknowledge (the rules it needs are there)', () => {
    const rules = acknowledgements(app).map((ack) => ack.rule);
    expect(rules.length).toBeGreaterThan(0);
    expect(rules.every((rule) => rule.startsWith('Annotation::AwsSolutions-'))).toBe(true);
  });

  test('every acknowledgement gives a specific reason of at least 30 characters', () => {
    for (const { path: constructPath, rule, reason } of acknowledgements(app)) {
      const text = typeof reason === 'string' ? reason.trim() : '';
      expect({ constructPath, rule, reasonLength: text.length >= 30 }).toEqual({
        constructPath,
        rule,
        reasonLength: true,
      });
      expect({ constructPath, rule, generic: GENERIC_REASON.test(text) }).toEqual({
        constructPath,
        rule,
        generic: false,
      });
      // A reason is not the rule's id again.
      expect(text).not.toContain(rule.replace(/^Annotation::/, ''));
    }
  });

  test('the "*" grants of wildcard-only AppFlow actions are acknowledged with that reason on their roles', () => {
    const reasonsOn = (rolePath: string) =>
      acknowledgements(app)
        .filter(
          (ack) => ack.path === `SaasToRedshift-${env}/${rolePath}` && ack.rule.endsWith('IAM5[Resource::*]'),
        )
        .map((ack) => String(ack.reason));
    expect(reasonsOn('StartExtractFunctionRole')).toContainEqual(
      expect.stringMatching(/appflow:CreateFlow supports no resource type.*saas-to-redshift:object/),
    );
    expect(reasonsOn('PrecheckFunctionRole')).toContainEqual(
      expect.stringMatching(
        /appflow:DescribeConnectorProfiles supports no resource type and no condition key/,
      ),
    );
  });

  test("acknowledgements sit on the stack's own constructs, never on the whole App or stack", () => {
    const stackPath = `SaasToRedshift-${env}`;
    for (const { path: constructPath } of acknowledgements(app)) {
      expect(constructPath.startsWith(`${stackPath}/`)).toBe(true);
    }
  });
});

describe("with the quota guard's secret (source.apiLimitsSecretName): the precheck and StartExtract read it", () => {
  let app: App;
  let result: { error?: Error; violations: string[] };

  beforeAll(() => {
    const dev = environments.dev;
    app = nagApp('dev', undefined, {
      ...environments,
      dev: {
        ...dev,
        source: { ...dev.source, apiLimitsSecretName: 'saas-to-redshift/dev/salesforce-limits' },
      },
    });
    result = synthesize(app);
  }, SYNTH_TIMEOUT_MS);

  afterAll(() => removeTestApp(app));

  test('synthesizes with zero unacknowledged findings', () => {
    expect(result.violations).toEqual([]);
    expect(result.error).toBeUndefined();
  });
});

describe('negative control', () => {
  let app: App;

  beforeAll(() => {
    app = nagApp('dev', (stack) => {
      new Bucket(stack, 'Unlogged');
    });
  }, SYNTH_TIMEOUT_MS);

  afterAll(() => removeTestApp(app));

  test('an unacknowledged non-compliant bucket fails synth, naming the bucket and the rule', () => {
    // Outside the CDK CLI the report is the error message; under it, it goes to stderr first.
    const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const { error } = synthesize(app);
    printed.mockRestore();
    expect(error?.name).toBe('ValidationFailed');
    expect(error?.message).toMatch(/A copy of this report can be found in: .*validation-report\.json/);
    expect(reportedViolations(app)).toContain('AwsSolutions-S1 @ SaasToRedshift-dev/Unlogged/Resource');
    expect(reportedViolations(app).every((finding) => finding.includes('/Unlogged/'))).toBe(true);
  });
});
