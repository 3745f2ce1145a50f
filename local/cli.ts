import './runner/polyfills';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { renderTable } from '../lambdas/common/text-table';
import { compareWarehouseToSource } from './runner/compare';
import { demoScenario } from './runner/demo-scenario';
import { type DayReport, type ProgressEvent, runScenario } from './runner/run-scenario';
import { readScenarioFile } from './runner/scenario';

const USAGE = 'Usage: npm run local -- [--scenario FILE] [--report FILE] [--dump DIR] [--log-level LEVEL]';

function printDay(day: DayReport): void {
  const rows = Object.entries(day.objects).map(([name, object]) => [
    name,
    object.status,
    object.syncMode ?? '',
    object.recordsExtracted,
    object.duplicatesRemoved,
    object.rowsInserted,
    object.rowsDeleted,
    object.error
      ? object.error.slice(0, 100)
      : object.consolidationSkipped
        ? '(empty run: no consolidation)'
        : '',
  ]);
  console.log(
    renderTable(
      ['object', 'status', 'mode', 'extracted', 'dupes removed', 'inserted', 'deleted', 'note'],
      rows,
    )
      .split('\n')
      .map((line) => `    ${line}`)
      .join('\n'),
  );
  const status = `${day.executionStatus}${day.error ? ` (${day.error.slice(0, 200)})` : ''}`;
  console.log(`    execution ${day.executionName}: ${status}; flows left behind: ${day.flowsRemaining}\n`);
}

function progressPrinter(): (event: ProgressEvent) => void {
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;
  return (event) => {
    switch (event.type) {
      case 'setup':
        console.log(`${elapsed()}  ${event.message}`);
        break;
      case 'day-started':
        console.log(`\n${elapsed()}  day ${event.index + 1}/${event.total}  ${event.date}`);
        break;
      case 'step':
        console.log(`${elapsed()}    ${event.objectName.padEnd(16)} ${event.step}`);
        break;
      case 'day-finished':
        printDay(event.day);
        break;
    }
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string' },
      report: { type: 'string' },
      dump: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const scenario = values.scenario ? readScenarioFile(values.scenario) : demoScenario();
  console.log(
    values.scenario
      ? `Local run of ${values.scenario}`
      : 'Local run of the bundled demo: Account, Contact and Opportunity over 4 days (no AWS account needed)',
  );
  const result = await runScenario(scenario, {
    onProgress: progressPrinter(),
    logLevel: values['log-level'],
  });

  console.log('Summary');
  console.log(
    renderTable(
      ['day', 'date', 'execution', 'succeeded', 'failed', 'extracted', 'inserted', 'deleted', 'flows left'],
      result.report.days.map((day, index) => {
        const objects = Object.values(day.objects);
        const sum = (pick: (o: (typeof objects)[number]) => number) =>
          objects.reduce((total, o) => total + pick(o), 0);
        return [
          index + 1,
          day.date,
          day.executionStatus,
          objects.filter((o) => o.status === 'SUCCEEDED').length,
          objects.filter((o) => o.status === 'FAILED').length,
          sum((o) => o.recordsExtracted),
          sum((o) => o.rowsInserted),
          sum((o) => o.rowsDeleted),
          day.flowsRemaining,
        ];
      }),
    ),
  );
  const comparisons = compareWarehouseToSource(scenario, result.finalTables, result.sourceTruth);
  console.log('\nWarehouse vs source');
  console.log(
    renderTable(
      ['object', 'table', 'source records', 'warehouse rows', 'missing', 'unexpected', 'check'],
      comparisons.map((c) => [
        c.objectName,
        `salesforce.${c.table}`,
        c.sourceRecords,
        c.warehouseRows,
        c.missing.length,
        c.unexpected.length,
        c.equal ? 'equal' : `DIFFERENT ${c.differences.slice(0, 2).join('; ')}`,
      ]),
    ),
  );

  if (values.report) {
    fs.mkdirSync(path.dirname(path.resolve(values.report)), { recursive: true });
    fs.writeFileSync(values.report, `${JSON.stringify(result.report, null, 2)}\n`);
    console.log(`\nReport written to ${values.report}`);
  }
  if (values.dump) {
    fs.mkdirSync(values.dump, { recursive: true });
    for (const [table, rows] of Object.entries(result.finalTables)) {
      fs.writeFileSync(path.join(values.dump, `${table}.json`), `${JSON.stringify(rows, null, 2)}\n`);
    }
    console.log(`Final tables dumped to ${values.dump}/`);
  }
  const failedDays = result.report.days.filter((day) => day.executionStatus === 'FAILED').length;
  const unequal = comparisons.filter((c) => !c.equal).length;
  if (failedDays > 0) console.log(`\n${failedDays} execution(s) failed.`);
  if (unequal > 0) console.log(`\n${unequal} object(s) differ between warehouse and source.`);
  return failedDays > 0 || unequal > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    console.error(USAGE);
    process.exitCode = 2;
  },
);
