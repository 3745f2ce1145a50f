import type { Task } from '@aws-sdk/client-appflow';
import { buildCreateFlowRequest, type FlowSettings, flowNameFor } from '../../lambdas/common/flow-definition';
import type { SourceField } from '../../lambdas/common/source-fields';
import { anAccountPlan, RUN_STARTED_AT } from './support/fixtures';

const settings: FlowSettings = {
  flowNamePrefix: 'saas2rs-dev',
  redshiftConnectorProfileName: 'redshift-dev',
  stagingBucketName: 'staging-bucket-dev',
  stagingSchema: 'salesforce_incremental',
  dataTransferApi: 'BULKV2',
};
const RUN_ID = 'run-2026-03-10';

const accountFields: SourceField[] = [
  { name: 'Id', sourceType: 'id', column: 'id', redshiftType: 'VARCHAR(65535)' },
  { name: 'SystemModstamp', sourceType: 'datetime', column: 'systemmodstamp', redshiftType: 'TIMESTAMP' },
  { name: 'IsDeleted', sourceType: 'boolean', column: 'isdeleted', redshiftType: 'BOOLEAN' },
  { name: 'Name', sourceType: 'string', column: 'name', redshiftType: 'VARCHAR(65535)' },
  {
    name: 'AnnualRevenue',
    sourceType: 'currency',
    column: 'annualrevenue',
    redshiftType: 'DOUBLE PRECISION',
  },
];

const filterTasks = (tasks: Task[] | undefined) => (tasks ?? []).filter((task) => task.taskType === 'Filter');
const mapTasks = (tasks: Task[] | undefined) => (tasks ?? []).filter((task) => task.taskType === 'Map');

