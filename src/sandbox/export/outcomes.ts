/**
 * Which patients an export cannot deliver, and what DPC says about them (behaviour doc §6.3).
 *
 * The rule is a property of the MBI alone (not of the sandbox seed), so tests and demos can pick
 * patients that fail or succeed:
 *  - `0S80C00AA00` (the MBI DPC's own k6 test expects to fail) → internal error;
 *  - otherwise n = first two bytes of SHA-256("dpc-sandbox-outcome:" + MBI) mod 100:
 *    n = 0 → opted out, n = 1 → internal error, n = 2 → no claim within 18 months; all others get data
 *    (about 3 % of MBIs fail).
 *
 * Codes and locations as DPC writes them (dpc-aggregation engine/JobBatchProcessor.java, util/AggregationUtils.java):
 * an internal error and an opt-out are `exception` located by the MBI; a look-back failure is `suppressed` located by
 * `patient.getId()`, the Blue Button patient id, not the MBI.
 */
import { createHash } from 'node:crypto';

export interface PatientFailure {
  code: 'exception' | 'suppressed';
  text: string;
  /** What `location` names: the MBI, or the patient's Blue Button id (look-back failures). */
  locatedBy: 'mbi' | 'blueButtonId';
}

export const OUTCOME_TEXTS = {
  internalError: 'Unable to retrieve patient data due to internal error',
  optedOut: 'Data not available for opted out patient',
  noRecentClaim: "DPC couldn't find a claim within the past 18 months for this MBI from an NPI in this organization",
} as const;

const internalError: PatientFailure = { code: 'exception', text: OUTCOME_TEXTS.internalError, locatedBy: 'mbi' };
const optedOut: PatientFailure = { code: 'exception', text: OUTCOME_TEXTS.optedOut, locatedBy: 'mbi' };
const noRecentClaim: PatientFailure = { code: 'suppressed', text: OUTCOME_TEXTS.noRecentClaim, locatedBy: 'blueButtonId' };

const KNOWN_FAILURES: ReadonlyMap<string, PatientFailure> = new Map([['0S80C00AA00', internalError]]);

export function patientFailure(mbi: string): PatientFailure | undefined {
  const known = KNOWN_FAILURES.get(mbi);
  if (known) return known;
  const n = createHash('sha256').update(`dpc-sandbox-outcome:${mbi}`).digest().readUInt16BE(0) % 100;
  if (n === 0) return optedOut;
  if (n === 1) return internalError;
  if (n === 2) return noRecentClaim;
  return undefined;
}

/** One line of the `operationoutcome` error file (AggregationUtils.toOperationOutcome); `patientId` per `locatedBy`. */
export function failureLine(patientId: string, failure: PatientFailure): string {
  return JSON.stringify({
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: failure.code, details: { text: failure.text }, location: ['Patient', 'id', patientId] }],
  });
}
