import { parseArgs } from 'node:util';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { environments } from '../config/environments';
import { LOCAL_CONFIG } from '../config/local-environment';
import { DEFAULT_TICK_MINUTES } from '../lambdas/common/cadence';
import {
  DEFAULT_FLOW_TIMEOUT_MINUTES,
  type EnvironmentConfig,
  resolveEnvironmentConfig,
} from '../lib/config';
import {
  type AddFlagValues,
  addObject,
  buildNewControlRow,
  checkObjectName,
  describeRemoval,
  formatMinutes,
  listObjects,
  removeObject,
  requestReset,
  setObjectEnabled,
} from './objects/control-rows';
import { OperationError, UsageError } from './objects/errors';
import {
  buildExecutionInput,
  checkExecutionName,
  describeRun,
  executionArnFor,
  isExecutionArn,
  listRecentExecutions,
  type RunFlags,
  redriveRun,
  regionOfArn,
  startRun,
} from './objects/executions';
import {
  checkRecordId,
  type HistoryRequest,
  parseHistoryColumns,
  readRecordHistory,
  renderRecordHistory,
} from './objects/history';
import {
  hintWithTarget,
  LOCAL_RUN_ENV,
  resolveTarget,
  type TargetFlags,
  type TargetNeed,
} from './objects/target';
import {
  COMMANDS,
  type CommandName,
  commandUsage,
  GLOBAL_OPTIONS,
  globalUsage,
  isCommandName,
  type OptionSpec,
  shortUsage,
} from './objects/usage';
import {
  parseVerifyWindow,
  renderVerification,
  type VerifyRequest,
  verifyObjects,
  type WarehouseReadTarget,
} from './objects/verify';

/** Where the CLI writes; tests pass their own to read what an operator would see. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** How the CLI gets its AWS clients; tests pass dynalite-backed or mocked ones. */
export interface CliClients {
  controlTable: (region: string | undefined) => DynamoDBDocumentClient;
  stepFunctions: (region: string | undefined) => SFNClient;
  cloudFormation: (region: string) => CloudFormationClient;
  /** verify and history: the warehouse. */
  redshiftData: (region: string | undefined) => RedshiftDataClient;
  /** verify: the source credentials (the quota guard's secret). */
  secretsManager: (region: string | undefined) => SecretsManagerClient;
}

export interface CliDeps {
  clients?: CliClients;
  environments?: Record<string, unknown>;
  /** verify: how Salesforce is reached. @default global fetch */
  fetchImpl?: typeof fetch;
  /** verify: today, for the default --as-of. @default the wall clock */
  now?: () => Date;
}

/** Errors that mean "who are you?" rather than "what went wrong": the fix is the same for all of them. */
const CREDENTIAL_ERRORS =
  /CredentialsProviderError|ExpiredToken|UnrecognizedClient|InvalidClientTokenId|InvalidSignature|AccessDenied/;

type FlagValues = Record<string, string | boolean | undefined>;

const processIo: CliIo = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

/** Real clients from the SDK's usual settings (profile, region, AWS_ENDPOINT_URL_<SERVICE>), closed after the command. */
function sdkClients(): CliClients & { destroy: () => void } {
  const created: { destroy: () => void }[] = [];
  const track = <T extends { destroy: () => void }>(client: T): T => {
    created.push(client);
    return client;
  };
  return {
    controlTable: (region) =>
      track(
        DynamoDBDocumentClient.from(track(new DynamoDBClient({ region })), {
          marshallOptions: { removeUndefinedValues: true },
        }),
      ),
    stepFunctions: (region) => track(new SFNClient({ region })),
    cloudFormation: (region) => track(new CloudFormationClient({ region })),
    redshiftData: (region) => track(new RedshiftDataClient({ region })),
    secretsManager: (region) => track(new SecretsManagerClient({ region })),
    destroy: () => {
      for (const client of created) client.destroy();
    },
  };
}

function toParseArgsOptions(options: Record<string, OptionSpec>) {
  return Object.fromEntries(
    Object.entries(options).map(([name, option]) => [
      name,
      option.short ? { type: option.type, short: option.short } : { type: option.type },
    ]),
  );
}

const EVERY_OPTION: Record<string, OptionSpec> = Object.assign(
  {},
  GLOBAL_OPTIONS,
  ...Object.values(COMMANDS).map((spec) => spec.options),
);

/**
 * `--lookback -1` would be read as a missing value followed by an unknown flag `-1`; joining
 * it as `--lookback=-1` lets the schema say what is wrong with the number instead.
 */
