/**
 * The DPC profile subset, checked before anything is sent (server behaviour §4.2, §4.3): NPI check digit,
 * MBI format, birth date, gender, and the Practitioner/Patient fields the server's profiles require.
 * Pure functions: each returns problems as short phrases, the caller adds the location. Values from the user are
 * quoted (`quoted`), so a newline inside one cannot split a one-line message.
 */
import type * as fhir3 from 'fhir/r3.js';
import { jsonForTerminal } from '../escape.js';
import { MBI_SYSTEM, NPI_SYSTEM, isValidNpi, matchesMbiPattern } from '../shared/identifiers.js';
import { mbiOf, npiOf } from './resources.js';

/**
 * A value from the user in a message: JSON-quoted (control characters escaped as for a terminal, jsonForTerminal), and
 * other characters one cannot see shown as `\uXXXX` (a zero-width space pasted into an MBI, a non-breaking space):
 * `invalid MBI "1S00E00AA01"` with nothing visibly wrong would leave the user guessing. Pure.
 */
export function quoted(value: string): string {
  return jsonForTerminal(value).replace(/[\p{Cf}\p{Z}]/gu, (c) => {
    const code = c.codePointAt(0)!;
    return c === ' ' ? c : code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

// kept here for callers of the profile checks; it lives in input.ts so resources.ts can use it without a cycle
export { inputRejected } from './input.js';

export { isValidNpi } from '../shared/identifiers.js';

/** An MBI as people write it, as DPC stores it: Medicare cards print `1EG4-TE5-MK73` (dashes), rosters mix cases. */
export function normalizeMbi(value: string): string {
  return value.trim().replace(/[- ]/g, '').toUpperCase(); // dashes and spaces only: a newline is no typo to forgive
}

/** DPC's MBI pattern, once normalised (`1s00-e00-aa01` is an MBI: the client normalises what people type). */
export function isValidMbi(value: string): boolean {
  return matchesMbiPattern(normalizeMbi(value));
}

export const GENDERS = ['male', 'female', 'other', 'unknown'] as const;
export type Gender = (typeof GENDERS)[number];

const GENDER_ALIASES: Record<string, Gender> = { m: 'male', f: 'female', o: 'other', u: 'unknown' };

/** FHIR AdministrativeGender, also accepting the one-letter forms rosters often carry (M/F/O/U). */
export function normalizeGender(value: string): Gender | undefined {
  const v = value.trim().toLowerCase();
  if ((GENDERS as readonly string[]).includes(v)) return v as Gender;
  return GENDER_ALIASES[v];
}

/** A full calendar date `YYYY-MM-DD`, not in the future and not before 1900. Returns the problem or undefined. */
export function birthDateProblem(value: string, now: number): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value.trim());
  if (!match) return `invalid birth date ${quoted(value)} (expected YYYY-MM-DD)`;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return `invalid birth date ${quoted(value)} (no such day)`;
  }
  if (year < 1900) return `invalid birth date ${quoted(value)} (before 1900)`;
  if (date.getTime() > now) return `invalid birth date ${quoted(value)} (in the future)`;
  return undefined;
}

function identifiersOf(resource: { identifier?: fhir3.Identifier[] | undefined }, system: string): fhir3.Identifier[] {
  return (resource.identifier ?? []).filter((id) => id.system === system);
}

function nameProblems(names: fhir3.HumanName[] | undefined): string[] {
  const name = names?.[0];
  const problems: string[] = [];
  if (!name?.family?.trim()) problems.push('name.family is required');
  if (!name?.given?.some((g) => g.trim() !== '')) problems.push('name.given is required');
  return problems;
}

/** dpc-profile-practitioner: exactly one us-npi identifier holding a valid NPI, and a family and given name. */
export function practitionerProblems(resource: fhir3.Practitioner): string[] {
  if (resource.resourceType !== 'Practitioner') return [`expected a Practitioner, got ${String(resource.resourceType)}`];
  const problems: string[] = [];
  const npis = identifiersOf(resource, NPI_SYSTEM);
  if (npis.length !== 1) problems.push(`needs exactly one ${NPI_SYSTEM} identifier (found ${npis.length})`);
  else if (!isValidNpi(npis[0]!.value ?? '')) problems.push(`invalid NPI ${quoted(npis[0]!.value ?? '')} (10 digits with a Luhn check digit)`);
  return [...problems, ...nameProblems(resource.name)];
}

