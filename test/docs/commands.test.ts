import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { type CommandName, commandUsage, globalUsage, isCommandName } from '../../ops/objects/usage';
import { documentationFiles, markdownLines, ROOT } from './support/markdown';

/**
 * Commands shown in the README and docs/ stay true: every `npm run <script>` exists, every
 * `npm run objects|local|bench -- …` uses a command and flags its CLI's help lists, and each
 * block marked `<!-- help: npm run X -- … -->` is exactly what that help prints.
 */

const run = promisify(execFile);
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

/** The help of the CLIs that print it from a script (their usage is not exported). */
async function scriptHelp(script: string): Promise<string> {
  const { stdout } = await run(TSX, [script, '--help'], { cwd: ROOT, timeout: 60_000 });
  return stdout.trimEnd();
}

interface Mention {
  file: string;
  line: number;
  script: string;
  /** What follows `npm run <script> --` on that line, up to a closing backtick or a `#` comment. */
  args: string[];
}

const NPM_RUN = /npm run ([a-z][\w:-]*)((?: --(?= |$))?)([^`\n]*)/g;

function mentionsIn(file: string): Mention[] {
  const mentions: Mention[] = [];
  for (const line of markdownLines(fs.readFileSync(file, 'utf8'))) {
    for (const match of line.text.matchAll(NPM_RUN)) {
      const rest = match[2] ? match[3] : '';
      const words = rest.split(/\s+/).filter((word) => word !== '');
      const comment = words.findIndex((word) => word === '#' || word.startsWith('#'));
      mentions.push({
        file: path.relative(ROOT, file),
        line: line.number,
        script: match[1],
        args: comment === -1 ? words : words.slice(0, comment),
      });
    }
  }
  return mentions;
}

/** `[--objects`, `--name=x`, `--help"` → `--objects`, `--name`, `--help`; anything else is not a flag. */
function flagOf(word: string): string | undefined {
  const flag = /^[[("']*(--?[A-Za-z][\w-]*)/.exec(word)?.[1];
  return flag;
}

/** A flag as its help lists it: `--name` standing alone, not inside `--names`. */
function helpLists(help: string, flag: string): boolean {
  const escaped = flag.replace(/[-\\^$*+?.()|[\]{}]/g, '\\$&');
  return new RegExp(`(?<![\\w-])${escaped}(?![\\w-])`).test(help);
}

/** The objects CLI's global flags that take a value: their value is not the command. */
const GLOBAL_VALUE_FLAGS = new Set(['--env', '--table', '--state-machine-arn']);

function objectsCommandOf(args: string[]): CommandName | undefined | 'unknown' {
  for (let i = 0; i < args.length; i += 1) {
    const word = args[i];
    if (GLOBAL_VALUE_FLAGS.has(word)) {
      i += 1;
      continue;
    }
    if (word.startsWith('-')) continue;
    // Placeholders (`<command>`, `…`, `[arguments]`) stand for any command.
    if (!/^[a-z][a-z-]*$/.test(word)) return undefined;
    return isCommandName(word) ? word : 'unknown';
  }
  return undefined;
}

const files = documentationFiles();
const mentions = files.flatMap(mentionsIn);
const packageScripts = Object.keys(
  (
    JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    }
  ).scripts,
);

describe('commands in the README and docs/', () => {
  let localHelp: string;
  let benchHelp: string;
  beforeAll(async () => {
    [localHelp, benchHelp] = await Promise.all([scriptHelp('local/cli.ts'), scriptHelp('bench/run.ts')]);
  });

  it('are found at all (the scan itself works)', () => {
    const scripts = new Set(mentions.map((mention) => mention.script));
    expect([...scripts]).toEqual(expect.arrayContaining(['objects', 'local', 'bench']));
  });

  it('every npm run <script> names a script of package.json', () => {
    const unknown = mentions
      .filter((mention) => !packageScripts.includes(mention.script))
      .map((mention) => `${mention.file}:${mention.line}: npm run ${mention.script}`);
    expect(unknown).toEqual([]);
  });

  it('every npm run objects -- <command> [--flag] is in the CLI help', () => {
    const problems: string[] = [];
    for (const mention of mentions.filter((m) => m.script === 'objects')) {
      const where = `${mention.file}:${mention.line}`;
      const command = objectsCommandOf(mention.args);
      if (command === 'unknown') {
        problems.push(`${where}: unknown command in "${mention.args.join(' ')}"`);
        continue;
      }
      const help = command ? commandUsage(command) : globalUsage();
      for (const flag of mention.args.map(flagOf).filter((f): f is string => f !== undefined)) {
        if (!helpLists(help, flag)) problems.push(`${where}: ${command ?? '(no command)'} has no ${flag}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('every npm run local -- --flag and npm run bench -- --flag is in that CLI help', () => {
    const problems: string[] = [];
    for (const mention of mentions.filter((m) => m.script === 'local' || m.script === 'bench')) {
      const help = mention.script === 'local' ? localHelp : benchHelp;
      for (const flag of mention.args.map(flagOf).filter((f): f is string => f !== undefined)) {
        // Their usage line does not list --help itself; beforeAll just printed it with --help.
        if (flag !== '--help' && !helpLists(help, flag))
          problems.push(`${mention.file}:${mention.line}: npm run ${mention.script} has no ${flag}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('each <!-- help: … --> block is exactly what that help prints', async () => {
    const blocks: { where: string; command: string; shown: string }[] = [];
    for (const file of files) {
      const lines = fs.readFileSync(file, 'utf8').split('\n');
      lines.forEach((text, index) => {
        const marker = /^<!-- help: (.+?) -->$/.exec(text.trim());
        if (!marker) return;
        const open = lines[index + 1] ?? '';
        const close = lines.indexOf('```', index + 2);
        if (!open.startsWith('```') || close === -1) {
          blocks.push({
            where: `${path.relative(ROOT, file)}:${index + 1}`,
            command: marker[1],
            shown: '(no code block)',
          });
          return;
        }
        blocks.push({
          where: `${path.relative(ROOT, file)}:${index + 1}`,
          command: marker[1],
          shown: lines.slice(index + 2, close).join('\n'),
        });
      });
    }
    const printed = async (command: string): Promise<string> => {
      const objects = /^npm run objects -- (?:([a-z]+) )?--help$/.exec(command);
      if (objects) return objects[1] && isCommandName(objects[1]) ? commandUsage(objects[1]) : globalUsage();
      if (command === 'npm run local -- --help') return localHelp;
      if (command === 'npm run bench -- --help') return benchHelp;
      return `(no help known for "${command}")`;
    };
    expect(blocks.map((block) => block.command)).toEqual(
      expect.arrayContaining([
        'npm run objects -- --help',
        'npm run local -- --help',
        'npm run bench -- --help',
      ]),
    );
    for (const block of blocks) {
      expect({ where: block.where, shown: block.shown }).toEqual({
        where: block.where,
        shown: await printed(block.command),
      });
    }
  });
});
