import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { requireEnv } from './common/environment';
import { classifyAwsError } from './common/errors';
import type { ObjectResult } from './common/object-state';
import { logger } from './common/observability';
import { EVENT_DETAIL_TYPE, EVENT_SOURCE } from './common/run-events';
import type { RunContext } from './common/run-plan';
import { buildRunReport, type RunReport, renderRunReport } from './common/run-report';

const EVENT_BUS_NAME = requireEnv('EVENT_BUS_NAME');
const events = new EventBridgeClient({});

export interface RunReportEvent {
  run: RunContext;
  results: ObjectResult[];
  rejected: ObjectResult[];
}

/**
 * The end of every execution: the report becomes the execution's output and an
 * EventBridge event; the stack's rule sends failed runs' events (their `message`, a
 * readable table) to the operators' SNS topic, and anyone else can subscribe too.
 */
export const handler = async (event: RunReportEvent): Promise<RunReport> => {
  const report = buildRunReport(event.run, [...event.results, ...event.rejected], new Date());
  logger.info('Run finished', {
    runId: report.runId,
    status: report.status,
    failedObjects: report.failedObjects,
  });
  try {
    // EventBridge entries are capped at 256 KB: per-object lines beyond that stay in the execution output.
    const message = `${report.summary}\n\n${renderRunReport(report.objects)}\n`;
    const full = { ...report, message };
    // EventBridge counts UTF-8 bytes, not characters.
    const detail =
      Buffer.byteLength(JSON.stringify(full)) < 200_000
        ? full
        : { ...full, objects: [], message: report.summary };
    const published = await events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: EVENT_BUS_NAME,
            Source: EVENT_SOURCE,
            DetailType: EVENT_DETAIL_TYPE,
            Detail: JSON.stringify(detail),
          },
        ],
      }),
    );
    // PutEvents answers 200 even when it drops an entry: the failure is only in FailedEntryCount.
    if (published.FailedEntryCount) {
      const failure = published.Entries?.find((entry) => entry.ErrorCode);
      throw new Error(
        `EventBridge did not accept the run report: ${failure?.ErrorCode}: ${failure?.ErrorMessage}`,
      );
    }
  } catch (error) {
    throw classifyAwsError(error, 'publishing the run report');
  }
  return report;
};
