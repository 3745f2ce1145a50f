import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { ApiModel, ApiShape, AwsServiceName, ShapeRef } from './api-model';

/**
 * Which operations of which botocore model the local run keeps: what the pipeline's code
 * calls and what the stand-ins serve (DynamoDB: dynalite's table and item operations,
 * used by the handlers, the ops CLI and the tests).
 */
export const API_MODEL_SUBSET: Readonly<
  Record<AwsServiceName, { readonly apiVersion: string; readonly operations: readonly string[] }>
> = {
  appflow: {
    apiVersion: '2020-08-23',
    operations: [
      'CreateFlow',
      'DeleteFlow',
      'DescribeConnectorEntity',
      'DescribeConnectorProfiles',
      'DescribeFlow',
      'DescribeFlowExecutionRecords',
      'ListFlows',
      'StartFlow',
    ],
  },
  'redshift-data': {
    apiVersion: '2019-12-20',
    operations: [
      'BatchExecuteStatement',
      'CancelStatement',
      'DescribeStatement',
      'ExecuteStatement',
      'GetStatementResult',
    ],
  },
  secretsmanager: { apiVersion: '2017-10-17', operations: ['DescribeSecret', 'GetSecretValue'] },
  events: { apiVersion: '2015-10-07', operations: ['PutEvents'] },
  // Task tokens (flow waits) and the claim's look at the run holding an object.
  stepfunctions: {
    apiVersion: '2016-11-23',
    operations: ['DescribeExecution', 'SendTaskFailure', 'SendTaskHeartbeat', 'SendTaskSuccess'],
  },
  dynamodb: {
    apiVersion: '2012-08-10',
    operations: [
      'BatchGetItem',
      'BatchWriteItem',
      'CreateTable',
      'DeleteItem',
      'DeleteTable',
      'DescribeTable',
      'GetItem',
      'ListTables',
      'PutItem',
      'Query',
      'Scan',
      'UpdateItem',
      'UpdateTable',
    ],
  },
};

/** Debian's python3-botocore; the pip-installed botocore of `python3` comes first when present. */
export const DEBIAN_BOTOCORE_DIR = '/usr/lib/python3/dist-packages/botocore';

export interface BotocoreInstall {
  readonly dir: string;
  readonly version: string;
}

function versionOf(dir: string): string | undefined {
  const init = path.join(dir, '__init__.py');
  if (!existsSync(init)) return undefined;
  return /__version__\s*=\s*['"]([^'"]+)['"]/.exec(readFileSync(init, 'utf8'))?.[1];
}

