/**
 * The export engine bounded against a misbehaving Bulk Data server (issue 12): every case is a small loopback server
 * doing one bad thing, and each ends in a named outcome with nothing unverified under a final name.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DpcError } from '../../src/errors.js';
import { runExport, runOutcomeError, type ExportEvent, type ExportRunOptions } from '../../src/export/index.js';
import { cliLines, STACK_LINE } from '../fuzz/check.js';
import { completion, lines, sha256, startHostileServer, type HostileServer } from './hostile-server.js';
import { removeTempDirs, tempDir } from './sandbox.js';
import { clientOn } from '../client-on.js';

let server: HostileServer;

beforeEach(async () => {
  server = await startHostileServer();
});

afterEach(async () => {
  await server.close();
});

afterAll(async () => {
  await removeTempDirs();
});

interface Outcome {
  out: string;
  events: ExportEvent[];
  error?: DpcError;
  files: string[];
  quarantined: string[];
}

async function exportFrom(over: Partial<ExportRunOptions> & { outDir?: string } = {}, transport = server.transport()): Promise<Outcome> {
  const out = over.outDir ?? (await tempDir('dpc-bounds-'));
  const events: ExportEvent[] = [];
  try {
    const result = await runExport(
      clientOn(transport),
      { target: { kind: 'patient' }, pollIntervalMs: 5, ...over, outDir: out, onEvent: (e) => events.push(e) },
    );
    const manifest = result.groups[0]?.manifest;
    return {
      out,
      events,
      error: runOutcomeError(result),
      files: manifest?.files.map((f) => f.path) ?? [],
      quarantined: manifest?.quarantined.map((q) => q.url) ?? [],
    };
  } catch (error) {
    if (!(error instanceof DpcError)) throw error;
    return { out, events, error, files: [], quarantined: [] };
  } finally {
    await transport.close();
  }
}

/** The failure as the CLI shows it: one line naming `cause`, non-zero exit, no stack, no control characters. */
function expectNamedFailure(error: DpcError | undefined, cause: RegExp): void {
  expect(error, 'the run should have failed').toBeInstanceOf(DpcError);
  const printed = cliLines(error);
  expect(printed.exit).not.toBe(0);
  expect(printed.lines[0]).toMatch(/^error: \S/);
  expect(printed.lines[0]).toMatch(cause);
  expect(printed.lines.join('\n')).not.toMatch(STACK_LINE);
  // eslint-disable-next-line no-control-regex
  expect(printed.lines.join('\n')).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
}

/** Data files under a final name in the patient folder's run folders. */
async function finalNames(out: string): Promise<string[]> {
  const group = join(out, 'patient');
  if (!existsSync(group)) return [];
  const names: string[] = [];
  for (const run of await readdir(group, { withFileTypes: true })) {
    if (!run.isDirectory()) continue;
    for (const name of await readdir(join(group, run.name))) if (!name.startsWith('.') && name !== 'manifest.json') names.push(name);
  }
  return names.sort();
}

describe('resume is keyed by file identity, not URL', () => {
  it('a manifest listing one URL twice (second checksum wrong): the rerun neither lists it twice nor exits 0', async () => {
    const body = lines(3);
    server.route('/fhir/status', (_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        completion([
          { url: `${server.origin}/files/p.ndjson`, count: 3, sha256: sha256(body) },
          { url: `${server.origin}/files/p.ndjson`, count: 3, sha256: sha256('something else') },
        ]),
      ),
    );
    server.route('/files/', (_req, res) => res.writeHead(200).end(body));

    const first = await exportFrom();
    expectNamedFailure(first.error, /1 file failed verification twice and was quarantined/);
    expect(first.files).toEqual(['Patient-001.ndjson']);
    expect(first.quarantined).toHaveLength(1);

    const rerun = await exportFrom({ outDir: first.out });
    expectNamedFailure(rerun.error, /1 file failed verification twice and was quarantined/);
    expect(rerun.files).toEqual(['Patient-001.ndjson']);
    expect(rerun.quarantined).toHaveLength(1);
    expect(await finalNames(first.out)).toEqual(['Patient-001.ndjson']);
  });
});
