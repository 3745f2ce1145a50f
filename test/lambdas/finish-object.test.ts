import { AppflowClient, DeleteFlowCommand } from '@aws-sdk/client-appflow';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { captureEmf } from '../support/emf';
import { anObjectState } from './support/fixtures';

// The handler module reads its configuration at load time.
process.env.CONTROL_TABLE_NAME = 'control-test';
const { objectFigures, handler } =
  require('../../lambdas/finish-object') as typeof import('../../lambdas/finish-object');
const appflowMock = mockClient(AppflowClient);
const dynamoMock = mockClient(DynamoDBDocumentClient);

const FLOW = {
  flowName: 'saas2rs-test-Account-run-2026-03-10',
  executionId: 'exec-1',
  state: 'SUCCEEDED' as const,
  polls: 2,
  recordsProcessed: 120,
};

describe('objectFigures', () => {
  test("carries the consolidation's updated, unchanged and truncated figures to the control row and report", () => {
    // Prepare
    const state = anObjectState({
      flow: FLOW,
      consolidation: {
        statementId: 'call-1',
        state: 'FINISHED',
        figures: {
          rowsStaged: 120,
          duplicatesRemoved: 20,
          rowsInserted: 95,
          rowsUpdated: 30,
          rowsUnchanged: 4,
          rowsDeleted: 5,
          rowsPurged: 2,
          valuesTruncated: 3,
        },
      },
    });

    // Act
    const figures = objectFigures(state);

    // Assess
    expect(figures).toEqual({
      recordsExtracted: 120,
      duplicatesRemoved: 20,
      rowsInserted: 95,
      rowsUpdated: 30,
      rowsUnchanged: 4,
      rowsDeleted: 5,
      rowsPurged: 2,
      valuesTruncated: 3,
      consolidationSkipped: false,
      columnsRefreshed: [],
      rowsRefreshed: 0,
      typeChanges: [],
    });
  });

  test('a column refresh after an empty load: the incremental flow counts as extracted, the refresh as refreshed, the consolidation as skipped', () => {
    // Prepare: the incremental flow found nothing; the refresh flow is the one last waited on.
    const state = anObjectState({
      extract: { ...FLOW, recordsProcessed: 0 },
      flow: { ...FLOW, flowName: 'saas2rs-test-Account-refresh-run-2026-03-10', recordsProcessed: 500 },
      consolidation: { state: 'FINISHED' },
      refresh: {
        columns: ['days_open__c', 'score__c'],
        fields: ['Days_Open__c', 'Score__c'],
        reasons: ['type-change', 'formula-refresh'],
        flowName: 'saas2rs-test-Account-refresh-run-2026-03-10',
        figures: { rowsStaged: 500, keysMatched: 498, keysMissing: 2, rowsRefreshed: 7 },
      },
      typeChanges: [{ field: 'Score__c', from: 'DECIMAL(18,2)', to: 'VARCHAR(160)' }],
    });

    // Act
    const figures = objectFigures(state);

    // Assess
    expect(figures).toMatchObject({
      recordsExtracted: 0,
      rowsInserted: 0,
      consolidationSkipped: true,
      columnsRefreshed: ['days_open__c', 'score__c'],
      rowsRefreshed: 7,
      typeChanges: [{ field: 'Score__c', from: 'DECIMAL(18,2)', to: 'VARCHAR(160)' }],
    });
  });

  test('carries the history figures of an object that keeps history, and none for one that does not', () => {
    // Prepare
    const figures = {
      rowsStaged: 10,
      duplicatesRemoved: 0,
      rowsInserted: 10,
      rowsUpdated: 4,
      rowsUnchanged: 0,
      rowsDeleted: 1,
      rowsPurged: 0,
      valuesTruncated: 0,
    };
    const consolidation = (extra: object) => ({
      statementId: 'call-1',
      state: 'FINISHED' as const,
      figures: { ...figures, ...extra },
    });

    // Act
    const withHistory = objectFigures(
      anObjectState({
        flow: FLOW,
        consolidation: consolidation({ historyVersionsAdded: 12, historyVersionsClosed: 5 }),
      }),
    );
    const without = objectFigures(anObjectState({ flow: FLOW, consolidation: consolidation({}) }));

    // Assess
    expect(withHistory).toMatchObject({ historyVersionsAdded: 12, historyVersionsClosed: 5 });
    expect(without).not.toHaveProperty('historyVersionsAdded');
    expect(without).not.toHaveProperty('historyVersionsClosed');
  });

  test('counts zeros when the flow found nothing and the CALL was skipped', () => {
    // Act
    const figures = objectFigures(anObjectState({ flow: { ...FLOW, recordsProcessed: 0 } }));

    // Assess
    expect(figures).toMatchObject({
      rowsUpdated: 0,
      rowsUnchanged: 0,
      valuesTruncated: 0,
      consolidationSkipped: true,
    });
  });
});

describe('FinishObject metrics', () => {
  beforeEach(() => {
    appflowMock.reset();
    dynamoMock.reset();
    appflowMock.on(DeleteFlowCommand).resolves({});
    dynamoMock.on(UpdateCommand).resolves({});
  });

  test("counts the loaded object 0 for the environment's ObjectFailed (dimensions environment and service only): the alarm's only clear signal", async () => {
    // Act
    const { metrics, error } = await captureEmf(() => handler(anObjectState({ flow: FLOW })), {
      PIPELINE_ENVIRONMENT: 'prod',
    });

    // Assess
    expect(error).toBeUndefined();
    expect(metrics.filter((metric) => metric.name === 'ObjectFailed')).toEqual([
      expect.objectContaining({
        namespace: 'SaasToRedshift',
        value: 0,
        dimensions: { environment: 'prod', service: 'saas-to-redshift' },
      }),
    ]);
    expect(metrics).toContainEqual(
      expect.objectContaining({
        name: 'ObjectSucceeded',
        value: 1,
        dimensions: { object: 'Account', environment: 'prod', service: 'saas-to-redshift' },
      }),
    );
  });
});
