import { randomUUID } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { validateServiceRequest } from '../strict/api-model-validator';
import { operationOf, protocolOf } from '../strict/operations';
import type { JsonObject, ServiceRequest, StandInCall, StandInServiceName } from './service-call';

export type { JsonObject, ServiceRequest, StandInCall } from './service-call';

/** An error the stand-in answers with, in the wire format of its protocol. */
export class ServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly statusCode = 400,
    /** Extra members of the error shape, e.g. Redshift Data's ResourceId. */
    readonly members: JsonObject = {},
  ) {
    super(message);
    this.name = code;
  }
}

export interface ServiceResponse {
  status: number;
  headers: Record<string, string>;
  /** Text for the JSON and XML documents; bytes for an S3 object. */
  body: string | Buffer;
}

export type RequestHandler = (request: ServiceRequest) => Promise<ServiceResponse>;

/** A gate in front of a stand-in (e.g. the IAM check): throw a ServiceError to refuse the call. */
export type RequestCheck = (call: StandInCall) => void | Promise<void>;

export interface HttpStandInServerOptions {
  /**
   * The AWS service this stand-in plays (botocore's name). Its requests are then resolved
   * to the model's operations, gated by `checks`, and validated against AWS's model of the
   * operation before the handler sees them; refusals go out in the service's wire format.
   * @default undefined — not an AWS service (e.g. Salesforce): requests go straight to the handler
   */
  readonly awsService?: StandInServiceName;
  /**
   * Checks run in order before the model validation and the handler (the IAM gate first).
   * @default []
   */
  readonly checks?: readonly RequestCheck[];
}

/** Options every AWS stand-in accepts and hands to its HttpStandInServer. */
export interface StandInChecksOptions {
  /**
   * Gates run before the model validation and the stand-in itself (e.g. the IAM check).
   * @default []
   */
  readonly checks?: readonly RequestCheck[];
}

const CREDENTIAL_SCOPE_PATTERN = /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\//;

function regionOf(headers: IncomingHttpHeaders): string {
  const authorization = headers.authorization ?? '';
  return CREDENTIAL_SCOPE_PATTERN.exec(authorization)?.[1] ?? 'us-east-1';
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function parseJsonBody(text: string): JsonObject {
  if (text.trim() === '') {
    return {};
  }
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ServiceError('SerializationException', 'Request body must be a JSON object');
  }
  return parsed as JsonObject;
}

/** Listens on 127.0.0.1 with a port chosen by the OS; returns the base URL. */
export async function listenOnLoopback(server: Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

/** Closes a server, including SDK clients' keep-alive connections that would hold close() open. */
export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}

/**
 * An injected fault as the service would answer it: a known error code with its HTTP
 * status, or any other text as the service's catch-all error (`fallbackCode`).
 */
export function faultError(
  fault: string,
  statusByCode: Record<string, number>,
  fallbackCode: string,
): ServiceError {
  const status = statusByCode[fault];
  if (status !== undefined) return new ServiceError(fault, `${fault} (injected fault)`, status);
  // The catch-all answers with its own status: a 5xx one (ServiceUnavailable, InternalException)
  // is retried by the SDK, as AWS's would be.
  return new ServiceError(fallbackCode, fault, statusByCode[fallbackCode] ?? 400);
}

export function validationError(message: string): ServiceError {
  return new ServiceError('ValidationException', message, 400);
}

/**
 * A node:http server on 127.0.0.1 with a port chosen at start, turning requests into
 * `ServiceRequest`s for a protocol-specific handler. Shared by every stand-in.
 */
export class HttpStandInServer {
  private server: Server | undefined;

  constructor(
    private readonly serviceName: string,
    private readonly handler: RequestHandler,
    private readonly options: HttpStandInServerOptions = {},
  ) {}

