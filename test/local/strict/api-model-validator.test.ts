import type { ApiModel } from '../../../local/strict/api-model';
import { validateAgainstModel, validateServiceRequest } from '../../../local/strict/api-model-validator';

const FLOW = {
  flowName: 'saas-to-redshift-Account-run-1',
  triggerConfig: { triggerType: 'OnDemand' },
  sourceFlowConfig: {
    connectorType: 'Salesforce',
    connectorProfileName: 'salesforce',
    sourceConnectorProperties: { Salesforce: { object: 'Account', dataTransferApi: 'AUTOMATIC' } },
  },
  destinationFlowConfigList: [
    {
      connectorType: 'Redshift',
      connectorProfileName: 'redshift',
      destinationConnectorProperties: {
        Redshift: { object: 'staging.account', intermediateBucketName: 'staging-bucket' },
      },
    },
  ],
  tasks: [
    { taskType: 'Filter', sourceFields: ['Id'], connectorOperator: { Salesforce: 'PROJECTION' } },
    {
      taskType: 'Truncate',
      sourceFields: ['Description'],
      connectorOperator: { Salesforce: 'NO_OP' },
      taskProperties: { TRUNCATE_LENGTH: '16383' },
    },
  ],
  tags: { 'saas-to-redshift:object': 'Account' },
  clientToken: '4a1b0c9e-2f4d-4c43-9a51-0e8d4f1f6a7b',
};

const STATEMENT = {
  WorkgroupName: 'analytics',
  Database: 'dev',
  SecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:redshift-AbCdEf',
  Sql: 'CALL consolidate_object(:object)',
  Parameters: [{ name: 'object', value: 'Account' }],
  ClientToken: 'd4b7d0c4-8c8d-4c1e-9d3e-6f8b7e9a1c2d',
};

function refusal(service: Parameters<typeof validateServiceRequest>[0], operation: string, body: object) {
  return validateServiceRequest(service, operation, body as Record<string, unknown>);
}

