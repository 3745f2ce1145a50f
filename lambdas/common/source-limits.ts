import { createPrivateKey, createSign, type KeyObject } from 'node:crypto';
import * as z from 'zod/mini';
import './schema';

/** Salesforce REST API version of every resource the pipeline and `verify` read. */
export const SALESFORCE_API_VERSION = 'v60.0';
/** Salesforce's REST limits resource: what the org has left of its daily API requests. */
export const SALESFORCE_LIMITS_PATH = `/services/data/${SALESFORCE_API_VERSION}/limits`;
/** Salesforce's REST query resource (SOQL in `?q=`). */
export const SALESFORCE_QUERY_PATH = `/services/data/${SALESFORCE_API_VERSION}/query`;
/** The OAuth 2.0 token endpoint, below the login URL (login, test or My Domain). */
export const SALESFORCE_TOKEN_PATH = '/services/oauth2/token';
export const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const DEFAULT_LOGIN_URL = 'https://login.salesforce.com';
/** Salesforce wants the assertion's `exp` within 3 minutes; a fresh one is signed for every run. */
export const ASSERTION_LIFETIME_SECONDS = 180;
/** Token endpoint and REST calls: a Salesforce outage must not hold the precheck to its Lambda timeout. */
const REQUEST_TIMEOUT_MS = 10_000;

/** What to write into the secret, for the messages that refuse one. */
export const SECRET_FORMATS =
  '{"loginUrl", "clientId", "username", "privateKey"} (OAuth 2.0 JWT bearer flow) or ' +
  '{"loginUrl", "clientId", "clientSecret"?, "refreshToken"} (refresh token)';

/**
 * Salesforce needs HTTPS; plain HTTP only reaches a loopback stand-in (the local run).
 * A trailing slash is dropped: the login URL is also the JWT's audience, compared as text.
 */
const salesforceUrl = z.pipe(
  z.url().check(
    z.refine(
      (value) => {
        const url = new URL(value);
        return url.protocol === 'https:' || ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
      },
      { message: 'must be an https:// URL' },
    ),
  ),
  z.transform((value) => value.replace(/\/+$/, '')),
);
const nonEmpty = z.string().check(z.minLength(1, 'must not be empty'));

/** OAuth 2.0 JWT bearer flow: a connected app with a certificate, and a pre-authorized user. */
export const jwtBearerSecretSchema = z.strictObject({
  loginUrl: z._default(salesforceUrl, DEFAULT_LOGIN_URL),
  /** Where REST calls go; the token endpoint's `instance_url` when absent. */
  instanceUrl: z.optional(salesforceUrl),
  /** The connected app's consumer key. */
  clientId: nonEmpty,
  username: nonEmpty,
  /** PEM private key whose certificate is uploaded to the connected app. */
  privateKey: z.string().check(z.regex(/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'must be a PEM private key')),
});

/** Refresh-token flow: a token issued once to the connected app by an interactive authorization. */
export const refreshTokenSecretSchema = z.strictObject({
  loginUrl: z._default(salesforceUrl, DEFAULT_LOGIN_URL),
  instanceUrl: z.optional(salesforceUrl),
  clientId: nonEmpty,
  clientSecret: z.optional(nonEmpty),
  refreshToken: nonEmpty,
});

export type JwtBearerCredentials = z.output<typeof jwtBearerSecretSchema>;
export type RefreshTokenCredentials = z.output<typeof refreshTokenSecretSchema>;
export type SalesforceCredentials =
  | ({ grant: 'jwt-bearer' } & JwtBearerCredentials)
  | ({ grant: 'refresh-token' } & RefreshTokenCredentials);

const tokenResponseSchema = z.looseObject({
  access_token: nonEmpty,
  instance_url: z.url(),
});
const oauthErrorSchema = z.looseObject({ error: z.string(), error_description: z.optional(z.string()) });
const restErrorsSchema = z.array(z.looseObject({ errorCode: z.string(), message: z.string() }));
const limitsResponseSchema = z.looseObject({
  DailyApiRequests: z.looseObject({ Max: z.number(), Remaining: z.number() }),
});

