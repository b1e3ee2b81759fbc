/**
 * The engine against a generic (non-DPC) Bulk Data server on loopback: Patient-level kick-off, Retry-After on 202
 * in both forms, no checksum extensions (counts still verified), files on another origin with
 * requiresAccessToken:false (fetched without the bearer token). Also `download JOB_URL` and `status JOB_URL`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transport } from '../../src/transport/index.js';
import { downloadExisting, exportStatus, runExport, runOutcomeError, type ExportEvent } from '../../src/export/index.js';
import { logRecord } from '../../src/cli/commands/export-progress.js';
import { removeTempDirs, tempDir } from './sandbox.js';
import { clientOn } from '../client-on.js';

const patients = Array.from({ length: 50 }, (_, i) => `{"resourceType":"Patient","id":"p${i}"}\n`).join('');
const seen: Array<{ path: string; prefer?: string; accept?: string; auth: boolean }> = [];
/** Status polls per job kicked off (k1, k2, ...); any other job id is one that has finished. */
const polls = new Map<string, number>();
let api: Server;
let files: Server;
let apiBase: string;
let filesBase: string;

function record(req: IncomingMessage): string {
  const path = req.url!;
  seen.push({ path, prefer: req.headers.prefer as string | undefined, accept: req.headers.accept, auth: req.headers.authorization !== undefined });
  return path;
}

const listen = (server: Server) =>
  new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));

beforeAll(async () => {
  api = createServer((req, res) => {
    const path = record(req);
    if (path.startsWith('/fhir/Patient/$export')) {
      const id = `k${polls.size + 1}`;
      polls.set(id, 0);
      res.writeHead(202, { 'content-location': `${apiBase}/fhir/status/${id}` }).end();
    } else if (path.startsWith('/fhir/status/')) {
      // a job kicked off answers 202 twice first (Retry-After in both forms); status/1 is a finished job
      const id = path.slice('/fhir/status/'.length);
      const poll = polls.has(id) ? polls.set(id, polls.get(id)! + 1).get(id)! : Infinity;
      if (poll === 1) res.writeHead(202, { 'retry-after': '1', 'x-progress': 'step 1' }).end();
      else if (poll === 2) res.writeHead(202, { 'retry-after': new Date(Date.now() + 1000).toUTCString(), 'x-progress': 'step 2' }).end();
      else {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            transactionTime: '2025-01-01T00:00:00Z',
            request: `${apiBase}/fhir/Patient/$export`,
            requiresAccessToken: false,
            output: [{ type: 'Patient', url: `${filesBase}/files/patient.ndjson`, count: 50 }],
            error: [],
          }),
        );
      }
    } else res.writeHead(404).end();
  });
  files = createServer((req, res) => {
    record(req);
    res.writeHead(200, { 'content-type': 'application/fhir+ndjson' }).end(patients);
  });
  apiBase = await listen(api);
  filesBase = await listen(files);
});

afterAll(async () => {
  api.close();
  files.close();
  await removeTempDirs();
});

function client() {
  return clientOn(new Transport({ baseUrl: `${apiBase}/fhir`, tokenProvider: { getAccessToken: async () => 'generic-access-token-1234' } }));
}

describe('generic Bulk Data server', () => {
  it('runs a Patient-level export honouring Retry-After and fetching tokenless files from another origin', async () => {
    const out = await tempDir();
    const events: ExportEvent[] = [];
    const result = await runExport(client(), { outDir: out, target: { kind: 'patient' }, pollIntervalMs: 50, onEvent: (e) => events.push(e) });
    expect(runOutcomeError(result)).toBeUndefined();
    expect(await readFile(join(out, 'patient', result.groups[0]!.manifest!.run, 'Patient-001.ndjson'), 'utf8')).toBe(patients);
    expect(result.groups[0]!.manifest!.files[0]).toMatchObject({ count: 50, bytes: patients.length });

    const kickoff = seen.find((s) => s.path.startsWith('/fhir/Patient/$export'))!;
    expect(kickoff).toMatchObject({ prefer: 'respond-async', accept: 'application/fhir+json', auth: true });
    expect(kickoff.path).toBe('/fhir/Patient/$export?_outputFormat=application%2Ffhir%2Bndjson');
    expect(seen.filter((s) => s.path.startsWith('/fhir/status/')).every((s) => s.accept === 'application/json')).toBe(true);
    expect(seen.find((s) => s.path === '/files/patient.ndjson')).toMatchObject({ auth: false, accept: 'application/fhir+ndjson' });

    const waits = events.flatMap((e) => (e.type === 'status_progress' ? [[e.progress, e.nextPollMs]] : []));
    expect(waits[0]).toEqual(['step 1', 1000]);
    expect(waits[1]![0]).toBe('step 2');
    expect(waits[1]![1]).toBeGreaterThanOrEqual(50);
    expect(waits[1]![1]).toBeLessThanOrEqual(1000);
  });

  it('reports and downloads an existing job by URL', async () => {
    const jobUrl = `${apiBase}/fhir/status/1`;
    expect(await exportStatus(client(), jobUrl)).toEqual([
      expect.objectContaining({ state: 'complete', files: 1, errorFiles: 0, transactionTime: '2025-01-01T00:00:00Z' }),
    ]);
    const out = await tempDir();
    const result = await downloadExisting(client(), { source: jobUrl, outDir: out });
    expect(result.groups.map((g) => g.label)).toEqual(['job-1']);
    const run = result.groups[0]!.manifest!.run;
    expect(await readFile(join(out, 'job-1', run, 'Patient-001.ndjson'), 'utf8')).toBe(patients);
    expect(await readFile(join(out, 'job-1', 'LATEST'), 'utf8')).toBe(`${run}\n`);
    // the same job again is already complete: a new run folder, the first one untouched
    const again = await downloadExisting(client(), { source: jobUrl, outDir: out });
    expect(again.groups[0]!.manifest!.run).not.toBe(run);
    expect(await readFile(join(out, 'job-1', run, 'Patient-001.ndjson'), 'utf8')).toBe(patients);
    await expect(downloadExisting(client(), { source: jobUrl })).rejects.toMatchObject({ code: 'ERR_USAGE' });
  });
});

describe('CLI helpers', () => {
  it('maps engine events to SMART log records', () => {
    expect(logRecord({ type: 'download_progress', label: 'g', file: 'f', bytes: 1 })).toBeUndefined();
    expect(logRecord({ type: 'kickoff', label: 'g', url: 'u', jobUrl: 'j', resumed: false, requestId: 'r' })).toEqual({
      eventId: 'kickoff',
      label: 'g',
      url: 'u',
      jobUrl: 'j',
      resumed: false,
      requestId: 'r',
    });
  });
});