describe('API model validation against the committed AWS models', () => {
  test('a CreateFlow as the pipeline sends it (Truncate task, dataTransferApi, clientToken) passes', () => {
    expect(refusal('appflow', 'CreateFlow', FLOW)).toBeUndefined();
  });

  test('an ExecuteStatement to a workgroup with a ClientToken passes', () => {
    expect(refusal('redshift-data', 'ExecuteStatement', STATEMENT)).toBeUndefined();
  });

  test('a flowName over 256 characters is refused with max length', () => {
    const flowName = 'a'.repeat(300);
    expect(refusal('appflow', 'CreateFlow', { ...FLOW, flowName })).toEqual({
      code: 'ValidationException',
      statusCode: 400,
      message: `1 validation error detected: Value '${flowName}' at 'flowName' failed to satisfy constraint: Member must have length less than or equal to 256`,
    });
  });

  test('a flowName with a space is refused by the pattern, matched against the whole value', () => {
    expect(refusal('appflow', 'StartFlow', { flowName: 'my flow' })?.message).toBe(
      "1 validation error detected: Value 'my flow' at 'flowName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9][\\w!@#.-]+",
    );
  });

  test('ExecuteStatement without Sql is refused: Member must not be null', () => {
    const { Sql: _omitted, ...withoutSql } = STATEMENT;
    expect(refusal('redshift-data', 'ExecuteStatement', withoutSql)?.message).toBe(
      "1 validation error detected: Value null at 'sql' failed to satisfy constraint: Member must not be null",
    );
  });

  test('an unknown member is refused, naming it', () => {
    const result = refusal('redshift-data', 'ExecuteStatement', { ...STATEMENT, ClusterName: 'x' });
    expect(result?.code).toBe('ValidationException');
    expect(result?.message).toMatch(/at 'clusterName'.*unknown member ClusterName/);
  });

  test('a value outside the enum is refused with the enum set', () => {
    const result = refusal('appflow', 'CreateFlow', { ...FLOW, triggerConfig: { triggerType: 'Daily' } });
    expect(result?.message).toBe(
      "1 validation error detected: Value 'Daily' at 'triggerConfig.triggerType' failed to satisfy constraint: Member must satisfy enum value set: [Scheduled, Event, OnDemand]",
    );
  });

  test('list members are addressed as AWS does (1-based .member)', () => {
    const tasks = [{ ...FLOW.tasks[0], taskType: 'Cut' }];
    expect(refusal('appflow', 'CreateFlow', { ...FLOW, tasks })?.message).toMatch(
      /^1 validation error detected: Value 'Cut' at 'tasks\.1\.member\.taskType' failed/,
    );
  });

  test('an unknown map key from an enum key shape is refused', () => {
    const tasks = [{ ...FLOW.tasks[1], taskProperties: { MAX_LENGTH: '10' } }];
    expect(refusal('appflow', 'CreateFlow', { ...FLOW, tasks })?.message).toMatch(
      /at 'tasks\.1\.member\.taskProperties' failed to satisfy constraint: Map keys must satisfy constraint: \[Member must satisfy enum value set: \[VALUE, /,
    );
  });

  test('a tag key starting with aws: is refused by its negative lookahead pattern', () => {
    const result = refusal('appflow', 'CreateFlow', { ...FLOW, tags: { 'aws:object': 'Account' } });
    expect(result?.message).toMatch(
      /Map keys must satisfy constraint: \[Member must satisfy regular expression/,
    );
  });

  test('a map with more entries than max is refused', () => {
    const tags = Object.fromEntries(Array.from({ length: 51 }, (_, index) => [`tag${index}`, 'v']));
    expect(refusal('appflow', 'CreateFlow', { ...FLOW, tags })?.message).toMatch(
      /at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50$/,
    );
  });

  test('BatchExecuteStatement with 41 statements or none is refused by the list length', () => {
    const batch = { ...STATEMENT, Sql: undefined, Parameters: undefined };
    const tooMany = refusal('redshift-data', 'BatchExecuteStatement', {
      ...batch,
      Sqls: Array.from({ length: 41 }, () => 'SELECT 1'),
    });
    expect(tooMany?.message).toMatch(
      /at 'sqls' failed to satisfy constraint: Member must have length less than or equal to 40$/,
    );
    expect(refusal('redshift-data', 'BatchExecuteStatement', { ...batch, Sqls: [] })?.message).toMatch(
      /Member must have length greater than or equal to 1$/,
    );
  });

  test('a string under its minimum length is refused (Secrets Manager SecretId min 1)', () => {
    expect(refusal('secretsmanager', 'GetSecretValue', { SecretId: '' })?.message).toBe(
      "1 validation error detected: Value '' at 'secretId' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
  });

  test('integers outside min/max are refused with value bounds', () => {
    expect(
      refusal('appflow', 'DescribeFlowExecutionRecords', { flowName: 'f1', maxResults: 101 })?.message,
    ).toBe(
      "1 validation error detected: Value '101' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100",
    );
    expect(
      refusal('appflow', 'DescribeFlowExecutionRecords', { flowName: 'f1', maxResults: 0 })?.message,
    ).toMatch(/Member must have value greater than or equal to 1$/);
  });

  test('a long below its minimum is refused (DynamoDB capacity units)', () => {
    const result = refusal('dynamodb', 'CreateTable', {
      TableName: 'control',
      AttributeDefinitions: [{ AttributeName: 'objectName', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'objectName', KeyType: 'HASH' }],
      ProvisionedThroughput: { ReadCapacityUnits: 0, WriteCapacityUnits: 1 },
    });
    expect(result?.message).toMatch(
      /at 'provisionedThroughput\.readCapacityUnits'.*greater than or equal to 1/,
    );
  });

  test('wrong JSON types are SerializationExceptions: string for integer, string for boolean, fraction for long', () => {
    expect(
      refusal('appflow', 'DescribeFlowExecutionRecords', { flowName: 'f1', maxResults: '10' }),
    ).toMatchObject({
      code: 'SerializationException',
      message: "Unexpected value type at 'maxResults': expected integer, got string",
    });
    expect(refusal('redshift-data', 'ExecuteStatement', { ...STATEMENT, WithEvent: 'yes' })?.code).toBe(
      'SerializationException',
    );
    expect(refusal('appflow', 'CreateFlow', { ...FLOW, tasks: 'all' })?.message).toMatch(
      /expected list, got string/,
    );
  });

  test('timestamps travel as epoch seconds: an ISO string is refused, a number accepted', () => {
    const entry = { Source: 'saas-to-redshift', DetailType: 'Run', Detail: '{}' };
    expect(refusal('events', 'PutEvents', { Entries: [{ ...entry, Time: 1767225600 }] })).toBeUndefined();
    expect(
      refusal('events', 'PutEvents', { Entries: [{ ...entry, Time: '2026-01-01T00:00:00Z' }] })?.code,
    ).toBe('SerializationException');
  });

  test('blobs must be base64 text', () => {
    const put = (value: string) =>
      refusal('dynamodb', 'PutItem', { TableName: 'control', Item: { b: { B: value } } });
    expect(put(Buffer.from('bytes').toString('base64'))).toBeUndefined();
    expect(put('not base64!')?.code).toBe('SerializationException');
  });

  test('several violations are counted and listed, like AWS', () => {
    const result = refusal('appflow', 'StartFlow', { flowName: 'bad name', clientToken: '' });
    expect(result?.message).toMatch(/^3 validation errors detected: /);
    expect(result?.message).toContain("Value 'bad name' at 'flowName' failed to satisfy constraint");
    expect(result?.message).toContain(
      "; Value '' at 'clientToken' failed to satisfy constraint: Member must have length greater than or equal to 1;",
    );
  });

  test('an operation outside the model is UnknownOperationException', () => {
    expect(refusal('appflow', 'CreateConnectorProfile', {})).toMatchObject({
      code: 'UnknownOperationException',
      statusCode: 404,
    });
    expect(refusal('secretsmanager', 'PutSecretValue', {})).toMatchObject({
      code: 'UnknownOperationException',
      statusCode: 400,
    });
  });
});

describe('API model validation: traits the committed subset does not exercise', () => {
  const model: ApiModel = {
    source: { botocoreVersion: 'test', file: 'test', licence: 'test', copyright: 'test', regenerate: 'test' },
    metadata: {
      apiVersion: '2020-01-01',
      endpointPrefix: 'x',
      protocol: 'json',
      serviceId: 'X',
      targetPrefix: 'X',
    },
    operations: {
      Put: { name: 'Put', http: { method: 'POST', requestUri: '/' }, input: { shape: 'PutInput' } },
    },
    shapes: {
      PutInput: {
        type: 'structure',
        members: { Password: { shape: 'Password' }, Choice: { shape: 'Choice' }, Ratio: { shape: 'Ratio' } },
      },
      Password: { type: 'string', min: 8, sensitive: true },
      Choice: { type: 'structure', union: true, members: { A: { shape: 'Text' }, B: { shape: 'Text' } } },
      Text: { type: 'string' },
      Ratio: { type: 'double', min: 0, max: 1 },
    },
  };

  test('a sensitive member is never echoed in the message', () => {
    const message = validateAgainstModel(model, 'Put', { Password: 'hunter2' })?.message ?? '';
    expect(message).toBe(
      "1 validation error detected: Value at 'password' failed to satisfy constraint: Member must have length greater than or equal to 8",
    );
    expect(message).not.toContain('hunter2');
  });

  test('a union must have exactly one member set', () => {
    expect(validateAgainstModel(model, 'Put', { Choice: { A: 'a' } })).toBeUndefined();
    expect(validateAgainstModel(model, 'Put', { Choice: { A: 'a', B: 'b' } })?.message).toMatch(
      /at 'choice' failed to satisfy constraint: Member must have exactly one member set/,
    );
  });

  test('doubles are range-checked', () => {
    expect(validateAgainstModel(model, 'Put', { Ratio: 0.5 })).toBeUndefined();
    expect(validateAgainstModel(model, 'Put', { Ratio: 1.5 })?.message).toMatch(
      /Member must have value less than or equal to 1$/,
    );
  });
});
