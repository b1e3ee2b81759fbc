/**
 * `dpc export` against the in-process sandbox: a real child process (the built CLI, `npm test` builds first) killed
 * with kill -9 in the middle of a download, the same command rerun, and every file ends verified; two runs racing for
 * one output folder's lock; NDJSON log lines on a non-TTY stderr; exit codes; `status` and `verify`.
 * Runs whose process is not under test go through runCli, in this process (the lock's race between processes is
 * test/export/lock-race.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { StateStore } from '../../src/export/state.js';
import { runCli } from '../cli/run-cli.js';
import { LOCK_FILE } from '../../src/export/lock.js';
import { exportFixture, makeGroup, NPIS, tempDir, type ExportFixture } from './sandbox.js';

const DPC = fileURLToPath(new URL('../../bin/dpc', import.meta.url));

let fx: ExportFixture;
let group: string;
let env: Record<string, string>;

beforeAll(async () => {
  // bigger claims files so a download is reliably in flight when the child is killed
  fx = await exportFixture({ exportScale: 8 });
  group = await makeGroup(fx, NPIS[2], fx.goodMbis.slice(0, 20));
  const home = await tempDir('dpc-home-');
  env = {
    PATH: process.env.PATH ?? '',
    TMPDIR: tmpdir(),
    HOME: home,
    DPC_CONFIG: join(home, 'config.json'),
    DPC_BASE_URL: fx.sandbox.baseUrl,
    DPC_CLIENT_TOKEN: fx.sandbox.seed!.clientToken,
    DPC_PRIVATE_KEY: fx.sandbox.seed!.privateKeyPath,
    DPC_KEY_ID: fx.sandbox.seed!.keyId,
  };
}, 30_000);

afterAll(async () => {
  await fx?.close();
});

function dpc(args: string[]): { child: ChildProcess; lines: AsyncIterable<string>; done: Promise<{ code: number | null; stdout: string }> } {
  const child = spawn(process.execPath, [DPC, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const lines = createInterface({ input: child.stderr! });
  const done = new Promise<{ code: number | null; stdout: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout })));
  return { child, lines, done };
}

interface Collected {
  code: number | null;
  stdout: string;
  stderr: string[];
}

/** `dpc args` run in this process: exit code, stdout and stderr lines. */
async function inProcess(args: string[]): Promise<Collected> {
  const { code, stdout, stderr } = await runCli(args, { env });
  return { code, stdout, stderr: stderr === '' ? [] : stderr.replace(/\n$/, '').split('\n') };
}

/** A `.part` file with bytes in any run folder of the group folder `dir`. */
async function partFileWithBytes(dir: string): Promise<boolean> {
  for (const run of await readdir(dir).catch(() => [] as string[])) {
    for (const name of await readdir(join(dir, run)).catch(() => [] as string[])) {
      if (name.endsWith('.part') && (await stat(join(dir, run, name)).catch(() => undefined))?.size) return true;
    }
  }
  return false;
}

