/**
 * One patient's data over raw HTTP (behaviour doc §11.1, §11.2; DPC: R/PatientResource.java `everything`, `export`):
 * X-Provenance required, synchronous searchset Bundle or 403 OperationOutcome, `_since`, `Prefer: respond-async`
 * jobs, `_outputFormat` required on Patient/{id}/$export, and no type-level /Patient/$export.
 */
import type * as fhir3 from 'fhir/r3.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patientFailure } from '../../src/sandbox/export/outcomes.js';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { testKey } from '../keys.js';
import { api, newOrg, outcomeText, provenance, rsaKey, seedToken } from './helpers.js';

let sb: SandboxHandle;
let token: string;
let orgId: string;
let practitionerId: string;
let good: fhir3.Patient;
let failing: fhir3.Patient;

const mbiOf = (p: fhir3.Patient) => p.identifier!.find((i) => i.system === 'http://hl7.org/fhir/sid/us-mbi')!.value!;
const get = async <T>(path: string) => (await (await api(sb, token, path)).json()) as T;
const attested = () => ({ 'X-Provenance': provenance(orgId, practitionerId) });
const everything = (patient: fhir3.Patient, query = '', headers: Record<string, string> = attested()) =>
  api(sb, token, `/Patient/${patient.id}/$everything${query}`, { headers });
const exportPatient = (patient: fhir3.Patient, query: string, headers: Record<string, string> = { ...attested(), Prefer: 'respond-async' }) =>
  api(sb, token, `/Patient/${patient.id}/$export${query}`, { headers });

beforeAll(async () => {
  sb = await startSandbox({ seed: true, seedKey: testKey(0), testMode: true, jobDurationMs: 0 });
  token = await seedToken(sb);
  orgId = sb.seed!.orgId;
  practitionerId = (await get<fhir3.Bundle<fhir3.Practitioner>>('/Practitioner?identifier=1232131239')).entry![0]!.resource!.id!;
  const patients = (await get<fhir3.Bundle<fhir3.Patient>>('/Patient')).entry!.map((e) => e.resource!);
  good = patients.find((p) => patientFailure(mbiOf(p)) === undefined)!;
  failing = patients.find((p) => patientFailure(mbiOf(p)) !== undefined)!;
});
afterAll(async () => sb?.close());

