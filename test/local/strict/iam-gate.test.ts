import { LOCAL_CONFIG } from '../../../config/local-environment';
import { LOCAL_STACK_NAME, loadAssembly, synthesizeLocalStack } from '../../../local/runner/assembly';
import { localEnvironmentConfig } from '../../../local/runner/local-config';
import { DEFAULT_CACHE_DIR } from '../../../local/runner/run-scenario';
import { STAGING_BUCKET_ACTIONS } from '../../../local/stand-ins/appflow/flow-run';
import { ServiceError } from '../../../local/stand-ins/http-service';
import {
  authorizeCall,
  decide,
  type IamGate,
  iamGateForAssembly,
  RUNNER_ACCESS_KEY_ID,
} from '../../../local/strict/iam-gate';
import type { AccountFacts, GateCall } from '../../../local/strict/iam-requests';
import {
  bucketPolicyOf,
  type LocalPrincipal,
  localRoleId,
  type PolicyDocument,
  principalOfFunction,
} from '../../../local/strict/iam-template';

const ACCOUNT = LOCAL_CONFIG.account;
const REGION = LOCAL_CONFIG.region;
const FLOWS = `arn:aws:appflow:${REGION}:${ACCOUNT}:flow/s2r-*`;
const PROFILE = (name: string) => `arn:aws:appflow:${REGION}:${ACCOUNT}:connectorprofile/${name}`;
const WORKGROUP = `arn:aws:redshift-serverless:${REGION}:${ACCOUNT}:workgroup/${LOCAL_CONFIG.redshift.workgroupId}`;
const REDSHIFT_SECRET = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${LOCAL_CONFIG.redshift.secretName}-??????`;
// biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable
const CALLER_USER_ID = '${aws:userid}';

/** Tags every temporary flow is created with (lambdas/common/flow-definition.ts). */
const FLOW_TAGS = { 'saas-to-redshift:object': 'Account', 'saas-to-redshift:run-id': 'run-1' };

const policy = (...Statement: Record<string, unknown>[]): PolicyDocument => ({
  Version: '2012-10-17',
  Statement,
});

function principal(...statements: Record<string, unknown>[]): LocalPrincipal {
  return {
    functionName: 'TestFunction',
    roleName: 'TestRole',
    roleArn: `arn:aws:iam::${ACCOUNT}:role/TestRole`,
    sessionArn: `arn:aws:sts::${ACCOUNT}:assumed-role/TestRole/TestFunction`,
    userId: 'AROATESTROLE000000001:TestFunction',
    policies: [policy(...statements)],
  };
}

const facts = (owners: Record<string, string> = {}): AccountFacts => ({
  account: ACCOUNT,
  workgroupIds: { [LOCAL_CONFIG.redshift.workgroupName]: LOCAL_CONFIG.redshift.workgroupId },
  statementOwner: (id) => owners[id],
});

function call(
  service: string,
  operation: string,
  body: Record<string, unknown>,
  accessKey = 'AKIDTEST',
): GateCall {
  return {
    service,
    operation,
    request: {
      headers: {
        authorization: `AWS4-HMAC-SHA256 Credential=${accessKey}/20260301/${REGION}/${service}/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body,
      region: REGION,
    },
  };
}

const createFlow = (tags: Record<string, string> = FLOW_TAGS) =>
  call('appflow', 'CreateFlow', {
    flowName: 's2r-Account-run-1',
    tags,
    sourceFlowConfig: { connectorType: 'Salesforce', connectorProfileName: 'salesforce-local' },
    destinationFlowConfigList: [{ connectorType: 'Redshift', connectorProfileName: 'redshift-local' }],
  });

/** The refusal a call gets, or undefined when it is allowed. */
async function refusalOf(promise: Promise<void>): Promise<ServiceError | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    if (error instanceof ServiceError) return error;
    throw error;
  }
}

