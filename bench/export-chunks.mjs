// Client CPU per GB of a verified download when the server writes small (1–2 KiB) or big (64 KiB) chunks: a loopback
// generic Bulk Data server, 256 MiB per scenario by default (DPC_BENCH_CHUNK_MIB). DPC_BENCH_BASELINE_DIST=<dist/ of
// another build> measures that build the same way in the same run (before/after).
import { benchmarkChunks } from '../dist/bench/chunks.js';

const MIB = Number(process.env.DPC_BENCH_CHUNK_MIB ?? 256);

export async function run({ log }) {
  log(`${MIB} MiB per scenario, 4 files, 4 parallel downloads…`);
  const results = await benchmarkChunks({ bytes: MIB * 2 ** 20, baselineDist: process.env.DPC_BENCH_BASELINE_DIST });
  const rows = [];
  for (const r of results) {
    const label = `[${r.scenario === 'small' ? '1-2 KiB' : '64 KiB'} chunks, ${r.build}]`;
    rows.push(
      { metric: `${label} client CPU per GB`, value: r.cpuSecondsPerGB.toFixed(2), unit: 's' },
      { metric: `${label} verified download`, value: r.mibPerSecond.toFixed(0), unit: 'MiB/s' },
      { metric: `${label} peak RSS`, value: (r.peakRssBytes / 2 ** 20).toFixed(0), unit: 'MiB' },
    );
  }
  return rows;
}
