// Opt-in (`npm run bench -- export-tables`): a verified export of about 1 GB converted to Parquet by `dpc export
// tables` (exportTables) vs DuckDB's own read_json_auto → COPY TO parquet of the same files, each in a child process.
// Size: DPC_BENCH_TABLES_SCALE (sandbox export scale; about 10.5 MB per step for 100 patients: 100 ≈ 1.05 GB).
import { benchmarkTables } from '../dist/bench/tables.js';

const SCALES = (process.env.DPC_BENCH_TABLES_SCALE ?? '100').split(',').map(Number);
const mib = (bytes) => (bytes / 2 ** 20).toFixed(0);

export async function run({ log }) {
  const rows = [];
  for (const exportScale of SCALES) {
    log(`export scale ${exportScale}: exporting, then converting twice…`);
    const r = await benchmarkTables({ exportScale });
    const label = `${(r.bytes / 1e6).toFixed(0)} MB NDJSON, ${r.resources} resources`;
    rows.push(
      { metric: `[${label}] DuckDB read_json_auto → parquet`, value: r.duckdb.seconds.toFixed(1), unit: 's' },
      { metric: `[${label}] exportTables (raw + merge + flat)`, value: r.tables.seconds.toFixed(1), unit: 's' },
      { metric: `[${label}] ratio exportTables / DuckDB`, value: r.ratio.toFixed(2), unit: 'x' },
      { metric: `[${label}] peak RSS (DuckDB reference)`, value: mib(r.duckdb.peakRssBytes), unit: 'MiB' },
      { metric: `[${label}] peak RSS (exportTables)`, value: mib(r.tables.peakRssBytes), unit: 'MiB' },
      { metric: `[${label}] CPU (exportTables / DuckDB)`, value: `${r.tables.cpuSeconds.toFixed(0)} / ${r.duckdb.cpuSeconds.toFixed(0)}`, unit: 's' },
      { metric: `[${label}] CPU ratio exportTables / DuckDB`, value: (r.tables.cpuSeconds / r.duckdb.cpuSeconds).toFixed(2), unit: 'x' },
      { metric: `[${label}] Parquet written (every table)`, value: mib(r.parquetBytes), unit: 'MiB' },
    );
  }
  return rows;
}
