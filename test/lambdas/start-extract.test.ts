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
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { claimObject, recordObjectSuccess } from '../../lambdas/common/control-table';
import { buildCreateFlowRequest } from '../../lambdas/common/flow-definition';
import type { ObjectPlan } from '../../lambdas/common/run-plan';
import { selectSourceFields } from '../../lambdas/common/source-fields';
import type { ExtractDependencies } from '../../lambdas/start-extract';
import {
  generateConnectedAppKeys,
  SalesforceLimitsStandIn,
} from '../../local/stand-ins/salesforce-limits-stand-in';
import { SecretsManagerStandIn } from '../../local/stand-ins/secrets-manager-stand-in';
import { SimulatedClock } from '../../local/stand-ins/simulated-clock';
import { SourceOrg } from '../../local/stand-ins/source-org';
import { createControlTable, Dynalite } from '../support/dynalite';
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
const {
  startExtract,
  createAndStartFlow,
  syncStructure,
  MAX_STRUCTURE_REPLANS,
  calculatedFieldsReader,
  SALESFORCE_SESSION_REUSE_MS,
} = require('../../lambdas/start-extract') as typeof import('../../lambdas/start-extract');
const { objectFigures } =
  require('../../lambdas/finish-object') as typeof import('../../lambdas/finish-object');

const appflowMock = mockClient(AppflowClient);
const redshiftMock = mockClient(RedshiftDataClient);

const RUN_ID = 'run-2026-03-10';
const FLOW_NAME = 'saas2rs-test-Account-run-2026-03-10';
const REFRESH_FLOW_NAME = 'saas2rs-test-Account-refresh-run-2026-03-10';
const CLEAR_STAGING = 'TRUNCATE "salesforce_incremental"."account"';
/** When StartExtract starts the flow: its deadline counts from here. */
const NOW = new Date('2026-03-10T06:05:00.000Z');
const INDUSTRY = () => entityField('Industry', 'picklist', { length: '255' });
const RATING = () => entityField('Rating', 'picklist', { length: '40' });

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
    .withTable('salesforce', 'account', ACCOUNT_TABLE)
    // An earlier run recorded the source's types (public.source_column_types).
    .remembering('salesforce', 'account', ACCOUNT_TABLE);
  appflowMock.on(DescribeConnectorEntityCommand).resolves({ connectorEntityFields: accountEntityFields() });
  appflowMock.on(DescribeFlowCommand).rejects(notFound());
  appflowMock.on(DescribeFlowExecutionRecordsCommand).resolves({ flowExecutions: [] });
  appflowMock
    .on(CreateFlowCommand)
    .resolves({ flowArn: `arn:aws:appflow:eu-west-1:1:flow/${FLOW_NAME}`, flowStatus: 'Active' });
  appflowMock.on(StartFlowCommand).resolves({ flowStatus: 'Active', executionId: 'exec-1' });
});

