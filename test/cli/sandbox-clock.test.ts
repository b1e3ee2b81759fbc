/**
 * `dpc sandbox clock|fault` against a test-mode sandbox over loopback: after `clock advance 91d` the CLI still
 * authenticates (JWT checks keep real time) and rehearses the 90-day lapse with `group expiring` / `group renew`;
 * malformed requests are one-line usage errors; a fault set from the CLI is what the next export meets. With the clock
 * moved ahead, `group expiring` and `export run` judge by the sandbox's clock (its Date header), not this machine's.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { testKeyPem } from '../keys.js';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { clockOffset, clockRequestFor, faultsFromJson } from '../../src/cli/commands/sandbox-admin.js';
import { runCli, type CliResult } from './run-cli.js';

let sandbox: SandboxHandle;
let dir: string;
let env: Record<string, string>;

const dpc = (...args: string[]): Promise<CliResult> => runCli(args, { env });

function ok(result: CliResult): CliResult {
  expect(result.stderr).not.toMatch(/^error/m);
  expect(result.code, result.stderr).toBe(0);
  return result;
}

function oneLineError(result: CliResult, code: number): string {
  expect(result.code).toBe(code);
  expect(result.stdout).toBe('');
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  return result.stderr.trimEnd();
}

beforeAll(async () => {
  sandbox = await startSandbox({ testMode: true, jobDurationMs: 50 });
  dir = await mkdtemp(join(tmpdir(), 'dpc-sandbox-clock-'));
  env = { HOME: dir, DPC_CONFIG: join(dir, 'config', 'config.json') };
  const keyPath = join(dir, 'private.pem');
  await writeFile(keyPath, testKeyPem(1), { mode: 0o600 });
  ok(await dpc('init', '--sandbox-url', sandbox.origin, '--private-key', keyPath, '--default'));
  ok(await dpc('roster', 'sync', 'samples/roster-sandbox.csv', '--patients', 'samples/patient_bundle-dpr.json', '--practitioners', 'samples/provider_bundle.json'));
});

afterAll(async () => {
  await sandbox?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface DueGroup {
  groupId: string;
  members: Array<{ status: string; end?: string }>;
}

it('clock advance 91d: the CLI still authenticates, group expiring lists the lapsed members, group renew renews them; reset restores', async () => {
  expect((await dpc('group', 'expiring')).stdout.trim()).toBe('no members are due for renewal');

  // no --sandbox-url: the profile's base URL names the sandbox
  expect(ok(await dpc('sandbox', 'clock', 'advance', '91d')).stdout).toMatch(/^sandbox clock \d{4}-\d{2}-\d{2}T[\d:.]+Z \(\+91d 0h\)\n$/);
  expect(sandbox.clock.now() - Date.now()).toBeGreaterThan(91 * 86_400_000 - 60_000);

  const due = JSON.parse(ok(await dpc('group', 'expiring', '--json')).stdout) as DueGroup[];
  const lapsed = due.flatMap((g) => g.members);
  expect(lapsed.length).toBeGreaterThan(0);
  expect(lapsed.every((m) => m.status === 'inactive')).toBe(true);

  const renewed = ok(await dpc('group', 'renew', '--include-inactive'));
  expect(renewed.stdout).toMatch(/^practitioner \d{10} \(group [\w-]+\): \d+ members? renewed$/m);
  expect((await dpc('group', 'expiring')).stdout.trim()).toBe('no members are due for renewal');
  const renewedEnd = new Date(sandbox.clock.now() + 90 * 86_400_000).toISOString().slice(0, 10);
  const groups = JSON.parse(ok(await dpc('group', 'show', due[0]!.groupId, '--json')).stdout) as { members: Array<{ end?: string }> };
  expect(groups.members.every((m) => m.end?.startsWith(renewedEnd))).toBe(true);

  expect(ok(await dpc('sandbox', 'clock', 'reset')).stdout).toMatch(/\(real time\)\n$/);
  const shown = JSON.parse(ok(await dpc('sandbox', 'clock', 'show', '--json')).stdout) as { now: number; iso: string };
  expect(Math.abs(shown.now - Date.now())).toBeLessThan(60_000);
});

it("clock set ahead: group expiring and export run --since auto go by the sandbox's clock; after reset the recorded _since is refused with the repair", async () => {
  const DAY = 86_400_000;
  const [group] = JSON.parse(ok(await dpc('group', 'list', '--json')).stdout) as Array<{ id: string }>;
  const out = join(dir, 'clock-exports');
  const exportRun = () => dpc('export', 'run', '--group', group!.id, '--out', out, '--poll-interval', '50ms', '--type', 'Patient', '--since', 'auto');
  const recorded = async () =>
    (JSON.parse(await readFile(join(out, '.dpc-export-state.json'), 'utf8')) as { groups: Record<string, { lastTransactionTime?: string }> }).groups[group!.id]
      ?.lastTransactionTime;
  // 30 days before the first attribution ends (90 days after the roster sync, or later if another test renewed)
  const shown = JSON.parse(ok(await dpc('group', 'show', group!.id, '--json')).stdout) as { members: Array<{ end: string }> };
  const firstEnd = Math.min(...shown.members.map((m) => Date.parse(m.end)));
  expect(firstEnd).toBeGreaterThan(Date.now() + 80 * DAY);
  ok(await dpc('sandbox', 'clock', 'set', new Date(firstEnd - 30 * DAY).toISOString()));
  try {
    // due within 45 days by the sandbox's clock; by this machine's clock nobody would be
    const due = JSON.parse(ok(await dpc('group', 'expiring', '--within', '45d', '--json')).stdout) as DueGroup[];
    const members = due.flatMap((g) => g.members);
    expect(members.map((m) => Date.parse(m.end!))).toContain(firstEnd);
    expect(members.every((m) => m.status === 'expiring')).toBe(true);

    // the sandbox's transactionTime is ~60 days ahead of this machine, but not of the sandbox's own Date
    ok(await exportRun());
    const first = await recorded();
    expect(Date.parse(first!)).toBeGreaterThan(Date.now() + 50 * DAY);
    // the next incremental run sends it as _since, and the sandbox (its clock) accepts it
    ok(await exportRun());
    const latest = (await readFile(join(out, group!.id, 'LATEST'), 'utf8')).trim();
    const manifest = JSON.parse(await readFile(join(out, group!.id, latest, 'manifest.json'), 'utf8')) as { requestSent: string };
    expect(manifest.requestSent).toContain(`_since=${encodeURIComponent(first!)}`);
  } finally {
    ok(await dpc('sandbox', 'clock', 'reset'));
  }
  // back at real time the recorded _since lies in the sandbox's future: it refuses it, and the message says what to do
  const refused = await exportRun();
  expect(refused.code).toBe(2);
  const failure = refused.stderr.trimEnd().split('\n').map((line) => JSON.parse(line) as { eventId: string; message?: string }).find((e) => e.eventId === 'error');
  expect(failure?.message).toMatch(/^\.dpc-export-state\.json: the server refused the transactionTime recorded for \S+ \("[^"]+"\) as _since: .*future date; pass an explicit since once to replace it$/);
});

it('clock set takes an ISO time; a malformed request is a one-line usage error that changes nothing', async () => {
  expect(ok(await dpc('sandbox', 'clock', 'set', '2031-03-01T09:00:00Z', '--sandbox-url', sandbox.origin)).stdout).toMatch(/^sandbox clock 2031-03-01T09:00:0\d\.\d{3}Z /);
  ok(await dpc('sandbox', 'clock', 'reset'));
  expect(oneLineError(await dpc('sandbox', 'clock', 'advance', 'banana'), 2)).toBe('error: advance: invalid duration "banana" (use e.g. 14d, 36h, 1d12h)');
  expect(oneLineError(await dpc('sandbox', 'clock', 'set', 'tomorrow'), 2)).toBe('error: set: invalid time "tomorrow" (use e.g. 2027-03-01 or 2027-03-01T09:00:00Z)');
  expect(oneLineError(await dpc('sandbox', 'clock', 'advance'), 2)).toBe('error: advance: give a duration, e.g. 91d or 12h');
  expect(Math.abs(sandbox.clock.now() - Date.now())).toBeLessThan(60_000);
});

it('fault set: the admin API holds it and the next export meets it; a malformed fault is refused; clear clears', async () => {
  const refused = oneLineError(await dpc('sandbox', 'fault', 'set', '{"wrongChecksum": true}'), 2);
  expect(refused).toBe('error: the sandbox refused: Invalid fault request: wrongChecksum: expected an object {fileIncludes}');
  expect(oneLineError(await dpc('sandbox', 'fault', 'set', '{wrong'), 2)).toMatch(/^error: fault set: not JSON: /);

  const fault = { wrongChecksum: { fileIncludes: '.patient' } };
  expect(JSON.parse(ok(await dpc('sandbox', 'fault', 'set', JSON.stringify(fault), '--json')).stdout)).toEqual(fault);
  expect(JSON.parse(ok(await dpc('sandbox', 'fault', 'show', '--json')).stdout)).toEqual(fault);

  const [group] = JSON.parse(ok(await dpc('group', 'list', '--json')).stdout) as Array<{ id: string }>;
  const exported = await dpc('export', 'run', '--group', group!.id, '--out', join(dir, 'out'), '--poll-interval', '50ms', '--type', 'Patient');
  expect(exported.code).not.toBe(0);
  expect(exported.stderr).toMatch(/checksum|sha256|integrity/i);

  expect(ok(await dpc('sandbox', 'fault', 'clear')).stdout).toBe('no faults\n');
  expect(JSON.parse(ok(await dpc('sandbox', 'fault', 'show', '--json')).stdout)).toEqual({});
});

it('a sandbox not in test mode answers a clear one-line error', async () => {
  const plain = await startSandbox();
  try {
    const line = oneLineError(await dpc('sandbox', 'clock', 'advance', '1d', '--sandbox-url', plain.origin), 2);
    expect(line).toBe(`error: the sandbox at ${plain.origin} is not in test mode (start it with \`dpc sandbox start --test-mode\`)`);
    expect(oneLineError(await dpc('sandbox', 'fault', 'clear', '--sandbox-url', plain.origin), 2)).toContain('is not in test mode');
  } finally {
    await plain.close();
  }
});

it('pure: clock requests, offsets and fault JSON', () => {
  expect(clockRequestFor('advance', '91d')).toEqual({ advanceMs: 91 * 86_400_000 });
  expect(clockRequestFor('advance', '-1d12h')).toEqual({ advanceMs: -36 * 3_600_000 });
  expect(clockRequestFor('set', '2027-03-01')).toEqual({ set: Date.parse('2027-03-01T00:00:00Z') });
  expect(clockRequestFor('set', '2027-03-01T09:00:00+02:00')).toEqual({ set: Date.parse('2027-03-01T07:00:00Z') });
  expect(clockRequestFor('reset', undefined)).toEqual({ reset: true });
  expect(() => clockRequestFor('set', '2027-13-45')).toThrow('set: invalid time "2027-13-45"');
  expect(clockOffset(91 * 86_400_000 - 150)).toBe('+91d 0h');
  expect(clockOffset(-90 * 60_000)).toBe('-1h 30m');
  expect(clockOffset(20_000)).toBe('real time');
  expect(faultsFromJson('{"slowFirstByteMs": 5}')).toEqual({ slowFirstByteMs: 5 });
  expect(() => faultsFromJson('[]')).toThrow('fault set: expected a JSON object naming at least one fault');
  expect(() => faultsFromJson('{}')).toThrow('fault set: expected a JSON object naming at least one fault');
});
