import type { S3Client } from '@aws-sdk/client-s3';
import { namedEntriesSchema, objectResultsSchema } from './map-run-results';
import { emptyResult, type ObjectResult } from './object-state';
import type { ObjectPlan } from './run-plan';
import { getRunStateJson, putRunStateJson, type RunPlanReference } from './run-state';
import { type ApiQuota, quotaTooLow } from './source-limits';

/**
 * The quota guard: with too little of the org's daily API quota left, no flow starts;
 * every object is reported SKIPPED_QUOTA and keeps its watermark for the next run.
 */
export function applyQuotaGuard(
  planned: { objects: ObjectPlan[]; rejected: ObjectResult[] },
  quota: ApiQuota | undefined,
  minShare: number,
  /** A tick other than the day's first: a quota still spent is reported, not e-mailed again. */
  repeated = false,
): { objects: ObjectPlan[]; rejected: ObjectResult[] } {
  if (!quota || !quotaTooLow(quota, minShare)) return planned;
  const share = ((100 * quota.remaining) / quota.max).toFixed(1);
  const reason = `Skipped: the source org has ${quota.remaining} of ${quota.max} daily API requests left (${share}%), below the ${Math.round(100 * minShare)}% kept for the org's own use; watermark unchanged`;
  // The quota is the Salesforce org's: objects of other sources do not spend it and still run.
  const spendsQuota = (plan: ObjectPlan) => plan.connectorType === 'Salesforce';
  return {
    objects: planned.objects.filter((plan) => !spendsQuota(plan)),
    rejected: [
      ...planned.rejected,
      ...planned.objects.filter(spendsQuota).map((plan) => ({
        ...emptyResult(plan.objectName, 'SKIPPED_QUOTA', reason),
        ...(repeated ? { repeatedFailure: true as const } : {}),
      })),
    ],
  };
}

/**
 * The guard applied to a run's plan in the run-state bucket (the precheck reads the quota once
 * the run is planned): the objects it holds back move from the plan to the rejected list, and
 * the reference's counts follow. A plan the guard leaves as it is is not written again.
 */
export async function guardRunPlan(
  s3: S3Client,
  plan: RunPlanReference,
  quota: ApiQuota | undefined,
  minShare: number,
  repeated = false,
): Promise<RunPlanReference> {
  if (!quota || !quotaTooLow(quota, minShare) || plan.objectCount === 0) return plan;
  const objects = (await getRunStateJson(
    s3,
    plan.bucket,
    plan.key,
    namedEntriesSchema,
  )) as unknown as ObjectPlan[];
  const rejected = (await getRunStateJson(
    s3,
    plan.bucket,
    plan.rejectedKey,
    objectResultsSchema,
  )) as ObjectResult[];
  const guarded = applyQuotaGuard({ objects, rejected }, quota, minShare, repeated);
  // Rejected first, then the plan: a retry after the first write finds the skipped objects in
  // both, and names each of them once.
  const named = new Set<string>();
  const once = guarded.rejected.filter(
    (result) => !named.has(result.objectName) && named.add(result.objectName),
  );
  await putRunStateJson(s3, plan.bucket, plan.rejectedKey, once);
  await putRunStateJson(s3, plan.bucket, plan.key, guarded.objects);
  return { ...plan, objectCount: guarded.objects.length, rejectedCount: once.length };
}
