/**
 * Rules of the real DPC server the first sandbox missed (behaviour doc §11.5), over raw HTTP: kick-off check order,
 * `_since` at transactionTime, ignored parameters, /Data conditionals, the response gzip threshold, and the codes and
 * locations of per-patient error lines. (The deleted-client-token exchange is in keys-tokens.test.ts.)
 */
import type * as fhir3 from 'fhir/r3.js';
import { request } from 'undici';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { patientFailure } from '../../src/sandbox/export/outcomes.js';
import { blueButtonId } from '../../src/sandbox/export/synth.js';
import { testKey } from '../keys.js';
import { api, groupBody, outcomeText, provenance, seedToken } from './helpers.js';

interface Entry {
  type: string;
  url: string;
  count: number;
  extension: Array<{ url: string; valueString?: string; valueDecimal?: number }>;
}
interface Completion {
  transactionTime: string;
  output: Entry[];
  error: Entry[];
}

const NPI = '1232125215';
const JOB_MS = 1000;
/** MBIs the sandbox fails, one per DPC failure kind (src/sandbox/export/outcomes.ts decides by MBI). */
const INTERNAL_ERROR = '1S00E00AA78';
const OPTED_OUT = '1S00E00AC13';
const LOOK_BACK = '1S00E00AC05';

let sb: SandboxHandle;
let token: string;
let practitionerId: string;
/** Patient ids by MBI (sample patients plus the two registered here). */
const ids = new Map<string, string>();

async function registerPatient(mbi: string): Promise<void> {
  const res = await api(sb, token, '/Patient', {
    method: 'POST',
    json: {
      resourceType: 'Patient',
      identifier: [{ system: 'http://hl7.org/fhir/sid/us-mbi', value: mbi }],
      name: [{ family: 'Test', given: ['Pat'] }],
      gender: 'female',
      birthDate: '1950-01-02',
    },
  });
  expect([200, 201]).toContain(res.status);
  ids.set(mbi, ((await res.json()) as fhir3.Patient).id!);
}

