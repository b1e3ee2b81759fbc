/** Pure: the command words of a `dpc` argv, before yargs parses it (bin/dpc and failure messages need them). */

/** Global options that take a value, so the word after them is not a command. */
const VALUE_OPTIONS = new Set(['--profile', '--base-url', '--client-token', '--private-key', '--key-id', '--passphrase-file', '--config']);

export function positionals(args: readonly string[]): string[] {
  const words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') break;
    if (arg.startsWith('-')) {
      if (VALUE_OPTIONS.has(arg)) i++;
      continue;
    }
    words.push(arg);
  }
  return words;
}
