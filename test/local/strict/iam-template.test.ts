import {
  bucketPolicyOf,
  type CfnTemplate,
  localRoleId,
  principalOfFunction,
  resolveIntrinsics,
} from '../../../local/strict/iam-template';

/** CloudFormation's Fn::Sub syntax (a literal `${...}`, not a JavaScript template). */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Fn::Sub syntax
const BUCKET_OBJECTS_SUB = '${Bucket.Arn}/*';

const template: CfnTemplate = {
  Resources: {
    Table: { Type: 'AWS::DynamoDB::Table', Properties: {} },
    Bucket: { Type: 'AWS::S3::Bucket', Properties: { BucketName: 'staging' } },
    FnRole: { Type: 'AWS::IAM::Role', Properties: {} },
    Fn: { Type: 'AWS::Lambda::Function', Properties: { Role: { 'Fn::GetAtt': ['FnRole', 'Arn'] } } },
    FnPolicy: {
      Type: 'AWS::IAM::Policy',
      Properties: {
        Roles: [{ Ref: 'FnRole' }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: 'dynamodb:Scan', Resource: { 'Fn::GetAtt': ['Table', 'Arn'] } },
            {
              Effect: 'Allow',
              Action: 'secretsmanager:GetSecretValue',
              Resource: {
                'Fn::Join': [
                  '',
                  ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:', { Ref: 'AWS::Region' }, ':x'],
                ],
              },
            },
          ],
        },
      },
    },
    OtherPolicy: {
      Type: 'AWS::IAM::Policy',
      Properties: { Roles: [{ Ref: 'SomeoneElse' }], PolicyDocument: { Statement: [{ Effect: 'Allow' }] } },
    },
    BucketPolicy: {
      Type: 'AWS::S3::BucketPolicy',
      Properties: {
        Bucket: { Ref: 'Bucket' },
        PolicyDocument: {
          Statement: [{ Effect: 'Allow', Resource: { 'Fn::Sub': BUCKET_OBJECTS_SUB } }],
        },
      },
    },
  },
};
const env = {
  account: '000000000000',
  region: 'eu-west-1',
  stackName: 'Stack',
  physicalNames: { Table: 'control-table' },
};

describe('resolving the template for the local account', () => {
  test('ARNs of table, bucket and role come out as a deployed stack would have them', () => {
    expect(resolveIntrinsics({ 'Fn::GetAtt': ['Table', 'Arn'] }, template, env)).toBe(
      'arn:aws:dynamodb:eu-west-1:000000000000:table/control-table',
    );
    expect(resolveIntrinsics({ 'Fn::Sub': BUCKET_OBJECTS_SUB }, template, env)).toBe(
      'arn:aws:s3:::staging/*',
    );
    expect(resolveIntrinsics({ 'Fn::GetAtt': ['FnRole', 'RoleId'] }, template, env)).toBe(
      localRoleId('FnRole'),
    );
  });

  test('an intrinsic the gate cannot resolve is an error, not a guess', () => {
    expect(() => resolveIntrinsics({ 'Fn::ImportValue': 'x' }, template, env)).toThrow('Fn::ImportValue');
    expect(() => resolveIntrinsics({ 'Fn::GetAtt': ['Missing', 'Arn'] }, template, env)).toThrow('Missing');
  });

  test("a function's principal holds exactly the policies attached to its role", () => {
    const principal = principalOfFunction(template, env, 'Fn');
    expect(principal.sessionArn).toMatch(
      /^arn:aws:sts::000000000000:assumed-role\/Stack-FnRole-[0-9A-F]{12}\/Fn$/,
    );
    expect(principal.userId).toBe(`${localRoleId('FnRole')}:Fn`);
    expect(principal.policies).toEqual([
      {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: 'dynamodb:Scan',
            Resource: 'arn:aws:dynamodb:eu-west-1:000000000000:table/control-table',
          },
          {
            Effect: 'Allow',
            Action: 'secretsmanager:GetSecretValue',
            Resource: 'arn:aws:secretsmanager:eu-west-1:x',
          },
        ],
      },
    ]);
  });

  test('the bucket policy is found by the bucket name', () => {
    expect(bucketPolicyOf(template, env, 'staging')?.Statement).toEqual([
      { Effect: 'Allow', Resource: 'arn:aws:s3:::staging/*' },
    ]);
    expect(bucketPolicyOf(template, env, 'other')).toBeUndefined();
  });
});
