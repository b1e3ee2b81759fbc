import type * as fhir3 from 'fhir/r3.js';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { attestationFromJson, buildAttestation } from '../../src/fhir/provenance.js';
import { attributedNpi, buildGroup, mbiOf, memberPatientId, npiOf, resourcesOfType, submitParameters } from '../../src/fhir/resources.js';
import { isDpcError } from '../../src/errors.js';

describe('X-Provenance attestation', () => {
  it('is the exact single-line Provenance DPC documents', () => {
    const header = buildAttestation({ orgId: 'org-1', practitionerId: 'pr-1', recorded: Date.parse('2024-10-25T18:39:41.042Z') });
    expect(header).not.toMatch(/\n/);
    expect(header).toBe(
      '{"resourceType":"Provenance","meta":{"profile":["https://dpc.cms.gov/api/v1/StructureDefinition/dpc-profile-attestation"]},' +
        '"recorded":"2024-10-25T18:39:41.042Z","reason":[{"system":"http://hl7.org/fhir/v3/ActReason","code":"TREAT"}],' +
        '"agent":[{"role":[{"coding":[{"system":"http://hl7.org/fhir/v3/RoleClass","code":"AGNT"}]}],' +
        '"whoReference":{"reference":"Organization/org-1"},"onBehalfOfReference":{"reference":"Practitioner/pr-1"}}]}',
    );
  });
  it('takes a user file on one line and refuses what is not a Provenance', () => {
    const pretty = JSON.stringify(JSON.parse(buildAttestation({ orgId: 'o', practitionerId: 'p', recorded: 0 })), null, 2);
    expect(attestationFromJson(pretty, 'prov.json')).not.toMatch(/\n/);
    expect(() => attestationFromJson('{"resourceType":"Patient"}', 'prov.json')).toThrow(/prov.json: expected a Provenance/);
    expect(() => attestationFromJson('{', 'prov.json')).toThrow(/prov.json: not valid JSON/);
  });
});

describe('resource shapes', () => {
  it('reads the published practitioner and patient bundles', () => {
    const providers = resourcesOfType<fhir3.Practitioner>(JSON.parse(readFileSync('samples/provider_bundle.json', 'utf8')), 'Practitioner', 'provider_bundle.json');
    expect(providers.map(npiOf)).toEqual(['1234329724', '1232131239', '1232125215', '2323232225']);
    const patients = resourcesOfType<fhir3.Patient>(JSON.parse(readFileSync('samples/patient_bundle-dpr.json', 'utf8')), 'Patient', 'p.json');
    expect(patients).toHaveLength(100);
    expect(mbiOf(patients[0]!)).toBe('1S00E00FZ00');
  });
  it('rejects a file without the resources', () => {
    try {
      resourcesOfType({ resourceType: 'Bundle', entry: [] }, 'Patient', 'empty.json');
      expect.unreachable();
    } catch (err) {
      expect(isDpcError(err, 'ERR_INPUT')).toBe(true);
      expect((err as Error).message).toMatch(/^empty.json: no Patient resources/);
    }
  });
  it('rejects wrongly typed fields where the file enters, naming entry and field path, instead of a TypeError later', () => {
    const patient = { resourceType: 'Patient', identifier: [{ system: 'http://hl7.org/fhir/sid/us-mbi', value: '1S00E00AA01' }], name: [{ family: 'Lee', given: ['Ann'] }], gender: 'female', birthDate: '1950-01-02' };
    const bundle = (...entries: unknown[]) => ({ resourceType: 'Bundle', entry: entries });
    const cases: Array<[unknown, string]> = [
      [bundle({ resource: patient }, { resource: { ...patient, name: [{ family: 'Lee', given: 'Ann' }] } }), 'p.json: entry 2 (Patient): name.given must be an array, got a string'],
      [bundle({ resource: { ...patient, identifier: [null] } }), 'p.json: entry 1 (Patient): identifier[0] must be an object, got null'],
      [bundle({ resource: { ...patient, identifier: [patient.identifier[0], { system: 'x', value: 7 }] } }), 'p.json: entry 1 (Patient): identifier[1].value must be a string, got a number'],
      [bundle({ resource: { ...patient, birthDate: 19500102 } }), 'p.json: entry 1 (Patient): birthDate must be a string, got a number'],
      [bundle({ resource: patient }, null), 'p.json: entry 2 must be an object, got null'],
      [bundle({ resource: { resourceType: 'Practitioner' } }), 'p.json: entry 1 is a Practitioner, expected a Patient'],
      [{ resourceType: 'Bundle', entry: { resource: patient } }, 'p.json: Bundle.entry must be an array, got an object'],
      [{ ...patient, gender: ['female'] }, 'p.json: entry 1 (Patient): gender must be a string, got an array'],
    ];
    for (const [json, detail] of cases) {
      try {
        resourcesOfType(json, 'Patient', 'p.json');
        expect.unreachable();
      } catch (err) {
        expect(isDpcError(err, 'ERR_INPUT')).toBe(true);
        // one problem: the error line is the problem itself, no summary and no detail lines
        expect((err as Error).message).toBe(`${detail}; nothing was sent`);
        expect((err as { details?: string[] }).details ?? []).toEqual([]);
      }
    }
  });
  it('builds Group bodies carrying the attributed NPI and wraps $submit bodies', () => {
    const group = buildGroup('1234329724', ['a', 'b']);
    expect(attributedNpi(group)).toBe('1234329724');
    expect(group.member!.map(memberPatientId)).toEqual(['a', 'b']);
    const params = submitParameters([{ resourceType: 'Patient' } as fhir3.Patient]);
    expect((params.parameter![0]!.resource as fhir3.Bundle).entry).toHaveLength(1);
  });
  it('prefers the MBI marked current', () => {
    const patient = {
      resourceType: 'Patient',
      identifier: [
        { system: 'http://hl7.org/fhir/sid/us-mbi', value: '1s00e00aa00' },
        { system: 'http://hl7.org/fhir/sid/us-mbi', value: '2s00e00aa00', extension: [{ url: 'https://bluebutton.cms.gov/resources/codesystem/identifier-currency', valueCoding: { code: 'current' } }] },
      ],
    } as fhir3.Patient;
    expect(mbiOf(patient)).toBe('2S00E00AA00');
  });
});
