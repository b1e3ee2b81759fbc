/**
 * What users type → DPC resources: an NPI or a practitioner id, an MBI or a patient id, a practitioner NPI or a
 * group id. Also the attestation for a practitioner, built from the caller's organization.
 */
import type * as fhir3 from 'fhir/r3.js';
import { DpcError } from '../errors.js';
import { findGroupByNpi, getGroup } from './groups.js';
import { idOf } from './http.js';
import { getOrganization } from './organization.js';
import { findPatientByMbi, getPatient } from './patients.js';
import { findPractitionerByNpi, getPractitioner } from './practitioners.js';
import { buildAttestation } from './provenance.js';
import { isValidMbi, normalizeMbi } from './validate.js';
import type { DpcClient } from '../client.js';
import { isUuid } from '../shared/identifiers.js';

const looksLikeNpi = (value: string) => /^\d{10}$/.test(value);
const stripType = (value: string, type: string) => value.replace(new RegExp(`^${type}/`), '');

function notFound(what: string): DpcError {
  return new DpcError('ERR_NOT_FOUND', `no ${what} in your organization`, { status: 404 });
}

export async function resolvePractitioner(client: DpcClient, npiOrId: string): Promise<fhir3.Practitioner> {
  if (!looksLikeNpi(npiOrId)) return getPractitioner(client, stripType(npiOrId, 'Practitioner'));
  const found = await findPractitionerByNpi(client, npiOrId);
  if (!found) throw notFound(`practitioner with NPI ${npiOrId}`);
  return found;
}

export async function resolvePatient(client: DpcClient, mbiOrId: string): Promise<fhir3.Patient> {
  if (!isValidMbi(mbiOrId)) return getPatient(client, stripType(mbiOrId, 'Patient'));
  const found = await findPatientByMbi(client, mbiOrId);
  if (!found) throw notFound(`patient with MBI ${mbiOrId.toUpperCase()}`);
  return found;
}

export async function resolveGroup(client: DpcClient, npiOrId: string): Promise<fhir3.Group> {
  if (!looksLikeNpi(npiOrId)) return getGroup(client, stripType(npiOrId, 'Group'));
  const found = await findGroupByNpi(client, npiOrId);
  if (!found) throw notFound(`group for practitioner NPI ${npiOrId}`);
  return found;
}

/** Lookups in flight at once when resolving many MBIs. */
const LOOKUP_CONCURRENCY = 8;

/** A patient id as DPC issues them (a UUID), bare or as `Patient/<id>`. Pure. */
export function isPatientId(ref: string): boolean {
  return isUuid(stripType(ref, 'Patient'));
}

/**
 * Pure: group members as given (MBIs, card-printed MBIs, patient ids), checked before anything is sent, so a typo is
 * named here rather than as DPC's "Cannot find 1 patient(s)", which names none.
 */
export function memberRefProblems(refs: readonly string[]): string[] {
  return refs.filter((r) => !isValidMbi(r) && !isPatientId(r)).map((r) => `${JSON.stringify(r)} is neither an MBI (e.g. 1S00E00AA01) nor a patient id`);
}

/** Throws ERR_INPUT naming every member reference that is neither an MBI nor a patient id. */
export function checkMemberRefs(refs: readonly string[]): void {
  const problems = memberRefProblems(refs);
  if (problems.length > 0) throw new DpcError('ERR_INPUT', `members: ${problems.join('; ')}`, { field: 'members' });
}

/** Patient ids for a mix of MBIs and ids (`Patient/` prefix allowed). Every unknown MBI is named in one error. */
export async function resolvePatientIds(client: DpcClient, given: readonly string[]): Promise<string[]> {
  checkMemberRefs(given);
  const refs = given.map((r) => (isValidMbi(r) ? normalizeMbi(r) : r));
  const ids: Array<string | undefined> = refs.map((r) => (isValidMbi(r) ? undefined : stripType(r, 'Patient')));
  let next = 0;
  const worker = async () => {
    while (next < refs.length) {
      const i = next++;
      if (ids[i] !== undefined) continue;
      const patient = await findPatientByMbi(client, refs[i]!);
      if (patient?.id) ids[i] = patient.id;
    }
  };
  await Promise.all(Array.from({ length: Math.min(LOOKUP_CONCURRENCY, refs.length) }, worker));
  // the MBI as DPC knows it, and as the user wrote it when that differs
  const missing = refs.flatMap((r, i) => (ids[i] === undefined ? [r === given[i] ? r : `${r} (given as ${JSON.stringify(given[i])})`] : []));
  if (missing.length > 0) {
    throw new DpcError('ERR_NOT_FOUND', `no patient with MBI ${missing.join(', ')} in your organization; register ${missing.length === 1 ? 'it' : 'them'} first`, {
      status: 404,
    });
  }
  return ids as string[];
}

/** The X-Provenance for changes to this practitioner's roster, attested now by the caller's organization. */
export async function attestationFor(client: DpcClient, practitioner: fhir3.Practitioner, orgId?: string): Promise<string> {
  const org = orgId ?? idOf(await getOrganization(client));
  return buildAttestation({ orgId: org, practitionerId: idOf(practitioner), recorded: client.now() });
}
