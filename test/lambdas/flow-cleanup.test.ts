import { AppflowClient, DeleteFlowCommand, ResourceNotFoundException } from '@aws-sdk/client-appflow';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { FlowState, ObjectState } from '../../lambdas/common/object-state';
import { anAccountPlan, anObjectState } from './support/fixtures';

// The handler modules read their configuration at load time.
Object.assign(process.env, { CONTROL_TABLE_NAME: 'control-test', FLOW_NAME_PREFIX: 'saas2rs-test' });
const finishObject = require('../../lambdas/finish-object') as typeof import('../../lambdas/finish-object');
const recordFailure =
  require('../../lambdas/record-failure') as typeof import('../../lambdas/record-failure');

const appflowMock = mockClient(AppflowClient);
const dynamoMock = mockClient(DynamoDBDocumentClient);

const FLOW = 'saas2rs-test-Account-run-2026-03-10';
const REFRESH_FLOW = 'saas2rs-test-Account-refresh-run-2026-03-10';
const flow = (flowName: string, recordsProcessed: number): FlowState => ({
  flowName,
  executionId: `exec-${flowName}`,
  state: 'SUCCEEDED',
  polls: 0,
  recordsProcessed,
});
const REFRESH = {
  columns: ['days_open__c'],
  fields: ['Days_Open__c'],
  reasons: ['formula-refresh' as const],
  flowName: REFRESH_FLOW,
};
const deleted = () => appflowMock.commandCalls(DeleteFlowCommand).map((call) => call.args[0].input.flowName);

beforeEach(() => {
  appflowMock.reset();
  dynamoMock.reset();
  appflowMock.on(DeleteFlowCommand).resolves({});
  dynamoMock.on(UpdateCommand).resolves({});
});

describe('both temporary flows go on every path (issue 21)', () => {
  test('FinishObject deletes the incremental flow and the refresh flow, and reports the refresh', async () => {
    // Prepare: after the refresh, `flow` is the refresh flow and `extract` the incremental one
    const state: ObjectState = anObjectState({
      plan: anAccountPlan({ syncReason: 'formula-refresh', formulaRefreshDue: true }),
      extract: flow(FLOW, 3),
      flow: flow(REFRESH_FLOW, 500),
      consolidation: { state: 'FINISHED' },
      refresh: {
        ...REFRESH,
        figures: { rowsStaged: 500, keysMatched: 500, keysMissing: 0, rowsRefreshed: 4 },
      },
    });

    // Act
    const result = await finishObject.handler(state);

    // Assess
    expect(deleted()).toEqual([FLOW, REFRESH_FLOW]);
    expect(result).toMatchObject({
      status: 'SUCCEEDED',
      syncMode: 'incremental',
      syncReason: 'formula-refresh',
      recordsExtracted: 3,
      columnsRefreshed: ['days_open__c'],
      rowsRefreshed: 4,
      typeChanges: [],
    });
  });

  test('FinishObject of a run without a refresh deletes its one flow only', async () => {
    // Act
    await finishObject.handler(anObjectState({ flow: flow(FLOW, 0) }));

    // Assess
    expect(deleted()).toEqual([FLOW]);
  });

  test('RecordFailure deletes both flows of a failed refresh phase, the refresh flow being gone already included', async () => {
    // Prepare: the refresh flow timed out; an earlier attempt had deleted it
    appflowMock
      .on(DeleteFlowCommand, { flowName: REFRESH_FLOW })
      .rejects(new ResourceNotFoundException({ message: 'gone', $metadata: {} }));
    const state: ObjectState = anObjectState({
      extract: flow(FLOW, 3),
      flow: { ...flow(REFRESH_FLOW, 0), state: 'RUNNING' },
      refresh: REFRESH,
      error: { Error: 'FlowWaitTimedOut', Cause: 'Account: flow … still running at its deadline' },
    });

    // Act
    const result = await recordFailure.handler(state);

    // Assess
    expect(deleted()).toEqual([FLOW, REFRESH_FLOW]);
    expect(result).toMatchObject({ status: 'FAILED', recordsExtracted: 3 });
  });

  test('RecordFailure of a step that failed before any refresh was planned deletes the incremental flow by its name', async () => {
    // Act
    await recordFailure.handler(anObjectState({ error: { Error: 'StatementFailed', Cause: 'boom' } }));

    // Assess
    expect(deleted()).toEqual([FLOW]);
  });
});