describe('syncStructure', () => {
  test("reads the tables' columns and the remembered source types with Data API parameters, never values spliced into SQL", async () => {
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
        { name: 'history_schema', value: 'salesforce_history' },
      ],
    });
    // Its own query: Redshift's leader-node catalog cannot be joined with a user table.
    expect(redshiftMock).toHaveReceivedCommandWith(ExecuteStatementCommand, {
      Sql: expect.stringMatching(/FROM public\.source_column_types\s+WHERE final_schema = :final_schema/),
      Parameters: [
        { name: 'final_schema', value: 'salesforce' },
        { name: 'table_name', value: 'account' },
      ],
    });
    expect(appflowMock).toHaveReceivedCommandWith(DescribeConnectorEntityCommand, {
      connectorEntityName: 'Account',
      connectorType: 'Salesforce',
      connectorProfileName: 'salesforce-prod',
    });
  });

  test('creates the staging and final tables of an object loaded for the first time, and remembers its source types', async () => {
    // Prepare
    warehouse.tables.clear();
    warehouse.sourceTypes.clear();

    // Act
    const { changes, refresh } = await synced(
      deps,
      anAccountPlan({ syncMode: 'full', syncReason: 'first-run' }),
    );

    // Assess
    // The schemas are the precheck's, once per run: no child touches them.
    expect(warehouse.statements()).toEqual([
      expect.stringMatching(
        /^CREATE TABLE IF NOT EXISTS "salesforce_incremental"\."account" \("id" VARCHAR\(18\), .* DISTKEY\("id"\) SORTKEY\("id"\)$/,
      ),
      expect.stringMatching(/^CREATE TABLE IF NOT EXISTS "salesforce"\."account" \("id" VARCHAR\(18\), /),
      expect.stringMatching(/^DELETE FROM public\.source_column_types /),
      expect.stringMatching(/^INSERT INTO public\.source_column_types /),
    ]);
    expect(changes.refreshColumns).toEqual([]);
    expect(refresh).toBeUndefined();
    expect(warehouse.sourceTypes.get('salesforce.account')?.get('annualrevenue')).toEqual({
      sourceType: 'DECIMAL(18,2)',
      refreshPending: false,
    });
  });

  test('adds a new source field to staging and final, remembers it pending, and plans a refresh of it into a fresh refresh table', async () => {
    // Prepare
    appflowMock
      .on(DescribeConnectorEntityCommand)
      .resolves({ connectorEntityFields: [...accountEntityFields(), INDUSTRY()] });

    // Act
    const { changes, refresh } = await synced(deps, anAccountPlan());

    // Assess: staging first, the memory before the final table changes, the refresh table last.
    expect(warehouse.statements()).toEqual([
      'ALTER TABLE "salesforce_incremental"."account" ADD COLUMN "industry" VARCHAR(1020) ENCODE ZSTD',
      expect.stringMatching(/^DELETE FROM public\.source_column_types .* column_name IN \('industry'\)$/),
      expect.stringMatching(
        /^INSERT INTO public\.source_column_types .*'industry', 'VARCHAR\(1020\)', true, /,
      ),
      'ALTER TABLE "salesforce"."account" ADD COLUMN "industry" VARCHAR(1020) ENCODE ZSTD',
      'DROP TABLE IF EXISTS "salesforce_incremental"."_refresh_account"',
      'CREATE TABLE "salesforce_incremental"."_refresh_account" ("id" VARCHAR(18), "industry" VARCHAR(1020) ENCODE ZSTD) DISTKEY("id") SORTKEY("id")',
    ]);
    expect(changes.refreshColumns).toEqual(['industry']);
    expect(refresh).toMatchObject({ columns: ['industry'], reasons: ['new-columns'] });
    expect(warehouse.columnsOf('salesforce', 'account')).toContain('industry');
  });

  test('sends no DDL when the tables already match the source and nothing is due', async () => {
    // Act
    const { changes, refresh } = await synced(deps, anAccountPlan());

    // Assess
    expect(changes.statements).toEqual([]);
    expect(refresh).toBeUndefined();
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
    warehouse.withTable('salesforce_incremental', 'contact', ACCOUNT_TABLE);

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

  test('a new field needs no full reload: the run stays incremental and plans a column refresh of it (syncReason new-columns)', async () => {
    // Prepare
    appflowMock
      .on(DescribeConnectorEntityCommand)
      .resolves({ connectorEntityFields: [...accountEntityFields(), INDUSTRY()] });
    const state = anObjectState();

    // Act
    const next = await startExtract(deps, state);

    // Assess
    expect(next.plan).toEqual({ ...state.plan, syncReason: 'new-columns' });
    expect(next.refresh).toEqual({
      columns: ['industry'],
      fields: ['Industry'],
      reasons: ['new-columns'],
      flowName: REFRESH_FLOW_NAME,
    });
    // Both tables have the column before the flow starts; the refresh table waits for the refresh flow.
    expect(warehouse.columnsOf('salesforce_incremental', 'account')).toContain('industry');
    expect(warehouse.columnsOf('salesforce', 'account')).toContain('industry');
    expect(warehouse.columnsOf('salesforce_incremental', '_refresh_account')).toEqual(['id', 'industry']);
    // The incremental flow keeps its change window; the refresh flow is created only once it ended.
    const requests = appflowMock.commandCalls(CreateFlowCommand).map((call) => call.args[0].input);
    expect(requests.map((request) => request.flowName)).toEqual([FLOW_NAME]);
    expect(
      requests[0].tasks?.filter(
        (task) => task.taskType === 'Filter' && task.sourceFields?.[0] === 'SystemModstamp',
      ),
    ).toHaveLength(2);
  });

  test('keeps the reason of a run that is already full when the source gained a field, and refreshes nothing', async () => {
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
    expect(next.refresh).toBeUndefined();
    expect(warehouse.columnsOf('salesforce_incremental', '_refresh_account')).toEqual([]);
  });

  test('retried after CreateFlow was throttled, sends no statement again and plans the same refresh', async () => {
    // Prepare: the first attempt ran the ALTERs, then CreateFlow was throttled
    appflowMock
      .on(DescribeConnectorEntityCommand)
      .resolves({ connectorEntityFields: [...accountEntityFields(), INDUSTRY()] });
    appflowMock.on(CreateFlowCommand).rejectsOnce(throttled()).resolves({ flowStatus: 'Active' });
    const state = anObjectState();
    await expect(startExtract(deps, state)).rejects.toMatchObject({ name: 'Throttled' });
    const submitted = warehouse.submitted.length;

    // Act: the state machine retries the step with the same input
    const next = await startExtract(deps, state);

    // Assess: every statement was answered by its ClientToken; only TRUNCATE waits for the flow's start
    expect(warehouse.submitted.slice(submitted).map((statement) => statement.sqls[0])).toEqual([]);
    expect(warehouse.statements().filter((sql) => sql.startsWith('ALTER TABLE'))).toEqual([
      'ALTER TABLE "salesforce_incremental"."account" ADD COLUMN "industry" VARCHAR(1020) ENCODE ZSTD',
      'ALTER TABLE "salesforce"."account" ADD COLUMN "industry" VARCHAR(1020) ENCODE ZSTD',
    ]);
    expect(next.plan).toMatchObject({ syncMode: 'incremental', syncReason: 'new-columns' });
    expect(next.refresh?.columns).toEqual(['industry']);
  });

  test('a new column staging has already (an earlier run added it) is added to the final table and refreshed', async () => {
    // Prepare: an earlier run added the column to staging and never consolidated
    appflowMock
      .on(DescribeConnectorEntityCommand)
      .resolves({ connectorEntityFields: [...accountEntityFields(), INDUSTRY()] });
    warehouse.withTable('salesforce_incremental', 'account', { ...ACCOUNT_TABLE, industry: 'VARCHAR(1020)' });

    // Act
    const next = await startExtract(deps, anObjectState());

    // Assess
    expect(warehouse.statements().filter((sql) => sql.startsWith('ALTER TABLE'))).toEqual([
      'ALTER TABLE "salesforce"."account" ADD COLUMN "industry" VARCHAR(1020) ENCODE ZSTD',
    ]);
    expect(next.refresh?.columns).toEqual(['industry']);
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

    // Assess: staging's columns, the remembered types, final's columns (Redshift adds one per
    // ALTER TABLE, 40 per transaction), the refresh table.
    expect(warehouse.batches.map((batch) => batch.length)).toEqual([40, 5, 2, 40, 5, 2]);
    expect(warehouse.batches.slice(0, 2).flat()).toEqual(
      added.map(
        (field) =>
          `ALTER TABLE "salesforce_incremental"."account" ADD COLUMN "${field.identifier?.toLowerCase()}" VARCHAR(160) ENCODE ZSTD`,
      ),
    );
    expect(warehouse.batches.slice(3, 5).flat()).toEqual(
      added.map(
        (field) =>
          `ALTER TABLE "salesforce"."account" ADD COLUMN "${field.identifier?.toLowerCase()}" VARCHAR(160) ENCODE ZSTD`,
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

  test('fails before any DDL, naming object, field, old and new type, when the sort key column would have to be rebuilt', async () => {
    // Prepare: the final table is sorted on NumberOfEmployees, which became a text field
    appflowMock.on(DescribeConnectorEntityCommand).resolves({
      connectorEntityFields: accountEntityFields().map((field) =>
        field.identifier === 'NumberOfEmployees'
          ? entityField('NumberOfEmployees', 'string', { length: '40' })
          : field,
      ),
    });

    // Act
    const act = synced(deps, anAccountPlan({ sortKey: 'NumberOfEmployees' }));

    // Assess
    await expect(act).rejects.toMatchObject({
      name: 'SchemaMismatch',
      message: expect.stringContaining(
        'Account: field NumberOfEmployees is INTEGER in salesforce.account but the source now calls for VARCHAR(160)',
      ),
    });
    expect(warehouse.statements()).toEqual([]);
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
      sourceTypes: expect.objectContaining({ status: 'FINISHED' }),
      changes: { done: 0, current: { id: ddl.id, attempt: 1, status: 'RUNNING' } },
      planned: expect.stringMatching(/^[0-9a-f]{32}$/),
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
    expect(waits).toEqual([
      'Account: catalog read',
      'Account: structure sync',
      'Account: column changes',
      'Account: clear staging',
    ]);
    expect(next).toEqual({
      ...state,
      plan: { ...state.plan, syncReason: 'new-columns' },
      flow: expect.objectContaining({ flowName: FLOW_NAME, executionId: 'exec-1' }),
      refresh: expect.objectContaining({ columns: ['industry'] }),
    });
    // The catalog, the remembered types, staging's column, the memory, final's column, the refresh table, TRUNCATE.
    expect(warehouse.submitted.map((statement) => statement.sqls[0].split(' ')[0])).toEqual([
      'SELECT',
      'SELECT',
      'ALTER',
      'DELETE',
      'ALTER',
      'DROP',
      'TRUNCATE',
    ]);
    expect(appflowMock).toHaveReceivedCommandTimes(CreateFlowCommand, 1);
    expect(appflowMock).toHaveReceivedCommandTimes(StartFlowCommand, 1);
  });

  test('a field added while a statement is waited on: the statement ends, the sync is planned again from a fresh catalog read, and the flow loads tables that hold every field', async () => {
    // Prepare: the source gained Industry; the first DDL batch (staging's new column) is slow
    appflowMock
      .on(DescribeConnectorEntityCommand)
      .resolves({ connectorEntityFields: [...accountEntityFields(), INDUSTRY()] });
    warehouse.runsFor(/^ALTER TABLE/, 1, 1);
    const first = await startExtract(deps, anObjectState(), () => NOW);
    // Meanwhile the source gains Rating too
    appflowMock
      .on(DescribeConnectorEntityCommand)
      .resolves({ connectorEntityFields: [...accountEntityFields(), INDUSTRY(), RATING()] });

    // Act: the state machine calls the step again after the wait
    const next = await startExtract(deps, first, () => NOW);

    // Assess
    expect(first.waiting?.what).toBe('Account: structure sync');
    for (const schema of ['salesforce_incremental', 'salesforce'])
      expect(warehouse.columnsOf(schema, 'account')).toEqual(expect.arrayContaining(['industry', 'rating']));
    const flow = appflowMock.commandCalls(CreateFlowCommand)[0].args[0].input;
    expect(flow.tasks?.find((task) => task.taskType === 'Filter')?.sourceFields).toEqual(
      expect.arrayContaining(['Industry', 'Rating']),
    );
    expect(next.refresh?.columns).toEqual(['industry', 'rating']);
    // The catalog was read again, as new statements; none of the earlier plan was sent twice.
    expect(warehouse.submittedMatching(CATALOG_READ).map((statement) => statement.statementName)).toEqual([
      `saas2rs-test-Account-catalog-${RUN_ID}`,
      `saas2rs-test-Account-catalog-r1-${RUN_ID}`,
    ]);
    expect(warehouse.submittedMatching(/ADD COLUMN "industry"/)).toHaveLength(2); // staging, then final
    expect(next).not.toHaveProperty('prepare');
  });

  test('a plan that changes while its statement still runs waits on that statement first, then plans again', async () => {
    // Prepare: staging's new column runs through two looks; the source gains Rating after the first
    appflowMock
      .on(DescribeConnectorEntityCommand)
      .resolves({ connectorEntityFields: [...accountEntityFields(), INDUSTRY()] });
    warehouse.runsFor(/^ALTER TABLE/, 2, 1);
    const first = await startExtract(deps, anObjectState(), () => NOW);
    appflowMock
      .on(DescribeConnectorEntityCommand)
      .resolves({ connectorEntityFields: [...accountEntityFields(), INDUSTRY(), RATING()] });

    // Act
    const second = await startExtract(deps, first, () => NOW);
    const third = await startExtract(deps, second, () => NOW);

    // Assess: still the same statement, not a second catalog read, until it ended
    expect(second.waiting).toMatchObject({ statementId: first.waiting?.statementId });
    expect(second.prepare?.changes).toEqual(first.prepare?.changes);
    expect(third.flow?.executionId).toBe('exec-1');
    expect(warehouse.columnsOf('salesforce_incremental', 'account')).toEqual(
      expect.arrayContaining(['industry', 'rating']),
    );
  });

  test('fails SchemaMismatch, naming the object, when the source fields keep changing under the structure sync', async () => {
    // Prepare: the sync was planned again as often as it may be already
    appflowMock
      .on(DescribeConnectorEntityCommand)
      .resolves({ connectorEntityFields: [...accountEntityFields(), INDUSTRY()] });
    warehouse.runsFor(/^ALTER TABLE/, 1, 1);
    const first = await startExtract(deps, anObjectState(), () => NOW);
    appflowMock
      .on(DescribeConnectorEntityCommand)
      .resolves({ connectorEntityFields: [...accountEntityFields(), INDUSTRY(), RATING()] });
    const exhausted = { ...first, prepare: { ...first.prepare, replans: MAX_STRUCTURE_REPLANS } };

    // Act
    const act = startExtract(deps, exhausted, () => NOW);

    // Assess
    await expect(act).rejects.toMatchObject({
      name: 'SchemaMismatch',
      message: expect.stringMatching(
        /^Account: the source's fields changed 6 times while the structure sync ran/,
      ),
    });
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
    const alters = warehouse.submittedMatching(/^ALTER TABLE "salesforce_incremental"/);
    expect(alters.map((statement) => statement.ending?.status ?? 'FINISHED')).toEqual(['FAILED', 'FINISHED']);
    expect(alters[1].clientToken).not.toBe(alters[0].clientToken);
    expect(
      warehouse.statements().filter((sql) => sql.startsWith('ALTER TABLE "salesforce_incremental"')),
    ).toHaveLength(1);
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
      [`saas2rs-test-Account-catalog-types-${RUN_ID}`, true],
      [`saas2rs-test-Account-ddl1-${RUN_ID}`, true],
      [`saas2rs-test-Account-types1-${RUN_ID}`, true],
      [`saas2rs-test-Account-change1-${RUN_ID}`, true],
      [`saas2rs-test-Account-refresh-table-${RUN_ID}`, true],
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

describe('column refresh (issue 21)', () => {
  const DAYS_OPEN = () => entityField('Days_Open__c', 'double', { precision: '18', scale: '0' });
  const STATUS = () => entityField('Status__c', 'picklist', { length: '40' });
  /** Account with a formula field (Days_Open__c) and a field that behaves like one (Status__c). */
  const withFormulas = () => {
    appflowMock
      .on(DescribeConnectorEntityCommand)
      .resolves({ connectorEntityFields: [...accountEntityFields(), DAYS_OPEN(), STATUS()] });
    const table = { ...ACCOUNT_TABLE, days_open__c: 'DECIMAL(18,0)', status__c: 'VARCHAR(160)' };
    warehouse
      .withTable('salesforce_incremental', 'account', table)
      .withTable('salesforce', 'account', table)
      .remembering('salesforce', 'account', table);
  };
  const formulasDue = (overrides: Partial<ObjectPlan> = {}) =>
    anObjectState({ plan: anAccountPlan({ formulaRefreshDue: true, ...overrides }) });
  const reader = (answer: () => Promise<string[]>) => {
    const asked: string[] = [];
    return {
      asked,
      calculatedFields: async (plan: ObjectPlan) => {
        asked.push(plan.objectName);
        return answer();
      },
    };
  };

  test("due formulas: reads the formula fields once, refreshes them with the row's refreshFields, and keeps the run incremental", async () => {
    // Prepare
    withFormulas();
    const formulas = reader(async () => ['Days_Open__c']);
    const state = formulasDue({ refreshFields: ['Status__c'] });

    // Act
    const next = await startExtract(
      { ...deps, calculatedFields: formulas.calculatedFields },
      state,
      () => NOW,
    );

    // Assess
    expect(formulas.asked).toEqual(['Account']);
    expect(next.plan).toEqual({ ...state.plan, syncReason: 'formula-refresh' });
    expect(next.refresh).toEqual({
      columns: ['days_open__c', 'status__c'],
      fields: ['Days_Open__c', 'Status__c'],
      reasons: ['formula-refresh'],
      flowName: REFRESH_FLOW_NAME,
    });
    expect(warehouse.statements()).toEqual([
      'DROP TABLE IF EXISTS "salesforce_incremental"."_refresh_account"',
      'CREATE TABLE "salesforce_incremental"."_refresh_account" ("id" VARCHAR(18), "days_open__c" DECIMAL(18,0), "status__c" VARCHAR(160) ENCODE ZSTD) DISTKEY("id") SORTKEY("id")',
      CLEAR_STAGING,
    ]);
  });

  test("a refresh cut at 30,000 bytes of column names is not the formulas' refresh: they stay due", async () => {
    // Prepare: 400 new fields of 80-character names (32,400 bytes) come first; the formula is left out
    withFormulas();
    const added = Array.from({ length: 400 }, (_, index) =>
      entityField(`Field_${String(index).padStart(3, '0')}_${'x'.repeat(70)}`, 'string', { length: '10' }),
    );
    appflowMock
      .on(DescribeConnectorEntityCommand)
      .resolves({ connectorEntityFields: [...accountEntityFields(), DAYS_OPEN(), STATUS(), ...added] });
    const formulas = reader(async () => ['Days_Open__c']);
    const state = formulasDue();

    // Act
    const next = await startExtract(
      { ...deps, calculatedFields: formulas.calculatedFields },
      state,
      () => NOW,
    );

    // Assess
    expect(next.refresh?.reasons).toEqual(['new-columns']);
    expect(next.refresh?.columns).not.toContain('days_open__c');
    expect(Buffer.byteLength(next.refresh?.columns.join(',') ?? '')).toBeLessThanOrEqual(30_000);
    // FinishObject records the formulas' refresh only while the plan still says they were due.
    expect(next.plan).not.toHaveProperty('formulaRefreshDue');
    expect(next.plan.syncReason).toBe('new-columns');
    // ... and the control row (DynamoDB) keeps the last refresh it had: the next run refreshes them.
    const dynalite = new Dynalite();
    await dynalite.start();
    const client = dynalite.client();
    try {
      const doc = DynamoDBDocumentClient.from(client);
      await createControlTable(client, 'control-formulas');
      const lastRefresh = '2026-03-09T06:00:00.000Z';
      await doc.send(
        new PutCommand({
          TableName: 'control-formulas',
          Item: { objectName: 'Account', lastFormulaRefreshAt: lastRefresh },
        }),
      );
      await claimObject(doc, 'control-formulas', next.plan, next.run, NOW);
      await recordObjectSuccess(doc, 'control-formulas', next.plan, next.run, objectFigures(next), NOW);
      const row = await doc.send(
        new GetCommand({
          TableName: 'control-formulas',
          Key: { objectName: 'Account' },
          ConsistentRead: true,
        }),
      );
      expect(row.Item).toMatchObject({ lastFormulaRefreshAt: lastRefresh, lastRun: { status: 'SUCCEEDED' } });
    } finally {
      client.destroy();
      await dynalite.stop();
    }
  });

  test('formulas not due: Salesforce is not asked, nothing is refreshed', async () => {
    // Prepare
    withFormulas();
    const formulas = reader(async () => ['Days_Open__c']);

    // Act
    const next = await startExtract(
      { ...deps, calculatedFields: formulas.calculatedFields },
      anObjectState({ plan: anAccountPlan({ refreshFields: ['Status__c'] }) }),
      () => NOW,
    );

    // Assess
    expect(formulas.asked).toEqual([]);
    expect(next.refresh).toBeUndefined();
    expect(next.plan.syncReason).toBe('incremental');
  });

  test('a describe that fails does not stop the load: refreshFields are refreshed, the formulas stay due for the next run', async () => {
    // Prepare
    withFormulas();
    const formulas = reader(async () => {
      throw new Error('Salesforce answered 503');
    });
    const state = formulasDue({ refreshFields: ['Status__c'] });

    // Act
    const next = await startExtract(
      { ...deps, calculatedFields: formulas.calculatedFields },
      state,
      () => NOW,
    );

    // Assess
    expect(next.flow?.flowName).toBe(FLOW_NAME);
    expect(next.refresh?.columns).toEqual(['status__c']);
    // FinishObject records the formulas' refresh only while the plan still says it was due.
    expect(next.plan).not.toHaveProperty('formulaRefreshDue');
  });

  test('a formula refresh of a run waiting on a slow statement reads Salesforce once, on its first invocation', async () => {
    // Prepare
    withFormulas();
    warehouse.runsFor(/information_schema\.columns/, 1);
    const formulas = reader(async () => ['Days_Open__c']);
    const dependencies = { ...deps, calculatedFields: formulas.calculatedFields };

    // Act
    const first = await startExtract(dependencies, formulasDue(), () => NOW);
    const next = await startExtract(dependencies, first, () => NOW);

    // Assess
    expect(first.prepare?.calculatedFields).toEqual({ fields: ['Days_Open__c'], known: true });
    expect(formulas.asked).toEqual(['Account']);
    expect(next.refresh?.columns).toEqual(['days_open__c']);
  });

  test('a full load refreshes nothing: every column arrives with its current value', async () => {
    // Prepare
    withFormulas();
    const formulas = reader(async () => ['Days_Open__c']);

    // Act
    const next = await startExtract(
      { ...deps, calculatedFields: formulas.calculatedFields },
      formulasDue({ syncMode: 'full', syncReason: 'reconcile', window: {} }),
      () => NOW,
    );

    // Assess
    expect(formulas.asked).toEqual([]);
    expect(next.refresh).toBeUndefined();
    expect(next.plan.formulaRefreshDue).toBe(true);
  });

  describe('the refresh phase: StartExtract again, once the incremental flow ended', () => {
    const incremental = { ...startedFlowOf(FLOW_NAME), state: 'SUCCEEDED' as const, recordsProcessed: 3 };
    const refreshing = () =>
      anObjectState({
        plan: anAccountPlan({ formulaRefreshDue: true, syncReason: 'formula-refresh' }),
        flow: incremental,
        refresh: {
          columns: ['days_open__c'],
          fields: ['Days_Open__c'],
          reasons: ['formula-refresh'],
          flowName: REFRESH_FLOW_NAME,
        },
      });

    test('creates the refresh flow (key and refreshed fields, every live record, into the refresh table) and starts it, touching no table', async () => {
      // Prepare
      withFormulas();

      // Act
      const next = await startExtract(deps, refreshing(), () => NOW);

      // Assess
      const request = appflowMock.commandCalls(CreateFlowCommand)[0].args[0].input;
      expect(request.flowName).toBe(REFRESH_FLOW_NAME);
      expect(request.tasks?.filter((task) => task.taskType === 'Filter')).toEqual([
        expect.objectContaining({ sourceFields: ['Id', 'Days_Open__c'] }), // the projection, no cursor filter
      ]);
      expect(request.sourceFlowConfig?.sourceConnectorProperties?.Salesforce).toMatchObject({
        object: 'Account',
        includeDeletedRecords: false,
      });
      expect(request.destinationFlowConfigList?.[0].destinationConnectorProperties?.Redshift?.object).toBe(
        'salesforce_incremental._refresh_account',
      );
      expect(appflowMock).toHaveReceivedCommandWith(StartFlowCommand, {
        flowName: REFRESH_FLOW_NAME,
        clientToken: REFRESH_FLOW_NAME,
      });
      expect(warehouse.submitted).toEqual([]);
      expect(next.extract).toEqual(incremental);
      expect(next.flow).toMatchObject({
        flowName: REFRESH_FLOW_NAME,
        executionId: 'exec-1',
        state: 'RUNNING',
        deadline: '2026-03-10T18:05:00.000Z',
      });
    });

    test('adopts the refresh flow run an earlier attempt started: no CreateFlow, no StartFlow', async () => {
      // Prepare
      withFormulas();
      appflowMock.on(DescribeFlowCommand, { flowName: REFRESH_FLOW_NAME }).resolves({ flowStatus: 'Active' });
      appflowMock
        .on(DescribeFlowExecutionRecordsCommand, { flowName: REFRESH_FLOW_NAME })
        .resolves({ flowExecutions: [{ executionId: 'exec-earlier', executionStatus: 'InProgress' }] });

      // Act
      const next = await startExtract(deps, refreshing(), () => NOW);

      // Assess
      expect(appflowMock).not.toHaveReceivedCommand(CreateFlowCommand);
      expect(appflowMock).not.toHaveReceivedCommand(StartFlowCommand);
      expect(next.flow).toMatchObject({ flowName: REFRESH_FLOW_NAME, executionId: 'exec-earlier' });
    });

    test('fails naming the field when a field to refresh is gone at the source', async () => {
      // Act: Days_Open__c was deleted at the source between the two flows
      const act = startExtract(deps, refreshing(), () => NOW);

      // Assess
      await expect(act).rejects.toMatchObject({
        name: 'SchemaMismatch',
        message: 'Account: field(s) Days_Open__c to refresh no longer exist at the source',
      });
      expect(appflowMock).not.toHaveReceivedCommand(CreateFlowCommand);
    });
  });
});

/** A flow the incremental phase started, as the wait returned it. */
function startedFlowOf(flowName: string) {
  return { flowName, executionId: 'exec-0', state: 'RUNNING' as const, polls: 0, recordsProcessed: 0 };
}

describe('the formula fields reader: one Salesforce session for a while (issue 21)', () => {
  const SECRET_ID = 'saas-to-redshift/test/salesforce-limits';
  const keys = generateConnectedAppKeys();
  const clock = new SimulatedClock('2026-03-10T06:00:00.000Z');
  const org = new SourceOrg(clock);
  const salesforce = new SalesforceLimitsStandIn({ org, clock });
  let secretsStandIn: SecretsManagerStandIn;
  let secrets: SecretsManagerClient;
  let nowMs = NOW.getTime();
  const contact = () => anAccountPlan({ objectName: 'Contact', targetTable: 'contact' });
  const signIns = () => salesforce.calls.filter((call) => call.path === '/services/oauth2/token').length;
  const secretReads = () => secretsStandIn.calls.filter((call) => call.operation === 'GetSecretValue').length;

  beforeAll(async () => {
    org.defineObject('Account', [
      { name: 'Days_Open__c', type: 'double', precision: 18, scale: 0, formula: true },
    ]);
    org.defineObject('Contact', [
      { name: 'Score__c', type: 'double', precision: 18, scale: 0, formula: true },
    ]);
    salesforce.registerConnectedApp({
      clientId: 'app',
      certificate: keys.publicKey,
      usernames: ['u@example.com'],
    });
    const { url } = await salesforce.start();
    secretsStandIn = new SecretsManagerStandIn({
      [SECRET_ID]: JSON.stringify({
        loginUrl: url,
        clientId: 'app',
        username: 'u@example.com',
        privateKey: keys.privateKey,
      }),
    });
    secrets = new SecretsManagerClient({
      region: 'eu-west-1',
      endpoint: (await secretsStandIn.start()).url,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    secrets.destroy();
    await secretsStandIn.stop();
    await salesforce.stop();
  });

  test('reads the secret and signs in once for every object within the reuse window, then again after it', async () => {
    // Prepare
    const read = calculatedFieldsReader(secrets, SECRET_ID, { now: () => nowMs });

    // Act
    const account = await read(anAccountPlan());
    nowMs += SALESFORCE_SESSION_REUSE_MS - 60_000;
    const inWindow = await read(contact());
    const before = { signIns: signIns(), secretReads: secretReads() };
    nowMs += 2 * 60_000;
    const afterWindow = await read(contact());

    // Assess
    expect([account, inWindow, afterWindow]).toEqual([['Days_Open__c'], ['Score__c'], ['Score__c']]);
    expect(before).toEqual({ signIns: 1, secretReads: 1 });
    expect({ signIns: signIns(), secretReads: secretReads() }).toEqual({ signIns: 2, secretReads: 2 });
  });

  test('opens a new session, once, when Salesforce refuses the one it keeps', async () => {
    // Prepare: a session opened, then Salesforce ends it (a new day) within the reuse window
    const read = calculatedFieldsReader(secrets, SECRET_ID, { now: () => nowMs });
    await read(anAccountPlan());
    const signedIn = signIns();
    clock.advanceToDate('2026-03-11');

    // Act
    const fields = await read(contact());

    // Assess
    expect(fields).toEqual(['Score__c']);
    expect(signIns()).toBe(signedIn + 1);
    expect(salesforce.calls.filter((call) => call.status === 401)).toHaveLength(1);
  });
});
