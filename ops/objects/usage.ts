/** Every command's flags and help text: the CLI parses with these and prints them, so they never disagree. */

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Placeholder of a string flag's value in the help text. */
  value?: string;
  help: string;
}

export type CommandName =
  | 'list'
  | 'add'
  | 'enable'
  | 'disable'
  | 'reset'
  | 'remove'
  | 'run'
  | 'status'
  | 'redrive'
  | 'verify'
  | 'history';

export interface CommandSpec {
  /** Positional arguments as shown in the synopsis, e.g. `<Object>`. */
  arguments: string;
  positionals: { min: number; max: number };
  summary: string;
  options: Record<string, OptionSpec>;
  /** Lines shown under the command's own `--help`. */
  notes?: string[];
}

export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  env: {
    type: 'string',
    value: 'NAME',
    help: 'environment in config/environments.ts: region, and the stack SaasToRedshift-NAME for the table and state machine',
  },
  table: { type: 'string', value: 'NAME', help: 'control table name (skips the stack lookup)' },
  'state-machine-arn': { type: 'string', value: 'ARN', help: 'state machine ARN (skips the stack lookup)' },
  help: { type: 'boolean', short: 'h', help: 'show help' },
};

const objectArgument = { arguments: '<Object>', positionals: { min: 1, max: 1 } };

export const COMMANDS: Record<CommandName, CommandSpec> = {
  list: {
    arguments: '',
    positionals: { min: 0, max: 0 },
    summary:
      'every object, grouped by source: mode, delete mode, enabled, cadence, complete through, lag, last run, records, error',
    options: {},
    notes: [
      'Rows the pipeline would reject are marked INVALID and their full validation error is listed below.',
      '"complete through": every change with a cursor at or before it is in the final table; "lag": how long ago',
      'that is. OVERDUE: lag over twice the cadence plus the flow timeout (the ObjectsOverdue alarm counts these).',
    ],
  },
  add: {
    ...objectArgument,
    summary: 'add an object (validated with the pipeline schema; its first run is a full load)',
    options: {
      fields: {
        type: 'string',
        value: 'a,b,c',
        help: 'columns to load (default: all); key, cursor and (Salesforce) IsDeleted are always kept',
      },
      source: {
        type: 'string',
        value: 'NAME',
        help: 'configured source (config sources; default salesforce): schemas <NAME>_incremental and <NAME>',
      },
      entity: {
        type: 'string',
        value: 'NAME',
        help: 'source entity when it differs from <Object> (two sources with an orders entity need two objects)',
      },
      cursor: {
        type: 'string',
        value: 'FIELD',
        help: "change timestamp field (default: the source's; Salesforce SystemModstamp, custom connectors updated_at)",
      },
      pk: {
        type: 'string',
        value: 'FIELD',
        help: "primary key field (default: the source's; Salesforce Id, custom connectors id)",
      },
      mode: { type: 'string', value: 'full|incremental', help: 'sync mode (default incremental)' },
      'delete-mode': {
        type: 'string',
        value: 'hard|soft|ignore',
        help: 'what a source delete does (default hard)',
      },
      lookback: {
        type: 'string',
        value: 'MINUTES',
        help: 'overlap of the change window, 0-10080 (default 60)',
      },
      'target-table': {
        type: 'string',
        value: 'name',
        help: 'warehouse table (default: the object name lower-cased)',
      },
      'profile-name': {
        type: 'string',
        value: 'PROFILE',
        help: "AppFlow connector profile (default: the source's)",
      },
      every: {
        type: 'string',
        value: 'MINUTES',
        help: 'how often scheduled ticks run it, 15-10080 (default 1440: daily at the daily time; 60: hourly)',
      },
      'formulas-every': {
        type: 'string',
        value: 'MINUTES',
        help: 'how often formula fields and --refresh-fields are refreshed, 0 = never (default 1440)',
      },
      'refresh-fields': {
        type: 'string',
        value: 'a,b',
        help: 'fields that change without moving the cursor, refreshed with the formulas',
      },
      history: {
        type: 'boolean',
        help: 'keep every captured version in <final schema>_history.<table> (default off)',
      },
    },
    notes: [
      'Only the flags given are written; everything else keeps the pipeline default.',
      "Refuses an object that already exists, or one that would load into another object's table.",
    ],
  },
  enable: { ...objectArgument, summary: 'load the object again from the next run', options: {} },
  disable: {
    ...objectArgument,
    summary: 'skip the object in runs (watermark and tables are kept)',
    options: {},
  },
  reset: {
    ...objectArgument,
    summary: 'reload the object in full on the next run (sets resetRequested)',
    options: {},
  },
  remove: {
    ...objectArgument,
    summary: "delete the object's control row (warehouse tables are kept)",
    options: { yes: { type: 'boolean', help: 'really delete; without it, says what would be deleted' } },
  },
  run: {
    arguments: '',
    positionals: { min: 0, max: 0 },
    summary: 'start an execution (no flags: every enabled object, due or not)',
    options: {
      objects: { type: 'string', value: 'A,B', help: 'only these objects' },
      full: { type: 'boolean', help: 'full reload (syncMode full) of the chosen objects' },
      'run-date': { type: 'string', value: 'YYYY-MM-DD', help: 'backfill one day (watermarks do not move)' },
      from: { type: 'string', value: 'YYYY-MM-DD', help: 'backfill from this day (with --to)' },
      to: { type: 'string', value: 'YYYY-MM-DD', help: 'backfill to this day, inclusive' },
      name: { type: 'string', value: 'NAME', help: 'execution name (default: generated by Step Functions)' },
    },
    notes: ['Prints the execution ARN and its console URL.'],
  },
  status: {
    arguments: '[<execution>]',
    positionals: { min: 0, max: 1 },
    summary: 'the last 10 executions; or one execution (name or ARN): status, per-object report, cause',
    options: {},
  },
  redrive: {
    arguments: '<execution>',
    positionals: { min: 1, max: 1 },
    summary: 'redrive a failed execution from the failed step (name or ARN)',
    options: {},
    notes: [
      'For an execution that failed outside the per-object steps (e.g. a Lambda outage).',
      'Objects that failed are retried with "run --objects …" (status prints it), not by redrive.',
    ],
  },
  verify: {
    arguments: '[<Object>]',
    positionals: { min: 0, max: 1 },
    summary: 'compare live records in the source and the warehouse: total and per day of the cursor field',
    options: {
      all: { type: 'boolean', help: 'every object of the control table (instead of <Object>)' },
      days: { type: 'string', value: 'N', help: 'days counted per day, ending with --as-of (default 30)' },
      'as-of': { type: 'string', value: 'YYYY-MM-DD', help: 'last day counted, UTC (default today)' },
    },
    notes: [
      'Needs --env: the warehouse (Data API) and the source credentials (source.apiLimitsSecretName,',
      "the quota guard's secret) come from the environment config; Salesforce is read through its REST API.",
      'Objects of custom connectors are skipped: counting them would take a full-load flow.',
      'Prints the days that differ; exit code 1 when anything differs. Run it right after a sync:',
      'records changed since the last run differ until the next one loads them.',
    ],
  },
  history: {
    arguments: '<Object> <id>',
    positionals: { min: 2, max: 2 },
    summary:
      "one record's versions from the object's history table: valid from, valid to, active, what changed",
    options: {
      columns: { type: 'string', value: 'a,b', help: 'show these columns (default: those that change)' },
      'all-columns': { type: 'boolean', help: 'show every column of the table' },
    },
    notes: [
      'Needs --env: the warehouse (Data API) comes from the environment config. Reads',
      '<final schema>_history.<targetTable>, which objects with history: true on their control row keep.',
      'A version whose end says (deleted) was closed by a delete at the source (or a purge a full sync found).',
      'Changes between two runs collapse into one version: history holds the versions the runs captured.',
    ],
  },
};

