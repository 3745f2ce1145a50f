import { renderTable } from '../lambdas/common/text-table';
import { type CadenceFigures, cadenceSection, cadenceTargetLines } from './cadence';
import {
  type ConsolidationFigures,
  type HistoryFigures,
  historySection,
  historyTargetLines,
} from './consolidation';
import { indent, kb, minutes, n0, n1, n2, secs, usd, verdict } from './format';
import type { LambdaFigures } from './lambdas';
import type { LocalRunFigures } from './local-run';
import { describeMachine, type MachineInfo } from './machine';
import { type OrchestrationFigures, slowWarehouseTimeoutTarget } from './orchestration';
import { type RefreshFigures, refreshSection, refreshTargetLines } from './refresh';
import type { ScaleFigures } from './scale';
import type { TargetLine } from './target-line';

/** Everything one `npm run bench` measured (the `--json` file). */
export interface BenchResults {
  machine: MachineInfo;
  command: string;
  /** Said when the defaults are below the issue's sizes, so nobody mistakes them for the full ones. */
  scaleNote: string | null;
  consolidation?: ConsolidationFigures;
  history?: HistoryFigures;
  orchestration?: OrchestrationFigures;
  lambdas?: LambdaFigures;
  localRun?: LocalRunFigures;
  scale?: ScaleFigures;
  refresh?: RefreshFigures;
  cadence?: CadenceFigures;
  targets: TargetLine[];
  phaseWallMs: Record<string, number>;
  totalWallMs: number;
}

export type { TargetLine } from './target-line';

