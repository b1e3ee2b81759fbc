/** Pure parts of the organization and patient updates and of server-side validation. */
import type * as fhir3 from 'fhir/r3.js';
import { describe, expect, it } from 'vitest';
import { applyOrganizationChanges } from '../../src/fhir/organization.js';
import { applyPatientChanges } from '../../src/fhir/patients.js';
import { outcomeErrors } from '../../src/fhir/server-validate.js';
import { organizationProblems } from '../../src/fhir/validate.js';

const NPI = 'http://hl7.org/fhir/sid/us-npi';
const org: fhir3.Organization = {
  resourceType: 'Organization', id: 'o1', identifier: [{ system: NPI, value: '1111112110' }], name: 'Clinic',
  address: [{ use: 'work', type: 'both', line: ['1 Main St'], city: 'Washington', state: 'DC', postalCode: '20008', country: 'US' }],
};

describe('applyOrganizationChanges', () => {
  it('changes the name and only the address fields given; leaves the input alone', () => {
    const next = applyOrganizationChanges(org, { name: 'New', city: 'Baltimore', addressLines: ['7500 Security Blvd', 'Suite 1'] });
    expect(next.name).toBe('New');
    expect(next.address).toEqual([{ ...org.address![0], city: 'Baltimore', line: ['7500 Security Blvd', 'Suite 1'] }]);
    expect(org.name).toBe('Clinic');
    expect(applyOrganizationChanges(org, {}).address).toBe(org.address);
  });

  it('an organization without an address gets use work and type both with the fields given', () => {
    const next = applyOrganizationChanges({ ...org, address: undefined }, { city: 'Baltimore' });
    expect(next.address).toEqual([{ use: 'work', type: 'both', city: 'Baltimore' }]);
  });
});

describe('organizationProblems (dpc-profile-organization, dpc-profile-address)', () => {
  it('names each missing or forbidden field', () => {
    expect(organizationProblems(org)).toEqual([]);
    expect(organizationProblems({ ...org, address: [] })).toEqual(['needs exactly one address (found 0)']);
    expect(organizationProblems({ ...org, identifier: [], address: [{ ...org.address![0], line: [], state: ' ', text: 'x' }] })).toEqual([
      `needs exactly one ${NPI} identifier (found 0)`,
      'address.state is required',
      'address.line is required',
      'address.text is not allowed by dpc-profile-address',
    ]);
  });

  it('reads a wrongly shaped file without throwing', () => {
    expect(organizationProblems({ resourceType: 'Organization', identifier: 'x', address: [null] } as unknown as fhir3.Organization)).toEqual([
      `needs exactly one ${NPI} identifier (found 0)`,
      'address must be an object',
    ]);
  });
});

describe('applyPatientChanges', () => {
  it('replaces the first name\'s given and family, the birth date and gender; other names stay', () => {
    const patient: fhir3.Patient = { resourceType: 'Patient', name: [{ family: 'Roe', given: ['Rick', 'R'] }, { family: 'Alias' }], gender: 'male', birthDate: '1950-01-01' };
    expect(applyPatientChanges(patient, { given: 'Ann', birthDate: '1950-01-02', gender: 'female' })).toEqual({
      resourceType: 'Patient', name: [{ family: 'Roe', given: ['Ann'] }, { family: 'Alias' }], gender: 'female', birthDate: '1950-01-02',
    });
  });
});

describe('outcomeErrors', () => {
  it('keeps error and fatal issues, text from details, diagnostics or code', () => {
    expect(outcomeErrors({
      resourceType: 'OperationOutcome',
      issue: [
        { severity: 'information', code: 'informational', diagnostics: 'No issues detected during validation' },
        { severity: 'error', code: 'invalid', details: { text: 'Patient.gender: minimum required = 1' } },
        { severity: 'fatal', code: 'exception', diagnostics: 'boom' },
        { severity: 'warning', code: 'invalid', diagnostics: 'meh' },
      ],
    })).toEqual(['Patient.gender: minimum required = 1', 'boom']);
  });
});
