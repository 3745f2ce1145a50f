import { AppflowClient } from '@aws-sdk/client-appflow';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { requireEnv } from './common/environment';
import { registerFlowWait } from './common/flow-waits';
import type { ObjectState } from './common/object-state';
import { logger, objectKeys } from './common/observability';

const FLOW_WAITS_TABLE_NAME = requireEnv('FLOW_WAITS_TABLE_NAME');
const appflow = new AppflowClient({});
const sfn = new SFNClient({});
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});

/** The state machine's `.waitForTaskToken` call: `$$.Task.Token` and the object's state. */
export interface AwaitFlowRunEvent {
  taskToken: string;
  state: ObjectState;
}

/**
 * Parks the child execution on its flow's run: stores the task token under the flow's name
 * for AppFlow's end-of-run event (flow-run-ended) and returns. Step Functions goes on when
 * that event, the sweep or this very call (a run that ended already) sends the outcome.
 */
export const handler = async (event: AwaitFlowRunEvent): Promise<void> => {
  const settlement = await registerFlowWait(
    { appflow, sfn, doc, tableName: FLOW_WAITS_TABLE_NAME },
    event.taskToken,
    event.state,
  );
  logger.info('Waiting on the flow run', {
    ...objectKeys(event.state),
    flowName: event.state.flow?.flowName,
    settlement,
  });
};
