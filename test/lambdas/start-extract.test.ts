import {
  AppflowClient,
  ConflictException,
  CreateFlowCommand,
  DescribeConnectorEntityCommand,
  DescribeFlowCommand,
  DescribeFlowExecutionRecordsCommand,
  type Operator,
  ResourceNotFoundException,
  StartFlowCommand,
  ThrottlingException,
  ValidationException,
} from '@aws-sdk/client-appflow';
import {
  BatchExecuteStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { buildCreateFlowRequest } from '../../lambdas/common/flow-definition';
import type { ObjectPlan } from '../../lambdas/common/run-plan';
import { selectSourceFields } from '../../lambdas/common/source-fields';
import type { ExtractDependencies } from '../../lambdas/start-extract';
import { SPENT_BUDGET } from './support/budgets';
import { FakeWarehouse } from './support/fake-warehouse';
import {
  ACCOUNT_TABLE,
  accountEntityFields,
  anAccountPlan,
  anObjectState,
  entityField,
} from './support/fixtures';

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
  FLOW_TIMEOUT_MINUTES: '720',
  FLOW_WAIT_HEARTBEAT_SECONDS: '3600',
});
const { startExtract, createAndStartFlow, syncStructure } =
  require('../../lambdas/start-extract') as typeof import('../../lambdas/start-extract');

const appflowMock = mockClient(AppflowClient);
const redshiftMock = mockClient(RedshiftDataClient);

const RUN_ID = 'run-2026-03-10';
const FLOW_NAME = 'saas2rs-test-Account-run-2026-03-10';
const CLEAR_STAGING = 'TRUNCATE "salesforce_incremental"."account"';
/** When StartExtract starts the flow: its deadline counts from here. */
const NOW = new Date('2026-03-10T06:05:00.000Z');
const INDUSTRY = () => entityField('Industry', 'picklist', { length: '255' });

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
  flowTimeoutMinutes: 720,
  flowWaitHeartbeatSeconds: 3600,
  // Each statement is looked at once; one still running is handed to the state machine.
  budget: SPENT_BUDGET,
};

const notFound = () => new ResourceNotFoundException({ message: 'Flow does not exist', $metadata: {} });
const throttled = () =>
  new ThrottlingException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } });
const accountFields = () => selectSourceFields('Account', accountEntityFields(), anAccountPlan());

/** The structure sync of a plan, run to its end (every statement finished in this invocation). */
async function synced(dependencies: ExtractDependencies, plan: ObjectPlan) {
  const result = await syncStructure(dependencies, anObjectState({ plan }));
  if (result.kind !== 'done') throw new Error(`Still waiting on ${result.state.waiting?.what}`);
  return result;
}

/** The flow of a plan, created and started after staging was cleared. */
function startFlow(plan: ObjectPlan) {
  return createAndStartFlow(deps, anObjectState({ plan }), {}, accountFields());
}

let warehouse: FakeWarehouse;