/** dpc-profile-patient: one valid us-mbi identifier, family and given name, gender, birth date. */
export function patientProblems(resource: fhir3.Patient, now: number): string[] {
  if (resource.resourceType !== 'Patient') return [`expected a Patient, got ${String(resource.resourceType)}`];
  const problems: string[] = [];
  const mbis = identifiersOf(resource, MBI_SYSTEM);
  if (mbis.length === 0) problems.push(`needs a ${MBI_SYSTEM} identifier`);
  for (const mbi of mbis) {
    if (!isValidMbi(mbi.value ?? '')) problems.push(`invalid MBI ${quoted(mbi.value ?? '')}`);
  }
  problems.push(...nameProblems(resource.name));
  if (resource.gender === undefined) problems.push('gender is required');
  else if (normalizeGender(resource.gender) !== resource.gender) problems.push(`invalid gender ${quoted(String(resource.gender))}`);
  if (resource.birthDate === undefined) problems.push('birthDate is required');
  else {
    const problem = birthDateProblem(resource.birthDate, now);
    if (problem) problems.push(problem);
  }
  return problems;
}

const ADDRESS_FIELDS = ['use', 'type', 'city', 'state', 'postalCode', 'country'] as const;

/**
 * dpc-profile-organization: exactly one us-npi identifier, exactly one address with use, type, line, city, state,
 * postalCode and country, and no `text` (dpc-profile-address).
 */
export function organizationProblems(resource: fhir3.Organization): string[] {
  if (resource.resourceType !== 'Organization') return [`expected an Organization, got ${String(resource.resourceType)}`];
  const problems: string[] = [];
  // a user's file: read defensively, a wrong shape is a problem, not a TypeError
  const identifiers: unknown[] = Array.isArray(resource.identifier) ? resource.identifier : [];
  const npis = identifiers.filter((i) => (i as fhir3.Identifier | null)?.system === NPI_SYSTEM);
  if (npis.length !== 1) problems.push(`needs exactly one ${NPI_SYSTEM} identifier (found ${npis.length})`);
  const addresses: unknown[] = Array.isArray(resource.address) ? resource.address : [];
  if (addresses.length !== 1) return [...problems, `needs exactly one address (found ${addresses.length})`];
  const address = addresses[0] as fhir3.Address;
  if (typeof address !== 'object' || address === null || Array.isArray(address)) return [...problems, 'address must be an object'];
  for (const field of ADDRESS_FIELDS) {
    const value: unknown = address[field];
    if (typeof value !== 'string' || value.trim() === '') problems.push(`address.${field} is required`);
  }
  if (!Array.isArray(address.line) || !address.line.some((l) => typeof l === 'string' && l.trim() !== '')) problems.push('address.line is required');
  if (address.text !== undefined) problems.push('address.text is not allowed by dpc-profile-address');
  return problems;
}

/** Profile problems of every Practitioner/Patient in a user's file, as `file: entry N (MBI x): problem`. */
export function entryProblems(location: string, resources: readonly fhir3.Resource[], now: number): string[] {
  return resources.flatMap((resource, i) => {
    const [problems, key] =
      resource.resourceType === 'Patient'
        ? [patientProblems(resource as fhir3.Patient, now), `MBI ${shown(mbiOf(resource as fhir3.Patient))}`]
        : [practitionerProblems(resource as fhir3.Practitioner), `NPI ${shown(npiOf(resource as fhir3.Practitioner))}`];
    return problems.map((problem) => `${location}: entry ${i + 1} (${key}): ${problem}`);
  });
}

/** An identifier as typed, quoted when it holds more than letters and digits (a newline must not split a message). */
function shown(value: string | undefined): string {
  if (value === undefined) return 'none';
  return /^[A-Za-z0-9]+$/.test(value) ? value : quoted(value);
}
