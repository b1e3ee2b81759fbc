/**
 * Benchmark helper for `npm run bench -- export-tables` (opt-in: it generates and converts about 1 GB): one verified
 * sandbox export written by the real export engine, then converted to Parquet twice, each in a child process for its
 * own peak RSS: by `exportTables` and by DuckDB's own `read_json_auto → COPY TO parquet` of the same files, whose
 * time is the reference (goal: exportTables ≤ 1.5 × it).
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runExport } from '../export/run.js';
import { withBenchSandbox } from './export.js';
import type { TablesChildInput, TablesChildOutput } from './tables-child.js';

export interface TablesBenchOptions {
  /** Claims multiplier of the sandbox's synthetic data (about 10.5 MB per step for 100 patients). */
  exportScale: number;
  /** Scratch folder (default: a fresh temp folder, removed afterwards). */
  workDir?: string;
}

export interface TablesBenchResult {
  /** NDJSON bytes converted. */
  bytes: number;
  resources: number;
  tables: TablesChildOutput;
  duckdb: TablesChildOutput;
  /** exportTables time / DuckDB's own conversion time. */
  ratio: number;
  /** Bytes of Parquet written by exportTables (every table). */
  parquetBytes: number;
}

const execFileAsync = promisify(execFile);

export async function benchmarkTables(options: TablesBenchOptions): Promise<TablesBenchResult> {
  return withBenchSandbox('dpc-tables-bench-', options, async ({ workDir, client, groupId }) => {
    const exported = await runExport(client, { outDir: join(workDir, 'export'), target: { kind: 'group', groupId }, pollIntervalMs: 500 });
    const manifest = exported.groups[0]?.manifest;
    if (!manifest) throw new Error(`bench export failed: ${exported.groups[0]?.error?.message}`);
    const runDir = join(workDir, 'export', manifest.label, manifest.run);
    const outputs = manifest.files.filter((f) => f.kind === 'output');
    const child = async (mode: TablesChildInput['mode']) => {
      const input: TablesChildInput = { mode, runDir, outDir: join(workDir, mode) };
      if (mode === 'duckdb') await mkdir(input.outDir, { recursive: true }); // exportTables makes its own, 0700
      const { stdout } = await execFileAsync(process.execPath, [fileURLToPath(new URL('tables-child.js', import.meta.url)), JSON.stringify(input)], { maxBuffer: 1 << 20 });
      return JSON.parse(stdout) as TablesChildOutput;
    };
    const duckdb = await child('duckdb');
    const tables = await child('tables');
    const tablesDir = join(workDir, 'tables');
    let parquetBytes = 0;
    for (const name of await readdir(tablesDir)) if (name.endsWith('.parquet')) parquetBytes += (await stat(join(tablesDir, name))).size;
    return {
      bytes: outputs.reduce((sum, f) => sum + f.bytes, 0),
      resources: outputs.reduce((sum, f) => sum + f.count, 0),
      tables,
      duckdb,
      ratio: tables.seconds / duckdb.seconds,
      parquetBytes,
    };
  });
}
