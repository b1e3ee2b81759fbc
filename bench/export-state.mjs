// Resume state bookkeeping of one export job with many files: the cost the run pays to record each verified file
// durably before its rename (4 downloads at a time, as `dpc export run` does), plus opening and compacting the state.
// Files are not downloaded: this isolates the state. `DPC_BENCH_STATE_DIST=/path/to/dist` runs an older build's
// state module (the one that rewrote the whole state file per file) for a before/after comparison.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const SIZES = (process.env.DPC_BENCH_STATE_FILES ?? '1000,10000').split(',').map(Number);
const dist = process.env.DPC_BENCH_STATE_DIST ?? new URL('../dist', import.meta.url).pathname;
const { StateStore } = await import(pathToFileURL(path.join(dist, 'export/state.js')).href);
const { Limiter, runAll } = await import(pathToFileURL(path.join(dist, 'export/limit.js')).href);

const verified = (n) => ({
  url: `https://sandbox.dpc.cms.gov/api/v1/Data/job-0000/${n}.ndjson`,
  type: 'ExplanationOfBenefit',
  kind: 'output',
  path: `ExplanationOfBenefit-${String(n).padStart(3, '0')}.ndjson`,
  bytes: 1_000_000 + n,
  sha256: 'ab'.repeat(32),
  count: 1000,
});

export async function run({ log = () => {} } = {}) {
  const rows = [];
  for (const files of SIZES) {
    const dir = await mkdtemp(path.join(tmpdir(), 'dpc-state-bench-'));
    try {
      const started = performance.now();
      const state = await StateStore.open(dir);
      await state.compact?.();
      await state.update('g', (g) => {
        g.jobUrl = 'https://sandbox.dpc.cms.gov/api/v1/Jobs/job-0000';
        g.run = '2026-11-25T020000Z';
      });
      const record = state.recordFile
        ? (f) => state.recordFile('g', f.path, f)
        : (f) => state.update('g', (g) => void (g.files[f.path] = f)); // the state module before the journal
      await runAll(Array.from({ length: files }, (_, i) => i + 1), new Limiter(4), (n) => record(verified(n)));
      await state.compact?.();
      const seconds = (performance.now() - started) / 1000;
      log(`${files} files: ${seconds.toFixed(2)} s`);
      rows.push(
        { metric: `[${files} files] record every verified file + compact`, value: seconds.toFixed(2), unit: 's' },
        { metric: `[${files} files] per file`, value: ((seconds / files) * 1000).toFixed(2), unit: 'ms' },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) for (const row of await run({ log: console.log })) console.log(row);