beforeEach(() => {
  appflowMock.reset();
  redshiftMock.reset();
  warehouse = new FakeWarehouse(redshiftMock)
    .withTable('salesforce_incremental', 'account', ACCOUNT_TABLE)
    .withTable('salesforce', 'account', ACCOUNT_TABLE);
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
    await synced(deps, anAccountPlan());

    // Assess
    expect(redshiftMock).toHaveReceivedCommandWith(ExecuteStatementCommand, {
      Database: 'dev',
      SecretArn: 'redshift/admin',
      WorkgroupName: 'wg-test',
      Sql: expect.stringMatching(/FROM information_schema\.columns\s+WHERE table_name = :table_name/),
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
    const { changes } = await synced(deps, anAccountPlan({ syncMode: 'full', syncReason: 'first-run' }));

    // Assess
    // The schemas are the precheck's, once per run: no child touches them.
    expect(warehouse.statements()).toEqual([
      expect.stringMatching(
        /^CREATE TABLE IF NOT EXISTS "salesforce_incremental"\."account" \("id" VARCHAR\(18\), .* DISTKEY\("id"\) SORTKEY\("id"\)$/,
      ),
      expect.stringMatching(/^CREATE TABLE IF NOT EXISTS "salesforce"\."account" \("id" VARCHAR\(18\), /),
    ]);
    expect(changes.finalColumnsMissing).toEqual([]);
  });

  test('adds a new source field to staging only and reports it missing from the final table', async () => {
    // Prepare
    appflowMock
      .on(DescribeConnectorEntityCommand)
      .resolves({ connectorEntityFields: [...accountEntityFields(), INDUSTRY()] });

    // Act
    const { changes } = await synced(deps, anAccountPlan());

    // Assess: the final table's ALTER waits for the consolidation's transaction
    expect(warehouse.statements()).toEqual([
      'ALTER TABLE "salesforce_incremental"."account" ADD COLUMN "industry" VARCHAR(1020) ENCODE ZSTD',
    ]);
    expect(changes.finalColumnsMissing).toEqual(['industry']);
    expect(warehouse.columnsOf('salesforce', 'account')).not.toContain('industry');
  });

  test('sends no DDL when the tables already match the source', async () => {
    // Act
    const { changes } = await synced(deps, anAccountPlan());

    // Assess
    expect(changes.statements).toEqual([]);
    expect(redshiftMock).not.toHaveReceivedCommand(BatchExecuteStatementCommand);
  });

  test('fails with SchemaMismatch, before any DDL, when a selected field is gone at the source', async () => {
    // Act
    const act = synced(deps, anAccountPlan({ fields: ['Name', 'Region__c'] }));

    // Assess
    await expect(act).rejects.toMatchObject({
      name: 'SchemaMismatch',
      message: expect.stringContaining('Region__c'),
    });
    expect(redshiftMock).not.toHaveReceivedCommand(BatchExecuteStatementCommand);
  });
});

describe('createAndStartFlow', () => {
  test('empties staging with TRUNCATE on its own, seen finished, then creates the flow and starts it, in that order, when no flow exists yet', async () => {
    // Prepare
    const order: string[] = [];
    appflowMock.on(CreateFlowCommand).callsFake(() => {
      order.push(`CreateFlow after ${warehouse.statements().join(', ')}`);
      return { flowStatus: 'Active' };
    });
    appflowMock.on(StartFlowCommand).callsFake(() => {
      order.push('StartFlow');
      return { executionId: 'exec-1' };
    });
    const plan = anAccountPlan();

    // Act
    const started = await startFlow(plan);

    // Assess
    expect(started).toEqual({ kind: 'started', flowName: FLOW_NAME, executionId: 'exec-1' });
    expect(order).toEqual([`CreateFlow after ${CLEAR_STAGING}`, 'StartFlow']);
    const [truncate] = warehouse.submittedMatching(/^TRUNCATE/);
    const finishedLook = redshiftMock
      .commandCalls(DescribeStatementCommand)
      .find((call) => call.args[0].input.Id === truncate.id);
    expect(finishedLook?.calledBefore(appflowMock.commandCalls(CreateFlowCommand)[0])).toBe(true);
    // TRUNCATE commits at once: never inside a batch (a transaction block)
    expect(redshiftMock).not.toHaveReceivedCommand(BatchExecuteStatementCommand);
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
    const started = await startFlow(anAccountPlan());

    // Assess
    expect(started).toEqual({ kind: 'started', flowName: FLOW_NAME, executionId: 'exec-earlier' });
    expect(appflowMock).toHaveReceivedCommandWith(DescribeFlowExecutionRecordsCommand, {
      flowName: FLOW_NAME,
    });
    expect(appflowMock).not.toHaveReceivedCommand(CreateFlowCommand);
    expect(appflowMock).not.toHaveReceivedCommand(StartFlowCommand);
    expect(warehouse.singles).toEqual([]);
  });

  test('starts a flow an earlier attempt created but never started, after clearing staging', async () => {
    // Prepare
    appflowMock.on(DescribeFlowCommand).resolves({ flowName: FLOW_NAME, flowStatus: 'Active' });

    // Act
    const started = await startFlow(anAccountPlan());

    // Assess
    expect(started).toEqual({ kind: 'started', flowName: FLOW_NAME, executionId: 'exec-1' });
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
    const started = await startFlow(anAccountPlan());

    // Assess
    expect(started).toEqual({ kind: 'started', flowName: FLOW_NAME, executionId: 'exec-1' });
    expect(appflowMock).toHaveReceivedCommandWith(StartFlowCommand, { flowName: FLOW_NAME });
  });

  test('gives StartFlow the same client token on every attempt of the same run', async () => {
    // Prepare
    appflowMock.on(StartFlowCommand).rejectsOnce(throttled()).resolves({ executionId: 'exec-1' });

    // Act
    await expect(startFlow(anAccountPlan())).rejects.toThrow();
    await startFlow(anAccountPlan());

    // Assess
    const tokens = appflowMock.commandCalls(StartFlowCommand).map((call) => call.args[0].input.clientToken);
    expect(tokens).toHaveLength(2);
    expect(tokens[0]).toBeTruthy();
    expect(tokens[1]).toBe(tokens[0]);
  });

  test('uses the flow name (one per object and run) as the StartFlow client token', async () => {
    // Act
    await startFlow(anAccountPlan());

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
    await startFlow(anAccountPlan());
    await startFlow(contact);

    // Assess: one idempotency token per logical request (this flow, this run), never shared across flows
    const tokens = appflowMock.commandCalls(StartFlowCommand).map((call) => call.args[0].input.clientToken);
    expect(tokens).toHaveLength(2);
    expect(tokens[1]).not.toBe(tokens[0]);
  });

  test('turns a throttled StartFlow into Throttled, naming the object and flow', async () => {
    // Prepare
    appflowMock.on(StartFlowCommand).rejects(throttled());

    // Act
    const act = startFlow(anAccountPlan());

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
    const act = startFlow(anAccountPlan());

    // Assess
    await expect(act).rejects.toMatchObject({ name: 'Throttled' });
    expect(warehouse.singles).toEqual([]);
  });

  test('keeps the name of a CreateFlow validation error and does not start anything', async () => {
    // Prepare
    appflowMock
      .on(CreateFlowCommand)
      .rejects(new ValidationException({ message: 'bad task', $metadata: {} }));

    // Act
    const act = startFlow(anAccountPlan());

    // Assess
    await expect(act).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('CreateFlow'),
    });
    expect(appflowMock).not.toHaveReceivedCommand(StartFlowCommand);
  });
});

