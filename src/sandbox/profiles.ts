/**
 * The DPC profile rules the sandbox enforces (behaviour doc §4.2, §4.3): NPI (10 digits, Luhn with the
 * 80840 prefix), MBI regex, and the dpc-profile-practitioner / dpc-profile-patient essentials.
 * Pure functions returning violation messages; they read untrusted JSON defensively.
 */
import type * as fhir3 from 'fhir/r3.js';
import { record, records, text } from './shape.js';

export const NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';
export const MBI_SYSTEM = 'http://hl7.org/fhir/sid/us-mbi';
const CURRENCY_URL = 'https://bluebutton.cms.gov/resources/codesystem/identifier-currency';
const MBI = /^\d[a-zA-Z][a-zA-Z0-9]\d[a-zA-Z][a-zA-Z0-9]\d[a-zA-Z]{2}\d{2}$/;

export function isValidNpi(npi: string): boolean {
  if (!/^\d{10}$/.test(npi)) return false;
  const digits = `80840${npi}`;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

export function isValidMbi(mbi: string): boolean {
  return MBI.test(mbi);
}

function nameViolations(resource: Record<string, unknown>, path: string): string[] {
  const name = records(resource.name)[0];
  if (!name) return [`${path}.name: minimum required = 1, but only found 0`];
  const out: string[] = [];
  if (!text(name.family)) out.push(`${path}.name.family: minimum required = 1, but only found 0`);
  const given = Array.isArray(name.given) ? name.given.filter((g) => text(g) !== undefined) : [];
  if (given.length === 0) out.push(`${path}.name.given: minimum required = 1, but only found 0`);
  return out;
}

function identifiers(resource: unknown, system: string): Array<Record<string, unknown>> {
  return records(record(resource).identifier).filter((i) => i.system === system);
}

/** dpc-profile-practitioner: exactly one us-npi identifier (a valid NPI), name with family and given. */
export function practitionerViolations(resource: unknown): string[] {
  if (record(resource).resourceType !== 'Practitioner') return ['Resource must be a Practitioner'];
  const out: string[] = [];
  const npis = identifiers(resource, NPI_SYSTEM);
  if (npis.length !== 1) out.push(`Practitioner.identifier:npi: expected exactly 1 identifier with system ${NPI_SYSTEM}, found ${npis.length}`);
  else if (!isValidNpi(text(npis[0]!.value) ?? '')) out.push(`Practitioner.identifier: invalid NPI "${String(npis[0]!.value ?? '')}"`);
  return [...out, ...nameViolations(record(resource), 'Practitioner')];
}

export function practitionerNpi(p: fhir3.Practitioner): string {
  return text(identifiers(p, NPI_SYSTEM)[0]?.value) ?? '';
}

/** The MBI DPC uses: the one marked `current` when there are several (FHIRExtractors.getPatientMBI). */
export function patientMbi(p: unknown): string | undefined {
  const mbis = identifiers(p, MBI_SYSTEM);
  const current = mbis.find((i) => records(i.extension).some((e) => e.url === CURRENCY_URL && record(e.valueCoding).code === 'current'));
  const chosen = current ?? mbis[0];
  return chosen === undefined ? undefined : String(chosen.value ?? '');
}

/** dpc-profile-patient: an MBI identifier (valid format), name with family and given, gender, birthDate. */
export function patientViolations(resource: unknown): string[] {
  const p = record(resource);
  if (p.resourceType !== 'Patient') return ['Resource must be a Patient'];
  const out: string[] = [];
  const mbi = patientMbi(p);
  if (mbi === undefined) out.push(`Patient.identifier:mbi: expected an identifier with system ${MBI_SYSTEM}`);
  else if (!isValidMbi(mbi)) out.push(`Patient.identifier: invalid MBI "${mbi}"`);
  out.push(...nameViolations(p, 'Patient'));
  if (!text(p.gender)) out.push('Patient.gender: minimum required = 1, but only found 0');
  if (!text(p.birthDate)) out.push('Patient.birthDate: minimum required = 1, but only found 0');
  return out;
}