describe('flowNameFor', () => {
  test('is deterministic per prefix, object and run id', () => {
    // Act
    const first = flowNameFor('saas2rs-dev', 'Account', RUN_ID);
    const again = flowNameFor('saas2rs-dev', 'Account', RUN_ID);

    // Assess
    expect(first).toBe('saas2rs-dev-Account-run-2026-03-10');
    expect(again).toBe(first);
    expect(flowNameFor('saas2rs-dev', 'Contact', RUN_ID)).not.toBe(first);
    expect(flowNameFor('saas2rs-dev', 'Account', 'run-2026-03-11')).not.toBe(first);
  });

  test("stays within AppFlow's 256-character limit and its name pattern", () => {
    // Act
    const name = flowNameFor('p'.repeat(100), `A${'b'.repeat(79)}`, 'r'.repeat(80));

    // Assess
    expect(name.length).toBeLessThanOrEqual(256);
    expect(name).toMatch(/^[a-zA-Z0-9][\w!@#.-]+$/);
  });
});

describe('buildCreateFlowRequest', () => {
  describe('for a default Salesforce row on an incremental window', () => {
    // Prepare
    const plan = anAccountPlan();
    const request = buildCreateFlowRequest(plan, accountFields, RUN_ID, settings);

    test('is an on-demand flow named after the object and run', () => {
      // Assess
      expect(request.flowName).toBe('saas2rs-dev-Account-run-2026-03-10');
      expect(request.triggerConfig).toEqual({ triggerType: 'OnDemand' });
      expect(request.kmsArn).toBeUndefined();
      expect(request.tags).toEqual({
        'saas-to-redshift:object': 'Account',
        'saas-to-redshift:run-id': RUN_ID,
      });
    });

    test('projects every selected field first', () => {
      // Assess
      expect(request.tasks?.[0]).toEqual({
        taskType: 'Filter',
        sourceFields: ['Id', 'SystemModstamp', 'IsDeleted', 'Name', 'AnnualRevenue'],
        connectorOperator: { Salesforce: 'PROJECTION' },
      });
    });

    test('filters the cursor field to start < cursor <= end, as epoch milliseconds', () => {
      // Assess
      const windowFilters = filterTasks(request.tasks).slice(1);
      expect(windowFilters).toEqual([
        {
          taskType: 'Filter',
          sourceFields: ['SystemModstamp'],
          connectorOperator: { Salesforce: 'GREATER_THAN' },
          taskProperties: { DATA_TYPE: 'datetime', VALUE: String(Date.parse('2026-03-09T05:00:00.000Z')) },
        },
        {
          taskType: 'Filter',
          sourceFields: ['SystemModstamp'],
          connectorOperator: { Salesforce: 'LESS_THAN_OR_EQUAL_TO' },
          taskProperties: { DATA_TYPE: 'datetime', VALUE: String(Date.parse(RUN_STARTED_AT)) },
        },
      ]);
      expect(windowFilters[0].taskProperties?.VALUE).toBe('1773032400000');
      expect(windowFilters[1].taskProperties?.VALUE).toBe('1773122400000');
    });

    test('maps each field to its lower-case column, once', () => {
      // Assess
      expect(mapTasks(request.tasks)).toEqual(
        accountFields.map((field) => ({
          taskType: 'Map',
          sourceFields: [field.name],
          destinationField: field.column,
          connectorOperator: { Salesforce: 'NO_OP' },
          taskProperties: { SOURCE_DATA_TYPE: field.sourceType, DESTINATION_DATA_TYPE: field.sourceType },
        })),
      );
    });

    test("reads the object from the row's connector profile, deleted records included, API pinned", () => {
      // Assess
      expect(request.sourceFlowConfig).toEqual({
        connectorType: 'Salesforce',
        connectorProfileName: 'salesforce-prod',
        sourceConnectorProperties: {
          Salesforce: {
            object: 'Account',
            includeDeletedRecords: true,
            enableDynamicFieldUpdate: false,
            dataTransferApi: 'BULKV2',
          },
        },
      });
    });

    test('writes to the staging table through the staging bucket and stops on the first bad row', () => {
      // Assess
      expect(request.destinationFlowConfigList).toEqual([
        {
          connectorType: 'Redshift',
          connectorProfileName: 'redshift-dev',
          destinationConnectorProperties: {
            Redshift: {
              object: 'salesforce_incremental.account',
              intermediateBucketName: 'staging-bucket-dev',
              bucketPrefix: 'staging/saas2rs-dev-Account-run-2026-03-10',
              errorHandlingConfig: {
                failOnFirstDestinationError: true,
                bucketName: 'staging-bucket-dev',
                bucketPrefix: 'errors/saas2rs-dev-Account-run-2026-03-10',
              },
            },
          },
        },
      ]);
    });
  });

  test.each([
    ['hard', true],
    ['soft', true],
    ['ignore', false],
  ] as const)('asks Salesforce for deleted records when deleteMode is %s: %s', (deleteMode, expected) => {
    // Act
    const request = buildCreateFlowRequest(anAccountPlan({ deleteMode }), accountFields, RUN_ID, settings);

    // Assess
    expect(request.sourceFlowConfig?.sourceConnectorProperties?.Salesforce?.includeDeletedRecords).toBe(
      expected,
    );
  });

  test("projects only the row's selected fields when it lists them", () => {
    // Prepare
    const selected = accountFields.filter((field) => field.name !== 'AnnualRevenue');

    // Act
    const request = buildCreateFlowRequest(anAccountPlan({ fields: ['Name'] }), selected, RUN_ID, settings);

    // Assess
    expect(request.tasks?.[0].sourceFields).toEqual(['Id', 'SystemModstamp', 'IsDeleted', 'Name']);
    expect(mapTasks(request.tasks).map((task) => task.destinationField)).toEqual([
      'id',
      'systemmodstamp',
      'isdeleted',
      'name',
    ]);
  });

  test('has no window filters for a full sync', () => {
    // Prepare
    const plan = anAccountPlan({ syncMode: 'full', syncReason: 'first-run', window: {} });

    // Act
    const request = buildCreateFlowRequest(plan, accountFields, RUN_ID, settings);

    // Assess
    const filters = filterTasks(request.tasks);
    expect(filters).toHaveLength(1);
    expect(filters[0].connectorOperator).toEqual({ Salesforce: 'PROJECTION' });
    expect(request.description).toContain('full');
  });

  test('uses the CustomConnector operator keys and entityName for a custom connector', () => {
    // Prepare
    const plan = anAccountPlan({
      objectName: 'Invoice',
      targetTable: 'invoice',
      connectorType: 'CustomConnector',
      connectorLabel: 'billing-connector',
      connectorProfileName: 'billing-prod',
      cursorField: 'UpdatedAt',
    });
    const fields: SourceField[] = [
      { name: 'Id', sourceType: 'string', column: 'id', redshiftType: 'VARCHAR(65535)' },
      { name: 'UpdatedAt', sourceType: 'datetime', column: 'updatedat', redshiftType: 'TIMESTAMP' },
    ];

    // Act
    const request = buildCreateFlowRequest(plan, fields, RUN_ID, settings);

    // Assess
    expect(request.sourceFlowConfig).toEqual({
      connectorType: 'CustomConnector',
      connectorProfileName: 'billing-prod',
      sourceConnectorProperties: { CustomConnector: { entityName: 'Invoice' } },
    });
    expect(request.tasks?.map((task) => task.connectorOperator)).toEqual([
      { CustomConnector: 'PROJECTION' },
      { CustomConnector: 'GREATER_THAN' },
      { CustomConnector: 'LESS_THAN_OR_EQUAL_TO' },
      { CustomConnector: 'NO_OP' },
      { CustomConnector: 'NO_OP' },
    ]);
    expect(filterTasks(request.tasks)[1].sourceFields).toEqual(['UpdatedAt']);
    expect(request.destinationFlowConfigList?.[0].destinationConnectorProperties?.Redshift?.object).toBe(
      'salesforce_incremental.invoice',
    );
    expect(request.tags?.['saas-to-redshift:connector-label']).toBe('billing-connector');
  });

  test('encrypts the flow with the configured KMS key', () => {
    // Act
    const request = buildCreateFlowRequest(anAccountPlan(), accountFields, RUN_ID, {
      ...settings,
      kmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/abc',
    });

    // Assess
    expect(request.kmsArn).toBe('arn:aws:kms:eu-west-1:123456789012:key/abc');
  });
});
