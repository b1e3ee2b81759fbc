/**
 * The DPC profile rules the sandbox enforces (behaviour doc §4.2, §4.3): NPI (10 digits, Luhn with the
 * 80840 prefix), MBI regex, and the dpc-profile-practitioner / dpc-profile-patient essentials.
 * Pure functions returning violation messages; they read untrusted JSON defensively.
 */
import type * as fhir3 from 'fhir/r3.js';
import { MBI_CURRENCY_SYSTEM, MBI_SYSTEM, NPI_SYSTEM, isValidNpi, matchesMbiPattern } from '../shared/identifiers.js';
import { record, records, text } from './shape.js';

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
  const current = mbis.find((i) => records(i.extension).some((e) => e.url === MBI_CURRENCY_SYSTEM && record(e.valueCoding).code === 'current'));
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
  else if (!matchesMbiPattern(mbi)) out.push(`Patient.identifier: invalid MBI "${mbi}"`);
  out.push(...nameViolations(p, 'Patient'));
  if (!text(p.gender)) out.push('Patient.gender: minimum required = 1, but only found 0');
  if (!text(p.birthDate)) out.push('Patient.birthDate: minimum required = 1, but only found 0');
  return out;
}

const ADDRESS_REQUIRED = ['use', 'type', 'city', 'state', 'postalCode', 'country'] as const;

/**
 * dpc-profile-organization (validations/DPCOrganization.json): exactly one us-npi identifier and exactly one address
 * conforming to dpc-profile-address (DPCAddress.json: use, type, line 1..*, city, state, postalCode, country; no text).
 */
export function organizationViolations(resource: unknown): string[] {
  const org = record(resource);
  if (org.resourceType !== 'Organization') return ['Resource must be an Organization'];
  const out: string[] = [];
  const npis = identifiers(org, NPI_SYSTEM);
  if (npis.length !== 1) out.push(`Organization.identifier:organization-npi: expected exactly 1 identifier with system ${NPI_SYSTEM}, found ${npis.length}`);
  const addresses = records(org.address);
  if (addresses.length !== 1) return [...out, `Organization.address: expected exactly 1, found ${addresses.length}`];
  const address = addresses[0]!;
  for (const field of ADDRESS_REQUIRED) if (!text(address[field])) out.push(`Organization.address.${field}: minimum required = 1, but only found 0`);
  if (!Array.isArray(address.line) || !address.line.some((l) => text(l) !== undefined)) out.push('Organization.address.line: minimum required = 1, but only found 0');
  if (address.text !== undefined) out.push('Organization.address.text: maximum allowed = 0, but found 1');
  return out;
}

export function organizationNpi(org: unknown): string | undefined {
  return text(identifiers(org, NPI_SYSTEM)[0]?.value);
}