/** Polls a job (sandbox jobs with jobDurationMs 0 finish as soon as their files exist). */
async function completion(location: string): Promise<{ request: string; output: Array<{ type: string; count: number }>; error: unknown[] }> {
  for (;;) {
    const res = await fetch(location, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' } });
    if (res.status === 200) return (await res.json()) as never;
    expect(res.status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('GET /Patient/{id}/$everything', () => {
  it('synchronous: 200 searchset Bundle with an id and total, the patient then claims then coverage', async () => {
    const res = await everything(good);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/fhir+json');
    const bundle = (await res.json()) as fhir3.Bundle;
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
    expect(bundle.id).toMatch(/^[0-9a-f-]{36}$/);
    const types = bundle.entry!.map((e) => e.resource!.resourceType);
    expect(bundle.total).toBe(types.length);
    expect(types[0]).toBe('Patient');
    expect(types.filter((t) => t === 'Patient')).toHaveLength(1);
    expect(types.filter((t) => t === 'ExplanationOfBenefit').length).toBeGreaterThan(0);
    expect(types.filter((t) => t === 'Coverage').length).toBeGreaterThan(0);
    expect(types.join(',')).toMatch(/^Patient(,ExplanationOfBenefit)+(,Coverage)+$/);
    const patient = bundle.entry![0]!.resource as fhir3.Patient;
    expect(mbiOf(patient)).toBe(mbiOf(good));
  });

  it('X-Provenance: missing → 400, off-profile → 422, a practitioner that does not exist → 404', async () => {
    const missing = await everything(good, '', {});
    expect(missing.status).toBe(400);
    expect(outcomeText(await missing.json())).toEqual(['Must have X-Provenance header']);
    const offProfile = await everything(good, '', { 'X-Provenance': provenance(orgId, practitionerId, { reason: [{ system: 'http://hl7.org/fhir/v3/ActReason', code: 'OOPS' }] }) });
    expect(offProfile.status).toBe(422);
    const unknown = await everything(good, '', { 'X-Provenance': provenance(orgId, '00000000-0000-4000-8000-000000000000') });
    expect(unknown.status).toBe(404);
  });

  it('a patient whose data DPC will not release → 403 with the OperationOutcome (reason and location)', async () => {
    const res = await everything(failing);
    expect(res.status).toBe(403);
    const outcome = (await res.json()) as fhir3.OperationOutcome;
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.id).toMatch(/^[0-9a-f]{16}$/); // HAPIExceptionHandler sets the log id
    const mbi = mbiOf(failing);
    expect(outcomeText(outcome)).toEqual([patientFailure(mbi)!.text]);
    expect(outcome.issue[0]!.location).toHaveLength(3);
  });

  it("another organization's patient → 404 (path authorization comes first)", async () => {
    const other = await newOrg(sb, rsaKey(1));
    const res = await api(sb, other.token, `/Patient/${good.id}/$everything`, { headers: attested() });
    expect(res.status).toBe(404);
  });

  it('_since: only resources updated after it; at now → an empty Bundle; malformed or future → 400', async () => {
    const all = (await (await everything(good)).json()) as fhir3.Bundle;
    const stamps = all.entry!.map((e) => Date.parse(e.resource!.meta!.lastUpdated!)).sort((a, b) => a - b);
    const middle = new Date(stamps[Math.floor(stamps.length / 2)]!).toISOString();
    const some = (await (await everything(good, `?_since=${encodeURIComponent(middle)}`)).json()) as fhir3.Bundle;
    expect(some.total).toBeGreaterThan(0);
    expect(some.total).toBeLessThan(all.total!);
    for (const e of some.entry!) expect(Date.parse(e.resource!.meta!.lastUpdated!)).toBeGreaterThan(Date.parse(middle));
    const none = (await (await everything(good, `?_since=${encodeURIComponent(new Date(sb.clock.now()).toISOString())}`)).json()) as fhir3.Bundle;
    expect(none.total).toBe(0);
    expect((await everything(good, '?_since=yesterday')).status).toBe(400);
    expect((await everything(good, `?_since=${encodeURIComponent(new Date(sb.clock.now() + 86_400_000).toISOString())}`)).status).toBe(400);
  });

  it('Prefer: respond-async → 202 + Content-Location to a job of the three types', async () => {
    const res = await everything(good, '', { ...attested(), Prefer: 'respond-async' });
    expect(res.status).toBe(202);
    const location = res.headers.get('content-location')!;
    expect(location).toMatch(new RegExp(`^${sb.baseUrl}/Jobs/[0-9a-f-]{36}$`));
    const done = await completion(location);
    expect(done.output.map((o) => o.type).sort()).toEqual(['Coverage', 'ExplanationOfBenefit', 'Patient']);
    expect(done.request).toBe(`${sb.baseUrl}/Patient/${good.id}/$everything`);
  });
});

describe('$everything timing out upstream (fault everythingTimeout)', () => {
  it("504 from the gateway (HTML, not FHIR), for the next `count` synchronous requests only", async () => {
    sb.faults.set({ everythingTimeout: { count: 1 } });
    try {
      const res = await everything(good);
      expect(res.status).toBe(504);
      expect(res.headers.get('content-type')).toBe('text/html');
      expect(await res.text()).toContain('504 Gateway Time-out');
      expect((await everything(good)).status).toBe(200);
    } finally {
      sb.faults.clear();
    }
  });

  it('status 500: DPC\'s own answer when the job outlasts its wait, a fatal OperationOutcome "Failed to retrieve data"', async () => {
    sb.faults.set({ everythingTimeout: { count: 1, status: 500 } });
    try {
      const res = await everything(good);
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({
        resourceType: 'OperationOutcome', id: expect.stringMatching(/^[0-9a-f]{16}$/), issue: [{ severity: 'fatal', details: { text: 'Failed to retrieve data' } }],
      });
    } finally {
      sb.faults.clear();
    }
  });

  it('only after the request checks (a missing X-Provenance is still 400), and a job (respond-async) is not affected', async () => {
    sb.faults.set({ everythingTimeout: { count: 2 } });
    try {
      expect((await everything(good, '', {})).status).toBe(400);
      expect((await everything(good, '', { ...attested(), Prefer: 'respond-async' })).status).toBe(202);
      expect((await everything(good)).status).toBe(504);
    } finally {
      sb.faults.clear();
    }
  });
});

describe('GET /Patient/{id}/$export', () => {
  const FORMAT = '_outputFormat=application%2Ffhir%2Bndjson';

  it('202 + Content-Location; _type narrows the job', async () => {
    const res = await exportPatient(good, `?${FORMAT}&_type=Patient,Coverage`);
    expect(res.status).toBe(202);
    const done = await completion(res.headers.get('content-location')!);
    expect(done.output.map((o) => o.type).sort()).toEqual(['Coverage', 'Patient']);
    expect(done.request).toBe(`${sb.baseUrl}/Patient/${good.id}/$export${FORMAT}&_type=Patient,Coverage`);
  });

  it('_outputFormat is required (no default here); then Prefer must be respond-async; _type is checked before both', async () => {
    const noFormat = await exportPatient(good, '');
    expect(noFormat.status).toBe(400);
    expect(outcomeText(await noFormat.json())[0]).toMatch(/^'_outputFormat' query parameter must be/);
    const noPrefer = await exportPatient(good, `?${FORMAT}`, attested());
    expect(noPrefer.status).toBe(400);
    expect(outcomeText(await noPrefer.json())).toEqual(["The 'Prefer' header must be 'respond-async'"]);
    const badType = await exportPatient(good, '?_type=Claim', attested());
    expect(badType.status).toBe(400);
    expect(outcomeText(await badType.json())).toEqual(["Unsupported resource name in the '_type' query parameter: Claim"]);
  });

  it('X-Provenance is required (400); the FHIR Accept header must be explicit on $export (415)', async () => {
    const res = await exportPatient(good, `?${FORMAT}`, { Prefer: 'respond-async' });
    expect(res.status).toBe(400);
    expect(outcomeText(await res.json())).toEqual(['Must have X-Provenance header']);
    const wildcard = await exportPatient(good, `?${FORMAT}`, { ...attested(), Prefer: 'respond-async', Accept: '*/*' });
    expect(wildcard.status).toBe(415);
  });

  it('there is no type-level /Patient/$export (nor system-level /$export): not found', async () => {
    const typeLevel = await api(sb, token, `/Patient/$export?${FORMAT}`, { headers: { Prefer: 'respond-async' } });
    expect(typeLevel.status).toBe(404);
    const systemLevel = await api(sb, token, `/$export?${FORMAT}`, { headers: { Prefer: 'respond-async' } });
    expect(systemLevel.status).toBe(404);
  });
});
