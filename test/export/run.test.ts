/**
 * The export engine end to end against the embedded sandbox over loopback: real token flow, real jobs, real files.
 * Faults come from the sandbox's fault switches; nothing is mocked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { chmod, cp, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDpcError } from '../../src/errors.js';
import { pollOnce, runExport, runOutcomeError, verifyExportDir, type ExportEvent, type ExportRunOptions, type GroupManifest } from '../../src/export/index.js';
import { LATEST_FILE } from '../../src/export/layout.js';
import { acquireLock, LOCK_FILE } from '../../src/export/lock.js';
import { STATE_FILE } from '../../src/export/state.js';
import { exportFixture, makeGroup, NPIS, tempDir, type ExportFixture } from './sandbox.js';
import { exitCodeFor } from '../../src/cli/exit-codes.js';

let fx: ExportFixture;
let groupA: string; // three patients with data
let groupB: string; // two with data, one the sandbox fails

beforeAll(async () => {
  fx = await exportFixture();
  groupA = await makeGroup(fx, NPIS[0], fx.goodMbis.slice(0, 3));
  groupB = await makeGroup(fx, NPIS[1], [...fx.goodMbis.slice(3, 5), fx.failingMbis[0]!]);
}, 30_000);

afterAll(async () => {
  await fx?.close();
});

async function run(over: Partial<ExportRunOptions> & { outDir: string }) {
  const events: ExportEvent[] = [];
  const result = await runExport(fx.client, {
    target: { kind: 'group', groupId: groupA },
    pollIntervalMs: 50,
    ...over,
    onEvent: (e) => {
      events.push(e);
      over.onEvent?.(e);
    },
  });
  return { result, events, error: runOutcomeError(result), manifest: result.groups[0]?.manifest as GroupManifest };
}

const mode = async (path: string) => (await stat(path)).mode & 0o777;
const sha256Of = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');
const state = async (out: string) =>
  JSON.parse(await readFile(join(out, STATE_FILE), 'utf8')) as { groups: Record<string, { jobUrl?: string; run?: string; latest?: string; lastTransactionTime?: string }> };
const RUN_ID = /^\d{4}-\d\d-\d\dT\d{6}Z(-\d+)?$/;

describe('full export', () => {
  it('downloads every type into a run folder, verified against the server manifest, owner-only, manifest written last', async () => {
    const out = await tempDir();
    const { result, error, manifest, events } = await run({ outDir: out });
    expect(error).toBeUndefined();
    expect(manifest.run).toMatch(RUN_ID);
    const dir = join(out, groupA, manifest.run);
    expect(result.groups[0]!.manifestPath).toBe(join(dir, 'manifest.json'));
    expect(new Set(manifest.files.map((f) => f.type))).toEqual(new Set(['Patient', 'Coverage', 'ExplanationOfBenefit']));
    expect(manifest.files.map((f) => f.path).sort()).toEqual(['Coverage-001.ndjson', 'ExplanationOfBenefit-001.ndjson', 'Patient-001.ndjson']);

    // independent check: hash what is on disk and compare with the server's own completion body
    const server = await pollOnce(fx.client.transport, manifest.jobUrl);
    if (server.state !== 'complete') throw new Error('job not complete');
    for (const file of manifest.files) {
      const promised = server.completion.files.find((f) => f.url === file.url)!;
      expect(await sha256Of(join(dir, file.path))).toBe(promised.sha256);
      expect(file.count).toBe(promised.count);
      expect(await mode(join(dir, file.path))).toBe(0o600);
    }
    expect(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'))).toEqual(manifest);
    expect(manifest.transactionTime).toBe(server.completion.transactionTime);
    // DPC's own echo of the request, verbatim, and beside it the kick-off URL really sent
    expect(manifest.request).toBe(server.completion.request);
    expect(manifest.requestSent).toBe(`${fx.sandbox.baseUrl}/Group/${groupA}/$export?_outputFormat=application%2Ffhir%2Bndjson`);
    expect(events.find((e) => e.type === 'kickoff')).toMatchObject({ url: manifest.requestSent });
    expect(await mode(out)).toBe(0o700);
    expect(await mode(dir)).toBe(0o700);
    expect(await mode(join(out, groupA))).toBe(0o700);
    expect(await mode(join(dir, 'manifest.json'))).toBe(0o600);
    expect((await readdir(join(out, groupA))).sort()).toEqual([manifest.run, LATEST_FILE].sort());
    expect(await readFile(join(out, groupA, LATEST_FILE), 'utf8')).toBe(`${manifest.run}\n`);
    expect(await mode(join(out, groupA, LATEST_FILE))).toBe(0o600);
    expect(await mode(join(out, STATE_FILE))).toBe(0o600);
    expect((await readdir(dir)).sort()).toEqual(['Coverage-001.ndjson', 'ExplanationOfBenefit-001.ndjson', 'Patient-001.ndjson', 'manifest.json']);
    expect(await readdir(out)).not.toContain(LOCK_FILE);
    expect((await state(out)).groups[groupA]).toMatchObject({ lastTransactionTime: manifest.transactionTime, latest: manifest.run });
    expect((await state(out)).groups[groupA]!.jobUrl).toBeUndefined();
    expect((await state(out)).groups[groupA]!.run).toBeUndefined();
    expect((await verifyExportDir(out)).ok).toBe(true);

    const order = events.filter((e) => e.type !== 'download_progress' && e.type !== 'download_request' && e.type !== 'download_complete').map((e) => e.type);
    expect(order[0]).toBe('kickoff');
    expect(order.slice(-2)).toEqual(['status_complete', 'export_complete']);
    expect(events.find((e) => e.type === 'kickoff')).toMatchObject({ requestId: expect.any(String), resumed: false });
    // every SMART log event that answers a request carries the server's X-Request-Id
    for (const type of ['status_progress', 'status_complete', 'download_request', 'download_complete']) {
      expect(events.filter((e) => e.type === type).every((e) => typeof (e as { requestId?: string }).requestId === 'string')).toBe(true);
    }
  });

  it('reports patients the server could not export as partial success (exit 4) with reasons and MBIs', async () => {
    const out = await tempDir();
    const { error, manifest } = await run({ outDir: out, target: { kind: 'group', groupId: groupB } });
    expect(error).toMatchObject({ code: 'ERR_PARTIAL' });
    expect(exitCodeFor(error)).toBe(4);
    expect(manifest.errors.total).toBe(1);
    expect(manifest.errors.reasons[0]!.patients).toEqual([fx.failingMbis[0]]);
    expect(manifest.files.some((f) => f.kind === 'error' && f.path === 'OperationOutcome-001.ndjson')).toBe(true);
  });

  it('finds the group by practitioner NPI and names the folder after the NPI; keeps gzip files with --gzip', async () => {
    const out = await tempDir();
    const { error, manifest } = await run({ outDir: out, target: { kind: 'npi', npi: NPIS[0] }, gzip: true, types: ['Patient', 'Coverage'] });
    expect(error).toBeUndefined();
    expect(manifest.files.map((f) => f.path).sort()).toEqual(['Coverage-001.ndjson.gz', 'Patient-001.ndjson.gz']);
    for (const file of manifest.files) expect((await stat(join(out, NPIS[0], manifest.run, file.path))).size).toBe(file.gzipBytes);
    expect((await verifyExportDir(join(out, NPIS[0]))).ok).toBe(true);
  });

  it('exports every group of the organization with --all-groups', async () => {
    const out = await tempDir();
    const { result, error } = await run({ outDir: out, target: { kind: 'all-groups' }, types: ['Patient'] });
    expect(result.groups.map((g) => g.label).sort()).toEqual([groupA, groupB].sort());
    expect(result.groups.every((g) => g.manifest !== undefined)).toBe(true);
    expect(error).toMatchObject({ code: 'ERR_PARTIAL' }); // group B has a failing patient
  });
});

describe('faults end verified or with a clear error', () => {
  it('rides out 429 (Retry-After seconds) on polls, 503 (HTTP-date) on files, a cut connection and a truncated body', async () => {
    const out = await tempDir();
    fx.transportEvents.length = 0;
    const events: ExportEvent[] = [];
    fx.sandbox.faults.set({
      throttle: { status: 429, count: 1, retryAfter: 'seconds', retryAfterSeconds: 1, pathIncludes: '/Jobs/' },
      cutAtByte: { bytes: 1000, count: 1, fileIncludes: 'explanationofbenefit' },
      truncateBy: { bytes: 100, count: 1, fileIncludes: 'coverage' },
    });
    try {
      const first = await run({ outDir: out, onEvent: (e) => events.push(e) });
      expect(first.error).toBeUndefined();
      fx.sandbox.faults.set({ throttle: { status: 503, count: 1, retryAfter: 'http-date', retryAfterSeconds: 1, pathIncludes: '/Data/' } });
      const second = await run({ outDir: await tempDir() });
      expect(second.error).toBeUndefined();
    } finally {
      fx.sandbox.faults.clear();
    }
    const retries = fx.transportEvents.filter((e) => e.type === 'retry').map((e) => e.type === 'retry' && [e.status, e.url.includes('/Jobs/') ? 'Jobs' : 'Data', e.delayMs > 0]);
    expect(retries).toEqual(expect.arrayContaining([[429, 'Jobs', true], [503, 'Data', true]]));
    const retried = events.filter((e) => e.type === 'download_error').map((e) => e.type === 'download_error' && [e.file, e.willRetry]);
    expect(retried).toEqual(expect.arrayContaining([['ExplanationOfBenefit-001.ndjson', true], ['Coverage-001.ndjson', true]]));
    expect((await verifyExportDir(out)).ok).toBe(true);
  });

  it('retries a 500 on the status poll a bounded number of times, then fails with ERR_JOB_FAILED', async () => {
    fx.sandbox.faults.set({ throttle: { status: 500, count: 2, pathIncludes: '/Jobs/' } });
    const ok = await run({ outDir: await tempDir() });
    expect(ok.error).toBeUndefined();
    expect(ok.events.filter((e) => e.type === 'status_error')).toHaveLength(2);
    fx.sandbox.faults.set({ throttle: { status: 500, count: 50, pathIncludes: '/Jobs/' } });
    try {
      await expect(run({ outDir: await tempDir() })).rejects.toMatchObject({ code: 'ERR_JOB_FAILED', message: expect.stringMatching(/6 status requests in a row failed/) });
    } finally {
      fx.sandbox.faults.clear();
    }
  });

  it('quarantines a file whose manifest checksum is wrong, keeps since-auto where it was, and a rerun resumes the job', async () => {
    const out = await tempDir();
    fx.sandbox.faults.set({ wrongChecksum: { fileIncludes: 'patient' } });
    let bad;
    try {
      bad = await run({ outDir: out, since: 'auto' });
    } finally {
      fx.sandbox.faults.clear(); // the server's manifest is right again
    }
    expect(bad.events.find((e) => e.type === 'kickoff')!).toMatchObject({ url: expect.not.stringContaining('_since') });
    expect(bad.error).toMatchObject({ code: 'ERR_INTEGRITY' });
    expect(exitCodeFor(bad.error)).toBe(1);
    const quarantined = bad.manifest.quarantined[0]!;
    expect(quarantined.path).toBe(join(out, '.quarantine', groupA, bad.manifest.run, 'Patient-001.ndjson'));
    expect(await readdir(join(out, groupA, bad.manifest.run))).not.toContain('Patient-001.ndjson');
    expect(await readdir(join(out, groupA))).not.toContain(LATEST_FILE); // no run of this group is complete yet
    expect((await state(out)).groups[groupA]).toMatchObject({ jobUrl: bad.manifest.jobUrl, run: bad.manifest.run });
    expect((await state(out)).groups[groupA]!.lastTransactionTime).toBeUndefined();

    const rerun = await run({ outDir: out, since: 'auto' });
    expect(rerun.error).toBeUndefined();
    expect(rerun.manifest.jobUrl).toBe(bad.manifest.jobUrl);
    expect(rerun.manifest.run).toBe(bad.manifest.run); // resume continues the same run folder
    expect(rerun.events.find((e) => e.type === 'kickoff')).toMatchObject({ resumed: true });
    expect(rerun.manifest.requestSent).toBe(bad.manifest.requestSent); // the resumed job's request, recomputed the same
    const skipped = rerun.events.filter((e) => e.type === 'download_complete' && e.skipped).length;
    expect(skipped).toBe(bad.manifest.files.length);
    const t1 = rerun.manifest.transactionTime;
    expect((await state(out)).groups[groupA]!.lastTransactionTime).toBe(t1);
    expect((await verifyExportDir(out)).ok).toBe(true);

    // the next incremental run asks only for what changed since the verified transactionTime
    fx.sandbox.clock.advance(1000);
    const next = await run({ outDir: out, since: 'auto' });
    expect(next.events.find((e) => e.type === 'kickoff')).toMatchObject({ resumed: false, url: expect.stringContaining(`_since=${encodeURIComponent(t1)}`) });
    expect(next.error).toBeUndefined();
    expect((await state(out)).groups[groupA]!.lastTransactionTime).toBe(next.manifest.transactionTime);
  });

  it('refreshes the access token transparently when the clock passes its expiry mid-job', async () => {
    const before = fx.client.tokens.exchanges;
    let advanced = 0;
    const { error } = await run({
      outDir: await tempDir(),
      concurrency: 1,
      onEvent: (e) => {
        // 6 minutes pass between the kick-off and the first poll, and again between downloads: every token in use
        // expires (after the kick-off, not at a 202: a loaded machine may find the 200 ms job done at its first poll)
        if ((e.type === 'kickoff' && advanced === 0) || (e.type === 'download_complete' && advanced === 1)) {
          advanced++;
          fx.sandbox.clock.advance(6 * 60_000);
          fx.sandbox.authClock.advance(6 * 60_000); // the tokens expire too
        }
      },
    });
    expect(error).toBeUndefined();
    expect(advanced).toBe(2);
    expect(fx.client.tokens.exchanges - before).toBeGreaterThanOrEqual(2);
  });

  it('fails with ERR_JOB_EXPIRED when the job expires (410) before its files are fetched; a rerun starts a new job', async () => {
    const out = await tempDir();
    let expiredJob = '';
    await expect(
      run({
        outDir: out,
        onEvent: (e) => {
          if (e.type === 'status_complete' && !expiredJob) {
            expiredJob = e.jobUrl;
            fx.sandbox.clock.advance(25 * 3_600_000);
          }
        },
      }),
    ).rejects.toMatchObject({ code: 'ERR_JOB_EXPIRED', message: expect.stringMatching(/expired \(410/) });
    const expiredRun = (await state(out)).groups[groupA]!.run!;
    expect((await readdir(join(out, groupA, expiredRun))).filter((n) => n.endsWith('.ndjson'))).toEqual([]);
    expect((await state(out)).groups[groupA]!.jobUrl).toBe(expiredJob);

    const rerun = await run({ outDir: out });
    expect(rerun.error).toBeUndefined();
    expect(rerun.events.filter((e) => e.type === 'kickoff').map((e) => e.type === 'kickoff' && e.resumed)).toEqual([true, false]);
    expect(rerun.manifest.jobUrl).not.toBe(expiredJob);
    // the new job has its own run folder; the unfinished run of the expired job (never complete) is gone
    expect(rerun.manifest.run).not.toBe(expiredRun);
    expect((await readdir(join(out, groupA))).sort()).toEqual([rerun.manifest.run, LATEST_FILE].sort());
  });
  it('starts a new job when the recorded one is unknown to the server (404)', async () => {
    const out = await tempDir();
    fx.sandbox.faults.set({ wrongChecksum: { fileIncludes: 'coverage' } });
    try {
      expect((await run({ outDir: out })).error).toMatchObject({ code: 'ERR_INTEGRITY' });
    } finally {
      fx.sandbox.faults.clear();
    }
    const path = join(out, STATE_FILE);
    const saved = JSON.parse(await readFile(path, 'utf8')) as { groups: Record<string, { jobUrl: string }> };
    saved.groups[groupA]!.jobUrl = `${fx.sandbox.baseUrl}/Jobs/00000000-0000-4000-8000-000000000000`;
    await writeFile(path, JSON.stringify(saved));
    const rerun = await run({ outDir: out });
    expect(rerun.error).toBeUndefined();
    expect(rerun.events.filter((e) => e.type === 'kickoff').map((e) => e.type === 'kickoff' && e.resumed)).toEqual([true, false]);
  });
});

describe('nightly incremental runs', () => {
  it("two successive --since auto runs into one --out keep both runs' files; the second asks _since the first transactionTime", async () => {
    const out = await tempDir();
    const first = await run({ outDir: out, since: 'auto' });
    expect(first.error).toBeUndefined();
    expect(first.events.find((e) => e.type === 'kickoff')).toMatchObject({ resumed: false, url: expect.not.stringContaining('_since') });
    expect(first.manifest.files.length).toBeGreaterThan(0);
    const firstDir = join(out, groupA, first.manifest.run);
    const firstHashes = await Promise.all(first.manifest.files.map(async (f) => sha256Of(join(firstDir, f.path))));

    fx.sandbox.clock.advance(24 * 3_600_000); // the next night
    const second = await run({ outDir: out, since: 'auto' });
    expect(second.error).toBeUndefined();
    const t1 = first.manifest.transactionTime;
    expect(second.events.find((e) => e.type === 'kickoff')).toMatchObject({ resumed: false, url: expect.stringContaining(`_since=${encodeURIComponent(t1)}`) });
    expect(second.manifest.run).not.toBe(first.manifest.run);
    expect([second.manifest.run, first.manifest.run].sort()).toEqual([first.manifest.run, second.manifest.run]); // ids sort by time

    // nothing of the first run was touched; LATEST and the state moved to the second
    expect((await readdir(join(out, groupA))).sort()).toEqual([first.manifest.run, second.manifest.run, LATEST_FILE].sort());
    expect(await Promise.all(first.manifest.files.map(async (f) => sha256Of(join(firstDir, f.path))))).toEqual(firstHashes);
    expect(JSON.parse(await readFile(join(firstDir, 'manifest.json'), 'utf8'))).toEqual(first.manifest);
    expect(await readFile(join(out, groupA, LATEST_FILE), 'utf8')).toBe(`${second.manifest.run}\n`);
    expect((await state(out)).groups[groupA]).toMatchObject({ latest: second.manifest.run, lastTransactionTime: second.manifest.transactionTime });

    // verify takes the output folder or a group folder (every run), --latest (the run LATEST names), or one run folder
    expect(await verifyExportDir(out)).toMatchObject({ ok: true, manifests: 2 });
    expect(await verifyExportDir(join(out, groupA))).toMatchObject({ ok: true, manifests: 2 });
    const latest = await verifyExportDir(out, { latest: true });
    expect(latest).toMatchObject({ ok: true, manifests: 1 });
    expect(latest.files.map((f) => f.run)).toEqual(second.manifest.files.map(() => second.manifest.run));
    const one = await verifyExportDir(firstDir);
    expect(one).toMatchObject({ ok: true, manifests: 1 });
    expect(await verifyExportDir(firstDir, { latest: true })).toMatchObject({ ok: true, manifests: 1 });
    expect(one.files.map((f) => f.path)).toEqual(first.manifest.files.map((f) => join(firstDir, f.path)));

    // a group folder from before run folders (files and manifest directly in it) is still verified next to its runs
    await cp(firstDir, join(out, groupA), { recursive: true });
    expect(await verifyExportDir(out)).toMatchObject({ ok: true, manifests: 3 });
    expect(await verifyExportDir(join(out, groupA))).toMatchObject({ ok: true, manifests: 3 });

    // an older run changed on disk is caught when every run is checked
    const tampered = join(firstDir, 'Patient-001.ndjson');
    await writeFile(tampered, (await readFile(tampered, 'utf8')).replace('Patient', 'Patiant'));
    const report = await verifyExportDir(join(out, groupA));
    expect(report.ok).toBe(false);
    expect(report.files.filter((f) => !f.ok).map((f) => f.path)).toEqual([tampered]);
    expect((await verifyExportDir(join(out, groupA), { latest: true })).ok).toBe(true);
  });
});

describe('state from before run folders', () => {
  it('resumes an in-flight job recorded without a run folder in a new run folder', async () => {
    const out = await tempDir();
    fx.sandbox.faults.set({ wrongChecksum: { fileIncludes: 'coverage' } });
    let bad;
    try {
      bad = await run({ outDir: out });
    } finally {
      fx.sandbox.faults.clear();
    }
    expect(bad.error).toMatchObject({ code: 'ERR_INTEGRITY' });
    const path = join(out, STATE_FILE);
    const saved = JSON.parse(await readFile(path, 'utf8')) as { groups: Record<string, { run?: string }> };
    delete saved.groups[groupA]!.run;
    await writeFile(path, JSON.stringify(saved));

    const rerun = await run({ outDir: out });
    expect(rerun.error).toBeUndefined();
    expect(rerun.events.find((e) => e.type === 'kickoff')).toMatchObject({ resumed: true });
    expect(rerun.manifest.jobUrl).toBe(bad.manifest.jobUrl);
    expect(rerun.manifest.run).toMatch(RUN_ID);
    expect(await verifyExportDir(join(out, groupA), { latest: true })).toMatchObject({ ok: true, manifests: 1 });
  });
});

describe('one run per output folder', () => {
  it('refuses a second run with ERR_LOCKED and takes over a lock left by a dead process', async () => {
    const out = await tempDir();
    const lock = await acquireLock(out);
    try {
      const error = await runExport(fx.client, { outDir: out, target: { kind: 'group', groupId: groupA } }).catch((e: unknown) => e);
      expect(isDpcError(error, 'ERR_LOCKED')).toBe(true);
      expect((error as Error).message).toContain(`pid ${process.pid}`);
    } finally {
      await lock.release();
    }
    await writeFile(join(out, LOCK_FILE), JSON.stringify({ pid: 2 ** 22 + 4321, host: (await import('node:os')).hostname(), startedAt: 'earlier' }));
    expect((await run({ outDir: out })).error).toBeUndefined();
  });
});

describe('an --out folder this run did not create', () => {
  it('keeps the mode of a shared 1777 folder and of a symlinked 0755 folder, and writes PHI into 0700 subfolders', async () => {
    const shared = await tempDir();
    await chmod(shared, 0o1777);
    const first = await run({ outDir: shared, types: ['Patient'] });
    expect(first.error).toBeUndefined();
    expect((await stat(shared)).mode & 0o7777).toBe(0o1777);
    expect(await mode(join(shared, groupA))).toBe(0o700);
    expect(await mode(join(shared, groupA, first.manifest.run))).toBe(0o700);

    const target = await tempDir();
    await chmod(target, 0o755);
    const link = join(await tempDir(), 'exports');
    await symlink(target, link);
    const second = await run({ outDir: link, types: ['Patient'] });
    expect(second.error).toBeUndefined();
    expect(await mode(target)).toBe(0o755);
    expect(await mode(join(target, groupA))).toBe(0o700);

    // a folder the run creates is 0700 whatever the umask left
    const fresh = join(await tempDir(), 'new', 'out');
    expect((await run({ outDir: fresh, types: ['Patient'] })).error).toBeUndefined();
    expect(await mode(fresh)).toBe(0o700);
  });
});
