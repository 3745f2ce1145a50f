import type { EnvironmentConfig } from '../../lib/config';
import {
  type BuiltPipeline,
  buildPipeline,
  constructPathsByLogicalId,
  isCdkFrameworkPath,
  logicalIdOf,
  removeTestApp,
  SYNTH_TIMEOUT_MS,
} from './support/pipeline-app';

type Intrinsic = string | number | boolean | null | Intrinsic[] | { [key: string]: Intrinsic };

interface Statement {
  /** Logical id of the policy (or role, for inline policies) holding the statement. */
  readonly policy: string;
  /** Logical ids of the roles the policy is attached to. */
  readonly roles: string[];
  readonly effect: string;
  readonly actions: string[];
  /** Resources flattened to strings: `${AWS::Partition}` for the partition, `${Id.Attr}` for GetAtt. */
  readonly resources: string[];
  readonly condition?: Record<string, Record<string, Intrinsic>>;
}

const built: Record<string, BuiltPipeline> = {};

beforeAll(() => {
  for (const env of ['dev', 'prod']) built[env] = buildPipeline(env);
}, SYNTH_TIMEOUT_MS);

afterAll(() => {
  for (const pipeline of Object.values(built)) removeTestApp(pipeline.app);
});

/** An intrinsic value as a readable string: joins resolved, references kept as `${...}`. */
function flatten(value: Intrinsic): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    if ('Fn::Join' in value) {
      const [separator, parts] = value['Fn::Join'] as [string, Intrinsic[]];
      return parts.map(flatten).join(separator);
    }
    if ('Ref' in value) return `\${${value.Ref}}`;
    if ('Fn::GetAtt' in value) return `\${${(value['Fn::GetAtt'] as string[]).join('.')}}`;
    if ('Fn::Sub' in value) return String(value['Fn::Sub']);
  }
  return JSON.stringify(value);
}

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

interface PolicyDocument {
  Statement: Array<{
    Effect: string;
    Action?: string | string[];
    Resource?: Intrinsic | Intrinsic[];
    Condition?: Record<string, Record<string, Intrinsic>>;
  }>;
}

/** Every identity-policy statement of the template: AWS::IAM::Policy documents and inline role policies. */
function statements(pipeline: BuiltPipeline): Statement[] {
  const result: Statement[] = [];
  const add = (policy: string, roles: string[], document: PolicyDocument) => {
    for (const statement of document.Statement) {
      result.push({
        policy,
        roles,
        effect: statement.Effect,
        actions: asArray(statement.Action),
        resources: asArray(statement.Resource).map(flatten),
        condition: statement.Condition,
      });
    }
  };
  for (const [id, resource] of Object.entries(pipeline.template.findResources('AWS::IAM::Policy'))) {
    const roles = asArray(resource.Properties.Roles as Intrinsic[]).map((role) => flatten(role).slice(2, -1));
    add(id, roles, resource.Properties.PolicyDocument as PolicyDocument);
  }
  for (const [id, resource] of Object.entries(pipeline.template.findResources('AWS::IAM::Role'))) {
    for (const inline of asArray(resource.Properties.Policies as Array<{ PolicyDocument: PolicyDocument }>)) {
      add(id, [id], inline.PolicyDocument);
    }
  }
  return result;
}

const withAction = (list: Statement[], test: (action: string) => boolean) =>
  list.filter((statement) => statement.actions.some(test));

/** Statements attached to the role of one function (found through the function's Role property). */
function statementsOfFunction(pipeline: BuiltPipeline, functionLogicalId: string): Statement[] {
  const role = pipeline.template.toJSON().Resources[functionLogicalId].Properties.Role as Intrinsic;
  const roleId = flatten(role)
    .slice(2, -1)
    .replace(/\.Arn$/, '');
  return statements(pipeline).filter((statement) => statement.roles.includes(roleId));
}

const arnPrefix = (config: EnvironmentConfig, service: string) =>
  `arn:\${AWS::Partition}:${service}:${config.region}:${config.account}:`;

const connectorProfileArns = (config: EnvironmentConfig) =>
  [
    config.source.connectorProfileName,
    ...config.source.additionalConnectorProfileNames,
    config.source.redshiftConnectorProfileName,
  ].map((name) => `${arnPrefix(config, 'appflow')}connectorprofile/${name}`);

const flowArnPattern = (config: EnvironmentConfig) =>
  `${arnPrefix(config, 'appflow')}flow/${config.flowNamePrefix}-*`;

function warehouseTargetArn(config: EnvironmentConfig): string {
  const redshift = config.redshift;
  return redshift.kind === 'serverless'
    ? `${arnPrefix(config, 'redshift-serverless')}workgroup/${redshift.workgroupId}`
    : `${arnPrefix(config, 'redshift')}cluster:${redshift.clusterIdentifier}`;
}

