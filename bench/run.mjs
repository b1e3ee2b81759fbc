#!/usr/bin/env node
// `npm run bench`: runs every benchmark section side by side on this machine, prints a table and writes the results
// to a temp folder; `npm run bench -- --save` writes the tracked bench/results.json instead (the README's figures).
// Ratios are measured within one run; absolute numbers depend on the machine (recorded too).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const save = args.includes('--save');
const only = args.filter((a) => !a.startsWith('--'));
const sections = [
  ['cli-cold-start', './cli-cold-start.mjs'],
  ['roster-sync', './roster-sync.mjs'],
  ['roster-file', './roster-file.mjs'],
  ['export-download', './export-download.mjs'],
  ['export-chunks', './export-chunks.mjs'],
  ['export-state', './export-state.mjs'],
  // opt-in: exports and converts about 1 GB; run with `npm run bench -- export-tables`
  ['export-tables', './export-tables.mjs', { optIn: true }],
];

const machine = {
  cpus: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'unknown'}`,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  platform: `${os.platform()} ${os.release()}`,
};
const target = save ? path.join(here, 'results.json') : path.join(os.tmpdir(), 'dpc-client-bench', 'results.json');
// a run of named sections keeps the other sections' last results, each with the date it was measured
const previous = only.length > 0 ? JSON.parse(await readFile(target, 'utf8').catch(() => '{}')) : {};
const date = new Date().toISOString();
const results = { date, machine, sections: { ...previous.sections }, measured: { ...previous.measured } };
console.log(`machine: ${machine.cpus}, ${machine.memoryGiB} GiB, node ${machine.node}`);

for (const [name, file, { optIn = false } = {}] of sections) {
  if (only.length > 0 ? !only.includes(name) : optIn) continue;
  console.log(`\n== ${name}`);
  const { run } = await import(new URL(file, import.meta.url).href);
  const rows = await run({ log: (line) => console.log(`   ${line}`) });
  results.sections[name] = rows;
  results.measured[name] = date;
  printTable(rows);
}

await mkdir(path.dirname(target), { recursive: true });
await writeFile(target, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwrote ${target}${save ? '' : ' (npm run bench -- --save writes bench/results.json)'}`);

function printTable(rows) {
  const width = Math.max(...rows.map((r) => r.metric.length));
  for (const row of rows) console.log(`   ${row.metric.padEnd(width)}  ${String(row.value).padStart(12)} ${row.unit ?? ''}`);
}
