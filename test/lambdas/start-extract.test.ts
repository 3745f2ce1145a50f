import {
  AppflowClient,
  ConflictException,
  CreateFlowCommand,
  DescribeConnectorEntityCommand,
  DescribeFlowCommand,
  DescribeFlowExecutionRecordsCommand,
  ResourceNotFoundException,
  StartFlowCommand,
  ThrottlingException,
  ValidationException,
} from '@aws-sdk/client-appflow';
import {
  BatchExecuteStatementCommand,
  ExecuteStatementCommand,
  RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { buildCreateFlowRequest } from '../../lambdas/common/flow-definition';
import { selectSourceFields } from '../../lambdas/common/source-fields';
import type { ExtractDependencies } from '../../lambdas/start-extract';
import { FakeWarehouse } from './support/fake-warehouse';
import { accountEntityFields, anAccountPlan, anObjectState, entityField } from './support/fixtures';

// The handler module reads its configuration at load time.
Object.assign(process.env, {
  CONTROL_TABLE_NAME: 'control-test',
  STAGING_SCHEMA: 'salesforce_incremental',
  FINAL_SCHEMA: 'salesforce',
  REDSHIFT_DATABASE: 'dev',
  REDSHIFT_SECRET_ID: 'redshift/admin',
  REDSHIFT_WORKGROUP_NAME: 'wg-test',
  FLOW_NAME_PREFIX: 'saas2rs-test',
  REDSHIFT_CONNECTOR_PROFILE: 'redshift-test',
  STAGING_BUCKET_NAME: 'staging-bucket-test',
});
const { startExtract, createAndStartFlow, syncStructure } =
  require('../../lambdas/start-extract') as typeof import('../../lambdas/start-extract');

const appflowMock = mockClient(AppflowClient);
const redshiftMock = mockClient(RedshiftDataClient);

const RUN_ID = 'run-2026-03-10';
const FLOW_NAME = 'saas2rs-test-Account-run-2026-03-10';
const ACCOUNT_COLUMNS = ['id', 'systemmodstamp', 'isdeleted', 'name', 'annualrevenue', 'numberofemployees'];
const CLEAR_STAGING = 'DELETE FROM "salesforce_incremental"."account"';
const INDUSTRY_PENDING = { column: 'industry', redshiftType: 'VARCHAR(65535)' };

const deps: ExtractDependencies = {
  appflow: new AppflowClient({}),
  redshift: new RedshiftDataClient({}),
  target: { database: 'dev', secretId: 'redshift/admin', workgroupName: 'wg-test' },
  layout: { stagingSchema: 'salesforce_incremental', finalSchema: 'salesforce' },
  flowSettings: {
    flowNamePrefix: 'saas2rs-test',
    redshiftConnectorProfileName: 'redshift-test',
    stagingBucketName: 'staging-bucket-test',
    stagingSchema: 'salesforce_incremental',
    dataTransferApi: 'AUTOMATIC',
  },
};

const notFound = () => new ResourceNotFoundException({ message: 'Flow does not exist', $metadata: {} });
const throttled = () =>
  new ThrottlingException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } });
const accountFields = () => selectSourceFields('Account', accountEntityFields(), anAccountPlan());

let warehouse: FakeWarehouse;

beforeEach(() => {
  appflowMock.reset();
  redshiftMock.reset();
  warehouse = new FakeWarehouse(redshiftMock)
    .withTable('salesforce_incremental', 'account', ACCOUNT_COLUMNS)
    .withTable('salesforce', 'account', ACCOUNT_COLUMNS);
  appflowMock.on(DescribeConnectorEntityCommand).resolves({ connectorEntityFields: accountEntityFields() });
  appflowMock.on(DescribeFlowCommand).rejects(notFound());
  appflowMock.on(DescribeFlowExecutionRecordsCommand).resolves({ flowExecutions: [] });
  appflowMock
    .on(CreateFlowCommand)
    .resolves({ flowArn: `arn:aws:appflow:eu-west-1:1:flow/${FLOW_NAME}`, flowStatus: 'Active' });
  appflowMock.on(StartFlowCommand).resolves({ flowStatus: 'Active', executionId: 'exec-1' });
});