export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

const PROGRAM = 'npm run objects --';

function optionLines(options: Record<string, OptionSpec>): string[] {
  const labels = Object.entries(options).map(([name, option]) => {
    const short = option.short ? `-${option.short}, ` : '';
    return [`${short}--${name}${option.value ? ` ${option.value}` : ''}`, option.help];
  });
  const width = Math.max(...labels.map(([label]) => label.length));
  return labels.map(([label, help]) => `  ${label.padEnd(width)}  ${help}`);
}

function synopsis(name: CommandName): string {
  const spec = COMMANDS[name];
  const flags = Object.entries(spec.options).map(([flag, option]) =>
    option.type === 'boolean' ? `[--${flag}]` : `[--${flag} ${option.value ?? 'VALUE'}]`,
  );
  return [PROGRAM, name, spec.arguments, ...flags].filter((part) => part !== '').join(' ');
}

export function globalUsage(): string {
  const names = Object.keys(COMMANDS) as CommandName[];
  const width = Math.max(...names.map((name) => `${name} ${COMMANDS[name].arguments}`.trimEnd().length));
  return [
    `Usage: ${PROGRAM} <command> [arguments] (--env NAME | --table NAME | --state-machine-arn ARN)`,
    '',
    "Manage the control table and the executions of one environment's pipeline.",
    '',
    'Commands:',
    ...names.map(
      (name) =>
        `  ${`${name} ${COMMANDS[name].arguments}`.trimEnd().padEnd(width)}  ${COMMANDS[name].summary}`,
    ),
    '',
    'Target (every command):',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'AWS credentials and region come from the usual settings (AWS_PROFILE, AWS_REGION, …);',
    'AWS_ENDPOINT_URL_DYNAMODB points the control-table commands at a local DynamoDB.',
    `"${PROGRAM} <command> --help" shows a command's flags.`,
    'Exit codes: 0 ok, 1 the operation failed, 2 usage error.',
  ].join('\n');
}

export function commandUsage(name: CommandName): string {
  const spec = COMMANDS[name];
  const lines = [`Usage: ${synopsis(name)}`, '', `${name}: ${spec.summary}`];
  if (Object.keys(spec.options).length > 0) lines.push('', 'Flags:', ...optionLines(spec.options));
  if (spec.notes) lines.push('', ...spec.notes);
  lines.push('', 'Target:', ...optionLines(GLOBAL_OPTIONS));
  return lines.join('\n');
}

/** The one-line reminder printed with a usage error. */
export function shortUsage(name: CommandName | undefined): string {
  return name
    ? `Usage: ${synopsis(name)}\n"${PROGRAM} ${name} --help" for details`
    : `Usage: ${PROGRAM} <command> … ; "${PROGRAM} --help" lists the commands`;
}