describe('startExtract', () => {
  test("creates and starts the flow of a default row and hands it to the wait with the environment's deadline", async () => {
    // Prepare
    const state = anObjectState();

    // Act
    const next = await startExtract(deps, state, () => NOW);

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
        // NOW + the environment's 720 minutes
        deadline: '2026-03-10T18:05:00.000Z',
        waitTimeoutSeconds: 720 * 60,
        // The environment's heartbeat: well below the wait's timeout
        heartbeatSeconds: 3600,
        recordsProcessed: 0,
        truncatedColumns: [],
      },
    });
  });

  test("gives a row's own flowTimeoutMinutes (a huge initial load) precedence over the environment's", async () => {
    // Prepare
    const state = anObjectState({ plan: anAccountPlan({ flowTimeoutMinutes: 48 * 60 }) });

    // Act
    const next = await startExtract(deps, state, () => NOW);

    // Assess
    expect(next.flow).toMatchObject({
      deadline: '2026-03-12T06:05:00.000Z',
      waitTimeoutSeconds: 48 * 60 * 60,
    });
    expect(next.plan.flowTimeoutMinutes).toBe(48 * 60);
  });

  test('counts the deadline from the start of the flow, not from the start of the run', async () => {
    // Prepare: the object waited its turn in the Map for two hours after the run started
    const later = new Date('2026-03-10T08:00:00.000Z');

    // Act
    const next = await startExtract({ ...deps, flowTimeoutMinutes: 30 }, anObjectState(), () => later);

    // Assess
    expect(next.flow).toMatchObject({ deadline: '2026-03-10T08:30:00.000Z', waitTimeoutSeconds: 1800 });
  });

  test("keeps the wait's heartbeat below its timeout when the flow timeout is shorter than the heartbeat", async () => {
    // Act: a 30-minute flow timeout beside the environment's 1-hour heartbeat
    const next = await startExtract({ ...deps, flowTimeoutMinutes: 30 }, anObjectState(), () => NOW);

    // Assess: Step Functions requires HeartbeatSeconds < TimeoutSeconds
    expect(next.flow).toMatchObject({ waitTimeoutSeconds: 1800, heartbeatSeconds: 1799 });
  });

  test('upgrades an incremental run to a full reload with reason schema-change when the source gained a field', async () => {
    // Prepare
    appflowMock
      .on(DescribeConnectorEntityCommand)
      .resolves({ connectorEntityFields: [...accountEntityFields(), INDUSTRY()] });
    const state = anObjectState();

    // Act
    const next = await startExtract(deps, state);

    // Assess
    expect(next.plan).toEqual({ ...state.plan, syncMode: 'full', syncReason: 'schema-change', window: {} });
    expect(next.plan.nextWatermark).toBe(state.plan.nextWatermark);
    // The flow writes the new column, so staging has it before the flow starts.
    expect(warehouse.columnsOf('salesforce_incremental', 'account')).toContain('industry');
    // The final table gets it only in the consolidation's CALL.
    expect(warehouse.columnsOf('salesforce', 'account')).not.toContain('industry');
    const request = appflowMock.commandCalls(CreateFlowCommand)[0].args[0].input;
    expect(request.tasks?.filter((task) => task.taskType === 'Filter')).toHaveLength(1);
  });

  test('keeps the reason of a run that is already full when the source gained a field', async () => {
    // Prepare
    appflowMock
      .on(DescribeConnectorEntityCommand)
      .resolves({ connectorEntityFields: [...accountEntityFields(), INDUSTRY()] });
    const state = anObjectState({
      plan: anAccountPlan({ syncMode: 'full', syncReason: 'reset', window: {} }),
    });

    // Act
    const next = await startExtract(deps, state);

    // Assess
    expect(next.plan).toBe(state.plan);
  });

  test('still reloads in full when retried after an attempt that added the new columns failed to start the flow', async () => {
    // Prepare: the first attempt ran the ALTERs, then CreateFlow was throttled
    appflowMock
      .on(DescribeConnectorEntityCommand)
      .resolves({ connectorEntityFields: [...accountEntityFields(), INDUSTRY()] });
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
      .resolves({ connectorEntityFields: [...accountEntityFields(), INDUSTRY()] });
    warehouse.withTable('salesforce_incremental', 'account', { ...ACCOUNT_TABLE, industry: 'VARCHAR(1020)' });
    const state = anObjectState();

    // Act
    const next = await startExtract(deps, state);

    // Assess
    expect(warehouse.statements()).toEqual([CLEAR_STAGING]);
    expect(next.plan).toEqual({ ...state.plan, syncMode: 'full', syncReason: 'schema-change', window: {} });
  });

  test('alters staging once when retried after the staging ALTER ran, and leaves the final table to the CALL', async () => {
    // Prepare: the first attempt altered staging, then CreateFlow was throttled
    appflowMock
      .on(DescribeConnectorEntityCommand)
      .resolves({ connectorEntityFields: [...accountEntityFields(), INDUSTRY()] });
    appflowMock.on(CreateFlowCommand).rejectsOnce(throttled()).resolves({ flowStatus: 'Active' });
    const state = anObjectState();
    await expect(startExtract(deps, state)).rejects.toMatchObject({ name: 'Throttled' });

    // Act
    const next = await startExtract(deps, state);

    // Assess
    expect(warehouse.statements().filter((sql) => sql.startsWith('ALTER TABLE'))).toEqual([
      'ALTER TABLE "salesforce_incremental"."account" ADD COLUMN "industry" VARCHAR(1020) ENCODE ZSTD',
    ]);
    expect(warehouse.columnsOf('salesforce', 'account')).not.toContain('industry');
    expect(next.plan).toMatchObject({ syncMode: 'full', syncReason: 'schema-change' });
  });

  test('hands the long-text columns the flow truncates to the consolidation, which counts what was cut', async () => {
    // Prepare
    appflowMock.on(DescribeConnectorEntityCommand).resolves({
      connectorEntityFields: [
        ...accountEntityFields(),
        entityField('Description', 'textarea', { length: '32000' }),
      ],
    });
    warehouse.withTable('salesforce_incremental', 'account', {
      ...ACCOUNT_TABLE,
      description: 'VARCHAR(65535)',
    });
    warehouse.withTable('salesforce', 'account', { ...ACCOUNT_TABLE, description: 'VARCHAR(65535)' });

    // Act
    const next = await startExtract(deps, anObjectState());

    // Assess
    expect(next.flow?.truncatedColumns).toEqual(['description']);
    const request = appflowMock.commandCalls(CreateFlowCommand)[0].args[0].input;
    expect(request.tasks?.filter((task) => task.taskType === 'Truncate')).toEqual([
      {
        taskType: 'Truncate',
        sourceFields: ['Description'],
        connectorOperator: { Salesforce: 'NO_OP' },
        taskProperties: { TRUNCATE_LENGTH: '16383' },
      },
    ]);
  });
});

