/** Practitioners of the caller's organization (server behaviour §4.2). */
import type * as fhir3 from 'fhir/r3.js';
import { createResource, deleteResource, fhirGet, readResource, searchAll, submitResources } from './http.js';
import type { DpcClient } from '../client.js';

export function createPractitioner(client: DpcClient, practitioner: fhir3.Practitioner): Promise<{ created: boolean; resource: fhir3.Practitioner }> {
  return createResource(client, practitioner);
}

/** `$submit` a bundle of practitioners; the server answers with the created and already registered ones. */
export function submitPractitioners(client: DpcClient, practitioners: readonly fhir3.Practitioner[]): Promise<fhir3.Practitioner[]> {
  return submitResources(client, 'Practitioner', practitioners);
}

export function listPractitioners(client: DpcClient): Promise<fhir3.Practitioner[]> {
  return searchAll<fhir3.Practitioner>(client, '/Practitioner');
}

/** DPC compares `identifier` verbatim with the stored NPI, so the search takes the bare NPI. */
export async function findPractitionerByNpi(client: DpcClient, npi: string): Promise<fhir3.Practitioner | undefined> {
  const bundle = await fhirGet<fhir3.Bundle<fhir3.Practitioner>>(client, '/Practitioner', { identifier: npi });
  return bundle?.entry?.[0]?.resource;
}

export function getPractitioner(client: DpcClient, id: string): Promise<fhir3.Practitioner> {
  return readResource<fhir3.Practitioner>(client, 'Practitioner', id);
}

/** Deleting a practitioner also deletes their roster on the server. */
export function deletePractitioner(client: DpcClient, id: string): Promise<void> {
  return deleteResource(client, 'Practitioner', id);
}
