import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { DynamoDbStandIn } from '../../../local/stand-ins/dynamodb-stand-in';
import { SecretsManagerStandIn } from '../../../local/stand-ins/secrets-manager-stand-in';

const clientConfig = {
  region: 'eu-west-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  maxAttempts: 1,
};

describe('SecretsManagerStandIn through the AWS SDK', () => {
  const fixedArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:redshift/admin-AbCdEf';
  const standIn = new SecretsManagerStandIn({
    'appflow/salesforce': '{"accessToken":"t"}',
    [fixedArn]: '{"username":"admin","password":"p"}',
  });
  let secrets: SecretsManagerClient;

  beforeAll(async () => {
    const { url } = await standIn.start();
    secrets = new SecretsManagerClient({ ...clientConfig, endpoint: url });
  });

  afterAll(async () => {
    secrets.destroy();
    await standIn.stop();
  });

  test('GetSecretValue by name, and by the ARN DescribeSecret reports', async () => {
    const described = await secrets.send(new DescribeSecretCommand({ SecretId: 'appflow/salesforce' }));
    const byArn = await secrets.send(new GetSecretValueCommand({ SecretId: described.ARN }));

    expect(described.Name).toBe('appflow/salesforce');
    expect(described.ARN).toMatch(
      /^arn:aws:secretsmanager:eu-west-1:000000000000:secret:appflow\/salesforce-\w{6}$/,
    );
    expect(byArn).toEqual(
      expect.objectContaining({ Name: 'appflow/salesforce', SecretString: '{"accessToken":"t"}' }),
    );
    expect(byArn.CreatedDate).toBeInstanceOf(Date);
  });

  test('a secret registered by ARN is found by that ARN and by its name', async () => {
    const byArn = await secrets.send(new GetSecretValueCommand({ SecretId: fixedArn }));
    const byName = await secrets.send(new GetSecretValueCommand({ SecretId: 'redshift/admin' }));

    expect(byArn.ARN).toBe(fixedArn);
    expect(byName.SecretString).toBe('{"username":"admin","password":"p"}');
  });

  test('an unknown secret is ResourceNotFoundException', async () => {
    await expect(secrets.send(new GetSecretValueCommand({ SecretId: 'nope' }))).rejects.toHaveProperty(
      'name',
      'ResourceNotFoundException',
    );
    await expect(secrets.send(new DescribeSecretCommand({ SecretId: 'nope' }))).rejects.toHaveProperty(
      'name',
      'ResourceNotFoundException',
    );
  });
});

describe('DynamoDbStandIn through the AWS SDK', () => {
  const standIn = new DynamoDbStandIn();
  let dynamodb: DynamoDBClient;

  beforeAll(async () => {
    const { url } = await standIn.start();
    dynamodb = new DynamoDBClient({ ...clientConfig, endpoint: url });
  });

  afterAll(async () => {
    dynamodb.destroy();
    await standIn.stop();
  });

  test('a table is usable right after CreateTable', async () => {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: 'control',
        AttributeDefinitions: [{ AttributeName: 'objectName', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'objectName', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const described = await dynamodb.send(new DescribeTableCommand({ TableName: 'control' }));
    await dynamodb.send(
      new PutItemCommand({
        TableName: 'control',
        Item: { objectName: { S: 'Account' }, enabled: { BOOL: true } },
      }),
    );
    const { Item } = await dynamodb.send(
      new GetItemCommand({ TableName: 'control', Key: { objectName: { S: 'Account' } } }),
    );

    expect(described.Table?.TableStatus).toBe('ACTIVE');
    expect(Item).toEqual({ objectName: { S: 'Account' }, enabled: { BOOL: true } });
  });
});