function pythonBotocoreDir(): string | undefined {
  try {
    const out = execFileSync(
      'python3',
      ['-c', 'import botocore, os; print(os.path.dirname(botocore.__file__))'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    return out.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The botocore package at a directory, if it is one. */
export function botocoreInstallAt(dir: string): BotocoreInstall | undefined {
  const version = versionOf(dir);
  return version === undefined ? undefined : { dir, version };
}

/** Every botocore install this machine has: python3's own, then Debian's. */
export function findBotocoreInstalls(): BotocoreInstall[] {
  const dirs = [pythonBotocoreDir(), DEBIAN_BOTOCORE_DIR].filter((dir): dir is string => dir !== undefined);
  const installs: BotocoreInstall[] = [];
  for (const dir of new Set(dirs)) {
    const install = botocoreInstallAt(dir);
    if (install) installs.push(install);
  }
  return installs;
}

/** Reads service-2.json, or the gzipped copy newer botocore releases ship. */
export function readBotocoreServiceModel(
  install: BotocoreInstall,
  service: AwsServiceName,
): { file: string; json: BotocoreServiceJson } {
  const base = path.join(
    install.dir,
    'data',
    service,
    API_MODEL_SUBSET[service].apiVersion,
    'service-2.json',
  );
  if (existsSync(base)) {
    return { file: base, json: JSON.parse(readFileSync(base, 'utf8')) };
  }
  if (existsSync(`${base}.gz`)) {
    return { file: `${base}.gz`, json: JSON.parse(gunzipSync(readFileSync(`${base}.gz`)).toString('utf8')) };
  }
  throw new Error(`botocore ${install.version} at ${install.dir} has no model ${base}(.gz)`);
}

export interface BotocoreServiceJson {
  metadata: Record<string, unknown>;
  operations: Record<string, Record<string, unknown>>;
  shapes: Record<string, Record<string, unknown>>;
}

const METADATA_KEYS = [
  'apiVersion',
  'endpointPrefix',
  'jsonVersion',
  'protocol',
  'serviceId',
  'signingName',
  'targetPrefix',
];
const OPERATION_KEYS = ['name', 'http', 'input', 'output', 'errors'];

/** A copy without documentation (at any depth), in botocore's own order (members as the service lists them). */
function withoutDocumentation(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutDocumentation);
  if (typeof value !== 'object' || value === null) return value;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (key === 'documentation' || key === 'documentationUrl') continue;
    copy[key] = withoutDocumentation((value as Record<string, unknown>)[key]);
  }
  return copy;
}

function refsOf(shape: ApiShape): ShapeRef[] {
  return [
    ...Object.values(shape.members ?? {}),
    ...[shape.member, shape.key, shape.value].filter((ref): ref is ShapeRef => ref !== undefined),
  ];
}

/** The subset model: the listed operations and every shape their input, output and errors reach. */
export function extractApiModel(
  service: AwsServiceName,
  json: BotocoreServiceJson,
  source: { botocoreVersion: string; file: string },
): ApiModel {
  const operations: Record<string, unknown> = {};
  const pending: string[] = [];
  for (const name of API_MODEL_SUBSET[service].operations) {
    const operation = json.operations[name];
    if (!operation) {
      throw new Error(`botocore ${source.botocoreVersion} ${service} has no operation ${name}`);
    }
    const kept = Object.fromEntries(
      OPERATION_KEYS.filter((key) => operation[key] !== undefined).map((key) => [key, operation[key]]),
    );
    operations[name] = withoutDocumentation(kept);
    const refs = [operation.input, operation.output, ...((operation.errors as unknown[]) ?? [])];
    for (const ref of refs) {
      if (ref) pending.push((ref as ShapeRef).shape);
    }
  }
  const shapes: Record<string, ApiShape> = {};
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (shapes[name]) continue;
    const shape = json.shapes[name];
    if (!shape) throw new Error(`botocore ${service} model references a missing shape ${name}`);
    shapes[name] = withoutDocumentation(shape) as ApiShape;
    pending.push(...refsOf(shapes[name]).map((ref) => ref.shape));
  }
  const sortedShapes = Object.fromEntries(
    Object.keys(shapes)
      .sort()
      .map((name) => [name, shapes[name]]),
  );
  const metadata = Object.fromEntries(
    METADATA_KEYS.filter((key) => json.metadata[key] !== undefined).map((key) => [key, json.metadata[key]]),
  );
  return {
    source: {
      botocoreVersion: source.botocoreVersion,
      file: `botocore/data/${service}/${API_MODEL_SUBSET[service].apiVersion}/${path.basename(source.file)}`,
      licence: 'Apache-2.0 (https://www.apache.org/licenses/LICENSE-2.0)',
      copyright: 'Copyright Amazon.com, Inc. or its affiliates. All Rights Reserved.',
      regenerate: 'npm run api-models',
    },
    metadata: metadata as unknown as ApiModel['metadata'],
    operations: operations as ApiModel['operations'],
    shapes: sortedShapes,
  };
}

/** The committed file's text for a model: stable, so that a regeneration diff means a model change. */
export function serializeApiModel(model: ApiModel): string {
  return `${JSON.stringify(model, null, 2)}\n`;
}