describe('syncStructure against the Data API limits', () => {
  test('sends 45 new columns as batches of 40 and 5, in order, each waited on', async () => {
    // Prepare: the source gained 45 fields (BatchExecuteStatement takes at most 40 statements)
    const added = Array.from({ length: 45 }, (_, i) =>
      entityField(`Custom_${String(i).padStart(2, '0')}__c`, 'string', { length: '40' }),
    );
    appflowMock.on(DescribeConnectorEntityCommand).resolves({
      connectorEntityFields: [...accountEntityFields(), ...added],
    });

    // Act
    await synced(deps, anAccountPlan());

    // Assess
    expect(warehouse.batches.map((batch) => batch.length)).toEqual([40, 5]);
    expect(warehouse.batches.flat()).toEqual(
      added.map(
        (field) =>
          `ALTER TABLE "salesforce_incremental"."account" ADD COLUMN "${field.identifier?.toLowerCase()}" VARCHAR(160) ENCODE ZSTD`,
      ),
    );
    // The second batch is submitted only after the first one was seen finished.
    const sequence = redshiftMock.calls().map((call) => {
      const command = call.args[0];
      if (command instanceof BatchExecuteStatementCommand) return 'submit';
      return command instanceof DescribeStatementCommand ? `describe:${command.input.Id}` : 'other';
    });
    const firstBatchId = (await redshiftMock.commandCalls(BatchExecuteStatementCommand)[0].returnValue)?.Id;
    const secondSubmit = sequence.lastIndexOf('submit');
    expect(sequence.indexOf(`describe:${firstBatchId}`)).toBeGreaterThan(sequence.indexOf('submit'));
    expect(sequence.indexOf(`describe:${firstBatchId}`)).toBeLessThan(secondSubmit);
  });

  test('widens a grown text column with one ExecuteStatement per table, outside any batch', async () => {
    // Prepare: Name was 80 characters (VARCHAR(320)); the source now reports 255
    warehouse.withTable('salesforce_incremental', 'account', { ...ACCOUNT_TABLE, name: 'VARCHAR(320)' });
    warehouse.withTable('salesforce', 'account', { ...ACCOUNT_TABLE, name: 'VARCHAR(320)' });

    // Act
    await synced(deps, anAccountPlan());

    // Assess
    // Final first: a failure then leaves staging the narrower side, which the procedure accepts.
    expect(warehouse.singles).toEqual([
      'ALTER TABLE "salesforce"."account" ALTER COLUMN "name" TYPE VARCHAR(1020)',
      'ALTER TABLE "salesforce_incremental"."account" ALTER COLUMN "name" TYPE VARCHAR(1020)',
    ]);
    expect(redshiftMock).not.toHaveReceivedCommand(BatchExecuteStatementCommand);
  });

  test('an object that keeps history reads its history table too and widens it after final, before staging (issue 22)', async () => {
    // Prepare: Name was 80 characters (VARCHAR(320)) in all three tables; the source now reports 255
    const narrow = { ...ACCOUNT_TABLE, name: 'VARCHAR(320)' };
    warehouse.withTable('salesforce_incremental', 'account', narrow);
    warehouse.withTable('salesforce', 'account', narrow);
    warehouse.withTable('salesforce_history', 'account', {
      _valid_from: 'TIMESTAMP',
      _valid_to: 'TIMESTAMP',
      _is_active: 'BOOLEAN',
      ...narrow,
    });

    // Act
    await synced(deps, anAccountPlan({ history: true }));

    // Assess: the procedure refuses a history column narrower than final's, so it is widened here.
    expect(redshiftMock).toHaveReceivedCommandWith(ExecuteStatementCommand, {
      Sql: expect.stringContaining('table_schema IN (:staging_schema, :final_schema, :history_schema)'),
      Parameters: [
        { name: 'table_name', value: 'account' },
        { name: 'staging_schema', value: 'salesforce_incremental' },
        { name: 'final_schema', value: 'salesforce' },
        { name: 'history_schema', value: 'salesforce_history' },
      ],
    });
    expect(warehouse.singles).toEqual([
      'ALTER TABLE "salesforce"."account" ALTER COLUMN "name" TYPE VARCHAR(1020)',
      'ALTER TABLE "salesforce_history"."account" ALTER COLUMN "name" TYPE VARCHAR(1020)',
      'ALTER TABLE "salesforce_incremental"."account" ALTER COLUMN "name" TYPE VARCHAR(1020)',
    ]);
  });

  test('an object without history leaves a kept history table alone (it is widened when history is on again)', async () => {
    // Prepare
    const narrow = { ...ACCOUNT_TABLE, name: 'VARCHAR(320)' };
    warehouse.withTable('salesforce', 'account', narrow);
    warehouse.withTable('salesforce_history', 'account', narrow);

    // Act
    await synced(deps, anAccountPlan());

    // Assess
    expect(warehouse.singles).toEqual([
      'ALTER TABLE "salesforce"."account" ALTER COLUMN "name" TYPE VARCHAR(1020)',
    ]);
  });

  test('fails before any DDL, naming object, field, old and new type, when a column cannot take the new type', async () => {
    // Prepare: AnnualRevenue became a text field at the source
    appflowMock.on(DescribeConnectorEntityCommand).resolves({
      connectorEntityFields: accountEntityFields().map((field) =>
        field.identifier === 'AnnualRevenue'
          ? entityField('AnnualRevenue', 'string', { length: '40' })
          : field,
      ),
    });

    // Act
    const act = synced(deps, anAccountPlan());

    // Assess
    await expect(act).rejects.toMatchObject({
      name: 'SchemaMismatch',
      message: expect.stringContaining(
        'Account: field AnnualRevenue is DECIMAL(18,2) in salesforce_incremental.account but the source now calls for VARCHAR(160)',
      ),
    });
    expect(warehouse.statements()).toEqual([]);
  });

  test("grants AppFlow's database user the staging table after creating it, and leaves the schema's USAGE to the precheck", async () => {
    // Prepare
    warehouse.tables.clear();

    // Act
    await synced({ ...deps, appflowDatabaseUser: 'IAMR:appflow-redshift' }, anAccountPlan());

    // Assess
    expect(warehouse.statements().at(-1)).toBe(
      'GRANT INSERT, SELECT ON TABLE "salesforce_incremental"."account" TO "IAMR:appflow-redshift"',
    );
    expect(warehouse.statements().filter((sql) => /GRANT USAGE|CREATE SCHEMA/.test(sql))).toEqual([]);
    expect(warehouse.batches).toHaveLength(1);
  });
});

