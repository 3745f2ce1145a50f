import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { requireEnv } from './common/environment';
import { logger } from './common/observability';
import { awaitStatement } from './common/statement-rendezvous';
import type { StatementWait } from './common/statement-waits';

const STATEMENT_WAITS_TABLE_NAME = requireEnv('STATEMENT_WAITS_TABLE_NAME');
const sfn = new SFNClient({});
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));

/** The state machine's `.waitForTaskToken` call: `$$.Task.Token` and the statement to wait on. */
export interface AwaitStatementEvent {
  taskToken: string;
  wait: StatementWait;
  objectName?: string;
}

/**
 * Parks the execution on a warehouse statement that outlived its step's time budget: the
 * statement's end event (statement-ended) answers the token, and the step looks again.
 */
export const handler = async (event: AwaitStatementEvent): Promise<void> => {
  const settlement = await awaitStatement(
    { sfn, doc, tableName: STATEMENT_WAITS_TABLE_NAME },
    event.wait.statementId,
    event.taskToken,
  );
  logger.info('Waiting on a warehouse statement', {
    objectName: event.objectName,
    statementId: event.wait.statementId,
    what: event.wait.what,
    timeoutSeconds: event.wait.timeoutSeconds,
    settlement,
  });
};
