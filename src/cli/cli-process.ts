/**
 * The process one `dpc` run talks to: its streams, environment, exit code and secrets. `runCli` binds one per run
 * (AsyncLocalStorage), so commands never reach for `process.*` themselves and several runs can share one Node process
 * (a program embedding the CLI, or the test suite) without seeing each other's environment, output or secrets.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Redactor } from '../redact.js';

/** What a caller of `runCli` may give a run in place of the process's own. */
export interface CliIO {
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  stdin?: NodeJS.ReadableStream;
  env?: NodeJS.ProcessEnv;
}

export interface CliProcess {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly stdin: NodeJS.ReadableStream;
  readonly env: NodeJS.ProcessEnv;
  /** The secrets this run knows (flags, env, config file, whatever its client receives), so Output can mask them. */
  readonly redactor: Redactor;
  /** Set by a command that finished without throwing but must not exit 0 (e.g. a failed doctor check). */
  exitCode?: number;
}

const runs = new AsyncLocalStorage<CliProcess>();

/** Run `body` as one CLI run with its own streams, environment, secrets and exit code. */
export function withCliProcess<T>(io: CliIO, body: (run: CliProcess) => Promise<T>): Promise<T> {
  const run = newRun(io);
  return runs.run(run, () => body(run));
}

/** A run knowing no secrets yet, with the process's own streams and environment where `io` gives none. */
function newRun(io: CliIO): CliProcess {
  return {
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    stdin: io.stdin ?? process.stdin,
    env: io.env ?? process.env,
    redactor: new Redactor(),
  };
}

let processItself: CliProcess | undefined;

/** The current run; outside `runCli` (code calling a command helper directly) the process itself. */
export function cliProcess(): CliProcess {
  return runs.getStore() ?? (processItself ??= newRun({}));
}
