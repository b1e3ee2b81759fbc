/**
 * The export state: journal replay and compaction (crash cases made by hand on disk), labels that are Object
 * property names, and what the server says checked before it is stored (over loopback against a small server).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { appendFile, copyFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runExport, runOutcomeError } from '../../src/export/index.js';
import type { VerifiedFile } from '../../src/export/download.js';
import { JOURNAL_FILE, STATE_FILE, StateStore } from '../../src/export/state.js';
import { bulkServerForFile } from './bulk-server.js';
import { removeTempDirs, tempDir } from './sandbox.js';

const verified = (n: number): VerifiedFile => ({
  url: `https://files.example/f${n}`,
  type: 'Patient',
  kind: 'output',
  path: `Patient-${String(n).padStart(3, '0')}.ndjson`,
  bytes: n,
  sha256: 'a'.repeat(64),
  count: 1,
});

async function storeWithRun(out: string, label: string, run = 'R1', jobUrl = 'https://x/Jobs/1'): Promise<StateStore> {
  const state = await StateStore.open(out);
  await state.update(label, (g) => {
    g.jobUrl = jobUrl;
    g.run = run;
    g.files = new Map();
  });
  return state;
}

afterAll(removeTempDirs);

describe('state journal', () => {
  it('appends one line per verified file, on disk before recordFile resolves, and replays it on open', async () => {
    const out = await tempDir();
    const state = await storeWithRun(out, 'g1');
    await Promise.all([1, 2, 3].map((n) => state.recordFile('g1', verified(n).path, verified(n))));
    const lines = (await readFile(join(out, JOURNAL_FILE), 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(4); // the group line, then one per file
    expect(JSON.parse(lines[3]!)).toMatchObject({ gen: 0, label: 'g1', run: 'R1', jobUrl: 'https://x/Jobs/1', file: { path: expect.stringMatching(/^Patient-00\d\.ndjson$/) } });
    expect(await readdir(out)).not.toContain(STATE_FILE); // no snapshot rewritten per file

    const reopened = await StateStore.open(out);
    expect([...reopened.group('g1').files.keys()].sort()).toEqual(['Patient-001.ndjson', 'Patient-002.ndjson', 'Patient-003.ndjson']);
    expect(reopened.group('g1')).toMatchObject({ run: 'R1', jobUrl: 'https://x/Jobs/1' });
    await state.compact();
  });

  it('ignores a torn last line, refuses a damaged line before it, and drops file lines of an older run', async () => {
    const out = await tempDir();
    const state = await storeWithRun(out, 'g1');
    await state.recordFile('g1', verified(1).path, verified(1));
    await state.update('g1', (g) => {
      g.run = 'R2';
      g.jobUrl = 'https://x/Jobs/2';
      g.files = new Map();
    });
    await state.recordFile('g1', verified(2).path, verified(2));
    // a line for R1 written late (a crash order cannot produce it, but replay must not trust it): ignored
    await appendFile(join(out, JOURNAL_FILE), `${JSON.stringify({ gen: 0, label: 'g1', run: 'R1', jobUrl: 'https://x/Jobs/1', name: 'Patient-003.ndjson', file: verified(3) })}\n`);
    await appendFile(join(out, JOURNAL_FILE), JSON.stringify({ gen: 0, label: 'g1', run: 'R2', jobUrl: 'https://x/Jobs/2', name: 'Patient-004.ndjson', file: verified(4) }).slice(0, 40));
    const reopened = await StateStore.open(out);
    expect([...reopened.group('g1').files.values()].map((f) => f.path)).toEqual(['Patient-002.ndjson']);
    await state.compact();

    await writeFile(join(out, JOURNAL_FILE), `{"gen":0,"label":"g1","run":\n${JSON.stringify({ gen: 0, label: 'g1', run: 'R2', jobUrl: 'j', name: 'n', file: verified(1) })}\n`);
    await expect(StateStore.open(out)).rejects.toMatchObject({ code: 'ERR_INPUT', message: expect.stringContaining(`${JOURNAL_FILE}:1 is not an export journal line`) });
    await writeFile(join(out, JOURNAL_FILE), `${JSON.stringify({ gen: 0, label: 'g1', run: 'R2', jobUrl: 'j', name: 'n', file: { ...verified(1), path: '../../etc/passwd' } })}\n`);
    await expect(StateStore.open(out)).rejects.toMatchObject({ code: 'ERR_INPUT', message: expect.stringContaining('file.path') });
  });

  it('compacts into the snapshot and drops the journal; a journal a crash left behind a newer snapshot is skipped', async () => {
    const out = await tempDir();
    const state = await storeWithRun(out, 'g1');
    for (const n of [1, 2]) await state.recordFile('g1', verified(n).path, verified(n));
    await state.update('g2', (g) => {
      g.lastTransactionTime = '2025-01-01T00:00:00Z';
      g.latest = 'R0';
    });
    await copyFile(join(out, JOURNAL_FILE), join(out, 'journal.copy'));
    await state.compact();
    expect(await readdir(out)).not.toContain(JOURNAL_FILE);
    const compacted = (await StateStore.open(out)).toJSON();
    expect(Object.keys(compacted.groups.g1!.files)).toHaveLength(2);
    expect(compacted.groups.g2).toMatchObject({ lastTransactionTime: '2025-01-01T00:00:00Z', latest: 'R0' });

    // appends after a compaction start a fresh journal
    await state.recordFile('g1', verified(3).path, verified(3));
    expect((await readFile(join(out, JOURNAL_FILE), 'utf8')).split('\n')).toHaveLength(2);
    await state.compact();

    // the crash: the old journal is still there next to a snapshot that holds it
    const before = (await StateStore.open(out)).toJSON();
    await copyFile(join(out, 'journal.copy'), join(out, JOURNAL_FILE));
    expect((await StateStore.open(out)).toJSON()).toEqual(before);
  });

  it('keeps groups named like Object properties, and file keys like __proto__', async () => {
    const out = await tempDir();
    const labels = ['constructor', 'toString', 'hasOwnProperty', 'valueOf'];
    const state = await StateStore.open(out);
    for (const label of labels) await state.update(label, (g) => void (g.lastTransactionTime = '2025-01-01T00:00:00Z'));
    await state.update('g1', (g) => {
      g.run = 'R1';
      g.jobUrl = 'j';
    });
    await state.recordFile('g1', '__proto__', verified(1));
    expect((await StateStore.open(out)).labels().sort()).toEqual([...labels, 'g1'].sort());
    await state.compact();
    const reopened = await StateStore.open(out);
    expect(reopened.labels().sort()).toEqual([...labels, 'g1'].sort());
    expect(reopened.group('constructor').lastTransactionTime).toBe('2025-01-01T00:00:00Z');
    expect(reopened.group('g1').files.get('__proto__')?.path).toBe('Patient-001.ndjson');
    expect(reopened.group('unknown').files.size).toBe(0);
    await state.compact();
    expect(({} as Record<string, unknown>).lastTransactionTime).toBeUndefined(); // nothing leaked onto Object.prototype
  });
});

describe('what the server says is checked before it is stored', () => {
  const patients = '{"resourceType":"Patient","id":"p1"}\n{"resourceType":"Patient","id":"p2"}\n';
  const server = bulkServerForFile({ jobs: {}, files: { 'p.ndjson': patients } });

  const job = (transactionTime: string) => ({ transactionTime, output: [{ type: 'Patient', name: 'p.ndjson', count: 2 }] });
  const run = (out: string, groupId: string, since?: string) => runExport(server.client(), { outDir: out, target: { kind: 'group', groupId }, since, pollIntervalMs: 10 });

  it('refuses a transactionTime that is not an instant or lies in the far future, storing nothing for since auto', async () => {
    for (const bad of ['not-a-time', '2999-01-01T00:00:00Z']) {
      const out = await tempDir();
      server.config.jobs.g1 = job('2025-01-01T00:00:00Z');
      expect(runOutcomeError(await run(out, 'g1', 'auto'))).toBeUndefined();
      server.config.jobs.g1 = job(bad);
      const error = await run(out, 'g1', 'auto').catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_HTTP', message: expect.stringContaining(`transactionTime ${JSON.stringify(bad)} is`) });
      const state = await StateStore.open(out);
      expect(state.group('g1').lastTransactionTime).toBe('2025-01-01T00:00:00Z');
      expect(state.group('g1').files.size).toBe(0);
      // the next run (a server that tells the truth again) asks _since the last good time
      server.config.jobs.g1 = job('2025-02-01T00:00:00Z');
      server.kickoffs.length = 0;
      expect(runOutcomeError(await run(out, 'g1', 'auto'))).toBeUndefined();
      expect(server.kickoffs).toEqual([]); // the in-flight job was resumed, not kicked off again
      expect((await StateStore.open(out)).group('g1').lastTransactionTime).toBe('2025-02-01T00:00:00Z');
    }
  });

  it("judges the transactionTime by the server's own clock (its Date), and by ours only when it sends none", async () => {
    const serverClock = Date.now() + 30 * 86_400_000; // a server whose clock is 30 days ahead of this machine's
    const ahead = new Date(serverClock - 3_600_000).toISOString();
    const out = await tempDir();
    server.config.jobs.g3 = { ...job(ahead), date: new Date(serverClock).toUTCString() };
    expect(runOutcomeError(await run(out, 'g3', 'auto'))).toBeUndefined();
    expect((await StateStore.open(out)).group('g3').lastTransactionTime).toBe(ahead);
    // the next since-auto run sends it: whether it is in the future is the server's to judge, by its clock
    server.kickoffs.length = 0;
    expect(runOutcomeError(await run(out, 'g3', 'auto'))).toBeUndefined();
    expect(server.kickoffs[0]).toContain(`_since=${encodeURIComponent(ahead)}`);

    for (const [date, clock] of [
      [new Date(serverClock - 2 * 3_600_000).toUTCString(), /more than 5 minutes ahead of the server's own clock \(its Date header says /],
      [null, /more than 5 minutes ahead of this machine's clock \(the server sent no usable Date header\)/],
      ['tomorrow', /more than 5 minutes ahead of this machine's clock \(the server sent no usable Date header\)/],
    ] as const) {
      const refusedOut = await tempDir();
      server.config.jobs.g4 = { ...job(ahead), date };
      const error = await run(refusedOut, 'g4', 'auto').catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_HTTP', message: expect.stringMatching(clock) });
      expect((await StateStore.open(refusedOut)).group('g4').lastTransactionTime).toBeUndefined();
    }
  });

  it('accepts a transactionTime a little ahead of our clock (skew)', async () => {
    const out = await tempDir();
    server.config.jobs.g2 = job(new Date(Date.now() + 60_000).toISOString());
    expect(runOutcomeError(await run(out, 'g2'))).toBeUndefined();
  });

  it('names the state field when an older version stored a bad transactionTime, and an explicit since repairs it', async () => {
    const out = await tempDir();
    await writeFile(join(out, STATE_FILE), JSON.stringify({ version: 1, groups: { g1: { files: {}, lastTransactionTime: 'not-a-time' } } }));
    const error = await run(out, 'g1', 'auto').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_INPUT', message: expect.stringMatching(/\.dpc-export-state\.json: the transactionTime recorded for g1 \("not-a-time"\) is not an ISO 8601/) });
    server.config.jobs.g1 = job('2025-03-01T00:00:00Z');
    expect(runOutcomeError(await run(out, 'g1', '2024-01-01T00:00:00Z'))).toBeUndefined();
    server.kickoffs.length = 0;
    expect(runOutcomeError(await run(out, 'g1', 'auto'))).toBeUndefined();
    expect(server.kickoffs[0]).toContain(`_since=${encodeURIComponent('2025-03-01T00:00:00Z')}`);
  });

  it('exports groups called constructor and toString, and the next since-auto run uses their times', async () => {
    const out = await tempDir();
    for (const id of ['constructor', 'toString']) server.config.jobs[id] = job('2025-04-01T00:00:00Z');
    server.config.groups = [{ id: 'constructor' }, { id: 'toString' }];
    const first = await runExport(server.client(), { outDir: out, target: { kind: 'all-groups' }, since: 'auto', pollIntervalMs: 10 });
    expect(runOutcomeError(first)).toBeUndefined();
    expect(first.groups.map((g) => g.label).sort()).toEqual(['constructor', 'toString']);
    server.kickoffs.length = 0;
    await runExport(server.client(), { outDir: out, target: { kind: 'all-groups' }, since: 'auto', pollIntervalMs: 10 });
    expect(server.kickoffs.sort()).toEqual(['constructor', 'toString'].map((id) => `/fhir/Group/${id}/$export?_since=2025-04-01T00%3A00%3A00Z&_outputFormat=application%2Ffhir%2Bndjson`));
  });
});
