import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/** The AWS services the stand-ins play, by botocore's name (the directory of its model). */
export type AwsServiceName =
  | 'appflow'
  | 'redshift-data'
  | 'secretsmanager'
  | 'events'
  | 'dynamodb'
  | 'stepfunctions';

export const AWS_SERVICE_NAMES: readonly AwsServiceName[] = [
  'appflow',
  'redshift-data',
  'secretsmanager',
  'events',
  'dynamodb',
  'stepfunctions',
];

/**
 * The subset of a botocore service model (service-2.json) that the local run keeps:
 * the operations the pipeline and the stand-ins use, every shape they reach, and no
 * documentation. Field names are botocore's, so a model reads like the original.
 */
export interface ApiModel {
  /** Where the model came from: botocore version, licence, how to regenerate. */
  readonly source: ApiModelSource;
  readonly metadata: ApiModelMetadata;
  readonly operations: Readonly<Record<string, ApiOperation>>;
  readonly shapes: Readonly<Record<string, ApiShape>>;
}

export interface ApiModelSource {
  readonly botocoreVersion: string;
  readonly file: string;
  readonly licence: string;
  readonly copyright: string;
  readonly regenerate: string;
}

export interface ApiModelMetadata {
  readonly apiVersion: string;
  readonly endpointPrefix: string;
  readonly protocol: string;
  readonly jsonVersion?: string;
  readonly serviceId: string;
  readonly signingName?: string;
  /** awsJson services: the `X-Amz-Target` prefix, e.g. 'RedshiftData'. */
  readonly targetPrefix?: string;
}

export interface ApiOperation {
  readonly name: string;
  readonly http: { readonly method: string; readonly requestUri: string };
  readonly input?: ShapeRef;
  readonly output?: ShapeRef;
  readonly errors?: readonly ShapeRef[];
}

export interface ShapeRef {
  readonly shape: string;
  /** restJson: where a member travels ('uri', 'querystring', 'header'); absent = JSON body. */
  readonly location?: string;
  readonly locationName?: string;
  readonly idempotencyToken?: boolean;
  readonly [trait: string]: unknown;
}

export type ApiShapeType =
  | 'structure'
  | 'list'
  | 'map'
  | 'string'
  | 'integer'
  | 'long'
  | 'double'
  | 'float'
  | 'boolean'
  | 'timestamp'
  | 'blob';

export interface ApiShape {
  readonly type: ApiShapeType;
  readonly members?: Readonly<Record<string, ShapeRef>>;
  readonly required?: readonly string[];
  /** A structure of which exactly one member is set (e.g. Redshift Data's Field). */
  readonly union?: boolean;
  readonly member?: ShapeRef;
  readonly key?: ShapeRef;
  readonly value?: ShapeRef;
  readonly enum?: readonly string[];
  readonly min?: number;
  readonly max?: number;
  /** A Java regular expression (botocore copies them from the service's Smithy model). */
  readonly pattern?: string;
  readonly sensitive?: boolean;
  readonly exception?: boolean;
  readonly [trait: string]: unknown;
}

/** Where the committed models live. */
export const API_MODELS_DIR = path.join(__dirname, 'api-models');

export function apiModelPath(service: AwsServiceName): string {
  return path.join(API_MODELS_DIR, `${service}.json`);
}

const loaded = new Map<AwsServiceName, ApiModel>();

/** The committed model of a service, read once per process. */
export function loadApiModel(service: AwsServiceName): ApiModel {
  let model = loaded.get(service);
  if (!model) {
    model = JSON.parse(readFileSync(apiModelPath(service), 'utf8')) as ApiModel;
    loaded.set(service, model);
  }
  return model;
}
