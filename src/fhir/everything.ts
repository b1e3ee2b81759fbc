/**
 * Point of care (server behaviour §11.1): one patient's claims while they are in the room. `Patient/{id}/$everything`
 * answers a `searchset` Bundle of the patient, their ExplanationOfBenefit claims and Coverage, attested by the
 * treating practitioner (X-Provenance); a patient DPC will not release is a 403 (ERR_FORBIDDEN) with DPC's reason.
 * The same request as a job (`Prefer: respond-async`) goes through the export engine (runExport, `one-patient`).
 */
import type * as fhir3 from 'fhir/r3.js';
import { DpcError, isDpcError, restated } from '../errors.js';
import { validateSince } from '../export/job.js';
import { readLines } from '../export/outcomes.js';
import type { DpcClient } from '../client.js';
import { isPatientId, resolvePatient, resolvePractitioner, attestationFor } from './lookup.js';
import { mbiOf } from './resources.js';
import { checkedResource } from './http.js';
import { isValidMbi, isValidNpi } from './validate.js';

export interface EverythingOptions {
  /** X-Provenance attestation naming the treating practitioner (see `pointOfCare`). */
  provenance: string;
  /** Only resources changed after this ISO 8601 date-time with an offset. */
  since?: string;
}

/** DPC: R/PatientResource.java everything — synchronous, X-Provenance required, `_since` optional. */
export async function patientEverything(client: DpcClient, patientId: string, options: EverythingOptions): Promise<fhir3.Bundle> {
  if (options.since !== undefined) validateSince(options.since, client.now());
  const path = `/Patient/${encodeURIComponent(patientId)}/$everything`;
  // Not replayed after a 5xx or a dropped connection (429 still is): every attempt makes DPC queue a job and hold the
  // request until it ends or times out (dpc-queue service/DataService.java retrieveData), so a replay only adds load.
  const { body } = await client.transport
    .json<unknown>({ path, query: { _since: options.since }, headers: { 'x-provenance': options.provenance }, idempotent: false })
    .catch((error: unknown) => {
      if (isDpcError(error, 'ERR_FORBIDDEN')) throw withheld(patientId, error);
      throw isUpstreamTimeout(error) ? timedOut(patientId, error) : error;
    });
  // an empty body is no Bundle either
  return checkedResource<fhir3.Bundle>(body ?? null, `GET ${path}`, 'Bundle');
}

/** DPC: R/PatientResource.java everything — the data service's OperationOutcome (opt-out, look-back) comes back as 403. */
function withheld(patientId: string, error: DpcError): DpcError {
  const reason = error.message.replace(/^.*? failed with 403: /, '');
  return restated(error, 'ERR_FORBIDDEN', `DPC does not release data for patient ${patientId}: ${reason}`, { status: 403 });
}

/**
 * The data did not arrive in time: a gateway's 504 (DPC documents one, R/PatientResource.java @ApiResponse(code = 504)),
 * or DPC's own 500 "Failed to retrieve data" when the job outlasts jobTimeoutInSeconds (DataService.retrieveData).
 */
function isUpstreamTimeout(error: unknown): error is DpcError {
  if (!isDpcError(error)) return false;
  if (error.code === 'ERR_TIMEOUT') return true; // no answer within our own headers timeout
  return error.status === 504 || (error.status === 500 && /: Failed to retrieve data$/.test(error.message));
}

function timedOut(patientId: string, error: DpcError): DpcError {
  const how = error.status === undefined ? 'no answer in time' : `HTTP ${error.status}`;
  return restated(error, 'ERR_TIMEOUT', `DPC timed out gathering the data of patient ${patientId} (${how}); try again later, or ask for it as a job`);
}

export interface PointOfCare {
  patient: fhir3.Patient;
  practitioner: fhir3.Practitioner;
  /** The attestation: your organization acting for this practitioner, who treats the patient. */
  provenance: string;
}

/**
 * The patient (by MBI or DPC id) and practitioner (by NPI or DPC id) of a point-of-care request, and the attestation
 * DPC requires for it. Identifiers are checked before anything is sent.
 */
export async function pointOfCare(client: DpcClient, patientRef: string, practitionerRef: string): Promise<PointOfCare> {
  if (!isValidMbi(patientRef) && !isPatientId(patientRef)) {
    throw new DpcError('ERR_INPUT', `patient: ${JSON.stringify(patientRef)} is neither an MBI nor a DPC patient id (UUID)`, { field: 'patient' });
  }
  if (/^\d+$/.test(practitionerRef) && !isValidNpi(practitionerRef)) {
    throw new DpcError('ERR_INPUT', `practitioner: ${JSON.stringify(practitionerRef)} is not a valid NPI (10 digits with a Luhn check digit)`, {
      field: 'practitioner',
    });
  }
  const [patient, practitioner] = await Promise.all([resolvePatient(client, patientRef), resolvePractitioner(client, practitionerRef)]);
  return { patient, practitioner, provenance: await attestationFor(client, practitioner) };
}

export interface EverythingSummary {
  /** The MBI of the Patient resource in the data, when there is one. */
  mbi?: string;
  /** Resources per type. */
  types: Record<string, number>;
  /** ExplanationOfBenefit resources. */
  claims: number;
  /** Earliest and latest billable-period dates of the claims (`YYYY-MM-DD`). */
  firstClaim?: string;
  lastClaim?: string;
}

export function emptyEverythingSummary(): EverythingSummary {
  return { types: {}, claims: 0 };
}

/** The summary with one more resource counted. Pure. */
export function tallyResource(summary: EverythingSummary, resource: fhir3.Resource): EverythingSummary {
  const types = { ...summary.types, [resource.resourceType]: (summary.types[resource.resourceType] ?? 0) + 1 };
  const next: EverythingSummary = { ...summary, types };
  if (resource.resourceType === 'Patient') next.mbi ??= mbiOf(resource as fhir3.Patient);
  if (resource.resourceType !== 'ExplanationOfBenefit') return next;
  next.claims += 1;
  const period = (resource as fhir3.ExplanationOfBenefit).billablePeriod;
  const from = day(period?.start ?? period?.end);
  const to = day(period?.end ?? period?.start);
  if (from !== undefined && (next.firstClaim === undefined || from < next.firstClaim)) next.firstClaim = from;
  if (to !== undefined && (next.lastClaim === undefined || to > next.lastClaim)) next.lastClaim = to;
  return next;
}

/** Claims count, date range and types of a `$everything` Bundle. Pure. */
export function summariseEverything(bundle: fhir3.Bundle): EverythingSummary {
  return (bundle.entry ?? []).reduce((summary, e) => (e.resource ? tallyResource(summary, e.resource) : summary), emptyEverythingSummary());
}

function day(value: string | undefined): string | undefined {
  return value !== undefined && /^\d{4}-\d{2}-\d{2}/.test(value) ? value.slice(0, 10) : undefined;
}

/** The summary of one patient's downloaded NDJSON files (a `$everything` job's output). */
export async function summariseEverythingFiles(paths: readonly string[]): Promise<EverythingSummary> {
  let summary = emptyEverythingSummary();
  for (const path of paths) {
    await readLines(path, 'read resource file', (line) => {
      if (line.trim() === '') return;
      const resource = JSON.parse(line) as fhir3.Resource;
      summary = tallyResource(summary, resource);
    });
  }
  return summary;
}