function joinNegativeNumbers(argv: string[]): string[] {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const option = EVERY_OPTION[argv[i].replace(/^--/, '')];
    if (argv[i].startsWith('--') && option?.type === 'string' && /^-\d/.test(argv[i + 1] ?? '')) {
      args.push(`${argv[i]}=${argv[i + 1]}`);
      i += 1;
    } else {
      args.push(argv[i]);
    }
  }
  return args;
}

interface CommandLine {
  command: CommandName | undefined;
  values: FlagValues;
  positionals: string[];
}

function parseCommandLine(argv: string[]): CommandLine {
  const args = joinNegativeNumbers(argv);
  // First pass, lenient: find the command wherever the global flags put it.
  const lenient = parseArgs({
    args,
    options: toParseArgsOptions(EVERY_OPTION),
    strict: false,
    allowPositionals: true,
  });
  const first = lenient.positionals[0];
  if (first === undefined) {
    if (lenient.values.help === true) return { command: undefined, values: { help: true }, positionals: [] };
    throw new UsageError('No command given');
  }
  if (!isCommandName(first)) throw new UsageError(`Unknown command ${JSON.stringify(first)}`);
  const spec = COMMANDS[first];
  let parsed: { values: FlagValues; positionals: string[] };
  try {
    parsed = parseArgs({
      args,
      options: toParseArgsOptions({ ...GLOBAL_OPTIONS, ...spec.options }),
      strict: true,
      allowPositionals: true,
    }) as { values: FlagValues; positionals: string[] };
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0], first);
  }
  const positionals = parsed.positionals.slice(1);
  if (parsed.values.help !== true) {
    if (positionals.length < spec.positionals.min) {
      throw new UsageError(`${first} needs ${spec.arguments}`, first);
    }
    if (positionals.length > spec.positionals.max) {
      throw new UsageError(`Unexpected argument ${JSON.stringify(positionals[spec.positionals.max])}`, first);
    }
  }
  return { command: first, values: parsed.values, positionals };
}

function stringFlags<K extends string>(values: FlagValues, names: readonly K[]): Partial<Record<K, string>> {
  const flags: Partial<Record<K, string>> = {};
  for (const name of names) {
    const value = values[name];
    if (typeof value === 'string') flags[name] = value;
  }
  return flags;
}

/** What each command needs from the target before it can run. */
function targetNeedOf(command: CommandName, positionals: string[]): TargetNeed {
  if (command === 'run') return 'stateMachine';
  if (command === 'status' || command === 'redrive') {
    return positionals[0] !== undefined && isExecutionArn(positionals[0]) ? 'nothing' : 'stateMachine';
  }
  return 'controlTable';
}

