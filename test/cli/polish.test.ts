/**
 * CLI details users trip over: help layout (own options before the global ones, examples that say what they do),
 * Ctrl-C before a command handles it, and the shipped keys.example/ material.
 */
import { spawn } from 'node:child_process';
import { verify } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DPC_SNIPPET } from '../../src/auth/keys.js';
import { assertBuilt, ROOT, runCli } from './run-cli.js';

const env = { DPC_CONFIG: '/nonexistent/dpc/config.json' };

beforeAll(() => assertBuilt());

describe('help', () => {
  it("lists a command's own options before the global ones, under their own heading", async () => {
    for (const command of [['group', 'add'], ['roster', 'sync'], ['keys', 'generate'], ['org', 'show']]) {
      const { stdout, code } = await runCli([...command, '--help'], { env });
      expect(code).toBe(0);
      const own = stdout.indexOf('\nOptions:\n');
      const global = stdout.indexOf('\nGlobal options:\n');
      expect(own, command.join(' ')).toBeGreaterThan(0);
      expect(global, command.join(' ')).toBeGreaterThan(own);
      // the global flags are listed once, under the global heading
      expect(stdout.slice(own, global)).not.toContain('--base-url');
      expect(stdout.slice(global)).toContain('--base-url');
    }
  });

  it('group add/remove/replace examples say what the example does, not the command description again', async () => {
    for (const change of ['add', 'remove', 'replace']) {
      const { stdout } = await runCli(['group', change, '--help'], { env });
      const describe = stdout.split('\n')[2]!;
      const examples = stdout.slice(stdout.indexOf('Examples:')).replace(/\s+/g, ' ');
      expect(examples).not.toContain(describe.replace(/\s+/g, ' ').trim());
      expect(examples).toContain('1234329724');
    }
  });
});

describe('Ctrl-C', () => {
  let server: Server;
  let url: string;
  let connected: () => void = () => {};
  const sockets: Socket[] = [];
  beforeAll(async () => {
    // accepts and never answers, so the CLI is provably inside a request when interrupted
    server = createServer((socket) => {
      sockets.push(socket);
      connected();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/api/v1`;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('during a command without its own handling: one line and exit 130', async () => {
    const child = spawn(process.execPath, [fileURLToPath(new URL('../../bin/dpc', import.meta.url)), 'org', 'show', '--base-url', url], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', TMPDIR: tmpdir(), DPC_ACCESS_TOKEN: 'fixed-token', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    connected = () => child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(code).toBe(130);
    expect(stderr).toBe('error: interrupted\n');
  });
});

describe('keys.example/', () => {
  it('holds a public key and its valid snippet signature, with no private key', async () => {
    const dir = new URL('../../keys.example/', import.meta.url);
    expect((await readdir(dir)).sort()).toEqual(['README.md', 'public.pem', 'signature.txt']);
    const publicKey = await readFile(new URL('public.pem', dir), 'utf8');
    expect(publicKey).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    const signature = Buffer.from((await readFile(new URL('signature.txt', dir), 'utf8')).trim(), 'base64');
    expect(verify('sha256', Buffer.from(DPC_SNIPPET), publicKey, signature)).toBe(true);
  });
});
