import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** Built once per cold start and shared by every module of a handler. */
export const logger = new Logger({ serviceName: 'saas-to-redshift' });

export const METRICS_NAMESPACE = 'SaasToRedshift';
export const METRICS_SERVICE = 'saas-to-redshift';
/**
 * Set by the stack on every pipeline function: the `environment` dimension keeps two
 * environments that share an account and region apart on their own dashboards.
 */
export const METRICS_ENVIRONMENT_VARIABLE = 'PIPELINE_ENVIRONMENT';

/**
 * Every per-object metric the handlers emit, with its CloudWatch unit. The dashboard charts
 * each of them, so a name added here and emitted somewhere shows up there too.
 */
export const OBJECT_METRICS = {
  RecordsExtracted: MetricUnit.Count,
  RowsStaged: MetricUnit.Count,
  DuplicatesRemoved: MetricUnit.Count,
  RowsInserted: MetricUnit.Count,
  RowsUpdated: MetricUnit.Count,
  RowsUnchanged: MetricUnit.Count,
  RowsDeleted: MetricUnit.Count,
  // CloudWatch has no minutes unit; the name carries it.
  FlowRunMinutes: MetricUnit.NoUnit,
  ConsolidationSeconds: MetricUnit.Seconds,
  ObjectSucceeded: MetricUnit.Count,
  ObjectFailed: MetricUnit.Count,
  /** Minutes from the object's completeThrough to the end of the run (issue 20); every run, every enabled object. */
  FreshnessLagMinutes: MetricUnit.NoUnit,
  /** Final rows whose refreshed columns a column refresh rewrote (issue 21). */
  RowsRefreshed: MetricUnit.Count,
  /** History versions a consolidation added and closed (issue 22); objects that keep history only. */
  HistoryVersionsAdded: MetricUnit.Count,
  HistoryVersionsClosed: MetricUnit.Count,
} as const;
export type ObjectMetricName = keyof typeof OBJECT_METRICS;

/** Metrics of the whole environment, dimension `environment` only (the alarms watch them). */
export const ENVIRONMENT_METRICS = {
  /** Enabled objects whose lag exceeds twice their cadence plus their flow timeout. */
  ObjectsOverdue: MetricUnit.Count,
  /** 1 per object that failed, 0 per object that loaded: the ObjectFailed alarm's metric. */
  ObjectFailed: MetricUnit.Count,
} as const;
export type EnvironmentMetricName = keyof typeof ENVIRONMENT_METRICS;

/** One EMF record of environment-wide figures (Powertools adds `service`). */
export function publishEnvironmentMetrics(
  figures: Partial<Record<EnvironmentMetricName, number>>,
  environmentName = process.env[METRICS_ENVIRONMENT_VARIABLE],
): void {
  const metrics = new Metrics({
    namespace: METRICS_NAMESPACE,
    serviceName: METRICS_SERVICE,
    ...(environmentName ? { defaultDimensions: { environment: environmentName } } : {}),
  });
  for (const [name, value] of Object.entries(figures) as [EnvironmentMetricName, number][]) {
    metrics.addMetric(name, ENVIRONMENT_METRICS[name], value);
  }
  metrics.publishStoredMetrics();
}

/** Dimensions of every object metric: `object`, `environment` when the stack set it (and Powertools' `service`). */
export function objectDimensions(
  objectName: string,
  environmentName = process.env[METRICS_ENVIRONMENT_VARIABLE],
): Record<string, string> {
  return environmentName ? { object: objectName, environment: environmentName } : { object: objectName };
}