describe('startExtract for a custom-connector source', () => {
  /** A TiDB Cloud `orders` entity as its connector describes it: SDK-style types and operators. */
  const ordersFields = (cursorOperators: Operator[]) => [
    entityField('id', 'bigint'),
    {
      ...entityField('updated_at', 'timestamp'),
      supportedFieldTypeDetails: { v1: { fieldType: 'timestamp', filterOperators: cursorOperators } },
    },
    entityField('amount', 'decimal', { precision: '12', scale: '2' }),
  ];
  const ordersPlan = () =>
    anAccountPlan({
      objectName: 'tidb_orders',
      entityName: 'orders',
      sourceName: 'tidb',
      targetTable: 'tidb_orders',
      stagingSchema: 'tidb_incremental',
      finalSchema: 'tidb',
      connectorType: 'CustomConnector',
      connectorLabel: 'TiDBCloud',
      connectorProfileName: 'tidb-cloud',
      apiVersion: 'v1',
      primaryKey: 'id',
      cursorField: 'updated_at',
    });

  beforeEach(() => {
    warehouse.tables.clear();
  });

  test("describes the row's entity with the source's API version and builds tables in the source's schemas", async () => {
    // Prepare
    appflowMock
      .on(DescribeConnectorEntityCommand)
      .resolves({ connectorEntityFields: ordersFields(['GREATER_THAN', 'LESS_THAN_OR_EQUAL_TO']) });

    // Act
    const next = await startExtract(deps, anObjectState({ plan: ordersPlan() }));

    // Assess
    expect(appflowMock).toHaveReceivedCommandWith(DescribeConnectorEntityCommand, {
      connectorEntityName: 'orders',
      connectorType: 'CustomConnector',
      connectorProfileName: 'tidb-cloud',
      apiVersion: 'v1',
    });
    expect(warehouse.columnsOf('tidb_incremental', 'tidb_orders')).toEqual(
      expect.arrayContaining(['id', 'updated_at', 'amount']),
    );
    expect(warehouse.statements()).toContain('TRUNCATE "tidb_incremental"."tidb_orders"');
    expect(next.plan.syncMode).toBe('incremental');
    const request = appflowMock.commandCalls(CreateFlowCommand)[0].args[0].input;
    expect(request.sourceFlowConfig?.apiVersion).toBe('v1');
    expect(request.tasks?.filter((task) => task.taskType === 'Filter')).toHaveLength(3);
  });

  test('loads in full, with reason cursor-not-filterable, when the cursor declares no usable operator', async () => {
    // Prepare
    appflowMock
      .on(DescribeConnectorEntityCommand)
      .resolves({ connectorEntityFields: ordersFields(['EQUAL_TO', 'NOT_EQUAL_TO']) });
    const state = anObjectState({ plan: ordersPlan() });

    // Act
    const next = await startExtract(deps, state);

    // Assess
    expect(next.plan).toEqual({
      ...state.plan,
      syncMode: 'full',
      syncReason: 'cursor-not-filterable',
      window: {},
    });
    const request = appflowMock.commandCalls(CreateFlowCommand)[0].args[0].input;
    expect(request.tasks?.filter((task) => task.taskType === 'Filter')).toHaveLength(1);
  });

  test('fails the object naming object and field when a field type is unknown', async () => {
    // Prepare
    appflowMock.on(DescribeConnectorEntityCommand).resolves({
      connectorEntityFields: [
        ...ordersFields(['GREATER_THAN', 'LESS_THAN_OR_EQUAL_TO']),
        entityField('shape', 'geometry'),
      ],
    });

    // Act / Assess
    await expect(startExtract(deps, anObjectState({ plan: ordersPlan() }))).rejects.toThrow(
      'tidb_orders: field shape has source type "geometry"',
    );
    expect(appflowMock).not.toHaveReceivedCommand(CreateFlowCommand);
  });
});

