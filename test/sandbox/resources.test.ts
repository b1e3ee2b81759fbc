/** Practitioner, Patient and FHIR content negotiation over raw HTTP against a seeded sandbox (behaviour doc §0.1, §4.2, §4.3). */
import type * as fhir3 from 'fhir/r3.js';
import { statSync } from 'node:fs';
import { get as httpGet, type IncomingHttpHeaders } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { testKey } from '../keys.js';
import { api, outcomeText, seedToken } from './helpers.js';

let sb: SandboxHandle;
let token: string;

const NPI = 'http://hl7.org/fhir/sid/us-npi';
const MBI = 'http://hl7.org/fhir/sid/us-mbi';

beforeAll(async () => {
  sb = await startSandbox({ seed: true, seedKey: testKey(0), testMode: true });
  token = await seedToken(sb);
});
afterAll(async () => sb?.close());

const practitioner = (npi: string, family = 'Doe'): fhir3.Practitioner => ({
  resourceType: 'Practitioner', identifier: [{ system: NPI, value: npi }], name: [{ family, given: ['Jane'] }],
});
const patient = (mbi: string, extra: Partial<fhir3.Patient> = {}): fhir3.Patient => ({
  resourceType: 'Patient', identifier: [{ system: MBI, value: mbi }], name: [{ family: 'Roe', given: ['Rick'] }],
  gender: 'male', birthDate: '1950-01-01', ...extra,
});
const submit = (resources: fhir3.Resource[]): fhir3.Parameters => ({
  resourceType: 'Parameters', parameter: [{ name: 'resource', resource: { resourceType: 'Bundle', type: 'collection', entry: resources.map((resource) => ({ resource })) } as fhir3.Bundle }],
});
const get = async <T>(path: string) => (await (await api(sb, token, path)).json()) as T;

describe('seed', () => {
  it('registers an org with a 0600 private key and loads the sample practitioners and patients', async () => {
    // a sandbox of its own: the other tests add resources to the shared one
    const fresh = await startSandbox({ seed: true, seedKey: testKey(0) });
    try {
      expect(statSync(fresh.seed!.privateKeyPath).mode & 0o777).toBe(0o600);
      expect(fresh.seed!.orgNpi).toBe('1111112110');
      const freshToken = await seedToken(fresh);
      const total = async (path: string) => ((await (await api(fresh, freshToken, path)).json()) as fhir3.Bundle).total;
      expect(await total('/Practitioner')).toBe(4);
      expect(await total('/Patient')).toBe(100);
    } finally {
      await fresh.close();
    }
  });
});

describe('content negotiation on FHIR endpoints', () => {
  it('Accept: application/json → 415', async () => {
    const res = await api(sb, token, '/Patient', { headers: { Accept: 'application/json' } });
    expect(res.status).toBe(415);
    expect(outcomeText(await res.json())).toEqual(['`Accept:` header must specify valid FHIR content type']);
  });

  it('no Accept header is fine outside $export', async () => {
    const res = await fetch(`${sb.baseUrl}/Patient?_count=1`, { headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/fhir+json');
  });

  it('gzips larger responses only when asked (Accept-Encoding: gzip)', async () => {
    const fetchRaw = (encoding?: string) => new Promise<{ headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: 'application/fhir+json' };
      if (encoding) headers['Accept-Encoding'] = encoding;
      httpGet(`${sb.baseUrl}/Patient?_count=5`, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) })).on('error', reject);
      }).on('error', reject);
    });
    const zipped = await fetchRaw('gzip, deflate');
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect((JSON.parse(gunzipSync(zipped.body).toString()) as fhir3.Bundle).entry).toHaveLength(5);
    const plain = await fetchRaw();
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect((JSON.parse(plain.body.toString()) as fhir3.Bundle).entry).toHaveLength(5);
  });

  it('a non-FHIR Content-Type → 415', async () => {
    const res = await api(sb, token, '/Patient', { method: 'POST', body: JSON.stringify(patient('1S00E00AA99')), headers: { 'Content-Type': 'application/json' } });
    expect(res.status).toBe(415);
    expect(outcomeText(await res.json())).toEqual(['`Content-Type:` header must specify valid FHIR content type']);
  });
});

