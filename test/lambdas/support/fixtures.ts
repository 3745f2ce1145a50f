import type { ConnectorEntityField } from '@aws-sdk/client-appflow';
import type { ObjectConfig } from '../../../lambdas/common/control-row';
import type { ObjectState } from '../../../lambdas/common/object-state';
import type { ObjectPlan, RunContext } from '../../../lambdas/common/run-plan';

/** Fixed instants: every window and watermark in these tests is computed from them. */
export const RUN_STARTED_AT = '2026-03-10T06:00:00.000Z';
export const PREVIOUS_WATERMARK = '2026-03-09T06:00:00.000Z';

export function aRun(overrides: Partial<RunContext> = {}): RunContext {
  return { runId: 'run-2026-03-10', startedAt: RUN_STARTED_AT, runDate: '2026-03-10', ...overrides };
}

/** A parsed control row for Salesforce `Account` with the contract's defaults and a watermark. */
export function anAccountConfig(overrides: Partial<ObjectConfig> = {}): ObjectConfig {
  return {
    objectName: 'Account',
    enabled: true,
    connectorType: 'Salesforce',
    primaryKey: 'Id',
    cursorField: 'SystemModstamp',
    syncMode: 'incremental',
    deleteMode: 'hard',
    lookbackMinutes: 60,
    resetRequested: false,
    fullSyncEveryDays: 0,
    syncEveryMinutes: 1440,
    formulaRefreshEveryMinutes: 1440,
    targetTable: 'account',
    watermark: PREVIOUS_WATERMARK,
    ...overrides,
  };
}

/** The plan of an incremental run of `Account`: window (watermark − 60 min, run start]. */
export function anAccountPlan(overrides: Partial<ObjectPlan> = {}): ObjectPlan {
  return {
    objectName: 'Account',
    targetTable: 'account',
    connectorType: 'Salesforce',
    connectorProfileName: 'salesforce-prod',
    primaryKey: 'Id',
    cursorField: 'SystemModstamp',
    deleteMode: 'hard',
    syncMode: 'incremental',
    syncReason: 'incremental',
    window: { start: '2026-03-09T05:00:00.000Z', end: RUN_STARTED_AT },
    nextWatermark: RUN_STARTED_AT,
    ...overrides,
  };
}

export function anObjectState(overrides: Partial<ObjectState> = {}): ObjectState {
  return { run: aRun(), plan: anAccountPlan(), ...overrides };
}

/** One field as AppFlow's DescribeConnectorEntity reports it, with Salesforce's describe values (contract 8). */
export function entityField(
  identifier: string,
  fieldType: string,
  customProperties?: Record<string, string>,
): ConnectorEntityField {
  return {
    identifier,
    supportedFieldTypeDetails: { v1: { fieldType, filterOperators: [] } },
    ...(customProperties ? { customProperties } : {}),
  };
}

/** What Salesforce reports for Account (trimmed), compound `address` type included. */
export function accountEntityFields(): ConnectorEntityField[] {
  return [
    entityField('Id', 'id', { length: '18' }),
    entityField('Name', 'string', { length: '255' }),
    entityField('BillingAddress', 'address'),
    entityField('AnnualRevenue', 'currency', { precision: '18', scale: '2' }),
    entityField('NumberOfEmployees', 'int', { precision: '8', scale: '0' }),
    entityField('IsDeleted', 'boolean'),
    entityField('SystemModstamp', 'datetime'),
  ];
}

/** The Redshift columns the fields above get (what a table created by this version holds). */
export const ACCOUNT_TABLE: Record<string, string> = {
  id: 'VARCHAR(18)',
  systemmodstamp: 'TIMESTAMP',
  isdeleted: 'BOOLEAN',
  name: 'VARCHAR(1020)',
  annualrevenue: 'DECIMAL(18,2)',
  numberofemployees: 'INTEGER',
};

/** The precheck's procedure check (PROCEDURE_CHECK_SQL) on a warehouse that has this version's sql/. */
export const DEPLOYED_PROCEDURES = { columns: ['consolidate_object', 'refresh_columns'], rows: [[1, 1]] };
