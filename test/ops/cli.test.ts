import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { COMMANDS } from '../../ops/objects/usage';
import { createControlTable, Dynalite } from '../support/dynalite';
import { runCli } from './support/cli';

const ROOT = path.resolve(__dirname, '../..');

describe('help and usage errors', () => {
  it.each([[['--help']], [['-h']]])('%j lists every command and exits 0', async (argv) => {
    const outcome = await runCli(argv);
    expect(outcome.code).toBe(0);
    for (const command of Object.keys(COMMANDS)) expect(outcome.stdout).toContain(`  ${command}`);
    expect(outcome.stdout).toContain('--env NAME');
    expect(outcome.stdout).toContain('Exit codes: 0 ok, 1 the operation failed, 2 usage error');
  });

  it('<command> --help shows its flags, even with its arguments missing', async () => {
    const outcome = await runCli(['add', '--help']);
    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toContain('Usage: npm run objects -- add <Object> [--fields a,b,c]');
    expect(outcome.stdout).toMatch(/--delete-mode hard\|soft\|ignore\s+what a source delete does/);
  });

  it.each([
    [[], 'No command given'],
    [['lsit'], 'Unknown command "lsit"'],
    [['list', '--verbose', '--table', 't'], "Unknown option '--verbose'"],
    [['enable', '--table', 't'], 'enable needs <Object>'],
    [['enable', 'Account', 'Contact', '--table', 't'], 'Unexpected argument "Contact"'],
    [['add', 'Account', '--mode', '--table', 't'], "Option '--mode' argument is ambiguous"],
    [['remove', 'Account', '--yes=please', '--table', 't'], "Option '--yes' does not take an argument"],
    [['run', '--objects'], "Option '--objects <value>' argument missing"],
  ])('%j exits 2 with the usage', async (argv, message) => {
    const outcome = await runCli(argv);
    expect(outcome.code).toBe(2);
    expect(outcome.stdout).toBe('');
    expect(outcome.stderr).toContain(`Error: ${message}`);
    expect(outcome.stderr).toContain('Usage: npm run objects --');
  });
});

describe('npm run objects (spawned, as an operator runs it)', () => {
  const dynalite = new Dynalite();
  let client: DynamoDBClient;

  beforeAll(async () => {
    await dynalite.start();
    client = dynalite.client();
    await createControlTable(client, 'control');
  });

  afterAll(async () => {
    client.destroy();
    await dynalite.stop();
  });

  it('reaches a local DynamoDB through AWS_ENDPOINT_URL_DYNAMODB and exits with the command status', async () => {
    const run = (...argv: string[]) =>
      promisify(execFile)(path.join(ROOT, 'node_modules/.bin/tsx'), ['ops/objects-cli.ts', ...argv], {
        cwd: ROOT,
        env: { ...process.env, AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint, AWS_REGION: 'eu-west-1' },
      }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (error: { code: number; stdout: string; stderr: string }) => error,
      );

    // One spawn (tsx starts in ~1 s): a duplicate proves the row was read from dynalite and exit code 1 reaches the shell.
    await DynamoDBDocumentClient.from(client).send(
      new PutCommand({ TableName: 'control', Item: { objectName: 'Account' } }),
    );
    const duplicate = await run('add', 'Account', '--table', 'control');
    expect(duplicate.code).toBe(1);
    expect(duplicate.stdout).toBe('');
    // Only the error: the SDK's Node-version notice is silenced for the CLI.
    expect(duplicate.stderr).toBe('Error: Account already exists; use enable/reset/remove\n');
  });
});
