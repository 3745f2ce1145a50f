import { generateKeyPairSync } from 'node:crypto';
import {
  calculatedFieldsOf,
  readCalculatedFields,
  salesforceDescribePath,
} from '../../../lambdas/common/source-describe';
import {
  openSalesforceSession,
  parseSalesforceCredentials,
  readApiQuota,
  SALESFORCE_LIMITS_PATH,
  SALESFORCE_QUERY_PATH,
  type SalesforceCredentials,
  SalesforceRequestError,
  SourceCredentialsError,
  salesforceGet,
  signJwtBearerAssertion,
} from '../../../lambdas/common/source-limits';
import {
  generateConnectedAppKeys,
  SalesforceLimitsStandIn,
} from '../../../local/stand-ins/salesforce-limits-stand-in';
import { SimulatedClock } from '../../../local/stand-ins/simulated-clock';
import { SourceOrg } from '../../../local/stand-ins/source-org';

const CLIENT_ID = '3MVG9-test-consumer-key';
const USERNAME = 'integration@example.com';
const SECRET = { secretId: 'saas-to-redshift/test/salesforce-limits' };
const keys = generateConnectedAppKeys();

let clock: SimulatedClock;
let org: SourceOrg;
let salesforce: SalesforceLimitsStandIn;
let url: string;

beforeEach(async () => {
  clock = new SimulatedClock('2026-01-01T06:00:00.000Z');
  org = new SourceOrg(clock);
  salesforce = new SalesforceLimitsStandIn({ org, clock });
  salesforce.registerConnectedApp({
    clientId: CLIENT_ID,
    certificate: keys.publicKey,
    usernames: [USERNAME],
    clientSecret: 'consumer-secret',
  });
  ({ url } = await salesforce.start());
});

afterEach(() => salesforce.stop());

const jwtSecret = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify({
    loginUrl: url,
    clientId: CLIENT_ID,
    username: USERNAME,
    privateKey: keys.privateKey,
    ...overrides,
  });
const credentials = (overrides: Record<string, unknown> = {}): SalesforceCredentials =>
  parseSalesforceCredentials(jwtSecret(overrides), SECRET);

async function refusal(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught as Error,
  );
  if (!error) throw new Error('expected a refusal');
  return error;
}