describe('syncStructure', () => {
  test("reads the tables' columns with Data API parameters, never values spliced into SQL", async () => {
    // Act
    await syncStructure(deps, anAccountPlan());

    // Assess
    expect(redshiftMock).toHaveReceivedCommandWith(ExecuteStatementCommand, {
      Database: 'dev',
      SecretArn: 'redshift/admin',
      WorkgroupName: 'wg-test',
      Sql: expect.stringMatching(/FROM information_schema\.columns WHERE table_name = :table_name/),
      Parameters: [
        { name: 'table_name', value: 'account' },
        { name: 'staging_schema', value: 'salesforce_incremental' },
        { name: 'final_schema', value: 'salesforce' },
      ],
    });
    expect(appflowMock).toHaveReceivedCommandWith(DescribeConnectorEntityCommand, {
      connectorEntityName: 'Account',
      connectorType: 'Salesforce',
      connectorProfileName: 'salesforce-prod',
    });
  });

  test('creates the staging and final tables of an object loaded for the first time', async () => {
    // Prepare
    warehouse.tables.clear();

    // Act
    const { changes } = await syncStructure(
      deps,
      anAccountPlan({ syncMode: 'full', syncReason: 'first-run' }),
    );

    // Assess
    expect(warehouse.statements()).toEqual([
      'CREATE SCHEMA IF NOT EXISTS "salesforce_incremental"',
      'CREATE SCHEMA IF NOT EXISTS "salesforce"',
      expect.stringMatching(/^CREATE TABLE IF NOT EXISTS "salesforce_incremental"\."account" \("id" VARCHAR/),
      expect.stringMatching(/^CREATE TABLE IF NOT EXISTS "salesforce"\."account" \("id" VARCHAR/),
    ]);
    expect(changes.finalColumnsPending).toEqual([]);
  });

  test('adds a new source field to staging only and reports it pending for the final table', async () => {
    // Prepare
    appflowMock
      .on(DescribeConnectorEntityCommand)
      .resolves({ connectorEntityFields: [...accountEntityFields(), entityField('Industry', 'picklist')] });

    // Act
    const { changes } = await syncStructure(deps, anAccountPlan());

    // Assess: the final table's ALTER waits for the consolidation's transaction
    expect(warehouse.statements()).toEqual([
      'ALTER TABLE "salesforce_incremental"."account" ADD COLUMN "industry" VARCHAR(65535)',
    ]);
    expect(changes.finalColumnsPending).toEqual([INDUSTRY_PENDING]);
    expect(warehouse.tables.get('salesforce.account')).not.toContain('industry');
  });

  test('sends no DDL when the tables already match the source', async () => {
    // Act
    const { changes } = await syncStructure(deps, anAccountPlan());

    // Assess
    expect(changes.statements).toEqual([]);
    expect(redshiftMock).not.toHaveReceivedCommand(BatchExecuteStatementCommand);
  });

  test('fails with SchemaMismatch, before any DDL, when a selected field is gone at the source', async () => {
    // Act
    const act = syncStructure(deps, anAccountPlan({ fields: ['Name', 'Region__c'] }));

    // Assess
    await expect(act).rejects.toMatchObject({
      name: 'SchemaMismatch',
      message: expect.stringContaining('Region__c'),
    });
    expect(redshiftMock).not.toHaveReceivedCommand(BatchExecuteStatementCommand);
  });
});

describe('createAndStartFlow', () => {
  test('clears staging, creates the flow and starts it, in that order, when no flow exists yet', async () => {
    // Prepare
    const order: string[] = [];
    redshiftMock.on(BatchExecuteStatementCommand).callsFake((input: { Sqls?: string[] }) => {
      order.push(`batch:${input.Sqls?.join(';')}`);
      return { Id: 'batch-clear' };
    });
    appflowMock.on(CreateFlowCommand).callsFake(() => {
      order.push('CreateFlow');
      return { flowStatus: 'Active' };
    });
    appflowMock.on(StartFlowCommand).callsFake(() => {
      order.push('StartFlow');
      return { executionId: 'exec-1' };
    });
    const plan = anAccountPlan();

    // Act
    const started = await createAndStartFlow(deps, plan, RUN_ID, accountFields());

    // Assess
    expect(started).toEqual({ flowName: FLOW_NAME, executionId: 'exec-1' });
    expect(order).toEqual([`batch:${CLEAR_STAGING}`, 'CreateFlow', 'StartFlow']);
    expect(appflowMock).toHaveReceivedCommandWith(
      CreateFlowCommand,
      buildCreateFlowRequest(plan, accountFields(), RUN_ID, deps.flowSettings),
    );
    expect(appflowMock).toHaveReceivedCommandWith(StartFlowCommand, { flowName: FLOW_NAME });
  });

  test('adopts the run an earlier attempt started: no CreateFlow, no StartFlow, staging left alone', async () => {
    // Prepare
    appflowMock.on(DescribeFlowCommand).resolves({ flowName: FLOW_NAME, flowStatus: 'Active' });
    appflowMock
      .on(DescribeFlowExecutionRecordsCommand)
      .resolves({ flowExecutions: [{ executionId: 'exec-earlier', executionStatus: 'InProgress' }] });

    // Act
    const started = await createAndStartFlow(deps, anAccountPlan(), RUN_ID, accountFields());

    // Assess
    expect(started).toEqual({ flowName: FLOW_NAME, executionId: 'exec-earlier' });
    expect(appflowMock).toHaveReceivedCommandWith(DescribeFlowExecutionRecordsCommand, {
      flowName: FLOW_NAME,
    });
    expect(appflowMock).not.toHaveReceivedCommand(CreateFlowCommand);
    expect(appflowMock).not.toHaveReceivedCommand(StartFlowCommand);
    expect(redshiftMock).not.toHaveReceivedCommand(BatchExecuteStatementCommand);
  });

  test('starts a flow an earlier attempt created but never started, after clearing staging', async () => {
    // Prepare
    appflowMock.on(DescribeFlowCommand).resolves({ flowName: FLOW_NAME, flowStatus: 'Active' });

    // Act
    const started = await createAndStartFlow(deps, anAccountPlan(), RUN_ID, accountFields());

    // Assess
    expect(started).toEqual({ flowName: FLOW_NAME, executionId: 'exec-1' });
    expect(warehouse.statements()).toEqual([CLEAR_STAGING]);
    expect(appflowMock).not.toHaveReceivedCommand(CreateFlowCommand);
    expect(appflowMock).toHaveReceivedCommandTimes(StartFlowCommand, 1);
    expect(appflowMock).toHaveReceivedCommandWith(StartFlowCommand, { flowName: FLOW_NAME });
  });

  test('reuses the flow when CreateFlow reports a conflict (a concurrent attempt made it) and starts it', async () => {
    // Prepare
    appflowMock
      .on(CreateFlowCommand)
      .rejects(new ConflictException({ message: `Flow ${FLOW_NAME} already exists`, $metadata: {} }));

    // Act
    const started = await createAndStartFlow(deps, anAccountPlan(), RUN_ID, accountFields());

    // Assess
    expect(started).toEqual({ flowName: FLOW_NAME, executionId: 'exec-1' });
    expect(appflowMock).toHaveReceivedCommandWith(StartFlowCommand, { flowName: FLOW_NAME });
  });

  test('gives StartFlow the same client token on every attempt of the same run', async () => {
    // Prepare
    appflowMock.on(StartFlowCommand).rejectsOnce(throttled()).resolves({ executionId: 'exec-1' });

    // Act
    await expect(createAndStartFlow(deps, anAccountPlan(), RUN_ID, accountFields())).rejects.toThrow();
    await createAndStartFlow(deps, anAccountPlan(), RUN_ID, accountFields());

    // Assess
    const tokens = appflowMock.commandCalls(StartFlowCommand).map((call) => call.args[0].input.clientToken);
    expect(tokens).toHaveLength(2);
    expect(tokens[0]).toBeTruthy();
    expect(tokens[1]).toBe(tokens[0]);
  });

  test('uses the flow name (one per object and run) as the StartFlow client token', async () => {
    // Act
    await createAndStartFlow(deps, anAccountPlan(), RUN_ID, accountFields());

    // Assess
    expect(appflowMock).toHaveReceivedCommandWith(StartFlowCommand, {
      flowName: FLOW_NAME,
      clientToken: FLOW_NAME,
    });
  });

  test("gives each object's StartFlow its own client token within one run", async () => {
    // Prepare
    const contact = anAccountPlan({ objectName: 'Contact', targetTable: 'contact' });

    // Act
    await createAndStartFlow(deps, anAccountPlan(), RUN_ID, accountFields());
    await createAndStartFlow(deps, contact, RUN_ID, accountFields());

    // Assess: one idempotency token per logical request (this flow, this run), never shared across flows
    const tokens = appflowMock.commandCalls(StartFlowCommand).map((call) => call.args[0].input.clientToken);
    expect(tokens).toHaveLength(2);
    expect(tokens[1]).not.toBe(tokens[0]);
  });

  test('turns a throttled StartFlow into Throttled, naming the object and flow', async () => {
    // Prepare
    appflowMock.on(StartFlowCommand).rejects(throttled());

    // Act
    const act = createAndStartFlow(deps, anAccountPlan(), RUN_ID, accountFields());

    // Assess
    await expect(act).rejects.toMatchObject({
      name: 'Throttled',
      message: expect.stringContaining(`Account: flow ${FLOW_NAME}: StartFlow`),
    });
  });

  test('turns a throttled DescribeFlow into Throttled before touching staging', async () => {
    // Prepare
    appflowMock.on(DescribeFlowCommand).rejects(throttled());

    // Act
    const act = createAndStartFlow(deps, anAccountPlan(), RUN_ID, accountFields());

    // Assess
    await expect(act).rejects.toMatchObject({ name: 'Throttled' });
    expect(redshiftMock).not.toHaveReceivedCommand(BatchExecuteStatementCommand);
  });

  test('keeps the name of a CreateFlow validation error and does not start anything', async () => {
    // Prepare
    appflowMock
      .on(CreateFlowCommand)
      .rejects(new ValidationException({ message: 'bad task', $metadata: {} }));

    // Act
    const act = createAndStartFlow(deps, anAccountPlan(), RUN_ID, accountFields());

    // Assess
    await expect(act).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('CreateFlow'),
    });
    expect(appflowMock).not.toHaveReceivedCommand(StartFlowCommand);
  });
});