async function runCommand(line: CommandLine, clients: CliClients, deps: CliDeps, io: CliIo): Promise<number> {
  const command = line.command as CommandName;
  const { values, positionals } = line;
  // Argument checks before any AWS call: a typo never costs a stack lookup.
  const objectName = positionals[0];
  if (['add', 'enable', 'disable', 'reset', 'remove', 'history'].includes(command))
    checkObjectName(objectName, command);
  const addRow =
    command === 'add'
      ? buildNewControlRow(objectName, {
          ...stringFlags(values, Object.keys(COMMANDS.add.options)),
          // The one boolean flag of `add`: present means on.
          ...(values.history === true ? { history: 'true' } : {}),
        } as AddFlagValues)
      : undefined;
  const runFlags: RunFlags = {
    ...stringFlags(values, ['objects', 'run-date', 'from', 'to'] as const),
    full: values.full === true,
  };
  const runInput = command === 'run' ? buildExecutionInput(runFlags) : undefined;
  const runName = typeof values.name === 'string' ? values.name : undefined;
  if (runName !== undefined) checkExecutionName(runName, '--name', 'run');
  const executionReference = command === 'status' || command === 'redrive' ? positionals[0] : undefined;
  if (executionReference !== undefined && !isExecutionArn(executionReference)) {
    checkExecutionName(executionReference, '<execution>', command);
  }
  const verify = command === 'verify' ? verifyRequestOf(line, deps) : undefined;
  const history = command === 'history' ? historyRequestOf(line, deps) : undefined;

  const targetFlags = stringFlags(values, ['env', 'table', 'state-machine-arn'] as const) as TargetFlags;
  const hint = hintWithTarget(targetFlags);
  const target = await resolveTarget(targetFlags, targetNeedOf(command, positionals), {
    environments: deps.environments ?? environments,
    cloudFormation: clients.cloudFormation,
  });
  const table = target.controlTableName ?? '';
  const doc = () => clients.controlTable(target.region);
  // A state machine or execution ARN names its own region.
  const sfnFor = (arn: string) => clients.stepFunctions(regionOfArn(arn) ?? target.region);
  // verify and history: the control table and the environment's warehouse.
  const warehouseReads = (config: EnvironmentConfig): WarehouseReadTarget => ({
    controlTable: doc(),
    controlTableName: table,
    redshift: clients.redshiftData(target.region),
    warehouse: warehouseOf(config),
    finalSchema: config.source.finalSchema,
    sources: config.sources,
  });

  switch (command) {
    case 'list': {
      const listing = await listObjects(doc(), table, target.sources, {
        now: (deps.now ?? (() => new Date()))(),
        flowTimeoutMinutes: target.flowTimeoutMinutes ?? DEFAULT_FLOW_TIMEOUT_MINUTES,
        tickMinutes: target.tickMinutes ?? DEFAULT_TICK_MINUTES,
      });
      if (listing.count === 0) {
        io.out(`Control table ${table} has no objects yet; add one with: ${hint('add <Object>')}`);
        return 0;
      }
      io.out(`Control table ${table}: ${listing.count} objects, ${listing.invalidRows.length} invalid\n`);
      io.out(listing.table);
      if (listing.invalidRows.length > 0) {
        io.out('\nInvalid rows (runs report them as failed and load every other object):');
        for (const error of listing.invalidRows) io.out(`  ${error}`);
      }
      return 0;
    }
    case 'add': {
      const added = await addObject(doc(), table, addRow ?? {}, target.sources);
      const source = added.sourceName ?? 'salesforce';
      const entity = added.entityName ? `, entity ${added.entityName}` : '';
      io.out(
        `Added ${added.objectName} to ${table}: mode ${added.syncMode}, delete mode ${added.deleteMode}, ` +
          `target table ${added.targetTable} (source ${source}${entity}: key ${added.primaryKey}, cursor ${added.cursorField}), ` +
          `every ${formatMinutes(added.syncEveryMinutes)}. Its first run is a full load.`,
      );
      if (!target.sources && added.sourceName && added.sourceName !== 'salesforce') {
        io.out(
          `Source ${added.sourceName} was not checked (no --env): a run reports the row if the environment has no such source.`,
        );
      }
      io.out(`Load it now with: ${hint(`run --objects ${added.objectName}`)}`);
      return 0;
    }
    case 'enable':
    case 'disable':
      io.out(await setObjectEnabled(doc(), table, objectName, command === 'enable'));
      return 0;
    case 'reset':
      io.out(await requestReset(doc(), table, objectName, hint));
      return 0;
    case 'remove':
      if (values.yes !== true) {
        io.err(await describeRemoval(doc(), table, objectName, target.schemas, target.sources));
        return 2;
      }
      io.out(await removeObject(doc(), table, objectName, target.schemas, target.sources));
      return 0;
    case 'run': {
      const stateMachineArn = target.stateMachineArn ?? '';
      io.out(await startRun(sfnFor(stateMachineArn), stateMachineArn, runInput ?? {}, runName, hint));
      return 0;
    }
    case 'status': {
      if (objectName === undefined) {
        const stateMachineArn = target.stateMachineArn ?? '';
        io.out(await listRecentExecutions(sfnFor(stateMachineArn), stateMachineArn));
        return 0;
      }
      const executionArn = executionArnFor(objectName, target.stateMachineArn, command);
      io.out(await describeRun(sfnFor(executionArn), executionArn, hint, objectName));
      return 0;
    }
    case 'redrive': {
      const executionArn = executionArnFor(objectName, target.stateMachineArn, command);
      io.out(await redriveRun(sfnFor(executionArn), executionArn, hint, objectName));
      return 0;
    }
    case 'verify': {
      const { request, config } = verify as { request: VerifyRequest; config: EnvironmentConfig };
      const limitsSecretId = config.source.apiLimitsSecretName;
      if (!limitsSecretId) {
        throw new OperationError(
          `Environment ${config.name} has no source.apiLimitsSecretName: verify reads Salesforce with the quota guard's ` +
            'credentials; create that secret (docs/deploying.md, "Quota guard: the API-limits secret") and name it in config/environments.ts',
        );
      }
      const results = await verifyObjects(
        {
          ...warehouseReads(config),
          secrets: clients.secretsManager(target.region),
          limitsSecretId,
          ...(deps.fetchImpl ? { fetchImpl: deps.fetchImpl } : {}),
        },
        request,
      );
      io.out(renderVerification(results, request));
      return results.some((result) => result.outcome === 'different' || result.outcome === 'failed') ? 1 : 0;
    }
    case 'history': {
      const { request, config } = history as { request: HistoryRequest; config: EnvironmentConfig };
      const versions = await readRecordHistory(warehouseReads(config), request);
      io.out(renderRecordHistory(versions, request));
      return 0;
    }
  }
}

