import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  RedriveExecutionCommand,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { z } from 'zod';
import { type ExecutionInput, executionInputSchema } from '../../lambdas/common/execution-input';
import { type RunReport, renderRunReport } from '../../lambdas/common/run-report';
import { renderTable } from '../../lambdas/common/text-table';
import { awsErrorName, OperationError, UsageError } from './errors';
import { type CommandHint, plainHint } from './hints';

/** The pipeline's last state before the outcome Choice; its output is the run report. */
export const REPORT_STATE_NAME = 'ReportRun';
/** The Fail state's error when objects failed: its cause is the report's summary. */
const OBJECTS_FAILED_ERROR = 'ObjectsFailed';
const RECENT_EXECUTIONS = 10;
/** Reverse-ordered history pages read before giving up on finding the report (1,000 events). */
const MAX_HISTORY_PAGES = 10;

export interface RunFlags {
  objects?: string;
  full?: boolean;
  'run-date'?: string;
  from?: string;
  to?: string;
}

const RUN_FLAG_OF_INPUT_KEY: Record<string, string> = {
  objects: '--objects',
  syncMode: '--full',
  runDate: '--run-date',
  from: '--from',
  to: '--to',
};

/** The execution input from `run` flags, validated with the pipeline's own schema before anything starts. */
export function buildExecutionInput(flags: RunFlags): ExecutionInput {
  const input: Record<string, unknown> = {};
  if (flags.objects !== undefined) {
    input.objects = flags.objects
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name.length > 0);
    // `{"objects": []}` is a valid input that loads nothing: surely not what was meant.
    if ((input.objects as string[]).length === 0) {
      throw new UsageError(
        '--objects needs at least one object name (leave it out to run every object)',
        'run',
      );
    }
  }
  if (flags.full) input.syncMode = 'full';
  if (flags['run-date'] !== undefined) input.runDate = flags['run-date'];
  if (flags.from !== undefined) input.from = flags.from;
  if (flags.to !== undefined) input.to = flags.to;
  const parsed = executionInputSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const [key, index] = issue.path;
      const flag = RUN_FLAG_OF_INPUT_KEY[String(key)] ?? String(key);
      const value = typeof index === 'number' ? (input.objects as string[])[index] : input[String(key)];
      return `${flag} ${JSON.stringify(value)}: ${issue.message}`;
    });
    throw new UsageError(`Invalid run: ${problems.join('; ')}`, 'run');
  }
  // The schema adds nothing (no defaults): send what the operator asked for, in the order asked.
  return input as ExecutionInput;
}

/** Step Functions' execution-name rule, checked here so the error names the flag. */
export function checkExecutionName(name: string, flag: string, command: string): void {
  // 1-80 characters; no whitespace, brackets, wildcards, the listed specials or control characters.
  const hasControlCharacter = [...name].some((character) => {
    const code = character.charCodeAt(0);
    return code < 0x20 || (code >= 0x7f && code <= 0x9f);
  });
  if (
    name.length < 1 ||
    name.length > 80 ||
    hasControlCharacter ||
    /[\s<>{}[\]?*"#%\\^|~`$&,;:/]/.test(name)
  ) {
    throw new UsageError(
      `${flag} ${JSON.stringify(name)}: execution names are 1-80 characters without spaces, brackets, wildcards or "#%\\^|~\`$&,;:/`,
      command,
    );
  }
}

const STATE_MACHINE_ARN =
  /^arn:(aws[a-z-]*):states:([a-z0-9-]+):(\d{12}):stateMachine:([A-Za-z0-9_-]{1,80})$/;
const EXECUTION_ARN = /^arn:(aws[a-z-]*):states:([a-z0-9-]+):(\d{12}):execution:[^:\s]+:[^:\s]+$/;

export function checkStateMachineArn(arn: string): void {
  if (!STATE_MACHINE_ARN.test(arn)) {
    throw new UsageError(
      `--state-machine-arn ${JSON.stringify(arn)}: expected arn:aws:states:<region>:<account>:stateMachine:<name>`,
    );
  }
}

export function isExecutionArn(reference: string): boolean {
  return reference.startsWith('arn:');
}

/** The region an ARN lives in: a full ARN needs no stack lookup and no configured region. */
export function regionOfArn(arn: string): string | undefined {
  return arn.split(':')[3] || undefined;
}

/** An execution given by ARN, or by name under the pipeline's state machine. */
export function executionArnFor(
  reference: string,
  stateMachineArn: string | undefined,
  command: string,
): string {
  if (isExecutionArn(reference)) {
    if (!EXECUTION_ARN.test(reference)) {
      throw new UsageError(
        `${JSON.stringify(reference)} is not an execution ARN (arn:aws:states:<region>:<account>:execution:<state machine>:<name>)`,
        command,
      );
    }
    return reference;
  }
  checkExecutionName(reference, '<execution>', command);
  if (!stateMachineArn) throw new Error('a state machine ARN is needed to find an execution by name');
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${reference}`;
}

export function executionNameOf(executionArn: string): string {
  return executionArn.slice(executionArn.lastIndexOf(':') + 1);
}

const CONSOLE_HOST_OF_PARTITION: Record<string, string> = {
  aws: 'console.aws.amazon.com',
  'aws-cn': 'console.amazonaws.cn',
  'aws-us-gov': 'console.amazonaws-us-gov.com',
};

export function consoleUrl(executionArn: string): string {
  const [, partition, , region] = executionArn.split(':');
  const host = CONSOLE_HOST_OF_PARTITION[partition] ?? CONSOLE_HOST_OF_PARTITION.aws;
  return `https://${region}.${host}/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}

function formatTime(date: Date | undefined): string {
  return date ? date.toISOString().replace(/\.\d{3}Z$/, 'Z') : '';
}

export async function startRun(
  sfn: SFNClient,
  stateMachineArn: string,
  input: ExecutionInput,
  name: string | undefined,
  hint: CommandHint = plainHint,
): Promise<string> {
  const started = await sfn
    .send(new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input), name }))
    .catch((error: unknown) => {
      if (awsErrorName(error) === 'ExecutionAlreadyExists') {
        throw new OperationError(`An execution named "${name}" already exists; choose another --name`);
      }
      throw error;
    });
  const executionArn = started.executionArn ?? '';
  const executionName = executionNameOf(executionArn);
  return [
    `Started ${executionName} with input ${JSON.stringify(input)}`,
    `  ARN:     ${executionArn}`,
    `  Console: ${consoleUrl(executionArn)}`,
    `Follow it with: ${hint(`status ${executionName}`)}`,
  ].join('\n');
}

