import type { TargetFlags } from './target';

/** Renders a follow-up command to suggest; pasted as printed, it acts on the same pipeline. */
export type CommandHint = (args: string) => string;

export const plainHint: CommandHint = (args) => `npm run objects -- ${args}`;

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
