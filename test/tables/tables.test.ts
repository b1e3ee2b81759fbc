/**
 * Claims as tables end to end: a real export from the embedded sandbox (real token flow, verified files), then
 * `exportTables` / `queryExport` on DuckDB. Every flat column is checked against the NDJSON read with JSON.parse
 * (test/tables/expected.ts); raw row counts against the manifests; only verified files are read; a newer run merges
 * by resource id (latest meta.lastUpdated wins); a missing engine is a one-line error that changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { appendFile, cp, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDpcError } from '../../src/errors.js';
import { runExport, type GroupManifest } from '../../src/export/index.js';
import { exportTables, queryExport, type ExportTablesResult } from '../../src/tables/index.js';
import { runCli } from '../cli/run-cli.js';
import { exportFixture, makeGroup, NPIS, tempDir, type ExportFixture } from '../export/sandbox.js';
import { claimRow, coverageRow, diagnosisRows, lastUpdatedMs, lineRows, patientRow, procedureRows } from './expected.js';

type Json = Record<string, any>;

let fx: ExportFixture;
let out: string;
let groupDir: string;
let runDir: string;
let manifest: GroupManifest;
let built: ExportTablesResult;
const NPI = NPIS[0];

const ndjson = async (path: string): Promise<Json[]> => (await readFile(path, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Json);
const resourcesOf = async (dir: string, m: GroupManifest, type: string) => (await Promise.all(m.files.filter((f) => f.type === type).map((f) => ndjson(join(dir, f.path))))).flat();
const rowsOf = async (dir: string, sql: string) => (await queryExport(dir, sql)).rows;
const sortRows = (rows: unknown[][]) => [...rows].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

beforeAll(async () => {
  fx = await exportFixture();
  await makeGroup(fx, NPI, fx.goodMbis.slice(0, 12));
  out = await tempDir('dpc-tables-');
  const result = await runExport(fx.client, { outDir: out, target: { kind: 'npi', npi: NPI }, pollIntervalMs: 50 });
  manifest = result.groups[0]!.manifest!;
  groupDir = join(out, NPI);
  runDir = join(groupDir, manifest.run);
  built = await exportTables(runDir);
}, 120_000);

afterAll(async () => {
  await fx?.close();
});

describe('exportTables', () => {
  it('writes every table owner-only, raw row counts equal to the manifest counts', async () => {
    expect(built.tablesDir).toBe(join(runDir, 'tables'));
    expect(built.upToDate).toBe(false);
    expect(built.excluded).toEqual([]);
    expect(built.tables.map((t) => t.name)).toEqual(['patients', 'coverage', 'claims', 'claim_lines', 'diagnoses', 'procedures', 'raw_coverage', 'raw_explanationofbenefit', 'raw_patient']);
    for (const type of ['Patient', 'Coverage', 'ExplanationOfBenefit']) {
      const verified = manifest.files.filter((f) => f.type === type).reduce((n, f) => n + f.count, 0);
      expect(verified).toBeGreaterThan(0);
      expect(built.tables.find((t) => t.name === `raw_${type.toLowerCase()}`)!.rows, type).toBe(verified);
      const [[count]] = (await rowsOf(built.tablesDir, `select count(*) from raw_${type.toLowerCase()}`)) as [[string]];
      expect(Number(count)).toBe(verified);
    }
    expect((await stat(built.tablesDir)).mode & 0o777).toBe(0o700);
    for (const name of await readdir(built.tablesDir)) expect((await stat(join(built.tablesDir, name))).mode & 0o777, name).toBe(0o600);
  });

  it('types the columns: dates are DATE, money DECIMAL(18,2), lastUpdated a timestamp with time zone', async () => {
    const { columns } = await queryExport(built.tablesDir, 'select * from claims limit 0');
    const type = (name: string) => columns.find((c) => c.name === name)?.type;
    expect(type('service_start')).toBe('DATE');
    expect(type('paid_amount')).toBe('DECIMAL(18,2)');
    expect(type('last_updated')).toBe('TIMESTAMP WITH TIME ZONE');
  });

  it('matches every flat column against the NDJSON read independently, for claims of every type', async () => {
    const eobs = await resourcesOf(runDir, manifest, 'ExplanationOfBenefit');
    const typeOf = (eob: Json) => claimRow(eob)[2] as string;
    expect(new Set(eobs.map(typeOf))).toEqual(new Set(['CARRIER', 'INPATIENT', 'OUTPATIENT', 'PDE']));
    // a sample: the first three claims of each type
    const sample = ['CARRIER', 'INPATIENT', 'OUTPATIENT', 'PDE'].flatMap((t) => eobs.filter((e) => typeOf(e) === t).slice(0, 3));
    const ids = sample.map((e) => `'${e.id as string}'`).join(', ');
    const claims = await rowsOf(built.tablesDir, `select * exclude (last_updated), epoch_ms(last_updated) from claims where claim_id in (${ids})`);
    expect(sortRows(claims)).toEqual(sortRows(sample.map((e) => [...claimRow(e), lastUpdatedMs(e)])));
    expect(sortRows(await rowsOf(built.tablesDir, `select * from claim_lines where claim_id in (${ids})`))).toEqual(sortRows(sample.flatMap(lineRows)));
    expect(sortRows(await rowsOf(built.tablesDir, `select * from diagnoses where claim_id in (${ids})`))).toEqual(sortRows(sample.flatMap(diagnosisRows)));
    expect(sortRows(await rowsOf(built.tablesDir, `select * from procedures where claim_id in (${ids})`))).toEqual(sortRows(sample.flatMap(procedureRows)));

    const patients = await resourcesOf(runDir, manifest, 'Patient');
    const patientRows = await rowsOf(built.tablesDir, 'select * exclude (last_updated), epoch_ms(last_updated) from patients');
    expect(sortRows(patientRows)).toEqual(sortRows(patients.map((p) => [...patientRow(p, NPI, NPI), lastUpdatedMs(p)])));
    const coverage = await resourcesOf(runDir, manifest, 'Coverage');
    const coverageRows = await rowsOf(built.tablesDir, 'select * exclude (last_updated), epoch_ms(last_updated) from coverage');
    expect(sortRows(coverageRows)).toEqual(sortRows(coverage.map((c) => [...coverageRow(c), lastUpdatedMs(c)])));
  });

  it('fills every flat column from the sandbox data (none is always empty)', async () => {
    const tables = { patients: 0, coverage: 0, claims: 0, claim_lines: 0, diagnoses: 0, procedures: 0 };
    for (const table of Object.keys(tables)) {
      const { columns } = await queryExport(built.tablesDir, `select * from ${table} limit 0`);
      const counts = await rowsOf(built.tablesDir, `select ${columns.map((c) => `count("${c.name}")`).join(', ')} from ${table}`);
      const empty = columns.filter((_, i) => Number(counts[0]![i]) === 0).map((c) => c.name);
      expect(empty, table).toEqual([]);
    }
  });

  it('is up to date on a rerun: nothing read again', async () => {
    const again = await exportTables(runDir);
    expect(again.upToDate).toBe(true);
    expect(again.added).toEqual([]);
    expect(again.tables).toEqual(built.tables);
  });
});

describe('only verified files', () => {
  it('skips a data file the manifest does not list and a listed file changed since it verified', async () => {
    const copy = join(await tempDir('dpc-tables-unverified-'), 'run');
    await cp(runDir, copy, { recursive: true, filter: (src) => !src.includes(`${runDir}/tables`) });
    const eob = manifest.files.find((f) => f.type === 'ExplanationOfBenefit')!;
    const stray = JSON.stringify({ resourceType: 'ExplanationOfBenefit', id: 'stray-1', meta: { lastUpdated: '2030-01-01T00:00:00Z' } });
    await writeFile(join(copy, 'ExplanationOfBenefit-099.ndjson'), `${stray}\n`, { mode: 0o600 });
    const coverage = manifest.files.find((f) => f.type === 'Coverage')!;
    await appendFile(join(copy, coverage.path), `${JSON.stringify({ resourceType: 'Coverage', id: 'tampered' })}\n`);

    const result = await exportTables(copy);
    expect(result.excluded.map((e) => [e.path, e.reason.split(':')[0]])).toEqual(
      expect.arrayContaining([
        [join(copy, 'ExplanationOfBenefit-099.ndjson'), 'not listed as verified in manifest.json'],
        [join(copy, coverage.path), expect.stringMatching(/bytes on disk/)],
      ]),
    );
    const rows = (name: string) => result.tables.find((t) => t.name === name)!.rows;
    expect(rows('raw_explanationofbenefit')).toBe(eob.count);
    expect(rows('raw_coverage')).toBe(0);
    expect(await rowsOf(result.tablesDir, "select id from raw_explanationofbenefit where id = 'stray-1'")).toEqual([]);
  });
});

describe('incremental runs', () => {
  it('keeps one row per resource id, the latest meta.lastUpdated winning, from a group folder with an incremental LATEST run', async () => {
    // on copies: the export folder and its tables stay as beforeAll made them, for the other tests
    const group = join(await tempDir('dpc-tables-incremental-'), NPI);
    await cp(groupDir, group, { recursive: true, filter: (src) => src !== built.tablesDir });
    const tablesDir = join(await tempDir('dpc-tables-incremental-'), 'tables');
    await cp(built.tablesDir, tablesDir, { recursive: true });
    // a second, incremental run: two claims updated later (they win), one with an older lastUpdated (it loses), one new
    const eobs = await resourcesOf(runDir, manifest, 'ExplanationOfBenefit');
    const [newer, newer2, older] = eobs as [Json, Json, Json];
    const later = (r: Json, paid: number) => ({ ...r, meta: { lastUpdated: '2031-01-01T00:00:00.000+00:00' }, payment: { amount: { value: paid, system: 'urn:iso:std:iso:4217', code: 'USD' } } });
    const delta = [
      later(newer, 1.11),
      later(newer2, 2.22),
      { ...older, meta: { lastUpdated: '2001-01-01T00:00:00.000+00:00' }, payment: { amount: { value: 3.33, system: 'urn:iso:std:iso:4217', code: 'USD' } } },
      { ...later(newer, 4.44), id: 'carrier-new-1' },
    ];
    const run2 = '2099-01-01T000000Z';
    const text = `${delta.map((r) => JSON.stringify(r)).join('\n')}\n`;
    await mkdir(join(group, run2), { mode: 0o700 });
    await writeFile(join(group, run2, 'ExplanationOfBenefit-001.ndjson'), text, { mode: 0o600 });
    const file = { url: 'http://x/1', type: 'ExplanationOfBenefit', kind: 'output', path: 'ExplanationOfBenefit-001.ndjson', bytes: Buffer.byteLength(text), sha256: createHash('sha256').update(text).digest('hex'), count: delta.length };
    const sent = new URL(manifest.requestSent!);
    sent.searchParams.set('_since', '2030-01-01T00:00:00Z');
    const m2 = { ...manifest, run: run2, request: `${manifest.request}&_since=2030-01-01T00:00:00Z`, requestSent: sent.href, files: [file] };
    await writeFile(join(group, run2, 'manifest.json'), JSON.stringify(m2), { mode: 0o600 });
    await writeFile(join(group, 'LATEST'), `${run2}\n`);

    const check = async (result: ExportTablesResult, first: boolean) => {
      expect(result.added.map((r) => r.run)).toEqual(first ? [manifest.run, run2] : [run2]);
      expect(result.runs.map((r) => r.run).sort()).toEqual([manifest.run, run2]);
      const total = eobs.length + 1;
      expect(result.tables.find((t) => t.name === 'raw_explanationofbenefit')!.rows).toBe(total);
      const [[claims, distinct]] = (await rowsOf(result.tablesDir, 'select count(*), count(distinct claim_id) from claims')) as [[string, string]];
      expect([Number(claims), Number(distinct)]).toEqual([total, total]);
      const paid = Object.fromEntries(await rowsOf(result.tablesDir, `select claim_id, paid_amount from claims where claim_id in ('${newer.id}', '${newer2.id}', '${older.id}', 'carrier-new-1')`));
      expect(paid).toEqual({ [newer.id]: '1.11', [newer2.id]: '2.22', [older.id]: claimRow(older)[10], 'carrier-new-1': '4.44' });
    };
    // a tables folder that read the first run merges the second
    await check(await exportTables(group, { outDir: tablesDir }), false);
    // a fresh one from the group folder reads LATEST and, as it is incremental, the full run before it
    await check(await exportTables(group, { outDir: join(await tempDir('dpc-tables-group-'), 't') }), true);
  });
});

describe('other resource types', () => {
  it('keeps a type without a fixed schema whole, as JSON, in raw_<type>', async () => {
    const dir = join(await tempDir('dpc-tables-other-'), 'run');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const lines = [
      { resourceType: 'Observation', id: 'obs-1', meta: { lastUpdated: '2025-01-02T03:04:05.000+00:00' }, status: 'final' },
      { resourceType: 'Observation', id: 'obs-2', status: 'amended' },
    ];
    const text = `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`;
    await writeFile(join(dir, 'Observation-001.ndjson'), text, { mode: 0o600 });
    const file = { url: 'http://x/o', type: 'Observation', kind: 'output', path: 'Observation-001.ndjson', bytes: Buffer.byteLength(text), sha256: createHash('sha256').update(text).digest('hex'), count: 2 };
    await writeFile(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, label: 'system', run: 'r1', files: [file] }), { mode: 0o600 });
    const result = await exportTables(dir);
    expect(result.tables.find((t) => t.name === 'raw_observation')?.rows).toBe(2);
    // the DPC types are there too, empty, so every query binds
    expect(result.tables.find((t) => t.name === 'claims')?.rows).toBe(0);
    const rows = await rowsOf(result.tablesDir, "select id, resource->>'status', source_group, epoch_ms(last_updated) from raw_observation order by id");
    expect(rows).toEqual([
      ['obs-1', 'final', 'system', String(Date.parse('2025-01-02T03:04:05.000Z'))],
      ['obs-2', 'amended', 'system', null],
    ]);
  });
});

describe('missing engine', () => {
  it('fails with one line naming the package, and writes nothing', async () => {
    const outDir = join(await tempDir('dpc-tables-noengine-'), 't');
    const error = await exportTables(runDir, { outDir, engineModule: 'dpc-no-such-duckdb-package' }).catch((e: unknown) => e);
    expect(isDpcError(error, 'ERR_ENGINE')).toBe(true);
    expect((error as Error).message).toBe('the table engine dpc-no-such-duckdb-package is not installed; install it with `npm install @duckdb/node-api` (an optional dependency of dpc-client)');
    await expect(stat(outDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('exits 1 from the CLI with that line, and other commands still run', async () => {
    const env = { DPC_DUCKDB_MODULE: 'dpc-no-such-duckdb-package' };
    const outDir = join(await tempDir('dpc-tables-noengine-'), 't');
    const tables = await runCli(['export', 'tables', runDir, '--out', outDir], { env });
    expect(tables.code).toBe(1);
    expect(tables.stderr).toBe('error: the table engine dpc-no-such-duckdb-package is not installed; install it with `npm install @duckdb/node-api` (an optional dependency of dpc-client)\n');
    const query = await runCli(['query', runDir, 'select 1'], { env });
    expect(query.code).toBe(1);
    expect((await runCli(['export', 'verify', runDir], { env })).code).toBe(0);
  });
});

describe('dpc query', () => {
  it('prints a table, CSV or JSON rows; bad SQL exits 2 with one line', async () => {
    const sql = 'select claim_type, count(*) as n from claims group by 1 order by 1';
    const human = await runCli(['query', built.tablesDir, sql]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout.split('\n')[0]).toMatch(/^claim_type +n$/);
    expect(human.stdout).toMatch(/^PDE +\d+$/m);
    expect(human.stdout.trimEnd().split('\n').at(-1)).toBe('(4 rows)');
    const csv = await runCli(['query', built.tablesDir, sql, '--csv']);
    expect(csv.stdout.split('\n').slice(0, 2)).toEqual(['claim_type,n', expect.stringMatching(/^CARRIER,\d+$/)]);
    const json = await runCli(['query', built.tablesDir, sql, '--json']);
    const rows = JSON.parse(json.stdout) as Array<{ claim_type: string; n: string }>;
    expect(rows.map((r) => r.claim_type)).toEqual(['CARRIER', 'INPATIENT', 'OUTPATIENT', 'PDE']);
    expect(JSON.parse((await runCli(['query', built.tablesDir, 'select 1 where false', '--json'])).stdout)).toEqual([]);
    const bad = await runCli(['query', built.tablesDir, 'select nope from claims']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: Binder Error: Referenced column "nope" not found[^\n]*\n$/);
  });

  it('a folder that is not there is bad input, as for every other command: one line, exit 2, nothing created', async () => {
    const missing = join(out, 'not-there');
    for (const args of [['query', missing, 'select 1'], ['export', 'tables', missing]]) {
      const result = await runCli(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toBe(`error: ${missing}: cannot read the export folder (not found)\n`);
    }
    await expect(stat(missing)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('builds the tables of an export folder first, in <dir>/tables, and escapes control characters for the terminal', async () => {
    const result = await runCli(['query', out, "select 'a' || chr(27) || '[31mb' as text"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('a\\u001b[31mb');
    expect(result.stderr).toContain(`into ${join(out, 'tables')}`);
    const [[n]] = (await rowsOf(join(out, 'tables'), 'select count(*) from patients')) as [[string]];
    expect(Number(n)).toBe(manifest.files.filter((f) => f.type === 'Patient').reduce((s, f) => s + f.count, 0));
  });
});
