import {
  AppflowClient,
  CreateFlowCommand,
  type CreateFlowCommandInput,
  DeleteFlowCommand,
  DescribeConnectorEntityCommand,
  DescribeConnectorProfilesCommand,
  DescribeFlowCommand,
  DescribeFlowExecutionRecordsCommand,
  type ExecutionRecord,
  ListFlowsCommand,
  StartFlowCommand,
  type Task,
} from '@aws-sdk/client-appflow';
import type { PGlite } from '@electric-sql/pglite';
import { AppFlowStandIn } from '../../../local/stand-ins/appflow-stand-in';
import { FaultInjector } from '../../../local/stand-ins/fault-injector';
import { SimulatedClock } from '../../../local/stand-ins/simulated-clock';
import { SourceOrg } from '../../../local/stand-ins/source-org';
import { createWarehouse } from '../../support/warehouse';

const SOURCE_PROFILE = 'salesforce-local';
const DESTINATION_PROFILE = 'redshift-local';
const CLIENT_CONFIG = {
  region: 'eu-west-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  maxAttempts: 1, // see every injected error instead of the SDK's retries
};

interface FlowOptions {
  objectName?: string;
  destinationTable?: string;
  fields?: string[];
  window?: { startMs: number; endMs: number };
  includeDeletedRecords?: boolean;
  customConnector?: boolean;
}

/** A flow request shaped like the pipeline's: projection, change window, one Map task per field. */
function flowRequest(flowName: string, options: FlowOptions = {}): CreateFlowCommandInput {
  const objectName = options.objectName ?? 'Account';
  const fields = options.fields ?? ['Id', 'Name', 'SystemModstamp', 'IsDeleted'];
  const operatorKey = options.customConnector ? 'CustomConnector' : 'Salesforce';
  const tasks: Task[] = [
    { taskType: 'Filter', sourceFields: fields, connectorOperator: { [operatorKey]: 'PROJECTION' } },
  ];
  if (options.window) {
    // The change window: > start and <= end, bounds in epoch milliseconds.
    tasks.push(
      {
        taskType: 'Filter',
        sourceFields: ['SystemModstamp'],
        connectorOperator: { [operatorKey]: 'GREATER_THAN' },
        taskProperties: { DATA_TYPE: 'datetime', VALUE: String(options.window.startMs) },
      },
      {
        taskType: 'Filter',
        sourceFields: ['SystemModstamp'],
        connectorOperator: { [operatorKey]: 'LESS_THAN_OR_EQUAL_TO' },
        taskProperties: { DATA_TYPE: 'datetime', VALUE: String(options.window.endMs) },
      },
    );
  }
  for (const field of fields) {
    tasks.push({
      taskType: 'Map',
      sourceFields: [field],
      destinationField: field,
      connectorOperator: { [operatorKey]: 'NO_OP' },
      taskProperties: { SOURCE_DATA_TYPE: 'string', DESTINATION_DATA_TYPE: 'string' },
    });
  }
  return {
    flowName,
    triggerConfig: { triggerType: 'OnDemand' },
    sourceFlowConfig: options.customConnector
      ? {
          connectorType: 'CustomConnector',
          connectorProfileName: SOURCE_PROFILE,
          sourceConnectorProperties: {
            CustomConnector: {
              entityName: objectName,
              customProperties: { includeDeletedRecords: String(options.includeDeletedRecords ?? false) },
            },
          },
        }
      : {
          connectorType: 'Salesforce',
          connectorProfileName: SOURCE_PROFILE,
          sourceConnectorProperties: {
            Salesforce: { object: objectName, includeDeletedRecords: options.includeDeletedRecords ?? false },
          },
        },
    destinationFlowConfigList: [
      {
        connectorType: 'Redshift',
        connectorProfileName: DESTINATION_PROFILE,
        destinationConnectorProperties: {
          Redshift: {
            object: options.destinationTable ?? 'salesforce_incremental.account',
            intermediateBucketName: 'local-bucket',
          },
        },
      },
    ],
    tasks,
  };
}

