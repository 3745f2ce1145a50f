import { SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { DeleteCommand, type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { classifyAwsError } from './errors';
import { logger } from './observability';
import { LONGEST_STATEMENT_WAIT_SECONDS } from './statement-waits';

/**
 * One item per awaited statement. The waiting task and the statement's end meet here, in either
 * order: each side writes its half and reads what was there before, atomically; whoever comes
 * second answers the task. So an end that comes before the token is stored is not lost, and no
 * one needs to describe a statement another role submitted (the Data API allows only the owner).
 */
export interface StatementWaitItem {
  statementId: string;
  taskToken?: string;
  endedState?: string;
  /** DynamoDB TTL (epoch seconds). */
  expiresAt: number;
}

export interface StatementWaitDependencies {
  sfn: SFNClient;
  doc: DynamoDBDocumentClient;
  tableName: string;
  now?: () => Date;
}

/** Step Functions' answers for a token whose task ended already (timed out, answered, execution gone). */
const CLOSED_TASK_ERRORS = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);
/** Items outlive the longest wait: a day after they were written. */
const ITEM_LIFETIME_SECONDS = LONGEST_STATEMENT_WAIT_SECONDS + 3600;

export type StatementSettlement = 'answered' | 'waiting' | 'closed';

async function writeHalf(
  deps: StatementWaitDependencies,
  statementId: string,
  half: { taskToken: string } | { endedState: string },
): Promise<StatementWaitItem | undefined> {
  const [name, value] = Object.entries(half)[0];
  const expiresAt = Math.ceil((deps.now?.() ?? new Date()).getTime() / 1000) + ITEM_LIFETIME_SECONDS;
  try {
    const out = await deps.doc.send(
      new UpdateCommand({
        TableName: deps.tableName,
        Key: { statementId },
        UpdateExpression: 'SET #half = :value, expiresAt = :expires',
        ExpressionAttributeNames: { '#half': name },
        ExpressionAttributeValues: { ':value': value, ':expires': expiresAt },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return out.Attributes as StatementWaitItem | undefined;
  } catch (error) {
    throw classifyAwsError(error, `recording the wait on statement ${statementId}`);
  }
}

async function answer(
  deps: StatementWaitDependencies,
  statementId: string,
  taskToken: string,
  state: string,
) {
  try {
    // The step reads the statement's outcome itself: the answer only says that it may look now.
    await deps.sfn.send(
      new SendTaskSuccessCommand({ taskToken, output: JSON.stringify({ statementId, endedState: state }) }),
    );
  } catch (error) {
    if (!CLOSED_TASK_ERRORS.has((error as { name?: string }).name ?? '')) {
      throw classifyAwsError(error, `telling Step Functions that statement ${statementId} ended`);
    }
    // That wait timed out and its step may be waiting again: keep the end for the next token.
    await forgetToken(deps, statementId, taskToken);
    return false;
  }
  try {
    await deps.doc.send(new DeleteCommand({ TableName: deps.tableName, Key: { statementId } }));
  } catch (error) {
    logger.warn('Could not forget an answered statement wait; its TTL will', { statementId, error });
  }
  return true;
}

/** Removes a closed task's token, unless a newer wait stored its own meanwhile. */
async function forgetToken(deps: StatementWaitDependencies, statementId: string, taskToken: string) {
  try {
    await deps.doc.send(
      new UpdateCommand({
        TableName: deps.tableName,
        Key: { statementId },
        UpdateExpression: 'REMOVE taskToken',
        ConditionExpression: 'taskToken = :closed',
        ExpressionAttributeValues: { ':closed': taskToken },
      }),
    );
  } catch (error) {
    if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return;
    throw classifyAwsError(error, `forgetting the closed wait on statement ${statementId}`);
  }
}

/** The state machine's `.waitForTaskToken` side: stores the token; answers at once if the end came first. */
export async function awaitStatement(
  deps: StatementWaitDependencies,
  statementId: string,
  taskToken: string,
): Promise<StatementSettlement> {
  const before = await writeHalf(deps, statementId, { taskToken });
  if (!before?.endedState) return 'waiting';
  return (await answer(deps, statementId, taskToken, before.endedState)) ? 'answered' : 'closed';
}

/** The statement's end (its event): answers the waiting task, or leaves word for the one to come. */
export async function statementEnded(
  deps: StatementWaitDependencies,
  statementId: string,
  endedState: string,
): Promise<StatementSettlement> {
  const before = await writeHalf(deps, statementId, { endedState });
  if (!before?.taskToken) return 'waiting';
  return (await answer(deps, statementId, before.taskToken, endedState)) ? 'answered' : 'closed';
}
