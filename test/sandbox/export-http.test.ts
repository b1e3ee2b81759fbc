/**
 * Bulk export through the whole sandbox over raw HTTP, written from the behaviour doc §6 (not the client
 * library): a real /Token/auth exchange with the seeded 4096-bit key, a roster built with X-Provenance,
 * `$export` → `/Jobs` → `/Data`, the sandbox clock moved through completion and expiry, faults set live.
 */
import type * as fhir3 from 'fhir/r3.js';
import { createHash, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { testKey } from '../keys.js';
import { accessToken, api, newOrg, rsaKey, type TestKey } from './helpers.js';

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

const JOB_MS = 10_000;
const DAY = 86_400_000;
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const checksumOf = (e: Entry): string => e.extension[0]!.valueString!.replace('sha256:', '');
const lengthOf = (e: Entry): number => e.extension[1]!.valueDecimal!;

let sb: SandboxHandle;
let key: KeyObject;
/** A second organization's key (DPC rejects one public key in two orgs). */
let otherKey: TestKey;
let token: string;
let groupId: string;

/** A fresh token on the (possibly moved) sandbox clock. */
async function refreshToken(): Promise<void> {
  token = await accessToken(sb, key, sb.seed!.clientToken, sb.seed!.keyId);
}

async function kickoff(query = ''): Promise<string> {
  const res = await api(sb, token, `/Group/${groupId}/$export${query}`, { headers: { Prefer: 'respond-async' } });
  expect(res.status).toBe(202);
  const location = res.headers.get('content-location')!;
  expect(location).toMatch(new RegExp(`^${sb.baseUrl.replace(/[.]/g, '\\.')}/Jobs/[0-9a-f-]{36}$`));
  return location;
}

function job(location: string, bearer = token) {
  return request(location, { headers: { Authorization: `Bearer ${bearer}`, Accept: 'application/json' } });
}

/** Polls the job (a few ms apart, on generation) until it leaves 202. */
async function finish(location: string) {
  for (;;) {
    const res = await job(location);
    if (res.statusCode !== 202) return res;
    await res.body.dump();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function completedJob(query = ''): Promise<{ location: string; body: Body }> {
  const location = await kickoff(query);
  sb.clock.advance(JOB_MS);
  const res = await finish(location);
  expect(res.statusCode).toBe(200);
  return { location, body: (await res.body.json()) as Body };
}

async function data(url: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET', bearer = token) {
  const res = await request(url, { method, headers: { Authorization: `Bearer ${bearer}`, ...headers } });
  return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
}

beforeAll(async () => {
  [sb, otherKey] = [await startSandbox({ seed: true, seedKey: testKey(0), testMode: true, jobDurationMs: JOB_MS }), rsaKey(1)];
  key = createPrivateKey(readFileSync(sb.seed!.privateKeyPath));
  await refreshToken();
  const practitioners = (await (await api(sb, token, '/Practitioner')).json()) as fhir3.Bundle;
  const practitioner = practitioners.entry![0]!.resource as fhir3.Practitioner;
  const npi = practitioner.identifier!.find((i) => i.system === 'http://hl7.org/fhir/sid/us-npi')!.value!;
  const patients = (await (await api(sb, token, '/Patient')).json()) as fhir3.Bundle;
  const provenance = {
    resourceType: 'Provenance',
    meta: { profile: ['https://dpc.cms.gov/api/v1/StructureDefinition/dpc-profile-attestation'] },
    recorded: new Date(sb.clock.now()).toISOString(),
    reason: [{ system: 'http://hl7.org/fhir/v3/ActReason', code: 'TREAT' }],
    agent: [{
      role: [{ coding: [{ system: 'http://hl7.org/fhir/v3/RoleClass', code: 'AGNT' }] }],
      whoReference: { reference: `Organization/${sb.seed!.orgId}` },
      onBehalfOfReference: { reference: `Practitioner/${practitioner.id}` },
    }],
  };
  const group = {
    resourceType: 'Group',
    type: 'person',
    actual: true,
    characteristic: [{
      code: { coding: [{ code: 'attributed-to' }] },
      valueCodeableConcept: { coding: [{ system: 'http://hl7.org/fhir/sid/us-npi', code: npi }] },
    }],
    member: patients.entry!.map((e) => ({ entity: { reference: `Patient/${e.resource!.id}` } })),
  };
  const created = await api(sb, token, '/Group', { method: 'POST', json: group, headers: { 'X-Provenance': JSON.stringify(provenance) } });
  expect(created.status).toBe(201);
  groupId = ((await created.json()) as fhir3.Group).id!;
});

afterAll(async () => {
  await sb?.close();
});

describe('$export → /Jobs → /Data over HTTP', () => {
  const QUERY = '?_type=Patient,ExplanationOfBenefit,Coverage&_outputFormat=application%2Ffhir%2Bndjson';
  // one completed job the file tests read (none of them changes it); the lifecycle tests run jobs of their own
  let location: string;
  let body: Body;

  beforeAll(async () => {
    ({ location, body } = await completedJob(QUERY));
  });
  // tests move the clock (access tokens live 300 s of it)
  beforeEach(refreshToken);

  it('reports 202 with X-Progress while the job runs, then 200 with Expires and the completion body', async () => {
    const location = await kickoff(QUERY);
    const running = await job(location);
    expect(running.statusCode).toBe(202);
    expect(running.headers['x-progress']).toMatch(/^(QUEUED: 0\.00%|RUNNING: \d{1,3}\.\d{2}%)$/);
    expect(running.headers['retry-after']).toBeUndefined();
    await running.body.dump();

    sb.clock.advance(JOB_MS);
    const done = await finish(location);
    expect(done.statusCode).toBe(200);
    const body = (await done.body.json()) as Body;
    const completeTime = Date.parse(body.extension[1]!.valueDateTime);
    expect(new Date(String(done.headers['expires'])).getTime()).toBe(Math.floor((completeTime + DAY) / 1000) * 1000);
    expect(body.request).toBe(`${sb.baseUrl}/Group/${groupId}/$export_type=Patient,ExplanationOfBenefit,Coverage&_outputFormat=application%2Ffhir%2Bndjson`);
    expect(body.transactionTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00$/);
    expect(body.output.map((e) => e.type)).toEqual(['Patient', 'ExplanationOfBenefit', 'Coverage']);
    for (const e of body.output) expect(e.url.startsWith(`${sb.baseUrl}/Data/`)).toBe(true);
    // 100 seeded sample patients; one of their MBIs is in the sandbox's failure set.
    expect(body.output[0]!.count).toBe(99);
    expect(body.output[2]!.count).toBe(99 * 4);
  });

  it('serves every file so that checksum = sha256 of the plain download and file_length = the gzip download size', async () => {
    for (const e of [...body.output, ...body.error]) {
      const plain = await data(e.url, { Accept: 'application/ndjson' });
      expect(plain.status).toBe(200);
      expect(plain.headers['content-type']).toBe('application/ndjson');
      expect(plain.headers['etag']).toBe(checksumOf(e));
      expect(sha256(plain.body)).toBe(checksumOf(e));
      expect(plain.body.toString().trim().split('\n')).toHaveLength(e.count);
      const gz = await data(e.url, { 'Accept-Encoding': 'gzip' });
      expect(gz.headers['content-encoding']).toBe('gzip');
      expect(gz.body.length).toBe(lengthOf(e));
      expect(gunzipSync(gz.body).equals(plain.body)).toBe(true);
    }
  });

  it('lists the failed patient in the OperationOutcome error file', async () => {
    expect(body.error).toHaveLength(1);
    const lines = (await data(body.error[0]!.url)).body.toString().trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([{
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'exception', details: { text: 'Unable to retrieve patient data due to internal error' }, location: ['Patient', 'id', '1S00E00AA78'] }],
    }]);
  });

  it('honours ETag/If-None-Match, HEAD and DPC ranges', async () => {
    const eob = body.output[1]!;
    expect((await data(eob.url, { 'If-None-Match': checksumOf(eob) })).status).toBe(304);
    const head = await data(eob.url, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(lengthOf(eob)));
    expect(head.headers['accept-ranges']).toBe('bytes');
    expect(head.headers['last-modified']).toMatch(/^\d+$/);
    const range = await data(eob.url, { Range: 'bytes=0-10240' });
    expect(range.status).toBe(206);
    expect(range.headers['content-range']).toBe('bytes 0-10240/10240');
    expect(range.body.length).toBe(10240);
    expect(sha256(range.body)).toBe(sha256((await data(eob.url)).body.subarray(0, 10240)));
  });

  it('keeps jobs and files to their organization', async () => {
    const other = await newOrg(sb, otherKey);
    const res = await job(location, other.token);
    expect(res.statusCode).toBe(401);
    expect(await res.body.text()).toBe('Invalid organization for job');
    expect((await data(body.output[0]!.url, {}, 'GET', other.token)).status).toBe(404);
  });

  it('answers 410 for the job and its files 24 h after completion', async () => {
    const { location, body } = await completedJob(QUERY);
    sb.clock.advance(DAY);
    try {
      await refreshToken();
      const gone = await job(location);
      expect(gone.statusCode).toBe(410);
      expect((await gone.body.text()).length).toBe(0);
      expect((await data(body.output[0]!.url)).status).toBe(410);
      expect((await data(body.output[0]!.url, {}, 'HEAD')).status).toBe(200);
    } finally {
      sb.clock.advance(-DAY); // the block's shared job stays within its 24 h for the other tests
    }
  });
});

describe('export variants over HTTP', () => {
  it('exports only the requested _type', async () => {
    const { body } = await completedJob('?_type=Patient');
    expect(body.output.map((e) => e.type)).toEqual(['Patient']);
  });

  it('completes with empty output and error for _since = now', async () => {
    const since = new Date(sb.clock.now()).toISOString().replace('Z', '%2B00:00');
    const { body } = await completedJob(`?_since=${since}`);
    expect(body.output).toEqual([]);
    expect(body.error).toEqual([]);
  });

  it('applies cutAtByte, truncateBy and wrongChecksum faults set on the live sandbox', async () => {
    const { location } = await completedJob();
    sb.faults.set({ wrongChecksum: { fileIncludes: '.coverage.' } });
    const faulty = (await (await finish(location)).body.json()) as Body;
    sb.faults.clear();
    const honest = (await (await finish(location)).body.json()) as Body;
    const coverage = honest.output.find((e) => e.type === 'Coverage')!;
    expect(checksumOf(faulty.output.find((e) => e.type === 'Coverage')!)).not.toBe(checksumOf(coverage));
    expect(checksumOf(faulty.output[0]!)).toBe(checksumOf(honest.output[0]!));

    sb.faults.set({ cutAtByte: { bytes: 5000, count: 1 } });
    const cut = await request(coverage.url, { headers: { Authorization: `Bearer ${token}` } });
    await expect(cut.body.arrayBuffer()).rejects.toThrow();
    expect(sha256((await data(coverage.url)).body)).toBe(checksumOf(coverage));

    sb.faults.set({ truncateBy: { bytes: 10, count: 1 } });
    const short = await data(coverage.url);
    expect(short.status).toBe(200);
    expect(sha256(short.body)).not.toBe(checksumOf(coverage));
    expect(sha256((await data(coverage.url)).body)).toBe(checksumOf(coverage));
  });
});