export async function listRecentExecutions(sfn: SFNClient, stateMachineArn: string): Promise<string> {
  const page = await sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: RECENT_EXECUTIONS }));
  const executions = page.executions ?? [];
  if (executions.length === 0) return `No executions of ${stateMachineArn} yet`;
  // ListExecutions returns the newest first.
  return renderTable(
    ['name', 'status', 'start', 'stop'],
    executions.map((execution) => [
      execution.name,
      execution.redriveCount ? `${execution.status} (redriven ${execution.redriveCount}x)` : execution.status,
      formatTime(execution.startDate),
      formatTime(execution.stopDate),
    ]),
  );
}

const runReportShape = z
  .object({
    runId: z.string(),
    status: z.string(),
    summary: z.string(),
    // Runs before the run-state bucket returned every object's line; now the output is a summary
    // whose `report` names the full report in S3.
    objects: z.array(z.object({ objectName: z.string(), status: z.string() }).passthrough()).optional(),
    report: z.object({ bucket: z.string(), key: z.string() }).optional(),
    rerunInput: z.object({ objects: z.array(z.string()) }).optional(),
  })
  .passthrough();

/** A state's JSON output as a run report, or nothing if it is not one (never throws on odd history). */
function asRunReport(output: string | undefined): RunReport | undefined {
  if (!output) return undefined;
  try {
    const value: unknown = JSON.parse(output);
    // A Lambda task without payloadResponseOnly wraps the report in `Payload`.
    const payload =
      typeof value === 'object' && value !== null && 'Payload' in value
        ? (value as { Payload: unknown }).Payload
        : value;
    const parsed = runReportShape.safeParse(payload);
    return parsed.success ? (parsed.data as unknown as RunReport) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A failed execution's per-object report lives in its history, as the output of the
 * `ReportRun` state. Newest events first: the report is near the end of a long history.
 * TaskSucceeded events do not name their state, so they are traced back through
 * previousEventId to the TaskStateEntered that does.
 */
export async function findRunReportInHistory(
  sfn: SFNClient,
  executionArn: string,
): Promise<RunReport | undefined> {
  const byId = new Map<number, HistoryEvent>();
  const succeededTasks: HistoryEvent[] = [];
  const stateNameOf = (event: HistoryEvent): string | undefined => {
    let current: HistoryEvent | undefined = event;
    for (let hops = 0; current && hops < 10; hops += 1) {
      if (current.type === 'TaskStateEntered') return current.stateEnteredEventDetails?.name;
      current = current.previousEventId === undefined ? undefined : byId.get(current.previousEventId);
    }
    return undefined;
  };
  let nextToken: string | undefined;
  for (let pages = 0; pages < MAX_HISTORY_PAGES; pages += 1) {
    const page = await sfn.send(
      new GetExecutionHistoryCommand({
        executionArn,
        reverseOrder: true,
        maxResults: 100,
        includeExecutionData: true,
        nextToken,
      }),
    );
    for (const event of page.events ?? []) {
      if (event.id !== undefined) byId.set(event.id, event);
      if (event.type === 'TaskStateExited' && event.stateExitedEventDetails?.name === REPORT_STATE_NAME) {
        const report = asRunReport(event.stateExitedEventDetails.output);
        if (report) return report;
      }
      if (event.type === 'TaskSucceeded') succeededTasks.push(event);
    }
    for (const event of succeededTasks) {
      if (stateNameOf(event) === REPORT_STATE_NAME) {
        const report = asRunReport(event.taskSucceededEventDetails?.output);
        if (report) return report;
      }
    }
    nextToken = page.nextToken;
    if (!nextToken) break;
  }
  return undefined;
}

function describeHeader(execution: DescribeExecutionCommandOutput): string[] {
  const status = execution.error ? `${execution.status} (${execution.error})` : (execution.status ?? '');
  const lines = [
    `Execution: ${execution.name ?? ''}`,
    `Status:    ${status}`,
    `Started:   ${formatTime(execution.startDate)}`,
  ];
  if (execution.stopDate) lines.push(`Stopped:   ${formatTime(execution.stopDate)}`);
  if (execution.redriveCount)
    lines.push(`Redriven:  ${execution.redriveCount}x, last ${formatTime(execution.redriveDate)}`);
  lines.push(`Input:     ${execution.input ?? ''}`);
  lines.push(`Console:   ${consoleUrl(execution.executionArn ?? '')}`);
  return lines;
}

/** One execution: status, the per-object report (output or history), and for a failure its cause and next step. */
export async function describeRun(
  sfn: SFNClient,
  executionArn: string,
  hint: CommandHint = plainHint,
  /** The execution as the operator named it (name or ARN), for the suggested redrive. */
  reference: string = executionNameOf(executionArn),
): Promise<string> {
  let execution: DescribeExecutionCommandOutput;
  try {
    execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  } catch (error) {
    if (awsErrorName(error) === 'ExecutionDoesNotExist') {
      throw new OperationError(`No execution ${executionArn}`);
    }
    throw error;
  }
  const lines = describeHeader(execution);
  if (execution.status === 'RUNNING' || execution.status === 'PENDING_REDRIVE') {
    lines.push('', 'Still running: the report appears when it ends.');
    return lines.join('\n');
  }
  const report =
    execution.status === 'SUCCEEDED'
      ? asRunReport(execution.output)
      : await findRunReportInHistory(sfn, executionArn);
  if (report?.objects) {
    lines.push('', renderRunReport(report.objects));
  }
  const fullReport = (report as { report?: { bucket: string; key: string } } | undefined)?.report;
  if (fullReport) lines.push('', `Every object's line: s3://${fullReport.bucket}/${fullReport.key}`);
  if (execution.status === 'SUCCEEDED') {
    if (report) lines.push('', report.summary);
    return lines.join('\n');
  }
  lines.push('', `Cause: ${execution.cause ?? '(none given)'}`);
  if (!report) lines.push(`No run report: the execution stopped before ${REPORT_STATE_NAME} finished.`);
  if (execution.error === OBJECTS_FAILED_ERROR && report?.rerunInput) {
    // Per-object failures were caught and cleaned up inside the run: a rerun retries them, a redrive would not.
    lines.push(
      `Rerun the objects that failed: ${hint(`run --objects ${report.rerunInput.objects.join(',')}`)}`,
    );
  } else if (execution.redriveStatus === 'REDRIVABLE') {
    lines.push(`Redrive it from the failed step: ${hint(`redrive ${reference}`)}`);
  } else if (execution.redriveStatusReason) {
    lines.push(`Not redrivable: ${execution.redriveStatusReason}`);
  }
  return lines.join('\n');
}

export async function redriveRun(
  sfn: SFNClient,
  executionArn: string,
  hint: CommandHint = plainHint,
  reference: string = executionNameOf(executionArn),
): Promise<string> {
  try {
    const result = await sfn.send(new RedriveExecutionCommand({ executionArn }));
    const name = executionNameOf(executionArn);
    return [
      `Redrove ${name} at ${formatTime(result.redriveDate)}: it restarts from the step that failed.`,
      `  Console: ${consoleUrl(executionArn)}`,
      `Follow it with: ${hint(`status ${reference}`)}`,
    ].join('\n');
  } catch (error) {
    const name = awsErrorName(error);
    const message = error instanceof Error ? error.message : String(error);
    if (name === 'ExecutionNotRedrivable') {
      throw new OperationError(
        `${executionNameOf(executionArn)} cannot be redriven: ${message}. ` +
          'If objects failed, rerun them instead ("status" shows the run command).',
      );
    }
    if (name === 'ExecutionDoesNotExist') throw new OperationError(`No execution ${executionArn}`);
    if (name === 'ExecutionLimitExceeded') {
      throw new OperationError(`Cannot redrive now, too many executions are open: ${message}`);
    }
    throw error;
  }
}
