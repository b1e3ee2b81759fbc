/**
 * The export progress bars (a terminal's stderr): what a line shows while the job waits and while files download,
 * fed with the events of a real export over loopback, so the bar's resource count is checked against the summary.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { advance, createProgress, formatElapsed, progressLine, type BarState } from '../../src/cli/commands/export-progress.js';
import { Output } from '../../src/cli/output.js';
import { Redactor } from '../../src/redact.js';
import { runExport, type ExportEvent } from '../../src/export/index.js';
import { exportFixture, makeGroup, NPIS, tempDir, type ExportFixture } from './sandbox.js';

const fresh = (label: string): BarState => ({ label, phase: 'waiting', since: 0, files: 0, total: 0, bytes: 0, resources: 0, note: 'starting' });

describe('progress lines (pure)', () => {
  it('while the job waits: the elapsed wait and X-Progress, no empty file bar', () => {
    const state = fresh('64d0cd85…');
    advance(state, { type: 'kickoff', label: 'g', npi: '1232125215', url: 'u', jobUrl: 'j', resumed: false }, 1_000);
    advance(state, { type: 'status_progress', label: 'g', jobUrl: 'j', progress: 'RUNNING: 5.77%', nextPollMs: 1000 }, 30_000);
    const line = progressLine(state, 43_000);
    expect(line).toBe('1232125215  waiting for the job 0:42 · RUNNING: 5.77%');
    expect(line).not.toMatch(/0\/0|files/);
    expect([formatElapsed(7_000), formatElapsed(750_000), formatElapsed(3_723_000)]).toEqual(['0:07', '12:30', '1:02:03']);
  });

  it('escapes control characters of server text: the bar is drawn on the terminal past Output', () => {
    const state = fresh('g');
    // a C1 CSI (U+009B) in X-Progress: undici rejects C0 controls in headers, but reads bytes 0x80-0xff as Latin-1
    advance(state, { type: 'status_progress', label: 'g', jobUrl: 'j', progress: 'RUNNING\u009b2J', nextPollMs: 1000 }, 0);
    expect(progressLine(state, 0)).toBe('g  waiting for the job 0:00 · RUNNING\\u009b2J');
  });

  it("masks the run's secrets on the drawn bar, as every other line on stderr", async () => {
    let drawn = '';
    const stderr = Object.assign(new Writable({ write: (c: Buffer, _e, done) => void ((drawn += c.toString()), done()) }), { isTTY: true, columns: 200 });
    const redactor = new Redactor();
    const clientToken = 'client-token-for-the-progress-test-0123456789';
    redactor.add(clientToken);
    const progress = await createProgress(new Output({ json: false, debug: false, stderr, redactor }), false);
    progress.onEvent({ type: 'status_error', label: 'g', jobUrl: 'j', message: `echoed ${clientToken}`, retryInMs: 1000 });
    progress.stop();
    expect(drawn).toContain('status error, retrying: echoed [REDACTED]');
    expect(drawn).not.toContain(clientToken);
  });

  it('while downloading: files, MiB, resources of data files only; done in English', () => {
    const state = fresh('g');
    advance(state, { type: 'status_complete', label: 'g', jobUrl: 'j', transactionTime: 't', files: 2 }, 0);
    advance(state, { type: 'download_progress', label: 'g', file: 'Patient-001.ndjson', bytes: 2 ** 20 }, 0);
    advance(state, { type: 'download_complete', label: 'g', url: 'u', file: 'Patient-001.ndjson', kind: 'output', bytes: 2 ** 20, resources: 399, skipped: false }, 0);
    advance(state, { type: 'download_complete', label: 'g', url: 'u', file: 'OperationOutcome-001.ndjson', kind: 'error', bytes: 10, resources: 1, skipped: false }, 0);
    expect(progressLine(state, 1_000)).toBe(`g [${'█'.repeat(24)}] 2/2 files | 1.0 MiB | 399 resources | 1.0 MiB/s | downloading`);
    advance(state, { type: 'export_complete', label: 'g', run: 'r', files: 2, bytes: 2 ** 20, resources: 399, errors: 1, quarantined: 0, transactionTime: 't' }, 0);
    expect(progressLine(state, 1_000)).toMatch(/399 resources .* done, 1 patient error$/);
  });
});

describe('progress fed by a real export', () => {
  let fx: ExportFixture;
  beforeAll(async () => {
    fx = await exportFixture();
  }, 60_000);
  afterAll(() => fx?.close());

  it('--all-groups: each bar is labelled with its NPI, and its resource count equals the summary (OperationOutcome not counted)', async () => {
    await makeGroup(fx, NPIS[0], [...fx.goodMbis.slice(0, 3), fx.failingMbis[0]!]);
    await makeGroup(fx, NPIS[1], fx.goodMbis.slice(3, 5));
    const states = new Map<string, BarState>();
    const events: ExportEvent[] = [];
    const result = await runExport(fx.client, {
      outDir: await tempDir(),
      target: { kind: 'all-groups' },
      pollIntervalMs: 20,
      onEvent: (event) => {
        events.push(event);
        if (!states.has(event.label)) states.set(event.label, fresh(event.label.slice(0, 8)));
        advance(states.get(event.label)!, event, Date.now());
      },
    });
    const exported = result.groups.filter((g) => g.manifest !== undefined);
    expect(exported.length).toBeGreaterThanOrEqual(2);
    for (const group of exported) {
      const state = states.get(group.label)!;
      const outputs = group.manifest!.files.filter((f) => f.kind === 'output').reduce((n, f) => n + f.count, 0);
      expect(state.resources).toBe(outputs);
      expect(NPIS).toContain(state.label);
      // counted as the files completed, before export_complete, too
      const completes = events.filter((e): e is Extract<ExportEvent, { type: 'download_complete' }> => e.type === 'download_complete' && e.label === group.label);
      expect(completes.filter((e) => e.kind === 'output').reduce((n, e) => n + e.resources, 0)).toBe(outputs);
    }
    const withErrors = exported.find((g) => g.manifest!.errors.total > 0)!;
    expect(withErrors.manifest!.files.some((f) => f.kind === 'error')).toBe(true);
    expect(progressLine(states.get(withErrors.label)!, Date.now())).toMatch(/done, 1 patient error$/);
  });
});
