import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';
import { runInThisContext } from 'node:vm';
import { SIMULATED_NOW_HEADER } from '../stand-ins/simulated-clock';
import type { LocalFunction } from './assembly';
import {
  currentInvocation,
  currentTimeline,
  duringInvocation,
  Invocation,
  SandboxTimedOut,
  simulatedDateOf,
  simulatedTimers,
  Timeline,
} from './simulated-time';

type Handler = (event: unknown, context: unknown) => Promise<unknown>;
/** A function as the run calls it: input in, result out (its Lambda context supplied). */
export type LocalHandler = (input: unknown) => Promise<unknown>;
type CompilableModule = Module & { _compile(code: string, filename: string): void; paths: string[] };
const moduleInternals = Module as unknown as { _nodeModulePaths(dir: string): string[] };

/**
 * Bundles run in Node's own module realm and read its `process.env`. Under jest, the
 * test's `process` is a sandbox copy, so variables go to both (the same object elsewhere).
 */
const nodeProcess = runInThisContext('process') as NodeJS.Process;
/** Node's own global object (under jest the test's `globalThis` is a sandbox copy): the bundles' global. */
const nodeGlobal = runInThisContext('globalThis') as typeof globalThis;
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

/** The identity a function's AWS SDK clients act as, and who hears their responses. */
export interface FunctionIdentity {
  /** The role session's credentials, as Lambda hands them to the function's code. */
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  /** Each response one of the function's SDK clients receives (e.g. who submitted a statement). */
  readonly onResponse?: (commandName: string, output: unknown) => void;
}

type SdkModule = Record<string, unknown>;
type ClientClass = new (
  config?: Record<string, unknown>,
) => {
  middlewareStack: { add(middleware: unknown, options: Record<string, unknown>): void };
};

/**
 * The bundle's view of an `@aws-sdk/client-*` package: the same exports, with every client
 * class defaulting to the function's own credentials. In Lambda each function's process
 * has its role's credentials in its environment; here every function shares one process
 * (and runs concurrently), so the credentials travel with the function's clients instead.
 * Each request also carries the invocation's simulated time (the Data API stand-in lets a
 * statement run for the day's `statementSeconds` of it), and an invocation that died at its
 * timeout sends nothing more: Lambda froze it.
 */
function withIdentity(sdk: SdkModule, identity: FunctionIdentity): SdkModule {
  const view: SdkModule = { ...sdk };
  for (const [name, value] of Object.entries(sdk)) {
    const isClient =
      name.endsWith('Client') &&
      typeof value === 'function' &&
      typeof (value as { prototype?: { send?: unknown } }).prototype?.send === 'function';
    if (!isClient) continue;
    const base = value as ClientClass;
    const Wrapped = class extends base {
      constructor(config: Record<string, unknown> = {}) {
        super({ credentials: identity.credentials, ...config });
        this.middlewareStack.add(
          (next: (args: { request: { headers: Record<string, string> } }) => Promise<unknown>) =>
            async (args: { request: { headers: Record<string, string> } }) => {
              const invocation = currentInvocation();
              if (invocation?.isDead())
                throw new SandboxTimedOut(`${invocation.functionId} timed out earlier`);
              if (invocation) args.request.headers[SIMULATED_NOW_HEADER] = String(invocation.now());
              return next(args);
            },
          { step: 'build', name: 'localSimulatedTime' },
        );
        const onResponse = identity.onResponse;
        if (!onResponse) return;
        this.middlewareStack.add(
          (next: (args: unknown) => Promise<{ output: unknown }>, context: { commandName: string }) =>
            async (args: unknown) => {
              const result = await next(args);
              onResponse(context.commandName, result.output);
              return result;
            },
          { step: 'initialize', name: 'localFunctionResponseObserver' },
        );
      }
    };
    Object.defineProperty(Wrapped, 'name', { value: name });
    view[name] = Wrapped;
  }
  return view;
}

/**
 * Loads a synthesized function's bundle as Lambda would start it: its own environment
 * variables set first (the bundle reads them at module scope), then a fresh module
 * instance, so each local run gets new SDK clients pointed at that run's stand-ins.
 * With an identity, the bundle's AWS SDK clients sign as that function's role.
 */
