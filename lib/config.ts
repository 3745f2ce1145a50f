import { z } from 'zod';
import {
  DEFAULT_SCHEDULE_TIME_ZONE,
  DEFAULT_TICK_MINUTES,
  dailyTimeOfCron,
  formatDailyAt,
  isTimeZone,
  TICK_MINUTES,
  tickCronExpression,
} from '../lambdas/common/cadence';
import { DATABASE_USER_PATTERN } from '../lambdas/common/database-user';
import {
  API_VERSION_PATTERN,
  APPFLOW_NAME_PATTERN,
  CONNECTOR_LABEL_PATTERN,
  CONNECTOR_TYPE_PATTERN,
  connectorDefaults,
  DEFAULT_SOURCE_NAME,
  SOURCE_NAME_PATTERN,
  type SourceCatalog,
  SQL_IDENTIFIER_PATTERN,
} from '../lambdas/common/sources';

/**
 * Salesforce allows 25 concurrent long-running (over 20 s) API requests per production org;
 * every object in flight holds at most one, so more objects at once than that only queue
 * inside Salesforce and fail with REQUEST_LIMIT_EXCEEDED. docs/scale.md: sizing mapConcurrency.
 */
export const MAX_MAP_CONCURRENCY = 25;
/** Time a flow run may take before its object fails with `FlowWaitTimedOut` (an initial full load takes hours). */
export const DEFAULT_FLOW_TIMEOUT_MINUTES = 12 * 60;
/** What the parent execution allows beyond one flow timeout: consolidation, the report and queueing. */
export const EXECUTION_TIMEOUT_MARGIN_MINUTES = 6 * 60;

/** AppFlow resource names: letters, digits and `-_.` (the connector-profile and flow name rules). */
const appFlowName = z.string().regex(APPFLOW_NAME_PATTERN, 'must match [\\w!@#.-]{1,256}');
const awsName = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and -');
const sqlIdentifier = z.string().regex(SQL_IDENTIFIER_PATTERN, 'must be a lower-case SQL identifier');

/**
 * The database user AppFlow's Redshift connection loads staging as; the pipeline grants it
 * the staging schema and tables. With the recommended Data API connection: Serverless maps
 * the connection's Data API IAM role to `IAMR:<role-name>`; a provisioned cluster uses the
 * connection's database user name (or `IAMR:<role-name>` when none is given). The precheck
 * refuses to run while it is unset. See docs/deploying.md, one-time setup.
 */
const appflowDatabaseUser = z
  .string()
  .regex(DATABASE_USER_PATTERN, 'must be a Redshift user name such as appflow_loader or IAMR:<role-name>')
  .optional();

const fieldName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,79}$/, 'must match ^[A-Za-z][A-Za-z0-9_]{0,79}$');

/**
 * One source of the environment (issue 14): its AppFlow connector and the defaults its control
 * rows inherit. Schemas default to `<source>_incremental` and `<source>` (DESIGN.md layout).
 */
const sourceSettings = z
  .strictObject({
    /** `Salesforce`, or `CustomConnector` for a connector built with the AppFlow Custom Connector SDK. */
    connectorType: z.string().regex(CONNECTOR_TYPE_PATTERN, 'must be an AppFlow connector type'),
    /** The custom connector's registered label (required for `CustomConnector`). */
    connectorLabel: z.string().regex(CONNECTOR_LABEL_PATTERN, 'must be a valid connector label').optional(),
    connectorProfileName: appFlowName,
    /** Connector API version sent with DescribeConnectorEntity and CreateFlow. */
    apiVersion: z.string().regex(API_VERSION_PATTERN, 'must be an AppFlow apiVersion').optional(),
    /** @default Salesforce `Id`, custom connectors `id` */
    primaryKey: fieldName.optional(),
    /** @default Salesforce `SystemModstamp`, custom connectors `updated_at` */
    cursorField: fieldName.optional(),
    /** @default 'hard' */
    deleteMode: z.enum(['hard', 'soft', 'ignore']).optional(),
    /** @default `<source>_incremental` */
    stagingSchema: sqlIdentifier.optional(),
    /** @default `<source>` */
    finalSchema: sqlIdentifier.optional(),
  })
  .superRefine((source, ctx) => {
    if (source.connectorType === 'CustomConnector' && !source.connectorLabel) {
      ctx.addIssue({
        code: 'custom',
        path: ['connectorLabel'],
        message: 'is required when connectorType is CustomConnector',
      });
    }
  });

export type SourceSettingsInput = z.input<typeof sourceSettings>;

