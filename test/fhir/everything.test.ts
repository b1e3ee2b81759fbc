/** Pure parts of the point-of-care and one-patient export code: the summary, kick-off paths and queries, IP checks. */
import type * as fhir3 from 'fhir/r3.js';
import { describe, expect, it } from 'vitest';
import { ipAddressProblem } from '../../src/auth/ip-addresses.js';
import { kickoffPath, kickoffQuery } from '../../src/export/job.js';
import { emptyEverythingSummary, summariseEverything, tallyResource } from '../../src/fhir/everything.js';

const eob = (start?: string, end?: string): fhir3.ExplanationOfBenefit =>
  ({ resourceType: 'ExplanationOfBenefit', ...(start || end ? { billablePeriod: { start, end } } : {}) }) as fhir3.ExplanationOfBenefit;

describe('summariseEverything', () => {
  it('counts types and claims, takes the MBI of the Patient, and spans the claims\' billable periods by day', () => {
    const bundle: fhir3.Bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: [
        { resource: { resourceType: 'Patient', identifier: [{ system: 'http://hl7.org/fhir/sid/us-mbi', value: '1s00e00aa01' }] } as fhir3.Patient },
        { resource: eob('2024-03-02', '2024-03-05') },
        { resource: eob('2023-11-20T10:00:00Z') },
        { resource: eob(undefined, '2025-01-09') },
        { resource: eob() },
        { resource: { resourceType: 'Coverage' } as fhir3.Coverage },
      ],
    };
    expect(summariseEverything(bundle)).toEqual({
      mbi: '1S00E00AA01',
      types: { Patient: 1, ExplanationOfBenefit: 4, Coverage: 1 },
      claims: 4,
      firstClaim: '2023-11-20',
      lastClaim: '2025-01-09',
    });
  });

  it('an empty Bundle has no claims and no range; tallying does not change its input', () => {
    expect(summariseEverything({ resourceType: 'Bundle', type: 'searchset' })).toEqual({ types: {}, claims: 0 });
    const before = emptyEverythingSummary();
    tallyResource(before, eob('2024-01-01'));
    expect(before).toEqual({ types: {}, claims: 0 });
  });
});

describe('one-patient kick-off', () => {
  it('Patient/{id}/$export sends _type, _since and the required _outputFormat', () => {
    const scope = { level: 'one-patient', patientId: 'a b', operation: '$export' } as const;
    expect(kickoffPath(scope)).toBe('/Patient/a%20b/$export');
    expect(kickoffQuery({ scope, types: ['Patient'], since: '2025-01-01T00:00:00Z' })).toEqual({
      _type: 'Patient',
      _since: '2025-01-01T00:00:00Z',
      _outputFormat: 'application/fhir+ndjson',
    });
  });

  it('Patient/{id}/$everything as a job sends only _since (DPC reads nothing else)', () => {
    const scope = { level: 'one-patient', patientId: 'p1', operation: '$everything' } as const;
    expect(kickoffPath(scope)).toBe('/Patient/p1/$everything');
    expect(kickoffQuery({ scope, types: ['Patient'], since: '2025-01-01T00:00:00Z' })).toEqual({ _since: '2025-01-01T00:00:00Z' });
  });
});

describe('ipAddressProblem', () => {
  it('accepts single IPv4 and IPv6 addresses and names what is wrong otherwise', () => {
    expect(ipAddressProblem('203.0.113.7')).toBeUndefined();
    expect(ipAddressProblem('2001:db8::1')).toBeUndefined();
    expect(ipAddressProblem('203.0.113.256')).toBe('"203.0.113.256" is not an IPv4 or IPv6 address');
    expect(ipAddressProblem('example.org')).toBe('"example.org" is not an IPv4 or IPv6 address');
    expect(ipAddressProblem('203.0.113.0/24')).toBe('"203.0.113.0/24" is a range; DPC takes single addresses');
  });
});
