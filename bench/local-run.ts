import { compareWarehouseToSource } from '../local/runner/compare';
import { type ProgressEvent, runScenario } from '../local/runner/run-scenario';
import { type Progress, seconds, silentProgress } from './progress';
import { generatedScenario } from './scenarios';

/**
 * Local run wall time: the real state machine, handlers and SQL on the stand-ins, for a
 * scenario built in code: `objects` objects × `rows` records, `days` days; day 1 is the
 * initial full load, every later day updates `changedShare` of each object's records.
 */

export interface LocalRunOptions {
  /** @default 10 */
  objects?: number;
  /** @default 10_000 */
  rows?: number;
  /** @default 3 */
  days?: number;
  /** @default 0.03 */
  changedShare?: number;
  progress?: Progress;
}

export interface LocalRunFigures {
  objects: number;
  rowsPerObject: number;
  days: number;
  changedShare: number;
  /** Building the scenario (records in memory) — not part of the run. */
  scenarioBuildMs: number;
  /** runScenario from call to return: synth (cached), PGlite start, stand-ins, every execution, dump. */
  wallMs: number;
  /** Before the first execution starts: synth check, PGlite + sql/, stand-ins, control table. */
  setupMs: number;
  perDay: {
    date: string;
    executionStatus: string;
    wallMs: number;
    recordsExtracted: number;
    rowsInserted: number;
    rowsDeleted: number;
    objectsSucceeded: number;
    stateTransitions: number;
    /** The steps' invocations, and the functions the event rules invoked. */
    lambdaInvocations: number;
    eventInvocations: number;
  }[];
  /** Every final table equals the source's truth at the end (the local run's own check). */
  warehouseEqualsSource: boolean;
}

export async function benchLocalRun(options: LocalRunOptions = {}): Promise<LocalRunFigures> {
  const progress = options.progress ?? silentProgress;
  const objects = options.objects ?? 10;
  const rows = options.rows ?? 10_000;
  const days = options.days ?? 3;
  const changedShare = options.changedShare ?? 0.03;

  const buildStart = performance.now();
  const scenario = await progress.step(
    `building the scenario: ${objects} objects × ${rows.toLocaleString('en-US')} records × ${days} days`,
    () => generatedScenario({ objects, rows, days, changedShare }),
  );
  const scenarioBuildMs = performance.now() - buildStart;

  const started = performance.now();
  let setupMs = 0;
  let dayStarted = started;
  let lastNote = started;
  const dayWallMs: number[] = [];
  const onProgress = (event: ProgressEvent) => {
    switch (event.type) {
      case 'setup':
        progress.note(event.message);
        break;
      case 'day-started':
        if (event.index === 0) setupMs = performance.now() - started;
        dayStarted = performance.now();
        progress.note(
          `day ${event.index + 1}/${event.total} ${event.date}: started (${event.objects} objects)`,
        );
        break;
      case 'step':
        if (performance.now() - lastNote > 5_000) {
          lastNote = performance.now();
          progress.note(`day ${event.date}: … ${event.objectName} ${event.step}`);
        }
        break;
      case 'day-finished': {
        const ms = performance.now() - dayStarted;
        dayWallMs.push(ms);
        const extracted = Object.values(event.day.objects).reduce((sum, o) => sum + o.recordsExtracted, 0);
        progress.note(
          `day ${event.index + 1}/${event.total}: ${event.day.executionStatus}, ${extracted.toLocaleString('en-US')} records extracted, ${seconds(ms)}`,
        );
        break;
      }
    }
  };
  const result = await progress.step('runScenario', () => runScenario(scenario, { onProgress }));
  const wallMs = performance.now() - started;

  const perDay = result.report.days.map((day, index) => {
    const values = Object.values(day.objects);
    return {
      date: day.date,
      executionStatus: day.executionStatus,
      wallMs: dayWallMs[index] ?? Number.NaN,
      recordsExtracted: values.reduce((sum, o) => sum + o.recordsExtracted, 0),
      rowsInserted: values.reduce((sum, o) => sum + o.rowsInserted, 0),
      rowsDeleted: values.reduce((sum, o) => sum + o.rowsDeleted, 0),
      objectsSucceeded: values.filter((o) => o.status === 'SUCCEEDED').length,
      stateTransitions: day.stats.stateTransitions,
      lambdaInvocations: day.stats.lambdaInvocations,
      eventInvocations: day.stats.eventInvocations,
    };
  });
  const warehouseEqualsSource = compareWarehouseToSource(
    scenario,
    result.finalTables,
    result.sourceTruth,
  ).every((comparison) => comparison.equal);
  const failed = perDay.filter((day) => day.executionStatus !== 'SUCCEEDED');
  if (failed.length > 0) {
    const errors = result.report.days.map((day) => day.error).filter(Boolean);
    throw new Error(`local run: ${failed.length} execution(s) failed: ${errors.join('; ')}`);
  }
  return {
    objects,
    rowsPerObject: rows,
    days,
    changedShare,
    scenarioBuildMs,
    wallMs,
    setupMs,
    perDay,
    warehouseEqualsSource,
  };
}