describe('token endpoint: JWT bearer flow', () => {
  test('a signed assertion is exchanged for a token that reads the limits resource', async () => {
    org.setApiQuota({ remaining: 900, max: 15000 });
    await expect(readApiQuota(jwtSecret(), SECRET)).resolves.toEqual({ remaining: 900, max: 15000 });
    expect(salesforce.calls.map((call) => `${call.method} ${call.path} ${call.status}`)).toEqual([
      'POST /services/oauth2/token 200',
      `GET ${SALESFORCE_LIMITS_PATH} 200`,
    ]);
  });

  test("yesterday's token is refused today with INVALID_SESSION_ID; a fresh exchange works", async () => {
    const yesterday = await openSalesforceSession(credentials(), SECRET);
    await salesforceGet(yesterday, SALESFORCE_LIMITS_PATH, SECRET);
    clock.advanceToDate('2026-01-02');

    const error = await refusal(salesforceGet(yesterday, SALESFORCE_LIMITS_PATH, SECRET));
    expect(error).toBeInstanceOf(SourceCredentialsError);
    expect(error.message).toContain('HTTP 401 (INVALID_SESSION_ID: Session expired or invalid)');
    expect(salesforce.isSessionValid(yesterday.accessToken)).toBe(false);

    const today = await openSalesforceSession(credentials(), SECRET);
    await expect(salesforceGet(today, SALESFORCE_LIMITS_PATH, SECRET)).resolves.toMatchObject({
      DailyApiRequests: { Max: 15000 },
    });
  });

  test('a session lives 2 hours after its last use (the default session timeout)', async () => {
    const session = await openSalesforceSession(credentials(), SECRET);
    clock.tick(119 * 60_000);
    await salesforceGet(session, SALESFORCE_LIMITS_PATH, SECRET);
    clock.tick(119 * 60_000);
    expect(salesforce.isSessionValid(session.accessToken)).toBe(true);
    clock.tick(2 * 60_000);
    expect(salesforce.isSessionValid(session.accessToken)).toBe(false);
  });

  test('a private key that is not the connected app certificate is refused as invalid assertion', async () => {
    const other = generateConnectedAppKeys();
    const error = await refusal(openSalesforceSession(credentials({ privateKey: other.privateKey }), SECRET));
    expect(error).toBeInstanceOf(SourceCredentialsError);
    expect(error.message).toContain(`The API limits secret "${SECRET.secretId}"`);
    expect(error.message).toContain('invalid_grant: invalid assertion');
    expect(error.message).toContain('privateKey does not belong to the certificate');
    expect(error.message).not.toContain('PRIVATE KEY');
  });

  test('an unreadable private key fails before any request, without echoing the key', async () => {
    const garbled = keys.privateKey.replace(/[A-Za-z]{10}/, 'AAAAAAAAAA');
    const error = await refusal(openSalesforceSession(credentials({ privateKey: garbled }), SECRET));
    expect(error).toBeInstanceOf(SourceCredentialsError);
    expect(error.message).toMatch(/privateKey is not a readable, unencrypted PEM private key/);
    expect(error.message).not.toContain(garbled.slice(40, 80));
    expect(salesforce.calls).toEqual([]);
  });

  test('an EC key is refused: RS256 needs RSA', async () => {
    const ec = generateKeyPairSync('ec', {
      namedCurve: 'P-256',
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const error = await refusal(openSalesforceSession(credentials({ privateKey: ec.privateKey }), SECRET));
    expect(error.message).toContain('privateKey is a ec key');
  });

  test('an unknown consumer key answers invalid_client_id', async () => {
    const error = await refusal(openSalesforceSession(credentials({ clientId: 'not-an-app' }), SECRET));
    expect(error).toBeInstanceOf(SourceCredentialsError);
    expect(error.message).toContain('invalid_client_id: client identifier invalid');
  });

  test("a user not pre-authorized for the app answers user hasn't approved this consumer", async () => {
    const error = await refusal(
      openSalesforceSession(credentials({ username: 'someone@example.com' }), SECRET),
    );
    expect(error.message).toContain(
      "invalid_grant: user hasn't approved this consumer (pre-authorize the user",
    );
  });

  test('an assertion for another audience, or already expired, is refused', async () => {
    const key = (await import('node:crypto')).createPrivateKey(keys.privateKey);
    const post = (assertion: string) =>
      fetch(`${url}/services/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
          assertion,
        }).toString(),
      }).then(async (response) => ({ status: response.status, body: await response.json() }));
    const claims = { clientId: CLIENT_ID, username: USERNAME };

    await expect(
      post(signJwtBearerAssertion({ ...claims, loginUrl: 'https://login.salesforce.com' }, key, Date.now())),
    ).resolves.toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'audience is invalid' },
    });
    await expect(
      post(signJwtBearerAssertion({ ...claims, loginUrl: url }, key, Date.now() - 10 * 60_000)),
    ).resolves.toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'expired authorization code' },
    });
    await expect(post('not.a.jwt')).resolves.toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  test('a token endpoint that does not answer is a plain (retryable) error, not a credentials one', async () => {
    await salesforce.stop();
    const error = await refusal(openSalesforceSession(credentials(), SECRET));
    expect(error).not.toBeInstanceOf(SourceCredentialsError);
    expect(error.message).toContain('did not answer');
  });
});

describe('token endpoint: refresh token', () => {
  const refreshSecret = (overrides: Record<string, unknown> = {}) =>
    parseSalesforceCredentials(
      JSON.stringify({
        loginUrl: url,
        clientId: CLIENT_ID,
        clientSecret: 'consumer-secret',
        refreshToken: '5Aep861-refresh',
        ...overrides,
      }),
      SECRET,
    );

  test('a registered refresh token gets an access token; a revoked one is refused', async () => {
    salesforce.registerRefreshToken(CLIENT_ID, '5Aep861-refresh');
    const session = await openSalesforceSession(refreshSecret(), SECRET);
    expect(salesforce.isSessionValid(session.accessToken)).toBe(true);

    const revoked = await refusal(openSalesforceSession(refreshSecret({ refreshToken: 'revoked' }), SECRET));
    expect(revoked.message).toContain(
      'invalid_grant: expired access/refresh token (the refresh token expired',
    );
    const wrongSecret = await refusal(openSalesforceSession(refreshSecret({ clientSecret: 'nope' }), SECRET));
    expect(wrongSecret.message).toContain('invalid_client: invalid client credentials');
  });
});

describe('the API-limits secret', () => {
  test('the old {instanceUrl, accessToken} is refused with how to migrate', () => {
    expect(() =>
      parseSalesforceCredentials(
        JSON.stringify({ instanceUrl: 'https://acme.my.salesforce.com', accessToken: '00D!secret' }),
        SECRET,
      ),
    ).toThrow(/holds \{"instanceUrl", "accessToken"\}, which is no longer accepted.*"privateKey"/);
  });

  test.each([
    [{ clientId: CLIENT_ID, username: USERNAME, privateKey: 'nope' }, 'privateKey must be a PEM private key'],
    [
      { loginUrl: 'http://login.salesforce.com', clientId: 'x', refreshToken: 'r' },
      'loginUrl must be an https:// URL',
    ],
    [{ clientId: 'x', refreshToken: 'r', clientSecrett: 's' }, 'Unrecognized key: "clientSecrett"'],
    [{ clientId: 'x' }, 'has neither privateKey nor refreshToken'],
  ])('%j is refused naming the secret and the problem', (secret, message) => {
    expect(() => parseSalesforceCredentials(JSON.stringify(secret), SECRET)).toThrow(
      expect.objectContaining({ name: 'SourceCredentials', message: expect.stringContaining(message) }),
    );
  });

  test('loginUrl defaults to https://login.salesforce.com', () => {
    expect(
      parseSalesforceCredentials(JSON.stringify({ clientId: 'x', refreshToken: 'r' }), SECRET),
    ).toMatchObject({
      grant: 'refresh-token',
      loginUrl: 'https://login.salesforce.com',
    });
  });
});

describe('query resource', () => {
  const query = async (soql: string) => {
    const session = await openSalesforceSession(credentials(), SECRET);
    return salesforceGet(session, `${SALESFORCE_QUERY_PATH}?q=${encodeURIComponent(soql)}`, SECRET);
  };

  beforeEach(() => {
    org.defineObject('Account', []);
    org.upsert('Account', [
      { Id: '001A', Name: 'a', SystemModstamp: '2026-01-01T10:00:00.000Z' },
      { Id: '001B', Name: 'b', SystemModstamp: '2026-01-01T23:59:59.000Z' },
      { Id: '001C', Name: 'c', SystemModstamp: '2026-01-02T00:00:00.000Z' },
      { Id: '001D', Name: 'd', SystemModstamp: '2026-01-02T01:00:00.000Z' },
    ]);
    org.delete('Account', ['001D']);
  });

  test('COUNT() counts live records', async () => {
    await expect(query('SELECT COUNT() FROM Account')).resolves.toEqual({
      totalSize: 3,
      done: true,
      records: [],
    });
    await expect(
      query('SELECT COUNT() FROM Account WHERE SystemModstamp > 2026-01-01T23:00:00Z'),
    ).resolves.toMatchObject({ totalSize: 2 });
  });

  test('DAY_ONLY groups live records by UTC day', async () => {
    const result = await query(
      'SELECT DAY_ONLY(SystemModstamp) d, COUNT(Id) c FROM Account WHERE IsDeleted = false AND SystemModstamp >= 2026-01-01T00:00:00Z GROUP BY DAY_ONLY(SystemModstamp)',
    );
    expect(result).toEqual({
      totalSize: 2,
      done: true,
      records: [
        { attributes: { type: 'AggregateResult' }, d: '2026-01-01', c: 2 },
        { attributes: { type: 'AggregateResult' }, d: '2026-01-02', c: 1 },
      ],
    });
  });

  test.each([
    ['SELECT Id FROM Account', 'MALFORMED_QUERY'],
    ['SELECT COUNT() FROM Acount', "INVALID_TYPE: sObject type 'Acount' is not supported"],
    [
      'SELECT COUNT() FROM Account WHERE Modstamp > 2026-01-01T00:00:00Z',
      "INVALID_FIELD: No such column 'Modstamp'",
    ],
  ])('%s is refused with %s', async (soql, message) => {
    const error = await refusal(query(soql));
    expect(error.message).toContain(`HTTP 400 (${message}`);
  });

  test('a query spends one API request; none left answers REQUEST_LIMIT_EXCEEDED', async () => {
    org.setApiQuota({ remaining: 1, max: 15000 });
    await query('SELECT COUNT() FROM Account');
    expect(org.apiQuota.remaining).toBe(0);
    const error = await refusal(query('SELECT COUNT() FROM Account'));
    expect(error.message).toContain('REQUEST_LIMIT_EXCEEDED');
  });
});

describe('sObject Describe resource: formula fields (issue 21)', () => {
  beforeEach(() => {
    org.defineObject('Account', [{ name: 'Industry', type: 'picklist' }]);
    org.defineObject('Opportunity', [
      { name: 'Amount', type: 'currency', precision: 18, scale: 2 },
      { name: 'Days_Open__c', type: 'double', precision: 18, scale: 0, formula: true },
      { name: 'Total_Lines__c', type: 'currency', precision: 18, scale: 2, formula: true },
    ]);
    org.defineObject('orders', [{ name: 'total', type: 'decimal' }], {
      profile: 'tidb-cloud',
      connectorType: 'CustomConnector',
    });
  });

  test('lists every field with name, type and calculated; formulas are neither createable nor updateable', async () => {
    const session = await openSalesforceSession(credentials(), SECRET);
    const body = (await salesforceGet(session, salesforceDescribePath('opportunity'), SECRET)) as {
      name: string;
      fields: Record<string, unknown>[];
    };

    expect(body.name).toBe('Opportunity');
    expect(body.fields.map((field) => field.name)).toEqual([
      'Id',
      'Amount',
      'Days_Open__c',
      'Total_Lines__c',
      'Name',
      'SystemModstamp',
      'IsDeleted',
    ]);
    expect(body.fields.find((field) => field.name === 'Days_Open__c')).toMatchObject({
      type: 'double',
      calculated: true,
      precision: 18,
      scale: 0,
      createable: false,
      updateable: false,
    });
    expect(body.fields.find((field) => field.name === 'Amount')).toMatchObject({
      type: 'currency',
      calculated: false,
      createable: true,
    });
  });

  test('readCalculatedFields signs in once and names the calculated fields of each object', async () => {
    await expect(readCalculatedFields(jwtSecret(), ['Opportunity', 'Account'], SECRET)).resolves.toEqual({
      Opportunity: ['Days_Open__c', 'Total_Lines__c'],
      Account: [],
    });
    expect(salesforce.calls.map((call) => `${call.method} ${call.path} ${call.status}`)).toEqual([
      'POST /services/oauth2/token 200',
      `GET ${salesforceDescribePath('Opportunity')} 200`,
      `GET ${salesforceDescribePath('Account')} 200`,
    ]);
  });

  test("an unknown object, or a custom connector's entity, is NOT_FOUND: a request error, not a credentials one", async () => {
    const session = await openSalesforceSession(credentials(), SECRET);
    for (const objectName of ['Opportunty', 'orders']) {
      const error = await refusal(calculatedFieldsOf(session, objectName, SECRET));
      expect(error).toBeInstanceOf(SalesforceRequestError);
      expect(error.message).toContain('HTTP 404 (NOT_FOUND: The requested resource does not exist)');
    }
  });

  test('a dead session is INVALID_SESSION_ID; each describe spends one API request', async () => {
    const session = await openSalesforceSession(credentials(), SECRET);
    org.setApiQuota({ remaining: 1, max: 15000 });
    await calculatedFieldsOf(session, 'Opportunity', SECRET);
    expect(org.apiQuota.remaining).toBe(0);
    expect((await refusal(calculatedFieldsOf(session, 'Opportunity', SECRET))).message).toContain(
      'REQUEST_LIMIT_EXCEEDED',
    );

    clock.advanceToDate('2026-01-02');
    const error = await refusal(calculatedFieldsOf(session, 'Opportunity', SECRET));
    expect(error).toBeInstanceOf(SourceCredentialsError);
    expect(error.message).toContain('INVALID_SESSION_ID');
  });
});
