import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type * as z from 'zod/mini';
import { classifyAwsError } from './errors';

/**
 * The run-state bucket (lib/constructs/run-state-bucket.ts) holds what would not fit in Step
 * Functions' 256 KB state payload. Every key lives under `runs/<execution name>/`; IAM grants and
 * the lifecycle rule are scoped to this prefix.
 */
export const RUN_STATE_PREFIX = 'runs/';
export const RUN_STATE_BUCKET_ENVIRONMENT_VARIABLE = 'RUN_STATE_BUCKET_NAME';

/** Where one execution's files are. Execution names hold no `/`, so each run has its own folder. */
export function runStateKeys(executionName: string) {
  const folder = `${RUN_STATE_PREFIX}${executionName}`;
  return {
    /** JSON array of ObjectPlan: the Distributed Map's items (ItemReader). */
    plan: `${folder}/plan.json`,
    /** JSON array of ObjectResult: rows and requested objects that will not run. */
    rejected: `${folder}/rejected.json`,
    /** ResultWriter's prefix: `<prefix>/<map run id>/manifest.json` and the result files. */
    results: `${folder}/results`,
    /** The full RunReport, every object's line. */
    report: `${folder}/report.json`,
    /** JSON array of FreshnessEntry: every enabled object's cadence and completeThrough (issue 20). */
    freshness: `${folder}/freshness.json`,
  };
}

/** What LoadObjects leaves in the state instead of the plan itself: references and counts. */
export interface RunPlanReference {
  bucket: string;
  /** ItemReader's key: the ObjectPlan array. */
  key: string;
  objectCount: number;
  rejectedKey: string;
  rejectedCount: number;
  /** ResultWriter's prefix for this run's Map results. */
  resultsPrefix: string;
  /** Where ReportRun writes the full report. */
  reportKey: string;
  /** Every enabled object's cadence and completeThrough, for the freshness metrics (absent in older runs). */
  freshnessKey?: string;
}

/** A JSON document in the run-state bucket. */
export async function putRunStateJson(
  s3: S3Client,
  bucket: string,
  key: string,
  value: unknown,
): Promise<void> {
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: JSON.stringify(value),
        ContentType: 'application/json',
      }),
    );
  } catch (error) {
    throw classifyAwsError(error, `writing s3://${bucket}/${key}`);
  }
}

/**
 * A JSON document of the run-state bucket, checked against its schema: what comes back from S3
 * is parsed like any other untrusted input, and a wrong shape names the file.
 */
export async function getRunStateJson<Schema extends z.ZodMiniType>(
  s3: S3Client,
  bucket: string,
  key: string,
  schema: Schema,
): Promise<z.output<Schema>> {
  let text: string;
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    text = (await object.Body?.transformToString('utf8')) ?? '';
  } catch (error) {
    throw classifyAwsError(error, `reading s3://${bucket}/${key}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`s3://${bucket}/${key} is not JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `s3://${bucket}/${key} is not the expected document: ${issue.path.join('.')}: ${issue.message}`,
    );
  }
  return parsed.data;
}