export function loadBundledHandler(
  fn: LocalFunction,
  overrides: Record<string, string>,
  restorers: (() => void)[],
  identity?: FunctionIdentity,
): Handler {
  restorers.push(setEnvironment({ ...fn.environment, ...overrides }));
  const bundle = new Module(fn.bundlePath) as CompilableModule;
  bundle.filename = fn.bundlePath;
  bundle.paths = moduleInternals._nodeModulePaths(path.dirname(fn.bundlePath));
  if (identity) {
    // The bundle's `require` calls this module's method: its SDK clients come from here.
    const load = bundle.require.bind(bundle);
    bundle.require = ((id: string) => {
      const loaded = load(id);
      return id.startsWith('@aws-sdk/client-') ? withIdentity(loaded as SdkModule, identity) : loaded;
    }) as NodeJS.Require;
  }
  // The bundle's timers and clock are the run's simulated ones (its sleeps pass simulated time, its
  // `Date` reads it, its `fetch` tells the callee that time); prepended on the first line, so the
  // source map's lines still match. The SDK (external) keeps Node's: it signs with the wall clock,
  // which the stand-ins do not check (its clients send the simulated time in a header, withIdentity).
  (nodeGlobal as Record<string, unknown>)[SIMULATED_GLOBALS] = {
    ...simulatedTimers,
    Date: simulatedDate,
    fetch: simulatedFetch,
  };
  const prelude = ['setTimeout', 'clearTimeout', 'Date', 'fetch']
    .map((name) => `${name} = globalThis.${SIMULATED_GLOBALS}.${name}`)
    .join(', ');
  const source = fs.readFileSync(fn.bundlePath, 'utf8');
  // After the bundle's "use strict" directive, which only counts as the first statement.
  const directive = /^(['"])use strict\1;?/.exec(source)?.[0] ?? '';
  bundle._compile(`${directive}var ${prelude};${source.slice(directive.length)}`, fn.bundlePath);
  const handler = (bundle.exports as { handler?: Handler }).handler;
  if (typeof handler !== 'function') throw new Error(`${fn.bundlePath} exports no handler`);
  return handler;
}

const SIMULATED_GLOBALS = '__saasToRedshiftSimulated';
/** Node's own `Date` (the bundles' realm), reading simulated time inside an invocation. */
const simulatedDate = simulatedDateOf(nodeGlobal.Date);

/**
 * `fetch` as a bundle sees it (its calls to Salesforce): each request carries the invocation's
 * simulated time, the clock its JWT assertion was signed with, as the SDK clients' requests do;
 * an invocation that died at its timeout sends nothing more.
 */
function simulatedFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const invocation = currentInvocation();
  if (!invocation) return nodeGlobal.fetch(input, init);
  if (invocation.isDead())
    return Promise.reject(new SandboxTimedOut(`${invocation.functionId} timed out earlier`));
  const headers = new nodeGlobal.Headers(
    init?.headers ?? (input instanceof nodeGlobal.Request ? input.headers : undefined),
  );
  headers.set(SIMULATED_NOW_HEADER, String(invocation.now()));
  return nodeGlobal.fetch(input, { ...init, headers });
}

/** The parts of the Lambda context object our handlers and Powertools read; the remaining time is simulated. */
export function lambdaContext(
  functionName: string,
  requestId: string,
  remainingMs: () => number = () => 60_000,
) {
  return {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: remainingMs,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Simulated time of the bound functions: where an invocation without a timeline starts, and each run's length. */
export interface InvocationClock {
  now: () => number;
  ran: (logicalId: string, seconds: number) => void;
}

/**
 * A bundled handler as Lambda runs it, in simulated time: the invocation starts at its timeline's
 * time (the execution's or child's, or the clock's), its sleeps count against the template
 * timeout, and past it the invocation dies with `Sandbox.Timedout`; its timeline then stands where
 * the invocation ended, and `ran` hears how long it took.
 */
export function inSimulatedTime(
  fn: Pick<LocalFunction, 'logicalId' | 'timeoutSeconds'>,
  handler: Handler,
  clock: InvocationClock,
): (input: unknown) => Promise<unknown> {
  return async (input: unknown) => {
    const timeline = currentTimeline() ?? new Timeline(clock.now());
    const invocation = new Invocation(fn.logicalId, timeline.now(), fn.timeoutSeconds * 1000);
    const context = lambdaContext(fn.logicalId, randomUUID(), () => invocation.remainingMs());
    try {
      return await duringInvocation(invocation, () => invocation.race(handler(input, context)));
    } finally {
      timeline.advanceTo(invocation.now());
      clock.ran(fn.logicalId, invocation.elapsedMs / 1000);
    }
  };
}