/**
 * The secret or the org refuses the credentials: a person must fix the secret or the connected
 * app, so the precheck fails with this message (which names the secret, never a key or token).
 */
export class SourceCredentialsError extends Error {
  override name = 'SourceCredentials';
}

/** A REST call Salesforce refused for what it asked (MALFORMED_QUERY, INVALID_FIELD, …). */
export class SalesforceRequestError extends Error {
  override name = 'SalesforceRequest';
  constructor(
    message: string,
    readonly errorCode?: string,
  ) {
    super(message);
  }
}

/** What the messages call the secret: its name or ARN. */
export interface SecretLabel {
  secretId: string;
}

function secretIs(label: SecretLabel): string {
  return `The API limits secret "${label.secretId}"`;
}

/**
 * Reads the secret's JSON and tells the two supported shapes apart. The old
 * `{instanceUrl, accessToken}` is refused: an access token dies with the org's session
 * timeout (2 hours by default), so it could never serve a daily job.
 */
export function parseSalesforceCredentials(secretString: string, label: SecretLabel): SalesforceCredentials {
  let raw: unknown;
  try {
    raw = JSON.parse(secretString);
  } catch {
    throw new SourceCredentialsError(`${secretIs(label)} is not JSON: it must hold ${SECRET_FORMATS}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new SourceCredentialsError(`${secretIs(label)} must hold a JSON object: ${SECRET_FORMATS}`);
  }
  const keys = Object.keys(raw);
  const problems = (issues: readonly { path: PropertyKey[]; message: string; code?: string }[]) =>
    issues
      .map((issue) =>
        issue.code === 'unrecognized_keys'
          ? issue.message
          : `${issue.path.map(String).join('.') || '(root)'} ${issue.message}`,
      )
      .join('; ');
  if (keys.includes('accessToken') && !keys.includes('privateKey') && !keys.includes('refreshToken')) {
    throw new SourceCredentialsError(
      `${secretIs(label)} holds {"instanceUrl", "accessToken"}, which is no longer accepted: access tokens expire ` +
        "after the org's session timeout, so the quota guard failed from the next day on. Replace its value with " +
        `${SECRET_FORMATS} (docs/deploying.md, "Quota guard: the API-limits secret")`,
    );
  }
  if (keys.includes('privateKey') && keys.includes('refreshToken')) {
    throw new SourceCredentialsError(
      `${secretIs(label)} holds both privateKey and refreshToken: keep one grant, ${SECRET_FORMATS}`,
    );
  }
  if (keys.includes('privateKey')) {
    const parsed = jwtBearerSecretSchema.safeParse(raw);
    if (!parsed.success) {
      throw new SourceCredentialsError(
        `${secretIs(label)} (JWT bearer) is invalid: ${problems(parsed.error.issues)}`,
      );
    }
    return { grant: 'jwt-bearer', ...parsed.data };
  }
  if (keys.includes('refreshToken')) {
    const parsed = refreshTokenSecretSchema.safeParse(raw);
    if (!parsed.success) {
      throw new SourceCredentialsError(
        `${secretIs(label)} (refresh token) is invalid: ${problems(parsed.error.issues)}`,
      );
    }
    return { grant: 'refresh-token', ...parsed.data };
  }
  throw new SourceCredentialsError(
    `${secretIs(label)} has neither privateKey nor refreshToken (keys: ${keys.join(', ') || 'none'}): it must hold ${SECRET_FORMATS}`,
  );
}

/** An RSA private key, or a message that names the secret and what is wrong (never the key). */
export function readPrivateKey(pem: string, label: SecretLabel): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new SourceCredentialsError(
      `${secretIs(label)}: privateKey is not a readable, unencrypted PEM private key (${reason})`,
    );
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new SourceCredentialsError(
      `${secretIs(label)}: privateKey is a ${key.asymmetricKeyType} key; Salesforce's JWT bearer flow signs with RS256, which needs an RSA key`,
    );
  }
  return key;
}

