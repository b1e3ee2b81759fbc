/**
 * Building and reading the DPC shapes of Practitioner, Patient, Group and the `$submit` Parameters wrapper
 * (server behaviour §4–§5.1). Pure: no I/O.
 */
import { DpcError } from '../errors.js';

export const NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';
export const MBI_SYSTEM = 'http://hl7.org/fhir/sid/us-mbi';
const MBI_CURRENCY = 'https://bluebutton.cms.gov/resources/codesystem/identifier-currency';
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
  return practitioner.identifier?.find((id) => id.system === NPI_SYSTEM)?.value;
}

/** The patient's MBI, upper-cased; with several, the one marked `current` wins, as on the server. */
export function mbiOf(patient: fhir3.Patient): string | undefined {
  const mbis = (patient.identifier ?? []).filter((id) => id.system === MBI_SYSTEM && id.value);
  const current = mbis.find((id) => id.extension?.some((e) => e.url === MBI_CURRENCY && e.valueCoding?.code === 'current'));
  return (current ?? mbis[0])?.value?.toUpperCase();
}

/** `Parameters` whose first parameter carries a collection Bundle: the body `$submit` expects. */
export function submitParameters(resources: readonly fhir3.Resource[]): fhir3.Parameters {
  return {
    resourceType: 'Parameters',
    parameter: [{ name: 'resource', resource: { resourceType: 'Bundle', type: 'collection', entry: resources.map((resource) => ({ resource })) } as fhir3.Bundle }],
  };
}

/** The resources of the given type in a file the user supplied: a `$submit` Parameters, a Bundle, or one resource. */
export function resourcesOfType<T extends fhir3.Resource>(json: unknown, resourceType: T['resourceType'], location: string): T[] {
  const root = json as { resourceType?: unknown; parameter?: Array<{ resource?: unknown }>; entry?: Array<{ resource?: unknown }> } | null;
  let candidates: unknown[];
  if (root?.resourceType === 'Parameters') {
    candidates = (root.parameter?.[0]?.resource as { entry?: Array<{ resource?: unknown }> } | undefined)?.entry?.map((e) => e.resource) ?? [];
  } else if (root?.resourceType === 'Bundle') {
    candidates = root.entry?.map((e) => e.resource) ?? [];
  } else {
    candidates = [root];
  }
  const found = candidates.filter((r): r is T => (r as { resourceType?: unknown } | undefined)?.resourceType === resourceType);
  if (found.length === 0) {
    throw new DpcError('ERR_INPUT', `${location}: no ${resourceType} resources found (expected a ${resourceType}, a Bundle of them, or a $submit Parameters)`, { location });
  }
  return found;
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
  for (const c of group.characteristic ?? []) {
    if (!c.code.coding?.some((coding) => coding.code === 'attributed-to')) continue;
    const coding = c.valueCodeableConcept?.coding?.find((x) => x.system === NPI_SYSTEM) ?? c.valueCodeableConcept?.coding?.[0];
    if (coding?.code) return coding.code;
  }
  return undefined;
}

/** `Patient/<id>` → `<id>`. */
export function memberPatientId(member: fhir3.GroupMember): string | undefined {
  const ref = member.entity.reference;
  if (!ref) return undefined;
  const match = /(?:^|\/)Patient\/([^/]+)$/.exec(ref);
  return match?.[1];
}