function consolidationSection(c: ConsolidationFigures): string {
  const { expected: shape } = c;
  const runs = (values: number[]) => values.map(secs).join(' / ');
  const rows = [
    ['(a) consolidate_object', c.final, runs(c.timingsMs.a), secs(c.mediansMs.a)],
    ['(b) floor: INSERT … SELECT into an empty table', 0, runs(c.timingsMs.b), secs(c.mediansMs.b)],
    ['(c) naive: append + ROW_NUMBER over the table', c.final, runs(c.timingsMs.c), secs(c.mediansMs.c)],
    [
      `(d) consolidate_object, final ×${c.finalLarge / c.final}`,
      c.finalLarge,
      runs(c.timingsMs.d),
      secs(c.mediansMs.d),
    ],
  ];
  const factor = c.finalLarge / c.final;
  const ratios: (string | number)[][] = [
    [
      'a/b',
      'our procedure vs the floor',
      n2(c.ratios.aOverB),
      `<= ${c.targets.aOverB}`,
      verdict(c.met.aOverB),
    ],
    [
      'd/a',
      `final table ×${factor} vs ×1`,
      n2(c.ratios.dOverA),
      `<= ${c.targets.dOverA}`,
      verdict(c.met.dOverA),
    ],
    [
      `c×${factor}/d`,
      `naive vs our procedure, final ×${factor}`,
      c.naiveLarge ? n2(c.naiveLarge.overD) : 'not run',
      `>= ${c.targets.naiveLargeOverD}`,
      verdict(c.met.naiveLargeOverD),
    ],
    ['c/a', 'naive vs our procedure, final ×1 (no target)', n2(c.ratios.cOverA), '', ''],
  ];
  if (c.wide) {
    ratios.push([
      'w: a/b',
      `wide object (${c.wide.columns} columns, ${n0(c.wide.staged)} changed rows) vs its floor`,
      n2(c.wide.aOverB),
      `<= ${c.targets.wideAOverB}`,
      verdict(c.met.wideAOverB),
    ]);
  }
  if (c.fullSync) {
    ratios.push([
      'f: full/incr',
      `full sync of ${n0(c.fullSync.final)} rows, 1% changed, vs incremental of the ${n0(c.fullSync.changed)} changes`,
      n2(c.fullSync.fullOverIncremental),
      `<= ${c.targets.fullOverIncremental}`,
      verdict(c.met.fullOverIncremental),
    ]);
  }
  const steps = c.steps.map((step) => [
    step.step,
    n2(step.aSeconds),
    n2(step.dSeconds),
    step.aSeconds > 0.05 ? n1(step.dSeconds / step.aSeconds) : '',
    step.reads,
    step.hashed,
  ]);
  const sections = [
    `Consolidation — ${c.warehouse.engine}, ${c.warehouse.storage}, work_mem ${c.warehouse.workMem}, shared_buffers ${c.warehouse.sharedBuffers}`,
    indent(
      `${n0(c.staged)} staged rows, 11 columns: ${n0(shape.duplicates)} older versions of a key staged again (${Math.round(c.duplicateShare * 100)}%), ` +
        `${n0(shape.deletes)} deletes (${Math.round(c.deleteShare * 100)}%), ${n0(shape.updates)} updates, ${n0(shape.newKeys)} new keys.\n` +
        `Audit row of (a): ${n0(c.audit.duplicates_removed)} duplicates removed, ${n0(c.audit.rows_inserted)} inserted ` +
        `(${n0(c.audit.rows_new)} new, ${n0(c.audit.rows_updated)} updated), ${n0(c.audit.rows_unchanged)} unchanged, ` +
        `${n0(c.audit.rows_deleted)} deleted; final rows after (a) ${n0(c.finalRowsAfter.consolidate)} = after (c) ${n0(c.finalRowsAfter.naive)}.`,
    ),
    '',
    indent(renderTable(['variant', 'final rows before', 'runs (s)', 'median (s)'], rows)),
    '',
    indent(renderTable(['ratio', 'meaning', 'value', 'target', 'result'], ratios)),
    '',
    indent(
      'Where (a) and (d) spend their time (median per step; auto_explain, plans without timing), and what each step read:',
    ),
    indent(
      renderTable(
        ['step of consolidate_object', '(a) s', '(d) s', 'd/a', 'reads', 'hash table built from'],
        steps,
      ),
    ),
  ];
  const variantSteps = (steps: { step: string; seconds: number; reads: string }[]) =>
    indent(
      renderTable(
        ['step', 's', 'reads'],
        steps.filter((step) => step.seconds >= 0.01).map((step) => [step.step, n2(step.seconds), step.reads]),
      ),
    );
  if (c.wide) {
    sections.push(
      '',
      indent(
        `(w) wide object: procedure ${runs(c.wide.timingsMs.a)} s (median ${secs(c.wide.mediansMs.a)}), ` +
          `floor ${runs(c.wide.timingsMs.b)} s (median ${secs(c.wide.mediansMs.b)}) into a ${n0(c.wide.final)}-row final table.`,
      ),
      variantSteps(c.wide.steps),
    );
  }
  if (c.fullSync) {
    const f = c.fullSync;
    sections.push(
      indent(
        `(f) full sync: ${runs(f.timingsMs.full)} s (median ${secs(f.mediansMs.full)}; ${n0(f.auditFull.rows_updated)} updated, ` +
          `${n0(f.auditFull.rows_unchanged)} unchanged by whole-row comparison of the cursor ties); incremental of the changes: ` +
          `${runs(f.timingsMs.incrementalChanges)} s; incremental of the same ${n0(f.final)} staged rows: ${runs(f.timingsMs.incrementalSameRows)} s.`,
      ),
      variantSteps(f.steps),
    );
  }
  return sections.join('\n');
}

/** The slow-warehouse day whose CALL outlives its step's budget (the 10-minute CALL). */
function slowCallOf(o: OrchestrationFigures) {
  return o.slowWarehouse.find((w) => /CALL takes 10 minutes/.test(w.label));
}

