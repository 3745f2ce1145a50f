import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { logger } from './common/observability';
import { submitBatch, warehouseTargetFromEnv } from './common/warehouse';

const target = warehouseTargetFromEnv();
const redshift = new RedshiftDataClient({});
export const PHYSICAL_ID = 'warehouse-schema';

/**
 * Custom-resource `onEvent` for `sql/`: submits every statement as one Data API batch
 * (one transaction); `apply-warehouse-sql-status` waits for it. Delete keeps the
 * warehouse as it is: its schemas hold the data.
 */
export const handler = async (event: CloudFormationCustomResourceEvent) => {
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };
  const statements = (event.ResourceProperties.Statements ?? []) as string[];
  const statementId = await submitBatch(redshift, target, statements, {
    statementName: 'saas-to-redshift-apply-sql',
  });
  logger.info('Applying warehouse SQL', { statements: statements.length, statementId });
  return { PhysicalResourceId: PHYSICAL_ID, Data: { StatementId: statementId } };
};
