/**
 * The fault matrix (issue #6): one test per fault against the embedded sandbox over loopback, each asserting the
 * outcome (every file verified, or the documented exit code with a one-line message) and that no file under its final
 * name is corrupt: every data file in a group folder is re-hashed here, independently of the product's own verifier,
 * against what the manifest or state recorded, and against the server's own checksums while the job is alive.
 *
 * Faults come from the sandbox's switches (`sandbox.faults.set`) and its clock. Disk full is the one fault a server
 * cannot cause: see `diskFull` below. kill -9 runs the built CLI (`node bin/dpc`) as a real child process.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { createClient, type DpcClient } from '../../src/client.js';
import { DpcError, type ErrorCode } from '../../src/errors.js';
import { pollOnce, runExport, runOutcomeError, type ExportEvent, type ExportRunOptions, type GroupManifest } from '../../src/export/index.js';
import { StateStore } from '../../src/export/state.js';
import { LATEST_FILE } from '../../src/export/layout.js';
import type { TransportEvent } from '../../src/transport/index.js';
import type { SandboxFaults } from '../../src/sandbox/index.js';
import { exportFixture, makeGroup, NPIS, tempDir, type ExportFixture } from '../export/sandbox.js';
import { assertBuilt } from '../cli/run-cli.js';
import { cliLines, STACK_LINE } from '../fuzz/check.js';

/**
 * Disk full: the export's temp file (`.<name>.part`) in an armed folder is created for real, but the write stream the
 * download gets is opened on /dev/full, so every write fails with the kernel's own ENOSPC, raised by a real
 * fs.WriteStream inside the real pipeline. Only the stream's target changes; the code path is the product's.
 */
const diskFull = vi.hoisted(() => ({ dir: undefined as string | undefined }));
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  const createWriteStream = ((path: Parameters<typeof actual.createWriteStream>[0], options?: Parameters<typeof actual.createWriteStream>[1]) => {
    if (diskFull.dir !== undefined && typeof path === 'string' && path.startsWith(diskFull.dir) && path.endsWith('.part')) {
      actual.closeSync(actual.openSync(path, 'wx', 0o600));
      return actual.createWriteStream('/dev/full', { ...(typeof options === 'object' ? options : {}), flags: 'w' });
    }
    return actual.createWriteStream(path, options);
  }) as typeof actual.createWriteStream;
  return { ...actual, createWriteStream };
});

const DPC = fileURLToPath(new URL('../../bin/dpc', import.meta.url));

let fx: ExportFixture;
let client: DpcClient;
let small: string; // three patients with data: the group most faults run against
let large: string; // twenty patients: downloads long enough to kill a process in the middle of one
/** Transport events of `client` (retries with the wait the transport chose, re-auth). */
const transportEvents: TransportEvent[] = [];
/** Waits the transport asked for: recorded and skipped, so Retry-After is checked by value, not by the clock. */
const waits: number[] = [];

beforeAll(async () => {
  fx = await exportFixture({ jobDurationMs: 150, exportScale: 6 });
  const seed = fx.sandbox.seed!;
  client = createClient({
    baseUrl: fx.sandbox.baseUrl,
    clientToken: seed.clientToken,
    privateKey: fx.privateKeyPem,
    keyId: seed.keyId,
    now: () => fx.sandbox.clock.now(),
    authNow: () => fx.sandbox.authClock.now(),
    sleep: async (ms) => void waits.push(ms),
    onEvent: (e) => {
      if (e.type === 'retry' || e.type === 'reauth') transportEvents.push(e);
    },
  });
  small = await makeGroup(fx, NPIS[0], fx.goodMbis.slice(0, 3));
  large = await makeGroup(fx, NPIS[1], fx.goodMbis.slice(3, 23));
}, 60_000);

afterAll(async () => {
  await client?.close();
  await fx?.close();
});

interface Outcome {
  out: string;
  events: ExportEvent[];
  manifest?: GroupManifest;
  /** The run's error, thrown or from its result. */
  error?: DpcError;
}

