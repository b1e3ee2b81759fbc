/**
 * Error files of generic Bulk Data servers over loopback: an `error` entry whose OperationOutcome names no patient is
 * reported with the server's message (partial success, exit 4), not counted as failed patients, and files whose last
 * line has no trailing newline verify against the server's count.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runExport, runOutcomeError, verifyExportDir } from '../../src/export/index.js';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { bulkServerForFile } from './bulk-server.js';
import { removeTempDirs, tempDir } from './sandbox.js';

const observationFailed = JSON.stringify({
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'error', code: 'processing', diagnostics: 'Unable to export Observation: upstream store timed out' }],
});
const patientFailed = JSON.stringify({
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'error', code: 'exception', details: { text: 'Data not available for opted out patient' }, location: ['Patient', 'id', '1S00E00AA01'] }],
});
// no newline after the last line, as many servers write NDJSON
const patients = '{"resourceType":"Patient","id":"p1"}\n{"resourceType":"Patient","id":"p2"}';

const server = bulkServerForFile({
  jobs: {
    g1: { output: [{ type: 'Patient', name: 'patients.ndjson', count: 2 }], error: [{ type: 'OperationOutcome', name: 'errors.ndjson', count: 1 }] },
    g2: { output: [{ type: 'Patient', name: 'patients.ndjson', count: 2 }], error: [{ name: 'mixed.ndjson', count: 2 }] },
  },
  files: { 'patients.ndjson': patients, 'errors.ndjson': observationFailed, 'mixed.ndjson': `${patientFailed}\n${observationFailed}` },
});

afterAll(removeTempDirs);

describe('server-declared error files', () => {
  it("reports an error that names no patient with the server's message; the files verify without a trailing newline", async () => {
    const out = await tempDir();
    const result = await runExport(server.client(), { outDir: out, target: { kind: 'group', groupId: 'g1' }, pollIntervalMs: 10 });
    const manifest = result.groups[0]!.manifest!;
    expect(manifest.quarantined).toEqual([]);
    expect(manifest.files.map((f) => [f.path, f.count])).toEqual([
      ['Patient-001.ndjson', 2],
      ['OperationOutcome-001.ndjson', 1],
    ]);
    expect(await readFile(join(out, 'g1', manifest.run, 'Patient-001.ndjson'), 'utf8')).toBe(patients);
    expect(manifest.errors).toEqual({ total: 0, reasons: [], serverMessages: [{ message: 'Unable to export Observation: upstream store timed out', count: 1 }] });
    const error = runOutcomeError(result);
    expect(error).toMatchObject({ code: 'ERR_PARTIAL', message: expect.stringContaining('1 error from the server ("Unable to export Observation: upstream store timed out")') });
    expect(error!.message).not.toMatch(/patient/);
    expect(exitCodeFor(error)).toBe(4);
    expect(error!.details).toEqual(['g1: 1 × Unable to export Observation: upstream store timed out']);
    // verify re-counts from disk the same way
    expect((await verifyExportDir(out)).ok).toBe(true);
  });

  it('keeps patient errors and server errors apart in one file', async () => {
    const out = await tempDir();
    const result = await runExport(server.client(), { outDir: out, target: { kind: 'group', groupId: 'g2' }, pollIntervalMs: 10 });
    expect(result.groups[0]!.manifest!.errors).toMatchObject({ total: 1, serverMessages: [{ message: 'Unable to export Observation: upstream store timed out', count: 1 }] });
    expect(runOutcomeError(result)!.message).toMatch(/^export finished with 1 patient not exported and 1 error from the server/);
  });
});
