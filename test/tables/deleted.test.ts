/**
 * Bulk Data 2.0 deletions in the tables: two real exports from test/export/bulk-server.ts (a full one, then an
 * incremental `_since` one whose `deleted` file lists Bundles of DELETE requests), then `exportTables` and the query
 * engine. A deletion removes a resource's raw row and the flat rows built from it when the row is older than the
 * deletion's run (meta.lastUpdated before its transactionTime; without one, a row of an earlier run); a newer row, or
 * a resource the tables never held, is left alone; a Bundle entry that is no DELETE of Type/id fails the build.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { runExport, runOutcomeError, type ExportRunOptions } from '../../src/export/index.js';
import { exportTables, queryExport, type TablesEvent } from '../../src/tables/index.js';
import { describeTablesEvent } from '../../src/cli/commands/tables.js';
import { bulkServerForFile } from '../export/bulk-server.js';
import { removeTempDirs, tempDir } from '../export/sandbox.js';

const ndjson = (...lines: object[]) => lines.map((l) => `${JSON.stringify(l)}\n`).join('');
const updated = (lastUpdated: string) => ({ meta: { lastUpdated } });
/** reference server dbRowTranslator generateDeleteTransaction: a transaction Bundle of DELETE requests */
const bundle = (...urls: string[]) => ({ resourceType: 'Bundle', type: 'transaction', entry: urls.map((url) => ({ request: { method: 'DELETE', url } })) });
const eob = (id: string, patient: string, lastUpdated: string, lines: number) => ({
  resourceType: 'ExplanationOfBenefit',
  id,
  ...updated(lastUpdated),
  patient: { reference: `Patient/${patient}` },
  item: Array.from({ length: lines }, (_, i) => ({ sequence: i + 1 })),
});

const FULL = '2025-01-01T00:00:00Z';
const DELTA = '2025-06-01T00:00:00Z';

let out: string;
let group: string;

const exportGroup = async (groupId: string, options: Partial<ExportRunOptions> = {}) => {
  const result = await runExport(server.client(), { outDir: out, target: { kind: 'group', groupId }, pollIntervalMs: 50, ...options });
  expect(runOutcomeError(result)).toBeUndefined();
  return result.groups[0]!.manifest!;
};
const column = async (dir: string, sql: string) => (await queryExport(dir, sql)).rows.map((row) => row[0]);

const server = bulkServerForFile({
  jobs: {
    g1: {
      transactionTime: FULL,
      output: [
        { type: 'Patient', name: 'patients.ndjson', count: 3 },
        { type: 'ExplanationOfBenefit', name: 'eobs.ndjson', count: 2 },
        { type: 'Observation', name: 'observations.ndjson', count: 2 },
      ],
    },
    bad: { output: [{ type: 'Patient', name: 'patients.ndjson', count: 3 }], deleted: [{ name: 'bad-deleted.ndjson', count: 1 }] },
  },
  files: {
    'patients.ndjson': ndjson(
      { resourceType: 'Patient', id: 'p1', ...updated('2024-12-01T00:00:00Z') },
      { resourceType: 'Patient', id: 'p2', gender: 'female', ...updated('2024-12-01T00:00:00Z') },
      // updated after the incremental export's transactionTime: a deletion listed by it is older
      { resourceType: 'Patient', id: 'p3', ...updated('2025-07-01T00:00:00Z') },
    ),
    'eobs.ndjson': ndjson(eob('e1', 'p1', '2024-12-01T00:00:00Z', 2), eob('e2', 'p2', '2024-12-01T00:00:00Z', 1)),
    // no meta.lastUpdated (a generic server): the run order decides
    'observations.ndjson': ndjson({ resourceType: 'Observation', id: 'o1' }, { resourceType: 'Observation', id: 'o2' }),
    'patients-delta.ndjson': ndjson({ resourceType: 'Patient', id: 'p2', gender: 'male', ...updated('2025-05-01T00:00:00Z') }),
    'deleted.ndjson': ndjson(bundle('Patient/p1'), bundle('Patient/p3', 'ExplanationOfBenefit/e1'), bundle('Observation/o1', 'Patient/never-held')),
    'bad-deleted.ndjson': ndjson({ resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'GET', url: 'Patient/p1' } }] }),
  },
});

beforeAll(async () => {
  out = await tempDir('dpc-tables-deleted-');
  group = join(out, 'g1');
  await exportGroup('g1');
});

afterAll(removeTempDirs);

describe('deleted resources (Bulk Data 2.0 deleted files of an incremental export)', () => {
  it('removes older rows, from the raw and the flat tables, in a tables folder that read the full run and from scratch', async () => {
    const merged = join(await tempDir('dpc-tables-deleted-'), 'tables');
    expect((await exportTables(group, { outDir: merged })).tables.find((t) => t.name === 'patients')?.rows).toBe(3);

    server.config.jobs.g1 = {
      transactionTime: DELTA,
      output: [{ type: 'Patient', name: 'patients-delta.ndjson', count: 1 }],
      deleted: [{ name: 'deleted.ndjson', count: 3 }],
    };
    const delta = await exportGroup('g1', { since: FULL });
    expect(delta.files.map((f) => [f.kind, f.path])).toEqual([
      ['output', 'Patient-001.ndjson'],
      ['deleted', 'Bundle-001.ndjson'],
    ]);

    const check = async (tablesDir: string) => {
      // p1 deleted; p2 updated by the incremental run; p3 updated after the deletion: kept
      expect((await queryExport(tablesDir, 'select patient_id, sex from patients order by 1')).rows).toEqual([['p2', 'male'], ['p3', null]]);
      // e1 deleted with its claim lines
      expect(await column(tablesDir, 'select claim_id from claims order by 1')).toEqual(['e2']);
      expect(await column(tablesDir, 'select claim_id from claim_lines order by 1')).toEqual(['e2']);
      // o1 (no meta.lastUpdated) from the run before the deletion's
      expect(await column(tablesDir, 'select id from raw_observation order by 1')).toEqual(['o2']);
    };
    // the tables folder that read the full run reads the incremental one into it
    const events: TablesEvent[] = [];
    const result = await exportTables(group, { outDir: merged, onEvent: (e) => events.push(e) });
    expect(result.added.map((r) => r.run)).toEqual([delta.run]);
    expect(events.filter((e) => e.type === 'deletions_staged').map(describeTablesEvent)).toEqual(['read 5 deleted resources from 1 verified deleted file']);
    await check(merged);
    // a new tables folder reads the incremental LATEST run and the full run before it in one build
    const fresh = await exportTables(group, { outDir: join(await tempDir('dpc-tables-deleted-'), 'tables') });
    expect(fresh.added.length).toBe(2);
    await check(fresh.tablesDir);
  });

  it('fails naming the file when a deleted Bundle entry is no DELETE of Type/id, and writes no tables', async () => {
    const manifest = await exportGroup('bad');
    const runDir = join(out, 'bad', manifest.run);
    const tablesDir = join(await tempDir('dpc-tables-deleted-'), 'tables');
    await expect(exportTables(runDir, { outDir: tablesDir })).rejects.toMatchObject({
      code: 'ERR_INPUT',
      message: `${join(runDir, 'Bundle-001.ndjson')}: a deleted Bundle entry is not a DELETE of Type/id (request.url "Patient/p1")`,
    });
    await expect(stat(join(tablesDir, 'tables.json'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(join(runDir, 'Bundle-001.ndjson'), 'utf8')).toContain('"GET"');
  });
});
