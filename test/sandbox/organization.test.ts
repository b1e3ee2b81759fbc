/**
 * `GET|PUT /Organization/{id}` and `$validate` storing nothing, over raw HTTP (behaviour doc §11.4; DPC:
 * R/OrganizationResource.java updateOrganization, MacaroonsAuthenticator.validateOrganization, DPCOrganization.json,
 * DPCAddress.json).
 */
import type * as fhir3 from 'fhir/r3.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { testKey } from '../keys.js';
import { api, newOrg, outcomeText, rsaKey, seedToken } from './helpers.js';

let sb: SandboxHandle;
let token: string;
let orgId: string;

const NPI = 'http://hl7.org/fhir/sid/us-npi';
const address: fhir3.Address = { use: 'work', type: 'both', line: ['7500 Security Blvd'], city: 'Baltimore', state: 'MD', postalCode: '21244', country: 'US' };
const organization = (extra: Partial<fhir3.Organization> = {}): fhir3.Organization => ({
  resourceType: 'Organization', id: orgId, identifier: [{ system: NPI, value: '1111112110' }], name: 'Renamed Clinic', address: [address], ...extra,
});
const put = (id: string, body: unknown, t = token) => api(sb, t, `/Organization/${id}`, { method: 'PUT', json: body });

beforeAll(async () => {
  sb = await startSandbox({ seed: true, seedKey: testKey(0), testMode: true });
  token = await seedToken(sb);
  orgId = sb.seed!.orgId;
});
afterAll(async () => sb?.close());

describe('PUT /Organization/{id}', () => {
  it('own organization → 200 with the updated resource; GET /Organization/{id} and GET /Organization show it', async () => {
    const res = await put(orgId, organization());
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ resourceType: 'Organization', id: orgId, name: 'Renamed Clinic', address: [address] });
    const read = (await (await api(sb, token, `/Organization/${orgId}`)).json()) as fhir3.Organization;
    expect(read.address).toEqual([address]);
    const bundle = (await (await api(sb, token, '/Organization')).json()) as fhir3.Bundle<fhir3.Organization>;
    expect(bundle.entry![0]!.resource!.name).toBe('Renamed Clinic');
  });

  it("another organization's id → 401 with the auth filter's body, before the body is looked at", async () => {
    const other = await newOrg(sb, rsaKey(1));
    const res = await put(orgId, { not: 'even a resource' }, other.token);
    expect(res.status).toBe(401);
    expect(outcomeText(await res.json())).toEqual(['HTTP 401 Unauthorized, Credentials are required to access this resource.']);
    expect((await api(sb, other.token, `/Organization/${orgId}`)).status).toBe(401);
  });

  it('profile-checked: no address → 422; an incomplete address or one with text → 422 per violation; nothing changes', async () => {
    const before = (await (await api(sb, token, `/Organization/${orgId}`)).json()) as fhir3.Organization;
    const noAddress = await put(orgId, organization({ address: undefined, name: 'Not Applied' }));
    expect(noAddress.status).toBe(422);
    expect(outcomeText(await noAddress.json())).toEqual(['Organization.address: expected exactly 1, found 0']);
    const partial = await put(orgId, organization({ address: [{ ...address, city: undefined, text: '7500 Security Blvd, Baltimore' }] }));
    expect(partial.status).toBe(422);
    expect(outcomeText(await partial.json())).toEqual([
      'Organization.address.city: minimum required = 1, but only found 0',
      'Organization.address.text: maximum allowed = 0, but found 1',
    ]);
    const noNpi = await put(orgId, organization({ identifier: [] }));
    expect(noNpi.status).toBe(422);
    expect(await (await api(sb, token, `/Organization/${orgId}`)).json()).toEqual(before);
  });
});

describe('$validate stores nothing', () => {
  it('a conforming new Patient → 200 OperationOutcome, and no such patient afterwards', async () => {
    const patient: fhir3.Patient = {
      resourceType: 'Patient', identifier: [{ system: 'http://hl7.org/fhir/sid/us-mbi', value: '7SA9A99AA97' }],
      name: [{ family: 'Roe', given: ['Rick'] }], gender: 'male', birthDate: '1950-01-01',
    };
    const res = await api(sb, token, '/Patient/$validate', { method: 'POST', json: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: patient }] } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as fhir3.OperationOutcome).resourceType).toBe('OperationOutcome');
    const found = (await (await api(sb, token, '/Patient?identifier=7SA9A99AA97')).json()) as fhir3.Bundle;
    expect(found.total).toBe(0);
  });
});
