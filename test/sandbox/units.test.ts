/** Pure pieces of the sandbox, without a network: macaroons, credentials, roster maths, negotiation, profile checks. */
import type * as fhir3 from 'fhir/r3.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { clientTokenOrg, mintAccessToken, mintClientToken, verifyAccessToken, verifyClientToken } from '../../src/sandbox/credentials.js';
import { addFirstParty, deserialize, mint, serialize, verify } from '../../src/sandbox/macaroon.js';
import { acceptsAny, checkFhirHeaders } from '../../src/sandbox/negotiation.js';
import { isValidNpi, matchesMbiPattern as isValidMbi } from '../../src/shared/identifiers.js';
import { patientMbi } from '../../src/sandbox/profiles.js';
import { addMembers, ATTRIBUTION_MS, removeMembers, rosterSizeAfterAdd, visibleMembers } from '../../src/sandbox/roster.js';
import { pagedBundle } from '../../src/sandbox/routes/patient.js';

const DAY = 24 * 3600 * 1000;

describe('macaroons', () => {
  const key = randomBytes(32);

  it('round-trip through the padded base64url V2 JSON form', () => {
    const m = addFirstParty(mint(key, 'loc', 'id-1'), 'a = b');
    const token = serialize([m]);
    expect(token).toMatch(/^W3[A-Za-z0-9_-]*=*$/);
    expect(token.length % 4).toBe(0);
    const [back] = deserialize(token);
    expect(back!.identifier).toBe('id-1');
    expect(verify(back!, key, [], (c) => c === 'a = b')).toBe(true);
    expect(verify(back!, randomBytes(32), [], () => true)).toBe(false);
    expect(verify(back!, key, [], () => false)).toBe(false);
  });

  it('client tokens need their local discharge: valid as client token, never as access token', () => {
    const orgId = randomUUID();
    const now = Date.now();
    const client = mintClientToken(key, randomUUID(), orgId, now);
    expect(clientTokenOrg(client)).toBe(orgId);
    expect(verifyClientToken(key, client, now)?.orgId).toBe(orgId);
    expect(verifyAccessToken(key, client, now)).toBeUndefined();
    const access = mintAccessToken(key, client, now);
    expect(verifyAccessToken(key, access, now + 299_000)?.orgId).toBe(orgId);
    expect(verifyAccessToken(key, access, now + 300_000)).toBeUndefined();
    expect(verifyAccessToken(randomBytes(32), access, now)).toBeUndefined();
  });
});

describe('roster maths', () => {
  const t0 = Date.UTC(2026, 0, 1);
  const member = (patientId: string, start: number, inactive = false) => ({ patientId, start, end: start + ATTRIBUTION_MS, inactive });

  it('$add keeps the start of active members, resets it for inactive ones, renews both', () => {
    const now = t0 + 30 * DAY;
    const out = addMembers([member('a', t0), member('b', t0, true)], ['a', 'b', 'c'], now);
    expect(out).toEqual([
      { patientId: 'a', start: t0, end: now + ATTRIBUTION_MS, inactive: false },
      { patientId: 'b', start: now, end: now + ATTRIBUTION_MS, inactive: false },
      { patientId: 'c', start: now, end: now + ATTRIBUTION_MS, inactive: false },
    ]);
  });

  it('$remove refuses non-members and sets end = now', () => {
    expect(removeMembers([member('a', t0)], ['x'], t0)).toBeUndefined();
    expect(removeMembers([member('a', t0)], ['a'], t0 + DAY)).toEqual([{ patientId: 'a', start: t0, end: t0 + DAY, inactive: true }]);
  });

  it('expiry is computed on read; long-expired relationships disappear after ~6 months', () => {
    const members = [member('a', t0)];
    expect(visibleMembers(members, t0 + 89 * DAY)[0]!.inactive).toBe(false);
    expect(visibleMembers(members, t0 + 90 * DAY)[0]!.inactive).toBe(true);
    expect(visibleMembers(members, t0 + 90 * DAY + 200 * DAY)).toEqual([]);
  });

  it('$add counts existing members, inactive included, plus new ones', () => {
    expect(rosterSizeAfterAdd([member('a', t0, true), member('b', t0)], ['b', 'c'])).toBe(3);
  });
});

describe('negotiation', () => {
  it('FHIR endpoints: wildcards pass except on $export; application/json → 415', () => {
    expect(() => checkFhirHeaders(undefined, undefined, false)).not.toThrow();
    expect(() => checkFhirHeaders('*/*', undefined, true)).toThrow(/Accept/);
    expect(() => checkFhirHeaders('application/fhir+json;q=0.9', undefined, true)).not.toThrow();
    // DPC: FHIRRequestFilter — compatible (application/* is) and, on $export, no */* among the ranges
    expect(() => checkFhirHeaders('application/*', undefined, true)).not.toThrow();
    expect(() => checkFhirHeaders('application/fhir+json, */*;q=0.1', undefined, true)).toThrow(/Accept/);
    expect(() => checkFhirHeaders('application/fhir+json, */*;q=0.1', undefined, false)).not.toThrow();
    expect(() => checkFhirHeaders('application/json', undefined, false)).toThrow(/Accept/);
    expect(() => checkFhirHeaders(undefined, 'application/json', false)).toThrow(/Content-Type/);
    expect(() => checkFhirHeaders(undefined, 'application/fhir+json; charset=utf-8', false)).not.toThrow();
  });

  it('JSON endpoints: fhir+json is not acceptable', () => {
    expect(acceptsAny('application/fhir+json', ['application/json'])).toBe(false);
    expect(acceptsAny('application/*', ['application/json'])).toBe(true);
  });
});

describe('profiles', () => {
  it('NPI: 10 digits passing Luhn with the 80840 prefix', () => {
    expect(['1234329724', '1232131239', '2323232225', '1111112110'].every(isValidNpi)).toBe(true);
    expect(isValidNpi('1234567890')).toBe(false);
    expect(isValidNpi('123456789')).toBe(false);
  });

  it('MBI regex; the current MBI wins when there are several', () => {
    expect(isValidMbi('1S00E00AA01')).toBe(true);
    expect(isValidMbi('1S00E00AA0')).toBe(false);
    expect(isValidMbi('SS00E00AA01')).toBe(false);
    const currency = 'https://bluebutton.cms.gov/resources/codesystem/identifier-currency';
    expect(patientMbi({
      resourceType: 'Patient',
      identifier: [
        { system: 'http://hl7.org/fhir/sid/us-mbi', value: '1S00E00AA01', extension: [{ url: currency, valueCoding: { code: 'historic' } }] },
        { system: 'http://hl7.org/fhir/sid/us-mbi', value: '1S00E00AA02', extension: [{ url: currency, valueCoding: { code: 'current' } }] },
      ],
    })).toBe('1S00E00AA02');
  });
});

describe('patient paging', () => {
  const all = Array.from({ length: 5 }, (_, i) => ({ resourceType: 'Patient', id: `p${i}` }) as fhir3.Patient);

  it('no _count: everything with total; _count=0: total only; pages have no total', () => {
    expect(pagedBundle('http://x/api/v1', all, undefined, 0).total).toBe(5);
    expect(pagedBundle('http://x/api/v1', all, 0, 0)).toEqual({ resourceType: 'Bundle', type: 'searchset', total: 5 });
    const page = pagedBundle('http://x/api/v1', all, 2, 4);
    expect(page.total).toBeUndefined();
    expect(page.entry).toHaveLength(1);
    expect(page.link?.map((l) => l.relation)).toEqual(['self', 'first', 'prev']);
  });
});
