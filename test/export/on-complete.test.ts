/**
 * `--on-complete CMD` over loopback: the command (a real /bin/sh) gets the manifest path as its last argument and in
 * DPC_MANIFEST once a group's run is complete; server- and path-borne text never becomes shell syntax; a failing
 * command is reported (ERR_HOOK, exit 1, its exit status and last stderr line) and leaves the state complete.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runExport, runOutcomeError } from '../../src/export/index.js';
import { StateStore } from '../../src/export/state.js';
import { onCompleteCommand } from '../../src/cli/on-complete.js';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { bulkServerForFile } from './bulk-server.js';
import { removeTempDirs, tempDir } from './sandbox.js';

// a name that would run commands if it were ever pasted into the shell text
const HOSTILE = 'out $(touch PWNED-dpc-test) `touch PWNED-dpc-test` ;touch PWNED-dpc-test \'"';

const server = bulkServerForFile({
  jobs: { g1: { transactionTime: '2025-05-01T00:00:00Z', output: [{ type: 'Patient', name: 'p.ndjson', count: 1 }] } },
  files: { 'p.ndjson': '{"resourceType":"Patient","id":"p1"}\n' },
});

afterAll(async () => {
  await removeTempDirs();
  await rm('PWNED-dpc-test', { force: true });
});

const run = (outDir: string, onGroupComplete: ReturnType<typeof onCompleteCommand>, since?: string) =>
  runExport(server.client(), { outDir, target: { kind: 'group', groupId: 'g1' }, since, pollIntervalMs: 10, onGroupComplete });

describe('on-complete command', () => {
  it('runs with the manifest path as argument and in the environment, and never as shell text', async () => {
    const base = await tempDir();
    const out = join(base, HOSTILE);
    await mkdir(out);
    const mark = join(base, 'hook-saw');
    const command = 'saw() { printf "%s\\n" "$@" "$DPC_MANIFEST" "$DPC_EXPORT_LABEL" "$DPC_EXPORT_RUN" > "$MARK"; }; saw';
    const result = await run(out, onCompleteCommand(command, { ...process.env, MARK: mark }));
    expect(runOutcomeError(result)).toBeUndefined();
    const { manifestPath, manifest } = result.groups[0]!;
    expect((await readFile(mark, 'utf8')).split('\n')).toEqual([manifestPath, manifestPath, 'g1', manifest!.run, '']);
    expect(manifestPath).toContain(HOSTILE);
    expect(existsSync('PWNED-dpc-test')).toBe(false);
  });

  it('reports a failing command with its exit status and last stderr line, and the state stays complete', async () => {
    const out = await tempDir();
    const failing = onCompleteCommand("sh -c 'echo starting >&2; echo \"loader: database down\" >&2; exit 3' hook");
    const result = await run(out, failing);
    const group = result.groups[0]!;
    expect(group.onCompleteError).toMatchObject({ code: 'ERR_HOOK', message: `on-complete command exited with 3 for ${group.manifestPath} (loader: database down)` });
    const error = runOutcomeError(result)!;
    expect(error).toMatchObject({ code: 'ERR_HOOK', message: expect.stringMatching(/^the export is complete, but the on-complete step failed for 1 group: on-complete command exited with 3/) });
    expect(exitCodeFor(error)).toBe(1);

    // the export itself is recorded as complete: LATEST, and the next since-auto run asks from its transactionTime
    const state = await StateStore.open(out);
    expect(state.group('g1')).toMatchObject({ latest: group.manifest!.run, lastTransactionTime: '2025-05-01T00:00:00Z' });
    expect(await readFile(join(out, 'g1', 'LATEST'), 'utf8')).toBe(`${group.manifest!.run}\n`);
    server.kickoffs.length = 0;
    await run(out, onCompleteCommand('true'), 'auto');
    expect(server.kickoffs[0]).toContain('_since=2025-05-01T00%3A00%3A00Z');
  });
});