/**
 * The JWT bearer assertion: header {"alg":"RS256"}, claims iss (consumer key), sub (username),
 * aud (login URL) and exp (3 minutes), each part base64url, signed with SHA-256 and RSA.
 */
export function signJwtBearerAssertion(
  credentials: Pick<JwtBearerCredentials, 'clientId' | 'username' | 'loginUrl'>,
  key: KeyObject,
  nowMs: number,
): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signingInput = `${encode({ alg: 'RS256' })}.${encode({
    iss: credentials.clientId,
    sub: credentials.username,
    aud: credentials.loginUrl,
    exp: Math.floor(nowMs / 1000) + ASSERTION_LIFETIME_SECONDS,
  })}`;
  const signature = createSign('RSA-SHA256').update(signingInput).sign(key).toString('base64url');
  return `${signingInput}.${signature}`;
}

/** What each documented token-endpoint refusal means for whoever keeps the secret. */
function explainTokenError(error: string, description: string | undefined, grant: string): string {
  const said = `${error}${description ? `: ${description}` : ''}`;
  const hint = (() => {
    switch (error) {
      case 'invalid_client_id':
        return 'clientId is not the consumer key of a connected app in this org (a sandbox logs in at https://test.salesforce.com)';
      case 'invalid_client':
      case 'invalid_client_credentials':
        return 'clientSecret does not match the connected app';
      case 'inactive_user':
      case 'inactive_org':
        return 'the integration user or the org is inactive';
      case 'invalid_grant':
        if (/invalid assertion/i.test(description ?? ''))
          return "the signature did not verify: privateKey does not belong to the certificate uploaded to the connected app, or the app's key changed";
        if (/audience/i.test(description ?? ''))
          return 'loginUrl is the JWT audience and must be https://login.salesforce.com, https://test.salesforce.com or the community URL';
        if (/expired authorization code/i.test(description ?? ''))
          return "the assertion had expired when it arrived: check this machine's clock";
        if (/approved this consumer|not admin approved/i.test(description ?? ''))
          return "pre-authorize the user for the connected app (Permitted Users: Admin approved users are pre-authorized, and the user's profile or permission set)";
        if (/expired access\/refresh token/i.test(description ?? ''))
          return 'the refresh token expired or was revoked: authorize the connected app again and store the new refreshToken';
        if (/user/i.test(description ?? '')) return 'check username';
        return grant === 'jwt-bearer' ? 'check clientId, username and privateKey' : 'check refreshToken';
      default:
        return undefined;
    }
  })();
  return hint ? `${said} (${hint})` : said;
}

/** Refusals that will not go away by retrying: the run stops and says what to fix. */
const PERMANENT_TOKEN_ERRORS = new Set([
  'invalid_client_id',
  'invalid_client',
  'invalid_client_credentials',
  'invalid_grant',
  'inactive_user',
  'inactive_org',
  'unsupported_grant_type',
  'invalid_request',
  'invalid_scope',
]);

export interface SalesforceSession {
  accessToken: string;
  instanceUrl: string;
}

export interface SalesforceRequestOptions extends SecretLabel {
  fetchImpl?: typeof fetch;
  /** Wall clock for the assertion's `exp`. @default Date.now */
  nowMs?: () => number;
}

function describeFailure(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
  }
  return String(error);
}

/**
 * Exchanges the secret's long-lived credential (signed assertion or refresh token) for an
 * access token at `<loginUrl>/services/oauth2/token`: once per run, so no token outlives it.
 * Refusals throw SourceCredentialsError; network trouble and 5xx throw a plain Error.
 */
