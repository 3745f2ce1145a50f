import { DescribeExecutionCommand, ExecutionDoesNotExist, type SFNClient } from '@aws-sdk/client-sfn';
import { classifyAwsError } from './errors';

/**
 * Whether the execution that holds an object's claim is still running: an aborted or timed-out
 * execution never released its claims, a live one must be left alone.
 */
export async function executionIsRunning(
  sfn: SFNClient,
  executionArn: string,
  objectName: string,
): Promise<boolean> {
  try {
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    return execution.status === 'RUNNING';
  } catch (error) {
    if (error instanceof ExecutionDoesNotExist) return false;
    throw classifyAwsError(
      error,
      `${objectName}: DescribeExecution ${executionArn} (the run holding the object)`,
    );
  }
}
