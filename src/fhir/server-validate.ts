/**
 * Server-side profile validation (server behaviour §11.4): `POST /Practitioner/$validate` and `POST /Patient/$validate`
 * answer 200 with an OperationOutcome whatever the verdict, and store nothing (DPC: R/PatientResource.java
 * validatePatient, R/PractitionerResource.java validateProvider).
 */
import type * as fhir3 from 'fhir/r3.js';
import { DpcError } from '../errors.js';
import type { DpcClient } from '../client.js';
import { fhirWrite } from './http.js';

/** DPC reads the resource from a Parameters body (ValidationHelpers.validateAgainstProfile). */
export async function validateOnServer(client: DpcClient, resource: fhir3.Practitioner | fhir3.Patient): Promise<fhir3.OperationOutcome> {
  const parameters: fhir3.Parameters = { resourceType: 'Parameters', parameter: [{ name: 'resource', resource }] };
  const path = `/${resource.resourceType}/$validate`;
  // nothing is written, so a replay after a transient failure is harmless
  const { body } = await fhirWrite<fhir3.OperationOutcome>(client, 'POST', path, parameters, { idempotent: true });
  if (body?.resourceType !== 'OperationOutcome') throw new DpcError('ERR_HTTP', `POST ${path} answered without an OperationOutcome`);
  return body;
}

/** The error and fatal issues of an OperationOutcome, as text (`details.text`, else `diagnostics`, else the code). Pure. */
export function outcomeErrors(outcome: fhir3.OperationOutcome): string[] {
  return (outcome.issue ?? [])
    .filter((issue) => issue.severity === 'error' || issue.severity === 'fatal')
    .map((issue) => issue.details?.text ?? issue.diagnostics ?? issue.code ?? 'unspecified');
}
