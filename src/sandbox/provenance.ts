/**
 * The `X-Provenance` attestation header (behaviour doc §5.2): parse (400), dpc-profile-attestation checks
 * (422, one issue per violation), then the business checks against the practitioner it names.
 */
import { ApiError, validationOutcome } from './http.js';
import { isRecord, record, records, text } from './shape.js';
import type { PractitionerRecord } from './state.js';

const ACT_REASON = 'http://hl7.org/fhir/v3/ActReason';
const ROLE_CLASS = 'http://hl7.org/fhir/v3/RoleClass';

const isAgnt = (agent: Record<string, unknown>): boolean =>
  records(agent.role).some((role) => records(role.coding).some((c) => c.system === ROLE_CLASS && c.code === 'AGNT'));

export function parseProvenance(header: string | string[] | undefined): Record<string, unknown> {
  // DPC: ProvenanceResourceValueFactory — only an absent header is missing; an empty one fails to parse
  if (header === undefined) throw new ApiError(400, 'Must have X-Provenance header');
  let value: unknown;
  try {
    value = JSON.parse(Array.isArray(header) ? header.join(',') : header);
  } catch {
    throw new ApiError(400, 'Cannot parse FHIR `Provenance` resource');
  }
  if (!isRecord(value) || value.resourceType !== 'Provenance') throw new ApiError(400, 'Cannot parse FHIR `Provenance` resource');
  return value;
}

/** dpc-profile-attestation violations (empty when the attestation conforms). */
export function attestationViolations(p: Record<string, unknown>): string[] {
  const out: string[] = [];
  if (!text(p.recorded)) out.push('Provenance.recorded: minimum required = 1, but only found 0');
  const reasons = records(p.reason);
  const treat = reasons.filter((r) => r.system === ACT_REASON && r.code === 'TREAT');
  if (treat.length !== 1 || reasons.length !== 1) {
    out.push(`Provenance.reason: exactly one reason with system ${ACT_REASON} and code TREAT is required`);
  }
  const performers = records(p.agent).filter(isAgnt);
  if (performers.length !== 1) out.push(`Provenance.agent:performer: exactly one agent with role ${ROLE_CLASS}|AGNT is required`);
  const performer = performers[0];
  if (performer && !text(record(performer.whoReference).reference)) out.push('Provenance.agent:performer.whoReference: minimum required = 1, but only found 0');
  if (performer && !text(record(performer.onBehalfOfReference).reference)) {
    out.push('Provenance.agent:performer.onBehalfOfReference: minimum required = 1, but only found 0');
  }
  return out;
}

/**
 * Profile-check (422) a parsed attestation (`parseProvenance`), then look up the practitioner its performer acts on
 * behalf of: `id` is the referenced practitioner id, `practitioner` undefined when there is none.
 */
export function attestingPractitioner(
  provenance: Record<string, unknown>,
  findPractitioner: (id: string) => PractitionerRecord | undefined,
): { id: string; practitioner: PractitionerRecord | undefined } {
  const violations = attestationViolations(provenance);
  if (violations.length > 0) throw new ApiError(422, violations[0]!, { body: validationOutcome(violations) });
  const performer = records(provenance.agent).find(isAgnt)!;
  const id = text(record(performer.onBehalfOfReference).reference)!.replace(/^Practitioner\//, '');
  return { id, practitioner: findPractitioner(id) };
}

/**
 * Full check for Group writes: the attestation, then the practitioner named in onBehalfOfReference must exist
 * and carry the Group's attributed NPI.
 */
export function verifyProvenance(
  header: string | string[] | undefined,
  groupNpi: string,
  findPractitioner: (id: string) => PractitionerRecord | undefined,
): void {
  const { practitioner } = attestingPractitioner(parseProvenance(header), findPractitioner);
  if (!practitioner) throw new ApiError(422, 'Could not find provider defined in provenance header');
  if (practitioner.npi !== groupNpi) throw new ApiError(422, "Provenance header's provider does not match group provider");
}
