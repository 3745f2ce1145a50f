import {
  BatchExecuteStatementCommand,
  DescribeStatementCommand,
  RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';

Object.assign(process.env, {
  REDSHIFT_DATABASE: 'analytics',
  REDSHIFT_SECRET_ID: 'saas-to-redshift/prod/redshift',
  REDSHIFT_CLUSTER_IDENTIFIER: 'analytics-prod',
});
const onEvent = (
  require('../../lambdas/apply-warehouse-sql') as typeof import('../../lambdas/apply-warehouse-sql')
).handler;
const isComplete = (
  require('../../lambdas/apply-warehouse-sql-status') as typeof import('../../lambdas/apply-warehouse-sql-status')
).handler;

const redshiftMock = mockClient(RedshiftDataClient);
const STATEMENTS = [
  'CREATE SCHEMA IF NOT EXISTS salesforce',
  'CREATE OR REPLACE PROCEDURE consolidate_object() AS $$ BEGIN END $$ LANGUAGE plpgsql',
];

function event(requestType: 'Create' | 'Update' | 'Delete'): CloudFormationCustomResourceEvent {
  return {
    RequestType: requestType,
    ServiceToken: 'token',
    ResponseURL: 'https://example.com',
    StackId: 'stack',
    RequestId: 'request',
    LogicalResourceId: 'WarehouseSchema',
    ResourceType: 'Custom::WarehouseSchema',
    ResourceProperties: { ServiceToken: 'token', Statements: STATEMENTS },
    ...(requestType === 'Create'
      ? {}
      : { PhysicalResourceId: 'warehouse-schema', OldResourceProperties: {} }),
  } as CloudFormationCustomResourceEvent;
}

beforeEach(() => redshiftMock.reset());

describe('applying sql/ on deploy', () => {
  test.each(['Create', 'Update'] as const)(
    '%s submits every statement as one batch on the configured cluster',
    async (type) => {
      redshiftMock.on(BatchExecuteStatementCommand).resolves({ Id: 'batch-1' });

      const result = await onEvent(event(type));

      expect(result).toEqual({ PhysicalResourceId: 'warehouse-schema', Data: { StatementId: 'batch-1' } });
      expect(redshiftMock).toHaveReceivedCommandWith(BatchExecuteStatementCommand, {
        Sqls: STATEMENTS,
        ClusterIdentifier: 'analytics-prod',
        Database: 'analytics',
        SecretArn: 'saas-to-redshift/prod/redshift',
      });
    },
  );

  test('Delete keeps the warehouse as it is', async () => {
    const result = await onEvent(event('Delete'));

    expect(result).toEqual({ PhysicalResourceId: 'warehouse-schema' });
    expect(redshiftMock).not.toHaveReceivedCommand(BatchExecuteStatementCommand);
  });

  test('isComplete waits while the batch runs and completes when it finished', async () => {
    redshiftMock
      .on(DescribeStatementCommand)
      .resolvesOnce({ Status: 'STARTED' })
      .resolvesOnce({ Status: 'FINISHED' });
    const waiting = { ...event('Create'), Data: { StatementId: 'batch-1' } };

    await expect(isComplete(waiting)).resolves.toEqual({ IsComplete: false });
    await expect(isComplete(waiting)).resolves.toEqual({ IsComplete: true });
  });

  test('a failed batch fails the deploy with Redshift’s own error', async () => {
    redshiftMock
      .on(DescribeStatementCommand)
      .resolves({ Status: 'FAILED', Error: 'ERROR: syntax error at or near "PROCEDUR"' });

    await expect(isComplete({ ...event('Update'), Data: { StatementId: 'batch-1' } })).rejects.toMatchObject({
      name: 'StatementFailed',
      message: expect.stringContaining('syntax error at or near "PROCEDUR"'),
    });
  });
});
