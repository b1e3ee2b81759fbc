/**
 * Which invocations get the streaming V8 settings (src/cli/v8-flags.ts). bin/dpc applies them before the CLI's modules
 * load, because the young generation only stays small if it has not grown yet: set after start-up, the same flags
 * leave the peak RSS of a download ~20 MiB higher (bench).
 */
import { tuneForStreaming } from './v8-flags.js';
import { positionals } from './positionals.js';

/** `dpc [global options] export run|download ...`: the commands that stream gigabytes. Pure. */
export function isStreamingCommand(args: readonly string[]): boolean {
  const [command, subcommand] = positionals(args);
  return command === 'export' && (subcommand === 'run' || subcommand === 'download');
}

/** Apply the streaming settings when `args` name a streaming command; returns the flags applied. */
export function tuneForCommand(args: readonly string[], env: NodeJS.ProcessEnv = process.env): readonly string[] {
  return isStreamingCommand(args) ? tuneForStreaming(env) : [];
}
