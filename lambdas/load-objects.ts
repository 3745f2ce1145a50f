import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type ObjectConfig, parseControlRows } from './common/control-row';
import { scanControlTable } from './common/control-table';
import { optionalEnv, requireEnv } from './common/environment';
import { parseExecutionInput } from './common/execution-input';
import { emptyResult, type ObjectResult } from './common/object-state';
import { logger } from './common/observability';
import { buildRunContext, type ObjectPlan, planObject, type RunContext } from './common/run-plan';
import {
  putRunStateJson,
  RUN_STATE_BUCKET_ENVIRONMENT_VARIABLE,
  type RunPlanReference,
  runStateKeys,
} from './common/run-state';
import {
  DEFAULT_SOURCES,
  parseSourceCatalog,
  SOURCES_ENVIRONMENT_VARIABLE,
  type SourceCatalog,
} from './common/sources';

const CONTROL_TABLE_NAME = requireEnv('CONTROL_TABLE_NAME');
const DEFAULT_CONNECTOR_PROFILE = requireEnv('DEFAULT_CONNECTOR_PROFILE');
/** The environment's sources (lib/config.ts resolves them); rows name one with `sourceName`. */
const SOURCES = parseSourceCatalog(optionalEnv(SOURCES_ENVIRONMENT_VARIABLE));
const RUN_STATE_BUCKET = requireEnv(RUN_STATE_BUCKET_ENVIRONMENT_VARIABLE);
const s3 = new S3Client({});
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});

export interface LoadObjectsEvent {
  input: unknown;
  execution: { name: string; startTime: string; id?: string };
}

/**
 * The run's context and where its plan is. The plans (one per object, each with its fields) and
 * the rejected objects go to the run-state bucket, not into the state: with hundreds of objects
 * they are over Step Functions' 256 KB payload limit. The Distributed Map reads the plans from there.
 */
export interface LoadObjectsResult {
  run: RunContext;
  plan: RunPlanReference;
}

/** Pure: rows and input in, the run's work list out. */
export function selectObjects(
  items: Record<string, unknown>[],
  requested: string[] | undefined,
  run: RunContext,
  defaultConnectorProfile: string,
  sources: SourceCatalog = DEFAULT_SOURCES,
): { objects: ObjectPlan[]; rejected: ObjectResult[] } {
  const valid = new Map<string, ObjectConfig>();
  const invalid = new Map<string, string>();
  for (const parsed of parseControlRows(items, sources)) {
    if (parsed.ok) valid.set(parsed.object.objectName, parsed.object);
    else invalid.set(parsed.objectName, parsed.error);
  }
  const rejected: ObjectResult[] = [];
  const selected: ObjectConfig[] = [];
  if (requested) {
    for (const name of [...new Set(requested)]) {
      const object = valid.get(name);
      if (invalid.has(name)) rejected.push(emptyResult(name, 'FAILED', invalid.get(name) as string));
      else if (!object)
        rejected.push(emptyResult(name, 'FAILED', `Unknown object "${name}": no control-table row`));
      else if (!object.enabled)
        rejected.push(emptyResult(name, 'SKIPPED', `${name} is disabled in the control table`));
      else selected.push(object);
    }
  } else {
    for (const [name, error] of invalid) rejected.push(emptyResult(name, 'FAILED', error));
    selected.push(...[...valid.values()].filter((object) => object.enabled));
  }
  const objects = selected
    .map((object) => planObject(object, run, defaultConnectorProfile))
    .sort((a, b) => a.objectName.localeCompare(b.objectName));
  return { objects, rejected: rejected.sort((a, b) => a.objectName.localeCompare(b.objectName)) };
}

export const handler = async (event: LoadObjectsEvent): Promise<LoadObjectsResult> => {
  const input = parseExecutionInput(event.input);
  const run = buildRunContext(input, event.execution);
  const items = await scanControlTable(doc, CONTROL_TABLE_NAME);
  // The quota guard comes after, in the precheck: it asks the org only when something will run.
  const { objects, rejected } = selectObjects(items, input.objects, run, DEFAULT_CONNECTOR_PROFILE, SOURCES);
  for (const bad of rejected)
    logger.warn('Object will not run', { objectName: bad.objectName, reason: bad.error });
  const keys = runStateKeys(event.execution.name);
  // A retry of this step rewrites both files with the same content: the keys are the execution's.
  await putRunStateJson(s3, RUN_STATE_BUCKET, keys.rejected, rejected);
  await putRunStateJson(s3, RUN_STATE_BUCKET, keys.plan, objects);
  logger.info('Run planned', {
    runId: run.runId,
    objects: objects.length,
    rejected: rejected.length,
    plan: `s3://${RUN_STATE_BUCKET}/${keys.plan}`,
  });
  return {
    run,
    plan: {
      bucket: RUN_STATE_BUCKET,
      key: keys.plan,
      objectCount: objects.length,
      rejectedKey: keys.rejected,
      rejectedCount: rejected.length,
      resultsPrefix: keys.results,
      reportKey: keys.report,
    },
  };
};
