import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EnvironmentConfig } from '../../lib/config';
import { type StateMachineDefinition, walkStates } from './definition';

const PROJECT_DIR = path.join(__dirname, '..', '..');
/** The stack the local run synthesizes (and CloudFormation would prefix generated names with). */
export const LOCAL_STACK_NAME = 'SaasToRedshift-local';
/** What the synthesized assembly depends on: a change to any of these means a fresh synth. */
const SOURCE_DIRS = ['lib', 'lambdas', 'sql', 'bin', 'config'];

type CfnValue = unknown;
interface CfnResource {
  Type: string;
  Properties?: Record<string, CfnValue>;
  Metadata?: Record<string, unknown>;
}
interface Template {
  Resources: Record<string, CfnResource>;
}

/** A Lambda function of the template, ready to run in this process. */
export interface LocalFunction {
  logicalId: string;
  bundlePath: string;
  environment: Record<string, string>;
  /** The template's `Timeout` (Lambda's default, 3 s, when absent): the local run kills past it too. */
  timeoutSeconds: number;
}

/** An EventBridge rule of the template that invokes one of its functions. */
export interface LocalEventRule {
  logicalId: string;
  /** The rule's event pattern (events it matches), or undefined for a schedule. */
  eventPattern?: Record<string, unknown>;
  scheduleExpression?: string;
  /** Logical ids of the template's functions it invokes. */
  targetFunctions: string[];
}

/** The template's EventBridge Scheduler schedule that starts the pipeline (issue 20: the tick). */
export interface LocalSchedule {
  logicalId: string;
  /** `ScheduleExpression` and `ScheduleExpressionTimezone`, as Scheduler reads them. */
  expression: string;
  timeZone: string;
  /** The execution input each tick starts the state machine with (the target's `Input`, parsed). */
  input: Record<string, unknown>;
}

export interface LocalAssembly {
  definition: StateMachineDefinition;
  /** The schedule that starts the pipeline: a scenario day with `{"scheduled": true}` is one of its ticks. */
  schedule: LocalSchedule;
  /** Task state name → the function its Resource (or, for an integration, its FunctionName) names. */
  taskFunctions: Record<string, LocalFunction>;
  /** Every bundled function of the template by logical id (steps, event targets). */
  functions: Record<string, LocalFunction>;
  /** Task states that wait for a task token (`.waitForTaskToken`). */
  tokenTasks: string[];
  /** Rules on the default bus or a schedule whose targets are the template's functions. */
  eventRules: LocalEventRule[];
  /** Every DynamoDB table of the template: physical name and key schema, for the runner to create. */
  tables: { logicalId: string; name: string; properties: Record<string, unknown> }[];
  template: Template;
  /** Physical names the runner gives resources the template only references. */
  controlTableName: string;
  /** Logical id → physical name of the resources the runner names (table, bucket, topic). */
  physicalNames: Record<string, string>;
  /** The pipeline's state machine (its role makes the Distributed Map's S3 calls). */
  stateMachineLogicalId: string;
  /** Physical names of every bucket of the template. */
  bucketNames: string[];
}

function sourceHash(config: EnvironmentConfig): string {
  const hash = createHash('sha256').update(JSON.stringify(config));
  const walk = (dir: string) => {
    for (const entry of fs
      .readdirSync(dir, { withFileTypes: true })
      .sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else hash.update(full).update(fs.readFileSync(full));
    }
  };
  for (const dir of SOURCE_DIRS) walk(path.join(PROJECT_DIR, dir));
  hash.update(fs.readFileSync(path.join(PROJECT_DIR, 'package-lock.json')));
  return hash.digest('hex').slice(0, 16);
}

/**
 * Synthesizes the real stack (bundling every function with esbuild) into a cache folder
 * keyed by the sources' hash, so repeated local runs and test files share one synth.
 */
export async function synthesizeLocalStack(config: EnvironmentConfig, cacheRoot: string): Promise<string> {
  const outdir = path.join(cacheRoot, `assembly-${sourceHash(config)}`);
  const templatePath = path.join(outdir, `${LOCAL_STACK_NAME}.template.json`);
  if (fs.existsSync(templatePath)) return outdir;
  const building = `${outdir}.building-${process.pid}`;
  fs.rmSync(building, { recursive: true, force: true });
  // Loaded here, not at module scope: a cached run never pays for aws-cdk-lib.
  const { App } = await import('aws-cdk-lib');
  const { PipelineStack } = await import('../../lib/pipeline-stack');
  // Asset metadata names each function's bundle folder; the CDK CLI sets this flag itself.
  const app = new App({ outdir: building, context: { 'aws:cdk:enable-asset-metadata': true } });
  new PipelineStack(app, LOCAL_STACK_NAME, {
    config,
    env: { account: config.account, region: config.region },
  });
  app.synth();
  try {
    fs.renameSync(building, outdir);
  } catch {
    fs.rmSync(building, { recursive: true, force: true }); // another process finished the same synth first
  }
  return outdir;
}