describe('Practitioner', () => {
  it('search by bare NPI only (system|NPI matches nothing)', async () => {
    expect((await get<fhir3.Bundle>('/Practitioner?identifier=1234329724')).total).toBe(1);
    expect((await get<fhir3.Bundle>(`/Practitioner?identifier=${encodeURIComponent(`${NPI}|1234329724`)}`)).total).toBe(0);
  });

  it('POST → 201 new with Location and the DPC profile in meta; same NPI again → 200 existing', async () => {
    const res = await api(sb, token, '/Practitioner', { method: 'POST', json: practitioner('1234567893') });
    expect(res.status).toBe(201);
    const created = (await res.json()) as fhir3.Practitioner;
    expect(res.headers.get('location')).toBe(`${sb.baseUrl}/Practitioner/${created.id}`);
    expect(Date.parse(res.headers.get('last-modified') ?? '')).not.toBeNaN();
    // the API tags the request with the org for attribution; the answer is attribution's converter output, untagged
    expect(created.meta).toEqual({ lastUpdated: expect.stringMatching(/\+00:00$/), profile: ['https://dpc.cms.gov/api/v1/StructureDefinition/dpc-profile-practitioner'] });
    const again = await api(sb, token, '/Practitioner', { method: 'POST', json: practitioner('1234567893', 'Other') });
    expect(again.status).toBe(200);
    expect(again.headers.get('location')).toBeNull();
    expect(((await again.json()) as fhir3.Practitioner).id).toBe(created.id);
  });

  it('an NPI failing the Luhn check (80840 prefix) → 422', async () => {
    const res = await api(sb, token, '/Practitioner', { method: 'POST', json: practitioner('1234567890') });
    expect(res.status).toBe(422);
    expect(outcomeText(await res.json())[0]).toContain('invalid NPI "1234567890"');
  });

  it('missing name.given → 422 with one issue per violation', async () => {
    const res = await api(sb, token, '/Practitioner', { method: 'POST', json: { ...practitioner('1234567893'), name: [{ family: 'X' }] } });
    expect(res.status).toBe(422);
    const body = (await res.json()) as fhir3.OperationOutcome;
    expect(body.issue).toEqual([{ severity: 'error', code: 'invalid', details: { text: 'Practitioner.name.given: minimum required = 1, but only found 0' } }]);
  });

  it('$submit → 200 collection of created + existing; one bad entry → 422 with its messages, nothing stored', async () => {
    const ok = await api(sb, token, '/Practitioner/$submit', { method: 'POST', json: submit([practitioner('1234329724'), practitioner('1003000126')]) });
    expect(ok.status).toBe(200);
    const bundle = (await ok.json()) as fhir3.Bundle;
    expect(bundle.type).toBe('collection');
    expect(bundle.entry).toHaveLength(2);
    const bad = await api(sb, token, '/Practitioner/$submit', { method: 'POST', json: submit([practitioner('1982746731'), practitioner('999')]) });
    expect(bad.status).toBe(422);
    expect(outcomeText(await bad.json())).toEqual(['Practitioner.identifier: invalid NPI "999"']);
    expect((await get<fhir3.Bundle>('/Practitioner?identifier=1982746731')).total).toBe(0);
  });

  it('GET by id, PUT → 501, DELETE → 200 then 404', async () => {
    // created here (or found: POST answers the existing one), so it does not depend on the $submit test
    const id = ((await (await api(sb, token, '/Practitioner', { method: 'POST', json: practitioner('1003000126') })).json()) as fhir3.Practitioner).id!;
    expect((await api(sb, token, `/Practitioner/${id}`)).status).toBe(200);
    const put = await api(sb, token, `/Practitioner/${id}`, { method: 'PUT', json: practitioner('1003000126') });
    expect(put.status).toBe(501);
    expect(outcomeText(await put.json())).toEqual(['Update Practitioner not yet implemented.']);
    expect((await api(sb, token, `/Practitioner/${id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await api(sb, token, `/Practitioner/${id}`)).status).toBe(404);
  });

  it('$validate → 200 OperationOutcome listing problems', async () => {
    const res = await api(sb, token, '/Practitioner/$validate', { method: 'POST', json: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: practitioner('1') }] } });
    expect(res.status).toBe(200);
    expect(outcomeText(await res.json())[0]).toContain('invalid NPI');
  });
});

describe('Patient', () => {
  it('search by bare MBI, system|MBI, case-insensitively; another system → 400', async () => {
    expect((await get<fhir3.Bundle>('/Patient?identifier=1S00E00AA01')).total).toBe(1);
    expect((await get<fhir3.Bundle>('/Patient?identifier=1s00e00aa01')).total).toBe(1);
    expect((await get<fhir3.Bundle>(`/Patient?identifier=${encodeURIComponent(`${MBI}|1S00E00AA01`)}`)).total).toBe(1);
    const res = await api(sb, token, `/Patient?identifier=${encodeURIComponent('http://example.org|1S00E00AA01')}`);
    expect(res.status).toBe(400);
    expect(outcomeText(await res.json())).toEqual(['Must have MBI identifier']);
  });

  it('paging: _count/_offset pages without total, absolute links, no next on the last page', async () => {
    const page = await get<fhir3.Bundle>('/Patient?_count=30&_offset=30');
    expect(page.entry).toHaveLength(30);
    expect(page.total).toBeUndefined();
    const links = Object.fromEntries((page.link ?? []).map((l) => [l.relation, l.url]));
    expect(links).toEqual({
      self: `${sb.baseUrl}/Patient?_count=30&_offset=30`,
      first: `${sb.baseUrl}/Patient?_count=30&_offset=0`,
      prev: `${sb.baseUrl}/Patient?_count=30&_offset=0`,
      next: `${sb.baseUrl}/Patient?_count=30&_offset=60`,
    });
    const last = await get<fhir3.Bundle>('/Patient?_count=30&_offset=90');
    expect(last.entry!.length).toBeGreaterThanOrEqual(10);
    expect((last.link ?? []).some((l) => l.relation === 'next')).toBe(false);
    const summary = await get<fhir3.Bundle>('/Patient?_count=0');
    expect(summary.entry).toBeUndefined();
    expect(summary.total).toBeGreaterThanOrEqual(100);
    expect((await api(sb, token, '/Patient?_count=-1')).status).toBe(400);
  });

  it('POST → 201 with MBI upper-cased and managingOrganization set; same MBI → 200', async () => {
    const res = await api(sb, token, '/Patient', { method: 'POST', json: patient('9a00a00aa00', { managingOrganization: { reference: 'Organization/x' } }) });
    expect(res.status).toBe(201);
    const created = (await res.json()) as fhir3.Patient;
    expect(created.identifier?.[0]?.value).toBe('9A00A00AA00');
    expect(created.managingOrganization?.reference).toBe(`Organization/${sb.seed!.orgId}`);
    expect(res.headers.get('location')).toBe(`${sb.baseUrl}/Patient/${created.id}`);
    const again = await api(sb, token, '/Patient', { method: 'POST', json: patient('9A00A00AA00') });
    expect(again.status).toBe(200);
    expect(again.headers.get('location')).toBeNull();
    expect(((await again.json()) as fhir3.Patient).id).toBe(created.id);
  });

  it('an MBI not matching the regex → 422; missing birthDate → 422', async () => {
    const bad = await api(sb, token, '/Patient', { method: 'POST', json: patient('ABC') });
    expect(bad.status).toBe(422);
    expect(outcomeText(await bad.json())[0]).toContain('invalid MBI "ABC"');
    const noBirth = patient('9A00A00AA01');
    delete noBirth.birthDate;
    expect((await api(sb, token, '/Patient', { method: 'POST', json: noBirth })).status).toBe(422);
  });

  it('$submit is all-or-nothing', async () => {
    const bad = await api(sb, token, '/Patient/$submit', { method: 'POST', json: submit([patient('9A00A00AA02'), patient('nope')]) });
    expect(bad.status).toBe(422);
    expect(outcomeText(await bad.json())).toEqual(['Patient.identifier: invalid MBI "nope"']);
    expect((await get<fhir3.Bundle>('/Patient?identifier=9A00A00AA02')).total).toBe(0);
    const ok = await api(sb, token, '/Patient/$submit', { method: 'POST', json: submit([patient('9A00A00AA02'), patient('1S00E00AA01')]) });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as fhir3.Bundle).entry).toHaveLength(2);
  });

  it('GET by id, PUT updates names/birthDate/gender, DELETE → 200 then 404', async () => {
    // created here (or found: POST answers the existing one), so it does not depend on the $submit test
    const id = ((await (await api(sb, token, '/Patient', { method: 'POST', json: patient('9A00A00AA02') })).json()) as fhir3.Patient).id!;
    const put = await api(sb, token, `/Patient/${id}`, { method: 'PUT', json: patient('9A00A00AA02', { birthDate: '1960-02-02', name: [{ family: 'New', given: ['Name'] }] }) });
    expect(put.status).toBe(200);
    expect(((await put.json()) as fhir3.Patient).birthDate).toBe('1960-02-02');
    expect((await api(sb, token, `/Patient/${id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await api(sb, token, `/Patient/${id}`)).status).toBe(404);
  });

  it('$validate → 200 information when clean', async () => {
    const res = await api(sb, token, '/Patient/$validate', { method: 'POST', json: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: patient('1S00E00AA01') }] } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as fhir3.OperationOutcome).issue[0]?.severity).toBe('information');
  });
});
