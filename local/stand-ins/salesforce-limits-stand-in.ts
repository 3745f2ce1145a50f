import {
  createPublicKey,
  createVerify,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  X509Certificate,
} from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  JWT_BEARER_GRANT_TYPE,
  SALESFORCE_LIMITS_PATH,
  SALESFORCE_QUERY_PATH,
  SALESFORCE_TOKEN_PATH,
} from '../../lambdas/common/source-limits';
import { closeServer, listenOnLoopback } from './http-service';
import { callerSimulatedNow, type SimulatedClock } from './simulated-clock';
import { isCustomConnectorEntity, type SourceField, type SourceOrg, typeFamily } from './source-org';

/** A connected app as Setup holds it: consumer key, uploaded certificate, pre-authorized users. */
export interface ConnectedAppSpec {
  clientId: string;
  /** PEM: the X.509 certificate uploaded to the app, or its SPKI public key. */
  certificate: string;
  /** Users pre-authorized for the app (Admin approved users are pre-authorized). */
  usernames: string[];
  /** Consumer secret, for the refresh-token grant. */
  clientSecret?: string;
}

export interface SalesforceStandInOptions {
  org: SourceOrg;
  /** Simulated time: sessions expire on it, so a token from one scenario day is dead the next. */
  clock: SimulatedClock;
  /** The org's session timeout. @default 2 hours (Salesforce's default) */
  sessionTimeoutMs?: number;
  /**
   * The clock an assertion's `exp` is checked on when its caller sends no simulated time (a tool, a
   * test): it signs with its real clock, as it would against Salesforce. A local run's function sends
   * its invocation's simulated time (`x-local-simulated-now`), the clock it signed with. @default Date.now
   */
  wallClockMs?: () => number;
}

export interface SalesforceCall {
  method: string;
  path: string;
  /** The SOQL of a query call. */
  soql?: string;
  status: number;
}

/** Salesforce's tolerance for clock skew on `exp`; anything further out is refused. */
const MAX_ASSERTION_LIFETIME_SECONDS = 180 + 30;
const DEFAULT_SESSION_TIMEOUT_MS = 2 * 60 * 60 * 1000;
const ORG_ID = '00D000000000001AAA';
const USER_ID = '005000000000001AAA';
const DATETIME = String.raw`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2})`;
const NAME = '[A-Za-z][A-Za-z0-9_]{0,79}';
/** The SOQL shapes `npm run objects -- verify` sends; anything else is MALFORMED_QUERY here. */
const COUNT_QUERY = new RegExp(
  `^SELECT COUNT\\(\\) FROM (${NAME})(?: WHERE (${NAME}) > (${DATETIME}))?$`,
  'i',
);
const DAY_COUNT_QUERY = new RegExp(
  `^SELECT DAY_ONLY\\((${NAME})\\) d, COUNT\\(Id\\) c FROM (${NAME}) WHERE IsDeleted = false AND (${NAME}) >= (${DATETIME}) GROUP BY DAY_ONLY\\((${NAME})\\)$`,
  'i',
);

/** `/services/data/vXX.X/sobjects/<Object>/describe`, any API version, as Salesforce serves it. */
const DESCRIBE_PATH = /^\/services\/data\/v\d{2,3}\.0\/sobjects\/([^/]+)\/describe\/?$/;

interface Session {
  expiresAtMs: number;
}

class RestError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(JSON.stringify(body));
  }
}

const oauthError = (error: string, description: string) =>
  new RestError(400, { error, error_description: description });
const apiError = (status: number, errorCode: string, message: string) =>
  new RestError(status, [{ message, errorCode }]);

/** A 2048-bit RSA key pair for a connected app, as `openssl genrsa` would make (PEM, PKCS#8 / SPKI). */
export function generateConnectedAppKeys(): { privateKey: string; publicKey: string } {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
}

