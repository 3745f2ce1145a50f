import './runner/polyfills';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { renderTable } from '../lambdas/common/text-table';
import { LOCAL_RUN_ENV } from '../ops/objects/target';
import { compareWarehouseToSource } from './runner/compare';
import { DAY_TABLE_HEADERS, dayTableRows, SUMMARY_TABLE_HEADERS, summaryTableRows } from './runner/day-table';
import { demoScenario } from './runner/demo-scenario';
import { type DayReport, type LocalRunContext, type ProgressEvent, runScenario } from './runner/run-scenario';
import { readScenarioFile } from './runner/scenario';

/** What the consolidation columns mean: the demo is where a newcomer first meets them. */
const CONSOLIDATION_LEGEND = [
  'inserted: keys new to the final table · updated: a newer version replaced the final row ·',
  'unchanged: re-extracted by the lookback overlap, already current (not rewritten) ·',
  "dupes removed: older versions of a key in the same staging load (AppFlow wrote a record twice) · '-': not reported",
].join('\n');

const USAGE =
  'Usage: npm run local -- [--scenario FILE] [--report FILE] [--dump DIR] [--log-level LEVEL] [--keep]';

function printDay(day: DayReport): void {
  console.log(
    renderTable(DAY_TABLE_HEADERS, dayTableRows(day))
      .split('\n')
      .map((line) => `    ${line}`)
      .join('\n'),
  );
  const status = `${day.executionStatus}${day.error ? ` (${day.error.slice(0, 200)})` : ''}`;
  console.log(`    execution ${day.executionName}: ${status}; flows left behind: ${day.flowsRemaining}`);
  // A fault no call met tested nothing: the scenario probably names the wrong operation or object.
  for (const fault of day.faultsNotFired ?? []) {
    console.log(`    warning: fault never fired (${fault.times} left): ${JSON.stringify(fault)}`);
  }
  console.log('');
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

/**
 * `--keep`: after the last day the stand-ins stay up until Ctrl-C, and the environment that
 * reaches them is printed, so `npm run objects -- verify` (or any AWS CLI call) can look.
 */
function keepStandInsUp(lastDate: string | undefined): (context: LocalRunContext) => Promise<void> {
  return async (context) => {
    const exports = Object.entries(context.env)
      .filter(([name]) => name.startsWith('AWS_'))
      .map(([name, value]) => `${name}=${value}`);
    console.log(
      [
        '',
        'Stand-ins left up (--keep); Ctrl-C stops them and prints the summary. In another shell:',
        `  export ${[...exports, `${LOCAL_RUN_ENV}=1`].join(' \\\n    ')}`,
        `  npm run objects -- verify --all --env local --table ${context.controlTableName}${lastDate ? ` --as-of ${lastDate}` : ''}`,
        '',
      ].join('\n'),
    );
    await new Promise((resolve) => process.once('SIGINT', resolve));
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string' },
      report: { type: 'string' },
      dump: { type: 'string' },
      'log-level': { type: 'string' },
      keep: { type: 'boolean' },
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
    ...(values.keep ? { afterRun: keepStandInsUp(scenario.days.at(-1)?.date) } : {}),
  });

  console.log('Summary');
  console.log(renderTable(SUMMARY_TABLE_HEADERS, summaryTableRows(result.report.days)));
  console.log(CONSOLIDATION_LEGEND);
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
    // Objects that keep history (issue 22): every captured version, beside the final table.
    for (const [table, rows] of Object.entries(result.historyTables)) {
      fs.writeFileSync(path.join(values.dump, `${table}.history.json`), `${JSON.stringify(rows, null, 2)}\n`);
    }
    const histories = Object.keys(result.historyTables).length;
    console.log(
      `Final tables${histories > 0 ? ` and ${histories} history table(s)` : ''} dumped to ${values.dump}/`,
    );
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
