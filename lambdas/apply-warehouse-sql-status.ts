import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { checkStatement } from './common/warehouse';

const redshift = new RedshiftDataClient({});

/** Custom-resource `isComplete`: a FAILED batch throws with Redshift's error text, which fails the deploy. */
export const handler = async (
  event: CloudFormationCustomResourceEvent & { Data?: { StatementId?: string } },
) => {
  const statementId = event.Data?.StatementId;
  if (event.RequestType === 'Delete' || !statementId) return { IsComplete: true };
  const state = await checkStatement(redshift, statementId, 'Applying sql/ to Redshift');
  return { IsComplete: state.status === 'FINISHED' };
};
