/** Patients of the caller's organization (server behaviour §4.3). */
import type * as fhir3 from 'fhir/r3.js';
import { createResource, deleteResource, fhirGet, fhirWrite, idOf, readResource, searchAll, submitResources } from './http.js';
import type { DpcClient } from '../client.js';
import { inputRejected, patientProblems } from './validate.js';

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

export interface PatientChanges {
  given?: string;
  family?: string;
  /** YYYY-MM-DD */
  birthDate?: string;
  gender?: fhir3.Patient['gender'];
}

/** The patient with these demographic fixes applied to its first name, birth date and gender. Pure. */
export function applyPatientChanges(patient: fhir3.Patient, changes: PatientChanges): fhir3.Patient {
  const [first, ...others] = patient.name ?? [];
  const name: fhir3.HumanName = {
    ...first,
    ...(changes.family !== undefined ? { family: changes.family } : {}),
    ...(changes.given !== undefined ? { given: [changes.given] } : {}),
  };
  return {
    ...patient,
    name: [name, ...others],
    ...(changes.birthDate !== undefined ? { birthDate: changes.birthDate } : {}),
    ...(changes.gender !== undefined ? { gender: changes.gender } : {}),
  };
}

/**
 * `PUT /Patient/{id}` (server behaviour §11.4): DPC validates the whole resource against dpc-profile-patient, then
 * changes only the names, birth date and gender (DPC: R/PatientResource.java updatePatient, PatientEntity.update).
 * Checked locally first; nothing is sent when it does not conform.
 */
export async function updatePatient(client: DpcClient, patient: fhir3.Patient): Promise<fhir3.Patient> {
  const problems = patientProblems(patient, client.now()).map((p) => `patient: ${p}`);
  if (problems.length > 0) throw inputRejected('patient', problems);
  const { body } = await fhirWrite<fhir3.Patient>(client, 'PUT', `/Patient/${encodeURIComponent(idOf(patient))}`, patient);
  return body;
}
