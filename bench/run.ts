import '../local/runner/polyfills';
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { synthesizeLocalStack } from '../local/runner/assembly';
import { localEnvironmentConfig } from '../local/runner/local-config';
import { DEFAULT_CACHE_DIR } from '../local/runner/run-scenario';
import { benchCadence } from './cadence';
import { benchConsolidation, benchHistory } from './consolidation';
import { benchLambdas } from './lambdas';
import { benchLocalRun } from './local-run';
import { machineInfo } from './machine';
import { benchOrchestration } from './orchestration';
import { createProgress } from './progress';
import { benchRefresh } from './refresh';
import { type BenchResults, renderResults, targetLines } from './report';
import { benchScale } from './scale';

/** The issue's sizes: N staged rows into M final rows, (d) with M × 10. */
const ISSUE_STAGED = 200_000;
const ISSUE_FINAL = 1_000_000;
/** The defaults this bench runs with (see SCALE_NOTE when they are below the issue's). */
const DEFAULT_STAGED = 200_000;
const DEFAULT_FINAL = 1_000_000;

const PHASES = [
  'lambdas',
  'orchestration',
  'scale',
  'cadence',
  'local-run',
  'consolidation',
  'history',
  'refresh',
] as const;
type Phase = (typeof PHASES)[number];

const USAGE = `Usage: npm run bench -- [options]
  --json FILE            also write every figure as JSON to FILE
  --only PHASE[,PHASE]   run some phases: ${PHASES.join(', ')} (repeatable)
  --staged N             consolidation: staged rows (default ${DEFAULT_STAGED.toLocaleString('en-US')})
  --final M              consolidation: final-table rows (default ${DEFAULT_FINAL.toLocaleString('en-US')}); (d) uses M × --large-factor
  --large-factor F       consolidation: size factor of (d); history: versions per key of (H) (default 10)
  --repetitions R        consolidation: runs of (a) and (b), median reported (default 5; (d) runs 2 times, (c) once);
                         history: runs of each variant (at most 3)
  --in-memory            consolidation: PGlite in memory as the local run has it (default: a temporary data
                         directory on disk; in memory, big tables cost far more RAM and time)
  --no-extras            consolidation: skip the extra figures (naive with M × factor, what-ifs)
  --lambda-ms MS         orchestration and cadence cost: assumed billed duration per Lambda invocation (default 500)
  --lambda-reps R        lambdas: fresh processes per bundle (default 5)
  --local-objects N --local-rows N --local-days N   local run size (default 10 × 10,000 × 3)
  --scale-objects N[,N]  scale: object counts of the parent-history runs (default 10,100; full size: 10,100,1000)
  --scale-wide N         scale: objects of the 100-field-row run (default 100; full size: 1000)
  --scale-long N         scale: objects of the 6-hour-flow × 2-day local run (default 20; full size: 1000)
  --refresh-rows N       refresh: final-table rows of the warehouse ratio (default 1,000,000, full size)
  --refresh-records N    refresh: records of the 300-field object of the extraction ratio (default 1,000)
  --refresh-reps R       refresh: runs of the refresh and of the full reload, median reported (default 3)
Progress goes to stderr, the result tables to stdout.`;

