import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { LOCAL_CONFIG } from '../../config/local-environment';
import { SALESFORCE_LIMITS_PATH } from '../../lambdas/common/source-limits';
import { type LocalRunContext, runScenario } from '../../local/runner/run-scenario';
import { parseScenario } from '../../local/runner/scenario';
import type { CliClients } from '../../ops/objects-cli';
import { runCli } from '../ops/support/cli';
import { accounts } from './e2e-support';

/** The CLI's clients as an operator's shell would build them, pointed at the stand-ins by AWS_ENDPOINT_URL_*. */
function sdkClients(): CliClients {
  return {
    controlTable: (region) => DynamoDBDocumentClient.from(new DynamoDBClient({ region })),
    stepFunctions: () => {
      throw new Error('verify needs no Step Functions');
    },
    cloudFormation: () => {
      throw new Error('--table is given: no stack lookup');
    },
    redshiftData: (region) => new RedshiftDataClient({ region }),
    secretsManager: (region) => new SecretsManagerClient({ region }),
  };
}

interface Observed {
  tokensIssuedAt: string[];
  limitsStatuses: number[];
  yesterdaysTokenNow: { status: number; body: unknown };
  yesterdaysTokenValid: boolean;
  equal: Awaited<ReturnType<typeof runCli>>;
  missing: Awaited<ReturnType<typeof runCli>>;
  extra: Awaited<ReturnType<typeof runCli>>;
  usage: Awaited<ReturnType<typeof runCli>>;
  refused: Awaited<ReturnType<typeof runCli>>;
}

const observed = {} as Observed;

beforeAll(async () => {
  const scenario = parseScenario({
    objects: [{ objectName: 'Account' }],
    days: [
      { date: '2026-01-01', changes: { Account: { upsert: accounts(3) } } },
      { date: '2026-01-02', changes: { Account: { upsert: accounts(2, 'B') } } },
    ],
  });
  await runScenario(scenario, {
    afterRun: async (context: LocalRunContext) => {
      // Part A, as the org saw the two runs: one exchange per run, and day 1's token is dead on day 2.
      const { salesforce } = context;
      observed.tokensIssuedAt = salesforce.issuedTokens.map((token) => token.issuedAt.slice(0, 10));
      observed.limitsStatuses = salesforce.calls
        .filter((call) => call.path === SALESFORCE_LIMITS_PATH)
        .map((call) => call.status);
      const yesterdays = salesforce.issuedTokens[0]?.accessToken ?? '';
      observed.yesterdaysTokenValid = salesforce.isSessionValid(yesterdays);
      const response = await fetch(`${salesforce.baseUrl}${SALESFORCE_LIMITS_PATH}`, {
        headers: { Authorization: `Bearer ${yesterdays}` },
      });
      observed.yesterdaysTokenNow = { status: response.status, body: await response.json() };

      // Part B: verify against the stand-ins the run leaves up.
      const verify = (...extra: string[]) =>
        runCli(
          [
            'verify',
            ...extra,
            '--env',
            'local',
            '--table',
            context.controlTableName,
            '--as-of',
            '2026-01-02',
            '--days',
            '7',
          ],
          sdkClients(),
          { environments: { local: LOCAL_CONFIG } },
        );
      observed.equal = await verify('Account');
      await context.db.exec(`
        CREATE TEMP TABLE kept AS SELECT * FROM salesforce.account WHERE id = '001B00001';
        DELETE FROM salesforce.account WHERE id = '001B00001';`);
      observed.missing = await verify('Account');
      await context.db.exec(`
        INSERT INTO salesforce.account SELECT * FROM kept;
        UPDATE kept SET id = '001X00001';
        INSERT INTO salesforce.account SELECT * FROM kept;`);
      observed.extra = await verify('--all');
      observed.usage = await verify('Account', '--all');
      await DynamoDBDocumentClient.from(new DynamoDBClient({})).send(
        new PutCommand({ TableName: context.controlTableName, Item: { objectName: 'Lead' } }),
      );
      observed.refused = await verify('Lead');
    },
  });
}, 300_000);

describe('quota guard credentials over two days (JWT bearer flow)', () => {
  test("each day's precheck exchanges its own token and reads the quota", () => {
    expect(observed.tokensIssuedAt.slice(0, 2)).toEqual(['2026-01-01', '2026-01-02']);
    expect(observed.limitsStatuses).toEqual([200, 200]);
  });

  test("the token from yesterday's run is refused today: Session expired or invalid", () => {
    expect(observed.yesterdaysTokenValid).toBe(false);
    expect(observed.yesterdaysTokenNow).toEqual({
      status: 401,
      body: [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }],
    });
  });
});

describe('npm run objects -- verify, end to end against the stand-ins', () => {
  test('source and warehouse equal: exit 0', () => {
    expect(observed.equal.stderr).toBe('');
    expect(observed.equal.code).toBe(0);
    expect(observed.equal.stdout).toMatch(/Account\s+salesforce\.account\s+5\s+5\s+0\s+equal/);
    expect(observed.equal.stdout).not.toContain('Days that differ');
  });

  test('a record missing from the warehouse: exit 1, its day named', () => {
    expect(observed.missing.code).toBe(1);
    expect(observed.missing.stdout).toMatch(/Account\s+salesforce\.account\s+5\s+4\s+1\s+DIFFERENT/);
    expect(observed.missing.stdout).toMatch(/Account\s+2026-01-02\s+SystemModstamp\s+2\s+1\s+-1/);
  });

  test('an extra record in the warehouse: exit 1', () => {
    expect(observed.extra.code).toBe(1);
    expect(observed.extra.stdout).toMatch(/Account\s+salesforce\.account\s+5\s+6\s+1\s+DIFFERENT/);
    expect(observed.extra.stdout).toMatch(/Account\s+2026-01-02\s+SystemModstamp\s+2\s+3\s+\+1/);
  });

  test("an object Salesforce refuses to count is FAILED with Salesforce's reason: exit 1", () => {
    expect(observed.refused.code).toBe(1);
    expect(observed.refused.stdout).toMatch(/Lead\s+salesforce\.lead\s+FAILED/);
    expect(observed.refused.stdout).toContain("INVALID_TYPE: sObject type 'Lead' is not supported");
  });

  test('<Object> and --all together is a usage error', () => {
    expect(observed.usage.code).toBe(2);
    expect(observed.usage.stderr).toContain('verify needs <Object> or --all (one of them)');
  });
});
