/** Patients of the caller's organization (server behaviour §4.3). */
import type * as fhir3 from 'fhir/r3.js';
import { createResource, deleteResource, fhirGet, readResource, searchAll, submitResources } from './http.js';
import type { DpcClient } from '../client.js';

/** Page size for listing: large pages keep a 1,350-patient roster to two requests. */
const PAGE_SIZE = 1000;

export function createPatient(client: DpcClient, patient: fhir3.Patient): Promise<{ created: boolean; resource: fhir3.Patient }> {
  return createResource(client, patient);
}

export function submitPatients(client: DpcClient, patients: readonly fhir3.Patient[]): Promise<fhir3.Patient[]> {
  return submitResources(client, 'Patient', patients);
}

/** Every patient, page by page through the server's absolute `next` links. */
export function listPatients(client: DpcClient): Promise<fhir3.Patient[]> {
  return searchAll<fhir3.Patient>(client, '/Patient', { _count: PAGE_SIZE, _offset: 0 });
}

/** A bare MBI is expanded by the server to the us-mbi system. */
export async function findPatientByMbi(client: DpcClient, mbi: string): Promise<fhir3.Patient | undefined> {
  const bundle = await fhirGet<fhir3.Bundle<fhir3.Patient>>(client, '/Patient', { identifier: mbi.trim().toUpperCase() });
  return bundle?.entry?.[0]?.resource;
}

export function getPatient(client: DpcClient, id: string): Promise<fhir3.Patient> {
  return readResource<fhir3.Patient>(client, 'Patient', id);
}

/** Deleting a patient also removes them from every group. */
export function deletePatient(client: DpcClient, id: string): Promise<void> {
  return deleteResource(client, 'Patient', id);
}