const secretArnPattern = (config: EnvironmentConfig, secretName = config.redshift.secretName) =>
  `${arnPrefix(config, 'secretsmanager')}secret:${secretName}-??????`;

/** The secrets an environment names: the warehouse credentials, and the optional source-limits secret. */
const configuredSecretArnPatterns = (config: EnvironmentConfig) => {
  const limitsSecret = (config.source as { apiLimitsSecretName?: string }).apiLimitsSecretName;
  return [secretArnPattern(config), ...(limitsSecret ? [secretArnPattern(config, limitsSecret)] : [])];
};

/** IAM's policy variable for the caller's user id (a literal `${...}`, not a template). */
// biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable
const CALLER_USER_ID = '${aws:userid}';

const STATEMENT_READERS = [
  'redshift-data:DescribeStatement',
  'redshift-data:GetStatementResult',
  'redshift-data:CancelStatement',
];

describe.each(['dev', 'prod'])('%s: AppFlow', (env) => {
  test('no AppFlow statement has Resource "*" or a service-wide action', () => {
    const appflow = withAction(statements(built[env]), (action) => action.startsWith('appflow:'));
    expect(appflow.length).toBeGreaterThan(0);
    for (const statement of appflow) {
      expect({ policy: statement.policy, resources: statement.resources }).not.toEqual({
        policy: statement.policy,
        resources: expect.arrayContaining(['*']),
      });
      expect(statement.actions).not.toContain('appflow:*');
    }
  });

  test('AppFlow actions name only <prefix>- flows and the configured connector profiles', () => {
    const config = built[env].config;
    const allowed = new Set([flowArnPattern(config), ...connectorProfileArns(config)]);
    for (const statement of withAction(statements(built[env]), (action) => action.startsWith('appflow:'))) {
      for (const resource of statement.resources) {
        expect({ policy: statement.policy, resource, allowed: allowed.has(resource) }).toEqual({
          policy: statement.policy,
          resource,
          allowed: true,
        });
      }
    }
  });

  test('flow actions are granted on flows, connector-profile actions on connector profiles', () => {
    const config = built[env].config;
    for (const statement of withAction(statements(built[env]), (action) => action.startsWith('appflow:'))) {
      const onProfiles = statement.actions.some((action) =>
        ['appflow:UseConnectorProfile', 'appflow:DescribeConnectorProfiles'].includes(action),
      );
      const expected = onProfiles ? connectorProfileArns(config) : [flowArnPattern(config)];
      expect({ policy: statement.policy, resources: [...statement.resources].sort() }).toEqual({
        policy: statement.policy,
        resources: [...expected].sort(),
      });
    }
  });

  test('the poll function can only look at flow runs, not create, start or delete flows', () => {
    const pollFlow = logicalIdOf(built[env].stack.node.findChild('PollFlowFunction'));
    const actions = statementsOfFunction(built[env], pollFlow)
      .flatMap((statement) => statement.actions)
      .filter((action) => action.startsWith('appflow:'));
    expect(actions).toContain('appflow:DescribeFlowExecutionRecords');
    const mutating = [
      'appflow:CreateFlow',
      'appflow:StartFlow',
      'appflow:DeleteFlow',
      'appflow:UseConnectorProfile',
    ];
    expect(actions.filter((action) => mutating.includes(action))).toEqual([]);
  });
});

describe.each(['dev', 'prod'])('%s: Redshift Data API', (env) => {
  test('ExecuteStatement and BatchExecuteStatement only on the configured workgroup or cluster', () => {
    const config = built[env].config;
    const executes = withAction(statements(built[env]), (action) =>
      ['redshift-data:ExecuteStatement', 'redshift-data:BatchExecuteStatement'].includes(action),
    );
    expect(executes.length).toBeGreaterThan(0);
    for (const statement of executes) {
      expect({ policy: statement.policy, resources: statement.resources }).toEqual({
        policy: statement.policy,
        resources: [warehouseTargetArn(config)],
      });
    }
  });

  test('serverless targets are named by workgroup id (dev), provisioned ones by cluster identifier (prod)', () => {
    const expected =
      env === 'dev' ? /:redshift-serverless:.*:workgroup\/[0-9a-f-]{36}$/ : /:redshift:.*:cluster:[a-z]/;
    expect(warehouseTargetArn(built[env].config)).toMatch(expected);
  });

  test('statement readers on "*" are limited to the caller\'s own statements', () => {
    const readers = withAction(statements(built[env]), (action) => STATEMENT_READERS.includes(action));
    expect(readers.length).toBeGreaterThan(0);
    for (const statement of readers.filter((s) => s.resources.includes('*'))) {
      expect(statement.condition).toEqual({
        StringEquals: { 'redshift-data:statement-owner-iam-userid': CALLER_USER_ID },
      });
    }
  });

  test('every redshift-data statement on "*" holds only the statement readers', () => {
    const wildcards = withAction(statements(built[env]), (action) =>
      action.startsWith('redshift-data:'),
    ).filter((statement) => statement.resources.includes('*'));
    for (const statement of wildcards) {
      for (const action of statement.actions) expect(STATEMENT_READERS).toContain(action);
    }
  });

  test('secretsmanager:GetSecretValue only on the configured secrets, never "*"', () => {
    const allowed = configuredSecretArnPatterns(built[env].config);
    const secrets = withAction(statements(built[env]), (action) => action.startsWith('secretsmanager:'));
    expect(secrets.length).toBeGreaterThan(0);
    for (const statement of secrets) {
      expect(statement.actions).not.toContain('secretsmanager:*');
      for (const resource of statement.resources) {
        expect({ policy: statement.policy, resource, allowed: allowed.includes(resource) }).toEqual({
          policy: statement.policy,
          resource,
          allowed: true,
        });
      }
    }
  });
});

