import type { ServiceRequest, StandInServiceName } from '../stand-ins/service-call';
import { type ApiModel, loadApiModel } from './api-model';

/** The wire protocol a service's requests and errors use. */
export function protocolOf(service: StandInServiceName): 'restJson' | 'awsJson' | 'restXml' {
  if (service === 's3') return 'restXml';
  return loadApiModel(service).metadata.protocol === 'rest-json' ? 'restJson' : 'awsJson';
}

/**
 * The S3 operation of a path-style request (`/<bucket>/<key>`): only the object reads and writes
 * the pipeline sends. Anything else (sub-resources such as `?acl` or `?uploads`, copies, bucket
 * operations) is '' and the stand-in answers NotImplemented, as S3 does for what it cannot do.
 */
function s3OperationOf(request: ServiceRequest): string {
  const [, bucket = '', ...key] = request.path.split('/');
  if (bucket === '' || key.join('/') === '') return '';
  const query = request.query ?? new URLSearchParams();
  if ([...query.keys()].some((name) => !name.startsWith('x-id'))) return '';
  if (request.method === 'GET') return 'GetObject';
  if (request.method === 'PUT' && request.headers['x-amz-copy-source'] === undefined) return 'PutObject';
  return '';
}

function headerValue(request: ServiceRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** 'RedshiftData.ExecuteStatement' → 'ExecuteStatement', only with the service's own target prefix. */
function operationFromTarget(model: ApiModel, request: ServiceRequest): string {
  const target = headerValue(request, 'x-amz-target') ?? '';
  const separator = target.lastIndexOf('.');
  if (separator < 0 || target.slice(0, separator) !== model.metadata.targetPrefix) {
    return '';
  }
  return target.slice(separator + 1);
}

/** A requestUri such as '/flows/{flowName}' or '/tags/{resourceArn+}' as a RegExp on the path. */
function requestUriPattern(requestUri: string): RegExp {
  const pathPart = requestUri.split('?')[0];
  const source = pathPart
    .split(/(\{[^}]+\})/)
    .map((part) => {
      if (/^\{[^}]+\+\}$/.test(part)) return '.+';
      if (/^\{[^}]+\}$/.test(part)) return '[^/]+';
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${source}$`);
}

function operationFromRoute(model: ApiModel, request: ServiceRequest): string {
  const match = Object.values(model.operations).find(
    (operation) =>
      operation.http.method === request.method &&
      requestUriPattern(operation.http.requestUri).test(request.path),
  );
  return match?.name ?? '';
}

/**
 * The model's name of the operation a request calls ('CreateFlow', 'ExecuteStatement', ...):
 * from `X-Amz-Target` (awsJson) or from the model's http method and requestUri (restJson,
 * AppFlow). '' when the request names no operation of the model: the service answers
 * UnknownOperationException.
 */
export function operationOf(service: StandInServiceName, request: ServiceRequest): string {
  if (service === 's3') return s3OperationOf(request);
  const model = loadApiModel(service);
  return protocolOf(service) === 'restJson'
    ? operationFromRoute(model, request)
    : operationFromTarget(model, request);
}