async function newGroup(mbis: readonly string[]): Promise<string> {
  // One roster per practitioner: delete the previous one first.
  const existing = (await (await api(sb, token, `/Group?characteristic-value=attributed-to$${NPI}`)).json()) as fhir3.Bundle;
  for (const e of existing.entry ?? []) await api(sb, token, `/Group/${e.resource!.id}`, { method: 'DELETE' });
  const res = await api(sb, token, '/Group', {
    method: 'POST',
    json: groupBody(NPI, mbis.map((m) => ids.get(m)!)),
    headers: { 'X-Provenance': provenance(sb.seed!.orgId, practitionerId) },
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as fhir3.Group).id!;
}

function kick(groupId: string, query: string, headers: Record<string, string> = { Prefer: 'respond-async' }) {
  return api(sb, token, `/Group/${groupId}/$export${query}`, { headers });
}

async function completed(groupId: string, query = ''): Promise<Completion> {
  const res = await kick(groupId, query);
  expect(res.status).toBe(202);
  const location = res.headers.get('content-location')!;
  sb.clock.advance(JOB_MS);
  for (;;) {
    const status = await request(location, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' } });
    if (status.statusCode === 200) return (await status.body.json()) as Completion;
    expect(status.statusCode).toBe(202);
    await status.body.dump();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function raw(url: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') {
  const res = await request(url, { method, headers: { Authorization: `Bearer ${token}`, ...headers } });
  return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
}

beforeAll(async () => {
  sb = await startSandbox({ seed: true, seedKey: testKey(0), testMode: true, jobDurationMs: JOB_MS });
  token = await seedToken(sb);
  const practitioners = (await (await api(sb, token, `/Practitioner?identifier=${NPI}`)).json()) as fhir3.Bundle;
  practitionerId = practitioners.entry![0]!.resource!.id!;
  const patients = (await (await api(sb, token, '/Patient')).json()) as fhir3.Bundle;
  for (const e of patients.entry ?? []) {
    const patient = e.resource as fhir3.Patient;
    ids.set(patient.identifier!.find((i) => i.system === 'http://hl7.org/fhir/sid/us-mbi')!.value!, patient.id!);
  }
  await registerPatient(OPTED_OUT);
  await registerPatient(LOOK_BACK);
});
afterAll(async () => sb?.close());

describe('$export kick-off: checks in DPC order (R/GroupResource.java export)', () => {
  const badFormat = '?_outputFormat=text/csv';
  const badType = '_type=Claim';
  const badSince = '_since=yesterday';

  it('_outputFormat first, then Prefer, both before the members', async () => {
    const empty = await newGroup([]);
    const format = await kick(empty, `${badFormat}&${badType}`, {});
    expect(format.status).toBe(400);
    expect(outcomeText(await format.json())[0]).toMatch(/^'_outputFormat' query parameter must be/);
    const prefer = await kick(empty, `?${badType}`, {});
    expect(prefer.status).toBe(400);
    expect(outcomeText(await prefer.json())).toEqual(["The 'Prefer' header must be 'respond-async'"]);
  });

  it('then the members (406) before _type and _since', async () => {
    const empty = await newGroup([]);
    const none = await kick(empty, `?${badType}&${badSince}`);
    expect(none.status).toBe(406);
    expect(outcomeText(await none.json())).toEqual(['Cannot perform export with no beneficiaries']);

    const [mbi, patientId] = [...ids.entries()][0]!;
    const lapsed = await newGroup([mbi]);
    const removal = await api(sb, token, `/Group/${lapsed}/$remove`, { method: 'POST', json: groupBody(NPI, [patientId]) });
    expect(removal.status).toBe(200);
    const inactive = await kick(lapsed, `?${badType}&${badSince}`);
    expect(inactive.status).toBe(406);
    expect(outcomeText(await inactive.json())).toEqual(['No active attributed patients found for the group']);
  });

  it('then _type, then _since', async () => {
    const group = await newGroup([...ids.keys()].slice(0, 2));
    const type = await kick(group, `?${badType}&${badSince}`);
    expect(type.status).toBe(400);
    expect(outcomeText(await type.json())).toEqual(["Unsupported resource name in the '_type' query parameter: Claim"]);
    const since = await kick(group, `?_type=Patient&${badSince}`);
    expect(since.status).toBe(400);
    // empty _type and blank _since count as absent
    expect((await kick(group, '?_type=&_since=')).status).toBe(202);
  });

  it('_since at or after transactionTime: a job that completes with empty output and error', async () => {
    const group = await newGroup([INTERNAL_ERROR, ...[...ids.keys()].slice(0, 2)]);
    const first = await completed(group);
    expect(first.output.length).toBeGreaterThan(0);
    const since = encodeURIComponent(first.transactionTime);
    const empty = await completed(group, `?_since=${since}`);
    expect(empty).toMatchObject({ transactionTime: first.transactionTime, output: [], error: [] });
  });

  it('_elements and _typeFilter are ignored', async () => {
    const group = await newGroup([...ids.keys()].slice(0, 2));
    const plain = await completed(group, '?_type=Patient');
    const filtered = await completed(group, `?_type=Patient&_elements=id&_typeFilter=${encodeURIComponent('Patient?gender=male')}`);
    expect(filtered.output.map((e) => [e.type, e.count])).toEqual(plain.output.map((e) => [e.type, e.count]));
    const checksum = (c: Completion) => c.output[0]!.extension[0]!.valueString;
    expect(checksum(filtered)).toBe(checksum(plain));
  });
});

describe('per-patient error lines (aggregation JobBatchProcessor.java, AggregationUtils.java)', () => {
  it('internal error and opt-out: exception + MBI; look-back failure: suppressed + the Blue Button patient id', async () => {
    const group = await newGroup([INTERNAL_ERROR, OPTED_OUT, LOOK_BACK]);
    const done = await completed(group);
    expect(done.output).toEqual([]);
    expect(done.error).toHaveLength(1);
    const lines = (await raw(done.error[0]!.url)).body.toString().trim().split('\n').map((l) => JSON.parse(l) as fhir3.OperationOutcome);
    const issues = lines.map((l) => ({ code: l.issue[0]!.code, text: l.issue[0]!.details!.text, location: l.issue[0]!.location }));
    const beneId = blueButtonId(0, LOOK_BACK);
    expect(beneId).toMatch(/^-1\d{13}$/);
    expect(issues).toEqual([
      { code: 'exception', text: 'Unable to retrieve patient data due to internal error', location: ['Patient', 'id', INTERNAL_ERROR] },
      { code: 'exception', text: 'Data not available for opted out patient', location: ['Patient', 'id', OPTED_OUT] },
      {
        code: 'suppressed',
        text: "DPC couldn't find a claim within the past 18 months for this MBI from an NPI in this organization",
        location: ['Patient', 'id', beneId],
      },
    ]);
  });

  it('the Blue Button id is the Patient.id that patient has in an export', async () => {
    // A look-back failure exports nothing for that patient; the same MBI's Patient resource id comes from the same
    // generator, shown here with a patient that exports (the sandbox decides failures by MBI, not by id).
    const mbi = [...ids.keys()].find((m) => patientFailure(m) === undefined)!;
    const done = await completed(await newGroup([mbi]), '?_type=Patient');
    const patient = JSON.parse((await raw(done.output[0]!.url)).body.toString()) as fhir3.Patient;
    expect(patient.id).toBe(blueButtonId(0, mbi));
    expect(patient.identifier!.find((i) => i.system === 'http://hl7.org/fhir/sid/us-mbi')!.value).toBe(mbi);
  });
});

describe('GET|HEAD /Data conditionals (R/DataResource.java returnCachedValue, ChecksumParamConverter.java)', () => {
  let file: Entry;
  let lastModified: number;

  beforeAll(async () => {
    const done = await completed(await newGroup([...ids.keys()].slice(0, 3)), '?_type=Coverage');
    file = done.output[0]!;
    lastModified = Number((await raw(file.url, {}, 'HEAD')).headers['last-modified']);
  });
  const hex = () => file.extension[0]!.valueString!.replace('sha256:', '');

  it('If-None-Match: <hex> and <hex>--gzip → 304 (GET and HEAD); a quoted or other value → 200', async () => {
    for (const method of ['GET', 'HEAD'] as const) {
      expect((await raw(file.url, { 'If-None-Match': hex() }, method)).status).toBe(304);
      expect((await raw(file.url, { 'If-None-Match': `${hex()}--gzip` }, method)).status).toBe(304);
    }
    const notModified = await raw(file.url, { 'If-None-Match': `${hex()}--gzip` });
    expect(notModified.body.length).toBe(0);
    expect((await raw(file.url, { 'If-None-Match': `"${hex()}"` })).status).toBe(200);
    expect((await raw(file.url, { 'If-None-Match': '0'.repeat(64) })).status).toBe(200);
  });

  it('If-Modified-Since in epoch ms → 304 when the file is not newer; an HTTP date is ignored', async () => {
    expect(lastModified).toBeGreaterThan(0);
    expect((await raw(file.url, { 'If-Modified-Since': String(lastModified) })).status).toBe(304);
    expect((await raw(file.url, { 'If-Modified-Since': String(lastModified - 1) })).status).toBe(200);
    expect((await raw(file.url, { 'If-Modified-Since': new Date(lastModified + 86_400_000).toUTCString() })).status).toBe(200);
  });

  it('HEAD: Content-Length = file_length (the gzip size on disk), no body', async () => {
    const head = await raw(file.url, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(Number(head.headers['content-length'])).toBe(file.extension[1]!.valueDecimal);
    expect(head.headers['etag']).toBe(hex());
    expect(head.body.length).toBe(0);
  });
});

describe('response gzip (dpc-api application.yml server.gzip; Dropwizard minimumEntitySize 256)', () => {
  it('gzips a response of 256 bytes or more when the client accepts gzip, and not otherwise', async () => {
    const url = `${sb.baseUrl}/Organization`;
    const headers = { Authorization: `Bearer ${token}`, Accept: 'application/fhir+json' };
    const plain = await raw(url, { Accept: headers.Accept });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.length).toBeGreaterThanOrEqual(256);
    const gz = await raw(url, { Accept: headers.Accept, 'Accept-Encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.body).equals(plain.body)).toBe(true);
  });

  it('leaves a response under 256 bytes alone', async () => {
    const small = await raw(`${sb.baseUrl}/Token/7d1e3d1c-0000-4000-8000-000000000000`, { 'Accept-Encoding': 'gzip' });
    expect(small.status).toBe(404);
    expect(small.body.length).toBeLessThan(256);
    expect(small.headers['content-encoding']).toBeUndefined();
  });
});