describe('dpc export', () => {
  it('survives kill -9 mid-download: the rerun resumes the job, skips verified files and verifies every file', async () => {
    const out = await tempDir();
    const args = ['export', 'run', '--group', group, '--out', out, '--concurrency', '1', '--poll-interval', '50ms'];
    const first = dpc(args);
    const dir = join(out, group);
    let killedMidFile = false;
    for await (const line of first.lines) {
      const record = JSON.parse(line) as { eventId: string };
      if (record.eventId !== 'download_complete') continue;
      // the next file is streaming into its .part file: kill the process hard right then
      for (let i = 0; i < 500 && !killedMidFile; i++) {
        if (await partFileWithBytes(dir)) killedMidFile = true;
        else await new Promise((resolve) => setTimeout(resolve, 5));
      }
      first.child.kill('SIGKILL');
      break;
    }
    const killed = await first.done;
    expect(killed.code).toBeNull();
    expect(killedMidFile).toBe(true);
    const lock = JSON.parse(await readFile(join(out, LOCK_FILE), 'utf8')) as { pid: number };
    expect(lock.pid).toBe(first.child.pid); // left behind by the dead process
    // the snapshot plus the journal the killed run appended to
    const stateAfterKill = (await StateStore.open(out)).toJSON() as { groups: Record<string, { jobUrl: string; run: string; files: object }> };
    const verifiedBefore = Object.keys(stateAfterKill.groups[group]!.files).length;
    expect(verifiedBefore).toBeGreaterThanOrEqual(1);

    const rerun = await inProcess([...args, '--json']);
    expect(rerun.code).toBe(0);
    const events = rerun.stderr.map((l) => JSON.parse(l) as { eventId: string; resumed?: boolean; skipped?: boolean; requestId?: string });
    expect(events.find((e) => e.eventId === 'kickoff')).toMatchObject({ resumed: true });
    expect(events.filter((e) => e.eventId === 'download_complete' && e.skipped)).toHaveLength(verifiedBefore);
    expect(events.filter((e) => e.eventId === 'download_complete' && !e.skipped).every((e) => typeof e.requestId === 'string')).toBe(true);
    expect(events.at(-1)).toMatchObject({ eventId: 'export_complete', quarantined: 0, run: stateAfterKill.groups[group]!.run });
    const summary = JSON.parse(rerun.stdout) as { ok: boolean; groups: Array<{ manifest: { jobUrl: string; run: string; files: unknown[] } }> };
    expect(summary.ok).toBe(true);
    expect(summary.groups[0]!.manifest.jobUrl).toBe(stateAfterKill.groups[group]!.jobUrl);
    const runDir = join(dir, stateAfterKill.groups[group]!.run);
    expect(summary.groups[0]!.manifest.run).toBe(stateAfterKill.groups[group]!.run); // resumed in the same run folder
    expect(await readdir(dir)).toEqual(expect.arrayContaining(['LATEST', summary.groups[0]!.manifest.run]));
    expect((await readdir(runDir)).filter((n) => n.endsWith('.part'))).toEqual([]);
    expect(await readdir(out)).not.toContain(LOCK_FILE);

    const verify = await inProcess(['export', 'verify', out]);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain(`${summary.groups[0]!.manifest.files.length} of ${summary.groups[0]!.manifest.files.length} files verified`);

    // a file changed on disk after the fact is caught by verify (exit 1)
    const firstFile = join(runDir, 'Patient-001.ndjson');
    await writeFile(firstFile, (await readFile(firstFile, 'utf8')).replace('Patient', 'Patiant'));
    const tampered = await inProcess(['export', 'verify', out]);
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toMatch(/FAIL .*Patient-001\.ndjson: sha256/);
    expect(tampered.stderr.join('\n')).toMatch(/^error: 1 file in .* does not match the manifest$/m);
  });

  it('two runs started together on one output folder with a stale lock: exactly one runs, the other names the lock', async () => {
    const out = await tempDir();
    // left by a process that no longer exists (no pid is above Linux's 2^22): both runs see it stale at once
    await writeFile(join(out, LOCK_FILE), JSON.stringify({ pid: 2 ** 22 + 4321, host: hostname(), startedAt: '2026-01-01T00:00:00.000Z' }));
    // slow job-status and data answers keep the winner running well past the loser's start
    fx.sandbox.faults.set({ slowFirstByteMs: 1500 });
    try {
      const args = ['export', 'run', '--group', group, '--out', out, '--type', 'Patient', '--poll-interval', '50ms', '--quiet'];
      const runs = await Promise.all([inProcess(args), inProcess(args)]);
      const codes = runs.map((r) => r.code);
      expect(codes.filter((c) => c === 0), JSON.stringify(runs)).toHaveLength(1);
      const loser = runs.find((r) => r.code !== 0)!;
      expect(loser.code).toBeGreaterThan(0);
      expect(loser.stderr.join('\n')).toContain(join(out, LOCK_FILE));
      expect(loser.stderr.join('\n')).toMatch(/is in use by pid \d+/);
      // one run folder (the winner's, verified and LATEST); the loser created nothing
      const runFolders = (await readdir(join(out, group))).filter((name) => name !== 'LATEST');
      expect(runFolders).toHaveLength(1);
      expect((await readFile(join(out, group, 'LATEST'), 'utf8')).trim()).toBe(runFolders[0]);
      expect(await readdir(out)).not.toContain(LOCK_FILE);
      expect((await readdir(out)).filter((name) => name.includes('.part') || name.includes('.takeover-'))).toEqual([]);
    } finally {
      fx.sandbox.faults.clear();
    }
  });

  it('reports a finished group as done from the output folder and rejects bad input with exit 2', async () => {
    const out = await tempDir();
    const ran = await inProcess(['export', 'run', '--group', group, '--out', out, '--type', 'Patient', '--poll-interval', '50ms', '--quiet']);
    expect(ran.code).toBe(0);
    expect(ran.stderr).toEqual([]);
    const status = await inProcess(['export', 'status', out, '--json']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual([expect.objectContaining({ label: group, state: 'done', latest: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d{6}Z/), lastTransactionTime: expect.any(String) })]);
    const table = await inProcess(['export', 'status', out]);
    expect(table.stdout).toMatch(new RegExp(`^${group}\\s+done\\s`, 'm'));
    expect(table.stdout).not.toMatch(/Deleted files/); // DPC lists none: no column of zeros

    const both = await inProcess(['export', 'run', '--group', group, '--all-groups', '--out', out]);
    expect(both.code).toBe(2);
    // export run logs events: on a non-terminal stderr even its usage errors are one JSON object per line
    expect(JSON.parse(both.stderr[0]!)).toMatchObject({ eventId: 'error', code: 'ERR_USAGE', exitCode: 2, message: 'name exactly one of --group, --npi, --all-groups, --patient-level, --system' });
    const since = await inProcess(['export', 'run', '--group', group, '--since', 'yesterday', '--out', out]);
    expect(since.code).toBe(2);
    expect(JSON.parse(since.stderr[0]!)).toMatchObject({ eventId: 'error', message: expect.stringMatching(/^--since "yesterday" is not an ISO 8601 date-time/) });
  });
});
