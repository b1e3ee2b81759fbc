/**
 * `dpc sandbox start`: run the embedded DPC sandbox in the foreground until SIGINT/SIGTERM. With --seed it
 * prints a ready-to-use profile, including the client token: a throwaway credential of a local sandbox.
 */
import { once } from 'node:events';
import type { Argv, CommandModule } from 'yargs';
import { outputFor, type GlobalArgs } from '../context.js';
import type { Output } from '../output.js';
import { DpcError } from '../../errors.js';
import type { startSandbox } from '../../sandbox/index.js';
import { clockCommand, faultCommand } from './sandbox-admin.js';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export interface SandboxStartArgs extends GlobalArgs {
  port: number;
  host: string;
  state?: string;
  seed: boolean;
  testMode: boolean;
  jobDuration: number;
  scale: number;
  patientLimit: number;
}

/** A one-line complaint about a numeric flag out of range, or undefined when it is fine. */
function numberProblem(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): string | undefined {
  return Number.isFinite(value) && value >= min && value <= max ? undefined : `--${name} must be a number from ${min} to ${max}, got ${value}`;
}

/** Starts the sandbox, prints where it is, and keeps it up until `stop` aborts. */
export async function runSandbox(argv: SandboxStartArgs, output: Output, stop: AbortSignal): Promise<void> {
  const problem = numberProblem('port', argv.port, 0, 65535) ?? numberProblem('job-duration', argv.jobDuration, 0)
    ?? numberProblem('scale', argv.scale, 0) ?? numberProblem('patient-limit', argv.patientLimit, 1);
  if (problem) throw new DpcError('ERR_USAGE', problem);

  // loaded here, not at the top: `sandbox clock|fault` share this module and need none of the server (~100 ms)
  const { startSandbox: start } = await import('../../sandbox/index.js');
  let sandbox: Awaited<ReturnType<typeof startSandbox>>;
  try {
    sandbox = await start({
      port: argv.port,
      host: argv.host,
      ...(argv.state !== undefined ? { stateDir: resolve(argv.state) } : {}),
      seed: argv.seed,
      testMode: argv.testMode,
      jobDurationMs: argv.jobDuration,
      exportScale: argv.scale,
      patientLimit: argv.patientLimit,
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new DpcError('ERR_USAGE', `port ${argv.port} on ${argv.host} is already in use; pick another with --port (0 = any free port)`);
    if (code === 'EACCES' || code === 'EADDRNOTAVAIL') throw new DpcError('ERR_USAGE', `cannot listen on ${argv.host}:${argv.port} (${code})`);
    throw new DpcError('ERR_IO', `sandbox did not start: ${(error as Error).message}`, { cause: error });
  }

  try {
    const seed = sandbox.seed;
    let profile: SeedProfile | undefined;
    if (seed) {
      const clientTokenFile = join(sandbox.stateDir, 'client-token.txt');
      await writeFile(clientTokenFile, `${seed.clientToken}\n`, { mode: 0o600 });
      const { orgId, orgNpi, clientToken, keyId, privateKeyPath } = seed;
      profile = { orgId, orgNpi, clientToken, clientTokenFile, keyId, privateKeyPath };
    }
    if (output.json) {
      output.raw(JSON.stringify({ baseUrl: sandbox.baseUrl, origin: sandbox.origin, stateDir: sandbox.stateDir, testMode: argv.testMode, ...(profile ? { seed: profile } : {}) }));
    } else {
      output.raw(banner(sandbox.baseUrl, sandbox.origin, sandbox.stateDir, argv, profile));
    }
    if (!stop.aborted) await once(stop, 'abort');
    output.info('stopping the sandbox…');
  } finally {
    await sandbox.close();
  }
}

interface SeedProfile {
  orgId: string;
  orgNpi: string;
  clientToken: string;
  clientTokenFile: string;
  keyId: string;
  privateKeyPath: string;
}

function banner(baseUrl: string, origin: string, stateDir: string, argv: SandboxStartArgs, seed?: SeedProfile): string {
  const lines = [`DPC sandbox listening on ${baseUrl}`, `state    ${stateDir}${argv.state === undefined ? ' (temporary, deleted on exit; keep it with --state DIR)' : ''}`];
  if (argv.testMode) lines.push(`test mode: clock at ${origin}/__admin/clock, faults at ${origin}/__admin/faults`);
  if (seed) {
    lines.push(
      '',
      'Seeded profile (a throwaway local credential):',
      `  base URL      ${baseUrl}`,
      `  org id        ${seed.orgId}`,
      `  client token  ${seed.clientToken}`,
      `  key id        ${seed.keyId}`,
      `  private key   ${seed.privateKeyPath}`,
      '',
      'Use it:',
      `  dpc init --profile local --base-url ${baseUrl} --client-token-file ${seed.clientTokenFile} --private-key ${seed.privateKeyPath} --key-id ${seed.keyId} --default --verify`,
    );
  } else {
    lines.push('', 'Register a new organization with its own key:', `  dpc init --sandbox-url ${origin} --profile local --default --verify`);
  }
  lines.push('', 'Press Ctrl-C to stop.');
  return lines.join('\n');
}

const start: CommandModule<GlobalArgs, SandboxStartArgs> = {
  command: 'start',
  describe: 'Run the embedded DPC sandbox (DPC v1 API on loopback) until Ctrl-C',
  builder: (y) =>
    (y as Argv<GlobalArgs>)
      .option('port', { type: 'number', default: 3002, describe: 'Port to listen on (0 = any free port)' })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'Address to listen on' })
      .option('state', { type: 'string', describe: 'Directory for persisted state and export files (default: a temporary directory)' })
      .option('seed', { type: 'boolean', default: false, describe: 'Create an organization, client token, 4096-bit key pair and load the DPC sample practitioners and patients' })
      .option('test-mode', { type: 'boolean', default: false, describe: 'Enable the clock and fault admin endpoints (/__admin/clock, /__admin/faults)' })
      .option('job-duration', { type: 'number', default: 3000, describe: 'Milliseconds an export job stays in progress' })
      .option('scale', { type: 'number', default: 1, describe: 'Export size knob (claims per patient multiplier)' })
      .option('patient-limit', { type: 'number', default: 1350, describe: 'Roster size limit per group' })
      .example('$0 sandbox start --seed', 'sandbox on http://127.0.0.1:3002/api/v1 with sample data; prints a profile to use')
      .example('$0 sandbox start --state ./sandbox-state --seed', 'keep organizations, keys and rosters across restarts')
      .example('$0 sandbox start --port 0 --test-mode --job-duration 200 --json', 'for scripts and tests: any free port, fast jobs, JSON line with the URLs')
      .example('$0 sandbox start --scale 10', 'larger export files') as unknown as Argv<SandboxStartArgs>,
  handler: async (argv) => {
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      await runSandbox(argv, outputFor(argv), stop.signal);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};

export const sandboxCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  // command and describe: commands/index.ts (this module loads only when the command runs)
  builder: (y) =>
    y.command(start).command(clockCommand).command(faultCommand)
      .demandCommand(1, 'Name a sandbox command: start, clock, fault.')
      .example('$0 sandbox start --seed', 'a local DPC to develop against')
      .example('$0 sandbox clock advance 91d', 'on a --test-mode sandbox: rehearse the 90-day attribution lapse'),
  handler: () => {},
};
