import { AppflowClient } from '@aws-sdk/client-appflow';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import './common/schema';
import { requireEnv } from './common/environment';
import { FLOW_RUN_ENDED_DETAIL_TYPE, settleFlowByName, sweepFlowWaits } from './common/flow-waits';
import { logger } from './common/observability';

const FLOW_WAITS_TABLE_NAME = requireEnv('FLOW_WAITS_TABLE_NAME');
const appflow = new AppflowClient({});
const sfn = new SFNClient({});
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});
const deps = { appflow, sfn, doc, tableName: FLOW_WAITS_TABLE_NAME };

/** EventBridge's schedule (the sweep) and AppFlow's end-of-run report: the two events this function gets. */
const FlowWaitEvent = z.discriminatedUnion('detail-type', [
  z.object({
    'detail-type': z.literal(FLOW_RUN_ENDED_DETAIL_TYPE),
    source: z.literal('aws.appflow'),
    detail: z.object({
      'flow-name': z.string().check(z.minLength(1)),
      'execution-id': z.optional(z.string()),
    }),
  }),
  z.object({ 'detail-type': z.literal('Scheduled Event'), source: z.literal('aws.events') }),
]);

/**
 * Ends child executions' waits on their flows. AppFlow's end-of-run event settles the one wait
 * it names; the schedule's sweep settles the runs whose event was lost and heartbeats the
 * running ones. Either way the run's outcome is read from AppFlow, not from the event.
 */
export const handler = async (event: unknown): Promise<void> => {
  const parsed = FlowWaitEvent.safeParse(event);
  if (!parsed.success) {
    throw new Error(
      `Not an AppFlow end-of-run report nor a scheduled sweep: ${z.prettifyError(parsed.error)}`,
    );
  }
  if (parsed.data['detail-type'] === FLOW_RUN_ENDED_DETAIL_TYPE) {
    const flowName = parsed.data.detail['flow-name'];
    const settlement = await settleFlowByName(deps, flowName);
    logger.info('Flow run ended', { flowName, executionId: parsed.data.detail['execution-id'], settlement });
    return;
  }
  const counts = await sweepFlowWaits(deps);
  logger.info('Swept the flow waits', counts);
  // Waits that could not be settled are retried by the next sweep; the error count shows in the logs.
};
