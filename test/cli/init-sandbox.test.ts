/**
 * `dpc init --sandbox-url` registers through the sandbox's admin contract (src/sandbox/admin-contract.ts) over
 * loopback, saves a working profile, and never prints the client token it received.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { testKeyPem } from '../keys.js';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { runCli } from './run-cli.js';

let sandbox: SandboxHandle;
let dir: string;
let env: Record<string, string>;
let keyPath: string;

beforeAll(async () => {
  sandbox = await startSandbox();
  dir = await mkdtemp(join(tmpdir(), 'dpc-init-sandbox-'));
  env = { HOME: dir, DPC_CONFIG: join(dir, 'config', 'config.json') };
  keyPath = join(dir, 'private.pem');
  await writeFile(keyPath, testKeyPem(1), { mode: 0o600 });
});

afterAll(async () => {
  await sandbox?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('registers a new organization and key, saves the profile and verifies it', async () => {
  const result = await runCli(['init', '--sandbox-url', sandbox.origin, '--private-key', keyPath, '--default', '--verify'], { env });
  expect(result.stderr).not.toMatch(/^error/m);
  expect(result.code).toBe(0);
  const config = JSON.parse(await readFile(env.DPC_CONFIG!, 'utf8')) as { defaultProfile: string; profiles: Record<string, { clientToken: string; keyId: string; baseUrl: string }> };
  const profile = config.profiles[config.defaultProfile]!;
  expect(profile.baseUrl).toBe(sandbox.baseUrl);
  expect(result.stdout + result.stderr).not.toContain(profile.clientToken);
  const token = await runCli(['auth', 'token'], { env });
  expect(token.code).toBe(0);
});

it('names the sandbox it cannot reach in one line, exit 1', async () => {
  // a port that was free a moment ago: nothing listens there
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
  const result = await runCli(['init', '--sandbox-url', `http://127.0.0.1:${port}`, '--private-key', keyPath, '--profile', 'gone'], { env });
  expect(result.code).toBe(1);
  expect(result.stderr).toBe(`error: cannot reach the sandbox at http://127.0.0.1:${port} (ECONNREFUSED)\n`);
});