const redshiftTarget = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('serverless'),
    workgroupName: awsName,
    /** The workgroup's id: IAM names serverless workgroups by id, not by name. */
    workgroupId: z.uuid(),
    database: sqlIdentifier,
    /** Secrets Manager secret name holding the database user's credentials. */
    secretName: z.string().min(1),
    appflowDatabaseUser,
  }),
  z.strictObject({
    kind: z.literal('provisioned'),
    clusterIdentifier: awsName,
    database: sqlIdentifier,
    secretName: z.string().min(1),
    appflowDatabaseUser,
  }),
]);

export const environmentConfigSchema = z
  .object({
    account: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id'),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-1'),
    /**
     * The daily time, as a daily cron `cron(M H * * ? *)` read in `scheduleTimeZone`: daily objects
     * run on the first tick at or after it, and every cadence is anchored to it (issue 20).
     */
    scheduleExpression: z
      .string()
      .refine(
        (expression) => dailyTimeOfCron(expression) !== undefined,
        'must be a daily cron(M H * * ? *) (the daily time every cadence is anchored to); ' +
          'for runs more often than daily, set syncEveryMinutes on the objects: the schedule ticks every scheduleTickMinutes',
      ),
    /** IANA time zone of the daily time and the ticks, e.g. `Europe/Berlin` (05:00 stays 05:00 across DST). */
    scheduleTimeZone: z
      .string()
      .refine(isTimeZone, 'must be an IANA time zone such as UTC or Europe/Berlin')
      .default(DEFAULT_SCHEDULE_TIME_ZONE),
    /** Minutes between two scheduled ticks (each starts the due objects); one tick falls on the daily time. */
    scheduleTickMinutes: z
      .number()
      .int()
      .refine(
        (minutes) => (TICK_MINUTES as readonly number[]).includes(minutes),
        `must be one of ${TICK_MINUTES.join(', ')} (a divisor of a day, so ticks stay anchored to the daily time)`,
      )
      .default(DEFAULT_TICK_MINUTES),
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
       * Secret with the Salesforce credentials the quota guard signs in with each run (JWT bearer
       * flow or refresh token; docs/deploying.md, "Quota guard: the API-limits secret"); when set, each run
       * first reads the org's remaining daily API requests.
       */
      apiLimitsSecretName: z.string().min(1).optional(),
      /** Salesforce API used by the flows; pinned so a flow never switches API mid-history. */
      dataTransferApi: z.enum(['AUTOMATIC', 'BULKV2', 'REST_SYNC']).default('AUTOMATIC'),
    }),
    /**
     * Sources by name (a lower-case SQL identifier, also the schema stem). `salesforce`, when
     * not listed, is derived from `source`, so configs without `sources` keep working unchanged.
     */
    sources: z
      .record(z.string(), sourceSettings)
      .superRefine((sources, ctx) => {
        for (const name of Object.keys(sources).filter((key) => !SOURCE_NAME_PATTERN.test(key))) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: 'source names must be lower-case SQL identifiers (they name the schemas)',
          });
        }
      })
      .optional(),
    /** S3 bucket AppFlow stages Redshift loads through (created by the stack). */
    stagingBucketName: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name'),
    flowNamePrefix: z
      .string()
      .regex(/^[a-zA-Z0-9][\w-]{0,39}$/, 'must be letters, digits, - and _ (≤ 40)')
      .default('s2r'),
    /** Objects in flight at once (each a child execution); at most Salesforce's 25 long-running requests. */
    mapConcurrency: z
      .number()
      .int()
      .min(1)
      .max(
        MAX_MAP_CONCURRENCY,
        `must be at most ${MAX_MAP_CONCURRENCY}: Salesforce allows 25 concurrent long-running API requests per org`,
      )
      .default(5),
    /** How long a flow run may take before its object fails with FlowWaitTimedOut (default 12 h). */
    flowTimeoutMinutes: z
      .number()
      .int()
      .min(10)
      .max(48 * 60)
      .default(DEFAULT_FLOW_TIMEOUT_MINUTES),
    /**
     * Refused: flows are no longer polled but awaited (AppFlow's end-of-run event, a sweep, a
     * status read after a missed heartbeat). A setting that changes nothing must not look as if
     * it bounded the wait: `flowTimeoutMinutes` does.
     */
    maxFlowPolls: z
      .never({
        error:
          'no longer used: flows are awaited by event now; set flowTimeoutMinutes (how long a flow may run) instead',
      })
      .optional(),
    /** Share of the org's daily API requests that must remain for a run to start flows. */
    minApiQuotaShare: z.number().min(0).max(1).default(0.2),
    /** Hard limit of one execution; default flowTimeoutMinutes + 6 h, so the longest flow still reports. */
    executionTimeoutMinutes: z
      .number()
      .int()
      .min(10)
      .max(7 * 24 * 60)
      .optional(),
    alarmEmail: z.email().optional(),
    logRetentionDays: z.number().int().positive().default(90),
    /** Days each run's files (plan, Map results, full report) stay in the run-state bucket. */
    runStateRetentionDays: z.number().int().positive().default(30),
    /** `retain` keeps the control table and buckets when the stack is deleted. */
    removalPolicy: z.enum(['retain', 'destroy']).default('retain'),
  })
  .strict()
  .superRefine((config, context) => {
    if (
      config.executionTimeoutMinutes !== undefined &&
      config.executionTimeoutMinutes <= config.flowTimeoutMinutes
    ) {
      context.addIssue({
        code: 'custom',
        path: ['executionTimeoutMinutes'],
        message: `must exceed flowTimeoutMinutes (${config.flowTimeoutMinutes}): the execution would end before a flow may time out`,
      });
    }
  })
  .transform((config) => {
    const dailyAtMinutes = dailyTimeOfCron(config.scheduleExpression) as number;
    return {
      ...config,
      executionTimeoutMinutes:
        config.executionTimeoutMinutes ?? config.flowTimeoutMinutes + EXECUTION_TIMEOUT_MARGIN_MINUTES,
      /** What EventBridge Scheduler and LoadObjects are given (issue 20). */
      schedule: {
        dailyAt: formatDailyAt(dailyAtMinutes),
        timeZone: config.scheduleTimeZone,
        tickMinutes: config.scheduleTickMinutes,
        tickExpression: tickCronExpression(dailyAtMinutes, config.scheduleTickMinutes),
      },
    };
  });

