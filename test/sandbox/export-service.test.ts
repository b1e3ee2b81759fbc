/**
 * The sandbox export engine on its own: jobs, synthetic files, the completion body and /Data serving over
 * real loopback HTTP (a bare node:http server routing /Data to serveData, no auth), with a hand-moved clock.
 */
import type * as fhir3 from 'fhir/r3.js';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ExportResourceType, ExportService, JobStatus, KickoffRequest, SandboxFaults } from '../../src/sandbox/export/contract.js';
import { createExportService, type ExportServiceOptions } from '../../src/sandbox/export/index.js';
import { OUTCOME_TEXTS, patientFailure } from '../../src/sandbox/export/outcomes.js';

const ORG = 'org-a';
const T0 = Date.UTC(2026, 10, 25, 12, 0, 0, 123);
const DAY = 86_400_000;
const ALL: ExportResourceType[] = ['Patient', 'ExplanationOfBenefit', 'Coverage'];
const FAILING_MBI = '0S80C00AA00';

interface Entry {
  type: string;
  url: string;
  count: number;
  extension: Array<{ url: string; valueString?: string; valueDecimal?: number }>;
}
interface Body {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: Entry[];
  error: Entry[];
  extension: Array<{ url: string; valueDateTime: string }>;
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const checksumOf = (e: Entry): string => e.extension.find((x) => x.url === 'https://dpc.cms.gov/checksum')!.valueString!.replace('sha256:', '');
const lengthOf = (e: Entry): number => e.extension.find((x) => x.url === 'https://dpc.cms.gov/file_length')!.valueDecimal!;
const fileName = (e: Entry): string => e.url.slice(e.url.lastIndexOf('/') + 1);

/** Distinct MBI-shaped ids; which of them fail is decided by patientFailure(), so tests ask it. */
function mbis(count: number, offset = 0): string[] {
  return Array.from({ length: count }, (_, i) => `1S${String(offset + i).padStart(5, '0')}AA0`);
}

interface Harness {
  service: ExportService;
  stateDir: string;
  clock: { now: number };
  faults: SandboxFaults;
  origin: string;
  server: Server;
}

const harnesses: Harness[] = [];

async function harness(overrides: Partial<ExportServiceOptions> = {}): Promise<Harness> {
  const stateDir = mkdtempSync(join(tmpdir(), 'dpc-export-test-'));
  const clock = { now: T0 };
  const faults: SandboxFaults = {};
  const service = createExportService({
    stateDir,
    baseUrl: 'http://sandbox.test/api/v1',
    now: () => clock.now,
    jobDurationMs: 0,
    faults: () => faults,
    seed: 7,
    ...overrides,
  });
  const server = createServer((req, res) => {
    const match = /^\/api\/v1\/Data\/([^/?]+)$/.exec(req.url ?? '');
    if (!match) {
      res.writeHead(404).end();
      return;
    }
    void service.serveData(req, res, String(req.headers['x-org'] ?? ORG), match[1]!);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const h = { service, stateDir, clock, faults, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
  harnesses.push(h);
  return h;
}

afterAll(async () => {
  for (const h of harnesses) {
    await new Promise((resolve) => {
      h.server.close(resolve);
      h.server.closeAllConnections();
    });
    await h.service.close?.();
    rmSync(h.stateDir, { recursive: true, force: true });
  }
});

function kickoffRequest(patients: string[], extra: Partial<KickoffRequest> = {}): KickoffRequest {
  return {
    orgId: ORG,
    requestUrl: 'http://sandbox.test/api/v1/Group/g1/$export_type=Patient',
    groupId: 'g1',
    patients: patients.map((mbi, i) => ({ id: `p${i}`, mbi })),
    types: ALL,
    ...extra,
  };
}

/** Polls until generation is done (jobDurationMs 0 → complete as soon as files exist). */
async function settle(h: Harness, jobId: string, orgId = ORG): Promise<JobStatus> {
  for (;;) {
    const status = h.service.status(orgId, jobId);
    if (status.state !== 'in-progress') return status;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function completed(h: Harness, request: KickoffRequest): Promise<{ jobId: string; body: Body; expires: Date }> {
  const { jobId } = await h.service.kickoff(request);
  const status = await settle(h, jobId);
  if (status.state !== 'complete') throw new Error(`job ended ${JSON.stringify(status)}`);
  return { jobId, body: status.body as Body, expires: status.expires };
}

function storedFile(h: Harness, e: Entry): Buffer {
  return readFileSync(join(h.stateDir, 'data', `${fileName(e).replace(/\.ndjson$/, '')}.ndjson.gz`));
}

async function download(h: Harness, e: Entry | string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') {
  const name = typeof e === 'string' ? e : fileName(e);
  const res = await request(`${h.origin}/api/v1/Data/${name}`, { method, headers });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body };
}

describe('export jobs', () => {
  let h: Harness;
  let job: { jobId: string; body: Body; expires: Date };
  const patients = [...mbis(3), FAILING_MBI];

  beforeAll(async () => {
    h = await harness();
    job = await completed(h, kickoffRequest(patients));
  });

  it('answers with a completion body shaped like DPC JobCompletionModel', () => {
    const { body } = job;
    expect(Object.keys(body)).toEqual(['transactionTime', 'request', 'requiresAccessToken', 'output', 'error', 'extension']);
    expect(body.transactionTime).toBe('2026-11-25T00:00:00.000+00:00');
    expect(body.request).toBe('http://sandbox.test/api/v1/Group/g1/$export_type=Patient');
    expect(body.requiresAccessToken).toBe(true);
    expect(body.output.map((e) => e.type)).toEqual(['Patient', 'ExplanationOfBenefit', 'Coverage']);
    for (const e of [...body.output, ...body.error]) {
      expect(Object.keys(e)).toEqual(['type', 'url', 'count', 'extension']);
      expect(e.url).toMatch(new RegExp(`^http://sandbox\\.test/api/v1/Data/[0-9a-f-]{36}-0\\.${e.type.toLowerCase()}\\.ndjson$`));
      expect(e.extension.map((x) => x.url)).toEqual(['https://dpc.cms.gov/checksum', 'https://dpc.cms.gov/file_length']);
      expect(e.extension[0]!.valueString).toMatch(/^sha256:[0-9a-f]{64}$/);
    }
    expect(body.output.find((e) => e.type === 'Patient')!.count).toBe(3);
    expect(body.output.find((e) => e.type === 'Coverage')!.count).toBe(12);
    expect(body.extension).toEqual([
      { url: 'https://dpc.cms.gov/submit_time', valueDateTime: '2026-11-25T12:00:00.123+00:00' },
      { url: 'https://dpc.cms.gov/complete_time', valueDateTime: '2026-11-25T12:00:00.123+00:00' },
    ]);
    expect(job.expires.getTime()).toBe(T0 + DAY);
  });

  it('reports checksum = sha256 of the gunzipped stored file and file_length = its gzip size, counts = lines', () => {
    for (const e of [...job.body.output, ...job.body.error]) {
      const stored = storedFile(h, e);
      const ndjson = gunzipSync(stored);
      expect(checksumOf(e)).toBe(sha256(ndjson));
      expect(lengthOf(e)).toBe(stored.length);
      const lines = ndjson.toString('utf8').split('\n');
      expect(lines.pop()).toBe('');
      expect(lines.length).toBe(e.count);
      for (const line of lines) expect(JSON.parse(line).resourceType).toBe(e.type);
    }
  });

  it('writes realistic resources that reference the patient MBI and each other', () => {
    const patientsFile = gunzipSync(storedFile(h, job.body.output.find((e) => e.type === 'Patient')!)).toString().trim().split('\n');
    const resources = patientsFile.map((l) => JSON.parse(l) as fhir3.Patient);
    const mbiOf = (p: fhir3.Patient) => p.identifier!.find((i) => i.system === 'http://hl7.org/fhir/sid/us-mbi')!.value;
    expect(resources.map(mbiOf)).toEqual(patients.slice(0, 3));
    const ids = new Set(resources.map((p) => `Patient/${p.id}`));
    const eobs = gunzipSync(storedFile(h, job.body.output.find((e) => e.type === 'ExplanationOfBenefit')!)).toString().trim().split('\n');
    const types = new Set<string>();
    for (const line of eobs) {
      const eob = JSON.parse(line) as fhir3.ExplanationOfBenefit;
      expect(ids.has(eob.patient!.reference!)).toBe(true);
      expect(eob.meta!.lastUpdated).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00$/);
      const type = eob.type!.coding!.find((c) => c.system === 'https://bluebutton.cms.gov/resources/codesystem/eob-type')!.code!;
      types.add(type);
      // Part D events carry their amounts on the line (BFD v1: payment has only a date)
      const paid = type === 'PDE' ? eob.item![0]!.adjudication![0]!.amount!.value : eob.payment!.amount!.value;
      expect(paid).toBeGreaterThan(0);
      expect(eob.billablePeriod!.start! <= eob.billablePeriod!.end!).toBe(true);
    }
    expect([...types].every((t) => ['CARRIER', 'INPATIENT', 'OUTPATIENT', 'PDE'].includes(t))).toBe(true);
  });

  it('puts one OperationOutcome line per failed patient in the error file', () => {
    expect(job.body.error).toHaveLength(1);
    const [e] = job.body.error;
    expect(e!.type).toBe('OperationOutcome');
    expect(e!.count).toBe(1);
    const line = JSON.parse(gunzipSync(storedFile(h, e!)).toString().trim());
    expect(line).toEqual({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'exception', details: { text: OUTCOME_TEXTS.internalError }, location: ['Patient', 'id', FAILING_MBI] }],
    });
  });

  it('writes data files owner-only', () => {
    const dir = join(h.stateDir, 'data');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const name of readdirSync(dir)) expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);
  });

  it('answers not-found and wrong-org', () => {
    expect(h.service.status(ORG, '00000000-0000-4000-8000-000000000000')).toEqual({ state: 'not-found' });
    expect(h.service.status('org-b', job.jobId)).toEqual({ state: 'wrong-org' });
  });
});