class UsageError extends Error {}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value.replace(/[_,]/g, ''));
  if (!Number.isInteger(parsed) || parsed <= 0)
    throw new UsageError(`--${name} must be a positive integer, not ${value}`);
  return parsed;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      json: { type: 'string' },
      only: { type: 'string', multiple: true },
      staged: { type: 'string' },
      final: { type: 'string' },
      'large-factor': { type: 'string' },
      repetitions: { type: 'string' },
      'lambda-ms': { type: 'string' },
      'lambda-reps': { type: 'string' },
      'local-objects': { type: 'string' },
      'local-rows': { type: 'string' },
      'local-days': { type: 'string' },
      'scale-objects': { type: 'string' },
      'scale-wide': { type: 'string' },
      'scale-long': { type: 'string' },
      'refresh-rows': { type: 'string' },
      'refresh-records': { type: 'string' },
      'refresh-reps': { type: 'string' },
      'in-memory': { type: 'boolean' },
      'no-extras': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const only = (values.only ?? []).flatMap((value) => value.split(',')).map((value) => value.trim());
  for (const phase of only) {
    if (!PHASES.includes(phase as Phase))
      throw new UsageError(`--only: unknown phase ${phase} (${PHASES.join(', ')})`);
  }
  const phases = PHASES.filter((phase) => only.length === 0 || only.includes(phase));
  const staged = positiveInt('staged', values.staged, DEFAULT_STAGED);
  const final = positiveInt('final', values.final, DEFAULT_FINAL);
  const largeFactor = positiveInt('large-factor', values['large-factor'], 10);
  const repetitions = positiveInt('repetitions', values.repetitions, 5);
  const lambdaMs = positiveInt('lambda-ms', values['lambda-ms'], 500);
  const lambdaReps = positiveInt('lambda-reps', values['lambda-reps'], 5);
  const localObjects = positiveInt('local-objects', values['local-objects'], 10);
  const localRows = positiveInt('local-rows', values['local-rows'], 10_000);
  const localDays = positiveInt('local-days', values['local-days'], 3);

  const machine = machineInfo();
  const { progress, elapsedMs } = createProgress();
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const scaleNote =
    (phases.includes('consolidation') || phases.includes('history')) &&
    (staged !== ISSUE_STAGED || final !== ISSUE_FINAL || largeFactor !== 10)
      ? `consolidation/history ran with N = ${staged.toLocaleString('en-US')} staged rows and M = ${final.toLocaleString('en-US')} ` +
        `(d: ${(final * largeFactor).toLocaleString('en-US')}), not the issue's N = 200,000 / M = 1,000,000 (d: 10,000,000).`
      : null;
  progress.phase(`bench: ${phases.join(', ')}`);
  progress.note(
    `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, Node ${machine.node}`,
  );
  progress.note(
    `load average at start: ${machine.loadAverageAtStart} (other work on the machine skews timings)`,
  );
  if (scaleNote) progress.note(`NOTE: ${scaleNote}`);

  const results: BenchResults = {
    machine,
    command,
    scaleNote,
    targets: [],
    phaseWallMs: {},
    totalWallMs: 0,
  };
  const timePhase = async (phase: Phase, work: () => Promise<void>) => {
    progress.phase(phase);
    const started = performance.now();
    await work();
    results.phaseWallMs[phase] = performance.now() - started;
  };

  for (const phase of phases) {
    switch (phase) {
      case 'lambdas':
        await timePhase(phase, async () => {
          const assemblyDir = await progress.step('synthesizing the stack (cached in .local-out/)', () =>
            synthesizeLocalStack(localEnvironmentConfig(), DEFAULT_CACHE_DIR),
          );
          results.lambdas = await benchLambdas({ assemblyDir, repetitions: lambdaReps, progress });
        });
        break;
      case 'orchestration':
        await timePhase(phase, async () => {
          results.orchestration = await benchOrchestration({ assumedLambdaMs: lambdaMs, progress });
        });
        break;
      case 'scale':
        await timePhase(phase, async () => {
          results.scale = await benchScale({
            objectCounts: (values['scale-objects'] ?? '10,100')
              .split(',')
              .map((count) => positiveInt('scale-objects', count, 10)),
            wideObjects: positiveInt('scale-wide', values['scale-wide'], 100),
            longObjects: positiveInt('scale-long', values['scale-long'], 20),
            assumedLambdaMs: lambdaMs,
            progress,
          });
        });
        break;
      case 'cadence':
        await timePhase(phase, async () => {
          results.cadence = await benchCadence({ assumedLambdaMs: lambdaMs, progress });
        });
        break;
      case 'local-run':
        await timePhase(phase, async () => {
          results.localRun = await benchLocalRun({
            objects: localObjects,
            rows: localRows,
            days: localDays,
            progress,
          });
        });
        break;
      case 'refresh':
        await timePhase(phase, async () => {
          results.refresh = await benchRefresh({
            rows: positiveInt('refresh-rows', values['refresh-rows'], 1_000_000),
            wideRecords: positiveInt('refresh-records', values['refresh-records'], 1_000),
            repetitions: positiveInt('refresh-reps', values['refresh-reps'], 3),
            inMemory: values['in-memory'] ?? false,
            progress,
          });
        });
        break;
      case 'consolidation':
        await timePhase(phase, async () => {
          results.consolidation = await benchConsolidation({
            staged,
            final,
            largeFactor,
            repetitions,
            largeRepetitions: Math.min(repetitions, 2),
            inMemory: values['in-memory'] ?? false,
            naiveLarge: !values['no-extras'],
            whatIf: !values['no-extras'],
            progress,
          });
        });
        break;
      case 'history':
        await timePhase(phase, async () => {
          results.history = await benchHistory({
            staged,
            final,
            largeFactor,
            repetitions: Math.min(repetitions, 3),
            inMemory: values['in-memory'] ?? false,
            progress,
          });
        });
        break;
    }
  }
  results.totalWallMs = elapsedMs();
  results.targets = targetLines(results);
  progress.phase(`done in ${(results.totalWallMs / 1000).toFixed(1)} s`);

  console.log(renderResults(results));
  if (values.json) {
    fs.writeFileSync(values.json, `${JSON.stringify(results, null, 2)}\n`);
    progress.note(`figures written to ${values.json}`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    const code = (error as { code?: string }).code ?? '';
    if (error instanceof UsageError || code.startsWith('ERR_PARSE_ARGS')) {
      console.error(`${(error as Error).message}\n\n${USAGE}`);
      process.exit(2);
    }
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
