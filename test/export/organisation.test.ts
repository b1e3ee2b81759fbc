/**
 * Whole-organisation runs over loopback against a small Bulk Data server: a group without active members (DPC's 406)
 * is reported and skipped, the rest verifies and the run succeeds; manifests, results and folders carry the NPI.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runExport, runOutcomeError, type ExportEvent } from '../../src/export/index.js';
import { bulkServerForFile } from './bulk-server.js';
import { removeTempDirs, tempDir } from './sandbox.js';

const patients = '{"resourceType":"Patient","id":"p1"}\n';
const server = bulkServerForFile({
  jobs: { 'g-full': { output: [{ type: 'Patient', name: 'p.ndjson', count: 1 }] } },
  groups: [
    { id: 'g-full', npi: '1234329724' },
    { id: 'g-empty', npi: '1232131239' },
  ],
  noActiveMembers: ['g-empty'],
  files: { 'p.ndjson': patients },
});

afterAll(removeTempDirs);

describe('--all-groups', () => {
  it('skips a group without active members (406) with a reason, exports the others, and succeeds', async () => {
    const out = await tempDir();
    const events: ExportEvent[] = [];
    const result = await runExport(server.client(), { outDir: out, target: { kind: 'all-groups' }, pollIntervalMs: 10, onEvent: (e) => events.push(e) });
    expect(runOutcomeError(result)).toBeUndefined(); // exit 0
    const byLabel = new Map(result.groups.map((g) => [g.label, g]));
    expect(byLabel.get('g-empty')).toEqual({
      label: 'g-empty',
      groupId: 'g-empty',
      npi: '1232131239',
      skipped: 'group g-empty has no active members (406): nothing to export',
    });
    expect(events.find((e) => e.type === 'export_skipped')).toMatchObject({ label: 'g-empty', npi: '1232131239', reason: expect.stringContaining('no active members') });

    const full = byLabel.get('g-full')!;
    expect(full).toMatchObject({ groupId: 'g-full', npi: '1234329724', manifest: { groupId: 'g-full', npi: '1234329724' } });
    expect(JSON.parse(await readFile(full.manifestPath!, 'utf8'))).toMatchObject({ groupId: 'g-full', npi: '1234329724' });
    expect(await readFile(join(out, 'g-full', 'NPI'), 'utf8')).toBe('1234329724\n');
    expect(await readdir(out)).not.toContain('g-empty'); // nothing was created for the skipped group
  });

  it('names the cause when a single group has no active members', async () => {
    const out = await tempDir();
    await expect(runExport(server.client(), { outDir: out, target: { kind: 'group', groupId: 'g-empty' }, pollIntervalMs: 10 })).rejects.toMatchObject({
      code: 'ERR_NOT_ACCEPTABLE',
      message: 'group g-empty has no active members (406): nothing to export',
    });
  });
});
