/**
 * Applying a sync plan with a bounded number of writes: one `$submit` for practitioners, patients in `$submit`
 * chunks, then per practitioner one group write (create with all members, or `$add` with adds and renewals,
 * attested for that practitioner) and a `$remove` only when members go. Each write is one step (steps.ts).
 */
import { DpcError } from '../errors.js';
import { addMembers, createGroup, removeMembers } from '../fhir/groups.js';
import { submitPatients } from '../fhir/patients.js';
import { submitPractitioners } from '../fhir/practitioners.js';
import { buildAttestation } from '../fhir/provenance.js';
import { mbiOf, npiOf } from '../fhir/resources.js';
import { plural } from '../plural.js';
import { runWriteSteps, type WriteStep } from './steps.js';
import type { PlanMember, PractitionerPlan, SyncPlan } from './plan.js';
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

/**
 * Applies the plan step by step (see steps.ts). A failure part way throws a PartlyAppliedError<SyncResult>: the same
 * error, with what was applied, what failed and what was not sent; a second sync plans from DPC's state and sends only
 * what is left (patients and practitioners DPC has are never submitted again).
 */
export async function applySyncPlan(client: DpcClient, plan: SyncPlan, options: ApplyOptions): Promise<SyncResult> {
  const result: SyncResult = { registeredPractitioners: 0, registeredPatients: 0, groups: [] };
  const practitionerIds = new Map<string, string>();
  const patientIds = new Map<string, string>();
  const idsOf = (members: readonly PlanMember[]): string[] =>
    members.map((m) => {
      const id = m.patientId ?? patientIds.get(m.mbi);
      if (id === undefined) throw new DpcError('ERR_HTTP', `the server did not return patient ${m.mbi} from $submit`);
      return id;
    });
  const changeOf = (p: PractitionerPlan, groupId: string): GroupChange => {
    let change = result.groups.find((g) => g.npi === p.npi);
    if (!change) result.groups.push((change = { npi: p.npi, groupId, created: false, added: 0, renewed: 0, removed: 0 }));
    return change;
  };

  const steps: WriteStep[] = [];
  const practitioners = plan.registerPractitioners;
  if (practitioners.length > 0) {
    steps.push({
      what: `register ${plural(practitioners.length, 'practitioner')}`,
      async run() {
        for (const p of await submitPractitioners(client, practitioners)) {
          const npi = npiOf(p);
          if (npi && p.id) practitionerIds.set(npi, p.id);
        }
        result.registeredPractitioners = practitioners.length;
        options.onEvent?.({ type: 'registered', resourceType: 'Practitioner', count: practitioners.length });
        return `registered ${plural(practitioners.length, 'practitioner')}`;
      },
    });
  }
  const chunk = options.patientChunk ?? PATIENT_CHUNK;
  const total = plan.registerPatients.length;
  for (let i = 0; i < total; i += chunk) {
    const batch = plan.registerPatients.slice(i, i + chunk);
    const which = total <= chunk ? plural(total, 'patient') : `patients ${i + 1}-${i + batch.length} of ${total}`;
    steps.push({
      what: `register ${which}`,
      async run() {
        for (const p of await submitPatients(client, batch)) {
          const mbi = mbiOf(p);
          if (mbi && p.id) patientIds.set(mbi, p.id);
        }
        result.registeredPatients += batch.length;
        options.onEvent?.({ type: 'registered', resourceType: 'Patient', count: batch.length });
        return `registered ${which}`;
      },
    });
  }

  for (const p of plan.practitioners) {
    const attesting = p.add.length + p.renew.length;
    if (attesting > 0 && p.groupId === undefined) {
      steps.push({
        what: `practitioner ${p.npi}: create a group with ${plural(attesting, 'member')}`,
        async run() {
          const group = await createGroup(client, { npi: p.npi, patientIds: idsOf([...p.add, ...p.renew]), provenance: attestation(p) });
          Object.assign(changeOf(p, group.id ?? ''), { created: true, added: p.add.length, renewed: p.renew.length });
          options.onEvent?.({ type: 'group', npi: p.npi, action: 'create', members: attesting });
          return `practitioner ${p.npi}: created group ${group.id} with ${plural(attesting, 'member')}`;
        },
      });
    } else if (attesting > 0 && p.groupId !== undefined) {
      const groupId = p.groupId;
      const counts = (add: string, renew: string) =>
        [p.add.length > 0 ? `${add} ${p.add.length}` : '', p.renew.length > 0 ? `${renew} ${p.renew.length}` : ''].filter(Boolean).join(', ');
      steps.push({
        what: `practitioner ${p.npi}: group ${groupId}: ${counts('add', 'renew')}`,
        async run() {
          await addMembers(client, groupId, { npi: p.npi, patientIds: idsOf([...p.add, ...p.renew]), provenance: attestation(p) });
          Object.assign(changeOf(p, groupId), { added: p.add.length, renewed: p.renew.length });
          options.onEvent?.({ type: 'group', npi: p.npi, action: 'add', members: attesting });
          return `practitioner ${p.npi}: group ${groupId}: ${counts('added', 'renewed')}`;
        },
      });
    }
    if (p.remove.length > 0 && p.groupId !== undefined) {
      const groupId = p.groupId;
      steps.push({
        what: `practitioner ${p.npi}: group ${groupId}: remove ${p.remove.length}`,
        async run() {
          await removeMembers(client, groupId, { npi: p.npi, patientIds: idsOf(p.remove) });
          changeOf(p, groupId).removed = p.remove.length;
          options.onEvent?.({ type: 'group', npi: p.npi, action: 'remove', members: p.remove.length });
          return `practitioner ${p.npi}: group ${groupId}: removed ${p.remove.length}`;
        },
      });
    }
  }

  /** The attestation for this practitioner's group writes, by the id DPC gave it (registered by this sync or before). */
  function attestation(p: PractitionerPlan) {
    const practitionerId = p.practitionerId ?? practitionerIds.get(p.npi);
    if (practitionerId === undefined) throw new DpcError('ERR_HTTP', `the server did not return practitioner ${p.npi} from $submit`);
    return buildAttestation({ orgId: options.orgId, practitionerId, recorded: client.now() });
  }

  await runWriteSteps(steps, () => structuredClone(result), "run the sync again: it reads what DPC holds and sends only what is left");
  return result;
}
