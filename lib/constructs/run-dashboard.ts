import { Duration, Stack } from 'aws-cdk-lib';
import {
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  type IAlarm,
  type IMetric,
  MathExpression,
  PeriodOverride,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  METRICS_NAMESPACE,
  METRICS_SERVICE,
  type ObjectMetricName,
} from '../../lambdas/common/observability';
import { objectsOverdueMetric } from './environment-metrics';

export interface RunDashboardProps {
  /** The pipeline's state machine: its executions are the dashboard's first graph. */
  readonly stateMachine: IStateMachine;
  /** Environment name: the `environment` dimension the functions put on their metrics. */
  readonly environmentName: string;
  /** Alarms whose state the dashboard shows (RunAlarms' alarms). */
  readonly alarms: readonly IAlarm[];
  /**
   * Dashboard name; unique per account and region.
   * @default `saas-to-redshift-<environmentName>`
   */
  readonly dashboardName?: string;
  /**
   * Period of the execution and per-object graphs (freshness and overdue objects are hourly):
   * objects run on cadences from 15 minutes to a week, so one point per day shows each day's totals.
   * @default Duration.days(1)
   */
  readonly period?: Duration;
  /**
   * Time range shown when the dashboard opens.
   * @default Duration.days(30)
   */
  readonly defaultInterval?: Duration;
}

/** A per-object graph: one line per `object` dimension value, found by SEARCH. */
export interface ObjectGraph {
  readonly metricName: ObjectMetricName;
  readonly title: string;
  /** Sum for counts; Maximum for durations (the slowest run of the period). */
  readonly statistic: 'Sum' | 'Maximum';
  readonly unitLabel: string;
  /** @default the dashboard's period (a day) */
  readonly period?: Duration;
}

/**
 * How far behind each object is (issue 20): minutes from its completeThrough to the end of each run,
 * the worst of every hour, so an hourly object's saw-tooth and a stuck one's climb both show.
 */
export const FRESHNESS_GRAPH: ObjectGraph = {
  metricName: 'FreshnessLagMinutes',
  title: 'Freshness lag (minutes behind the source, worst per hour)',
  statistic: 'Maximum',
  unitLabel: 'minutes',
  period: Duration.hours(1),
};

/** The per-object graphs, in dashboard order (three per row). */
export const OBJECT_GRAPHS: readonly ObjectGraph[] = [
  { metricName: 'RecordsExtracted', title: 'Records extracted', statistic: 'Sum', unitLabel: 'records' },
  {
    metricName: 'RowsInserted',
    title: 'Rows inserted (new keys and updates)',
    statistic: 'Sum',
    unitLabel: 'rows',
  },
  {
    metricName: 'RowsUpdated',
    title: 'Rows updated (replaced versions)',
    statistic: 'Sum',
    unitLabel: 'rows',
  },
  {
    metricName: 'RowsUnchanged',
    title: 'Rows unchanged (re-extracted, already current)',
    statistic: 'Sum',
    unitLabel: 'rows',
  },
  { metricName: 'RowsDeleted', title: 'Rows deleted', statistic: 'Sum', unitLabel: 'rows' },
  {
    metricName: 'DuplicatesRemoved',
    title: 'Duplicates removed in staging',
    statistic: 'Sum',
    unitLabel: 'rows',
  },
  {
    metricName: 'FlowRunMinutes',
    title: 'Flow run minutes (slowest run)',
    statistic: 'Maximum',
    unitLabel: 'minutes',
  },
  {
    metricName: 'ConsolidationSeconds',
    title: 'Consolidation seconds (slowest CALL)',
    statistic: 'Maximum',
    unitLabel: 'seconds',
  },
  { metricName: 'ObjectFailed', title: 'Object failures', statistic: 'Sum', unitLabel: 'failures' },
  {
    metricName: 'RowsRefreshed',
    title: 'Rows refreshed (column refresh)',
    statistic: 'Sum',
    unitLabel: 'rows',
  },
  {
    metricName: 'HistoryVersionsAdded',
    title: 'History versions added',
    statistic: 'Sum',
    unitLabel: 'versions',
  },
  {
    metricName: 'HistoryVersionsClosed',
    title: 'History versions closed',
    statistic: 'Sum',
    unitLabel: 'versions',
  },
];

