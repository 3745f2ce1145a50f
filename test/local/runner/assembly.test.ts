import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  LOCAL_STACK_NAME,
  type LocalAssembly,
  loadAssembly,
  synthesizeLocalStack,
} from '../../../local/runner/assembly';
import { localEnvironmentConfig } from '../../../local/runner/local-config';
import { DEFAULT_CACHE_DIR } from '../../../local/runner/run-scenario';

let outdir: string;
let assembly: LocalAssembly;

beforeAll(async () => {
  outdir = await synthesizeLocalStack(localEnvironmentConfig(), DEFAULT_CACHE_DIR);
  assembly = loadAssembly(outdir);
}, 300_000);

describe('the local assembly of the synthesized stack', () => {
  test('finds the token tasks and the functions their lambda:invoke.waitForTaskToken Parameters name', () => {
    expect([...assembly.tokenTasks].sort()).toEqual([
      'AwaitConsolidationStatement',
      'AwaitExtractStatement',
      'AwaitFlowRun',
      'AwaitPrecheckStatement',
    ]);
    expect(assembly.taskFunctions.AwaitFlowRun.logicalId).toMatch(/^AwaitFlowRunFunction/);
    expect(assembly.taskFunctions.AwaitExtractStatement.logicalId).toMatch(/^AwaitStatementFunction/);
  });

  test("routes AppFlow's end-of-run report and the sweep schedule to flow-run-ended", () => {
    const [ended] = Object.keys(assembly.functions).filter((id) => id.startsWith('FlowRunEndedFunction'));
    const rules = assembly.eventRules.filter((rule) => rule.targetFunctions.includes(ended));
    expect(rules.map((rule) => rule.scheduleExpression ?? rule.eventPattern?.['detail-type'])).toEqual(
      expect.arrayContaining(['rate(15 minutes)', ['AppFlow End Flow Run Report']]),
    );
  });

  test('finds the schedule that starts the pipeline: its tick, time zone and the input a tick day starts with', () => {
    expect(assembly.schedule).toEqual({
      logicalId: expect.stringMatching(/^Schedule/),
      expression: 'cron(0/15 * * * ? *)',
      timeZone: 'UTC',
      input: { scheduled: true },
    });
  });

  test('refuses a template whose schedule has no role to start the state machine', () => {
    const tampered = mkdtempSync(path.join(tmpdir(), 'assembly-'));
    try {
      cpSync(outdir, tampered, { recursive: true });
      const file = path.join(tampered, `${LOCAL_STACK_NAME}.template.json`);
      const template = JSON.parse(readFileSync(file, 'utf8')) as {
        Resources: Record<string, { Type: string; Properties: { Target?: Record<string, unknown> } }>;
      };
      for (const resource of Object.values(template.Resources)) {
        if (resource.Type === 'AWS::Scheduler::Schedule') delete resource.Properties.Target?.RoleArn;
      }
      writeFileSync(file, JSON.stringify(template));
      expect(() => loadAssembly(tampered)).toThrow(/Schedule\w+ has no role to start the state machine/);
    } finally {
      rmSync(tampered, { recursive: true, force: true });
    }
  });

  test('creates every table: the control table, the flow waits and the statement waits', () => {
    expect(assembly.tables.map((table) => table.name).sort()).toEqual([
      'saas-to-redshift-local-control',
      'saas-to-redshift-local-flowName',
      'saas-to-redshift-local-statementId',
    ]);
  });

  test('refuses a rule whose function has no permission for EventBridge to invoke it from that rule', () => {
    const tampered = mkdtempSync(path.join(tmpdir(), 'assembly-'));
    try {
      cpSync(outdir, tampered, { recursive: true });
      const file = path.join(tampered, `${LOCAL_STACK_NAME}.template.json`);
      const template = JSON.parse(readFileSync(file, 'utf8')) as {
        Resources: Record<string, { Type: string }>;
      };
      for (const [id, resource] of Object.entries(template.Resources)) {
        if (resource.Type === 'AWS::Lambda::Permission') delete template.Resources[id];
      }
      writeFileSync(file, JSON.stringify(template));
      expect(() => loadAssembly(tampered)).toThrow(
        /targets function FlowRunEndedFunction\w+, but no AWS::Lambda::Permission lets events\.amazonaws\.com invoke it/,
      );
    } finally {
      rmSync(tampered, { recursive: true, force: true });
    }
  });
});
