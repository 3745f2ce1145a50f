import { z } from 'zod';

/** AppFlow resource names: letters, digits and `-_.` (the connector-profile and flow name rules). */
const appFlowName = z.string().regex(/^[\w!@#.-]{1,256}$/, 'must match [\\w!@#.-]{1,256}');
const awsName = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and -');
const sqlIdentifier = z.string().regex(/^[a-z_][a-z0-9_]{0,126}$/, 'must be a lower-case SQL identifier');

const redshiftTarget = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('serverless'),
    workgroupName: awsName,
    /** The workgroup's id: IAM names serverless workgroups by id, not by name. */
    workgroupId: z.uuid(),
    database: sqlIdentifier,
    /** Secrets Manager secret name holding the database user's credentials. */
    secretName: z.string().min(1),
  }),
  z.strictObject({
    kind: z.literal('provisioned'),
    clusterIdentifier: awsName,
    database: sqlIdentifier,
    secretName: z.string().min(1),
  }),
]);

export const environmentConfigSchema = z
  .object({
    account: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id'),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-1'),
    /** EventBridge schedule for the daily run. */
    scheduleExpression: z
      .string()
      .regex(
        /^(cron\(.+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\))$/,
        'must be cron(...) or rate(...)',
      ),
    redshift: redshiftTarget,
    // Strict at every level: a misspelt key must fail the synth, not fall back to a default.
    source: z.strictObject({
      /** Connector type of the default source; rows may override it. */
      connectorType: z.string().default('Salesforce'),
      connectorProfileName: appFlowName,
      /** Extra source connector profiles rows may name (IAM is scoped to this list). */
      additionalConnectorProfileNames: z.array(appFlowName).default([]),
      /** AppFlow connector profile of the Redshift destination. */
      redshiftConnectorProfileName: appFlowName,
      stagingSchema: sqlIdentifier.default('salesforce_incremental'),
      finalSchema: sqlIdentifier.default('salesforce'),
      /**
       * Secret with `{"instanceUrl", "accessToken"}` for Salesforce's limits resource; when
       * set, each run first reads the org's remaining daily API requests (quota guard).
       */
      apiLimitsSecretName: z.string().min(1).optional(),
      /** Salesforce API used by the flows; pinned so a flow never switches API mid-history. */
      dataTransferApi: z.enum(['AUTOMATIC', 'BULKV2', 'REST_SYNC']).default('AUTOMATIC'),
    }),
    /** S3 bucket AppFlow stages Redshift loads through (created by the stack). */
    stagingBucketName: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name'),
    flowNamePrefix: z
      .string()
      .regex(/^[a-zA-Z0-9][\w-]{0,39}$/, 'must be letters, digits, - and _ (≤ 40)')
      .default('s2r'),
    mapConcurrency: z.number().int().min(1).max(40).default(5),
    /** Polls of a running flow before the object fails with FlowWaitTimedOut. */
    maxFlowPolls: z.number().int().min(1).max(200).default(40),
    /** Share of the org's daily API requests that must remain for a run to start flows. */
    minApiQuotaShare: z.number().min(0).max(1).default(0.2),
    executionTimeoutMinutes: z
      .number()
      .int()
      .min(10)
      .max(24 * 60)
      .default(6 * 60),
    alarmEmail: z.email().optional(),
    logRetentionDays: z.number().int().positive().default(90),
    /** `retain` keeps the control table and bucket when the stack is deleted. */
    removalPolicy: z.enum(['retain', 'destroy']).default('retain'),
  })
  .strict();

export type EnvironmentConfigInput = z.input<typeof environmentConfigSchema>;
export type EnvironmentConfig = z.output<typeof environmentConfigSchema> & { name: string };

/** Validates one environment's config; the error names the environment and every bad key. */
export function resolveEnvironmentConfig(
  environments: Record<string, unknown>,
  envName: string | undefined,
): EnvironmentConfig {
  const known = Object.keys(environments).sort();
  if (!envName) {
    throw new Error(`No environment given: pass -c env=<name> (one of: ${known.join(', ')})`);
  }
  if (!Object.hasOwn(environments, envName)) {
    throw new Error(`Unknown environment "${envName}": config/environments.ts defines ${known.join(', ')}`);
  }
  const parsed = environmentConfigSchema.safeParse(environments[envName]);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new Error(`Invalid config for environment "${envName}":\n  ${problems.join('\n  ')}`);
  }
  return { ...parsed.data, name: envName };
}