/** CloudWatch's dynamic label: each SEARCH result is named after its object. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudWatch label placeholder, not a JS template
const OBJECT_LABEL = "${PROP('Dim.object')}";

/** Values spliced into a SEARCH string: no quote or brace can reach the expression. */
const SEARCH_SAFE_VALUE = /^[A-Za-z0-9_.-]{1,255}$/;

/**
 * A SEARCH over the exact dimension set the handlers emit (Powertools adds `service`),
 * narrowed to one environment: an object added to the control table appears on the next
 * run without a redeploy.
 */
export function objectMetricSearch(
  metricName: ObjectMetricName,
  environmentName: string,
  statistic: string,
  period: Duration,
): string {
  for (const value of [metricName, environmentName]) {
    if (!SEARCH_SAFE_VALUE.test(value)) throw new Error(`RunDashboard: "${value}" cannot go into a SEARCH`);
  }
  const schema = `{${METRICS_NAMESPACE},environment,object,service}`;
  const terms = `environment="${environmentName}" service="${METRICS_SERVICE}" MetricName="${metricName}"`;
  return `SEARCH('${schema} ${terms}', '${statistic}', ${period.toSeconds()})`;
}

/**
 * One CloudWatch dashboard per environment: how the runs ended, each object's figures per
 * day, and the alarms' state. `consoleUrl` is the link for the stack outputs and the docs.
 */
export class RunDashboard extends Construct {
  readonly dashboard: Dashboard;
  readonly dashboardName: string;
  readonly consoleUrl: string;

  constructor(scope: Construct, id: string, props: RunDashboardProps) {
    super(scope, id);
    if (!SEARCH_SAFE_VALUE.test(props.environmentName)) {
      throw new Error(`RunDashboard: environment name "${props.environmentName}" cannot go into a SEARCH`);
    }
    const period = props.period ?? Duration.days(1);
    this.dashboardName = props.dashboardName ?? `saas-to-redshift-${props.environmentName}`;
    this.dashboard = new Dashboard(this, 'Resource', {
      dashboardName: this.dashboardName,
      defaultInterval: props.defaultInterval ?? Duration.days(30),
      // The graphs keep their daily period whatever range the operator picks.
      periodOverride: PeriodOverride.INHERIT,
    });

    const sm = props.stateMachine;
    const executions: IMetric[] = [
      sm.metricSucceeded({ period, statistic: 'Sum', label: 'succeeded' }),
      sm.metricFailed({ period, statistic: 'Sum', label: 'failed' }),
      sm.metricTimedOut({ period, statistic: 'Sum', label: 'timed out' }),
      sm.metricAborted({ period, statistic: 'Sum', label: 'aborted' }),
    ];
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: [
          `# SaaS to Redshift: ${props.environmentName}`,
          'Executions of the state machine, how far behind each object is, then one line per object (namespace `SaasToRedshift`, dimension `object`).',
          "An object's figures appear after its first run; a failed object's cause is in its control row and the run report.",
        ].join('\n\n'),
        width: 24,
        height: 3,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Executions',
        left: executions,
        leftYAxis: { min: 0, label: 'executions', showUnits: false },
        width: 12,
        height: 6,
      }),
      new AlarmStatusWidget({ title: 'Alarms', alarms: [...props.alarms], width: 12, height: 6 }),
    );
    const objectGraph = (graph: ObjectGraph, width: number) => {
      const graphPeriod = graph.period ?? period;
      return new GraphWidget({
        title: graph.title,
        left: [
          new MathExpression({
            expression: objectMetricSearch(
              graph.metricName,
              props.environmentName,
              graph.statistic,
              graphPeriod,
            ),
            usingMetrics: {},
            label: OBJECT_LABEL,
            period: graphPeriod,
          }),
        ],
        leftYAxis: { min: 0, label: graph.unitLabel, showUnits: false },
        width,
        height: 6,
      });
    };
    this.dashboard.addWidgets(
      objectGraph(FRESHNESS_GRAPH, 16),
      new GraphWidget({
        title: 'Objects overdue (lag over twice the cadence, in whole ticks, plus the flow timeout)',
        left: [objectsOverdueMetric(props.environmentName, 'objects overdue')],
        leftYAxis: { min: 0, label: 'objects', showUnits: false },
        width: 8,
        height: 6,
      }),
    );
    this.dashboard.addWidgets(...OBJECT_GRAPHS.map((graph) => objectGraph(graph, 8)));

    const region = Stack.of(this).region;
    this.consoleUrl = `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards/dashboard/${this.dashboardName}`;
  }
}