describe('startExtract with a slow warehouse (issue 19)', () => {
  const CATALOG_READ = /information_schema\.columns/;
  /** The first wait on a statement: 15 minutes, then the step looks itself. */
  const FIRST_WAIT_SECONDS = 15 * 60;
  const TRANSIENT_CONFLICT =
    'ERROR: 1023 DETAIL: Serializable isolation violation on table - 123456, transactions forming the cycle are: 1, 2';

  test('hands a catalog read still running to the state machine: waiting on it, kept in prepare.catalog, nothing else sent', async () => {
    // Prepare
    warehouse.runsFor(CATALOG_READ, 1);
    const state = anObjectState();

    // Act
    const next = await startExtract(deps, state, () => NOW);

    // Assess
    const [catalog] = warehouse.submittedMatching(CATALOG_READ);
    expect(next).toEqual({
      ...state,
      prepare: { catalog: { id: catalog.id, attempt: 1, status: 'RUNNING' } },
      waiting: { statementId: catalog.id, what: 'Account: catalog read', timeoutSeconds: FIRST_WAIT_SECONDS },
    });
    expect(warehouse.statements()).toEqual([]);
    expect(appflowMock).not.toHaveReceivedCommand(CreateFlowCommand);
  });

  test('picks the catalog read up from the state on the next invocation, without reading again, and starts the flow', async () => {
    // Prepare
    warehouse.runsFor(CATALOG_READ, 1);
    const first = await startExtract(deps, anObjectState(), () => NOW);

    // Act: the statement's end event answered the wait; the step runs again with its state
    const next = await startExtract(deps, first, () => NOW);

    // Assess
    expect(warehouse.submittedMatching(CATALOG_READ)).toHaveLength(1);
    expect(next.flow).toMatchObject({ flowName: FLOW_NAME, executionId: 'exec-1', state: 'RUNNING' });
    expect(next).not.toHaveProperty('prepare');
    expect(next).not.toHaveProperty('waiting');
  });

  test('waits on a DDL batch still running, keeping how far the structure sync got, and never sends it twice', async () => {
    // Prepare: an object loaded for the first time; its CREATE TABLEs are slow
    warehouse.tables.clear();
    warehouse.runsFor(/^CREATE TABLE/, 1);
    const state = anObjectState({ plan: anAccountPlan({ syncMode: 'full', syncReason: 'first-run' }) });

    // Act
    const first = await startExtract(deps, state, () => NOW);
    const next = await startExtract(deps, first, () => NOW);

    // Assess
    const [ddl] = warehouse.submittedMatching(/^CREATE TABLE/);
    expect(ddl.kind).toBe('batch');
    expect(first.prepare).toEqual({
      catalog: expect.objectContaining({ status: 'FINISHED' }),
      changes: { done: 0, current: { id: ddl.id, attempt: 1, status: 'RUNNING' } },
    });
    expect(first.waiting).toEqual({
      statementId: ddl.id,
      what: 'Account: structure sync',
      timeoutSeconds: FIRST_WAIT_SECONDS,
    });
    expect(first.flow).toBeUndefined();
    expect(warehouse.submittedMatching(/^CREATE TABLE/)).toHaveLength(1);
    expect(warehouse.submittedMatching(CATALOG_READ)).toHaveLength(1);
    expect(next.flow?.executionId).toBe('exec-1');
  });

  test('waits on a TRUNCATE of staging still running, then creates and starts the flow once', async () => {
    // Prepare
    warehouse.runsFor(/^TRUNCATE/, 1);

    // Act
    const first = await startExtract(deps, anObjectState(), () => NOW);
    const next = await startExtract(deps, first, () => NOW);

    // Assess
    const [clear] = warehouse.submittedMatching(/^TRUNCATE/);
    expect(first.prepare?.clear).toEqual({ id: clear.id, attempt: 1, status: 'RUNNING' });
    expect(first.waiting).toMatchObject({ statementId: clear.id, what: 'Account: clear staging' });
    expect(warehouse.submittedMatching(/^TRUNCATE/)).toHaveLength(1);
    expect(appflowMock).toHaveReceivedCommandTimes(CreateFlowCommand, 1);
    expect(appflowMock).toHaveReceivedCommandTimes(StartFlowCommand, 1);
    expect(next.flow?.executionId).toBe('exec-1');
  });

  test('goes as far as each invocation can through a slow catalog read, DDL and TRUNCATE: one flow started, every statement sent once, no prepare nor waiting left', async () => {
    // Prepare: the source gained a field; every statement outlives the budget once
    appflowMock
      .on(DescribeConnectorEntityCommand)
      .resolves({ connectorEntityFields: [...accountEntityFields(), INDUSTRY()] });
    warehouse
      .runsFor(CATALOG_READ, 1)
      .runsFor(/^ALTER TABLE/, 1)
      .runsFor(/^TRUNCATE/, 1);
    const state = anObjectState();

    // Act: the state machine calls the step again after each wait
    const waits: string[] = [];
    let next = await startExtract(deps, state, () => NOW);
    while (next.waiting && waits.length < 10) {
      waits.push(next.waiting.what);
      next = await startExtract(deps, next, () => NOW);
    }

    // Assess
    expect(waits).toEqual(['Account: catalog read', 'Account: structure sync', 'Account: clear staging']);
    expect(next).toEqual({
      ...state,
      plan: { ...state.plan, syncMode: 'full', syncReason: 'schema-change', window: {} },
      flow: expect.objectContaining({ flowName: FLOW_NAME, executionId: 'exec-1' }),
    });
    expect(warehouse.submitted.map((statement) => statement.sqls[0].split(' ')[0])).toEqual([
      'SELECT',
      'ALTER',
      'TRUNCATE',
    ]);
    expect(appflowMock).toHaveReceivedCommandTimes(CreateFlowCommand, 1);
    expect(appflowMock).toHaveReceivedCommandTimes(StartFlowCommand, 1);
  });

  test('waits twice as long on a statement still running when its wait timed out (the end event is best effort)', async () => {
    // Prepare: the catalog read outlives the first invocation and the first 15-minute wait
    warehouse.runsFor(CATALOG_READ, 2);
    const first = await startExtract(deps, anObjectState(), () => NOW);

    // Act: the wait's timeout sends the state, `waiting` included, back to the step
    const next = await startExtract(deps, first, () => NOW);

    // Assess
    expect(next.waiting).toEqual({ ...first.waiting, timeoutSeconds: 2 * FIRST_WAIT_SECONDS });
  });

  test('resubmits a DDL batch that lost a race with a concurrent transaction, with a new ClientToken, and goes on', async () => {
    // Prepare
    appflowMock
      .on(DescribeConnectorEntityCommand)
      .resolves({ connectorEntityFields: [...accountEntityFields(), INDUSTRY()] });
    warehouse.failsWith(/^ALTER TABLE/, TRANSIENT_CONFLICT);

    // Act
    const next = await startExtract(deps, anObjectState(), () => NOW);

    // Assess
    const alters = warehouse.submittedMatching(/^ALTER TABLE/);
    expect(alters.map((statement) => statement.ending?.status ?? 'FINISHED')).toEqual(['FAILED', 'FINISHED']);
    expect(alters[1].clientToken).not.toBe(alters[0].clientToken);
    expect(warehouse.statements().filter((sql) => sql.startsWith('ALTER TABLE'))).toHaveLength(1);
    expect(next.flow?.executionId).toBe('exec-1');
  });

  test("fails the object with StatementFailed and Redshift's text when the DDL really fails, before any flow", async () => {
    // Prepare
    appflowMock
      .on(DescribeConnectorEntityCommand)
      .resolves({ connectorEntityFields: [...accountEntityFields(), INDUSTRY()] });
    warehouse.failsWith(/^ALTER TABLE/, 'ERROR: permission denied for relation account');

    // Act
    const act = startExtract(deps, anObjectState(), () => NOW);

    // Assess
    await expect(act).rejects.toMatchObject({
      name: 'StatementFailed',
      message: 'Account: structure sync failed in Redshift: ERROR: permission denied for relation account',
    });
    expect(warehouse.submittedMatching(/^ALTER TABLE/)).toHaveLength(1);
    expect(appflowMock).not.toHaveReceivedCommand(CreateFlowCommand);
  });

  test('names each statement <prefix>-<object>-<step>-<run> and asks the Data API for its end event', async () => {
    // Prepare
    appflowMock
      .on(DescribeConnectorEntityCommand)
      .resolves({ connectorEntityFields: [...accountEntityFields(), INDUSTRY()] });

    // Act
    await startExtract(deps, anObjectState(), () => NOW);

    // Assess
    expect(warehouse.submitted.map((statement) => [statement.statementName, statement.withEvent])).toEqual([
      [`saas2rs-test-Account-catalog-${RUN_ID}`, true],
      [`saas2rs-test-Account-ddl1-${RUN_ID}`, true],
      [`saas2rs-test-Account-clear-${RUN_ID}`, true],
    ]);
  });

  test('a StartExtract retried with the same input (CreateFlow throttled) submits no statement again', async () => {
    // Prepare
    appflowMock
      .on(DescribeConnectorEntityCommand)
      .resolves({ connectorEntityFields: [...accountEntityFields(), INDUSTRY()] });
    appflowMock.on(CreateFlowCommand).rejectsOnce(throttled()).resolves({ flowStatus: 'Active' });
    const state = anObjectState();
    await expect(startExtract(deps, state, () => NOW)).rejects.toMatchObject({ name: 'Throttled' });
    const sentBefore = warehouse.submitted.length;

    // Act
    const next = await startExtract(deps, state, () => NOW);

    // Assess: the same ClientTokens return the statements the first attempt sent
    expect(warehouse.requests).toBe(2 * sentBefore);
    expect(warehouse.submitted).toHaveLength(sentBefore);
    expect(next.flow?.executionId).toBe('exec-1');
  });
});