describe.each(['dev', 'prod'])('%s: roles', (env) => {
  test('no role uses an AWS managed policy, except CDK custom-resource framework roles', () => {
    const paths = constructPathsByLogicalId(built[env].stack);
    const withManaged = Object.entries(built[env].template.findResources('AWS::IAM::Role'))
      .filter(([, role]) => asArray(role.Properties.ManagedPolicyArns).length > 0)
      .map(([id]) => id);
    for (const id of withManaged) {
      expect({ id, framework: isCdkFrameworkPath(paths.get(id) ?? id) }).toEqual({ id, framework: true });
    }
  });

  test('no identity policy allows every action ("*") or a whole service ("service:*")', () => {
    for (const statement of statements(built[env])) {
      for (const action of statement.actions) {
        expect({ policy: statement.policy, action }).not.toEqual({
          policy: statement.policy,
          action: expect.stringMatching(/(^|:)\*$/),
        });
      }
    }
  });

  test('iam:PassRole is absent, or passes roles to AppFlow only', () => {
    for (const statement of withAction(statements(built[env]), (action) =>
      /^iam:(PassRole|\*)$/.test(action),
    )) {
      expect(statement.condition).toEqual({
        StringEquals: { 'iam:PassedToService': 'appflow.amazonaws.com' },
      });
    }
  });
});

describe.each(['dev', 'prod'])('%s: warehouse schema custom resource', (env) => {
  const schema = () => {
    const resources = Object.entries(built[env].template.findResources('Custom::WarehouseSchema'));
    expect(resources).toHaveLength(1);
    const [id, resource] = resources[0];
    return {
      id,
      properties: resource.Properties as { ServiceToken: Intrinsic; Statements: unknown; SqlSha256: unknown },
    };
  };

  test('carries the SQL statements, the consolidate_object procedure among them', () => {
    const { Statements } = schema().properties;
    expect(Array.isArray(Statements)).toBe(true);
    const list = Statements as unknown[];
    expect(list.length).toBeGreaterThan(0);
    for (const statement of list)
      expect(typeof statement === 'string' && statement.trim().length > 0).toBe(true);
    expect(list).toContainEqual(
      expect.stringMatching(/CREATE\s+(OR\s+REPLACE\s+)?PROCEDURE\s+(public\.)?consolidate_object\b/i),
    );
  });

  test('carries a SHA-256 of the SQL, so a changed statement triggers an update', () => {
    expect(schema().properties.SqlSha256).toEqual(expect.stringMatching(/^[0-9a-f]{64}$/));
  });

  test("the provider's onEvent and isComplete functions may run statements on the warehouse and read the secret", () => {
    const pipeline = built[env];
    const config = pipeline.config;
    const serviceToken = flatten(schema().properties.ServiceToken);
    const frameworkId = serviceToken.slice(2, -1).replace(/\.Arn$/, '');
    const variables = pipeline.template.toJSON().Resources[frameworkId].Properties.Environment
      .Variables as Record<string, Intrinsic>;
    const userFunctions = ['USER_ON_EVENT_FUNCTION_ARN', 'USER_IS_COMPLETE_FUNCTION_ARN'].map((name) =>
      flatten(variables[name])
        .slice(2, -1)
        .replace(/\.Arn$/, ''),
    );
    expect(new Set(userFunctions).size).toBe(2);
    for (const fn of userFunctions) {
      const granted = statementsOfFunction(pipeline, fn);
      const resourcesOf = (action: string) =>
        granted
          .filter((statement) => statement.actions.includes(action))
          .flatMap((statement) => statement.resources);
      expect({ fn, batch: resourcesOf('redshift-data:BatchExecuteStatement') }).toEqual({
        fn,
        batch: [warehouseTargetArn(config)],
      });
      expect({ fn, describe: resourcesOf('redshift-data:DescribeStatement') }).toEqual({
        fn,
        describe: ['*'],
      });
      expect({ fn, secret: resourcesOf('secretsmanager:GetSecretValue') }).toEqual({
        fn,
        secret: [secretArnPattern(config)],
      });
    }
  });
});