describe('identity-policy evaluation', () => {
  const executes = { Effect: 'Allow', Action: 'redshift-data:ExecuteStatement', Resource: WORKGROUP };
  const readsSecret = { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: REDSHIFT_SECRET };
  const statement = (body: Record<string, unknown> = {}) =>
    call('redshift-data', 'ExecuteStatement', {
      WorkgroupName: LOCAL_CONFIG.redshift.workgroupName,
      Database: 'dev',
      SecretArn: LOCAL_CONFIG.redshift.secretName,
      Sql: 'SELECT 1',
      ...body,
    });

  test('allows a call the role grants on its resource', async () => {
    expect(
      await refusalOf(authorizeCall(principal(executes, readsSecret), statement(), facts())),
    ).toBeUndefined();
  });

  test('denies an action the role does not grant, in the words AWS uses', async () => {
    const refusal = await refusalOf(
      authorizeCall(
        principal(executes, readsSecret),
        call('redshift-data', 'BatchExecuteStatement', {
          WorkgroupName: 'local',
          Database: 'dev',
          Sqls: ['SELECT 1'],
        }),
        facts(),
      ),
    );
    expect(refusal?.code).toBe('AccessDeniedException');
    expect(refusal?.statusCode).toBe(403);
    expect(refusal?.message).toBe(
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/TestRole/TestFunction is not authorized to perform: redshift-data:BatchExecuteStatement on resource: ${WORKGROUP} because no identity-based policy allows the redshift-data:BatchExecuteStatement action`,
    );
  });

  test('denies a granted action on a resource outside the grant', async () => {
    const deletes = principal({ Effect: 'Allow', Action: 'appflow:DeleteFlow', Resource: FLOWS });
    const refusal = await refusalOf(
      authorizeCall(deletes, call('appflow', 'DeleteFlow', { flowName: 'someone-elses-flow' }), facts()),
    );
    expect(refusal?.message).toContain(
      `perform: appflow:DeleteFlow on resource: arn:aws:appflow:${REGION}:${ACCOUNT}:flow/someone-elses-flow`,
    );
    expect(
      await refusalOf(
        authorizeCall(deletes, call('appflow', 'DeleteFlow', { flowName: 's2r-Account-1' }), facts()),
      ),
    ).toBeUndefined();
  });

  test('a statement with a secret also needs secretsmanager:GetSecretValue on it (the Data API reads it as the caller)', async () => {
    const refusal = await refusalOf(authorizeCall(principal(executes), statement(), facts()));
    expect(refusal?.message).toMatch(
      /perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:eu-west-1:000000000000:secret:saas-to-redshift\/local\/redshift-[A-Za-z0-9]{6} /,
    );
  });

  test('an explicit Deny wins over an Allow and says so', async () => {
    const denied = principal(executes, readsSecret, {
      Effect: 'Deny',
      Action: 'redshift-data:ExecuteStatement',
      Resource: '*',
    });
    const refusal = await refusalOf(authorizeCall(denied, statement(), facts()));
    expect(refusal?.message).toMatch(/with an explicit deny in an identity-based policy$/);
  });

  test('CreateFlow granted on a flow ARN is denied: the action has no resource type', async () => {
    const arnOnly = principal(
      { Effect: 'Allow', Action: 'appflow:CreateFlow', Resource: FLOWS },
      { Effect: 'Allow', Action: 'appflow:UseConnectorProfile', Resource: '*' },
    );
    const refusal = await refusalOf(authorizeCall(arnOnly, createFlow(), facts()));
    expect(refusal?.message).toContain('perform: appflow:CreateFlow on resource: *');
  });

  describe('condition keys', () => {
    const tagged = principal(
      {
        Effect: 'Allow',
        Action: 'appflow:CreateFlow',
        Resource: '*',
        Condition: {
          Null: {
            'aws:RequestTag/saas-to-redshift:object': 'false',
            'aws:RequestTag/saas-to-redshift:run-id': 'false',
          },
          'ForAllValues:StringEquals': {
            'aws:TagKeys': ['saas-to-redshift:object', 'saas-to-redshift:run-id'],
          },
        },
      },
      {
        Effect: 'Allow',
        Action: 'appflow:UseConnectorProfile',
        Resource: [PROFILE('salesforce-local'), PROFILE('redshift-local')],
      },
    );

    test('CreateFlow with the required tags is allowed', async () => {
      expect(await refusalOf(authorizeCall(tagged, createFlow(), facts()))).toBeUndefined();
    });

    test('CreateFlow without a required tag is denied (aws:RequestTag)', async () => {
      const refusal = await refusalOf(
        authorizeCall(tagged, createFlow({ 'saas-to-redshift:object': 'Account' }), facts()),
      );
      expect(refusal?.code).toBe('AccessDeniedException');
    });

    test('CreateFlow with a tag key outside the list is denied (aws:TagKeys)', async () => {
      const refusal = await refusalOf(
        authorizeCall(tagged, createFlow({ ...FLOW_TAGS, owner: 'me' }), facts()),
      );
      expect(refusal?.code).toBe('AccessDeniedException');
    });

    test('CreateFlow also needs UseConnectorProfile on every profile the flow uses', async () => {
      const oneProfile = principal(tagged.policies[0].Statement[0], {
        Effect: 'Allow',
        Action: 'appflow:UseConnectorProfile',
        Resource: PROFILE('salesforce-local'),
      });
      const refusal = await refusalOf(authorizeCall(oneProfile, createFlow(), facts()));
      expect(refusal?.message).toContain(
        `appflow:UseConnectorProfile on resource: ${PROFILE('redshift-local')}`,
      );
    });

    test("statement readers limited to the caller's own statements see only those", async () => {
      const readers = principal({
        Effect: 'Allow',
        Action: 'redshift-data:DescribeStatement',
        Resource: '*',
        Condition: { StringEquals: { 'redshift-data:statement-owner-iam-userid': CALLER_USER_ID } },
      });
      const owners = { own: 'AROATESTROLE000000001:TestFunction', theirs: 'AROAOTHERROLE00000001:Other' };
      const describe = (id: string) => call('redshift-data', 'DescribeStatement', { Id: id });
      expect(await refusalOf(authorizeCall(readers, describe('own'), facts(owners)))).toBeUndefined();
      expect(await refusalOf(authorizeCall(readers, describe('own:2'), facts(owners)))).toBeUndefined();
      expect((await refusalOf(authorizeCall(readers, describe('theirs'), facts(owners))))?.code).toBe(
        'AccessDeniedException',
      );
    });
  });
});

/** What main granted before issue 11 (git show HEAD~:lib/constructs/appflow-access.ts), resolved for the local stack. */
const OLD_START_EXTRACT_APPFLOW = [
  {
    Effect: 'Allow',
    Action: [
      'appflow:CreateFlow',
      'appflow:StartFlow',
      'appflow:DescribeFlow',
      'appflow:DescribeFlowExecutionRecords',
      'appflow:DeleteFlow',
      'appflow:TagResource',
    ],
    Resource: FLOWS,
  },
  {
    Effect: 'Allow',
    Action: [
      'appflow:UseConnectorProfile',
      'appflow:DescribeConnectorEntity',
      'appflow:DescribeConnectorProfiles',
    ],
    Resource: [PROFILE('salesforce-local'), PROFILE('redshift-local')],
  },
];
const OLD_STAGING_BUCKET_POLICY = policy({
  Effect: 'Allow',
  Principal: { Service: 'appflow.amazonaws.com' },
  Action: [
    's3:PutObject',
    's3:GetObject',
    's3:ListBucket',
    's3:DeleteObject',
    's3:AbortMultipartUpload',
    's3:GetBucketAcl',
    's3:PutObjectAcl',
  ],
  Resource: [
    `arn:aws:s3:::${LOCAL_CONFIG.stagingBucketName}`,
    `arn:aws:s3:::${LOCAL_CONFIG.stagingBucketName}/*`,
  ],
  Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT } },
});

describe('the synthesized stack through the gate the local run uses', () => {
  let gate: IamGate;
  let template: Parameters<typeof principalOfFunction>[0];
  let physicalNames: Record<string, string>;
  const ids: Record<string, string> = {};
  const environment = () => ({
    account: ACCOUNT,
    region: REGION,
    stackName: LOCAL_STACK_NAME,
    physicalNames,
  });

  beforeAll(async () => {
    const config = localEnvironmentConfig();
    const assembly = loadAssembly(await synthesizeLocalStack(config, DEFAULT_CACHE_DIR));
    gate = iamGateForAssembly(assembly, config, LOCAL_STACK_NAME);
    template = assembly.template as typeof template;
    physicalNames = assembly.physicalNames;
    for (const [state, fn] of Object.entries(assembly.taskFunctions)) ids[state] = fn.logicalId;
    const resources = Object.entries(template.Resources);
    ids.StatusFunction = resources.find(
      ([id, resource]) =>
        resource.Type === 'AWS::Lambda::Function' && id.startsWith('WarehouseSchemaStatusFunction'),
    )?.[0] as string;
  }, 300_000);

  const as = (state: string, service: string, operation: string, body: Record<string, unknown>) =>
    call(service, operation, body, gate.credentialsFor(ids[state]).accessKeyId);

  test('defect 1: the old StartExtract grant refuses CreateFlow; the synthesized one allows it', async () => {
    const old = { ...gate.principalFor(ids.StartExtract), policies: [policy(...OLD_START_EXTRACT_APPFLOW)] };
    const refusal = await refusalOf(authorizeCall(old, createFlow(), facts()));
    expect(refusal?.message).toContain('not authorized to perform: appflow:CreateFlow on resource: *');

    const body = createFlow().request.body;
    expect(await refusalOf(gate.check(as('StartExtract', 'appflow', 'CreateFlow', body)))).toBeUndefined();
  });

  test('defect 1: the old Precheck grant refuses DescribeConnectorProfiles; the synthesized one allows it', async () => {
    const old = { ...gate.principalFor(ids.Precheck), policies: [policy(OLD_START_EXTRACT_APPFLOW[1])] };
    const list = call('appflow', 'DescribeConnectorProfiles', {
      connectorProfileNames: ['salesforce-local'],
    });
    expect((await refusalOf(authorizeCall(old, list, facts())))?.message).toContain(
      'appflow:DescribeConnectorProfiles on resource: *',
    );
    expect(
      await refusalOf(gate.check(as('Precheck', 'appflow', 'DescribeConnectorProfiles', list.request.body))),
    ).toBeUndefined();
  });

  test('defect 1: flow and profile actions stay scoped to their ARNs', async () => {
    const start = (flowName: string) => gate.check(as('StartExtract', 'appflow', 'StartFlow', { flowName }));
    expect(await refusalOf(start('s2r-Account-run-1'))).toBeUndefined();
    expect((await refusalOf(start('other-flow')))?.code).toBe('AccessDeniedException');
    const entity = (connectorProfileName: string) =>
      gate.check(
        as('StartExtract', 'appflow', 'DescribeConnectorEntity', {
          connectorEntityName: 'Account',
          connectorProfileName,
        }),
      );
    expect(await refusalOf(entity('salesforce-local'))).toBeUndefined();
    expect((await refusalOf(entity('someone-elses-profile')))?.code).toBe('AccessDeniedException');
  });

  test('defect 2: the old bucket policy refuses AppFlow a multipart action; the synthesized one allows every staging action', async () => {
    const bucket = LOCAL_CONFIG.stagingBucketName;
    const context = {
      'aws:SourceAccount': ACCOUNT,
      'aws:SourceArn': `arn:aws:appflow:${REGION}:${ACCOUNT}:flow/s2r-A-1`,
    };
    const old = await decide(
      'appflow.amazonaws.com',
      [],
      {
        action: 's3:ListMultipartUploadParts',
        resource: `arn:aws:s3:::${bucket}/staging/s2r-A-1/x`,
        context,
      },
      ACCOUNT,
      OLD_STAGING_BUCKET_POLICY,
    );
    expect(old.allowed).toBe(false);
    await expect(
      gate.stagingBucketAccess({
        flowName: 's2r-A-1',
        bucketName: bucket,
        actions: [...STAGING_BUCKET_ACTIONS],
        keys: ['staging/s2r-A-1/run/part-0'],
      }),
    ).resolves.toBeUndefined();
  });

  test('defect 2: AppFlow may not read, list or delete the staging bucket, nor act for another account', async () => {
    const bucket = LOCAL_CONFIG.stagingBucketName;
    for (const action of ['s3:GetObject', 's3:DeleteObject', 's3:ListBucket']) {
      await expect(
        gate.stagingBucketAccess({
          flowName: 's2r-A-1',
          bucketName: bucket,
          actions: [action],
          keys: ['staging/x'],
        }),
      ).rejects.toThrow(`does not allow appflow.amazonaws.com to perform ${action}`);
    }
    const current = bucketPolicyOf(template, environment(), bucket);
    const foreign = await decide(
      'appflow.amazonaws.com',
      [],
      {
        action: 's3:PutObject',
        resource: `arn:aws:s3:::${bucket}/staging/x`,
        context: { 'aws:SourceAccount': '111122223333', 'aws:SecureTransport': 'true' },
      },
      ACCOUNT,
      current,
    );
    expect(foreign.allowed).toBe(false);
  });

  test('defect 6: calls no handler makes are refused', async () => {
    const table = { TableName: 'saas-to-redshift-local-control', Key: { objectName: { S: 'Account' } } };
    const refused = [
      as('PollFlow', 'appflow', 'DescribeFlow', { flowName: 's2r-Account-1' }),
      as('Precheck', 'appflow', 'DescribeConnectorEntity', { connectorProfileName: 'salesforce-local' }),
      as('Precheck', 'appflow', 'CreateFlow', createFlow().request.body),
      as('LoadObjects', 'dynamodb', 'UpdateItem', table),
      as('LoadObjects', 'dynamodb', 'GetItem', table),
      as('FinishObject', 'dynamodb', 'PutItem', { ...table, Item: table.Key }),
      as('StartExtract', 'redshift-data', 'CancelStatement', { Id: 'x' }),
      as('Consolidate', 'redshift-data', 'BatchExecuteStatement', {
        WorkgroupName: 'local',
        Database: 'dev',
        Sqls: ['SELECT 1'],
      }),
    ];
    for (const refusedCall of refused) {
      expect({
        call: `${refusedCall.service}:${refusedCall.operation}`,
        refusal: (await refusalOf(gate.check(refusedCall)))?.code,
      }).toEqual({
        call: `${refusedCall.service}:${refusedCall.operation}`,
        refusal: 'AccessDeniedException',
      });
    }
  });

  test("a Scan of an index needs the index's ARN: LoadObjects' table grant does not cover it", async () => {
    const scan = { TableName: 'saas-to-redshift-local-control' };
    expect(await refusalOf(gate.check(as('LoadObjects', 'dynamodb', 'Scan', scan)))).toBeUndefined();
    const refusal = await refusalOf(
      gate.check(as('LoadObjects', 'dynamodb', 'Scan', { ...scan, IndexName: 'by-source' })),
    );
    expect(refusal?.code).toBe('AccessDeniedException');
    expect(refusal?.message).toContain('table/saas-to-redshift-local-control/index/by-source');
  });

  test("defect 6: the custom resource's status function may only describe its role's statements (one role with the apply function, issue 19)", async () => {
    const status = principalOfFunction(template, environment(), ids.StatusFunction);
    const execute = call('redshift-data', 'ExecuteStatement', {
      WorkgroupName: 'local',
      Database: 'dev',
      SecretArn: LOCAL_CONFIG.redshift.secretName,
      Sql: 'SELECT 1',
    });
    expect((await refusalOf(authorizeCall(status, execute, facts())))?.code).toBe('AccessDeniedException');
    const applyRoleId = Object.keys(template.Resources).find((id) =>
      /^WarehouseSchemaRole[0-9A-F]{8}$/.test(id),
    ) as string;
    const describe = call('redshift-data', 'DescribeStatement', { Id: 'batch' });
    const applied = facts({ batch: `${localRoleId(applyRoleId)}:WarehouseSchemaApplyFunction` });
    expect(await refusalOf(authorizeCall(status, describe, applied))).toBeUndefined();
    const foreign = facts({ batch: 'AROAOTHERROLE00000001:Other' });
    expect((await refusalOf(authorizeCall(status, describe, foreign)))?.code).toBe('AccessDeniedException');
  });

  test("the old status grant (the caller's own statements) refused the batch the apply function submitted", async () => {
    const status = principalOfFunction(template, environment(), ids.StatusFunction);
    const old = {
      ...status,
      policies: [
        policy({
          Effect: 'Allow',
          Action: [
            'redshift-data:DescribeStatement',
            'redshift-data:GetStatementResult',
            'redshift-data:CancelStatement',
          ],
          Resource: '*',
          Condition: { StringEquals: { 'redshift-data:statement-owner-iam-userid': CALLER_USER_ID } },
        }),
      ],
    };
    const applyRoleId = Object.keys(template.Resources).find((id) =>
      /^WarehouseSchemaRole[0-9A-F]{8}$/.test(id),
    ) as string;
    const applied = facts({ batch: `${localRoleId(applyRoleId)}:WarehouseSchemaApplyFunction` });
    const describe = call('redshift-data', 'DescribeStatement', { Id: 'batch' });
    expect((await refusalOf(authorizeCall(old, describe, applied)))?.code).toBe('AccessDeniedException');
  });

  test('statements belong to the function that submitted them', async () => {
    gate.observeResponse(ids.Consolidate, 'ExecuteStatementCommand', { Id: 'consolidate-statement' });
    const describe = (state: string) =>
      gate.check(as(state, 'redshift-data', 'DescribeStatement', { Id: 'consolidate-statement' }));
    expect(await refusalOf(describe('Consolidate'))).toBeUndefined();
    expect((await refusalOf(describe('StartExtract')))?.code).toBe('AccessDeniedException');
  });

  test('an unknown access key is refused as AWS refuses it; the runner itself is not a function', async () => {
    const scan = { TableName: 'saas-to-redshift-local-control' };
    expect((await refusalOf(gate.check(call('dynamodb', 'Scan', scan, 'AKIDUNKNOWN'))))?.code).toBe(
      'UnrecognizedClientException',
    );
    expect(await refusalOf(gate.check(call('dynamodb', 'Scan', scan, RUNNER_ACCESS_KEY_ID)))).toBeUndefined();
  });

  test('an operation the gate cannot map to a resource fails loudly instead of passing', async () => {
    const refusal = await refusalOf(
      gate.check(as('StartExtract', 'appflow', 'UntagResource', { resourceArn: 'x' })),
    );
    expect(refusal?.code).toBe('InternalFailure');
    expect(refusal?.message).toContain('local/strict/iam-requests.ts');
  });
});
