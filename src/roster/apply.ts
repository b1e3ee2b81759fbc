/**
 * Applying a sync plan with a bounded number of writes: one `$submit` for practitioners, patients in `$submit`
 * chunks, then per practitioner one group write (create with all members, or `$add` with adds and renewals,
 * attested for that practitioner) and a `$remove` only when members go.
 */
import { DpcError } from '../errors.js';
import { addMembers, createGroup, removeMembers } from '../fhir/groups.js';
import { submitPatients } from '../fhir/patients.js';
import { submitPractitioners } from '../fhir/practitioners.js';
import { buildAttestation } from '../fhir/provenance.js';
import { mbiOf, npiOf } from '../fhir/resources.js';
import type { PlanMember, SyncPlan } from './plan.js';
import type { DpcClient } from '../client.js';

/** Patients per `$submit`: a few hundred keeps each body well under a megabyte even for Synthea-sized resources. */
export const PATIENT_CHUNK = 500;

export type SyncEvent =
  | { type: 'registered'; resourceType: 'Practitioner' | 'Patient'; count: number }
  | { type: 'group'; npi: string; action: 'create' | 'add' | 'remove'; members: number };

export interface ApplyOptions {
  /** The caller's organization id, the attesting agent of every X-Provenance. */
  orgId: string;
  onEvent?: (event: SyncEvent) => void;
  patientChunk?: number;
}

export interface GroupChange {
  npi: string;
  groupId: string;
  created: boolean;
  added: number;
  renewed: number;
  removed: number;
}

export interface SyncResult {
  registeredPractitioners: number;
  registeredPatients: number;
  groups: GroupChange[];
}

export async function applySyncPlan(client: DpcClient, plan: SyncPlan, options: ApplyOptions): Promise<SyncResult> {
  const practitionerIds = new Map<string, string>();
  for (const p of await submitPractitioners(client, plan.registerPractitioners)) {
    const npi = npiOf(p);
    if (npi && p.id) practitionerIds.set(npi, p.id);
  }
  if (plan.registerPractitioners.length > 0) options.onEvent?.({ type: 'registered', resourceType: 'Practitioner', count: plan.registerPractitioners.length });

  const patientIds = new Map<string, string>();
  const chunk = options.patientChunk ?? PATIENT_CHUNK;
  for (let i = 0; i < plan.registerPatients.length; i += chunk) {
    const batch = plan.registerPatients.slice(i, i + chunk);
    for (const p of await submitPatients(client, batch)) {
      const mbi = mbiOf(p);
      if (mbi && p.id) patientIds.set(mbi, p.id);
    }
    options.onEvent?.({ type: 'registered', resourceType: 'Patient', count: batch.length });
  }

  const idsOf = (members: readonly PlanMember[]): string[] =>
    members.map((m) => {
      const id = m.patientId ?? patientIds.get(m.mbi);
      if (id === undefined) throw new DpcError('ERR_HTTP', `the server did not return patient ${m.mbi} from $submit`);
      return id;
    });

  const groups: GroupChange[] = [];
  for (const p of plan.practitioners) {
    const change: GroupChange = { npi: p.npi, groupId: p.groupId ?? '', created: false, added: p.add.length, renewed: p.renew.length, removed: p.remove.length };
    const attesting = p.add.length + p.renew.length > 0;
    if (attesting) {
      const practitionerId = p.practitionerId ?? practitionerIds.get(p.npi);
      if (practitionerId === undefined) throw new DpcError('ERR_HTTP', `the server did not return practitioner ${p.npi} from $submit`);
      const provenance = buildAttestation({ orgId: options.orgId, practitionerId, recorded: client.now() });
      const patientIds = idsOf([...p.add, ...p.renew]);
      if (p.groupId === undefined) {
        const group = await createGroup(client, { npi: p.npi, patientIds, provenance });
        change.groupId = group.id ?? '';
        change.created = true;
        options.onEvent?.({ type: 'group', npi: p.npi, action: 'create', members: patientIds.length });
      } else {
        await addMembers(client, p.groupId, { npi: p.npi, patientIds, provenance });
        options.onEvent?.({ type: 'group', npi: p.npi, action: 'add', members: patientIds.length });
      }
    }
    if (p.remove.length > 0 && p.groupId !== undefined) {
      await removeMembers(client, p.groupId, { npi: p.npi, patientIds: idsOf(p.remove) });
      options.onEvent?.({ type: 'group', npi: p.npi, action: 'remove', members: p.remove.length });
    }
    if (attesting || p.remove.length > 0) groups.push(change);
  }
  return { registeredPractitioners: plan.registerPractitioners.length, registeredPatients: plan.registerPatients.length, groups };
}
