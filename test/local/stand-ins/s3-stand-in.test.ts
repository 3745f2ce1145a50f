import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ServiceException,
} from '@aws-sdk/client-s3';
import {
  LOCAL_STACK_NAME,
  type LocalAssembly,
  loadAssembly,
  synthesizeLocalStack,
} from '../../../local/runner/assembly';
import { localEnvironmentConfig } from '../../../local/runner/local-config';
import { DEFAULT_CACHE_DIR } from '../../../local/runner/run-scenario';
import { S3StandIn } from '../../../local/stand-ins/s3-stand-in';
import { type IamGate, iamGateForAssembly, RUNNER_ACCESS_KEY_ID } from '../../../local/strict/iam-gate';

let assembly: LocalAssembly;
let gate: IamGate;
let s3: S3StandIn;
let url: string;
let runStateBucket: string;

beforeAll(async () => {
  const config = localEnvironmentConfig();
  assembly = loadAssembly(await synthesizeLocalStack(config, DEFAULT_CACHE_DIR));
  gate = iamGateForAssembly(assembly, config, LOCAL_STACK_NAME);
  runStateBucket = assembly.bucketNames.find((name) => name.includes('runstate')) as string;
  s3 = new S3StandIn(assembly.bucketNames, { checks: [gate.check] });
  ({ url } = await s3.start());
}, 300_000);

afterAll(async () => {
  await s3?.stop();
});

/** An S3 client signing as a Task state's function, the state machine, or the runner itself. */
function clientAs(who: string, endpoint = url): S3Client {
  const accessKeyId =
    who === 'runner'
      ? RUNNER_ACCESS_KEY_ID
      : gate.credentialsFor(
          who === 'StateMachine' ? assembly.stateMachineLogicalId : assembly.taskFunctions[who].logicalId,
        ).accessKeyId;
  return new S3Client({
    endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId, secretAccessKey: 'local' },
  });
}

async function errorOf(promise: Promise<unknown>): Promise<S3ServiceException> {
  try {
    await promise;
  } catch (error) {
    return error as S3ServiceException;
  }
  throw new Error('expected the call to fail');
}

const put = (client: S3Client, Key: string, Body = '[]', Bucket = runStateBucket) =>
  client.send(new PutObjectCommand({ Bucket, Key, Body, ContentType: 'application/json' }));
const get = (client: S3Client, Key: string, Bucket = runStateBucket) =>
  client.send(new GetObjectCommand({ Bucket, Key }));

test('the run-state bucket is a bucket of the template, named as CloudFormation would name it', () => {
  expect(runStateBucket).toMatch(/^saastoredshift-local-runstatebucket[a-z0-9-]*$/);
  expect(runStateBucket.length).toBeLessThanOrEqual(63);
});

test('LoadObjects writes a plan that ReportRun reads back byte for byte, path-style over the IP endpoint', async () => {
  const plan = JSON.stringify([{ objectName: 'Account', note: 'é ✓' }]);
  const written = await put(clientAs('LoadObjects'), 'runs/day-1/plan.json', plan);
  expect(written.ETag).toMatch(/^"[0-9a-f]{32}"$/);
  expect(written.ServerSideEncryption).toBe('AES256');

  const read = await get(clientAs('ReportRun'), 'runs/day-1/plan.json');
  expect(await read.Body?.transformToString('utf8')).toBe(plan);
  expect(read.ContentType).toBe('application/json');
  expect(s3.calls.at(-1)).toEqual({
    operation: 'GetObject',
    bucket: runStateBucket,
    key: 'runs/day-1/plan.json',
  });
});

test('a key that does not exist is NoSuchKey (404) for a caller who may list the bucket', async () => {
  const error = await errorOf(get(clientAs('runner'), 'runs/day-9/plan.json'));
  expect(error.name).toBe('NoSuchKey');
  expect(error.$metadata.httpStatusCode).toBe(404);
});