describe('startExtract', () => {
  test('creates and starts the flow of a default row and hands the flow to the poll loop', async () => {
    // Prepare
    const state = anObjectState();

    // Act
    const next = await startExtract(deps, state);

    // Assess
    expect(appflowMock).toHaveReceivedCommandWith(
      CreateFlowCommand,
      buildCreateFlowRequest(state.plan, accountFields(), RUN_ID, deps.flowSettings),
    );
    expect(next).toEqual({
      ...state,
      flow: {
        flowName: FLOW_NAME,
        executionId: 'exec-1',
        state: 'RUNNING',
        polls: 0,
        nextWaitSeconds: 30,
        recordsProcessed: 0,
        finalColumnsPending: [],
      },
    });
  });

  test('upgrades an incremental run to a full reload with reason schema-change when the source gained a field', async () => {
    // Prepare
    appflowMock
      .on(DescribeConnectorEntityCommand)
      .resolves({ connectorEntityFields: [...accountEntityFields(), entityField('Industry', 'picklist')] });
    const state = anObjectState();

    // Act
    const next = await startExtract(deps, state);

    // Assess
    expect(next.plan).toEqual({ ...state.plan, syncMode: 'full', syncReason: 'schema-change', window: {} });
    expect(next.plan.nextWatermark).toBe(state.plan.nextWatermark);
    expect(next.flow?.finalColumnsPending).toEqual([INDUSTRY_PENDING]);
    // The flow writes the new column, so staging has it before the flow starts.
    expect(warehouse.tables.get('salesforce_incremental.account')).toContain('industry');
    // The final table gets it only in the consolidation's transaction.
    expect(warehouse.tables.get('salesforce.account')).not.toContain('industry');
    const request = appflowMock.commandCalls(CreateFlowCommand)[0].args[0].input;
    expect(request.tasks?.filter((task) => task.taskType === 'Filter')).toHaveLength(1);
  });

  test('keeps the reason of a run that is already full when the source gained a field', async () => {
    // Prepare
    appflowMock
      .on(DescribeConnectorEntityCommand)
      .resolves({ connectorEntityFields: [...accountEntityFields(), entityField('Industry', 'picklist')] });
    const state = anObjectState({
      plan: anAccountPlan({ syncMode: 'full', syncReason: 'reset', window: {} }),
    });

    // Act
    const next = await startExtract(deps, state);

    // Assess
    expect(next.plan).toBe(state.plan);
    expect(next.flow?.finalColumnsPending).toEqual([INDUSTRY_PENDING]);
  });

  test('still reloads in full when retried after an attempt that added the new columns failed to start the flow', async () => {
    // Prepare: the first attempt ran the ALTERs, then CreateFlow was throttled
    appflowMock
      .on(DescribeConnectorEntityCommand)
      .resolves({ connectorEntityFields: [...accountEntityFields(), entityField('Industry', 'picklist')] });
    appflowMock.on(CreateFlowCommand).rejectsOnce(throttled()).resolves({ flowStatus: 'Active' });
    const state = anObjectState();
    await expect(startExtract(deps, state)).rejects.toMatchObject({ name: 'Throttled' });

    // Act: the state machine retries the step with the same input
    const next = await startExtract(deps, state);

    // Assess: old records never carry the new column in an incremental window
    expect(next.plan).toMatchObject({ syncMode: 'full', syncReason: 'schema-change' });
    expect(next.plan.window).toEqual({});
    const retried = appflowMock.commandCalls(CreateFlowCommand)[1].args[0].input;
    expect(retried.tasks?.filter((task) => task.taskType === 'Filter')).toHaveLength(1);
  });

  test('still reloads in full when staging already has the new column but the final table does not', async () => {
    // Prepare: an earlier attempt (or run) added the column to staging and never consolidated
    appflowMock
      .on(DescribeConnectorEntityCommand)
      .resolves({ connectorEntityFields: [...accountEntityFields(), entityField('Industry', 'picklist')] });
    warehouse.withTable('salesforce_incremental', 'account', [...ACCOUNT_COLUMNS, 'industry']);
    const state = anObjectState();

    // Act
    const next = await startExtract(deps, state);

    // Assess
    expect(warehouse.statements()).toEqual([CLEAR_STAGING]);
    expect(next.plan).toEqual({ ...state.plan, syncMode: 'full', syncReason: 'schema-change', window: {} });
    expect(next.flow?.finalColumnsPending).toEqual([INDUSTRY_PENDING]);
  });

  test('hands the same pending columns to consolidation on a retry after the staging ALTER ran', async () => {
    // Prepare: the first attempt altered staging, then CreateFlow was throttled
    appflowMock
      .on(DescribeConnectorEntityCommand)
      .resolves({ connectorEntityFields: [...accountEntityFields(), entityField('Industry', 'picklist')] });
    appflowMock.on(CreateFlowCommand).rejectsOnce(throttled()).resolves({ flowStatus: 'Active' });
    const state = anObjectState();
    await expect(startExtract(deps, state)).rejects.toMatchObject({ name: 'Throttled' });

    // Act
    const next = await startExtract(deps, state);

    // Assess: staging was altered once; the final table still waits for the CALL
    expect(warehouse.statements().filter((sql) => sql.startsWith('ALTER TABLE'))).toEqual([
      'ALTER TABLE "salesforce_incremental"."account" ADD COLUMN "industry" VARCHAR(65535)',
    ]);
    expect(warehouse.tables.get('salesforce.account')).not.toContain('industry');
    expect(next.flow?.finalColumnsPending).toEqual([INDUSTRY_PENDING]);
  });
});