function orchestrationSection(o: OrchestrationFigures): string {
  const runRows = o.runs.map((r) => [
    r.label,
    r.objects,
    r.polls,
    minutes(r.flowWaitSeconds),
    r.stateTransitions,
    r.lambdaInvocations,
    r.eventInvocations,
    n2(r.transitionsPerObject),
    n2(r.invocationsPerObject),
    usd(r.costPer1000ObjectDays.stepFunctions),
    usd(r.costPer1000ObjectDays.lambdaRequests + r.costPer1000ObjectDays.lambdaDuration),
    usd(r.costPer1000ObjectDays.total),
  ]);
  const pollRows = o.fixedPollComparison.map((p) => {
    const range = o.runs.find((r) => r.polls === p.polls)?.flowSecondsRange ?? [0, p.flowWaitSeconds];
    return [
      p.polls,
      `${minutes(range[0])} – ${minutes(range[1])}`,
      n2(p.ourTransitions),
      p.fixed30sPolls,
      n2(p.fixed30sTransitions),
    ];
  });
  const slowCall = slowCallOf(o);
  const overruns = o.slowWarehouse.flatMap((w) => w.timeoutOverruns);
  return [
    'Orchestration — real state machine definition and bundled handlers, local run; counts from the execution events and the event rules',
    '',
    indent(
      renderTable(
        [
          'execution',
          'objects',
          'polls',
          'flow min',
          'transitions',
          'step inv',
          'event inv',
          'trans/obj',
          'inv/obj (all)',
          'SFN $/1k obj-days',
          'Lambda $/1k',
          'total $/1k',
        ],
        runRows,
      ),
    ),
    '',
    indent(
      "'step inv': the Task states' functions; 'event inv': functions the event rules invoked (the flow's end-of-run handler, the statement-ended handler, the sweep); 'inv/obj (all)' and the Lambda dollars count both.\n" +
        `Fixed per execution ≈ ${n1(o.perExecution.stateTransitions)} transitions, ${n1(o.perExecution.lambdaInvocations)} invocations; ` +
        `each object adds ${n2(o.perObjectMarginal.stateTransitions)} transitions, ${n2(o.perObjectMarginal.lambdaInvocations)} invocations; ` +
        `each poll the polling design needed more adds ${n2(o.perExtraPoll.stateTransitions)} transitions, ${n2(o.perExtraPoll.lambdaInvocations)} invocations per object (flows end by event now).`,
    ),
    '',
    indent(
      renderTable(
        [
          'polls until done',
          'flow run time covered (min)',
          'trans/obj (ours)',
          'fixed 30 s poll: polls',
          'trans/obj',
        ],
        pollRows,
      ),
    ),
    indent(
      `The polling design's schedule (FLOW_WAIT_SCHEDULE, s): ${o.assumptions.flowWaitSchedule.join(', ')} (last repeats); 'flow run time covered' is how long those flows run here.`,
    ),
    '',
    'A slow warehouse (issue 19): the same incremental execution, statements taking simulated time',
    '',
    indent(
      renderTable(
        [
          'execution',
          'objects',
          'trans/obj',
          'inv/obj (all)',
          'extra trans/obj',
          'extra inv/obj (all)',
          'longest function (s / timeout)',
        ],
        o.slowWarehouse.map((w) => [
          w.label,
          w.objects,
          n2(w.transitionsPerObject),
          n2(w.invocationsPerObject),
          n2(w.extraTransitionsPerObject),
          n2(w.extraInvocationsPerObject),
          `${shortName(w.longestFunction.logicalId)} ${n1(w.longestFunction.seconds)} / ${w.longestFunction.timeoutSeconds}`,
        ]),
      ),
    ),
    indent(
      [
        ...(slowCall
          ? [
              `A statement that outlives its step's budget (the 10-minute CALL) adds ${n2(slowCall.extraTransitionsPerObject)} transitions per object (a Choice, the token wait, the step again) ` +
                `and ${n2(slowCall.extraInvocationsPerObject)} invocations (the token wait's, the statement-ended handler's, the step's again).`,
            ]
          : []),
        overruns.length === 0
          ? 'No function ran to its timeout on any of these days.'
          : `Functions that ran to their timeout (killed there): ${overruns.join('; ')}.`,
      ].join('\n'),
    ),
    '',
    indent(
      [
        `Assumptions: Step Functions Standard $${(o.assumptions.prices.sfnPerTransition * 1000).toFixed(3)} per 1,000 transitions; ` +
          `Lambda $${(o.assumptions.prices.lambdaPerRequest * 1e6).toFixed(2)} per 1M requests + $${o.assumptions.prices.lambdaPerGbSecond} per GB-s ` +
          `(${o.assumptions.architecture}, ${o.assumptions.lambdaMemoryMb} MB, ${o.assumptions.assumedLambdaMs} ms assumed per invocation).`,
        ...o.assumptions.notes.map((note) => `- ${note}`),
      ].join('\n'),
    ),
  ].join('\n');
}

