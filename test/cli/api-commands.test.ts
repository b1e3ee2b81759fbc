/**
 * The issue-11 commands end to end: `node bin/dpc` child processes against an in-process seeded sandbox over
 * loopback (real RSA-4096 key, real token exchange). Each command works with --json, and bad input ends with a
 * one-line error naming the field and a non-zero exit.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { assertBuilt, runCli, type CliResult } from './run-cli.js';

let sandbox: SandboxHandle;
let dir: string;
let env: Record<string, string>;

const dpc = (...args: string[]): Promise<CliResult> => runCli(args, { env });

/** Exit code, a single `error:` line on stderr, nothing on stdout; returns the line. */
function oneLineError(result: CliResult, code: number): string {
  expect(result.code, result.stderr).toBe(code);
  expect(result.stdout).toBe('');
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  return lines[0]!;
}

function json<T = Record<string, unknown>>(result: CliResult): T {
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as T;
}

beforeAll(async () => {
  assertBuilt();
  sandbox = await startSandbox({ seed: true, testMode: true, jobDurationMs: 0 });
  dir = await mkdtemp(join(tmpdir(), 'dpc-api-cli-'));
  const seed = sandbox.seed!;
  env = {
    HOME: dir,
    DPC_CONFIG: join(dir, 'no-config.json'),
    DPC_BASE_URL: sandbox.baseUrl,
    DPC_CLIENT_TOKEN: seed.clientToken,
    DPC_PRIVATE_KEY: seed.privateKeyPath,
    DPC_KEY_ID: seed.keyId,
  };
});

afterAll(async () => {
  await sandbox?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('dpc ip', () => {
  it('add, list and delete, as text and as JSON', async () => {
    const added = json<{ id: string; ipAddress: { address: string } }>(await dpc('ip', 'add', '203.0.113.7', '--json'));
    expect(added.ipAddress.address).toBe('203.0.113.7');
    const text = await dpc('ip', 'list');
    expect(text.stdout).toMatch(new RegExp(`^${added.id}\\s+203\\.0\\.113\\.7\\s`, 'm'));
    expect(text.stdout).toContain('1 of 8 address(es)');
    expect(json<unknown[]>(await dpc('ip', 'list', '--json'))).toHaveLength(1);
    expect((await dpc('ip', 'delete', added.id)).stdout).toBe(`deleted IP address ${added.id}\n`);
    expect(json<unknown[]>(await dpc('ip', 'list', '--json'))).toEqual([]);
  });

  it('refuses a bad address before sending it, naming the field; the server\'s limit comes back as one line', async () => {
    expect(oneLineError(await dpc('ip', 'add', '10.0.0.300'), 2)).toBe('error: ipAddress: "10.0.0.300" is not an IPv4 or IPv6 address');
    expect(oneLineError(await dpc('ip', 'add', '10.0.0.0/24'), 2)).toBe('error: ipAddress: "10.0.0.0/24" is a range; DPC takes single addresses');
    for (let i = 1; i <= 8; i++) expect((await dpc('ip', 'add', `192.0.2.${i}`)).code).toBe(0);
    expect(oneLineError(await dpc('ip', 'add', '192.0.2.9'), 2)).toMatch(/Max Ips for organization reached: 8/);
    expect(oneLineError(await dpc('ip', 'delete', '3fa85f64-5717-4562-b3fc-2c963f66afa6'), 1)).toMatch(/Ip address not found/);
  });
});
