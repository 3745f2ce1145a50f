import { Duration } from 'aws-cdk-lib';
import { Metric, type MetricOptions } from 'aws-cdk-lib/aws-cloudwatch';
import {
  type EnvironmentMetricName,
  METRICS_NAMESPACE,
  METRICS_SERVICE,
} from '../../lambdas/common/observability';

/**
 * A metric the functions publish for the whole environment, on the exact dimension set they emit
 * (`environment`, and `service`, which Powertools adds): an alarm or graph on any other set sees nothing.
 */
export function environmentMetric(
  metricName: EnvironmentMetricName,
  environmentName: string,
  options: Pick<MetricOptions, 'statistic' | 'period' | 'label'>,
): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { environment: environmentName, service: METRICS_SERVICE },
    ...options,
  });
}

/**
 * Objects overdue at the end of each run (ReportRun measures every enabled object), the worst of
 * each hour: what the ObjectsOverdue alarm watches and the dashboard graphs.
 */
export function objectsOverdueMetric(environmentName: string, label?: string): Metric {
  return environmentMetric('ObjectsOverdue', environmentName, {
    statistic: 'Maximum',
    period: Duration.hours(1),
    ...(label ? { label } : {}),
  });
}
