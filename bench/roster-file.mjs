// Roster file: a generated 100,000-row CSV (MBI,NPI and patient columns, 75 practitioners of 1,334 patients, 5.7 MiB;
// DPC_BENCH_ROSTER_ROWS sets another count)
// read, parsed and checked (readRosterFile + checkRosterInput, what `roster sync` does before any request) in a
// fresh process, for its wall time and peak RSS against the same process that only loads the modules.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isValidNpi } from '../dist/shared/identifiers.js';

const ROWS = Number(process.env.DPC_BENCH_ROSTER_ROWS ?? 100_000);
const PER_PRACTITIONER = 1334;
const dist = fileURLToPath(new URL('../dist/', import.meta.url));

/** A valid NPI per index: 9 digits and the one check digit the project's own NPI rule accepts. */
function npi(i) {
  const base = String(123_400_000 + i);
  return [...'0123456789'].map((d) => `${base}${d}`).find(isValidNpi);
}

/** A valid, distinct MBI per index. */
function mbi(i) {
  const s = String(i).padStart(6, '0');
  return `1S${s[0]}${s[1]}A${s[2]}${s[3]}AA${s[4]}${s[5]}`;
}

const child = (file, parse) => `
  const { readRosterFile } = await import(${JSON.stringify(join(dist, 'roster/read.js'))});
  const { checkRosterInput } = await import(${JSON.stringify(join(dist, 'roster/sync.js'))});
  const started = performance.now();
  const members = ${parse} ? checkRosterInput({ file: 'f', text: await readRosterFile(${JSON.stringify(file)}) }, Date.now()).members.size : 0;
  console.log(JSON.stringify({ ms: performance.now() - started, members, peak: process.resourceUsage().maxRSS * 1024 }));`;

const measure = (file, parse) => JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', child(file, parse)], { encoding: 'utf8' }));

export async function run({ log = () => {} } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'dpc-bench-roster-'));
  try {
    const file = join(dir, 'roster.csv');
    const rows = ['MBI,NPI,given,family,birth_date,gender'];
    for (let i = 0; i < ROWS; i++) rows.push(`${mbi(i)},${npi(Math.floor(i / PER_PRACTITIONER))},Given${i},Family${i},1950-01-${String(1 + (i % 28)).padStart(2, '0')},${i % 2 ? 'F' : 'M'}`);
    await writeFile(file, `${rows.join('\r\n')}\r\n`);
    const { size } = await stat(file);
    const base = measure(file, false);
    const parsed = measure(file, true);
    log(`${ROWS} rows, ${(size / 2 ** 20).toFixed(1)} MiB, ${parsed.members} practitioners`);
    const mib = (bytes) => (bytes / 2 ** 20).toFixed(0);
    return [
      { metric: `read + check ${ROWS} rows (${(size / 2 ** 20).toFixed(1)} MiB): wall time`, value: parsed.ms.toFixed(0), unit: 'ms' },
      { metric: `read + check ${ROWS} rows: peak RSS`, value: mib(parsed.peak), unit: 'MiB' },
      { metric: 'same process, modules loaded only: peak RSS', value: mib(base.peak), unit: 'MiB' },
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
