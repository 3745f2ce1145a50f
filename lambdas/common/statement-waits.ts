import { SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { DeleteCommand, type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { classifyAwsError } from './errors';
import { logger } from './observability';
import type { StatementRequest, StatementSlot } from './warehouse';

/** The Data API's event when a statement sent `WithEvent` ends (EventBridge `detail-type`). */
export const STATEMENT_ENDED_DETAIL_TYPE = 'Redshift Data Statement Status Change';
export const STATEMENT_EVENT_SOURCE = 'aws.redshift-data';

/** What a step hands the state machine when its statement outlives the step's time budget. */
export interface StatementWait {
  statementId: string;
  /** For the console and the logs: the object and what the statement does. */
  what: string;
  /**
   * The wait's timeout (`TimeoutSecondsPath`): the event is best effort, so after this long the
   * step looks at the statement itself and, if it still runs, waits again twice as long.
   */
  timeoutSeconds: number;
}

/** The first wait on a statement; each wait after a timeout is twice as long, up to a day. */
export const FIRST_STATEMENT_WAIT_SECONDS = 15 * 60;
const LONGEST_STATEMENT_WAIT_SECONDS = 24 * 3600;

export function statementWaitFor(
  slot: StatementSlot,
  what: string,
  previous: StatementWait | undefined,
): StatementWait {
  const timeoutSeconds =
    previous?.statementId === slot.id
      ? Math.min(previous.timeoutSeconds * 2, LONGEST_STATEMENT_WAIT_SECONDS)
      : FIRST_STATEMENT_WAIT_SECONDS;
  return { statementId: slot.id, what, timeoutSeconds };
}

/**
 * StatementName of the pipeline's statements: `<prefix>-<object or run>-<step>-<run id>`. The rule
 * on the Data API's events matches the prefix, so other applications' statements wake nobody.
 */
export function statementNameFor(prefix: string, subject: string, step: string, runId: string): string {
  return `${prefix}-${subject}-${step}-${runId}`.slice(0, 500);
}

/**
 * A statement one object's step sends in a run: named `<prefix>-<object>-<step>-<run id>` and made
 * idempotent per run, object and step (the ClientToken adds the SQL and the attempt).
 */
export function objectStatement(
  prefix: string,
  state: { plan: { objectName: string }; run: { runId: string } },
  step: string,
  what: string,
  sql: string | string[],
  parameters?: Record<string, string>,
): StatementRequest {
  const { plan, run } = state;
  return {
    what: `${plan.objectName}: ${what}`,
    name: statementNameFor(prefix, plan.objectName, step, run.runId),
    idempotencyKey: `${run.runId}/${plan.objectName}/${step}`,
    sql,
    ...(parameters ? { parameters } : {}),
  };
}

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
