import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { median, type Progress, silentProgress } from './progress';
import { bytesByPackage } from './source-map';

const run = promisify(execFile);

/**
 * Lambdas: the size of every function's bundle in the synthesized assembly (the minified
 * handler file, as deployed) and the cold `require` time of each bundle, measured in a fresh
 * `node` process per repetition with the function's own environment variables set (values
 * from the template; intrinsics such as Ref/GetAtt get dummy strings), so the module-scope
 * code (SDK clients, Powertools, environment checks) runs as it does at a Lambda cold start.
 */

const LAMBDA_TARGETS = { bundleKb: 300, initMs: 150 } as const;
const SECONDARY_REPETITIONS = 3;

export interface LambdaOptions {
  /** The synthesized assembly folder (holds `<stack>.template.json` and `asset.*`). */
  assemblyDir: string;
  /** Fresh processes per function. @default 5 */
  repetitions?: number;
  progress?: Progress;
}

export interface FunctionFigures {
  logicalId: string;
  /** `pipeline` for this project's functions, `cdk` for handlers CDK ships (custom resource providers). */
  origin: 'pipeline' | 'cdk';
  handler: string;
  runtime: string;
  memoryMb: number | null;
  architecture: string;
  bundleFile: string;
  bundleBytes: number;
  bundleGzipBytes: number;
  /** The source map deployed next to it (in the zip, not loaded unless source maps are on). */
  sourceMapBytes: number;
  /** Largest contributors to the minified file, from its source map (KB of minified code). */
  largestPackages: { name: string; kb: number }[];
  /** NODE_OPTIONS the template sets (it applies to the measurement too). */
  nodeOptions: string | null;
  requireMs: number[];
  /** null when the bundle cannot load here (see requireError). */
  requireMedianMs: number | null;
  /** The same without NODE_OPTIONS (e.g. without --enable-source-maps), to show what it costs. */
  requireWithoutNodeOptionsMedianMs: number | null;
  /** The @aws-sdk/* packages the bundle requires (external, provided by the runtime). */
  externalSdkModules: string[];
  /** Requiring those SDK packages alone, in the same kind of fresh process (median). */
  sdkOnlyRequireMedianMs: number | null;
  requireError: string | null;
  /** Heap used after the require, MB (median). */
  heapAfterRequireMb: number | null;
  met: { bundle: boolean; init: boolean | null };
}

export interface LambdaFigures {
  assemblyDir: string;
  repetitions: number;
  nodeVersion: string;
  functions: FunctionFigures[];
  targets: typeof LAMBDA_TARGETS;
  notes: string[];
}

interface CfnFunction {
  Type: string;
  Properties?: {
    Handler?: string;
    Runtime?: string;
    MemorySize?: number;
    Architectures?: string[];
    Environment?: { Variables?: Record<string, unknown> };
  };
  Metadata?: Record<string, unknown>;
}

/**
 * The measuring script of the child process: hrtime around require (the bundle, or with
 * BENCH_MODULES the listed modules only), then heap used.
 */
const PROBE = [
  'const t0 = process.hrtime.bigint();',
  'if (process.env.BENCH_MODULES) for (const m of JSON.parse(process.env.BENCH_MODULES)) require(m);',
  'else require(process.env.BENCH_BUNDLE);',
  'const ms = Number(process.hrtime.bigint() - t0) / 1e6;',
  'process.stdout.write(JSON.stringify({ ms, heap: process.memoryUsage().heapUsed }));',
].join(' ');

