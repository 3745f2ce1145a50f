import { AppflowClient, StartFlowCommand } from '@aws-sdk/client-appflow';
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDbStandIn } from '../../../local/stand-ins/dynamodb-stand-in';
import { EventBridgeStandIn } from '../../../local/stand-ins/eventbridge-stand-in';
import {
  HttpStandInServer,
  type RequestCheck,
  restJson,
  ServiceError,
  type StandInCall,
} from '../../../local/stand-ins/http-service';
import { SecretsManagerStandIn } from '../../../local/stand-ins/secrets-manager-stand-in';

const clientConfig = {
  region: 'eu-west-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  maxAttempts: 1,
};

const denyAll: RequestCheck = (call) => {
  throw new ServiceError(
    'AccessDeniedException',
    `not authorized to perform: ${call.service}:${call.operation}`,
    403,
  );
};

describe('checks in front of the AWS stand-ins', () => {
  test('checks see the model operation, run in order, and a refusal stops the call before the handler', async () => {
    const seen: string[] = [];
    const standIn = new EventBridgeStandIn({
      checks: [
        (call) => void seen.push(`first ${call.service}:${call.operation}`),
        denyAll,
        () => void seen.push('never'),
      ],
    });
    const { url } = await standIn.start();
    const events = new EventBridgeClient({ ...clientConfig, endpoint: url });
    try {
      const refused = await events
        .send(new PutEventsCommand({ Entries: [{ Source: 's', DetailType: 'd', Detail: '{}' }] }))
        .catch((error: unknown) => error);
      expect(refused).toMatchObject({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } });
      expect(seen).toEqual(['first events:PutEvents']);
      expect(standIn.events).toEqual([]);
    } finally {
      events.destroy();
      await standIn.stop();
    }
  });

  test('the checks (IAM) answer before the model validation does', async () => {
    const standIn = new SecretsManagerStandIn({ app: 'v' }, { checks: [denyAll] });
    const { url } = await standIn.start();
    const secrets = new SecretsManagerClient({ ...clientConfig, endpoint: url });
    try {
      await expect(secrets.send(new GetSecretValueCommand({ SecretId: '' }))).rejects.toHaveProperty(
        'name',
        'AccessDeniedException',
      );
    } finally {
      secrets.destroy();
      await standIn.stop();
    }
  });

  test('Secrets Manager refuses what the model refuses, before its own logic', async () => {
    const standIn = new SecretsManagerStandIn({ app: 'v' });
    const { url } = await standIn.start();
    const secrets = new SecretsManagerClient({ ...clientConfig, endpoint: url });
    try {
      await expect(secrets.send(new GetSecretValueCommand({ SecretId: '' }))).rejects.toMatchObject({
        name: 'ValidationException',
        message:
          "1 validation error detected: Value '' at 'secretId' failed to satisfy constraint: Member must have length greater than or equal to 1",
      });
      expect(standIn.calls).toEqual([]);
    } finally {
      secrets.destroy();
      await standIn.stop();
    }
  });

  test('AppFlow refusals go out as restJson: status, x-amzn-errortype and message, parsed by the SDK', async () => {
    let handled = 0;
    const server = new HttpStandInServer(
      'AppFlow',
      async () => {
        handled += 1;
        return restJson.ok({ flowArn: 'arn', flowStatus: 'Active' });
      },
      { awsService: 'appflow' },
    );
    const { url } = await server.start();
    const appflow = new AppflowClient({ ...clientConfig, endpoint: url });
    try {
      await expect(appflow.send(new StartFlowCommand({ flowName: 'my flow' }))).rejects.toMatchObject({
        name: 'ValidationException',
        $metadata: { httpStatusCode: 400 },
        message: expect.stringMatching(/^1 validation error detected: Value 'my flow' at 'flowName'/),
      });
      const raw = await fetch(`${url}/start-flow`, {
        method: 'POST',
        body: JSON.stringify({ flowName: 'my flow' }),
      });
      expect(raw.headers.get('x-amzn-errortype')).toBe('ValidationException');
      expect(await raw.json()).toEqual({ message: expect.stringContaining("at 'flowName'") });
      const unknown = await fetch(`${url}/create-connector-profile`, { method: 'POST', body: '{}' });
      expect(unknown.status).toBe(404);
      expect(unknown.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
      await appflow.send(new StartFlowCommand({ flowName: 'good-flow' }));
      expect(handled).toBe(1);
    } finally {
      appflow.destroy();
      await server.stop();
    }
  });

  describe('DynamoDB through the forwarding proxy in front of dynalite', () => {
    const operations: string[] = [];
    const standIn = new DynamoDbStandIn({
      checks: [(call: StandInCall) => void operations.push(call.operation)],
    });
    let url = '';
    let dynamodb: DynamoDBClient;

    beforeAll(async () => {
      url = (await standIn.start()).url;
      dynamodb = new DynamoDBClient({ ...clientConfig, endpoint: url });
    });

    afterAll(async () => {
      dynamodb.destroy();
      await standIn.stop();
    });

    test('valid calls reach dynalite, and every call passes the checks', async () => {
      await dynamodb.send(
        new CreateTableCommand({
          TableName: 'control',
          AttributeDefinitions: [{ AttributeName: 'objectName', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'objectName', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      await dynamodb.send(
        new PutItemCommand({ TableName: 'control', Item: { objectName: { S: 'Account' } } }),
      );
      const got = await dynamodb.send(
        new GetItemCommand({ TableName: 'control', Key: { objectName: { S: 'Account' } } }),
      );
      expect(got.Item).toEqual({ objectName: { S: 'Account' } });
      expect(operations).toEqual(['CreateTable', 'PutItem', 'GetItem']);
    });

    test('a member DynamoDB does not define is refused by the model, not passed to dynalite', async () => {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'DynamoDB_20120810.GetItem',
          authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/eu-west-1/dynamodb/aws4_request',
        },
        body: JSON.stringify({
          TableName: 'control',
          Key: { objectName: { S: 'Account' } },
          Consistent: true,
        }),
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({
        __type: 'ValidationException',
        message: expect.stringMatching(/at 'consistent'.*unknown member Consistent/),
      });
    });

    test('an operation outside the model is UnknownOperationException', async () => {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'DynamoDB_20120810.TagResource',
        },
        body: '{}',
      });
      expect(await response.json()).toMatchObject({ __type: 'UnknownOperationException' });
    });
  });
});