function lambdasSection(l: LambdaFigures): string {
  const rows = l.functions.map((f) => [
    shortName(f.logicalId),
    f.origin,
    n1(f.bundleBytes / 1024),
    n1(f.bundleGzipBytes / 1024),
    f.largestPackages[0]
      ? `${f.largestPackages[0].name.replace('@aws-lambda-powertools/', 'powertools/')} ${n0(f.largestPackages[0].kb)}`
      : '',
    f.requireMedianMs === null ? 'n/a' : n0(f.requireMedianMs),
    f.requireWithoutNodeOptionsMedianMs === null ? '' : n0(f.requireWithoutNodeOptionsMedianMs),
    f.sdkOnlyRequireMedianMs === null ? '' : n0(f.sdkOnlyRequireMedianMs),
    f.externalSdkModules.map((m) => m.replace('@aws-sdk/', '').replace('client-', '')).join(' '),
    `${verdict(f.met.bundle)} / ${verdict(f.met.init)}`,
  ]);
  const unmeasured = l.functions.filter((f) => f.requireError);
  return [
    `Lambdas — bundles of ${l.assemblyDir}; cold require = median of ${l.repetitions} fresh node processes`,
    '',
    indent(
      renderTable(
        [
          'function',
          'origin',
          'index.js KB',
          'gzip KB',
          'largest part (KB)',
          'require ms',
          'w/o NODE_OPTIONS',
          'SDK alone',
          'SDK packages required',
          `<= ${l.targets.bundleKb} KB / <= ${l.targets.initMs} ms`,
        ],
        rows,
      ),
    ),
    indent(
      [
        ...unmeasured.map((f) => `- ${f.logicalId}: require not measured: ${f.requireError}`),
        ...l.notes.map((note) => `- ${note}`),
      ].join('\n'),
    ),
  ].join('\n');
}

/** `StartExtractFunctionF86A899B` → `StartExtract`. */
function shortName(logicalId: string): string {
  return logicalId
    .replace(/[0-9A-F]{8}$/, '')
    .replace(/Function$/, '')
    .replace(/^CustomS3AutoDeleteObjectsCustomResourceProvider/, 'S3AutoDeleteObjects');
}

function localRunSection(r: LocalRunFigures): string {
  const rows = r.perDay.map((day, index) => [
    index + 1,
    day.date,
    day.executionStatus,
    n0(day.recordsExtracted),
    n0(day.rowsInserted),
    day.stateTransitions,
    day.lambdaInvocations,
    day.eventInvocations,
    secs(day.wallMs),
  ]);
  return [
    `Local run — ${r.objects} objects × ${n0(r.rowsPerObject)} records × ${r.days} days (days 2–${r.days} update ${Math.round(r.changedShare * 100)}% of each object's records)`,
    '',
    indent(
      renderTable(
        [
          'day',
          'date',
          'execution',
          'extracted',
          'inserted',
          'transitions',
          'step inv',
          'event inv',
          'wall s',
        ],
        rows,
      ),
    ),
    indent(
      `Wall time ${secs(r.wallMs)} s (setup ${secs(r.setupMs)} s: synth check, PGlite + sql/, stand-ins; scenario built in ${secs(r.scenarioBuildMs)} s beforehand); ` +
        `warehouse equals source at the end: ${r.warehouseEqualsSource ? 'yes' : 'NO'}`,
    ),
  ].join('\n');
}

