import {
  type AppflowClient,
  type ConnectorEntityField,
  type ConnectorType,
  DeleteFlowCommand,
  DescribeConnectorEntityCommand,
  DescribeFlowExecutionRecordsCommand,
  type ExecutionRecord,
} from '@aws-sdk/client-appflow';
import { classifyAwsError } from './errors';
import { type ObjectPlan, sourceEntityOf } from './run-plan';

export async function describeSourceFields(
  client: AppflowClient,
  plan: ObjectPlan,
): Promise<ConnectorEntityField[]> {
  try {
    const out = await client.send(
      new DescribeConnectorEntityCommand({
        connectorEntityName: sourceEntityOf(plan),
        connectorType: plan.connectorType as ConnectorType,
        connectorProfileName: plan.connectorProfileName,
        // A custom connector describes its entities per API version; the flow uses the same one.
        ...(plan.apiVersion ? { apiVersion: plan.apiVersion } : {}),
      }),
    );
    return out.connectorEntityFields ?? [];
  } catch (error) {
    throw classifyAwsError(error, `${plan.objectName}: DescribeConnectorEntity`);
  }
}

/** The flow's run with this id, or undefined while AppFlow has not listed it yet. */
export async function findExecution(
  client: AppflowClient,
  flowName: string,
  executionId: string | undefined,
  context: string,
): Promise<ExecutionRecord | undefined> {
  let nextToken: string | undefined;
  try {
    do {
      const page = await client.send(
        new DescribeFlowExecutionRecordsCommand({ flowName, nextToken, maxResults: 100 }),
      );
      const executions = page.flowExecutions ?? [];
      const match = executionId ? executions.find((run) => run.executionId === executionId) : executions[0];
      if (match) return match;
      nextToken = page.nextToken;
    } while (nextToken);
    return undefined;
  } catch (error) {
    throw classifyAwsError(error, `${context}: DescribeFlowExecutionRecords`);
  }
}

/** Deleting a temporary flow that is already gone is success: cleanup runs on every path, maybe twice. */
export async function deleteFlowIfExists(
  client: AppflowClient,
  flowName: string,
  context: string,
): Promise<boolean> {
  try {
    await client.send(new DeleteFlowCommand({ flowName, forceDelete: true }));
    return true;
  } catch (error) {
    if ((error as { name?: string }).name === 'ResourceNotFoundException') return false;
    throw classifyAwsError(error, `${context}: DeleteFlow ${flowName}`);
  }
}
