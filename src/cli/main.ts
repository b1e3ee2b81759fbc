/**
 * The `dpc` command line: yargs parses, a command handler calls the library, Output prints.
 * Errors end as one line on stderr and a documented exit code; stack traces only with --debug.
 */
import yargs, { type Argv, type CommandModule } from 'yargs';
import { DpcError } from '../errors.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';
import { commands } from './commands/index.js';
import { completeWord, completionCommand } from './completion.js';
import { unknownCommandMessage } from './unknown-command.js';
import { unknownFlagMessage } from './unknown-flag.js';
import { helpWidth, stackExamples, withoutHelpCache, yargsLocale } from './help.js';
import { logsEvents, Output, wasPrintedWithResult } from './output.js';
import { positionals } from './positionals.js';
import { VERSION } from '../version.js';
import { withCliProcess, type CliIO, type CliProcess } from './cli-process.js';

/** Options every command accepts (see README "Configuration": flags > env > config file). */
function withGlobalOptions(cli: Argv): Argv {
  return cli
    .option('profile', { type: 'string', describe: 'Config profile to use (env DPC_PROFILE)', global: true })
    .option('base-url', { type: 'string', describe: 'API base URL, e.g. https://sandbox.dpc.cms.gov/api/v1 (env DPC_BASE_URL)', global: true })
    .option('client-token', { type: 'string', describe: 'Client token (prefer env DPC_CLIENT_TOKEN or the config file)', global: true })
    .option('private-key', { type: 'string', describe: 'Path to the PEM private key (env DPC_PRIVATE_KEY)', global: true })
    .option('key-id', { type: 'string', describe: 'Public key id used as the JWT kid, a UUID for DPC (env DPC_KEY_ID)', global: true })
    .option('passphrase-file', { type: 'string', describe: 'File holding the private key passphrase (env DPC_KEY_PASSPHRASE)', global: true })
    .option('config', { type: 'string', describe: 'Config file path (env DPC_CONFIG)', global: true })
    .option('json', { type: 'boolean', default: false, describe: 'Print results as JSON', global: true })
    .option('debug', { type: 'boolean', default: false, describe: 'Print HTTP requests (secrets redacted) and stack traces', global: true })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Print only results and errors', global: true })
    // yargs lists a command's groups in creation order and drops empty ones on reset: seeding "Options:" with --help
    // keeps each command's own options (which yargs adds to "Options:") above the global ones
    .group(['help'], 'Options:')
    .group(GLOBAL_OPTIONS, 'Global options:');
}

const GLOBAL_OPTIONS = ['profile', 'base-url', 'client-token', 'private-key', 'key-id', 'passphrase-file', 'config', 'json', 'debug', 'quiet', 'version'];

/** One `dpc` run: its own streams, environment, secrets and exit code (see cli-process.ts); resolves to the exit code. */
export function runCli(args: string[], io: CliIO = {}): Promise<number> {
  return withCliProcess(io, (run) => parseAndRun(args, run));
}

async function parseAndRun(args: string[], run: CliProcess): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const cli = withoutHelpCache(stackExamples(withGlobalOptions(yargs(args))))
    .scriptName('dpc')
    .usage('$0 <command> [options]\n\nCommand-line client for the CMS Data at the Point of Care (DPC) API.')
    .version(VERSION)
    .alias('help', 'h')
    .command(commands)
    .command(completionCommand as CommandModule<any, any>)
    // answers the scripts' `--get-yargs-completions`; its own script command stays hidden (ours takes a shell name)
    .completion('__yargs-completion-script', false, completeWord)
    .demandCommand(1, 'Name a command; `dpc --help` lists them.')
    .recommendCommands()
    .strict()
    .exitProcess(false)
    .wrap(helpWidth())
    .locale(yargsLocale(run.env))
    .example('$0 init --sandbox-url http://127.0.0.1:3002 --default --verify', 'register with a running embedded sandbox')
    .example('$0 keys generate --out keys', 'an RSA-4096 key pair and the signature DPC asks for')
    .example('$0 auth token', 'an access token for curl')
    .epilogue('Exit codes: 0 ok, 1 failure, 2 bad input or usage, 3 authentication, 4 partial success.\nDocs: README.md')
    .fail((message, error) => {
      if (error) throw error;
      // yargs resets the one instance for the command being run, so its options now are that command's and the globals
      const known = Object.keys((cli as unknown as { getOptions(): { key: Record<string, unknown> } }).getOptions().key);
      throw new DpcError('ERR_USAGE', unknownCommandMessage(args, message, commands.map((c) => ({ command: c.command ?? '' }))) ?? unknownFlagMessage(args, message, known) ?? message);
    });
  // Ctrl-C before a command installs its own SIGINT handling (export, sandbox, demo stop gracefully) would
  // otherwise end the process with 130 and no word; those handlers take over while registered.
  const onInterrupt = () => {
    if (process.listenerCount('SIGINT') > 1) return;
    run.stderr.write('error: interrupted\n');
    process.exit(128 + 2); // 128 + SIGINT, as a shell reports a process killed by Ctrl-C
  };
  process.on('SIGINT', onInterrupt);
  try {
    // with a callback yargs hands over help, version and completions instead of printing them with console.log
    await cli.parseAsync(args, {}, (_error, _argv, output) => {
      if (output) run.stdout.write(`${output}\n`);
    });
    exitCode = run.exitCode ?? ExitCode.ok;
  } catch (error) {
    exitCode = reportError(error, args);
  } finally {
    process.off('SIGINT', onInterrupt);
  }
  return exitCode;
}

/**
 * One report per error (see Output.failure), and the exit code that goes with it. The output format follows the
 * command: --json adds a JSON error object on stdout; an event-logging command's non-terminal stderr gets an event.
 */
export function reportError(error: unknown, args: readonly string[], io: CliIO = {}): number {
  const output = new Output({
    json: args.includes('--json'),
    debug: args.includes('--debug'),
    eventLog: logsEvents(positionals(args)),
    stdout: io.stdout,
    stderr: io.stderr,
  });
  output.failure(error, { resultPrinted: wasPrintedWithResult(error) });
  return exitCodeFor(error);
}
