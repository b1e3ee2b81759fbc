/**
 * Child process of `benchmarkTables` (run from dist/): one measured conversion of a verified export to Parquet, so
 * its peak RSS is the conversion's alone. `tables` is `exportTables` (every table: raw, merged by id, flat);
 * `duckdb` is the reference: DuckDB's own `read_json_auto(files) → COPY TO parquet`, one COPY per resource type, with
 * the same engine settings (memory limit, threads). Input: one JSON argument; output: one JSON line on stdout.
 */
import { join } from 'node:path';
import { exportTables } from '../tables/build.js';
import { openEngine } from '../tables/engine.js';
import { sqlString } from '../tables/schema.js';
import { findSources } from '../tables/sources.js';

export interface TablesChildInput {
  mode: 'tables' | 'duckdb';
  runDir: string;
  outDir: string;
}

export interface TablesChildOutput {
  mode: TablesChildInput['mode'];
  seconds: number;
  cpuSeconds: number;
  peakRssBytes: number;
  rows: number;
}

const input = JSON.parse(process.argv[2]!) as TablesChildInput;
const cpu = process.cpuUsage();
const started = performance.now();
let rows = 0;
if (input.mode === 'tables') {
  const result = await exportTables(input.runDir, { outDir: input.outDir });
  rows = result.tables.filter((t) => t.kind === 'raw').reduce((sum, t) => sum + t.rows, 0);
} else {
  const { runs } = await findSources(input.runDir);
  const files = runs.flatMap((r) => r.files);
  const db = await openEngine({});
  try {
    for (const type of [...new Set(files.map((f) => f.type))]) {
      const list = files.filter((f) => f.type === type).map((f) => sqlString(f.path)).join(', ');
      const { rows: copied } = await db.all(`COPY (SELECT * FROM read_json_auto([${list}])) TO ${sqlString(join(input.outDir, `${type}.parquet`))} (FORMAT parquet)`);
      rows += Number(copied[0]?.[0] ?? 0);
    }
  } finally {
    db.close();
  }
}
const used = process.cpuUsage(cpu);
const output: TablesChildOutput = {
  mode: input.mode,
  seconds: (performance.now() - started) / 1000,
  cpuSeconds: (used.user + used.system) / 1e6,
  peakRssBytes: process.resourceUsage().maxRSS * 1024,
  rows,
};
process.stdout.write(`${JSON.stringify(output)}\n`);