describe('generation failures', () => {
  it('reports failed when the files cannot be written', async () => {
    const h = await harness();
    const blocker = join(h.stateDir, 'not-a-dir');
    writeFileSync(blocker, '');
    const broken = createExportService({ stateDir: blocker, baseUrl: 'http://x/api/v1', now: () => T0, jobDurationMs: 0, faults: () => ({}) });
    const { jobId } = await broken.kickoff(kickoffRequest(mbis(2)));
    const status = await settle({ ...h, service: broken }, jobId);
    expect(status.state).toBe('failed');
    expect((status as { message: string }).message).toMatch(new RegExp(`^export job ${jobId}: .*not-a-dir`));
  });

  it('stops generating on close and leaves no temporary files', async () => {
    const h = await harness({ exportScale: 20 });
    const { jobId } = await h.service.kickoff(kickoffRequest(mbis(300, 700)));
    // Close in the middle of writing the first batch.
    await vi.waitFor(() => expect(h.service.status(ORG, jobId)).not.toEqual({ state: 'in-progress', progress: 'QUEUED: 0.00%' }));
    await h.service.close?.();
    expect(h.service.status(ORG, jobId)).toEqual({ state: 'failed', message: 'export service closed' });
    expect(readdirSync(join(h.stateDir, 'data')).filter((f) => f.includes('.tmp-'))).toEqual([]);
    await expect(h.service.kickoff(kickoffRequest(mbis(1)))).rejects.toThrow(/closed/);
  });
});