describe('AppFlowStandIn through the AWS SDK', () => {
  let db: PGlite;
  let clock: SimulatedClock;
  let org: SourceOrg;
  let faults: FaultInjector;
  let standIn: AppFlowStandIn;
  let appflow: AppflowClient;
  let flowCounter = 0;

  beforeAll(async () => {
    db = await createWarehouse();
    await db.exec(`
      CREATE SCHEMA salesforce_incremental;
      CREATE TABLE salesforce_incremental.account (
        id varchar(18), name varchar(255), industry varchar(255), systemmodstamp timestamp, isdeleted boolean,
        annualrevenue numeric(18, 2)
      );
      CREATE TABLE salesforce_incremental.contact (id varchar(18), name varchar(255), systemmodstamp timestamp);
    `);
    clock = new SimulatedClock('2026-01-01T06:00:00.000Z');
    org = new SourceOrg(clock);
    org.defineObject('Account', [
      { name: 'Industry', type: 'picklist' },
      { name: 'AnnualRevenue', type: 'double' },
    ]);
    org.defineObject('Contact', []);
    faults = new FaultInjector();
    standIn = new AppFlowStandIn({
      org,
      db,
      faults,
      clock,
      connectorProfiles: [SOURCE_PROFILE, DESTINATION_PROFILE],
      pollsUntilDone: 2,
    });
    const { url } = await standIn.start();
    appflow = new AppflowClient({ ...CLIENT_CONFIG, endpoint: url });
  });

  afterAll(async () => {
    appflow.destroy();
    await standIn.stop();
    await db.close();
  });

  beforeEach(async () => {
    faults.clear();
    org.setApiQuota({ remaining: 15000, max: 15000 });
    await db.exec('DELETE FROM salesforce_incremental.account; DELETE FROM salesforce_incremental.contact;');
  });

  afterEach(async () => {
    // Tests leave no flows behind, like the pipeline.
    const { flows } = await appflow.send(new ListFlowsCommand({}));
    for (const flow of flows ?? []) {
      await appflow.send(new DeleteFlowCommand({ flowName: flow.flowName, forceDelete: true }));
    }
  });

  function nextFlowName(): string {
    flowCounter += 1;
    return `test-flow-${flowCounter}`;
  }

  async function stagedAccounts(): Promise<Record<string, unknown>[]> {
    const result = await db.query<Record<string, unknown>>(
      'SELECT id, name, industry, to_char(systemmodstamp, \'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"\') AS systemmodstamp, isdeleted FROM salesforce_incremental.account ORDER BY id',
    );
    return result.rows;
  }

  async function latestExecution(flowName: string): Promise<ExecutionRecord> {
    const { flowExecutions } = await appflow.send(new DescribeFlowExecutionRecordsCommand({ flowName }));
    return flowExecutions![0];
  }

  /** Polls until the run has an outcome, as the pipeline's wait loop does. */
  async function runToOutcome(flowName: string, clientToken?: string): Promise<ExecutionRecord> {
    const { executionId } = await appflow.send(new StartFlowCommand({ flowName, clientToken }));
    for (let poll = 0; poll < 10; poll += 1) {
      const execution = await latestExecution(flowName);
      expect(execution.executionId).toBe(executionId);
      if (execution.executionStatus !== 'InProgress') {
        return execution;
      }
    }
    throw new Error('run never finished');
  }

  test('flow lifecycle: create, conflict, run with an exact window, projection and mapping, delete', async () => {
    const flowName = nextFlowName();
    org.upsert('Account', [
      { Id: '001A', Name: 'Before window', Industry: 'Energy', SystemModstamp: '2026-01-01T06:00:00.000Z' },
      { Id: '001B', Name: 'At window start', Industry: 'Energy', SystemModstamp: '2026-01-01T06:00:10.000Z' },
      { Id: '001C', Name: "O'Hara & Sons", Industry: 'Energy', SystemModstamp: '2026-01-01T06:00:10.001Z' },
      { Id: '001D', Name: 'At window end', Industry: 'Energy', SystemModstamp: '2026-01-01T06:00:20.000Z' },
      { Id: '001E', Name: 'After window', Industry: 'Energy', SystemModstamp: '2026-01-01T06:00:20.001Z' },
    ]);
    const window = {
      startMs: Date.parse('2026-01-01T06:00:10.000Z'),
      endMs: Date.parse('2026-01-01T06:00:20.000Z'),
    };

    const created = await appflow.send(new CreateFlowCommand(flowRequest(flowName, { window })));
    expect(created).toEqual(
      expect.objectContaining({
        flowArn: `arn:aws:appflow:eu-west-1:000000000000:flow/${flowName}`,
        flowStatus: 'Active',
      }),
    );
    await expect(
      appflow.send(new CreateFlowCommand(flowRequest(flowName, { window }))),
    ).rejects.toHaveProperty('name', 'ConflictException');
    expect(standIn.flowCount()).toBe(1);

    const { executionId } = await appflow.send(new StartFlowCommand({ flowName }));
    const firstPoll = await latestExecution(flowName);
    expect(firstPoll).toEqual(expect.objectContaining({ executionId, executionStatus: 'InProgress' }));
    const secondPoll = await latestExecution(flowName);
    expect(secondPoll).toEqual(
      expect.objectContaining({
        executionId,
        executionStatus: 'Successful',
        executionResult: expect.objectContaining({ recordsProcessed: 2 }),
      }),
    );
    expect(secondPoll.startedAt).toBeInstanceOf(Date);

    // > start and <= end exactly; Industry is not mapped, so it stays NULL.
    expect(await stagedAccounts()).toEqual([
      {
        id: '001C',
        name: "O'Hara & Sons",
        industry: null,
        systemmodstamp: '2026-01-01T06:00:10.001Z',
        isdeleted: false,
      },
      {
        id: '001D',
        name: 'At window end',
        industry: null,
        systemmodstamp: '2026-01-01T06:00:20.000Z',
        isdeleted: false,
      },
    ]);

    const described = await appflow.send(new DescribeFlowCommand({ flowName }));
    expect(described.lastRunExecutionDetails?.mostRecentExecutionStatus).toBe('Successful');
    expect(described.tasks).toHaveLength(3 + 4);

    await appflow.send(new DeleteFlowCommand({ flowName }));
    expect(standIn.flowCount()).toBe(0);
    await expect(appflow.send(new DeleteFlowCommand({ flowName }))).rejects.toHaveProperty(
      'name',
      'ResourceNotFoundException',
    );
    expect(standIn.calls.filter((call) => call.flowName === flowName).map((call) => call.operation)).toEqual([
      'CreateFlow',
      'CreateFlow',
      'StartFlow',
      'DescribeFlowExecutionRecords',
      'DescribeFlowExecutionRecords',
      'DescribeFlow',
      'DeleteFlow',
      'DeleteFlow',
    ]);
  });

  test('a BETWEEN filter includes both bounds', async () => {
    const flowName = nextFlowName();
    org.upsert('Account', [
      { Id: '009A', SystemModstamp: '2026-03-01T00:00:00.000Z' },
      { Id: '009B', SystemModstamp: '2026-03-01T00:00:01.000Z' },
      { Id: '009C', SystemModstamp: '2026-03-01T00:00:01.001Z' },
    ]);
    const request = flowRequest(flowName);
    request.tasks!.push({
      taskType: 'Filter',
      sourceFields: ['SystemModstamp'],
      connectorOperator: { Salesforce: 'BETWEEN' },
      taskProperties: {
        DATA_TYPE: 'datetime',
        LOWER_BOUND: String(Date.parse('2026-03-01T00:00:00.000Z')),
        UPPER_BOUND: String(Date.parse('2026-03-01T00:00:01.000Z')),
      },
    });
    await appflow.send(new CreateFlowCommand(request));

    await runToOutcome(flowName);

    expect((await stagedAccounts()).map((row) => row.id)).toEqual(['009A', '009B']);
  });

  test('with the default pollsUntilDone the first poll already shows the outcome', async () => {
    const eager = new AppFlowStandIn({
      org,
      db,
      faults,
      clock,
      connectorProfiles: [SOURCE_PROFILE, DESTINATION_PROFILE],
    });
    const eagerClient = new AppflowClient({ ...CLIENT_CONFIG, endpoint: (await eager.start()).url });
    try {
      const flowName = nextFlowName();
      await eagerClient.send(new CreateFlowCommand(flowRequest(flowName)));
      await eagerClient.send(new StartFlowCommand({ flowName }));

      const { flowExecutions } = await eagerClient.send(
        new DescribeFlowExecutionRecordsCommand({ flowName }),
      );

      expect(flowExecutions?.[0].executionStatus).toBe('Successful');
    } finally {
      eagerClient.destroy();
      await eager.stop();
    }
  });

  test('StartFlow with the same clientToken returns the same execution and runs once', async () => {
    const flowName = nextFlowName();
    org.upsert('Account', [{ Id: '002A', Name: 'Once' }]);
    await appflow.send(new CreateFlowCommand(flowRequest(flowName)));

    const first = await appflow.send(new StartFlowCommand({ flowName, clientToken: 'token-1' }));
    const second = await appflow.send(new StartFlowCommand({ flowName, clientToken: 'token-1' }));

    expect(second.executionId).toBe(first.executionId);
    const { flowExecutions } = await appflow.send(new DescribeFlowExecutionRecordsCommand({ flowName }));
    expect(flowExecutions).toHaveLength(1);
    expect((await stagedAccounts()).filter((row) => row.id === '002A')).toHaveLength(1);
  });

  test('includeDeletedRecords decides whether soft-deleted records arrive; purged records never do', async () => {
    org.upsert('Account', [
      { Id: '003A', Name: 'Kept' },
      { Id: '003B', Name: 'Deleted' },
      { Id: '003C', Name: 'Purged' },
    ]);
    org.delete('Account', ['003B', '003C']);
    org.purge('Account', ['003C']);
    const withoutDeleted = nextFlowName();
    const withDeleted = nextFlowName();
    await appflow.send(new CreateFlowCommand(flowRequest(withoutDeleted)));
    await appflow.send(new CreateFlowCommand(flowRequest(withDeleted, { includeDeletedRecords: true })));

    await runToOutcome(withoutDeleted);
    const afterFirst = (await stagedAccounts()).filter((row) => String(row.id).startsWith('003'));
    expect(afterFirst.map((row) => row.id)).toEqual(['003A']);

    await runToOutcome(withDeleted);
    const afterSecond = (await stagedAccounts()).filter((row) => String(row.id).startsWith('003'));
    expect(afterSecond.map((row) => [row.id, row.isdeleted])).toEqual([
      ['003A', false],
      ['003A', false],
      ['003B', true],
    ]);
  });

  test('a CustomConnector source reads the same org', async () => {
    const flowName = nextFlowName();
    org.upsert('Contact', [{ Id: '004A', Name: 'Ada' }]);
    await appflow.send(
      new CreateFlowCommand(
        flowRequest(flowName, {
          objectName: 'Contact',
          destinationTable: 'salesforce_incremental.contact',
          fields: ['Id', 'Name', 'SystemModstamp'],
          customConnector: true,
        }),
      ),
    );

    expect((await runToOutcome(flowName)).executionStatus).toBe('Successful');
    const rows = await db.query<{ id: string }>('SELECT id FROM salesforce_incremental.contact');
    expect(rows.rows).toEqual([{ id: '004A' }]);
  });

  test('an exhausted API quota ends the run in Error and writes nothing', async () => {
    const flowName = nextFlowName();
    org.upsert('Account', [{ Id: '005A', Name: 'Quota' }]);
    await appflow.send(new CreateFlowCommand(flowRequest(flowName)));
    org.setApiQuota({ remaining: 1, max: 15000 }); // a run needs 1 + ceil(records / 2000) = 2

    const execution = await runToOutcome(flowName);

    expect(execution.executionStatus).toBe('Error');
    expect(execution.executionResult?.errorInfo?.executionMessage).toBe(
      'REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.',
    );
    expect(await stagedAccounts()).toEqual([]);
    expect(org.apiQuota.remaining).toBe(1);
  });

  test('a run consumes 1 + ceil(records / 2000) API requests', async () => {
    const flowName = nextFlowName();
    org.upsert(
      'Account',
      Array.from({ length: 4001 }, (_, index) => ({
        Id: `006${String(index).padStart(5, '0')}`,
        Name: `N${index}`,
      })),
    );
    await appflow.send(new CreateFlowCommand(flowRequest(flowName)));
    const recordCount = org.truth('Account').length;

    const started = Date.now();
    const execution = await runToOutcome(flowName);

    expect(execution.executionResult?.recordsProcessed).toBe(recordCount);
    expect(org.apiQuota.remaining).toBe(15000 - (1 + Math.ceil(recordCount / 2000)));
    expect(Date.now() - started).toBeLessThan(5000);
    const count = await db.query<{ count: number }>(
      'SELECT count(*)::int AS count FROM salesforce_incremental.account',
    );
    expect(count.rows[0].count).toBe(recordCount);
  });

  test.each([
    ['ThrottlingException', 429],
    ['ConflictException', 409],
    ['ResourceNotFoundException', 404],
    ['ValidationException', 400],
    ['ServiceQuotaExceededException', 402],
    ['InternalServerException', 500],
    ['AccessDeniedException', 403],
    ['ConnectorAuthenticationException', 401],
    ['ConnectorServerException', 400],
  ])('an injected %s reaches the SDK as that exception with status %i', async (code, status) => {
    faults.add([{ service: 'appflow', operation: 'CreateFlow', object: 'Account', times: 1, error: code }]);

    const error = await appflow
      .send(new CreateFlowCommand(flowRequest(nextFlowName())))
      .catch((caught: unknown) => caught);

    expect(error).toHaveProperty('name', code);
    expect(error).toHaveProperty('$metadata.httpStatusCode', status);
    expect(standIn.flowCount()).toBe(0);
  });

  test('an injected unknown error is a ConnectorServerException carrying the text; faults narrow by object', async () => {
    faults.add([
      {
        service: 'appflow',
        operation: 'StartFlow',
        object: 'Contact',
        times: 1,
        error: 'INVALID_SESSION_ID',
      },
    ]);
    const accountFlow = nextFlowName();
    const contactFlow = nextFlowName();
    await appflow.send(new CreateFlowCommand(flowRequest(accountFlow)));
    await appflow.send(
      new CreateFlowCommand(
        flowRequest(contactFlow, {
          objectName: 'Contact',
          destinationTable: 'salesforce_incremental.contact',
          fields: ['Id'],
        }),
      ),
    );

    await expect(appflow.send(new StartFlowCommand({ flowName: accountFlow }))).resolves.toBeDefined();
    const error = await appflow
      .send(new StartFlowCommand({ flowName: contactFlow }))
      .catch((caught: unknown) => caught);

    expect(error).toHaveProperty('name', 'ConnectorServerException');
    expect(error).toHaveProperty('message', 'INVALID_SESSION_ID');
    await expect(appflow.send(new StartFlowCommand({ flowName: contactFlow }))).resolves.toBeDefined();
  });

  test('a FlowRun fault ends the execution in Error with its message and writes nothing', async () => {
    const flowName = nextFlowName();
    org.upsert('Account', [{ Id: '007A', Name: 'Never lands' }]);
    await appflow.send(new CreateFlowCommand(flowRequest(flowName)));
    faults.add([
      {
        service: 'appflow',
        operation: 'FlowRun',
        object: 'Account',
        times: 1,
        error: 'Salesforce query timed out',
      },
    ]);

    const execution = await runToOutcome(flowName);

    expect(execution.executionStatus).toBe('Error');
    expect(execution.executionResult?.errorInfo?.executionMessage).toBe('Salesforce query timed out');
    expect(await stagedAccounts()).toEqual([]);
    expect((await runToOutcome(flowName)).executionStatus).toBe('Successful');
  });

  test('a missing destination column ends the run in Error with the database message', async () => {
    const flowName = nextFlowName();
    org.upsert('Account', [{ Id: '008A', Name: 'Wide', Rating: 'Hot' }]);
    await appflow.send(new CreateFlowCommand(flowRequest(flowName, { fields: ['Id', 'Rating'] })));

    const execution = await runToOutcome(flowName);

    expect(execution.executionStatus).toBe('Error');
    expect(execution.executionResult?.errorInfo?.executionMessage).toMatch(
      /column "rating" .*does not exist/,
    );
    expect(await stagedAccounts()).toEqual([]);
  });

  test('CreateFlow rejects an unknown source object, unknown profiles, fields and bad names', async () => {
    const unknownObject = appflow.send(
      new CreateFlowCommand(flowRequest(nextFlowName(), { objectName: 'Nope__c' })),
    );
    await expect(unknownObject).rejects.toMatchObject({
      name: 'ConnectorServerException',
      message: /Nope__c/,
    });

    const badProfile = flowRequest(nextFlowName());
    badProfile.sourceFlowConfig!.connectorProfileName = 'missing-profile';
    await expect(appflow.send(new CreateFlowCommand(badProfile))).rejects.toHaveProperty(
      'name',
      'ResourceNotFoundException',
    );

    const unknownField = appflow.send(
      new CreateFlowCommand(flowRequest(nextFlowName(), { fields: ['Id', 'Ghost'] })),
    );
    await expect(unknownField).rejects.toMatchObject({ name: 'ValidationException', message: /Ghost/ });

    await expect(appflow.send(new CreateFlowCommand(flowRequest('bad name!')))).rejects.toHaveProperty(
      'name',
      'ValidationException',
    );
    expect(standIn.flowCount()).toBe(0);
  });

  test('DeleteFlow of a run still in progress needs forceDelete', async () => {
    const flowName = nextFlowName();
    await appflow.send(new CreateFlowCommand(flowRequest(flowName)));
    await appflow.send(new StartFlowCommand({ flowName }));

    await expect(appflow.send(new DeleteFlowCommand({ flowName }))).rejects.toHaveProperty(
      'name',
      'ConflictException',
    );
    await appflow.send(new DeleteFlowCommand({ flowName, forceDelete: true }));

    expect(standIn.flowCount()).toBe(0);
  });

  test('DescribeConnectorEntity lists the object fields; unknown objects and profiles fail', async () => {
    const { connectorEntityFields } = await appflow.send(
      new DescribeConnectorEntityCommand({
        connectorEntityName: 'Account',
        connectorType: 'Salesforce',
        connectorProfileName: SOURCE_PROFILE,
      }),
    );

    const byName = new Map(connectorEntityFields!.map((field) => [field.identifier, field]));
    expect(byName.get('Id')).toEqual(
      expect.objectContaining({
        isPrimaryKey: true,
        supportedFieldTypeDetails: { v1: expect.objectContaining({ fieldType: 'id' }) },
        sourceProperties: expect.objectContaining({ isQueryable: true, isRetrievable: true }),
      }),
    );
    expect(byName.get('SystemModstamp')?.supportedFieldTypeDetails?.v1?.filterOperators).toEqual(
      expect.arrayContaining(['PROJECTION', 'BETWEEN', 'GREATER_THAN']),
    );
    expect(byName.get('AnnualRevenue')?.supportedFieldTypeDetails?.v1?.fieldType).toBe('double');

    await expect(
      appflow.send(
        new DescribeConnectorEntityCommand({ connectorEntityName: 'Nope__c', connectorType: 'Salesforce' }),
      ),
    ).rejects.toMatchObject({ name: 'ConnectorServerException', message: /Nope__c/ });
    await expect(
      appflow.send(
        new DescribeConnectorEntityCommand({
          connectorEntityName: 'Account',
          connectorType: 'Salesforce',
          connectorProfileName: 'missing-profile',
        }),
      ),
    ).rejects.toHaveProperty('name', 'ResourceNotFoundException');
  });

  test('DescribeConnectorProfiles and ListFlows', async () => {
    const flowName = nextFlowName();
    await appflow.send(new CreateFlowCommand(flowRequest(flowName)));

    const { connectorProfileDetails } = await appflow.send(new DescribeConnectorProfilesCommand({}));
    const { flows } = await appflow.send(new ListFlowsCommand({}));

    expect(
      connectorProfileDetails?.map((profile) => [profile.connectorProfileName, profile.connectorType]),
    ).toEqual([
      [SOURCE_PROFILE, 'Salesforce'],
      [DESTINATION_PROFILE, 'Redshift'],
    ]);
    expect(flows?.map((flow) => flow.flowName)).toEqual([flowName]);
  });
});