test('a missing key is AccessDenied (403) for a role without s3:ListBucket, as S3 hides which keys exist', async () => {
  const error = await errorOf(get(clientAs('ReportRun'), 'runs/day-9/plan.json'));
  expect(error.name).toBe('AccessDenied');
  expect(error.$metadata.httpStatusCode).toBe(403);
  expect(error.message).toContain(`s3:ListBucket on resource: arn:aws:s3:::${runStateBucket}`);
});

test('a bucket the template does not define is NoSuchBucket', async () => {
  const error = await errorOf(put(clientAs('runner'), 'runs/x.json', '[]', 'someone-elses-bucket'));
  expect(error.name).toBe('NoSuchBucket');
  expect(error.$metadata.httpStatusCode).toBe(404);
});

test('a key over 1,024 bytes of UTF-8 is KeyTooLongError, one of exactly 1,024 is fine', async () => {
  const client = clientAs('runner');
  const error = await errorOf(put(client, `runs/${'é'.repeat(510)}`)); // 5 + 1,020 bytes
  expect(error.name).toBe('KeyTooLongError');
  expect(error.$metadata.httpStatusCode).toBe(400);
  await expect(put(client, `runs/${'é'.repeat(509)}a`)).resolves.toBeDefined(); // 5 + 1,018 + 1
});

test('IAM: a role without the grant is refused; the grants reach runs/ only', async () => {
  const pollFlow = await errorOf(put(clientAs('PollFlow'), 'runs/day-1/plan.json'));
  expect(pollFlow.name).toBe('AccessDenied');
  expect(pollFlow.$metadata.httpStatusCode).toBe(403);
  expect(pollFlow.message).toMatch(
    new RegExp(
      `not authorized to perform: s3:PutObject on resource: arn:aws:s3:::${runStateBucket}/runs/day-1/plan\\.json`,
    ),
  );
  // LoadObjects only writes; the state machine may not write outside runs/.
  await put(clientAs('LoadObjects'), 'runs/day-2/plan.json');
  expect((await errorOf(get(clientAs('LoadObjects'), 'runs/day-2/plan.json'))).name).toBe('AccessDenied');
  expect((await errorOf(put(clientAs('StateMachine'), 'elsewhere/manifest.json'))).name).toBe('AccessDenied');
  await expect(get(clientAs('StateMachine'), 'runs/day-2/plan.json')).resolves.toBeDefined();
  await expect(put(clientAs('StateMachine'), 'runs/day-2/results/x/manifest.json')).resolves.toBeDefined();
});

test('a body that does not match its Content-MD5 is BadDigest and is not stored', async () => {
  const error = await errorOf(
    clientAs('runner').send(
      new PutObjectCommand({
        Bucket: runStateBucket,
        Key: 'runs/day-3/plan.json',
        Body: '[1]',
        ContentMD5: Buffer.from('0123456789abcdef').toString('base64'),
      }),
    ),
  );
  expect(error.name).toBe('BadDigest');
  expect(s3.readText(runStateBucket, 'runs/day-3/plan.json')).toBeUndefined();
});

test('an object over the PutObject limit is EntityTooLarge', async () => {
  const small = new S3StandIn([runStateBucket], { maxObjectBytes: 10 });
  const { url: smallUrl } = await small.start();
  try {
    const error = await errorOf(put(clientAs('runner', smallUrl), 'runs/big.json', '[1,2,3,4,5,6]'));
    expect(error.name).toBe('EntityTooLarge');
  } finally {
    await small.stop();
  }
});

test('an operation the stand-in does not play is NotImplemented (501), never a silent success', async () => {
  const error = await errorOf(
    clientAs('runner').send(new DeleteObjectCommand({ Bucket: runStateBucket, Key: 'runs/day-1/plan.json' })),
  );
  expect(error.name).toBe('NotImplemented');
  expect(error.$metadata.httpStatusCode).toBe(501);
  expect(s3.readText(runStateBucket, 'runs/day-1/plan.json')).toBeDefined();
});