  async start(): Promise<{ url: string }> {
    if (this.server) {
      throw new Error(`${this.serviceName} stand-in is already started`);
    }
    const server = createServer((request, response) => {
      void this.handle(request, response);
    });
    const url = await listenOnLoopback(server);
    this.server = server;
    return { url };
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) {
      return;
    }
    this.server = undefined;
    await closeServer(server);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let result: ServiceResponse;
    const service = this.options.awsService;
    const restXmlService = service !== undefined && protocolOf(service) === 'restXml';
    try {
      const rawBody = await readBody(request);
      const url = new URL(request.url ?? '/', 'http://stand-in');
      const serviceRequest: ServiceRequest = {
        method: request.method ?? 'GET',
        // The SDK percent-encodes S3 keys in the path; the JSON services' paths are plain.
        path: restXmlService ? decodeURIComponent(url.pathname) : (request.url ?? '/').split('?')[0],
        query: url.searchParams,
        headers: request.headers,
        body: restXmlService ? {} : parseJsonBody(rawBody.toString('utf8')),
        rawBody,
        region: regionOf(request.headers),
      };
      const refusal = service === undefined ? undefined : await this.refusalOf(service, serviceRequest);
      result = refusal ?? (await this.handler(serviceRequest));
    } catch (error) {
      // Handlers format their own ServiceErrors; anything reaching here is a stand-in bug or bad JSON.
      const message = errorMessage(error);
      const code = error instanceof ServiceError ? error.code : 'InternalFailure';
      const status = error instanceof ServiceError ? error.statusCode : 500;
      result = restXmlService
        ? restXml.error(new ServiceError(code, message, status))
        : {
            status,
            headers: { 'content-type': 'application/json', 'x-amzn-errortype': code },
            body: JSON.stringify({ __type: code, message }),
          };
    }
    response.writeHead(result.status, {
      'x-amzn-requestid': randomUUID(),
      'content-length': String(Buffer.byteLength(result.body)),
      ...result.headers,
    });
    response.end(result.body);
  }

  /**
   * Resolves the operation, runs the checks in order, then validates the request against
   * AWS's model of the operation: the first refusal, in the service's wire format.
   */
  private async refusalOf(
    service: StandInServiceName,
    request: ServiceRequest,
  ): Promise<ServiceResponse | undefined> {
    const protocol = protocolOf(service);
    const wire = { restJson, awsJson, restXml }[protocol];
    const operation = operationOf(service, request);
    try {
      if (operation === '') {
        const target = request.headers['x-amz-target'];
        const named = target === undefined ? `${request.method} ${request.path}` : String(target);
        throw new ServiceError(
          'UnknownOperationException',
          `${this.serviceName}: no operation of the local API model matches ${named}`,
          wire === restJson ? 404 : 400,
        );
      }
      const call: StandInCall = { service, operation, request };
      for (const check of this.options.checks ?? []) {
        await check(call);
      }
      // REST-XML (S3) has no model here: its stand-in checks S3's constraints itself.
      if (service === 's3') return undefined;
      const modelRefusal = validateServiceRequest(service, operation, request.body);
      if (modelRefusal) {
        throw new ServiceError(modelRefusal.code, modelRefusal.message, modelRefusal.statusCode);
      }
      return undefined;
    } catch (error) {
      if (error instanceof ServiceError) return wire.error(error);
      throw error;
    }
  }
}

/** restJson1 (AppFlow): JSON body; errors by status code, `x-amzn-errortype` header and `message`. */
export const restJson = {
  ok(body: JsonObject): ServiceResponse {
    return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
  },
  error(error: ServiceError): ServiceResponse {
    return {
      status: error.statusCode,
      headers: { 'content-type': 'application/json', 'x-amzn-errortype': error.code },
      body: JSON.stringify({ message: error.message, ...error.members }),
    };
  },
};