describe('job timing on the sandbox clock', () => {
  it('is QUEUED, then RUNNING with a percentage, complete after jobDurationMs, expired 24 h later', async () => {
    const h = await harness({ jobDurationMs: 60_000 });
    const { jobId } = await h.service.kickoff(kickoffRequest(mbis(2)));
    expect(h.service.status(ORG, jobId)).toEqual({ state: 'in-progress', progress: 'QUEUED: 0.00%' });
    // A quarter of the time has passed; once the files exist, time is what the job waits for.
    h.clock.now = T0 + 15_000;
    await vi.waitFor(() => expect(h.service.status(ORG, jobId)).toEqual({ state: 'in-progress', progress: 'RUNNING: 25.00%' }));
    h.clock.now = T0 + 60_000;
    const done = await settle(h, jobId);
    expect(done.state).toBe('complete');
    expect((done as { expires: Date }).expires.getTime()).toBe(T0 + 60_000 + DAY);
    expect(((done as { body: Body }).body.extension[1]!.valueDateTime)).toBe('2026-11-25T12:01:00.123+00:00');
    const file = (done as { body: Body }).body.output[0]!;
    h.clock.now = T0 + 60_000 + DAY - 1;
    expect(h.service.status(ORG, jobId).state).toBe('complete');
    expect((await download(h, file)).status).toBe(200);
    h.clock.now = T0 + 60_000 + DAY;
    expect(h.service.status(ORG, jobId)).toEqual({ state: 'expired' });
    const gone = await download(h, file);
    expect(gone.status).toBe(410);
    expect(gone.body.length).toBe(0);
    // HEAD does not check expiry (DataResource.exportFileHead).
    expect((await download(h, file, {}, 'HEAD')).status).toBe(200);
  });
});

