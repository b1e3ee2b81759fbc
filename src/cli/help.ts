/**
 * Help layout. yargs sets examples in two columns and wraps a long command line inside its column; like kubectl,
 * each example is instead a `# what it does` line above the whole command, so neither ever wraps into the other.
 * Footers are given as paragraphs and left to yargs to wrap at the terminal width.
 */
import type { Argv } from 'yargs';
import { cliProcess } from './cli-process.js';

/** Help width: the terminal's, else $COLUMNS (pipes, tests), else 100; at most 120 (longer lines are hard to read). */
export function helpWidth(columns: number | undefined = (cliProcess().stdout as NodeJS.WriteStream).columns, env: NodeJS.ProcessEnv = cliProcess().env): number {
  const width = columns ?? (Number(env.COLUMNS) || 100);
  return Math.max(40, Math.min(120, width));
}

/** The locale yargs would pick (its own order of variables), from a run's environment rather than the process's. */
export function yargsLocale(env: NodeJS.ProcessEnv): string {
  return (env.LC_ALL || env.LC_MESSAGES || env.LANG || env.LANGUAGE || 'en_US').replace(/[.:].*/, '');
}

/**
 * Pure: the lines yargs is given for one example: `# what it does`, wrapped as comment lines, then the command, broken
 * like a shell line (` \` at the end) when it is longer than the width.
 */
export function exampleLines(command: string, description: string, width = helpWidth()): string[] {
  // yargs pads example lines by 2 on either side
  const room = width - 4;
  const comments = description === '' ? [] : fill(description.split(' '), room, '# ', '# ');
  const words = command.split(' ');
  // (yargs trims leading spaces, so continuation lines cannot be indented; the ` \\` keeps them one shell command)
  const commandLines = fill(words, room - 2, '', '');
  return [...comments, ...commandLines.map((line, i) => (i < commandLines.length - 1 ? `${line} \\` : line))];
}

/** Pure: words filled greedily into lines of at most `room` characters (a longer word gets a line of its own). */
function fill(words: readonly string[], room: number, first: string, next: string): string[] {
  const lines: string[] = [];
  for (const word of words) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last]!.length + 1 + word.length <= room) lines[last] += ` ${word}`;
    else lines.push(`${last < 0 ? first : next}${word}`);
  }
  return lines;
}

/** Make every `.example(command, description)` on this yargs instance (it is reused for every command) use that layout. */
export function stackExamples<T>(cli: Argv<T>): Argv<T> {
  const original = cli.example.bind(cli) as (command: string, description: string) => Argv<T>;
  const stacked = (command: string, description = ''): Argv<T> => {
    for (const line of exampleLines(command, description)) original(line, '');
    return cli;
  };
  (cli as unknown as { example: typeof stacked }).example = stacked;
  return cli;
}

/** The part of yargs' internals (yargs is pinned in package.json) that holds a rendered help for later. */
interface UsageCache {
  getInternalMethods?(): { getUsageInstance?(): { cacheHelpMessage?(): void } };
}

/**
 * yargs renders the running command's whole help once its handler has started (usage.cacheHelpMessage, for a later
 * showHelp()): ~20 ms of CPU in every `dpc` run for text no one sees, as dpc never shows help from a handler and its
 * .fail() throws. This turns that cache off; `--help` renders as before.
 */
export function withoutHelpCache<T>(cli: Argv<T>): Argv<T> {
  const usage = (cli as unknown as UsageCache).getInternalMethods?.().getUsageInstance?.();
  if (usage?.cacheHelpMessage) usage.cacheHelpMessage = () => {};
  return cli;
}