/** The environment's warehouse as the Data API addresses it. */
function warehouseOf(config: EnvironmentConfig) {
  return {
    database: config.redshift.database,
    secretId: config.redshift.secretName,
    ...(config.redshift.kind === 'serverless'
      ? { workgroupName: config.redshift.workgroupName }
      : { clusterIdentifier: config.redshift.clusterIdentifier }),
  };
}

/** The environment named by --env (the warehouse's address), checked before any AWS call. */
function environmentOf(
  line: CommandLine,
  deps: CliDeps,
  command: CommandName,
  why: string,
): EnvironmentConfig {
  const envName = typeof line.values.env === 'string' ? line.values.env : undefined;
  if (envName === undefined) throw new UsageError(`${command} needs --env NAME: ${why}`, command);
  try {
    return resolveEnvironmentConfig(deps.environments ?? environments, envName);
  } catch (error) {
    throw new UsageError(
      `--env: ${(error as Error).message.replace('-c env=<name>', '--env <name>')}`,
      command,
    );
  }
}

/** history's arguments and environment, checked before any AWS call. */
function historyRequestOf(
  line: CommandLine,
  deps: CliDeps,
): { request: HistoryRequest; config: EnvironmentConfig } {
  const [objectName, recordId] = line.positionals;
  checkRecordId(recordId);
  const columns = parseHistoryColumns(
    typeof line.values.columns === 'string' ? line.values.columns : undefined,
  );
  const allColumns = line.values['all-columns'] === true;
  if (columns && allColumns) {
    throw new UsageError('history takes --columns or --all-columns, not both', 'history');
  }
  const config = environmentOf(line, deps, 'history', 'the warehouse comes from the environment config');
  return {
    request: { objectName, recordId, ...(columns ? { columns } : {}), ...(allColumns ? { allColumns } : {}) },
    config,
  };
}

/** verify's arguments and environment, checked before any AWS call. */
function verifyRequestOf(
  line: CommandLine,
  deps: CliDeps,
): { request: VerifyRequest; config: EnvironmentConfig } {
  const objectName = line.positionals[0];
  const all = line.values.all === true;
  if (all === (objectName !== undefined)) {
    throw new UsageError('verify needs <Object> or --all (one of them)', 'verify');
  }
  if (objectName !== undefined) checkObjectName(objectName, 'verify');
  const window = parseVerifyWindow(
    stringFlags(line.values, ['days', 'as-of'] as const),
    (deps.now ?? (() => new Date()))(),
  );
  const config = environmentOf(
    line,
    deps,
    'verify',
    'the warehouse and the source credentials come from the environment config',
  );
  return { request: { ...(objectName !== undefined ? { objectName } : {}), ...window }, config };
}

/** The whole CLI: returns the exit code (0 ok, 1 operation failed, 2 usage error). */
export async function main(argv: string[], io: CliIo = processIo, deps: CliDeps = {}): Promise<number> {
  const ownClients = deps.clients ? undefined : sdkClients();
  const clients = deps.clients ?? (ownClients as CliClients);
  let command: CommandName | undefined;
  try {
    const line = parseCommandLine(argv);
    command = line.command;
    if (line.values.help === true) {
      io.out(line.command ? commandUsage(line.command) : globalUsage());
      return 0;
    }
    return await runCommand(line, clients, deps, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`Error: ${error.message}`);
      io.err(shortUsage(error.command && isCommandName(error.command) ? error.command : command));
      return 2;
    }
    if (error instanceof OperationError) {
      io.err(`Error: ${error.message}`);
      return 1;
    }
    // AWS and network errors: their name is the service's error code, which is what to search for.
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    io.err(`Error: ${command ?? 'command'} failed: ${name}: ${message}`);
    if (CREDENTIAL_ERRORS.test(name)) {
      io.err(
        `Check the AWS credentials in use (AWS_PROFILE=${process.env.AWS_PROFILE ?? '(not set)'}; e.g. aws sso login) and that they reach the environment's account.`,
      );
    }
    return 1;
  } finally {
    ownClients?.destroy();
  }
}

if (require.main === module) {
  // The SDK's notice that releases after January 2027 need Node 22 would precede every command's output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // In the shell `npm run local -- --keep` prepared, `--env local` is the local run's stand-ins.
  const cliEnvironments = process.env[LOCAL_RUN_ENV]
    ? { ...environments, local: LOCAL_CONFIG }
    : environments;
  main(process.argv.slice(2), processIo, { environments: cliEnvironments }).then((code) => {
    process.exitCode = code;
  });
}