describe('batches and file splitting', () => {
  it('splits into batches of 100 patients and a new sequence file every resourcesPerFile resources', async () => {
    const h = await harness({ resourcesPerFile: 7 });
    const group = mbis(150);
    const ok = group.filter((m) => !patientFailure(m));
    const { body } = await completed(h, kickoffRequest(group, { types: ['Patient', 'Coverage'] }));
    const patientsFiles = body.output.filter((e) => e.type === 'Patient');
    const batchIds = [...new Set(patientsFiles.map((e) => fileName(e).slice(0, 36)))];
    expect(batchIds).toHaveLength(2);
    const perBatch = batchIds.map((id) => patientsFiles.filter((e) => fileName(e).startsWith(id)));
    const okInBatch = [ok.filter((m) => group.indexOf(m) < 100).length, ok.filter((m) => group.indexOf(m) >= 100).length];
    perBatch.forEach((files, b) => {
      expect(files.map((e) => fileName(e))).toEqual(files.map((_, seq) => `${batchIds[b]}-${seq}.patient.ndjson`));
      expect(files.map((e) => e.count)).toEqual(files.map((_, seq) => Math.min(7, okInBatch[b]! - seq * 7)));
    });
    expect(body.output.filter((e) => e.type === 'Coverage').reduce((n, e) => n + e.count, 0)).toBe(ok.length * 4);
    expect(body.output.filter((e) => e.type === 'ExplanationOfBenefit')).toEqual([]);
  });

  it('starts a new file after 5000 resources by default', async () => {
    // 100 patients × 2–8 claims × 12 ≈ 6000 claims in one batch.
    const h = await harness({ exportScale: 12 });
    const { body } = await completed(h, kickoffRequest(mbis(100, 500), { types: ['ExplanationOfBenefit'] }));
    const counts = body.output.map((e) => e.count);
    expect(counts.length).toBe(2);
    expect(counts[0]).toBe(5000);
    expect(counts[1]).toBeGreaterThan(0);
    expect(body.output.map((e) => fileName(e).slice(37))).toEqual(['0.explanationofbenefit.ndjson', '1.explanationofbenefit.ndjson']);
  });
});

describe('_since', () => {
  it('drops resources last updated at or before _since', async () => {
    const h = await harness();
    const group = mbis(20);
    const all = await completed(h, kickoffRequest(group));
    const since = Date.UTC(2024, 0, 1);
    const later = await completed(h, kickoffRequest(group, { since }));
    const total = (b: Body, type: string) => b.output.filter((e) => e.type === type).reduce((n, e) => n + e.count, 0);
    for (const type of ALL) expect(total(later.body, type)).toBeLessThan(total(all.body, type));
    for (const e of later.body.output) {
      for (const line of gunzipSync(storedFile(h, e)).toString().trim().split('\n')) {
        expect(Date.parse(JSON.parse(line).meta.lastUpdated)).toBeGreaterThan(since);
      }
    }
  });

  it('completes with empty output and error when _since is at or after the transaction time', async () => {
    const h = await harness();
    const { body } = await completed(h, kickoffRequest([...mbis(3), FAILING_MBI], { since: T0 }));
    expect(body.output).toEqual([]);
    expect(body.error).toEqual([]);
  });
});

describe('determinism and the generated-file cache', () => {
  it('produces identical files for a seed, different ones for another seed, and reuses identical batches', async () => {
    const group = mbis(30, 200);
    const a = await harness({ seed: 42 });
    const b = await harness({ seed: 42 });
    const c = await harness({ seed: 43 });
    const first = await completed(a, kickoffRequest(group));
    const same = await completed(b, kickoffRequest(group));
    const other = await completed(c, kickoffRequest(group));
    expect(same.body.output).toEqual(first.body.output.map((e) => ({ ...e })));
    expect(other.body.output.map(checksumOf)).not.toEqual(first.body.output.map(checksumOf));
    // Patient and Coverage data do not depend on the requested types.
    const patientsOnly = await completed(c, kickoffRequest(group, { types: ['Patient'] }));
    expect(checksumOf(patientsOnly.body.output[0]!)).toBe(checksumOf(other.body.output[0]!));

    const stored = join(a.stateDir, 'data', `${fileName(first.body.output[1]!).replace(/\.ndjson$/, '')}.ndjson.gz`);
    const before = statSync(stored);
    const again = await completed(a, kickoffRequest(group));
    expect(again.jobId).not.toBe(first.jobId);
    expect(again.body.output).toEqual(first.body.output);
    const after = statSync(stored);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  });
});

