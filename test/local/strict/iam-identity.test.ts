import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadBundledHandler } from '../../../local/runner/local-lambda';
import { DEFAULT_CACHE_DIR } from '../../../local/runner/run-scenario';

/** A stand-in for an esbuild bundle: the AWS SDK stays external, as in the synthesized functions. */
const BUNDLE = `
const { DynamoDBClient } = require('@aws-sdk/client-dynamodb');
const client = new DynamoDBClient({ region: 'eu-west-1' });
exports.handler = async () => (await client.config.credentials()).accessKeyId;
`;

describe('the identity a bundled function signs with', () => {
  const dir = path.join(DEFAULT_CACHE_DIR, 'test-iam-identity');
  const bundlePath = path.join(dir, 'index.js');
  const restorers: (() => void)[] = [];

  beforeAll(() => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(bundlePath, BUNDLE);
  });

  afterAll(() => {
    for (const restore of restorers.reverse()) restore();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const load = (name: string, accessKeyId?: string) =>
    loadBundledHandler(
      { logicalId: name, bundlePath, environment: {}, timeoutSeconds: 60 },
      { AWS_ACCESS_KEY_ID: 'process-wide', AWS_SECRET_ACCESS_KEY: 'process-wide' },
      restorers,
      accessKeyId ? { credentials: { accessKeyId, secretAccessKey: 'secret' } } : undefined,
    );

  test("each function's SDK clients use its own credentials, not the process's (so the IAM gate knows the caller)", async () => {
    const first = load('First', 'ASIAFIRST');
    const second = load('Second', 'ASIASECOND');
    // Concurrent invocations in one process keep their identities apart.
    expect(await Promise.all([first({}, {}), second({}, {}), first({}, {})])).toEqual([
      'ASIAFIRST',
      'ASIASECOND',
      'ASIAFIRST',
    ]);
  });

  test('without an identity the bundle falls back to the process credentials (the runner itself)', async () => {
    expect(await load('Runner')({}, {})).toBe('process-wide');
  });
});
