// Verified export download vs a raw loopback copy of the same bytes, at two export sizes, same concurrency.
// Sizes: the sandbox's synthetic claims grow linearly with exportScale (about 15 MB per step for 100 patients: 17 ≈ 250 MB, 136 ≈ 2 GB).
import { benchmarkExport } from '../dist/bench/export.js';

const SIZES = (process.env.DPC_BENCH_SCALES ?? '17,136').split(',').map(Number);
const MB = 1e6;
const mib = (bytes) => (bytes / 2 ** 20).toFixed(0);

export async function run({ log }) {
  const rows = [];
  for (const exportScale of SIZES) {
    log(`export scale ${exportScale}: generating and downloading…`);
    const r = await benchmarkExport({ exportScale, concurrency: 4 });
    const label = `${(r.bytes / MB).toFixed(0)} MB, ${r.files} files`;
    rows.push(
      { metric: `[${label}] raw copy + sha256`, value: r.raw.mibPerSecond.toFixed(0), unit: 'MiB/s' },
      { metric: `[${label}] verified download`, value: r.verified.mibPerSecond.toFixed(0), unit: 'MiB/s' },
      { metric: `[${label}] ratio verified / raw`, value: r.ratio.toFixed(2), unit: 'x' },
      { metric: `[${label}] client CPU per GB`, value: (r.verified.cpuSeconds / (r.bytes / 1e9)).toFixed(2), unit: 's' },
      { metric: `[${label}] peak RSS (verified)`, value: mib(r.verified.peakRssBytes), unit: 'MiB' },
      { metric: `[${label}] peak RSS (raw copy)`, value: mib(r.raw.peakRssBytes), unit: 'MiB' },
      { metric: `[${label}] peak RSS (dpc export download, whole process)`, value: mib(r.cliPeakRssBytes), unit: 'MiB' },
      { metric: `[${label}] token exchanges`, value: r.verified.tokenExchanges, unit: '' },
    );
  }
  return rows;
}
