import type { Task } from '@aws-sdk/client-appflow';
import {
  buildCreateFlowRequest,
  cursorFilterFor,
  type FlowSettings,
  flowNameFor,
} from '../../lambdas/common/flow-definition';
import {
  columnTypeFor,
  type FieldMetadata,
  renderColumnType,
  type SourceField,
} from '../../lambdas/common/source-fields';
import { anAccountPlan, RUN_STARTED_AT } from './support/fixtures';

const settings: FlowSettings = {
  flowNamePrefix: 'saas2rs-dev',
  redshiftConnectorProfileName: 'redshift-dev',
  stagingBucketName: 'staging-bucket-dev',
  stagingSchema: 'salesforce_incremental',
  dataTransferApi: 'BULKV2',
};
const RUN_ID = 'run-2026-03-10';

/** A field as selectSourceFields makes it from the source's type and describe values. */
function field(name: string, sourceType: string, metadata: FieldMetadata = {}): SourceField {
  const { columnType, truncateLength } = columnTypeFor(sourceType, metadata);
  return {
    name,
    sourceType,
    column: name.toLowerCase(),
    redshiftType: renderColumnType(columnType),
    columnType,
    ...(truncateLength !== undefined ? { truncateLength } : {}),
  };
}

const accountFields: SourceField[] = [
  field('Id', 'id', { length: 18 }),
  field('SystemModstamp', 'datetime'),
  field('IsDeleted', 'boolean'),
  field('Name', 'string', { length: 255 }),
  field('AnnualRevenue', 'currency', { precision: 18, scale: 2 }),
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
      field('Id', 'string', { length: 64 }),
      { ...field('UpdatedAt', 'datetime'), filterOperators: ['GREATER_THAN', 'LESS_THAN_OR_EQUAL_TO'] },
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

  test("reads the row's entityName with the source's apiVersion and loads the source's staging schema", () => {
    // Prepare: a TiDB `orders` entity next to a Salesforce object of the same name
    const plan = anAccountPlan({
      objectName: 'tidb_orders',
      entityName: 'orders',
      sourceName: 'tidb',
      stagingSchema: 'tidb_incremental',
      finalSchema: 'tidb',
      targetTable: 'tidb_orders',
      connectorType: 'CustomConnector',
      connectorLabel: 'TiDBCloud',
      connectorProfileName: 'tidb-cloud',
      apiVersion: 'v1.2',
      primaryKey: 'id',
      cursorField: 'updated_at',
    });
    const fields: SourceField[] = [
      field('id', 'bigint'),
      { ...field('updated_at', 'timestamp'), filterOperators: ['GREATER_THAN', 'LESS_THAN_OR_EQUAL_TO'] },
    ];

    // Act
    const request = buildCreateFlowRequest(plan, fields, RUN_ID, settings);

    // Assess
    expect(request.sourceFlowConfig).toEqual({
      connectorType: 'CustomConnector',
      connectorProfileName: 'tidb-cloud',
      apiVersion: 'v1.2',
      sourceConnectorProperties: { CustomConnector: { entityName: 'orders' } },
    });
    expect(request.destinationFlowConfigList?.[0].destinationConnectorProperties?.Redshift?.object).toBe(
      'tidb_incremental.tidb_orders',
    );
  });

  test('bounds the window with >= and < end + 1 ms when the cursor declares only those operators', () => {
    // Prepare
    const plan = anAccountPlan({
      connectorType: 'CustomConnector',
      connectorLabel: 'TiDBCloud',
      cursorField: 'updated_at',
    });
    const fields: SourceField[] = [
      field('Id', 'bigint'),
      { ...field('updated_at', 'timestamp'), filterOperators: ['GREATER_THAN_OR_EQUAL_TO', 'LESS_THAN'] },
    ];

    // Act
    const request = buildCreateFlowRequest(plan, fields, RUN_ID, settings);

    // Assess: never narrower than (start, end]
    const window = filterTasks(request.tasks).slice(1);
    expect(window.map((task) => [task.connectorOperator, task.taskProperties?.VALUE])).toEqual([
      [{ CustomConnector: 'GREATER_THAN_OR_EQUAL_TO' }, String(Date.parse('2026-03-09T05:00:00.000Z'))],
      [{ CustomConnector: 'LESS_THAN' }, String(Date.parse(RUN_STARTED_AT) + 1)],
    ]);
  });

  test('uses one inclusive BETWEEN when the cursor declares no ordering operator but BETWEEN', () => {
    // Prepare
    const plan = anAccountPlan({
      connectorType: 'CustomConnector',
      connectorLabel: 'TiDBCloud',
      cursorField: 'updated_at',
    });
    const fields: SourceField[] = [
      field('Id', 'bigint'),
      { ...field('updated_at', 'timestamp'), filterOperators: ['BETWEEN', 'EQUAL_TO'] },
    ];

    // Act
    const request = buildCreateFlowRequest(plan, fields, RUN_ID, settings);

    // Assess
    const window = filterTasks(request.tasks).slice(1);
    expect(window).toHaveLength(1);
    expect(window[0].connectorOperator).toEqual({ CustomConnector: 'BETWEEN' });
    expect(window[0].taskProperties).toMatchObject({
      LOWER_BOUND: String(Date.parse('2026-03-09T05:00:00.000Z')),
      UPPER_BOUND: String(Date.parse(RUN_STARTED_AT)),
    });
  });

  test('refuses to build a windowed flow on a custom-connector cursor that declares no usable operator', () => {
    // Prepare
    const plan = anAccountPlan({
      connectorType: 'CustomConnector',
      connectorLabel: 'TiDBCloud',
      cursorField: 'updated_at',
    });
    const fields: SourceField[] = [
      field('Id', 'bigint'),
      { ...field('updated_at', 'timestamp'), filterOperators: ['EQUAL_TO'] },
    ];

    // Act / Assess
    expect(() => buildCreateFlowRequest(plan, fields, RUN_ID, settings)).toThrow(
      'cursor field updated_at declares no operator that can bound the change window',
    );
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

  test('adds one Truncate task per long-text field, cutting it to 16,383 characters (contract 7)', () => {
    // Prepare: a Long Text Area (131,072 characters) and a text field of unknown length
    const fields = [
      ...accountFields,
      field('Description', 'textarea', { length: 131072 }),
      field('Notes__c', 'string'),
    ];

    // Act
    const request = buildCreateFlowRequest(anAccountPlan(), fields, RUN_ID, settings);

    // Assess
    expect(request.tasks?.filter((task) => task.taskType === 'Truncate')).toEqual([
      {
        taskType: 'Truncate',
        sourceFields: ['Description'],
        connectorOperator: { Salesforce: 'NO_OP' },
        taskProperties: { TRUNCATE_LENGTH: '16383' },
      },
      {
        taskType: 'Truncate',
        sourceFields: ['Notes__c'],
        connectorOperator: { Salesforce: 'NO_OP' },
        taskProperties: { TRUNCATE_LENGTH: '16383' },
      },
    ]);
    // The field is still mapped to its column.
    expect(mapTasks(request.tasks).map((task) => task.destinationField)).toContain('description');
  });

  test('adds no Truncate task when every text field fits its column', () => {
    // Act
    const request = buildCreateFlowRequest(anAccountPlan(), accountFields, RUN_ID, settings);

    // Assess
    expect(request.tasks?.some((task) => task.taskType === 'Truncate')).toBe(false);
  });
});

describe('cursorFilterFor', () => {
  test('keeps the Salesforce filters for fields described without operators', () => {
    expect(cursorFilterFor('Salesforce', undefined)).toEqual({
      kind: 'bounds',
      lower: 'GREATER_THAN',
      upper: 'LESS_THAN_OR_EQUAL_TO',
    });
  });

  test('finds no filter for a custom connector field that declares none', () => {
    expect(cursorFilterFor('CustomConnector', undefined)).toBeUndefined();
    expect(cursorFilterFor('CustomConnector', ['EQUAL_TO', 'NOT_EQUAL_TO', 'CONTAINS'])).toBeUndefined();
  });
});