function scaleSection(s: ScaleFigures): string {
  const objectRows = s.objectRuns.map((run) => [
    run.objects,
    run.executionStatus,
    run.fieldsPerRow ?? '-',
    run.parentHistory,
    run.maxChildHistory,
    kb(run.maxPayloadBytes),
    `${secs(run.wallMs)} s`,
  ]);
  const flowRows = s.flowRuns.map((run) => [
    run.flowMinutes,
    run.maxChildHistory,
    n2(run.transitionsPerObject),
    n2(run.invocationsPerObject),
    usd(run.costPer1000ObjectDays.total),
    `${run.polling.polls}`,
    n2(run.polling.transitionsPerObject),
    usd(run.polling.costPer1000ObjectDays.total),
  ]);
  return [
    'Scale — history events as AWS counts them (parent and largest child execution), largest state payload',
    '',
    indent(
      renderTable(
        ['objects', 'status', 'fields/row', 'parent events', 'max child events', 'max payload', 'wall'],
        objectRows,
      ),
    ),
    '',
    indent(
      renderTable(
        [
          'flow min',
          'child events',
          'trans/obj',
          'inv/obj (all)',
          'total $/1k obj-days',
          'polls (before)',
          'trans/obj (before)',
          '$/1k obj-days (before)',
        ],
        flowRows,
      ),
    ),
    '',
    `  Long local run: ${s.longRun.objects} objects × ${s.longRun.flowMinutes}-minute flows × ${s.longRun.days} days: ${secs(s.longRun.wallMs)} s (${s.longRun.statuses.join(', ')})`,
    "  Completion by event: each child waits on its flow's task token (AppFlow's end-of-run report, a 15-minute sweep for lost events), so child events and transitions do not grow with the flow. '(before)': the polling design it replaced, 4 + 3P transitions for P polls.",
  ].join('\n');
}

function scaleTargetLines(s: ScaleFigures): TargetLine[] {
  const t = s.targets;
  return [
    ...s.objectRuns.map((run) => ({
      area: 'scale',
      target: `${run.objects} obj${run.fieldsPerRow ? ` × ${run.fieldsPerRow} fields` : ''}: parent <= ${t.parentHistory} events, payload <= ${kb(t.maxPayloadBytes)}`,
      measured: `${run.parentHistory}, ${kb(run.maxPayloadBytes)}`,
      met: run.parentHistory <= t.parentHistory && run.maxPayloadBytes <= t.maxPayloadBytes,
    })),
    ...s.flowRuns.map((run) => ({
      area: 'scale',
      target: `${run.flowMinutes}-min flow: child <= ${t.childHistory} events, <= ${t.transitionsPerObject} trans/obj`,
      measured: `${run.maxChildHistory}, ${n2(run.transitionsPerObject)}`,
      met: run.maxChildHistory <= t.childHistory && run.transitionsPerObject <= t.transitionsPerObject,
    })),
  ];
}

