import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** Built once per cold start and shared by every module of a handler. */
export const logger = new Logger({ serviceName: 'saas-to-redshift' });

/** One EMF record per object and step, so a dashboard can chart any object alone. */
export function publishObjectMetrics(objectName: string, figures: Record<string, number | undefined>): void {
  const objectMetrics = new Metrics({
    namespace: 'SaasToRedshift',
    serviceName: 'saas-to-redshift',
    defaultDimensions: { object: objectName },
  });
  for (const [name, value] of Object.entries(figures)) {
    if (value !== undefined) objectMetrics.addMetric(name, MetricUnit.Count, value);
  }
  objectMetrics.publishStoredMetrics();
}

/** Keys that tie a log line to one object's run; passed per call, never appended logger-wide. */
export function objectKeys(state: { plan: { objectName: string }; run: { runId: string } }) {
  return { objectName: state.plan.objectName, runId: state.run.runId };
}