/** One export into a fresh folder with the faults armed; faults are cleared afterwards whatever happens. */
async function exportWith(faults: SandboxFaults, over: Partial<ExportRunOptions> = {}): Promise<Outcome> {
  const out = over.outDir ?? (await tempDir('dpc-fault-'));
  const events: ExportEvent[] = [];
  transportEvents.length = 0;
  waits.length = 0;
  fx.sandbox.faults.set(faults);
  try {
    const result = await runExport(client, {
      target: { kind: 'group', groupId: small },
      pollIntervalMs: 30,
      ...over,
      outDir: out,
      onEvent: (e) => {
        events.push(e);
        over.onEvent?.(e);
      },
    });
    return { out, events, manifest: result.groups[0]?.manifest, error: runOutcomeError(result) };
  } catch (error) {
    if (!(error instanceof DpcError)) throw error;
    return { out, events, error };
  } finally {
    fx.sandbox.faults.clear();
  }
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
/** Newlines in `data` (found with indexOf: a reduce over every byte took seconds on these files). */
function lines(data: Buffer): number {
  let count = 0;
  for (let at = data.indexOf(0x0a); at !== -1; at = data.indexOf(0x0a, at + 1)) count++;
  return count;
}

interface Recorded {
  path: string;
  url: string;
  sha256: string;
  bytes: number;
  count: number;
}

/** The run folders (one per job) of a group folder: `<out>/<label>/<run>/`. */
async function runDirs(groupDir: string): Promise<string[]> {
  const entries = await readdir(groupDir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => join(groupDir, e.name));
}

/**
 * Every data file under a final name in every run folder of every group folder of `out` was verified (listed in the
 * run's manifest or, for the in-flight run, the resume state) and its bytes still hash to what was recorded; every
 * manifest entry exists. A group folder itself holds only run folders and LATEST. Temp files are dot-named and never
 * final. Returns the files checked.
 */
async function finalFilesIntact(out: string): Promise<Recorded[]> {
  // the snapshot plus whatever journal a killed run left
  const state = (await StateStore.open(out)).toJSON() as { groups: Record<string, { run?: string; files?: Record<string, Recorded> }> };
  const checked: Recorded[] = [];
  for (const entry of await readdir(out, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const groupDir = join(out, entry.name);
    for (const name of await readdir(groupDir)) {
      const isRun = (await stat(join(groupDir, name))).isDirectory();
      expect(isRun || name === LATEST_FILE || name.startsWith('.'), `${join(groupDir, name)} sits in a group folder outside any run`).toBe(true);
    }
    for (const dir of await runDirs(groupDir)) checked.push(...(await runFilesIntact(dir, state.groups[entry.name])));
  }
  return checked;
}

async function runFilesIntact(dir: string, group: { run?: string; files?: Record<string, Recorded> } | undefined): Promise<Recorded[]> {
  const checked: Recorded[] = [];
  const manifest = await readFile(join(dir, 'manifest.json'), 'utf8').then((t) => JSON.parse(t) as GroupManifest, () => undefined);
  const recorded = new Map<string, Recorded>();
  if (group?.run !== undefined && join(dir, '..', group.run) === dir) for (const f of Object.values(group.files ?? {})) recorded.set(f.path, f);
  for (const f of manifest?.files ?? []) recorded.set(f.path, f);
  for (const f of manifest?.files ?? []) expect(existsSync(join(dir, f.path)), `${f.path} is in the manifest but missing`).toBe(true);
  for (const name of await readdir(dir)) {
    if (name.startsWith('.') || name === 'manifest.json') continue;
    const promise = recorded.get(name);
    expect(promise, `${join(dir, name)} sits under a final name but was never verified`).toBeDefined();
    const stored = await readFile(join(dir, name));
    const content = name.endsWith('.gz') ? gunzipSync(stored) : stored;
    expect(sha256(content), `${join(dir, name)} is corrupt`).toBe(promise!.sha256);
    expect(content.length).toBe(promise!.bytes);
    expect(lines(content)).toBe(promise!.count);
    checked.push(promise!);
  }
  return checked;
}

/** The verified files also match the server's own checksums (the job must still be alive, faults cleared). */
async function matchesServer(manifest: GroupManifest): Promise<void> {
  const server = await pollOnce(client.transport, manifest.jobUrl);
  if (server.state !== 'complete') throw new Error('the job is not complete');
  expect(manifest.files.length).toBe(server.completion.files.length);
  for (const file of manifest.files) expect(file.sha256).toBe(server.completion.files.find((f) => f.url === file.url)?.sha256);
}

/** A successful outcome: no error, three types, every file intact and equal to the server's. */
async function expectAllVerified(o: Outcome): Promise<void> {
  expect(o.error, o.error?.message).toBeUndefined();
  expect(o.manifest!.files.map((f) => f.path).sort()).toEqual(['Coverage-001.ndjson', 'ExplanationOfBenefit-001.ndjson', 'Patient-001.ndjson']);
  expect(o.manifest!.quarantined).toEqual([]);
  expect(await finalFilesIntact(o.out)).toHaveLength(3);
  await matchesServer(o.manifest!);
}

/** What the CLI prints for the error and the exit code it ends with: exactly one line, no stack, the documented code. */
function expectCliFailure(error: DpcError | undefined, code: ErrorCode, exitCode: number, message: RegExp): void {
  expect(error, 'the run should have failed').toBeInstanceOf(DpcError);
  const printed = cliLines(error);
  expect({ code: error!.code, exit: printed.exit }).toEqual({ code, exit: exitCode });
  expect(printed.lines[0]).toMatch(/^error: \S/);
  expect(printed.lines[0]).toMatch(message);
  expect(error!.message).not.toMatch(/\n/);
  expect(printed.lines.join('\n')).not.toMatch(STACK_LINE);
}

const retries = () => transportEvents.flatMap((e) => (e.type === 'retry' ? [{ status: e.status, path: new URL(e.url).pathname, delayMs: e.delayMs }] : []));

/** Size of the large EOB file of the small group, from a clean run (the sandbox's data is deterministic). */
let eobBytes = 0;

describe('fault matrix', () => {
  // the clean run the fault cases measure their cut offsets against, made before any of them
  let clean: Outcome;
  beforeAll(async () => {
    clean = await exportWith({});
    eobBytes = clean.manifest?.files.find((f) => f.type === 'ExplanationOfBenefit')?.bytes ?? 0;
  }, 60_000);
  // tests move the sandbox's clocks (a job expiring, a token expiring): each starts from the wall clock, which the
  // kill -9 test's child process also runs on, and with no token cached at another test's time
  beforeEach(() => {
    fx.sandbox.clock.set(Date.now());
    fx.sandbox.authClock.set(Date.now());
    client.tokens.clear();
  });

  it('baseline: a clean export verifies every file', async () => {
    await expectAllVerified(clean);
    expect(eobBytes).toBeGreaterThan(1 << 20);
  });

  describe.each([
    { status: 429 as const, where: 'status polling', path: '/Jobs/' },
    { status: 503 as const, where: 'status polling', path: '/Jobs/' },
    { status: 429 as const, where: 'data download', path: '/Data/' },
    { status: 503 as const, where: 'data download', path: '/Data/' },
  ])('$status on $where', ({ status, path }) => {
    it('with Retry-After in seconds: waits exactly that long, then every file verifies', async () => {
      const o = await exportWith({ throttle: { status, count: 2, retryAfter: 'seconds', retryAfterSeconds: 3, pathIncludes: path } });
      await expectAllVerified(o);
      const hit = retries().filter((r) => r.status === status && r.path.includes(path));
      expect(hit.map((r) => r.delayMs)).toEqual([3000, 3000]);
      expect(waits).toEqual([3000, 3000]); // and those are the waits the transport really took
    });

    it('with Retry-After as an HTTP-date: waits until that date, then every file verifies', async () => {
      const o = await exportWith({ throttle: { status, count: 2, retryAfter: 'http-date', retryAfterSeconds: 30, pathIncludes: path } });
      await expectAllVerified(o);
      const hit = retries().filter((r) => r.status === status && r.path.includes(path));
      expect(hit).toHaveLength(2);
      // the date has one-second resolution: 30 s from the server's now is 29–30 s from the client's
      for (const r of hit) expect(r.delayMs).toBeGreaterThan(28_000);
      for (const r of hit) expect(r.delayMs).toBeLessThanOrEqual(30_000);
      expect(waits).toEqual(hit.map((r) => r.delayMs));
    });
  });

  it.each([
    { at: 'byte 0', offset: () => 0 },
    { at: 'the middle', offset: () => Math.floor(eobBytes / 2) },
    { at: 'the last byte', offset: () => eobBytes - 1 },
  ])('a connection reset at $at of a file is retried from scratch and verifies', async ({ offset }) => {
    expect(eobBytes).toBeGreaterThan(0);
    const o = await exportWith({ cutAtByte: { bytes: offset(), count: 1, fileIncludes: 'explanationofbenefit' } });
    await expectAllVerified(o);
    // a reset before any body byte fails the request itself (the transport retries it); later, the body breaks
    const brokenBodies = o.events.filter((e) => e.type === 'download_error');
    const failedRequests = retries().filter((r) => r.status === undefined && r.path.includes('/Data/'));
    expect([...brokenBodies, ...failedRequests]).toHaveLength(1);
    for (const e of brokenBodies) expect(e).toMatchObject({ file: 'ExplanationOfBenefit-001.ndjson', willRetry: true });
  });

  it('a connection reset on both attempts quarantines the bytes, never at the final name, exit 1', async () => {
    const o = await exportWith({ cutAtByte: { bytes: Math.floor(eobBytes / 3), count: 2, fileIncludes: 'explanationofbenefit' } });
    expectCliFailure(o.error, 'ERR_INTEGRITY', 1, /^error: 1 file failed verification twice and was quarantined; rerun/);
    expect(o.manifest!.quarantined).toEqual([expect.objectContaining({ type: 'ExplanationOfBenefit', path: expect.stringContaining('.quarantine') })]);
    // the bytes kept aside are PHI too: owner-only like everything else
    const kept = o.manifest!.quarantined[0]!.path;
    expect((await stat(kept)).mode & 0o777).toBe(0o600);
    expect((await stat(join(kept, '..'))).mode & 0o777).toBe(0o700);
    expect(existsSync(join(o.out, small, o.manifest!.run, 'ExplanationOfBenefit-001.ndjson'))).toBe(false);
    expect((await finalFilesIntact(o.out)).map((f) => f.path).sort()).toEqual(['Coverage-001.ndjson', 'Patient-001.ndjson']);
  });

  it('a truncated body (clean early end) fails verification, is retried and verifies', async () => {
    const o = await exportWith({ truncateBy: { bytes: 100, count: 1, fileIncludes: 'coverage' } });
    await expectAllVerified(o);
    expect(o.events.filter((e) => e.type === 'download_error')).toEqual([
      expect.objectContaining({ file: 'Coverage-001.ndjson', willRetry: true, message: expect.stringMatching(/sha256|lines/) }),
    ]);
  });

  it('a manifest checksum mismatch quarantines that file, exit 1; the other files verify', async () => {
    const o = await exportWith({ wrongChecksum: { fileIncludes: 'patient' } });
    expectCliFailure(o.error, 'ERR_INTEGRITY', 1, /failed verification twice and was quarantined; rerun/);
    expect(o.manifest!.quarantined.map((q) => q.type)).toEqual(['Patient']);
    expect(o.manifest!.quarantined[0]!.problems.join()).toMatch(/sha256 [0-9a-f]{64} differs from the manifest's/);
    expect(existsSync(join(o.out, small, o.manifest!.run, 'Patient-001.ndjson'))).toBe(false);
    const quarantined = await readFile(o.manifest!.quarantined[0]!.path);
    expect(quarantined.length).toBeGreaterThan(0);
    expect((await finalFilesIntact(o.out)).map((f) => f.path).sort()).toEqual(['Coverage-001.ndjson', 'ExplanationOfBenefit-001.ndjson']);
  });

  it('a 500 on every status poll fails the job after bounded retries, exit 1, and writes no data file', async () => {
    const o = await exportWith({ throttle: { status: 500, count: 1000, pathIncludes: '/Jobs/' } });
    expectCliFailure(o.error, 'ERR_JOB_FAILED', 1, /status requests in a row failed, last: GET .*\/Jobs\/.* failed with 500/);
    expect(o.events.filter((e) => e.type === 'status_error').length).toBeGreaterThan(1);
    expect(await finalFilesIntact(o.out)).toEqual([]);
  });

  it('disk full (ENOSPC) while writing a file stops the run with an I/O error naming the file, exit 1', async () => {
    const out = await tempDir('dpc-fault-');
    diskFull.dir = out;
    let o: Outcome;
    try {
      o = await exportWith({}, { outDir: out, concurrency: 1 });
    } finally {
      diskFull.dir = undefined;
    }
    expectCliFailure(o.error, 'ERR_IO', 1, /ENOSPC/);
    expect(o.error!.message).toMatch(/\.part/);
    expect(await finalFilesIntact(out)).toEqual([]);
  });

  it('the access token expiring during a long download is refreshed; every file verifies', async () => {
    let advanced = false;
    let exchangesBefore = 0;
    const o = await exportWith(
      {},
      {
        target: { kind: 'group', groupId: large },
        concurrency: 1,
        onEvent: (e) => {
          // mid-stream of the first big file: six minutes pass, so the 300 s token is dead for every later request
          if (!advanced && e.type === 'download_progress' && e.bytes > 0) {
            advanced = true;
            exchangesBefore = client.tokens.exchanges;
            fx.sandbox.clock.advance(6 * 60_000);
            fx.sandbox.authClock.advance(6 * 60_000); // the tokens expire too
          }
        },
      },
    );
    expect(advanced).toBe(true);
    expect(o.error, o.error?.message).toBeUndefined();
    expect(client.tokens.exchanges).toBeGreaterThan(exchangesBefore);
    expect(await finalFilesIntact(o.out)).toHaveLength(3);
    await matchesServer(o.manifest!);
  });

  it('the job expiring (410) between two downloads fails with ERR_JOB_EXPIRED, exit 1; what was verified stays intact', async () => {
    let completed = 0;
    const o = await exportWith(
      {},
      {
        concurrency: 1,
        onEvent: (e) => {
          if (e.type === 'download_complete' && ++completed === 1) fx.sandbox.clock.advance(25 * 3_600_000);
        },
      },
    );
    expectCliFailure(o.error, 'ERR_JOB_EXPIRED', 1, /has expired \(410/);
    const intact = await finalFilesIntact(o.out);
    expect(intact).toHaveLength(1);
    const runs = await runDirs(join(o.out, small));
    expect(runs).toHaveLength(1);
    expect(existsSync(join(runs[0]!, 'manifest.json'))).toBe(false);
  });

  it('kill -9 in the middle of a download, then the same command again: every file verifies', async () => {
    assertBuilt();
    const out = await tempDir('dpc-fault-kill-');
    const home = await tempDir('dpc-home-');
    const seed = fx.sandbox.seed!;
    const env = {
      PATH: process.env.PATH ?? '',
      TMPDIR: tmpdir(),
      HOME: home,
      DPC_CONFIG: join(home, 'config.json'),
      DPC_BASE_URL: fx.sandbox.baseUrl,
      DPC_CLIENT_TOKEN: seed.clientToken,
      DPC_PRIVATE_KEY: seed.privateKeyPath,
      DPC_KEY_ID: seed.keyId,
    };
    const args = [DPC, 'export', 'run', '--group', large, '--out', out, '--concurrency', '1', '--poll-interval', '50ms'];

    const first = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => first.on('close', (code) => resolve(code)));
    const groupDir = join(out, large);
    let killedMidFile = false;
    for await (const line of createInterface({ input: first.stderr! })) {
      if (!line.includes('"download_request"')) continue;
      // a file is on its way into its .part file: kill the process hard once bytes have landed
      for (let i = 0; i < 400 && !killedMidFile; i++) {
        const [dir] = await runDirs(groupDir);
        const parts = dir === undefined ? [] : (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.part'));
        const sizes = await Promise.all(parts.map((n) => stat(join(dir!, n)).then((s) => s.size, () => 0)));
        if (sizes.some((s) => s > 0)) killedMidFile = true;
        else await new Promise((resolve) => setTimeout(resolve, 2));
      }
      first.kill('SIGKILL');
      break;
    }
    expect(await exited).toBeNull();
    expect(first.signalCode).toBe('SIGKILL');
    expect(killedMidFile).toBe(true);
    await finalFilesIntact(out); // whatever the dead process left under a final name is verified

    const rerun = spawn(process.execPath, [...args, '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    rerun.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    rerun.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => rerun.on('close', resolve));
    expect(code, stderr.split('\n').filter((l) => !l.startsWith('{')).join('\n')).toBe(0);
    const summary = JSON.parse(stdout) as { ok: boolean; groups: Array<{ manifest: GroupManifest }> };
    expect(summary.ok).toBe(true);
    expect(stderr).toMatch(/"resumed":true/);
    expect(await finalFilesIntact(out)).toHaveLength(3);
    expect((await readdir(join(groupDir, summary.groups[0]!.manifest.run))).filter((n) => n.startsWith('.'))).toEqual([]);
    await matchesServer(summary.groups[0]!.manifest);
  }, 30_000);
});