describe('GET|HEAD /Data', () => {
  let h: Harness;
  let eob: Entry;
  let plain: Buffer;
  let stored: Buffer;

  beforeAll(async () => {
    h = await harness({ exportScale: 3 });
    const { body } = await completed(h, kickoffRequest(mbis(10, 300)));
    eob = body.output.find((e) => e.type === 'ExplanationOfBenefit')!;
    stored = storedFile(h, eob);
    plain = gunzipSync(stored);
    expect(plain.length).toBeGreaterThan(1 << 20);
  });

  it('streams the file uncompressed without Accept-Encoding: gzip, chunked, with DPC headers', async () => {
    const res = await download(h, eob);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/ndjson');
    expect(res.headers['etag']).toBe(checksumOf(eob));
    expect(res.headers['last-modified']).toBe(String(T0));
    expect(res.headers['cache-control']).toBe('no-cache, no-store');
    expect(res.headers['content-length']).toBeUndefined();
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(sha256(res.body)).toBe(checksumOf(eob));
  });

  it('sends the stored gzip as is when Accept-Encoding contains gzip', async () => {
    const res = await download(h, eob, { 'Accept-Encoding': 'deflate, gzip;q=1.0' });
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.body.equals(stored)).toBe(true);
    expect(res.body.length).toBe(lengthOf(eob));
  });

  it('answers the path with or without the .ndjson suffix, 404 for unknown files and other orgs', async () => {
    expect((await download(h, fileName(eob).replace(/\.ndjson$/, ''))).status).toBe(200);
    const missing = await download(h, '00000000-0000-4000-8000-000000000000-0.patient.ndjson');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body.toString())).toEqual({ code: 404, message: 'Cannot find file' });
    expect((await download(h, eob, { 'x-org': 'org-b' })).status).toBe(404);
    expect((await download(h, '..%2F..%2Fetc%2Fpasswd')).status).toBe(404);
  });

  it('answers 304 for a matching If-None-Match or a not-older epoch-ms If-Modified-Since', async () => {
    expect((await download(h, eob, { 'If-None-Match': checksumOf(eob) })).status).toBe(304);
    expect((await download(h, eob, { 'If-None-Match': `"${checksumOf(eob)}"` })).status).toBe(200);
    expect((await download(h, eob, { 'If-Modified-Since': String(T0) })).status).toBe(304);
    expect((await download(h, eob, { 'If-Modified-Since': String(T0 - 1) })).status).toBe(200);
    // HTTP-date strings are ignored.
    expect((await download(h, eob, { 'If-Modified-Since': new Date(T0 + DAY).toUTCString() })).status).toBe(200);
  });

  it('answers HEAD with ETag, gzip Content-Length, Last-Modified and Accept-Ranges, no body', async () => {
    const res = await download(h, eob, {}, 'HEAD');
    expect(res.status).toBe(200);
    expect(res.headers['etag']).toBe(checksumOf(eob));
    expect(res.headers['content-length']).toBe(String(stored.length));
    expect(res.headers['last-modified']).toBe(String(T0));
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(res.body.length).toBe(0);
  });

  it('serves DPC ranges: end exclusive, over uncompressed bytes, never gzipped, 1 MiB without an end', async () => {
    const first = await download(h, eob, { Range: 'bytes=0-10240', 'Accept-Encoding': 'gzip' });
    expect(first.status).toBe(206);
    expect(first.headers['content-encoding']).toBeUndefined();
    expect(first.headers['content-range']).toBe('bytes 0-10240/10240');
    expect(first.headers['accept-ranges']).toBe('bytes');
    expect(first.body.equals(plain.subarray(0, 10240))).toBe(true);

    expect((await download(h, eob, { Range: 'bytes=0-1' })).body.equals(plain.subarray(0, 1))).toBe(true);
    const middle = await download(h, eob, { Range: 'bytes=1000-' });
    expect(middle.headers['content-range']).toBe(`bytes 1000-${1000 + (1 << 20)}/${1 << 20}`);
    expect(middle.body.equals(plain.subarray(1000, 1000 + (1 << 20)))).toBe(true);

    const tail = await download(h, eob, { Range: `bytes=${plain.length - 5}-${plain.length + 100}` });
    expect(tail.status).toBe(206);
    expect(tail.body.equals(plain.subarray(plain.length - 5))).toBe(true);
  });

  it('rejects bad ranges: 416 for end < start or another unit, 400 for a suffix range', async () => {
    const backwards = await download(h, eob, { Range: 'bytes=10-5' });
    expect(backwards.status).toBe(416);
    expect(JSON.parse(backwards.body.toString())).toEqual({ code: 416, message: 'Range end cannot be before begin' });
    expect((await download(h, eob, { Range: 'items=0-5' })).status).toBe(416);
    expect((await download(h, eob, { Range: 'bytes=-500' })).status).toBe(400);
  });
});

