import type * as fhir3 from 'fhir/r3.js';
import { describe, expect, it } from 'vitest';
import { birthDateProblem, isValidMbi, isValidNpi, normalizeGender, patientProblems, practitionerProblems, quoted } from '../../src/fhir/validate.js';
import { buildPatient, buildPractitioner } from '../../src/fhir/resources.js';

const NOW = Date.parse('2026-11-25T00:00:00Z');

describe('NPI check digit (Luhn with prefix 80840)', () => {
  it('accepts the NPIs of the published samples', () => {
    for (const npi of ['1234329724', '1232131239', '1232125215', '2323232225', '1111112110']) expect(isValidNpi(npi)).toBe(true);
  });
  it('rejects a wrong check digit, wrong length and non-digits', () => {
    expect(isValidNpi('1234329725')).toBe(false);
    expect(isValidNpi('123432972')).toBe(false);
    expect(isValidNpi('12343297240')).toBe(false);
    expect(isValidNpi('12343x9724')).toBe(false);
  });
});

describe('MBI format', () => {
  it('accepts sample MBIs in any case', () => {
    expect(isValidMbi('1S00E00FZ00')).toBe(true);
    expect(isValidMbi('1sq3f00aa00')).toBe(true);
  });
  it('rejects malformed MBIs', () => {
    for (const mbi of ['1234', 'AS00E00FZ00', '1S00E00FZ0', '1S00E00FZ000', '1S0-E00FZ00']) expect(isValidMbi(mbi)).toBe(false);
  });
});

describe('birth date and gender', () => {
  it('needs a real past calendar date', () => {
    expect(birthDateProblem('1950-02-28', NOW)).toBeUndefined();
    expect(birthDateProblem('1950-02-30', NOW)).toMatch(/no such day/);
    expect(birthDateProblem('02/03/1950', NOW)).toMatch(/YYYY-MM-DD/);
    expect(birthDateProblem('2027-01-01', NOW)).toMatch(/future/);
    expect(birthDateProblem('1850-01-01', NOW)).toMatch(/1900/);
  });
  it('accepts FHIR genders and one-letter forms', () => {
    expect(normalizeGender('Female')).toBe('female');
    expect(normalizeGender('M')).toBe('male');
    expect(normalizeGender('x')).toBeUndefined();
  });
});

describe('profile checks', () => {
  it('passes well-formed resources', () => {
    expect(practitionerProblems(buildPractitioner({ npi: '1234329724', given: 'Leonard', family: 'Klocko' }))).toEqual([]);
    expect(patientProblems(buildPatient({ mbi: '1s00e00fz00', given: 'A', family: 'B', birthDate: '1950-01-01', gender: 'male' }), NOW)).toEqual([]);
  });
  it('lists every problem of a bad resource', () => {
    const practitioner = { resourceType: 'Practitioner', identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '1234329725' }], name: [{ given: ['X'] }] } as fhir3.Practitioner;
    expect(practitionerProblems(practitioner)).toEqual(['invalid NPI "1234329725" (10 digits with a Luhn check digit)', 'name.family is required']);
    const patient = { resourceType: 'Patient', identifier: [{ system: 'http://hl7.org/fhir/sid/us-mbi', value: 'nope' }], gender: 'bogus' } as unknown as fhir3.Patient;
    expect(patientProblems(patient, NOW)).toEqual([
      'invalid MBI "nope"',
      'name.family is required',
      'name.given is required',
      'invalid gender "bogus"',
      'birthDate is required',
    ]);
  });
});

describe('quoted: a user value in a one-line message', () => {
  it('shows what one cannot see as \\uXXXX: controls (C0, DEL, C1), direction overrides, zero-width and non-breaking spaces', () => {
    expect(quoted('1S00E00AA01')).toBe('"1S00E00AA01"');
    expect(quoted('a b"c\nd')).toBe('"a b\\"c\\nd"');
    expect(quoted('x\u200by\u00a0z\u202e')).toBe('"x\\u200by\\u00a0z\\u202e"');
    expect(quoted('\u001b[2J\u007f\u009b')).toBe('"\\u001b[2J\\u007f\\u009b"');
    expect(quoted('tag\u{e0001}')).toBe('"tag\\u{e0001}"');
  });
});
