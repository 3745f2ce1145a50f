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
import {
  AppFlowStandIn,
  STAGING_BUCKET_ACTIONS,
  type StagingBucketRequest,
} from '../../../local/stand-ins/appflow-stand-in';
import { FaultInjector } from '../../../local/stand-ins/fault-injector';
import { SimulatedClock } from '../../../local/stand-ins/simulated-clock';
import { SALESFORCE_FIELD_TYPES, SourceOrg } from '../../../local/stand-ins/source-org';
import { APPFLOW_DATABASE_USER } from '../../../local/warehouse/appflow-user';
import { createLocalWarehouse } from '../../../local/warehouse/local-warehouse';

const SOURCE_PROFILE = 'salesforce-local';
const DESTINATION_PROFILE = 'redshift-local';
const TIDB_PROFILE = { name: 'tidb-cloud', connectorType: 'CustomConnector', connectorLabel: 'TiDBCloud' };
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
    // The local Redshift: byte-counted VARCHARs and AppFlow's database user without privileges.
    db = await createLocalWarehouse({ applySql: false });
    await db.exec(`
      CREATE SCHEMA salesforce_incremental;
      CREATE TABLE salesforce_incremental.account (
        id varchar(18), name varchar(1020), industry varchar(1020), systemmodstamp timestamp, isdeleted boolean,
        annualrevenue decimal(18, 2), description varchar(65535), numberofemployees integer, lastvisit date
      );
      CREATE TABLE salesforce_incremental.contact (id varchar(18), name varchar(1020), systemmodstamp timestamp);
      CREATE TABLE salesforce_incremental.lead (id varchar(18), name varchar(1020), systemmodstamp timestamp);
      GRANT USAGE ON SCHEMA salesforce_incremental TO ${APPFLOW_DATABASE_USER};
      GRANT INSERT ON salesforce_incremental.account, salesforce_incremental.contact TO ${APPFLOW_DATABASE_USER};
      CREATE SCHEMA tidb_incremental;
      CREATE TABLE tidb_incremental.orders (id bigint, amount decimal(12, 2), updated_at timestamp);
      GRANT USAGE ON SCHEMA tidb_incremental TO ${APPFLOW_DATABASE_USER};
      GRANT INSERT ON tidb_incremental.orders TO ${APPFLOW_DATABASE_USER};
    `);
    clock = new SimulatedClock('2026-01-01T06:00:00.000Z');
    org = new SourceOrg(clock);
    org.defineObject('Account', [
      { name: 'Industry', type: 'picklist' },
      { name: 'AnnualRevenue', type: 'currency', precision: 18, scale: 2 },
      { name: 'Description', type: 'textarea', length: 131_072 },
      { name: 'NumberOfEmployees', type: 'int', precision: 8, scale: 0 },
      { name: 'LastVisit', type: 'date' },
    ]);
    org.defineObject('Contact', []);
    // No grant on its staging table: AppFlow's database user may not insert there.
    org.defineObject('Lead', []);
    // Issue 14: an entity of a custom connector's source (TiDB Cloud), key `id`, cursor `updated_at`.
    org.defineObject(
      'orders',
      [
        { name: 'id', type: 'bigint' },
        { name: 'amount', type: 'decimal', precision: 12, scale: 2 },
      ],
      { profile: TIDB_PROFILE.name, connectorType: 'CustomConnector' },
    );
    faults = new FaultInjector();
    standIn = new AppFlowStandIn({
      org,
      db,
      faults,
      clock,
      connectorProfiles: [SOURCE_PROFILE, DESTINATION_PROFILE, TIDB_PROFILE],
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

  describe('endRun: the end of a run whose length the local run decides (pollsUntilDone Infinity)', () => {
    let endless: AppFlowStandIn;
    let endlessClient: AppflowClient;

    beforeAll(async () => {
      endless = new AppFlowStandIn({
        org,
        db,
        faults,
        clock,
        connectorProfiles: [SOURCE_PROFILE, DESTINATION_PROFILE],
        pollsUntilDone: Number.POSITIVE_INFINITY,
      });
      endlessClient = new AppflowClient({ ...CLIENT_CONFIG, endpoint: (await endless.start()).url });
    });

    afterAll(async () => {
      endlessClient.destroy();
      await endless.stop();
    });

    async function newestRun(flowName: string): Promise<ExecutionRecord> {
      const { flowExecutions } = await endlessClient.send(
        new DescribeFlowExecutionRecordsCommand({ flowName }),
      );
      return flowExecutions![0];
    }

    test("a run stays InProgress until endRun, which returns AppFlow's end-of-run report and shows the outcome", async () => {
      // Prepare: three records in a window of their own
      const flowName = nextFlowName();
      org.upsert('Account', [
        { Id: '00EA', Name: 'Endless A', SystemModstamp: '2027-05-05T00:00:01.000Z' },
        { Id: '00EB', Name: 'Endless B', SystemModstamp: '2027-05-05T00:00:02.000Z' },
        { Id: '00EC', Name: 'Endless C', SystemModstamp: '2027-05-05T00:00:03.000Z' },
      ]);
      const window = {
        startMs: Date.parse('2027-05-05T00:00:00.000Z'),
        endMs: Date.parse('2027-05-05T00:00:03.000Z'),
      };
      const { flowArn } = await endlessClient.send(new CreateFlowCommand(flowRequest(flowName, { window })));
      const { executionId } = await endlessClient.send(new StartFlowCommand({ flowName }));
      for (let poll = 0; poll < 5; poll += 1) {
        expect(await newestRun(flowName)).toMatchObject({
          executionId,
          executionStatus: 'InProgress',
          executionResult: expect.objectContaining({ recordsProcessed: 0 }),
        });
      }

      // Act
      const report = endless.endRun(flowName);

      // Assess
      expect(report).toEqual({
        resources: [flowArn],
        detail: expect.objectContaining({
          'flow-name': flowName,
          'flow-arn': flowArn,
          'execution-id': executionId,
          status: 'Execution Successful',
          'num-of-records-processed': '3',
        }),
      });
      expect(report?.detail).not.toHaveProperty('error-message');
      expect(await newestRun(flowName)).toMatchObject({
        executionId,
        executionStatus: 'Successful',
        executionResult: expect.objectContaining({ recordsProcessed: 3 }),
      });
      const described = await endlessClient.send(new DescribeFlowCommand({ flowName }));
      expect(described.lastRunExecutionDetails?.mostRecentExecutionStatus).toBe('Successful');
      await endlessClient.send(new DeleteFlowCommand({ flowName }));
    });

    test("a failed run's report says Execution Failed with the run's message", async () => {
      // Prepare
      const flowName = nextFlowName();
      await endlessClient.send(new CreateFlowCommand(flowRequest(flowName)));
      faults.add([
        {
          service: 'appflow',
          operation: 'FlowRun',
          object: 'Account',
          times: 1,
          error: 'Salesforce query timed out',
        },
      ]);
      await endlessClient.send(new StartFlowCommand({ flowName }));
      expect((await newestRun(flowName)).executionStatus).toBe('InProgress');

      // Act
      const report = endless.endRun(flowName);

      // Assess
      expect(report?.detail).toMatchObject({
        status: 'Execution Failed',
        'error-message': 'Salesforce query timed out',
        'num-of-records-processed': '0',
      });
      expect((await newestRun(flowName)).executionStatus).toBe('Error');
      await endlessClient.send(new DeleteFlowCommand({ flowName, forceDelete: true }));
    });

    test('endRun of an unknown flow, or of a flow that never ran, is undefined', async () => {
      // Prepare
      const flowName = nextFlowName();
      await endlessClient.send(new CreateFlowCommand(flowRequest(flowName)));

      // Act / Assess
      expect(endless.endRun('no-such-flow')).toBeUndefined();
      expect(endless.endRun(flowName)).toBeUndefined();
      await endlessClient.send(new DeleteFlowCommand({ flowName }));
    });
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

  describe('a column refresh flow (issue 21)', () => {
    beforeAll(async () => {
      await db.exec(`
        CREATE TABLE salesforce_incremental._refresh_opportunity (id varchar(18), score__c decimal(18, 2));
        GRANT INSERT ON salesforce_incremental._refresh_opportunity TO ${APPFLOW_DATABASE_USER};
      `);
      org.defineObject('Opportunity', [
        { name: 'StageName', type: 'picklist' },
        { name: 'Description', type: 'textarea', length: 32_000 },
        { name: 'Score__c', type: 'double', precision: 18, scale: 2, formula: true },
      ]);
      org.upsert('Opportunity', [
        { Id: '006A', Name: 'Big deal', StageName: 'Won', Description: 'd'.repeat(2000) },
        { Id: '006B', Name: 'Lost deal', StageName: 'Lost', Description: 'd'.repeat(2000) },
        { Id: '006C', Name: 'Deleted deal', StageName: 'Lost', Description: 'd'.repeat(2000) },
      ]);
      org.recompute('Opportunity', [
        { Id: '006A', Score__c: 91.5 },
        { Id: '006B', Score__c: 12 },
        { Id: '006C', Score__c: 50 },
      ]);
      org.delete('Opportunity', ['006C']);
    });

    /** A refresh flow as the pipeline builds it: key and formula fields, no filter, deleted records excluded. */
    const refreshRequest = (flowName: string, fields: string[]) =>
      flowRequest(flowName, {
        objectName: 'Opportunity',
        fields,
        destinationTable: 'salesforce_incremental._refresh_opportunity',
      });

    test('DescribeConnectorEntity shows a formula field like any field of its type, not writable', async () => {
      const { connectorEntityFields } = await appflow.send(
        new DescribeConnectorEntityCommand({
          connectorEntityName: 'Opportunity',
          connectorType: 'Salesforce',
          connectorProfileName: SOURCE_PROFILE,
        }),
      );

      const score = connectorEntityFields?.find((field) => field.identifier === 'Score__c');
      expect(score?.supportedFieldTypeDetails?.v1?.fieldType).toBe('double');
      expect(score?.customProperties).toEqual({ precision: '18', scale: '2' });
      expect(score?.destinationProperties).toMatchObject({ isCreatable: false, isUpdatable: false });
    });

    test('extracts the key and the chosen fields of live records only, and counts only their bytes', async () => {
      const refresh = nextFlowName();
      const full = nextFlowName();
      await appflow.send(new CreateFlowCommand(refreshRequest(refresh, ['Id', 'Score__c'])));
      await appflow.send(
        new CreateFlowCommand({
          ...refreshRequest(full, ['Id', 'Score__c']),
          tasks: [
            ...(refreshRequest(full, ['Id', 'Score__c']).tasks ?? []).filter(
              (task) => task.taskType !== 'Filter',
            ),
          ],
        }),
      );

      const refreshed = await runToOutcome(refresh);
      const staged = await db.query<{ id: string; score__c: string }>(
        'SELECT id, CAST(score__c AS text) AS score__c FROM salesforce_incremental._refresh_opportunity ORDER BY id',
      );
      expect(staged.rows).toEqual([
        { id: '006A', score__c: '91.50' },
        { id: '006B', score__c: '12.00' },
      ]);
      await db.exec('DELETE FROM salesforce_incremental._refresh_opportunity');
      // Without a projection the connector reads every field (long descriptions included).
      const unprojected = await runToOutcome(full);
      await db.exec('DELETE FROM salesforce_incremental._refresh_opportunity');

      const refreshBytes = refreshed.executionResult?.bytesProcessed ?? 0;
      const allBytes = unprojected.executionResult?.bytesProcessed ?? 0;
      expect(refreshBytes).toBe(
        Buffer.byteLength(
          JSON.stringify([
            { Id: '006A', Score__c: '91.50' },
            { Id: '006B', Score__c: '12.00' },
          ]),
        ),
      );
      expect(allBytes).toBeGreaterThan(20 * refreshBytes);
    });
  });

  test("a CustomConnector profile reads its own source's entity, filtered on its cursor, without spending the org's quota", async () => {
    const flowName = nextFlowName();
    org.upsert('orders', [
      { id: '1', amount: '10.00', updated_at: '2026-01-01T05:00:00.000Z' },
      { id: '2', amount: '20.00', updated_at: '2026-01-01T07:00:00.000Z' },
    ]);
    org.setApiQuota({ remaining: 0, max: 15000 });
    const fields = ['id', 'amount', 'updated_at'];
    const operator = (value: string) => ({ CustomConnector: value }) as Task['connectorOperator'];
    const request: CreateFlowCommandInput = {
      ...flowRequest(flowName, {
        objectName: 'orders',
        destinationTable: 'tidb_incremental.orders',
        fields,
        customConnector: true,
      }),
      sourceFlowConfig: {
        connectorType: 'CustomConnector',
        connectorProfileName: TIDB_PROFILE.name,
        apiVersion: 'v1',
        sourceConnectorProperties: { CustomConnector: { entityName: 'orders' } },
      },
    };
    request.tasks = [
      { taskType: 'Filter', sourceFields: fields, connectorOperator: operator('PROJECTION') },
      {
        taskType: 'Filter',
        sourceFields: ['updated_at'],
        connectorOperator: operator('GREATER_THAN'),
        taskProperties: { DATA_TYPE: 'timestamp', VALUE: String(Date.parse('2026-01-01T06:00:00.000Z')) },
      },
      ...fields.map((field) => ({
        taskType: 'Map' as const,
        sourceFields: [field],
        destinationField: field,
        connectorOperator: operator('NO_OP'),
      })),
    ];
    await appflow.send(new CreateFlowCommand(request));

    expect((await runToOutcome(flowName)).executionStatus).toBe('Successful');
    const rows = await db.query<{ id: number }>('SELECT id FROM tidb_incremental.orders');
    expect(rows.rows.map((row) => Number(row.id))).toEqual([2]);
  });

  test("a Salesforce profile cannot read a custom source's entity, nor a custom profile the org's objects", async () => {
    await expect(
      appflow.send(
        new CreateFlowCommand(flowRequest(nextFlowName(), { objectName: 'orders', fields: ['id'] })),
      ),
    ).rejects.toThrow("Salesforce: sObject type 'orders' is not supported or does not exist in the org");
    await expect(
      appflow.send(
        new DescribeConnectorEntityCommand({
          connectorEntityName: 'Contact',
          connectorType: 'CustomConnector',
          connectorProfileName: TIDB_PROFILE.name,
        }),
      ),
    ).rejects.toThrow("TiDBCloud: entity 'Contact' does not exist for connector profile 'tidb-cloud'");
    await expect(
      appflow.send(
        new DescribeConnectorEntityCommand({
          connectorEntityName: 'orders',
          connectorType: 'Salesforce',
          connectorProfileName: TIDB_PROFILE.name,
        }),
      ),
    ).rejects.toThrow("Connector profile 'tidb-cloud' is a CustomConnector profile, not Salesforce");
  });

  test('DescribeConnectorEntity reports a custom entity with its key, its types and no Salesforce system fields', async () => {
    const { connectorEntityFields } = await appflow.send(
      new DescribeConnectorEntityCommand({
        connectorEntityName: 'orders',
        connectorType: 'CustomConnector',
        connectorProfileName: TIDB_PROFILE.name,
        apiVersion: 'v1',
      }),
    );
    expect(
      connectorEntityFields?.map((field) => [
        field.identifier,
        field.supportedFieldTypeDetails?.v1?.fieldType,
        field.isPrimaryKey,
      ]),
    ).toEqual([
      ['id', 'bigint', true],
      ['amount', 'decimal', false],
      ['updated_at', 'timestamp', false],
    ]);
    const cursor = connectorEntityFields?.find((field) => field.identifier === 'updated_at');
    expect(cursor?.supportedFieldTypeDetails?.v1?.filterOperators).toEqual(
      expect.arrayContaining(['GREATER_THAN', 'LESS_THAN_OR_EQUAL_TO']),
    );
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
    expect(byName.get('AnnualRevenue')).toEqual(
      expect.objectContaining({
        supportedFieldTypeDetails: { v1: expect.objectContaining({ fieldType: 'currency' }) },
        customProperties: { precision: '18', scale: '2' },
      }),
    );
    expect(byName.get('Description')).toEqual(
      expect.objectContaining({
        supportedFieldTypeDetails: {
          v1: expect.objectContaining({
            fieldType: 'textarea',
            fieldLengthRange: { minimum: 0, maximum: 131_072 },
            // SOQL cannot filter a Long Text Area.
            filterOperators: ['PROJECTION', 'VALIDATE_NON_NULL', 'NO_OP'],
          }),
        },
        customProperties: { length: '131072' },
      }),
    );
    expect(byName.get('SystemModstamp')?.sourceProperties?.isTimestampFieldForIncrementalQueries).toBe(true);

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
      [TIDB_PROFILE.name, 'CustomConnector'],
    ]);
    expect(connectorProfileDetails?.[2].connectorLabel).toBe('TiDBCloud');
    expect(flows?.map((flow) => flow.flowName)).toEqual([flowName]);
  });
  describe('types, long text and loads', () => {
    beforeEach(() => {
      // Each test reads the whole object: start from an empty one.
      const ids = org.query('Account', { includeDeleted: true }).map((record) => String(record.Id));
      org.purge('Account', ids);
    });

    /** The pipeline's flow plus a Truncate task per field (contract 7). */
    function truncatingRequest(flowName: string, fields: string[], truncated: string[], length = 16_383) {
      const request = flowRequest(flowName, { fields });
      for (const field of truncated) {
        request.tasks!.push({
          taskType: 'Truncate',
          sourceFields: [field],
          connectorOperator: { Salesforce: 'NO_OP' },
          taskProperties: { TRUNCATE_LENGTH: String(length) },
        });
      }
      return request;
    }

    async function stagedDescription(id: string) {
      const result = await db.query<{ description: string; characters: number; bytes: number }>(
        `SELECT description, length(description) AS characters, octet_length(description) AS bytes
         FROM salesforce_incremental.account WHERE id = $1`,
        [id],
      );
      return result.rows;
    }

    test('a Truncate task keeps TRUNCATE_LENGTH characters of a Long Text Area value, never splitting a 4-byte character', async () => {
      // 131,072 characters, 131,071 of them 4 bytes in UTF-8: 524,285 bytes at the source.
      const longText = `a${'𝄞'.repeat(131_071)}`;
      org.upsert('Account', [{ Id: '010A', Name: 'Long', Description: longText }]);
      const flowName = nextFlowName();
      await appflow.send(
        new CreateFlowCommand(truncatingRequest(flowName, ['Id', 'Name', 'Description'], ['Description'])),
      );

      expect((await runToOutcome(flowName)).executionStatus).toBe('Successful');

      const [row] = await stagedDescription('010A');
      expect(row.characters).toBe(16_383);
      expect(row.bytes).toBe(1 + 16_382 * 4); // inside VARCHAR(65535) however many bytes a character takes
      expect(row.description).toBe(`a${'𝄞'.repeat(16_382)}`);
    });

    test('a value the Truncate task leaves alone loads unchanged', async () => {
      org.upsert('Account', [{ Id: '010B', Name: 'Short', Description: 'fits 𝄞' }]);
      const flowName = nextFlowName();
      await appflow.send(
        new CreateFlowCommand(truncatingRequest(flowName, ['Id', 'Name', 'Description'], ['Description'])),
      );

      await runToOutcome(flowName);

      expect((await stagedDescription('010B'))[0].description).toBe('fits 𝄞');
    });

    test('without a Truncate task a 131,072-character value fails the run, naming the object, table and column', async () => {
      org.upsert('Account', [
        { Id: '011A', Name: 'Fine' },
        { Id: '011B', Name: 'Too long', Description: 'x'.repeat(131_072) },
      ]);
      const flowName = nextFlowName();
      await appflow.send(
        new CreateFlowCommand(flowRequest(flowName, { fields: ['Id', 'Name', 'Description'] })),
      );

      const execution = await runToOutcome(flowName);

      expect(execution.executionStatus).toBe('Error');
      const message = execution.executionResult?.errorInfo?.executionMessage ?? '';
      expect(message).toMatch(/^Load of Account into Redshift table salesforce_incremental\.account failed/);
      expect(message).toMatch(/record 011B/);
      expect(message).toMatch(
        /column description: String length exceeds DDL length \(131072 bytes > VARCHAR\(65535\)\)/,
      );
      // Fail-on-first-error: nothing of the run stays in staging.
      expect(await stagedAccounts()).toEqual([]);
    });

    test('VARCHAR lengths count bytes: 20,000 four-byte characters fail VARCHAR(65535)', async () => {
      org.upsert('Account', [{ Id: '012A', Name: 'Bytes', Description: '𝄞'.repeat(20_000) }]);
      const flowName = nextFlowName();
      await appflow.send(new CreateFlowCommand(flowRequest(flowName, { fields: ['Id', 'Description'] })));

      const execution = await runToOutcome(flowName);

      expect(execution.executionStatus).toBe('Error');
      expect(execution.executionResult?.errorInfo?.executionMessage).toMatch(
        /column description: String length exceeds DDL length \(80000 bytes > VARCHAR\(65535\)\)/,
      );
    });

    test('values load per type: currency as exact decimals, integers, dates', async () => {
      org.upsert('Account', [
        { Id: '013A', AnnualRevenue: 1234567.89, NumberOfEmployees: 250, LastVisit: '2026-02-28' },
        { Id: '013B', AnnualRevenue: 0.1 + 0.2 },
        { Id: '013C', AnnualRevenue: '9999999999999999.99' },
      ]);
      const flowName = nextFlowName();
      await appflow.send(
        new CreateFlowCommand(
          flowRequest(flowName, { fields: ['Id', 'AnnualRevenue', 'NumberOfEmployees', 'LastVisit'] }),
        ),
      );

      await runToOutcome(flowName);

      const rows = await db.query<Record<string, unknown>>(
        `SELECT id, annualrevenue::text AS annualrevenue, numberofemployees, lastvisit::text AS lastvisit
         FROM salesforce_incremental.account WHERE id LIKE '013%' ORDER BY id`,
      );
      expect(rows.rows).toEqual([
        { id: '013A', annualrevenue: '1234567.89', numberofemployees: 250, lastvisit: '2026-02-28' },
        { id: '013B', annualrevenue: '0.30', numberofemployees: null, lastvisit: null },
        // 18 significant digits: more than a double holds, exact all the way.
        { id: '013C', annualrevenue: '9999999999999999.99', numberofemployees: null, lastvisit: null },
      ]);
    });

    test('a DuplicateWrite fault writes the first half of the run records to staging twice, once', async () => {
      org.upsert(
        'Account',
        ['014A', '014B', '014C', '014D'].map((Id) => ({ Id, Name: `Page ${Id}` })),
      );
      const flowName = nextFlowName();
      await appflow.send(new CreateFlowCommand(flowRequest(flowName)));
      faults.add([{ service: 'appflow', operation: 'DuplicateWrite', object: 'Account', times: 1 }]);
      const accountIds = async () =>
        (await stagedAccounts()).map((row) => row.id).filter((id) => String(id).startsWith('014'));

      const execution = await runToOutcome(flowName);

      expect(execution.executionStatus).toBe('Successful');
      // AppFlow does not know the retried page landed twice: it counts the records it read.
      expect(execution.executionResult?.recordsProcessed).toBe(4);
      expect((await accountIds()).sort()).toEqual(['014A', '014A', '014B', '014B', '014C', '014D']);
      expect(faults.pending()).toEqual([]);

      await db.exec('DELETE FROM salesforce_incremental.account');
      await runToOutcome(flowName);
      expect((await accountIds()).sort()).toEqual(['014A', '014B', '014C', '014D']);
    });

    test('staging rows are inserted as AppFlow database user: without its INSERT grant the run fails', async () => {
      org.upsert('Lead', [{ Id: '015A', Name: 'No grant' }]);
      const flowName = nextFlowName();
      await appflow.send(
        new CreateFlowCommand(
          flowRequest(flowName, {
            objectName: 'Lead',
            destinationTable: 'salesforce_incremental.lead',
            fields: ['Id', 'Name'],
          }),
        ),
      );

      const execution = await runToOutcome(flowName);

      expect(execution.executionStatus).toBe('Error');
      expect(execution.executionResult?.errorInfo?.executionMessage).toMatch(
        /Load of Lead into Redshift table salesforce_incremental\.lead failed.*permission denied for table lead/,
      );
      const user = await db.query<{ current_user: string }>('SELECT current_user');
      expect(user.rows[0].current_user).not.toBe(APPFLOW_DATABASE_USER);
    });

    test('CreateFlow refuses a filter the connector does not offer on the field and a Truncate without a length', async () => {
      const contains = flowRequest(nextFlowName(), { fields: ['Id', 'Description'] });
      contains.tasks!.push({
        taskType: 'Filter',
        sourceFields: ['Description'],
        connectorOperator: { Salesforce: 'CONTAINS' },
        taskProperties: { DATA_TYPE: 'textarea', VALUE: 'x' },
      });
      await expect(appflow.send(new CreateFlowCommand(contains))).rejects.toMatchObject({
        name: 'ValidationException',
        message: 'Filter operator CONTAINS is not supported on Account.Description (textarea)',
      });

      const truncate = flowRequest(nextFlowName(), { fields: ['Id', 'Description'] });
      truncate.tasks!.push({
        taskType: 'Truncate',
        sourceFields: ['Description'],
        connectorOperator: { Salesforce: 'NO_OP' },
      });
      await expect(appflow.send(new CreateFlowCommand(truncate))).rejects.toMatchObject({
        name: 'ValidationException',
        message: /TRUNCATE_LENGTH/,
      });
      expect(standIn.flowCount()).toBe(0);
    });

    test('DescribeConnectorEntity reports every Salesforce field type with its length, precision and scale', async () => {
      org.defineObject(
        'TypeZoo__c',
        SALESFORCE_FIELD_TYPES.map((type) => ({ name: `F_${type}__c`, type })),
      );

      const { connectorEntityFields } = await appflow.send(
        new DescribeConnectorEntityCommand({
          connectorEntityName: 'TypeZoo__c',
          connectorType: 'Salesforce',
        }),
      );

      const described = Object.fromEntries(
        connectorEntityFields!
          .filter((field) => field.identifier?.startsWith('F_'))
          .map((field) => [field.supportedFieldTypeDetails?.v1?.fieldType, field.customProperties ?? {}]),
      );
      expect(described).toEqual({
        id: { length: '18' },
        reference: { length: '18' },
        string: { length: '255' },
        textarea: { length: '255' },
        picklist: { length: '255' },
        multipicklist: { length: '4099' },
        combobox: { length: '255' },
        phone: { length: '40' },
        email: { length: '80' },
        url: { length: '255' },
        encryptedstring: { length: '175' },
        boolean: {},
        int: { precision: '9', scale: '0' },
        long: { precision: '18', scale: '0' },
        double: { precision: '18', scale: '0' },
        currency: { precision: '18', scale: '2' },
        percent: { precision: '5', scale: '2' },
        date: {},
        datetime: {},
        time: {},
        base64: {},
        address: {},
        location: {},
        anyType: {},
      });
    });

    test('stagingBucketAccess is asked before the load with the intermediate bucket, the S3 actions and keys; a refusal fails the run', async () => {
      const requests: StagingBucketRequest[] = [];
      let refuse = false;
      const guarded = new AppFlowStandIn({
        org,
        db,
        faults,
        clock,
        connectorProfiles: [SOURCE_PROFILE, DESTINATION_PROFILE],
        stagingBucketAccess: async (request) => {
          requests.push(request);
          if (refuse) throw new Error('AccessDenied: bucket policy allows no s3:PutObject');
        },
      });
      const client = new AppflowClient({ ...CLIENT_CONFIG, endpoint: (await guarded.start()).url });
      try {
        org.upsert('Account', [{ Id: '016A', Name: 'Staged' }]);
        const flowName = nextFlowName();
        const request = flowRequest(flowName);
        request.destinationFlowConfigList![0].destinationConnectorProperties!.Redshift!.bucketPrefix =
          'staging/x';
        await client.send(new CreateFlowCommand(request));

        await client.send(new StartFlowCommand({ flowName }));
        refuse = true;
        await client.send(new StartFlowCommand({ flowName }));
        const { flowExecutions } = await client.send(new DescribeFlowExecutionRecordsCommand({ flowName }));

        expect(requests[0]).toEqual({
          flowName,
          bucketName: 'local-bucket',
          actions: [...STAGING_BUCKET_ACTIONS],
          keys: [
            expect.stringMatching(new RegExp(`^staging/x/${flowName}/${flowExecutions![1].executionId}/`)),
          ],
        });
        expect(flowExecutions?.map((execution) => execution.executionStatus)).toEqual([
          'Error',
          'Successful',
        ]);
        expect(flowExecutions?.[0].executionResult?.errorInfo?.executionMessage).toBe(
          'Failed to stage Account in S3 bucket local-bucket: AccessDenied: bucket policy allows no s3:PutObject',
        );
        expect((await stagedAccounts()).map((row) => row.id)).toEqual(['016A']);
      } finally {
        client.destroy();
        await guarded.stop();
      }
    });
  });
});
