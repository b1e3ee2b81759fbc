/**
 * Pure: turn yargs' terse unknown-command failures ("Did you mean show?", "Unknown argument: shw") into
 * `unknown command "shw" for "dpc org"; did you mean "show"?`, and a bare group (`dpc org`) into `name a command for
 * "dpc org"`, and a leaf short of arguments into one naming the command. Command names come from the registered modules.
 */
import { positionals } from './positionals.js';

export interface CommandShape {
  /** The yargs command string, e.g. `org <command>` (a group) or `init`. */
  command: string | readonly string[];
}

export function unknownCommandMessage(args: readonly string[], message: string, commands: readonly CommandShape[]): string | undefined {
  const suggestion = /^Did you mean (\S+)\?$/.exec(message)?.[1];
  const unknownArg = /^Unknown arguments?: (\S+?),?(?: |$)/.exec(message)?.[1];
  // a group's demandCommand message (`Name an org command: show.`) when the word given matched no subcommand
  const noMatch = /^Name an? .*command/.test(message);
  // a bare group (`dpc org`): yargs checks the group's own `<command>` positional before its demandCommand
  const missing = /^Not enough non-option arguments/.test(message);
  if (suggestion === undefined && unknownArg === undefined && !noMatch && !missing) return undefined;

  const words = positionals(args);
  const top = words[0];
  if (top === undefined) return undefined;
  const topCommand = commands.find((c) => firstWord(c.command) === top);
  if (missing) {
    if (topCommand !== undefined && isGroup(topCommand.command) && words.length === 1) return `name a command for "dpc ${top}"; \`dpc ${top} --help\` lists them`;
    return missingArgumentMessage(words, message);
  }
  let path: string;
  let unknown: string | undefined;
  if (topCommand === undefined) {
    [path, unknown] = ['dpc', top];
  } else if (isGroup(topCommand.command)) {
    [path, unknown] = [`dpc ${top}`, words[1]];
  } else {
    return undefined; // a leaf command: an unknown word there is an unexpected argument, not a command
  }
  if (unknown === undefined || (unknownArg !== undefined && unknownArg !== unknown)) return undefined;
  return `unknown command ${JSON.stringify(unknown)} for ${JSON.stringify(path)}${suggestion ? `; did you mean ${JSON.stringify(suggestion)}?` : `; \`${path} --help\` lists them`}`;
}

/**
 * A leaf command short of positionals (`dpc sandbox clock`): yargs says only "got 0, need at least 1". The words given
 * past the command path are the `got` ones, so the path is what comes before them.
 */
function missingArgumentMessage(words: readonly string[], message: string): string | undefined {
  const counts = /got (\d+), need at least (\d+)/.exec(message);
  if (counts === null) return undefined;
  const [got, need] = [Number(counts[1]), Number(counts[2])];
  const path = ['dpc', ...words.slice(0, words.length - got)].join(' ');
  return `"${path}" needs ${need - got === 1 ? 'one more argument' : `${need - got} more arguments`}; \`${path} --help\` shows its usage`;
}

function commandString(command: string | readonly string[]): string {
  return typeof command === 'string' ? command : (command[0] ?? '');
}

function firstWord(command: string | readonly string[]): string {
  return commandString(command).split(' ')[0] ?? '';
}

function isGroup(command: string | readonly string[]): boolean {
  return commandString(command).includes('<command>');
}