/** One EMF record per object and step, so a dashboard can chart any object alone. */
export function publishObjectMetrics(
  objectName: string,
  figures: Partial<Record<ObjectMetricName, number | undefined>>,
): void {
  const objectMetrics = new Metrics({
    namespace: METRICS_NAMESPACE,
    serviceName: METRICS_SERVICE,
    defaultDimensions: objectDimensions(objectName),
  });
  let stored = 0;
  for (const [name, value] of Object.entries(figures) as [ObjectMetricName, number | undefined][]) {
    // A figure we could not measure is left out rather than charted as zero.
    if (value === undefined || !Number.isFinite(value)) continue;
    objectMetrics.addMetric(name, OBJECT_METRICS[name], value);
    stored += 1;
  }
  if (stored > 0) objectMetrics.publishStoredMetrics();
}

/** A flow run's end states; a run still going (or cancelling) has no duration yet. */
const FLOW_RUN_END_STATES = new Set(['Successful', 'Error', 'Canceled']);

/** What PollFlow knows of the run: AppFlow's ExecutionRecord. */
export interface FlowRunTimes {
  readonly executionStatus?: string;
  readonly startedAt?: Date;
  readonly lastUpdatedAt?: Date;
}

/**
 * Minutes from the flow run's start to its end (`lastUpdatedAt` of an ended run), from
 * AppFlow's own timestamps so the Wait loop's granularity does not inflate it.
 * Undefined while the run goes on or when a timestamp is missing.
 */
export function flowRunMinutes(run: FlowRunTimes | undefined): number | undefined {
  if (!run?.executionStatus || !FLOW_RUN_END_STATES.has(run.executionStatus)) return undefined;
  if (!run.startedAt || !run.lastUpdatedAt) return undefined;
  const milliseconds = run.lastUpdatedAt.getTime() - run.startedAt.getTime();
  return Number.isFinite(milliseconds) && milliseconds >= 0
    ? Math.round(milliseconds / 600) / 100
    : undefined;
}

/** FlowRunMinutes once the run has ended, successful or not: slow failures are worth seeing too. */
export function publishFlowRunMetrics(objectName: string, run: FlowRunTimes | undefined): void {
  publishObjectMetrics(objectName, { FlowRunMinutes: flowRunMinutes(run) });
}

/** The Data API's `Duration` of the CALL is in nanoseconds (-1 or absent when unknown). */
export function statementSeconds(statement: { readonly Duration?: number } | undefined): number | undefined {
  const nanoseconds = statement?.Duration;
  if (nanoseconds === undefined || nanoseconds < 0) return undefined;
  return Math.round(nanoseconds / 1e6) / 1e3;
}

/** The procedure's figures (contract 6); a figure the procedure does not report yet stays out. */
export interface ConsolidationMetricFigures {
  readonly rowsStaged?: number;
  readonly duplicatesRemoved?: number;
  readonly rowsInserted?: number;
  readonly rowsUpdated?: number;
  readonly rowsUnchanged?: number;
  readonly rowsDeleted?: number;
  /** Present when the CALL kept history. */
  readonly historyVersionsAdded?: number;
  readonly historyVersionsClosed?: number;
}

/** Every figure of one finished consolidation, and how long its CALL ran in Redshift. */
export function publishConsolidationMetrics(
  objectName: string,
  figures: ConsolidationMetricFigures,
  statement: { readonly Duration?: number } | undefined,
): void {
  publishObjectMetrics(objectName, {
    RowsStaged: figures.rowsStaged,
    DuplicatesRemoved: figures.duplicatesRemoved,
    RowsInserted: figures.rowsInserted,
    RowsUpdated: figures.rowsUpdated,
    RowsUnchanged: figures.rowsUnchanged,
    RowsDeleted: figures.rowsDeleted,
    HistoryVersionsAdded: figures.historyVersionsAdded,
    HistoryVersionsClosed: figures.historyVersionsClosed,
    ConsolidationSeconds: statementSeconds(statement),
  });
}

/** Keys that tie a log line to one object's run; passed per call, never appended logger-wide. */
export function objectKeys(state: { plan: { objectName: string }; run: { runId: string } }) {
  return { objectName: state.plan.objectName, runId: state.run.runId };
}
