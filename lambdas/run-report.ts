import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { requireEnv } from './common/environment';
import { classifyAwsError } from './common/errors';
import { freshnessEntriesSchema, measureFreshness, type ObjectFreshness } from './common/freshness';
import {
  type MapRunOutput,
  mapRunManifestSchema,
  namedEntriesSchema,
  objectResultsOfMapRun,
  objectResultsSchema,
  resultFileContentSchema,
} from './common/map-run-results';
import type { ObjectResult } from './common/object-state';
import { logger, publishEnvironmentMetrics, publishObjectMetrics } from './common/observability';
import { EVENT_DETAIL_TYPE, EVENT_SOURCE } from './common/run-events';
import type { RunContext } from './common/run-plan';
import {
  buildRunReport,
  type RunReport,
  type RunReportSummary,
  renderRunReport,
  summarizeRunReport,
} from './common/run-report';
import { getRunStateJson, putRunStateJson, type RunPlanReference } from './common/run-state';

const EVENT_BUS_NAME = requireEnv('EVENT_BUS_NAME');
const events = new EventBridgeClient({});
const s3 = new S3Client({});

export interface RunReportEvent {
  run: RunContext;
  plan: RunPlanReference;
  /**
   * The Distributed Map's output: its Map Run and where ResultWriter put the manifest. Absent when
   * the plan held no object and the Map was skipped (AWS does not document a manifest for an
   * empty Map Run): every object's line is then in the rejected list.
   */
  mapRun?: MapRunOutput;
}

/** Every object's line: the Map Run's children, then the objects that never ran (rejected). */
export async function collectObjectResults(
  client: S3Client,
  plan: RunPlanReference,
  mapRun: MapRunOutput | undefined,
): Promise<ObjectResult[]> {
  const rejected = await getRunStateJson(client, plan.bucket, plan.rejectedKey, objectResultsSchema);
  if (!mapRun) return rejected as ObjectResult[];
  const { Bucket, Key } = mapRun.ResultWriterDetails;
  const manifest = await getRunStateJson(client, Bucket, Key, mapRunManifestSchema);
  const files = [
    ...manifest.ResultFiles.SUCCEEDED,
    ...manifest.ResultFiles.FAILED,
    ...manifest.ResultFiles.PENDING,
  ];
  const children = [];
  for (const file of files) {
    children.push(
      ...(await getRunStateJson(client, manifest.DestinationBucket, file.Key, resultFileContentSchema)),
    );
  }
  const planned = await getRunStateJson(client, plan.bucket, plan.key, namedEntriesSchema);
  return [
    ...objectResultsOfMapRun(
      children,
      planned.map((entry) => entry.objectName),
    ),
    ...(rejected as ObjectResult[]),
  ];
}

/**
 * Every enabled object's freshness at the end of the run (issue 20), those the run did not load
 * too: publishFreshness sends it as `FreshnessLagMinutes` per object and `ObjectsOverdue` for the
 * environment, which the alarm watches. Runs planned by older versions have no freshness file:
 * nothing is measured.
 */
export async function measureRunFreshness(
  client: S3Client,
  plan: RunPlanReference,
  results: ObjectResult[],
  now: Date,
): Promise<ObjectFreshness[]> {
  if (!plan.freshnessKey) return [];
  const entries = await getRunStateJson(client, plan.bucket, plan.freshnessKey, freshnessEntriesSchema);
  return measureFreshness(entries, results, now);
}

function publishFreshness(freshness: ObjectFreshness[]): void {
  for (const object of freshness) {
    publishObjectMetrics(object.objectName, { FreshnessLagMinutes: object.lagMinutes });
  }
  const overdue = freshness.filter((object) => object.overdue);
  publishEnvironmentMetrics({ ObjectsOverdue: overdue.length });
  for (const object of overdue) {
    logger.warn('Object overdue', {
      objectName: object.objectName,
      completeThrough: object.completeThrough,
      lagMinutes: object.lagMinutes,
      overdueAfterMinutes: object.overdueAfterMinutes,
      syncEveryMinutes: object.syncEveryMinutes,
    });
  }
}

/**
 * The end of every execution: the full report goes to the run-state bucket and into an
 * EventBridge event (the stack's rule sends failed runs' events, their `message` a readable
 * table, to the operators' SNS topic); the execution's output is its bounded summary.
 */
export const handler = async (event: RunReportEvent): Promise<RunReportSummary> => {
  const results = await collectObjectResults(s3, event.plan, event.mapRun);
  const now = new Date();
  const freshness = await measureRunFreshness(s3, event.plan, results, now);
  if (event.plan.freshnessKey) publishFreshness(freshness);
  const overdue = freshness
    .filter((object) => object.overdue)
    .map((object) => ({
      objectName: object.objectName,
      lagMinutes: object.lagMinutes ?? 0,
      overdueAfterMinutes: object.overdueAfterMinutes,
    }));
  const report = buildRunReport(event.run, results, now, overdue.length > 0 ? overdue : undefined);
  const location = { bucket: event.plan.bucket, key: event.plan.reportKey };
  await putRunStateJson(s3, location.bucket, location.key, report);
  logger.info('Run finished', {
    runId: report.runId,
    status: report.status,
    failedObjects: report.failedObjects.length,
    report: `s3://${location.bucket}/${location.key}`,
  });
  await publishRunReport(report, location);
  return summarizeRunReport(report, location);
};

async function publishRunReport(report: RunReport, location: { bucket: string; key: string }): Promise<void> {
  try {
    // EventBridge entries are capped at 256 KB: per-object lines beyond that stay in the full report.
    const message = `${report.summary}\n\n${renderRunReport(report.objects)}\n`;
    const full = { ...report, message, reportLocation: location };
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
}
