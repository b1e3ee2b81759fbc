/**
 * Attestation (server behaviour §5.2): the `X-Provenance` header DPC requires on Group create/replace/`$add`.
 * Built for the user from the organisation and practitioner, or taken from a Provenance JSON file they supply.
 */
import { DpcError } from '../errors.js';

const ATTESTATION_PROFILE = 'https://dpc.cms.gov/api/v1/StructureDefinition/dpc-profile-attestation';
const ACT_REASON = 'http://hl7.org/fhir/v3/ActReason';
const ROLE_CLASS = 'http://hl7.org/fhir/v3/RoleClass';

export interface AttestationInput {
  orgId: string;
  /** The DPC id (UUID) of the practitioner the Group is attributed to, not the NPI. */
  practitionerId: string;
  /** When the attestation is made, epoch ms. */
  recorded: number;
}

/** The single-line JSON value of the X-Provenance header: TREAT reason, one AGNT agent for the org on behalf of the practitioner. */
export function buildAttestation(input: AttestationInput): string {
  const provenance = {
    resourceType: 'Provenance',
    meta: { profile: [ATTESTATION_PROFILE] },
    recorded: new Date(input.recorded).toISOString(),
    reason: [{ system: ACT_REASON, code: 'TREAT' }],
    agent: [
      {
        role: [{ coding: [{ system: ROLE_CLASS, code: 'AGNT' }] }],
        whoReference: { reference: `Organization/${input.orgId}` },
        onBehalfOfReference: { reference: `Practitioner/${input.practitionerId}` },
      },
    ],
  };
  return JSON.stringify(provenance);
}

/**
 * A user-supplied Provenance, re-serialised on one line (a header cannot hold newlines). Only the shape is checked
 * here; the server judges the profile and answers 422 with its reason.
 */
export function attestationFromJson(text: string, location: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new DpcError('ERR_INPUT', `${location}: not valid JSON`, { location });
  }
  const resource = parsed as { resourceType?: unknown; agent?: unknown } | null;
  if (resource?.resourceType !== 'Provenance') {
    throw new DpcError('ERR_INPUT', `${location}: expected a Provenance resource`, { location });
  }
  if (!Array.isArray(resource.agent) || resource.agent.length === 0) {
    throw new DpcError('ERR_INPUT', `${location}: the Provenance needs an agent with whoReference and onBehalfOfReference`, { location });
  }
  return JSON.stringify(parsed);
}
