/**
 * Attribution rosters (server behaviour §5): one Group per practitioner NPI. Create, replace and `$add` need the
 * X-Provenance attestation; `$remove` does not. Bodies always carry the attributed-to NPI, which the server reads.
 */
import type * as fhir3 from 'fhir/r3.js';
import { buildGroup } from './resources.js';
import { deleteResource, fhirGet, fhirWrite, readResource, searchAllDated } from './http.js';
import type { DpcClient } from '../client.js';

export interface MembersChange {
  /** The practitioner NPI the Group is attributed to. */
  npi: string;
  /** DPC patient ids (not MBIs). */
  patientIds: readonly string[];
}

export interface AttestedChange extends MembersChange {
  /** X-Provenance header value (see buildAttestation). */
  provenance: string;
}

export async function createGroup(client: DpcClient, change: AttestedChange): Promise<fhir3.Group> {
  const { body } = await fhirWrite<fhir3.Group>(client, 'POST', '/Group', buildGroup(change.npi, change.patientIds), { provenance: change.provenance });
  return body;
}

export async function listGroups(client: DpcClient): Promise<fhir3.Group[]> {
  return (await listGroupsDated(client)).groups;
}

/** Every group, with the server's clock when it listed them (its `Date`, epoch ms; absent when unusable). */
export async function listGroupsDated(client: DpcClient): Promise<{ groups: fhir3.Group[]; serverDate?: number }> {
  const { resources, serverDate } = await searchAllDated<fhir3.Group>(client, '/Group');
  return { groups: resources, serverDate };
}

export async function findGroupByNpi(client: DpcClient, npi: string): Promise<fhir3.Group | undefined> {
  const bundle = await fhirGet<fhir3.Bundle<fhir3.Group>>(client, '/Group', { 'characteristic-value': `attributed-to$${npi}` });
  return bundle?.entry?.[0]?.resource;
}

export function getGroup(client: DpcClient, id: string): Promise<fhir3.Group> {
  return readResource<fhir3.Group>(client, 'Group', id);
}

/** `$add`: new members start now, existing ones are renewed to now+90 days (and re-activated). */
export async function addMembers(client: DpcClient, groupId: string, change: AttestedChange): Promise<fhir3.Group> {
  const { body } = await fhirWrite<fhir3.Group>(client, 'POST', `/Group/${encodeURIComponent(groupId)}/$add`, buildGroup(change.npi, change.patientIds), {
    provenance: change.provenance,
    idempotent: true,
  });
  return body;
}

/** `$remove`: members become inactive with end = now (they stay listed until the server purges them). */
export async function removeMembers(client: DpcClient, groupId: string, change: MembersChange): Promise<fhir3.Group> {
  const { body } = await fhirWrite<fhir3.Group>(client, 'POST', `/Group/${encodeURIComponent(groupId)}/$remove`, buildGroup(change.npi, change.patientIds), {
    idempotent: true,
  });
  return body;
}

/** PUT: the membership becomes exactly these patients, all starting now. */
export async function replaceGroup(client: DpcClient, groupId: string, change: AttestedChange): Promise<fhir3.Group> {
  const { body } = await fhirWrite<fhir3.Group>(client, 'PUT', `/Group/${encodeURIComponent(groupId)}`, buildGroup(change.npi, change.patientIds), {
    provenance: change.provenance,
  });
  return body;
}

export function deleteGroup(client: DpcClient, id: string): Promise<void> {
  return deleteResource(client, 'Group', id);
}