export function targetLines(results: BenchResults): TargetLine[] {
  const lines: TargetLine[] = [];
  const c = results.consolidation;
  if (c) {
    lines.push({
      area: 'consolidation',
      target: `a/b <= ${c.targets.aOverB}`,
      measured: n2(c.ratios.aOverB),
      met: c.met.aOverB,
    });
    lines.push({
      area: 'consolidation',
      target: `naive vs ours at final ×${c.finalLarge / c.final} >= ${c.targets.naiveLargeOverD}`,
      measured: c.naiveLarge ? n2(c.naiveLarge.overD) : 'not run',
      met: c.met.naiveLargeOverD,
    });
    lines.push({
      area: 'consolidation',
      target: `d/a <= ${c.targets.dOverA}`,
      measured: n2(c.ratios.dOverA),
      met: c.met.dOverA,
    });
    if (c.wide) {
      lines.push({
        area: 'consolidation',
        target: `wide object (${c.wide.columns} columns) a/b <= ${c.targets.wideAOverB}`,
        measured: n2(c.wide.aOverB),
        met: c.met.wideAOverB,
      });
    }
    if (c.fullSync) {
      lines.push({
        area: 'consolidation',
        target: `full sync (1% changed) <= ${c.targets.fullOverIncremental} × incremental of the changes`,
        measured: n2(c.fullSync.fullOverIncremental),
        met: c.met.fullOverIncremental,
      });
    }
  }
  if (results.history) lines.push(...historyTargetLines(results.history));
  const o = results.orchestration;
  if (o) {
    for (const run of o.runs.filter((r) => r.polls === 1)) {
      lines.push({
        area: 'orchestration',
        target: `${run.objects} obj: <= ${o.targets.transitionsPerObject} transitions, <= ${o.targets.invocationsPerObject} invocations (steps + event targets) per object`,
        measured: `${n2(run.transitionsPerObject)}, ${n2(run.invocationsPerObject)}`,
        met:
          run.transitionsPerObject <= o.targets.transitionsPerObject &&
          run.invocationsPerObject <= o.targets.invocationsPerObject,
      });
    }
    const slowCall = slowCallOf(o);
    if (slowCall) {
      lines.push({
        area: 'orchestration',
        target: `a 10-minute CALL: <= ${o.targets.slowCallExtraTransitions} extra transitions per object`,
        measured: n2(slowCall.extraTransitionsPerObject),
        met: slowCall.extraTransitionsPerObject <= o.targets.slowCallExtraTransitions,
      });
    }
    if (o.slowWarehouse.length > 0) lines.push(slowWarehouseTimeoutTarget(o.slowWarehouse));
    const longest = o.fixedPollComparison[o.fixedPollComparison.length - 1];
    if (longest) {
      lines.push({
        area: 'orchestration',
        target: 'transitions not linear in flow run time',
        measured: `${minutes(longest.flowWaitSeconds)} min flow: ${n2(longest.ourTransitions)} trans/obj (fixed 30 s poll: ${n2(longest.fixed30sTransitions)})`,
        met: longest.ourTransitions < longest.fixed30sTransitions,
      });
    }
  }
  const l = results.lambdas;
  if (l) {
    const biggest = [...l.functions].sort((a, b) => b.bundleBytes - a.bundleBytes)[0];
    const measured = l.functions.filter((f) => f.requireMedianMs !== null);
    const slowest = [...measured].sort((a, b) => (b.requireMedianMs ?? 0) - (a.requireMedianMs ?? 0))[0];
    if (biggest) {
      lines.push({
        area: 'lambdas',
        target: `every bundle <= ${l.targets.bundleKb} KB`,
        measured: `largest ${shortName(biggest.logicalId)} ${n1(biggest.bundleBytes / 1024)} KB; ${l.functions.filter((f) => !f.met.bundle).length} over`,
        met: l.functions.every((f) => f.met.bundle),
      });
    }
    if (slowest) {
      lines.push({
        area: 'lambdas',
        target: `every cold require <= ${l.targets.initMs} ms`,
        measured: `slowest ${shortName(slowest.logicalId)} ${n0(slowest.requireMedianMs ?? 0)} ms; ${measured.filter((f) => f.met.init === false).length} over`,
        met: measured.every((f) => f.met.init),
      });
    }
  }
  if (results.scale) lines.push(...scaleTargetLines(results.scale));
  if (results.refresh) lines.push(...refreshTargetLines(results.refresh));
  if (results.cadence) lines.push(...cadenceTargetLines(results.cadence));
  const r = results.localRun;
  if (r) {
    lines.push({
      area: 'local run',
      target: `${r.objects} obj × ${n0(r.rowsPerObject)} rows × ${r.days} days (no target)`,
      measured: `${secs(r.wallMs)} s`,
      met: null,
    });
  }
  return lines;
}

export function renderResults(results: BenchResults): string {
  const sections: string[] = [`Machine: ${describeMachine(results.machine)}`, `Command: ${results.command}`];
  if (results.scaleNote) sections.push(`NOTE: ${results.scaleNote}`);
  if (results.consolidation) sections.push(consolidationSection(results.consolidation));
  if (results.history) sections.push(historySection(results.history));
  if (results.orchestration) sections.push(orchestrationSection(results.orchestration));
  if (results.scale) sections.push(scaleSection(results.scale));
  if (results.cadence) sections.push(cadenceSection(results.cadence));
  if (results.lambdas) sections.push(lambdasSection(results.lambdas));
  if (results.localRun) sections.push(localRunSection(results.localRun));
  if (results.refresh) sections.push(refreshSection(results.refresh));
  sections.push(
    [
      'Targets',
      '',
      indent(
        renderTable(
          ['area', 'target', 'measured', 'result'],
          results.targets.map((t) => [t.area, t.target, t.measured, verdict(t.met)]),
        ),
      ),
      '',
      `Total wall time ${secs(results.totalWallMs)} s (${Object.entries(results.phaseWallMs)
        .map(([phase, ms]) => `${phase} ${secs(ms)} s`)
        .join(', ')})`,
    ].join('\n'),
  );
  return sections.join('\n\n');
}
