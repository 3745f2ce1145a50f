import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, CfnElement, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { environments } from '../../../config/environments';
import { type EnvironmentConfig, resolveEnvironmentConfig } from '../../../lib/config';
import { PipelineStack } from '../../../lib/pipeline-stack';

/** Synth with bundling takes seconds per stack: let `beforeAll` take its time on a busy machine. */
export const SYNTH_TIMEOUT_MS = 180_000;

export interface TestAppOptions {
  /**
   * Bundle every function with esbuild. Without it CDK skips bundling
   * (`aws:cdk:bundling-stacks: []`): the template is the same apart from asset hashes.
   * @default false
   */
  readonly bundle?: boolean;
}

/** An App writing its cloud assembly to a fresh directory under the OS temp dir. */
export function createTestApp(options: TestAppOptions = {}): App {
  const outdir = mkdtempSync(path.join(tmpdir(), 'saas-to-redshift-cdk-'));
  return new App({ outdir, context: options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] } });
}

export function removeTestApp(app: App | undefined): void {
  if (app) rmSync(app.outdir, { recursive: true, force: true });
}

/** The stack exactly as `bin/app.ts` builds it. */
export function addPipelineStack(app: App, config: EnvironmentConfig): PipelineStack {
  return new PipelineStack(app, `SaasToRedshift-${config.name}`, {
    config,
    env: { account: config.account, region: config.region },
  });
}

export interface BuiltPipeline {
  readonly app: App;
  readonly config: EnvironmentConfig;
  readonly stack: PipelineStack;
  readonly template: Template;
}

export interface BuildPipelineOptions extends TestAppOptions {
  /** @default the project's `config/environments.ts` */
  readonly environments?: Record<string, unknown>;
}

/** Resolves one environment's config, builds its stack in a fresh App and synthesizes the template once. */
export function buildPipeline(envName: string, options: BuildPipelineOptions = {}): BuiltPipeline {
  const config = resolveEnvironmentConfig(options.environments ?? environments, envName);
  const app = createTestApp(options);
  const stack = addPipelineStack(app, config);
  return { app, config, stack, template: Template.fromStack(stack) };
}

/** Logical id of a construct's CloudFormation resource (its default child for L2 constructs). */
export function logicalIdOf(construct: IConstruct): string {
  const element = CfnElement.isCfnElement(construct) ? construct : construct.node.defaultChild;
  if (!CfnElement.isCfnElement(element))
    throw new Error(`${construct.node.path} has no CloudFormation element`);
  return element.stack.getLogicalId(element);
}

/** Logical id → construct path of every CloudFormation element in the stack. */
export function constructPathsByLogicalId(stack: Stack): Map<string, string> {
  const paths = new Map<string, string>();
  for (const construct of stack.node.findAll()) {
    if (CfnElement.isCfnElement(construct)) paths.set(stack.getLogicalId(construct), construct.node.path);
  }
  return paths;
}

/** CDK's own custom-resource machinery: the Provider framework and the S3 auto-delete provider. */
export function isCdkFrameworkPath(constructPath: string): boolean {
  return (
    /\/Provider\/(framework-(onEvent|isComplete|onTimeout)|waiter-state-machine)\//.test(constructPath) ||
    constructPath.includes('/Custom::S3AutoDeleteObjectsCustomResourceProvider/')
  );
}

/** A state of the Amazon States Language, with the fields these tests read. */
export interface AslState {
  readonly Type: string;
  readonly Next?: string;
  readonly End?: boolean;
  readonly Default?: string;
  readonly Choices?: AslChoiceRule[];
  readonly Catch?: AslCatcher[];
  readonly Retry?: AslRetrier[];
  readonly TimeoutSeconds?: number;
  readonly TimeoutSecondsPath?: string;
  readonly HeartbeatSeconds?: number;
  readonly HeartbeatSecondsPath?: string;
  readonly Resource?: string;
  readonly ItemProcessor?: AslMachine;
  readonly Iterator?: AslMachine;
  readonly MaxConcurrency?: number;
  readonly Seconds?: number;
  readonly SecondsPath?: string;
  readonly Error?: string;
  readonly CausePath?: string;
  readonly ResultPath?: string | null;
  readonly Parameters?: Record<string, unknown>;
  readonly ItemsPath?: string;
  readonly ItemReader?: Record<string, unknown>;
  readonly ResultWriter?: Record<string, unknown>;
  readonly ToleratedFailurePercentage?: number;
}

export interface AslChoiceRule {
  readonly Next?: string;
  readonly Variable?: string;
  readonly And?: AslChoiceRule[];
  readonly Or?: AslChoiceRule[];
  readonly [comparison: string]: unknown;
}

export interface AslCatcher {
  readonly ErrorEquals: string[];
  readonly Next: string;
  readonly ResultPath?: string;
}

export interface AslRetrier {
  readonly ErrorEquals: string[];
  readonly IntervalSeconds?: number;
  readonly MaxAttempts?: number;
  readonly BackoffRate?: number;
  readonly MaxDelaySeconds?: number;
  readonly JitterStrategy?: string;
}

export interface AslMachine {
  readonly StartAt: string;
  readonly States: Record<string, AslState>;
  readonly TimeoutSeconds?: number;
}

/**
 * The synthesized definition of a state machine: `DefinitionString` is either a string or an
 * `Fn::Join` of strings and tokens (function ARNs); tokens become `#{n}` placeholders.
 */
export function stateMachineDefinition(template: Template, logicalId: string): AslMachine {
  const resource = template.toJSON().Resources[logicalId];
  if (resource?.Type !== 'AWS::StepFunctions::StateMachine') {
    throw new Error(`${logicalId} is not a state machine of the template`);
  }
  const body: unknown = resource.Properties.DefinitionString;
  if (typeof body === 'string') return JSON.parse(body) as AslMachine;
  const join = (body as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (!join) throw new Error(`Unexpected DefinitionString: ${JSON.stringify(body).slice(0, 200)}`);
  const [separator, parts] = join;
  const text = parts.map((part, index) => (typeof part === 'string' ? part : `#{${index}}`)).join(separator);
  return JSON.parse(text) as AslMachine;
}
