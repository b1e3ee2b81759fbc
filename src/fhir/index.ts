/** Typed FHIR STU3 calls for DPC's Organization, Practitioner, Patient and Group, and the DPC profile checks. */
export type { FhirClient, WriteOptions } from './http.js';
export { searchAll } from './http.js';
export * from './organization.js';
export * from './practitioners.js';
export * from './patients.js';
export * from './groups.js';
export * from './lookup.js';
export * from './provenance.js';
export * from './resources.js';
export * from './validate.js';
export * from './everything.js';
