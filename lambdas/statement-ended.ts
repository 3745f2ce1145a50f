import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import './common/schema';
import { requireEnv } from './common/environment';
import { logger } from './common/observability';
import { statementEnded } from './common/statement-rendezvous';
import { STATEMENT_ENDED_DETAIL_TYPE, STATEMENT_EVENT_SOURCE } from './common/statement-waits';

const STATEMENT_WAITS_TABLE_NAME = requireEnv('STATEMENT_WAITS_TABLE_NAME');
const sfn = new SFNClient({});
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));

const StatementEndedEvent = z.object({
  source: z.literal(STATEMENT_EVENT_SOURCE),
  'detail-type': z.literal(STATEMENT_ENDED_DETAIL_TYPE),
  detail: z.object({
    statementId: z.string().check(z.minLength(1)),
    state: z.string().check(z.minLength(1)),
    statementName: z.optional(z.string()),
  }),
});

/**
 * The Data API's end-of-statement event for one of the pipeline's statements: wakes the
 * execution waiting on it. What the statement did is read by the step that submitted it.
 */
export const handler = async (event: unknown): Promise<void> => {
  const parsed = StatementEndedEvent.safeParse(event);
  if (!parsed.success) {
    throw new Error(`Not a Redshift Data API statement event: ${z.prettifyError(parsed.error)}`);
  }
  const { statementId, state, statementName } = parsed.data.detail;
  const settlement = await statementEnded(
    { sfn, doc, tableName: STATEMENT_WAITS_TABLE_NAME },
    statementId,
    state,
  );
  logger.info('Warehouse statement ended', { statementId, statementName, state, settlement });
};