function publicKeyOf(certificate: string): KeyObject {
  return certificate.includes('BEGIN CERTIFICATE')
    ? new X509Certificate(certificate).publicKey
    : createPublicKey(certificate);
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/**
 * Salesforce's login and REST endpoints for the simulated org: the OAuth 2.0 token endpoint
 * (JWT bearer and refresh-token grants, verified as Salesforce does), the limits resource,
 * the SOQL query resource and the sObject Describe resource (fields with `calculated` for
 * formulas, issue 21), behind access tokens that expire with the session timeout. No IAM here:
 * it is Salesforce.
 */
export class SalesforceLimitsStandIn {
  readonly calls: SalesforceCall[] = [];
  /** Every access token issued, oldest first, with the simulated time it was issued at. */
  readonly issuedTokens: { accessToken: string; issuedAt: string }[] = [];
  private server: Server | undefined;
  private url = '';
  private readonly apps = new Map<string, ConnectedAppSpec & { publicKey: KeyObject }>();
  private readonly refreshTokens = new Map<string, { clientId: string }>();
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly options: SalesforceStandInOptions) {}

  /** The login URL (the JWT's audience) and the instance URL: one server here. */
  get baseUrl(): string {
    if (!this.url) throw new Error('Salesforce stand-in is not started');
    return this.url;
  }

  registerConnectedApp(app: ConnectedAppSpec): void {
    this.apps.set(app.clientId, { ...app, publicKey: publicKeyOf(app.certificate) });
  }

  /** A refresh token issued to a connected app by an earlier interactive authorization. */
  registerRefreshToken(clientId: string, refreshToken: string): void {
    this.refreshTokens.set(refreshToken, { clientId });
  }

  /** Whether the org still honours `accessToken` now (simulated time). */
  isSessionValid(accessToken: string): boolean {
    const session = this.sessions.get(accessToken);
    return session !== undefined && this.options.clock.now().getTime() < session.expiresAtMs;
  }

  async start(): Promise<{ url: string }> {
    if (this.server) throw new Error('Salesforce stand-in is already started');
    const server = createServer((request, response) => {
      void this.handle(request, response);
    });
    this.url = await listenOnLoopback(server);
    this.server = server;
    return { url: this.url };
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await closeServer(server);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://stand-in');
    const call: SalesforceCall = { method: request.method ?? 'GET', path: url.pathname, status: 200 };
    let status = 200;
    let body: unknown;
    try {
      const text = await readBody(request);
      if (url.pathname === SALESFORCE_TOKEN_PATH) {
        body = this.token(request, text);
      } else {
        this.authorize(request);
        if (request.method === 'GET' && url.pathname === SALESFORCE_LIMITS_PATH) {
          const quota = this.options.org.apiQuota;
          body = { DailyApiRequests: { Max: quota.max, Remaining: quota.remaining } };
        } else if (request.method === 'GET' && url.pathname === SALESFORCE_QUERY_PATH) {
          call.soql = url.searchParams.get('q') ?? '';
          body = this.query(call.soql);
        } else if (request.method === 'GET' && DESCRIBE_PATH.test(url.pathname)) {
          body = this.describe(decodeURIComponent(DESCRIBE_PATH.exec(url.pathname)?.[1] ?? ''));
        } else {
          throw apiError(404, 'NOT_FOUND', 'The requested resource does not exist');
        }
      }
    } catch (error) {
      // Anything but a RestError is a stand-in bug: answered as Salesforce's catch-all, not a hang.
      const refusal =
        error instanceof RestError
          ? error
          : apiError(500, 'UNKNOWN_EXCEPTION', error instanceof Error ? error.message : String(error));
      status = refusal.status;
      body = refusal.body;
    }
    call.status = status;
    this.calls.push(call);
    const payload = JSON.stringify(body);
    response.writeHead(status, {
      'content-type': 'application/json;charset=UTF-8',
      'cache-control': 'no-cache,must-revalidate,max-age=0,no-store,private',
      'content-length': String(Buffer.byteLength(payload)),
    });
    response.end(payload);
  }

  // --- OAuth 2.0 token endpoint -------------------------------------------------------

  private token(request: IncomingMessage, text: string): unknown {
    if (request.method !== 'POST') throw oauthError('invalid_request', 'must use HTTP POST');
    const form = /application\/x-www-form-urlencoded/i.test(request.headers['content-type'] ?? '')
      ? new URLSearchParams(text)
      : new URLSearchParams();
    const grantType = form.get('grant_type');
    if (grantType === JWT_BEARER_GRANT_TYPE) {
      const nowMs = callerSimulatedNow(request.headers) ?? (this.options.wallClockMs ?? Date.now)();
      return this.jwtBearer(form.get('assertion') ?? '', nowMs);
    }
    if (grantType === 'refresh_token') return this.refresh(form);
    throw oauthError('unsupported_grant_type', 'grant type not supported');
  }

  private jwtBearer(assertion: string, nowMs: number): unknown {
    const parts = assertion.split('.');
    if (parts.length !== 3) throw oauthError('invalid_grant', 'invalid assertion');
    const decode = (part: string): Record<string, unknown> => {
      try {
        const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
        if (typeof value === 'object' && value !== null && !Array.isArray(value))
          return value as Record<string, unknown>;
      } catch {
        // falls through to the refusal
      }
      throw oauthError('invalid_grant', 'invalid assertion');
    };
    const header = decode(parts[0]);
    const claims = decode(parts[1]);
    if (header.alg !== 'RS256') throw oauthError('invalid_grant', 'invalid assertion');
    const app = typeof claims.iss === 'string' ? this.apps.get(claims.iss) : undefined;
    if (!app) throw oauthError('invalid_client_id', 'client identifier invalid');
    const signatureValid = createVerify('RSA-SHA256')
      .update(`${parts[0]}.${parts[1]}`)
      .verify(app.publicKey, Buffer.from(parts[2], 'base64url'));
    if (!signatureValid) throw oauthError('invalid_grant', 'invalid assertion');
    if (claims.aud !== this.baseUrl) throw oauthError('invalid_grant', 'audience is invalid');
    const nowSeconds = Math.floor(nowMs / 1000);
    if (typeof claims.exp !== 'number' || claims.exp <= nowSeconds)
      throw oauthError('invalid_grant', 'expired authorization code');
    if (claims.exp > nowSeconds + MAX_ASSERTION_LIFETIME_SECONDS)
      throw oauthError('invalid_grant', 'invalid assertion');
    if (typeof claims.sub !== 'string' || !app.usernames.includes(claims.sub))
      throw oauthError('invalid_grant', "user hasn't approved this consumer");
    return {
      access_token: this.issueSession(),
      scope: 'api',
      instance_url: this.baseUrl,
      id: `${this.baseUrl}/id/${ORG_ID}/${USER_ID}`,
      token_type: 'Bearer',
    };
  }

  private refresh(form: URLSearchParams): unknown {
    const app = this.apps.get(form.get('client_id') ?? '');
    if (!app) throw oauthError('invalid_client_id', 'client identifier invalid');
    const secret = form.get('client_secret');
    if (secret !== null && secret !== app.clientSecret)
      throw oauthError('invalid_client', 'invalid client credentials');
    const grant = this.refreshTokens.get(form.get('refresh_token') ?? '');
    if (!grant || grant.clientId !== app.clientId)
      throw oauthError('invalid_grant', 'expired access/refresh token');
    return {
      access_token: this.issueSession(),
      signature: randomBytes(32).toString('base64'),
      scope: 'api refresh_token',
      instance_url: this.baseUrl,
      id: `${this.baseUrl}/id/${ORG_ID}/${USER_ID}`,
      token_type: 'Bearer',
      issued_at: String(this.options.clock.now().getTime()),
    };
  }

  private issueSession(): string {
    const token = `${ORG_ID.slice(0, 15)}!${randomBytes(48).toString('base64url')}`;
    this.sessions.set(token, { expiresAtMs: this.expiryFromNow() });
    this.issuedTokens.push({ accessToken: token, issuedAt: this.options.clock.now().toISOString() });
    return token;
  }

  private expiryFromNow(): number {
    return this.options.clock.now().getTime() + (this.options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS);
  }

  /** Unknown or timed-out tokens get Salesforce's 401; activity extends a live session, as in an org. */
  private authorize(request: IncomingMessage): void {
    const header = request.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
    if (!this.isSessionValid(token)) {
      this.sessions.delete(token);
      throw apiError(401, 'INVALID_SESSION_ID', 'Session expired or invalid');
    }
    this.sessions.set(token, { expiresAtMs: this.expiryFromNow() });
  }

  // --- sObject Describe resource ---------------------------------------------------------

  /**
   * The object's fields as Salesforce describes them (a subset of DescribeFieldResult): name,
   * type, calculated (formulas and roll-ups), and createable/updateable false for calculated and
   * system fields. Entities of a custom connector's source are not Salesforce objects: 404.
   */
  private describe(objectName: string): unknown {
    if (!this.options.org.consumeApiRequests(1))
      throw apiError(403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.');
    const org = this.options.org;
    if (!org.hasObject(objectName) || isCustomConnectorEntity(org.objectOptions(objectName))) {
      throw apiError(404, 'NOT_FOUND', 'The requested resource does not exist');
    }
    const system = new Set(['Id', 'SystemModstamp', 'IsDeleted']);
    const describeField = (field: SourceField) => {
      const family = typeFamily(field.type);
      const writable = !field.formula && !system.has(field.name);
      return {
        name: field.name,
        label: field.name,
        type: field.type,
        calculated: field.formula === true,
        length: family === 'text' ? (field.length ?? 0) : 0,
        precision: family === 'decimal' ? (field.precision ?? 0) : 0,
        scale: family === 'decimal' ? (field.scale ?? 0) : 0,
        digits: family === 'integer' ? (field.precision ?? 0) : 0,
        nillable: field.name !== 'Id' && field.name !== 'IsDeleted' && field.type !== 'boolean',
        createable: writable,
        updateable: writable,
        custom: field.name.endsWith('__c'),
      };
    };
    const name = org.canonicalName(objectName);
    return {
      name,
      label: name,
      custom: name.endsWith('__c'),
      queryable: true,
      retrieveable: true,
      fields: org.fields(objectName).map(describeField),
    };
  }

  // --- SOQL query resource ---------------------------------------------------------------

  private query(soql: string): unknown {
    if (!this.options.org.consumeApiRequests(1))
      throw apiError(403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.');
    const normalized = soql.trim().replace(/\s+/g, ' ');
    const count = COUNT_QUERY.exec(normalized);
    if (count) {
      const [, objectName, field, since] = count;
      const records = this.liveRecords(objectName, field ? [field] : []).filter(
        (record) => !field || this.after(record[this.fieldName(objectName, field)], since, false),
      );
      return { totalSize: records.length, done: true, records: [] };
    }
    const days = DAY_COUNT_QUERY.exec(normalized);
    if (days) {
      const [, dayField, objectName, filterField, since, groupField] = days;
      if (
        dayField.toLowerCase() !== filterField.toLowerCase() ||
        dayField.toLowerCase() !== groupField.toLowerCase()
      ) {
        throw apiError(
          400,
          'MALFORMED_QUERY',
          `field '${dayField}' must be the same in SELECT, WHERE and GROUP BY`,
        );
      }
      const field = this.fieldName(objectName, dayField);
      this.requireDatetime(objectName, field);
      const counts = new Map<string, number>();
      for (const record of this.liveRecords(objectName, [field])) {
        const value = record[field];
        if (!this.after(value, since, true)) continue;
        // DAY_ONLY without convertTimezone() is the UTC day.
        const day = new Date(String(value)).toISOString().slice(0, 10);
        counts.set(day, (counts.get(day) ?? 0) + 1);
      }
      const records = [...counts.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([d, c]) => ({ attributes: { type: 'AggregateResult' }, d, c }));
      return { totalSize: records.length, done: true, records };
    }
    throw apiError(
      400,
      'MALFORMED_QUERY',
      `The Salesforce stand-in answers only the SOQL that verify sends; unexpected query: ${normalized}`,
    );
  }

  private liveRecords(objectName: string, fields: string[]): Record<string, unknown>[] {
    if (!this.options.org.hasObject(objectName)) {
      throw apiError(
        400,
        'INVALID_TYPE',
        `sObject type '${objectName}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name.`,
      );
    }
    for (const field of fields) this.fieldName(objectName, field);
    return this.options.org.query(objectName, { includeDeleted: false });
  }

  /** The field's defined spelling (SOQL names are case-insensitive); INVALID_FIELD when it has none. */
  private fieldName(objectName: string, field: string): string {
    const defined = this.options.org
      .fields(objectName)
      .find((f) => f.name.toLowerCase() === field.toLowerCase());
    if (!defined) {
      throw apiError(
        400,
        'INVALID_FIELD',
        `No such column '${field}' on entity '${this.options.org.canonicalName(objectName)}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name.`,
      );
    }
    return defined.name;
  }

  private requireDatetime(objectName: string, field: string): void {
    const type = this.options.org.fields(objectName).find((f) => f.name === field)?.type;
    if (type !== 'datetime') {
      throw apiError(
        400,
        'INVALID_FIELD',
        `DAY_ONLY can only be used with a dateTime field, and ${field} is ${type ?? 'unknown'}`,
      );
    }
  }

  private after(value: unknown, since: string, inclusive: boolean): boolean {
    if (value === null || value === undefined) return false;
    const at = Date.parse(String(value));
    const bound = Date.parse(since);
    return inclusive ? at >= bound : at > bound;
  }
}
