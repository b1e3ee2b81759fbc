/**
 * Building and reading the DPC shapes of Practitioner, Patient, Group and the `$submit` Parameters wrapper
 * (server behaviour §4–§5.1). Pure: no I/O.
 */
import type * as fhir3 from 'fhir/r3.js';
import { DpcError } from '../errors.js';
import { inputRejected, personShapeProblems } from './input.js';
import { isObject, kindOf, objectsIn } from '../json.js';
import { MBI_CURRENCY_SYSTEM, MBI_SYSTEM, NPI_SYSTEM } from '../shared/identifiers.js';

const PROFILE_BASE = 'https://dpc.cms.gov/api/v1/StructureDefinition';

export interface PractitionerInput {
  npi: string;
  given: string;
  family: string;
}

export interface PatientInput {
  mbi: string;
  given: string;
  family: string;
  birthDate: string;
  gender: fhir3.Patient['gender'];
}

export function buildPractitioner(input: PractitionerInput): fhir3.Practitioner {
  return {
    resourceType: 'Practitioner',
    meta: { profile: [`${PROFILE_BASE}/dpc-profile-practitioner`] },
    identifier: [{ system: NPI_SYSTEM, value: input.npi }],
    name: [{ family: input.family, given: [input.given] }],
  };
}

export function buildPatient(input: PatientInput): fhir3.Patient {
  return {
    resourceType: 'Patient',
    meta: { profile: [`${PROFILE_BASE}/dpc-profile-patient`] },
    identifier: [{ system: MBI_SYSTEM, value: input.mbi.toUpperCase() }],
    name: [{ family: input.family, given: [input.given] }],
    birthDate: input.birthDate,
    gender: input.gender,
  };
}

/** The practitioner's NPI (the server compares it verbatim). */
export function npiOf(practitioner: fhir3.Practitioner): string | undefined {
  // walked without trusting the shape: the resource may come from a server
  const value = objectsIn(practitioner.identifier).find((id) => id.system === NPI_SYSTEM)?.value;
  return typeof value === 'string' ? value : undefined;
}

/** The patient's MBI, upper-cased; with several, the one marked `current` wins, as on the server. */
export function mbiOf(patient: fhir3.Patient): string | undefined {
  const mbis = objectsIn(patient.identifier).filter((id) => id.system === MBI_SYSTEM && typeof id.value === 'string' && id.value !== '');
  const isCurrent = (e: Record<string, unknown>) => e.url === MBI_CURRENCY_SYSTEM && isObject(e.valueCoding) && e.valueCoding.code === 'current';
  const current = mbis.find((id) => objectsIn(id.extension).some(isCurrent));
  return ((current ?? mbis[0])?.value as string | undefined)?.toUpperCase();
}

/** `Parameters` whose first parameter carries a collection Bundle: the body `$submit` expects. */
export function submitParameters(resources: readonly fhir3.Resource[]): fhir3.Parameters {
  return {
    resourceType: 'Parameters',
    parameter: [{ name: 'resource', resource: { resourceType: 'Bundle', type: 'collection', entry: resources.map((resource) => ({ resource })) } as fhir3.Bundle }],
  };
}

/**
 * The resources of the given type in a file the user supplied: a `$submit` Parameters, a Bundle, or one resource.
 * This is where untrusted JSON enters: the envelope and the fields later code reads are checked here, so a wrongly
 * typed field is an ERR_INPUT naming `file: entry N` and the path, never a TypeError further on.
 */