const xmlEscape = (text: string) =>
  text.replace(
    /[<>&'"]/g,
    (char) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[char] ?? char,
  );

/**
 * The shared layer's refusals as S3 names them: IAM's AccessDenied, an unknown key id, an
 * operation the stand-in does not play, its own failure.
 */
const S3_ERROR_CODES: Record<string, { code: string; status?: number }> = {
  AccessDeniedException: { code: 'AccessDenied' },
  UnrecognizedClientException: { code: 'InvalidAccessKeyId' },
  UnknownOperationException: { code: 'NotImplemented', status: 501 },
  InternalFailure: { code: 'InternalError' },
};

/**
 * restXml (S3): `<Error><Code>…</Code><Message>…</Message>…</Error>`, the status code telling
 * the SDK what a body-less answer (HEAD) means; members become elements (Key, BucketName).
 */
export const restXml = {
  error(error: ServiceError): ServiceResponse {
    const known = S3_ERROR_CODES[error.code];
    const code = known?.code ?? error.code;
    const members = Object.entries(error.members)
      .map(([name, value]) => `<${name}>${xmlEscape(String(value))}</${name}>`)
      .join('');
    const requestId = randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase();
    return {
      status: known?.status ?? error.statusCode,
      headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId },
      body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(error.message)}</Message>${members}<RequestId>${requestId}</RequestId></Error>`,
    };
  },
};

/** awsJson1_1 (Redshift Data, Secrets Manager): `X-Amz-Target` operations; errors as `__type` + message. */
export const awsJson = {
  ok(body: JsonObject): ServiceResponse {
    return {
      status: 200,
      headers: { 'content-type': 'application/x-amz-json-1.1' },
      body: JSON.stringify(body),
    };
  },
  error(error: ServiceError): ServiceResponse {
    return {
      status: error.statusCode,
      headers: { 'content-type': 'application/x-amz-json-1.1' },
      // Models name the member `Message`, the SDK falls back to `message`: send both.
      body: JSON.stringify({
        __type: error.code,
        message: error.message,
        Message: error.message,
        ...error.members,
      }),
    };
  },
  /** 'RedshiftData.ExecuteStatement' → 'ExecuteStatement'. */
  operationOf(request: ServiceRequest): string {
    const target = request.headers['x-amz-target'];
    const value = Array.isArray(target) ? target[0] : target;
    return value?.split('.').pop() ?? '';
  },
};

/**
 * The message of anything thrown. Duck-typed rather than `instanceof Error`, because
 * database errors may come from another realm (e.g. PGlite loaded outside Jest's sandbox).
 */
export function errorMessage(error: unknown): string {
  if (
    typeof error === 'object' &&
    error !== null &&
    'message' in error &&
    typeof error.message === 'string'
  ) {
    return error.message;
  }
  return String(error);
}

/** Timestamps travel as epoch seconds (with fraction) in both JSON protocols. */
export function epochSeconds(date: Date): number {
  return date.getTime() / 1000;
}

// Narrowing helpers for request members: a wrong type is the caller's ValidationException.

export function optionalString(body: JsonObject, member: string): string | undefined {
  const value = body[member];
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value !== 'string') {
    throw new ServiceError('ValidationException', `${member} must be a string`);
  }
  return value;
}

export function requiredString(body: JsonObject, member: string): string {
  const value = optionalString(body, member);
  if (value === undefined || value === '') {
    throw new ServiceError('ValidationException', `${member} is required`);
  }
  return value;
}

export function optionalBoolean(body: JsonObject, member: string): boolean | undefined {
  const value = body[member];
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value !== 'boolean') {
    throw new ServiceError('ValidationException', `${member} must be a boolean`);
  }
  return value;
}

export function optionalNumber(body: JsonObject, member: string): number | undefined {
  const value = body[member];
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value !== 'number') {
    throw new ServiceError('ValidationException', `${member} must be a number`);
  }
  return value;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function optionalObject(body: JsonObject, member: string): JsonObject | undefined {
  const value = body[member];
  if (value === undefined || value === null) {
    return undefined;
  }
  if (!isJsonObject(value)) {
    throw new ServiceError('ValidationException', `${member} must be an object`);
  }
  return value;
}

export function optionalArray(body: JsonObject, member: string): unknown[] | undefined {
  const value = body[member];
  if (value === undefined || value === null) {
    return undefined;
  }
  if (!Array.isArray(value)) {
    throw new ServiceError('ValidationException', `${member} must be a list`);
  }
  return value;
}

/** Opaque pagination: the token is the index of the next item. */
export function paginate<T>(
  items: T[],
  maxResults: number | undefined,
  nextToken: string | undefined,
  defaultPageSize: number,
): { page: T[]; nextToken?: string } {
  const start = nextToken === undefined ? 0 : Number.parseInt(nextToken, 10);
  if (!Number.isInteger(start) || start < 0) {
    throw new ServiceError('ValidationException', `Invalid nextToken '${nextToken}'`);
  }
  const size = maxResults && maxResults > 0 ? maxResults : defaultPageSize;
  const end = start + size;
  return { page: items.slice(start, end), nextToken: end < items.length ? String(end) : undefined };
}
