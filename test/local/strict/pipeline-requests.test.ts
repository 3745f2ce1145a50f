import { buildCreateFlowRequest, type FlowSettings } from '../../../lambdas/common/flow-definition';
import type { ObjectPlan } from '../../../lambdas/common/run-plan';
import type { SourceField } from '../../../lambdas/common/source-fields';
import { validateServiceRequest } from '../../../local/strict/api-model-validator';

// The SDK fills CreateFlow's idempotency token itself; the model must accept it.
const SDK_CLIENT_TOKEN = '0b6f7c1e-3a52-4b8e-9f0d-2c4e6a8b1d3f';

const SETTINGS: FlowSettings = {
  flowNamePrefix: 'saas-to-redshift-dev',
  redshiftConnectorProfileName: 'redshift-dev',
  stagingBucketName: 'saas-to-redshift-staging-123456789012',
  stagingSchema: 'salesforce_staging',
  dataTransferApi: 'AUTOMATIC',
  kmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
};

function field(name: string, sourceType: string, truncateLength?: number): SourceField {
  return {
    name,
    sourceType,
    column: name.toLowerCase(),
    redshiftType: 'VARCHAR(65535)',
    columnType: { kind: 'varchar', length: 65535 },
    ...(truncateLength === undefined ? {} : { truncateLength }),
  };
}

function plan(overrides: Partial<ObjectPlan> = {}): ObjectPlan {
  return {
    objectName: 'Account',
    targetTable: 'account',
    connectorType: 'Salesforce',
    connectorProfileName: 'salesforce-prod',
    primaryKey: 'Id',
    cursorField: 'SystemModstamp',
    deleteMode: 'soft',
    syncMode: 'incremental',
    syncReason: 'watermark',
    window: { start: '2026-03-01T00:00:00.000Z', end: '2026-03-02T00:00:00.000Z' },
    ...overrides,
  } as ObjectPlan;
}

function createFlowRefusal(objectPlan: ObjectPlan, fields: SourceField[], runId: string) {
  const request = buildCreateFlowRequest(objectPlan, fields, runId, SETTINGS);
  return validateServiceRequest('appflow', 'CreateFlow', {
    ...(request as unknown as Record<string, unknown>),
    clientToken: SDK_CLIENT_TOKEN,
  });
}

describe("the pipeline's requests satisfy AWS's models", () => {
  test('CreateFlow for a 600-field object with a long-text Truncate task', () => {
    const fields = [
      field('Id', 'id'),
      field('SystemModstamp', 'datetime'),
      field('Description', 'textarea', 16383),
      ...Array.from({ length: 600 }, (_, index) =>
        field(`Field_${String(index).padStart(24, '0')}__c`, 'string'),
      ),
    ];
    expect(createFlowRefusal(plan(), fields, 'day-1-2026-03-02')).toBeUndefined();
  });

  test('CreateFlow for a backfill of a custom-connector object with hard deletes', () => {
    const customPlan = plan({
      objectName: 'Invoice__c',
      targetTable: 'invoice__c',
      connectorType: 'CustomConnector',
      connectorLabel: 'billing-connector',
      deleteMode: 'hard',
      syncMode: 'full',
      window: {},
    });
    expect(
      createFlowRefusal(customPlan, [field('Id', 'id'), field('SystemModstamp', 'datetime')], 'manual-run_1'),
    ).toBeUndefined();
  });

  test.each([
    ['BETWEEN', ['BETWEEN']],
    ['>= and <', ['GREATER_THAN_OR_EQUAL_TO', 'LESS_THAN']],
  ])('CreateFlow for a custom connector whose cursor declares %s', (_label, filterOperators) => {
    const customPlan = plan({ connectorType: 'CustomConnector', connectorLabel: 'billing-connector' });
    const cursor: SourceField = { ...field('SystemModstamp', 'datetime'), filterOperators };
    const request = buildCreateFlowRequest(customPlan, [field('Id', 'id'), cursor], 'run-1', SETTINGS);
    expect(
      (request.tasks ?? []).some((task) => task.connectorOperator?.CustomConnector === filterOperators[0]),
    ).toBe(true);
    expect(createFlowRefusal(customPlan, [field('Id', 'id'), cursor], 'run-1')).toBeUndefined();
  });

  test('the longest names a control row allows (80-character object, run id from a long execution name) fit AWS', () => {
    const longObject = `${'X'.repeat(77)}__c`;
    expect(
      createFlowRefusal(
        plan({ objectName: longObject, targetTable: 'x' }),
        [field('Id', 'id')],
        'r'.repeat(80),
      ),
    ).toBeUndefined();
  });

  test("a connector label with '!' or '#' (valid for AppFlow) still makes a valid flow tag", () => {
    const customPlan = plan({
      connectorType: 'CustomConnector',
      connectorLabel: 'billing#connector!v2',
      syncMode: 'full',
      window: {},
    });
    expect(
      createFlowRefusal(customPlan, [field('Id', 'id'), field('SystemModstamp', 'datetime')], 'run-1'),
    ).toBeUndefined();
  });
});