/** CloudFormation's name for a bucket the template leaves unnamed: `<stack>-<logical id>-<suffix>`, lower case, ≤ 63. */
function generatedBucketName(logicalId: string): string {
  const suffix = createHash('sha256').update(logicalId).digest('hex').slice(0, 12);
  const head = `${LOCAL_STACK_NAME}-${logicalId}`.toLowerCase().slice(0, 63 - suffix.length - 1);
  return `${head}-${suffix}`;
}

/** Resolves the intrinsic functions the template uses for names and ARNs into local strings. */
function resolveValue(value: CfnValue, template: Template, names: Record<string, string>): CfnValue {
  if (Array.isArray(value)) return value.map((item) => resolveValue(item, template, names));
  if (value === null || typeof value !== 'object') return value;
  const object = value as Record<string, CfnValue>;
  if ('Ref' in object) {
    const ref = String(object.Ref);
    if (ref === 'AWS::Partition') return 'aws';
    if (ref === 'AWS::Region') return 'eu-west-1';
    if (ref === 'AWS::AccountId') return '000000000000';
    if (ref === 'AWS::URLSuffix') return 'amazonaws.com';
    return names[ref] ?? ref;
  }
  if ('Fn::GetAtt' in object) {
    const [logicalId] = object['Fn::GetAtt'] as [string, string];
    const resource = template.Resources[logicalId];
    if (resource?.Type === 'AWS::Lambda::Function')
      return `arn:aws:lambda:eu-west-1:000000000000:function:${logicalId}`;
    return `arn:aws:local:eu-west-1:000000000000:${logicalId}`;
  }
  if ('Fn::Join' in object) {
    const [separator, parts] = object['Fn::Join'] as [string, CfnValue[]];
    return parts.map((part) => String(resolveValue(part, template, names))).join(separator);
  }
  return Object.fromEntries(
    Object.entries(object).map(([key, item]) => [key, resolveValue(item, template, names)]),
  );
}

/** True when an AWS::Lambda::Permission lets EventBridge invoke the function from this rule (SourceArn). */
function eventsMayInvoke(template: Template, functionId: string, ruleId: string): boolean {
  const refersTo = (value: unknown, logicalId: string) =>
    JSON.stringify(value) === JSON.stringify({ 'Fn::GetAtt': [logicalId, 'Arn'] }) ||
    JSON.stringify(value) === JSON.stringify({ Ref: logicalId });
  return Object.values(template.Resources).some(
    (resource) =>
      resource.Type === 'AWS::Lambda::Permission' &&
      resource.Properties?.Action === 'lambda:InvokeFunction' &&
      resource.Properties?.Principal === 'events.amazonaws.com' &&
      refersTo(resource.Properties?.FunctionName, functionId) &&
      refersTo(resource.Properties?.SourceArn, ruleId),
  );
}