export async function openSalesforceSession(
  credentials: SalesforceCredentials,
  options: SalesforceRequestOptions,
): Promise<SalesforceSession> {
  const fetchImpl = options.fetchImpl ?? fetch;
  const form = new URLSearchParams();
  if (credentials.grant === 'jwt-bearer') {
    const key = readPrivateKey(credentials.privateKey, options);
    form.set('grant_type', JWT_BEARER_GRANT_TYPE);
    form.set('assertion', signJwtBearerAssertion(credentials, key, (options.nowMs ?? Date.now)()));
  } else {
    form.set('grant_type', 'refresh_token');
    form.set('client_id', credentials.clientId);
    if (credentials.clientSecret) form.set('client_secret', credentials.clientSecret);
    form.set('refresh_token', credentials.refreshToken);
  }
  const tokenUrl = `${credentials.loginUrl}${SALESFORCE_TOKEN_PATH}`;
  let response: Response;
  try {
    response = await fetchImpl(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    throw new Error(`Salesforce token endpoint ${tokenUrl} did not answer: ${describeFailure(error)}`);
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    const oauthError = oauthErrorSchema.safeParse(body);
    const code = oauthError.success ? oauthError.data.error : undefined;
    const detail = oauthError.success
      ? explainTokenError(oauthError.data.error, oauthError.data.error_description, credentials.grant)
      : `HTTP ${response.status}`;
    const message = `${secretIs(options)}: Salesforce's token endpoint ${tokenUrl} refused the ${credentials.grant} grant: ${detail}`;
    if (code !== undefined && PERMANENT_TOKEN_ERRORS.has(code)) throw new SourceCredentialsError(message);
    throw new Error(message);
  }
  const token = tokenResponseSchema.safeParse(body);
  if (!token.success) {
    throw new Error(`Salesforce token endpoint ${tokenUrl} answered HTTP ${response.status} without a token`);
  }
  return {
    accessToken: token.data.access_token,
    instanceUrl: (credentials.instanceUrl ?? token.data.instance_url).replace(/\/+$/, ''),
  };
}

/**
 * GET on a Salesforce REST resource with the session's token. 401/403 (session refused, API
 * disabled for the user) throw SourceCredentialsError with Salesforce's errorCode and message.
 */
export async function salesforceGet(
  session: SalesforceSession,
  pathAndQuery: string,
  options: SalesforceRequestOptions,
): Promise<unknown> {
  const fetchImpl = options.fetchImpl ?? fetch;
  const url = `${session.instanceUrl}${pathAndQuery}`;
  const resource = pathAndQuery.split('?')[0];
  let response: Response;
  try {
    response = await fetchImpl(url, {
      headers: { Authorization: `Bearer ${session.accessToken}`, Accept: 'application/json' },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    throw new Error(`Salesforce ${resource} did not answer: ${describeFailure(error)}`);
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (response.ok) return body;
  const errors = restErrorsSchema.safeParse(body);
  const detail = errors.success
    ? errors.data.map((entry) => `${entry.errorCode}: ${entry.message}`).join('; ')
    : `HTTP ${response.status}`;
  const message = `Salesforce ${resource} answered HTTP ${response.status} (${detail})`;
  const errorCode = errors.success ? errors.data[0]?.errorCode : undefined;
  // 401: the session is refused; 403: the user may not use the API (a spent quota is no credentials matter).
  if (response.status === 401 || (response.status === 403 && errorCode !== 'REQUEST_LIMIT_EXCEEDED')) {
    throw new SourceCredentialsError(`${secretIs(options)}: ${message}`);
  }
  throw new SalesforceRequestError(message, errorCode);
}

export interface ApiQuota {
  remaining: number;
  max: number;
}

/**
 * Reads the org's remaining daily API requests: exchanges the secret's credential for a fresh
 * access token, then reads the limits resource (only the two numbers leave this function).
 */
export async function readApiQuota(
  secretString: string,
  options: SalesforceRequestOptions,
): Promise<ApiQuota> {
  const session = await openSalesforceSession(parseSalesforceCredentials(secretString, options), options);
  const limits = limitsResponseSchema.safeParse(
    await salesforceGet(session, SALESFORCE_LIMITS_PATH, options),
  );
  if (!limits.success) throw new Error('Salesforce limits resource answered without DailyApiRequests');
  return { remaining: limits.data.DailyApiRequests.Remaining, max: limits.data.DailyApiRequests.Max };
}

/** Below the configured share, starting flows would spend what the org's own users need. */
export function quotaTooLow(quota: ApiQuota | undefined, minShare: number): boolean {
  return quota !== undefined && quota.max > 0 && quota.remaining / quota.max < minShare;
}