export function resourcesOfType<T extends fhir3.Resource>(json: unknown, resourceType: T['resourceType'], location: string): T[] {
  const problems: string[] = [];
  const entries = entriesOf(json, location, problems);
  const found: T[] = [];
  entries?.forEach((entry, i) => {
    const at = `${location}: entry ${i + 1}`;
    if (!isObject(entry)) return void problems.push(`${at} must be an object, got ${kindOf(entry)}`);
    const resource = entry.resource;
    if (resource === undefined) return void problems.push(`${at} has no resource`);
    if (!isObject(resource)) return void problems.push(`${at}: resource must be an object, got ${kindOf(resource)}`);
    if (resource.resourceType !== resourceType) return void problems.push(`${at} is a ${String(resource.resourceType)}, expected a ${resourceType}`);
    problems.push(...personShapeProblems(resource).map((p) => `${at} (${resourceType}): ${p}`));
    found.push(resource as T);
  });
  if (entries === undefined && isObject(json) && json.resourceType === resourceType) {
    problems.push(...personShapeProblems(json).map((p) => `${location}: entry 1 (${resourceType}): ${p}`));
    found.push(json as T);
  }
  if (problems.length > 0) throw inputRejected(location, problems);
  if (found.length === 0) {
    throw new DpcError('ERR_INPUT', `${location}: no ${resourceType} resources found (expected a ${resourceType}, a Bundle of them, or a $submit Parameters)`, { location });
  }
  return found;
}

/** The entries of a Bundle or of the Bundle inside a `$submit` Parameters; undefined for anything else. */
function entriesOf(json: unknown, location: string, problems: string[]): unknown[] | undefined {
  if (!isObject(json)) return undefined;
  let bundle: Record<string, unknown> = json;
  if (json.resourceType === 'Parameters') {
    const parameter = json.parameter ?? [];
    if (!Array.isArray(parameter)) return void problems.push(`${location}: Parameters.parameter must be an array, got ${kindOf(parameter)}`);
    const first: unknown = parameter[0] ?? {};
    if (!isObject(first)) return void problems.push(`${location}: Parameters.parameter[0] must be an object, got ${kindOf(first)}`);
    const resource = first.resource ?? {};
    if (!isObject(resource)) return void problems.push(`${location}: Parameters.parameter[0].resource must be a Bundle, got ${kindOf(resource)}`);
    bundle = resource;
  } else if (json.resourceType !== 'Bundle') {
    return undefined;
  }
  const entry = bundle.entry ?? [];
  if (!Array.isArray(entry)) return void problems.push(`${location}: Bundle.entry must be an array, got ${kindOf(entry)}`);
  return entry;
}

/** The body of POST/PUT/$add/$remove: a Group attributed to one NPI (the server reads the NPI from it). */
export function buildGroup(npi: string, patientIds: readonly string[]): fhir3.Group {
  return {
    resourceType: 'Group',
    type: 'person',
    actual: true,
    active: true,
    characteristic: [
      {
        code: { coding: [{ code: 'attributed-to' }] },
        valueCodeableConcept: { coding: [{ system: NPI_SYSTEM, code: npi }] },
        exclude: false,
      },
    ],
    member: patientIds.map((id) => ({ entity: { reference: `Patient/${id}` } })),
  };
}

/** The NPI a Group is attributed to. */
export function attributedNpi(group: fhir3.Group): string | undefined {
  // walked without trusting the shape: the group comes from a server
  const codings = (concept: unknown) => (isObject(concept) ? objectsIn(concept.coding) : []);
  for (const c of objectsIn(group.characteristic)) {
    if (!codings(c.code).some((coding) => coding.code === 'attributed-to')) continue;
    const values = codings(c.valueCodeableConcept);
    const code = (values.find((x) => x.system === NPI_SYSTEM) ?? values[0])?.code;
    if (typeof code === 'string' && code !== '') return code;
  }
  return undefined;
}

/** `Patient/<id>` → `<id>`. */
export function memberPatientId(member: fhir3.GroupMember): string | undefined {
  const ref: unknown = isObject(member.entity) ? member.entity.reference : undefined;
  if (typeof ref !== 'string' || ref === '') return undefined;
  const match = /(?:^|\/)Patient\/([^/]+)$/.exec(ref);
  return match?.[1];
}
