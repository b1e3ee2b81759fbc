/**
 * Which check answers first when a request is wrong in several ways, over raw HTTP, as DPC's Jersey stack orders them:
 * 1. routing: 404/405, and for JSON resources (Token, Key, IpAddress, Jobs, Data) their @Consumes (415) then
 *    @Produces (406), before any filter;
 * 2. the auth filter (Priorities.AUTHENTICATION): 401, then its @PathAuthorizer lookup (another org's or an unknown
 *    Group/Patient/Practitioner → 404 "<type> not found"; another Organization → 401);
 * 3. FHIRRequestFilter (default priority): FHIR Accept/Content-Type (415);
 * 4. the method: X-Provenance, Prefer, _outputFormat, bodies.
 * DPC: dpc-api auth/filters/PathAuthorizationFilter.java, auth/macaroonauth/MacaroonsAuthenticator.java,
 * dpc-common fhir/dropwizard/features/FHIRRequestFeature.java, filters/FHIRRequestFilter.java.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxHandle } from '../../src/sandbox/index.js';
import { api, newOrg, outcomeText, rsaKey, seededRoster } from './helpers.js';

let sb: SandboxHandle;
let token: string;
let orgId: string;
let practitionerId: string;
let patientId: string;
let groupId: string;
/** A second organization, whose token must not reach the first one's resources. */
let otherToken: string;

const UNAUTHORIZED_TEXT = 'HTTP 401 Unauthorized, Credentials are required to access this resource.';
const BAD_ACCEPT = { Accept: 'application/json' };

/** DefaultFHIRExceptionHandler's shape: a 16-hex id, one fatal issue with details.text and no code. */
function expectFatal(body: unknown, text: string): void {
  expect(body).toEqual({ resourceType: 'OperationOutcome', id: expect.stringMatching(/^[0-9a-f]{16}$/), issue: [{ severity: 'fatal', details: { text } }] });
}

beforeAll(async () => {
  ({ sb, token, orgId, practitionerId, patientId, groupId } = await seededRoster());
  otherToken = (await newOrg(sb, rsaKey(1))).token;
});
afterAll(async () => sb?.close());

describe('FHIR resources: auth filter, then path authorizer, then media types', () => {
  it('no token and a non-FHIR Accept → 401 with the auth filter body, not 415', async () => {
    const res = await api(sb, undefined, '/Group', { headers: BAD_ACCEPT });
    expect(res.status).toBe(401);
    expect(outcomeText(await res.json())).toEqual([UNAUTHORIZED_TEXT]);
  });

  it("another org's Group, Patient or Practitioner with a bad Accept → 404 \"<type> not found\" (fatal OperationOutcome), not 415", async () => {
    for (const [path, type] of [[`/Group/${groupId}`, 'Group'], [`/Patient/${patientId}`, 'Patient'], [`/Practitioner/${practitionerId}`, 'Practitioner']]) {
      const res = await api(sb, otherToken, path!, { headers: BAD_ACCEPT });
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type')).toContain('application/fhir+json');
      expectFatal(await res.json(), `${type} not found`);
    }
  });

  it('an unknown id is the same 404 as a foreign one, also before the 501 of PUT /Practitioner', async () => {
    expectFatal(await (await api(sb, token, `/Group/${randomUUID()}`)).json(), 'Group not found');
    const put = await api(sb, token, `/Practitioner/${randomUUID()}`, { method: 'PUT', json: { resourceType: 'Practitioner' } });
    expect(put.status).toBe(404);
    // the own one gets as far as the method: a conforming body (the @Profiled check comes first, probes-3) → 501
    const conforming = { resourceType: 'Practitioner', identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '1232131239' }], name: [{ family: 'F', given: ['G'] }] };
    const own = await api(sb, token, `/Practitioner/${practitionerId}`, { method: 'PUT', json: conforming });
    expect(own.status).toBe(501);
  });

  it("another org's Organization with a bad Accept → 401 (validateOrganization), not 415", async () => {
    const res = await api(sb, otherToken, `/Organization/${orgId}`, { headers: BAD_ACCEPT });
    expect(res.status).toBe(401);
    expect(outcomeText(await res.json())).toEqual([UNAUTHORIZED_TEXT]);
  });

  it('own resource with a bad Accept → 415 with the FHIR filter message', async () => {
    const res = await api(sb, token, `/Group/${groupId}`, { headers: BAD_ACCEPT });
    expect(res.status).toBe(415);
    expectFatal(await res.json(), '`Accept:` header must specify valid FHIR content type');
  });

  it("$everything for another org's patient without X-Provenance → 404, not 400", async () => {
    const res = await api(sb, otherToken, `/Patient/${patientId}/$everything`);
    expect(res.status).toBe(404);
    expectFatal(await res.json(), 'Patient not found');
  });
});

describe('Group $export: 401, 404, 415, then Prefer (400)', () => {
  const kick = (bearer: string | undefined, group: string, headers: Record<string, string>) => api(sb, bearer, `/Group/${group}/$export`, { headers });

  it('no Prefer, no Accept, no token → 401', async () => {
    const res = await kick(undefined, groupId, { Accept: '' });
    expect(res.status).toBe(401);
    expect(outcomeText(await res.json())).toEqual([UNAUTHORIZED_TEXT]);
  });

  it("another org's group, no Prefer, wildcard Accept → 404", async () => {
    const res = await kick(otherToken, groupId, { Accept: '*/*' });
    expect(res.status).toBe(404);
    expectFatal(await res.json(), 'Group not found');
  });

  it('own group, no Prefer, wildcard Accept → 415; FHIR Accept, no Prefer → 400', async () => {
    const wildcard = await kick(token, groupId, { Accept: '*/*' });
    expect(wildcard.status).toBe(415);
    expectFatal(await wildcard.json(), '`Accept:` header must specify valid FHIR content type');
    const noPrefer = await kick(token, groupId, {});
    expect(noPrefer.status).toBe(400);
    expectFatal(await noPrefer.json(), "The 'Prefer' header must be 'respond-async'");
  });
});

describe('JSON resources: Jersey method matching (415, then 406) before the auth filter', () => {
  it('no token and a FHIR Accept on /Jobs → 406 {code, message}, not 401', async () => {
    const res = await fetch(`${sb.baseUrl}/Jobs/${randomUUID()}`, { headers: { Accept: 'application/fhir+json' } });
    expect(res.status).toBe(406);
    expect(await res.json()).toEqual({ code: 406, message: 'HTTP 406 Not Acceptable' });
  });

  it('no token, a text body on POST /Key → 415 before 401; with a bad Accept too, 415 still comes first', async () => {
    for (const accept of ['application/json', 'application/fhir+json']) {
      const res = await fetch(`${sb.baseUrl}/Key`, { method: 'POST', headers: { 'Content-Type': 'text/plain', Accept: accept }, body: 'key' });
      expect(res.status, accept).toBe(415);
      expect(await res.json()).toEqual({ code: 415, message: 'HTTP 415 Unsupported Media Type' });
    }
  });

  it('no token and acceptable headers → 401 with the auth filter body', async () => {
    const res = await fetch(`${sb.baseUrl}/Jobs/${randomUUID()}`, { headers: { Accept: 'application/json' } });
    expect(res.status).toBe(401);
    expect(outcomeText(await res.json())).toEqual([UNAUTHORIZED_TEXT]);
  });
});
