import { type CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import type { SourceCatalog } from '../../lambdas/common/sources';
import { resolveEnvironmentConfig } from '../../lib/config';
import { DEFAULT_SCHEMAS, type WarehouseSchemas } from './control-rows';
import { awsErrorName, OperationError, UsageError } from './errors';
import { checkStateMachineArn } from './executions';
import { type CommandHint, plainHint } from './hints';

/** Which pipeline a command acts on: `--env` (config + stack outputs) or explicit names. */
export interface TargetFlags {
  env?: string;
  table?: string;
  'state-machine-arn'?: string;
}

/** Repeats the operator's own target flags (`--env dev`, `--table …`) in every suggested command. */
export function hintWithTarget(flags: TargetFlags): CommandHint {
  const target = [
    flags.env !== undefined ? `--env ${flags.env}` : '',
    flags.table !== undefined ? `--table ${flags.table}` : '',
    flags['state-machine-arn'] !== undefined ? `--state-machine-arn ${flags['state-machine-arn']}` : '',
  ]
    .filter((part) => part !== '')
    .join(' ');
  return (args) => plainHint(target ? `${args} ${target}` : args);
}

export interface Target {
  /** The environment's region; absent without `--env` (the SDK's usual settings decide). */
  region?: string;
  controlTableName?: string;
  stateMachineArn?: string;
  schemas: WarehouseSchemas;
  /** The environment's sources (with `--env`); rows naming another source are invalid. */
  sources?: SourceCatalog;
  /** The environment's flowTimeoutMinutes (with `--env`): `list` marks objects overdue with it. */
  flowTimeoutMinutes?: number;
  /** The environment's scheduleTickMinutes (with `--env`): cadences run in whole ticks (overdue too). */
  tickMinutes?: number;
}

export type TargetNeed = 'controlTable' | 'stateMachine' | 'nothing';

/** Set by `npm run local -- --keep` in the environment it prints: `--env local` then names the stand-ins. */
export const LOCAL_RUN_ENV = 'SAAS_TO_REDSHIFT_LOCAL_RUN';

export const CONTROL_TABLE_OUTPUT = 'ControlTableName';
export const STATE_MACHINE_OUTPUT = 'StateMachineArn';

/** bin/app.ts names each environment's stack so. */
export function stackNameOf(envName: string): string {
  return `SaasToRedshift-${envName}`;
}

export interface TargetDeps {
  environments: Record<string, unknown>;
  cloudFormation: (region: string) => CloudFormationClient;
}

/**
 * Explicit `--table` / `--state-machine-arn` win and skip the lookup; otherwise the stack of
 * `--env` is asked for its outputs, in the environment's region, only when the command needs one.
 */
export async function resolveTarget(flags: TargetFlags, need: TargetNeed, deps: TargetDeps): Promise<Target> {
  const target: Target = {
    controlTableName: flags.table,
    stateMachineArn: flags['state-machine-arn'],
    schemas: { ...DEFAULT_SCHEMAS },
  };
  if (target.stateMachineArn !== undefined) checkStateMachineArn(target.stateMachineArn);
  let envName: string | undefined;
  let account: string | undefined;
  if (flags.env !== undefined) {
    const config = (() => {
      try {
        return resolveEnvironmentConfig(deps.environments, flags.env);
      } catch (error) {
        throw new UsageError(`--env: ${(error as Error).message.replace('-c env=<name>', '--env <name>')}`);
      }
    })();
    envName = config.name;
    account = config.account;
    target.region = config.region;
    target.schemas = { staging: config.source.stagingSchema, final: config.source.finalSchema };
    target.sources = config.sources;
    target.flowTimeoutMinutes = config.flowTimeoutMinutes;
    target.tickMinutes = config.schedule.tickMinutes;
  }
  const missing =
    (need === 'controlTable' && !target.controlTableName) ||
    (need === 'stateMachine' && !target.stateMachineArn);
  if (!missing) return target;
  if (envName === undefined || target.region === undefined) {
    const known = Object.keys(deps.environments).sort().join(', ');
    const explicit = need === 'controlTable' ? '--table NAME' : '--state-machine-arn ARN';
    throw new UsageError(`Which pipeline? Pass --env <name> (one of: ${known}) or ${explicit}`);
  }
  const outputs = await stackOutputs(deps.cloudFormation(target.region), envName, target.region, account);
  const wanted = need === 'controlTable' ? CONTROL_TABLE_OUTPUT : STATE_MACHINE_OUTPUT;
  const value = outputs[wanted];
  if (!value) {
    throw new OperationError(
      `Stack ${stackNameOf(envName)} has no output ${wanted} (outputs: ${Object.keys(outputs).join(', ') || 'none'}); ` +
        'is the deploy finished?',
    );
  }
  if (need === 'controlTable') target.controlTableName = value;
  else target.stateMachineArn = value;
  return target;
}

async function stackOutputs(
  cloudFormation: CloudFormationClient,
  envName: string,
  region: string,
  account: string | undefined,
): Promise<Record<string, string>> {
  const stackName = stackNameOf(envName);
  try {
    const result = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = result.Stacks?.[0];
    return Object.fromEntries(
      (stack?.Outputs ?? []).flatMap((output) =>
        output.OutputKey && output.OutputValue ? [[output.OutputKey, output.OutputValue]] : [],
      ),
    );
  } catch (error) {
    // CloudFormation answers a missing stack with a ValidationError "Stack with id … does not exist".
    if (awsErrorName(error) === 'ValidationError' && /does not exist/.test((error as Error).message)) {
      throw new OperationError(
        `Stack ${stackName} not found in ${region}${account ? ` (environment ${envName} is account ${account})` : ''}: ` +
          `deploy it (npx cdk deploy -c env=${envName}), check AWS_PROFILE points at that account, ` +
          'or pass --table / --state-machine-arn',
      );
    }
    throw error;
  }
}