/** Reads the synthesized template: the state machine definition and the function behind every Task state. */
export function loadAssembly(outdir: string): LocalAssembly {
  const template = JSON.parse(
    fs.readFileSync(path.join(outdir, `${LOCAL_STACK_NAME}.template.json`), 'utf8'),
  ) as Template;
  const resources = Object.entries(template.Resources);
  const tableResources = resources.filter(([, resource]) => resource.Type === 'AWS::DynamoDB::Table');
  const partitionKeyOf = (resource: CfnResource) =>
    (resource.Properties?.KeySchema as { AttributeName: string; KeyType: string }[] | undefined)?.find(
      (key) => key.KeyType === 'HASH',
    )?.AttributeName;
  const tableId = tableResources.find(([, resource]) => partitionKeyOf(resource) === 'objectName')?.[0];
  if (!tableId) throw new Error('The template has no DynamoDB control table');
  const controlTableName = 'saas-to-redshift-local-control';
  const names: Record<string, string> = { [tableId]: controlTableName };
  // Other tables are named after their partition key (the flow waits: `…-flowName`).
  for (const [logicalId, resource] of tableResources) {
    if (logicalId !== tableId) names[logicalId] = `saas-to-redshift-local-${partitionKeyOf(resource)}`;
  }
  for (const [logicalId, resource] of resources) {
    const physical = resource.Properties?.BucketName ?? resource.Properties?.TopicName;
    if (typeof physical === 'string') names[logicalId] = physical;
    else if (resource.Type === 'AWS::S3::Bucket') names[logicalId] = generatedBucketName(logicalId);
  }
  const bucketNames = resources
    .filter(([, resource]) => resource.Type === 'AWS::S3::Bucket')
    .map(([logicalId]) => names[logicalId]);

  const machines = resources.filter(([, resource]) => resource.Type === 'AWS::StepFunctions::StateMachine');
  const pipeline = machines.find(([, resource]) =>
    String(resource.Properties?.StateMachineName ?? '').startsWith('saas-to-redshift'),
  );
  if (!pipeline) throw new Error('The template has no pipeline state machine');
  const definitionString = resolveValue(pipeline[1].Properties?.DefinitionString, template, names);
  const definition = JSON.parse(String(definitionString)) as StateMachineDefinition;

  const functions: Record<string, LocalFunction> = {};
  for (const [logicalId, resource] of resources) {
    const assetPath = resource.Metadata?.['aws:asset:path'];
    if (resource.Type !== 'AWS::Lambda::Function' || typeof assetPath !== 'string') continue;
    const handler = String(resource.Properties?.Handler ?? 'index.handler');
    const variables =
      (resource.Properties?.Environment as { Variables?: Record<string, CfnValue> } | undefined)?.Variables ??
      {};
    functions[logicalId] = {
      logicalId,
      timeoutSeconds: Number(resource.Properties?.Timeout ?? 3),
      bundlePath: path.join(outdir, assetPath, `${handler.split('.')[0]}.js`),
      environment: Object.fromEntries(
        Object.entries(variables).map(([key, value]) => [key, String(resolveValue(value, template, names))]),
      ),
    };
  }

  const taskFunctions: Record<string, LocalFunction> = {};
  const tokenTasks: string[] = [];
  for (const { name: stateName, state } of walkStates(definition)) {
    if (state.Type !== 'Task') continue;
    const resource = String(state.Resource);
    // `arn:aws:states:::lambda:invoke[.waitForTaskToken]` names its function in Parameters.
    const functionArn = resource.startsWith('arn:aws:states:::lambda:invoke')
      ? String((state.Parameters as { FunctionName?: unknown } | undefined)?.FunctionName)
      : resource;
    if (resource.endsWith('.waitForTaskToken')) tokenTasks.push(stateName);
    const fn = functions[functionArn.split(':function:')[1]];
    if (!fn) {
      throw new Error(
        `Task state ${stateName} names ${state.Resource}, which is no bundled function of the template`,
      );
    }
    taskFunctions[stateName] = fn;
  }

  const eventRules: LocalEventRule[] = resources
    .filter(([, resource]) => resource.Type === 'AWS::Events::Rule')
    .map(([logicalId, resource]) => {
      const targets = (resource.Properties?.Targets ?? []) as { Arn?: CfnValue }[];
      const targetFunctions = targets.flatMap((target) => {
        const arn = String(resolveValue(target.Arn, template, names));
        const id = arn.split(':function:')[1];
        if (!id || !functions[id]) return [];
        // EventBridge invokes a function only when its resource policy lets this rule do so.
        if (!eventsMayInvoke(template, id, logicalId)) {
          throw new Error(
            `Rule ${logicalId} targets function ${id}, but no AWS::Lambda::Permission lets events.amazonaws.com invoke it from this rule`,
          );
        }
        return [id];
      });
      return {
        logicalId,
        ...(resource.Properties?.EventPattern
          ? { eventPattern: resource.Properties.EventPattern as Record<string, unknown> }
          : {}),
        ...(typeof resource.Properties?.ScheduleExpression === 'string'
          ? { scheduleExpression: resource.Properties.ScheduleExpression }
          : {}),
        targetFunctions,
      };
    })
    .filter((rule) => rule.targetFunctions.length > 0);

  const schedule = pipelineSchedule(template, pipeline[0]);

  const tables = tableResources.map(([logicalId, resource]) => ({
    logicalId,
    name: names[logicalId],
    properties: resource.Properties ?? {},
  }));
  return {
    definition,
    schedule,
    taskFunctions,
    functions,
    tokenTasks,
    eventRules,
    tables,
    template,
    controlTableName,
    physicalNames: names,
    stateMachineLogicalId: pipeline[0],
    bucketNames,
  };
}

/**
 * The one AWS::Scheduler::Schedule whose target is the pipeline's state machine, with a role to
 * start it (Scheduler assumes the target's RoleArn); the local run starts tick days with its input.
 */
function pipelineSchedule(template: Template, stateMachineId: string): LocalSchedule {
  const schedules = Object.entries(template.Resources).filter(
    ([, resource]) =>
      resource.Type === 'AWS::Scheduler::Schedule' &&
      JSON.stringify((resource.Properties?.Target as { Arn?: unknown } | undefined)?.Arn) ===
        JSON.stringify({ Ref: stateMachineId }),
  );
  if (schedules.length !== 1) {
    throw new Error(`Expected one AWS::Scheduler::Schedule starting the pipeline, found ${schedules.length}`);
  }
  const [logicalId, resource] = schedules[0];
  const properties = resource.Properties ?? {};
  const target = properties.Target as { Input?: unknown; RoleArn?: unknown };
  if (!target.RoleArn) throw new Error(`Schedule ${logicalId} has no role to start the state machine with`);
  const input = JSON.parse(typeof target.Input === 'string' ? target.Input : '{}') as Record<string, unknown>;
  return {
    logicalId,
    expression: String(properties.ScheduleExpression),
    // Scheduler reads an expression without a time zone in UTC.
    timeZone:
      typeof properties.ScheduleExpressionTimezone === 'string'
        ? properties.ScheduleExpressionTimezone
        : 'UTC',
    input,
  };
}