describe('download faults', () => {
  let h: Harness;
  let eob: Entry;
  let patient: Entry;

  beforeAll(async () => {
    h = await harness({ exportScale: 2 });
    const { body } = await completed(h, kickoffRequest(mbis(10, 400)));
    eob = body.output.find((e) => e.type === 'ExplanationOfBenefit')!;
    patient = body.output.find((e) => e.type === 'Patient')!;
  });

  it('cutAtByte breaks the connection after N body bytes of the next count matching downloads', async () => {
    h.faults.cutAtByte = { bytes: 100_000, count: 1, fileIncludes: 'explanationofbenefit' };
    // A non-matching file is not affected and does not use up the fault.
    expect(sha256((await download(h, patient)).body)).toBe(checksumOf(patient));
    const res = await request(`${h.origin}/api/v1/Data/${fileName(eob)}`);
    expect(res.statusCode).toBe(200);
    let received = 0;
    await expect(
      (async () => {
        for await (const chunk of res.body) received += (chunk as Buffer).length;
      })(),
    ).rejects.toThrow();
    expect(received).toBe(100_000);
    expect(h.faults.cutAtByte.count).toBe(0);
    expect(sha256((await download(h, eob)).body)).toBe(checksumOf(eob));
  });

  it('truncateBy ends the body cleanly but short, gzip or plain', async () => {
    h.faults.truncateBy = { bytes: 1000, count: 2 };
    const plain = await download(h, eob);
    expect(plain.status).toBe(200);
    const full = gunzipSync(storedFile(h, eob));
    expect(plain.body.equals(full.subarray(0, full.length - 1000))).toBe(true);
    const gz = await download(h, eob, { 'Accept-Encoding': 'gzip' });
    expect(gz.body.length).toBe(lengthOf(eob) - 1000);
    expect(h.faults.truncateBy.count).toBe(0);
    expect((await download(h, eob)).body.length).toBe(full.length);
  });

  it('wrongChecksum reports a wrong sha256 in the manifest for matching files only; ETag stays true', async () => {
    const { jobId } = await h.service.kickoff(kickoffRequest(mbis(10, 400)));
    await settle(h, jobId);
    h.faults.wrongChecksum = { fileIncludes: '.patient.' };
    const body = (h.service.status(ORG, jobId) as { body: Body }).body;
    const faulty = body.output.find((e) => e.type === 'Patient')!;
    expect(checksumOf(faulty)).not.toBe(checksumOf(patient));
    expect(checksumOf(body.output.find((e) => e.type === 'ExplanationOfBenefit')!)).toBe(checksumOf(eob));
    expect((await download(h, faulty)).headers['etag']).toBe(checksumOf(patient));
    delete h.faults.wrongChecksum;
    expect(checksumOf((h.service.status(ORG, jobId) as { body: Body }).body.output[0]!)).toBe(checksumOf(patient));
  });

  it('slowFirstByteMs delays the response headers', async () => {
    h.faults.slowFirstByteMs = 2000;
    try {
      // A client whose header timeout is far shorter than the delay gives up before the first byte.
      await expect(request(`${h.origin}/api/v1/Data/${fileName(patient)}`, { headersTimeout: 100 })).rejects.toThrow(/Headers Timeout/i);
    } finally {
      delete h.faults.slowFirstByteMs;
    }
  });
});