/** What the Lambda runtime sets for every function, with dummy values. */
function runtimeVariables(logicalId: string, memoryMb: number | null): Record<string, string> {
  return {
    AWS_REGION: 'eu-west-1',
    AWS_DEFAULT_REGION: 'eu-west-1',
    AWS_LAMBDA_FUNCTION_NAME: logicalId,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb ?? 128),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${logicalId}`,
    AWS_LAMBDA_LOG_STREAM_NAME: 'bench',
    AWS_ACCESS_KEY_ID: 'dummy',
    AWS_SECRET_ACCESS_KEY: 'dummy',
    AWS_SESSION_TOKEN: 'dummy',
    LAMBDA_TASK_ROOT: '/var/task',
    TZ: ':UTC',
  };
}

function templateVariables(fn: CfnFunction): Record<string, string> {
  const variables = fn.Properties?.Environment?.Variables ?? {};
  return Object.fromEntries(
    Object.entries(variables).map(([key, value]) => [
      key,
      typeof value === 'string' || typeof value === 'number' ? String(value) : `dummy-${key.toLowerCase()}`,
    ]),
  );
}

async function requireOnce(
  bundle: string,
  env: Record<string, string>,
  modules?: string[],
): Promise<{ ms: number; heap: number }> {
  // A clean environment: PATH and HOME only, then the function's variables.
  const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
  const { stdout } = await run(process.execPath, ['-e', PROBE], {
    cwd: path.dirname(bundle),
    env: {
      ...base,
      ...env,
      BENCH_BUNDLE: bundle,
      ...(modules ? { BENCH_MODULES: JSON.stringify(modules) } : {}),
    },
    timeout: 60_000,
  });
  return JSON.parse(stdout) as { ms: number; heap: number };
}

function largestPackages(code: string, mapFile: string): { name: string; kb: number }[] {
  if (!fs.existsSync(mapFile)) return [];
  try {
    const map = JSON.parse(fs.readFileSync(mapFile, 'utf8')) as { sources: string[]; mappings: string };
    return [...bytesByPackage(code, map)]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([name, bytes]) => ({ name, kb: Math.round(bytes / 102.4) / 10 }));
  } catch {
    return [];
  }
}

function findTemplate(assemblyDir: string): string {
  const template = fs.readdirSync(assemblyDir).find((file) => file.endsWith('.template.json'));
  if (!template) throw new Error(`no *.template.json in ${assemblyDir}`);
  return path.join(assemblyDir, template);
}

export async function benchLambdas(options: LambdaOptions): Promise<LambdaFigures> {
  const progress = options.progress ?? silentProgress;
  const repetitions = options.repetitions ?? 5;
  const template = JSON.parse(fs.readFileSync(findTemplate(options.assemblyDir), 'utf8')) as {
    Resources: Record<string, CfnFunction>;
  };
  const functions: FunctionFigures[] = [];
  for (const [logicalId, fn] of Object.entries(template.Resources)) {
    if (fn.Type !== 'AWS::Lambda::Function') continue;
    const assetPath = fn.Metadata?.['aws:asset:path'];
    if (typeof assetPath !== 'string') continue; // inline code: no bundle to measure
    const handler = fn.Properties?.Handler ?? 'index.handler';
    const bundleFile = `${handler.slice(0, handler.lastIndexOf('.'))}.js`;
    const bundle = path.resolve(options.assemblyDir, assetPath, bundleFile);
    if (!fs.existsSync(bundle)) continue;
    const code = fs.readFileSync(bundle);
    const mapFile = `${bundle}.map`;
    const memoryMb = fn.Properties?.MemorySize ?? null;
    const architecture = fn.Properties?.Architectures?.join(',') ?? 'x86_64';
    const origin = architecture === 'arm64' ? 'pipeline' : 'cdk';
    const fromTemplate = templateVariables(fn);
    // The AWS SDK stays outside the bundles (the runtime provides it): what the bundle requires of it.
    const sdkModules = [
      ...new Set([...code.toString('utf8').matchAll(/require\("(@aws-sdk\/[^"]+)"\)/g)].map((m) => m[1])),
    ];
    const env = { ...runtimeVariables(logicalId, memoryMb), ...fromTemplate };

    const measured = await progress.step(
      `${logicalId}: ${(code.length / 1024).toFixed(0)} KB, ${repetitions} cold requires`,
      async () => {
        try {
          // One discarded process warms the OS file cache (the first require after a synth reads
          // cold files); then the variants alternate, so drift on the machine hits both alike.
          await requireOnce(bundle, env);
          const plain = Object.fromEntries(Object.entries(env).filter(([key]) => key !== 'NODE_OPTIONS'));
          const samples: { ms: number; heap: number }[] = [];
          const plainSamples: number[] = [];
          const sdkSamples: number[] = [];
          // The secondary figures (without NODE_OPTIONS, SDK alone) take fewer repetitions.
          for (let i = 0; i < repetitions; i++) {
            samples.push(await requireOnce(bundle, env));
            if (i >= SECONDARY_REPETITIONS) continue;
            if (fromTemplate.NODE_OPTIONS) plainSamples.push((await requireOnce(bundle, plain)).ms);
            if (sdkModules.length > 0) sdkSamples.push((await requireOnce(bundle, env, sdkModules)).ms);
          }
          const withoutOptions = plainSamples.length > 0 ? median(plainSamples) : null;
          const sdkOnly = sdkSamples.length > 0 ? median(sdkSamples) : null;
          return { samples, withoutOptions, sdkOnly, error: null };
        } catch (error) {
          const stderr = String((error as { stderr?: string }).stderr ?? (error as Error).message);
          const missing = /Cannot find module '([^']+)'/.exec(stderr)?.[1];
          const reason = missing
            ? `needs ${missing}, which the Lambda runtime provides and this project does not install`
            : (stderr.split('\n').find((line) => /Error/.test(line)) ?? 'require failed');
          progress.note(`${logicalId}: not measured: ${reason}`);
          return { samples: [], withoutOptions: null, sdkOnly: null, error: reason };
        }
      },
    );
    const requireMs = measured.samples.map((sample) => sample.ms);
    const requireMedianMs = requireMs.length > 0 ? median(requireMs) : null;
    functions.push({
      logicalId,
      origin,
      handler,
      runtime: fn.Properties?.Runtime ?? '',
      memoryMb,
      architecture,
      bundleFile: path.relative(options.assemblyDir, bundle),
      bundleBytes: code.length,
      bundleGzipBytes: gzipSync(code).length,
      sourceMapBytes: fs.existsSync(mapFile) ? fs.statSync(mapFile).size : 0,
      largestPackages: largestPackages(code.toString('utf8'), mapFile),
      nodeOptions: fromTemplate.NODE_OPTIONS ?? null,
      requireMs,
      requireMedianMs,
      requireWithoutNodeOptionsMedianMs: measured.withoutOptions,
      externalSdkModules: sdkModules,
      sdkOnlyRequireMedianMs: measured.sdkOnly,
      requireError: measured.error,
      heapAfterRequireMb:
        measured.samples.length > 0
          ? median(measured.samples.map((sample) => sample.heap / 1024 / 1024))
          : null,
      met: {
        bundle: code.length / 1024 <= LAMBDA_TARGETS.bundleKb,
        init: requireMedianMs === null ? null : requireMedianMs <= LAMBDA_TARGETS.initMs,
      },
    });
  }
  return {
    assemblyDir: options.assemblyDir,
    repetitions,
    nodeVersion: process.version,
    functions,
    targets: LAMBDA_TARGETS,
    notes: [
      `Cold require measured with ${process.version} (the functions deploy on their template runtime); median of ${repetitions} fresh processes each (${SECONDARY_REPETITIONS} for the without-NODE_OPTIONS and SDK-alone figures), after one discarded warm-up process.`,
      '@aws-sdk/* is external to the bundles (the Lambda runtime provides it): its load is in the require time, not in the bundle size; here it resolves from node_modules. "SDK alone" requires just those packages in the same kind of process.',
      'The template sets NODE_OPTIONS=--enable-source-maps on the pipeline functions, so the measured require includes what Node does with the source map at load; the column without NODE_OPTIONS shows the difference.',
    ],
  };
}
