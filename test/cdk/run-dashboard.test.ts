import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { DefinitionBody, Pass, StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { publishObjectMetrics } from '../../lambdas/common/observability';
import { RunDashboard } from '../../lib/constructs/run-dashboard';
import { captureEmf } from '../support/emf';
import {
  type BuiltPipeline,
  buildPipeline,
  logicalIdOf,
  removeTestApp,
  SYNTH_TIMEOUT_MS,
} from './support/pipeline-app';

type DashboardMetric = unknown[];
interface Widget {
  type: string;
  properties: {
    title?: string;
    markdown?: string;
    metrics?: DashboardMetric[];
    alarms?: string[];
    period?: number;
  };
}

/**
 * The synthesized dashboard body: an `Fn::Join` of JSON text and tokens (state machine and
 * alarm ARNs, region). Tokens become `#{n}` placeholders; `tokens[n]` is the token itself.
 */
function dashboardBody(template: Template): { widgets: Widget[]; tokens: unknown[]; name: string } {
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  expect(dashboards).toHaveLength(1);
  const { DashboardBody: body, DashboardName: name } = dashboards[0].Properties;
  const [separator, parts] = (body as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  const text = parts.map((part, index) => (typeof part === 'string' ? part : `#{${index}}`)).join(separator);
  return { widgets: (JSON.parse(text) as { widgets: Widget[] }).widgets, tokens: parts, name };
}

const tokenAt = (tokens: unknown[], placeholder: unknown) => {
  const match = /^#\{(\d+)\}$/.exec(String(placeholder));
  return match ? tokens[Number(match[1])] : placeholder;
};

/** Every metric of a widget that is a math expression: `[{ expression, ... }]`. */
const expressionsOf = (widget: Widget) =>
  (widget.properties.metrics ?? [])
    .map((metric) => metric.find((part) => typeof part === 'object' && part !== null && 'expression' in part))
    .filter(Boolean)
    .map((options) => (options as { expression: string }).expression);

/** The per-object metrics the issue lists, with the statistic each is charted by. */
const PER_OBJECT_METRICS: [string, string][] = [
  ['RecordsExtracted', 'Sum'],
  ['RowsInserted', 'Sum'],
  ['RowsUpdated', 'Sum'],
  ['RowsUnchanged', 'Sum'],
  ['RowsDeleted', 'Sum'],
  ['DuplicatesRemoved', 'Sum'],
  ['FlowRunMinutes', 'Maximum'],
  ['ConsolidationSeconds', 'Maximum'],
  ['ObjectFailed', 'Sum'],
  ['RowsRefreshed', 'Sum'],
  ['HistoryVersionsAdded', 'Sum'],
  ['HistoryVersionsClosed', 'Sum'],
];

let dev: BuiltPipeline;

beforeAll(() => {
  dev = buildPipeline('dev');
}, SYNTH_TIMEOUT_MS);

afterAll(() => removeTestApp(dev?.app));

describe('run dashboard in the stack', () => {
  test("one dashboard per environment, named after it, with its console link in the stack's outputs", () => {
    // Act
    const { name } = dashboardBody(dev.template);
    const outputs = dev.template.findOutputs('DashboardUrl');

    // Assess
    expect(name).toBe('saas-to-redshift-dev');
    expect(outputs.DashboardUrl.Value).toBe(
      'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards/dashboard/saas-to-redshift-dev',
    );
  });

  test("the executions graph charts succeeded, failed, timed out and aborted of this environment's state machine", () => {
    // Prepare
    const { widgets, tokens } = dashboardBody(dev.template);
    const executions = widgets.find((widget) => widget.properties.title === 'Executions');
    const stateMachineRef = { Ref: logicalIdOf(dev.stack.pipeline.stateMachine) };

    // Act
    const charted = (executions?.properties.metrics ?? []).map((metric) => ({
      namespace: metric[0],
      name: metric[1],
      dimension: metric[2],
      stateMachine: tokenAt(tokens, metric[3]),
    }));

    // Assess
    expect(charted.map((metric) => metric.name).sort()).toEqual([
      'ExecutionsAborted',
      'ExecutionsFailed',
      'ExecutionsSucceeded',
      'ExecutionsTimedOut',
    ]);
    for (const metric of charted) {
      expect(metric).toMatchObject({
        namespace: 'AWS/States',
        dimension: 'StateMachineArn',
        stateMachine: stateMachineRef,
      });
    }
  });

  test.each(PER_OBJECT_METRICS)(
    'one graph of %s per object, found by SEARCH in this environment (%s per day)',
    (metricName, statistic) => {
      // Prepare
      const { widgets } = dashboardBody(dev.template);

      // Act
      const graphs = widgets.filter((widget) =>
        expressionsOf(widget).some((expression) => expression.includes(`MetricName="${metricName}"`)),
      );

      // Assess
      expect(graphs).toHaveLength(1);
      expect(expressionsOf(graphs[0])).toEqual([
        `SEARCH('{SaasToRedshift,environment,object,service} environment="dev" service="saas-to-redshift" MetricName="${metricName}"', '${statistic}', 86400)`,
      ]);
    },
  );

  test("FreshnessLagMinutes per object, the worst of each hour, and the environment's ObjectsOverdue (issue 20)", () => {
    // Prepare
    const { widgets } = dashboardBody(dev.template);

    // Act
    const lag = widgets.filter((widget) =>
      expressionsOf(widget).some((expression) => expression.includes('MetricName="FreshnessLagMinutes"')),
    );
    const overdue = widgets.filter((widget) =>
      (widget.properties.metrics ?? []).some((metric) => metric.includes('ObjectsOverdue')),
    );

    // Assess
    expect(lag).toHaveLength(1);
    expect(expressionsOf(lag[0])).toEqual([
      `SEARCH('{SaasToRedshift,environment,object,service} environment="dev" service="saas-to-redshift" MetricName="FreshnessLagMinutes"', 'Maximum', 3600)`,
    ]);
    expect(overdue).toHaveLength(1);
    expect(overdue[0].properties.metrics?.[0]).toEqual(
      expect.arrayContaining([
        'SaasToRedshift',
        'ObjectsOverdue',
        'environment',
        'dev',
        'service',
        'saas-to-redshift',
      ]),
    );
  });

  test('the alarm widget shows every alarm of RunAlarms', () => {
    // Prepare
    const { widgets, tokens } = dashboardBody(dev.template);
    const alarmWidgets = widgets.filter((widget) => widget.type === 'alarm');

    // Act
    const shown = alarmWidgets.flatMap((widget) =>
      (widget.properties.alarms ?? []).map((alarm) => tokenAt(tokens, alarm)),
    );

    // Assess
    expect(alarmWidgets).toHaveLength(1);
    expect(dev.stack.alarms.alarms).toHaveLength(6);
    expect(shown).toEqual(
      dev.stack.alarms.alarms.map((alarm) => ({ 'Fn::GetAtt': [logicalIdOf(alarm), 'Arn'] })),
    );
  });

  test("every step function is told its environment, so its metrics match the dashboard's SEARCH", () => {
    // Prepare
    const functions = [
      'PrecheckFunction',
      'LoadObjectsFunction',
      'StartExtractFunction',
      'PollFlowFunction',
      'ConsolidateFunction',
      'FinishObjectFunction',
      'RecordFailureFunction',
      'RunReportFunction',
    ];

    // Act
    const environments = functions.map((id) => {
      const logicalId = logicalIdOf(dev.stack.node.findChild(id));
      return dev.template.toJSON().Resources[logicalId].Properties.Environment?.Variables
        ?.PIPELINE_ENVIRONMENT;
    });

    // Assess
    expect(environments).toEqual(functions.map(() => 'dev'));
  });
});

describe('metrics and dashboard agree', () => {
  test("the handlers' EMF dimension set is exactly the SEARCH schema (an extra or missing dimension charts nothing)", async () => {
    // Prepare
    const { widgets } = dashboardBody(dev.template);
    const [expression] = expressionsOf(
      widgets.find((widget) => expressionsOf(widget).some((e) => e.includes('"RowsInserted"'))) as Widget,
    );
    const [namespace, ...schemaDimensions] = /^SEARCH\('\{([^}]+)\}/.exec(expression)?.[1].split(',') ?? [];

    // Act
    const { metrics } = await captureEmf(() => publishObjectMetrics('Account', { RowsInserted: 1 }), {
      PIPELINE_ENVIRONMENT: 'dev',
    });

    // Assess
    expect(metrics).toHaveLength(1);
    expect(metrics[0].namespace).toBe(namespace);
    expect(Object.keys(metrics[0].dimensions).sort()).toEqual(schemaDimensions.sort());
    expect(metrics[0].dimensions).toMatchObject({ environment: 'dev', service: 'saas-to-redshift' });
  });
});

describe('RunDashboard on its own', () => {
  test('an environment name that could break out of the SEARCH string is refused at synth', () => {
    // Prepare
    const stack = new Stack();
    const stateMachine = new StateMachine(stack, 'Machine', {
      definitionBody: DefinitionBody.fromChainable(new Pass(stack, 'Start')),
    });

    // Act
    const build = () =>
      new RunDashboard(stack, 'Dashboard', {
        stateMachine,
        environmentName: `dev" MetricName="x`,
        alarms: [],
      });

    // Assess
    expect(build).toThrow(/cannot go into a SEARCH/);
  });

  test('props override the name, period and alarms shown', () => {
    // Prepare
    const stack = new Stack();
    const stateMachine = new StateMachine(stack, 'Machine', {
      definitionBody: DefinitionBody.fromChainable(new Pass(stack, 'Start')),
    });
    const alarm = new Alarm(stack, 'Alarm', {
      metric: stateMachine.metricFailed(),
      threshold: 1,
      evaluationPeriods: 1,
    });

    // Act
    new RunDashboard(stack, 'Dashboard', {
      stateMachine,
      environmentName: 'qa',
      alarms: [alarm],
      dashboardName: 'pipeline-qa',
      period: Duration.hours(6),
    });

    // Assess
    const { widgets, name, tokens } = dashboardBody(Template.fromStack(stack));
    expect(name).toBe('pipeline-qa');
    expect(expressionsOf(widgets.find((w) => w.properties.title === 'Rows deleted') as Widget)).toEqual([
      `SEARCH('{SaasToRedshift,environment,object,service} environment="qa" service="saas-to-redshift" MetricName="RowsDeleted"', 'Sum', 21600)`,
    ]);
    const alarmWidget = widgets.find((w) => w.type === 'alarm') as Widget;
    expect(alarmWidget.properties.alarms?.map((a) => tokenAt(tokens, a))).toEqual([
      { 'Fn::GetAtt': [logicalIdOf(alarm), 'Arn'] },
    ]);
  });
});
