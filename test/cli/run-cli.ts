/**
 * Runs `dpc`: in this process through runCli (each run with its own streams, environment and secrets, as in a child),
 * or as a child process (`node bin/dpc`) where the process itself is under test: exit on signals, the bin's cached
 * help and V8 tuning, stdin that is not a pipe, umask, a TMPDIR of its own.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/dpc', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  env?: Record<string, string>;
  input?: string;
}

/** The CLI runs from dist/: `npm test` builds first; a bare `vitest run` needs `npx tsc -p tsconfig.json`. */
export function assertBuilt(): void {
  if (!existsSync(new URL('../../dist/cli/main.js', import.meta.url))) {
    throw new Error('dist/ is missing: run `npx tsc -p tsconfig.json` (npm test does) before the CLI tests');
  }
}

/** A clean environment, as a child gets it: nothing from the developer's DPC_* settings leaks in. */
function cliEnv(env: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '', TMPDIR: tmpdir(), NO_COLOR: '1', ...env };
}

/** `dpc args` run in this process, as the bin runs it after its cached help. */
export async function runCli(args: string[], options: CliRunOptions = {}): Promise<CliResult> {
  const { runCli: run } = await import('../../src/cli/main.js');
  const stdout = new Collector();
  const stderr = new Collector();
  const code = await run(args, { stdout, stderr, stdin: Readable.from([Buffer.from(options.input ?? '')]), env: cliEnv(options.env) });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** `node bin/dpc args` as a child process. */
export function spawnCli(args: string[], options: CliRunOptions = {}): Promise<CliResult> {
  assertBuilt();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: cliEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** A stream that keeps what is written to it, as text. */
class Collector extends Writable {
  text = '';
  private readonly decoder = new TextDecoder();

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    this.text += typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    done();
  }
}
