import * as fs from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';
import { runInThisContext } from 'node:vm';
import type { LocalFunction } from './assembly';

type Handler = (event: unknown, context: unknown) => Promise<unknown>;
type CompilableModule = Module & { _compile(code: string, filename: string): void; paths: string[] };
const moduleInternals = Module as unknown as { _nodeModulePaths(dir: string): string[] };

/**
 * Bundles run in Node's own module realm and read its `process.env`. Under jest, the
 * test's `process` is a sandbox copy, so variables go to both (the same object elsewhere).
 */
const nodeProcess = runInThisContext('process') as NodeJS.Process;
export function setEnvironment(variables: Record<string, string>): () => void {
  const targets = nodeProcess.env === process.env ? [process.env] : [process.env, nodeProcess.env];
  const previous = targets.map((env) =>
    Object.fromEntries(Object.keys(variables).map((key) => [key, env[key]])),
  );
  for (const env of targets) Object.assign(env, variables);
  // Returns how to put everything back, so one run leaves no configuration to the next.
  return () => {
    targets.forEach((env, index) => {
      for (const [key, value] of Object.entries(previous[index])) {
        if (value === undefined) delete env[key];
        else env[key] = value;
      }
    });
  };
}

/**
 * Loads a synthesized function's bundle as Lambda would start it: its own environment
 * variables set first (the bundle reads them at module scope), then a fresh module
 * instance, so each local run gets new SDK clients pointed at that run's stand-ins.
 */
export function loadBundledHandler(
  fn: LocalFunction,
  overrides: Record<string, string>,
  restorers: (() => void)[],
): Handler {
  restorers.push(setEnvironment({ ...fn.environment, ...overrides }));
  const bundle = new Module(fn.bundlePath) as CompilableModule;
  bundle.filename = fn.bundlePath;
  bundle.paths = moduleInternals._nodeModulePaths(path.dirname(fn.bundlePath));
  bundle._compile(fs.readFileSync(fn.bundlePath, 'utf8'), fn.bundlePath);
  const handler = (bundle.exports as { handler?: Handler }).handler;
  if (typeof handler !== 'function') throw new Error(`${fn.bundlePath} exports no handler`);
  return handler;
}

/** The parts of the Lambda context object our handlers and Powertools read. */
export function lambdaContext(functionName: string, requestId: string) {
  return {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