export type EnvironmentConfigInput = z.input<typeof environmentConfigSchema>;
type ParsedEnvironmentConfig = z.output<typeof environmentConfigSchema>;
export type EnvironmentConfig = Omit<ParsedEnvironmentConfig, 'sources'> & {
  name: string;
  /** Every source with its defaults applied, `salesforce` included (see `resolveSources`). */
  sources: SourceCatalog;
};

/**
 * The environment's sources with every default applied. `salesforce` comes from `source`
 * unless `sources` lists it; each source's schemas default to `<name>_incremental` / `<name>`.
 */
export function resolveSources(config: ParsedEnvironmentConfig): SourceCatalog {
  const settings: Record<string, SourceSettingsInput> = {
    [DEFAULT_SOURCE_NAME]: {
      connectorType: config.source.connectorType,
      connectorProfileName: config.source.connectorProfileName,
      stagingSchema: config.source.stagingSchema,
      finalSchema: config.source.finalSchema,
    },
    ...config.sources,
  };
  const catalog: SourceCatalog = {};
  for (const [name, source] of Object.entries(settings)) {
    const defaults = connectorDefaults(source.connectorType);
    catalog[name] = {
      connectorType: source.connectorType,
      ...(source.connectorLabel ? { connectorLabel: source.connectorLabel } : {}),
      connectorProfileName: source.connectorProfileName,
      ...(source.apiVersion ? { apiVersion: source.apiVersion } : {}),
      primaryKey: source.primaryKey ?? defaults.primaryKey,
      cursorField: source.cursorField ?? defaults.cursorField,
      deleteMode: source.deleteMode ?? 'hard',
      stagingSchema: source.stagingSchema ?? `${name}_incremental`,
      finalSchema: source.finalSchema ?? name,
    };
  }
  return catalog;
}

/** Two sources sharing a schema would consolidate into each other's tables. */
function schemaClashes(catalog: SourceCatalog): string[] {
  const owners = new Map<string, string[]>();
  for (const [name, source] of Object.entries(catalog)) {
    for (const schema of new Set([source.stagingSchema, source.finalSchema])) {
      owners.set(schema, [...(owners.get(schema) ?? []), name]);
    }
  }
  const problems: string[] = [];
  for (const [name, source] of Object.entries(catalog)) {
    if (source.stagingSchema === source.finalSchema) {
      problems.push(`sources.${name}: stagingSchema and finalSchema are both "${source.stagingSchema}"`);
    }
  }
  for (const [schema, names] of owners) {
    if (names.length > 1) problems.push(`sources: schema "${schema}" is used by ${names.join(' and ')}`);
  }
  return problems;
}

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
  const sources = resolveSources(parsed.data);
  const clashes = schemaClashes(sources);
  if (clashes.length > 0) {
    throw new Error(`Invalid config for environment "${envName}":\n  ${clashes.join('\n  ')}`);
  }
  return { ...parsed.data, name: envName, sources };
}
