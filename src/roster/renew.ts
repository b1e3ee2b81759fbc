/**
 * 90-day re-attribution for a weekly cron: find members ending within the window (or already inactive) in every
 * group and renew them with one attested `$add` per practitioner (the server extends them to now+90 days).
 *
 * Inactive members are renewed only on request: DPC shows a member removed with `$remove` exactly like one whose
 * attribution lapsed (inactive, end date passed), and re-attesting a removed patient would be a false attestation.
 * `roster sync` re-activates lapsed members safely because the roster says who belongs.
 */
import type * as fhir3 from 'fhir/r3.js';
import { DpcError } from '../errors.js';
import { idOf } from '../fhir/http.js';
import { addMembers, listGroupsDated } from '../fhir/groups.js';
import { getOrganization } from '../fhir/organization.js';
import { listPractitioners } from '../fhir/practitioners.js';
import { buildAttestation } from '../fhir/provenance.js';
import { memberPatientId, npiOf } from '../fhir/resources.js';
import { expiringMembers, expiryWindow, type ExpiringGroup, type ExpiringMember } from './expiry.js';
import { plural } from '../plural.js';
import { runWriteSteps } from './steps.js';
import type { DpcClient } from '../client.js';

export interface RenewOptions {
  withinMs: number;
  /** Also renew members that are already inactive (lapsed or removed; see above). */
  includeInactive?: boolean;
  dryRun?: boolean;
  /**
   * Called, without includeInactive, with the inactive members left alone (per group), so that a caller can say so: a
   * lapsed roster that renews nothing is otherwise silent until exports miss those patients.
   */
  onInactiveLeft?: (groups: ExpiringGroup[]) => void;
}

/** The groups with members ending within the window or inactive, by the server's clock (see expiryWindow). */
export async function findExpiring(client: DpcClient, withinMs: number): Promise<ExpiringGroup[]> {
  const { groups, serverDate } = await listGroupsDated(client);
  return expiringMembers(groups, expiryWindow(serverDate, client.now(), withinMs));
}

/**
 * The groups and members renewed (or, on a dry run, that would be). After a renewal each member's `start`/`end`
 * are the new period the server returned, while `status` stays the one that made it due (expiring or inactive).
 */
export async function renewExpiring(client: DpcClient, options: RenewOptions): Promise<ExpiringGroup[]> {
  const found = await findExpiring(client, options.withinMs);
  const only = (keep: (m: ExpiringMember) => boolean) => found.map((g) => ({ ...g, members: g.members.filter(keep) })).filter((g) => g.members.length > 0);
  const due = only((m) => options.includeInactive === true || m.status === 'expiring');
  const left = options.includeInactive ? [] : only((m) => m.status === 'inactive');
  if (left.length > 0) options.onInactiveLeft?.(left);
  if (options.dryRun || due.length === 0) return due;
  const [org, practitioners] = await Promise.all([getOrganization(client), listPractitioners(client)]);
  const practitionerIds = new Map(practitioners.flatMap((p) => (p.id && npiOf(p) ? [[npiOf(p)!, p.id] as const] : [])));
  const renewed: ExpiringGroup[] = [];
  // one step per group: a failure part way says which groups were renewed (PartlyAppliedError<ExpiringGroup[]>)
  const steps = due.map((group) => ({
    what: `practitioner ${group.npi} (group ${group.groupId}): renew ${plural(group.members.length, 'member')}`,
    async run() {
      const practitionerId = practitionerIds.get(group.npi);
      if (practitionerId === undefined) {
        throw new DpcError('ERR_NOT_FOUND', `group ${group.groupId} is attributed to NPI ${group.npi}, which is not a practitioner of your organization`);
      }
      const provenance = buildAttestation({ orgId: idOf(org), practitionerId, recorded: client.now() });
      const updated = await addMembers(client, group.groupId, { npi: group.npi, patientIds: group.members.map((m) => m.patientId), provenance });
      renewed.push({ ...group, members: group.members.map((m) => withNewPeriod(m, updated)) });
      return `practitioner ${group.npi} (group ${group.groupId}): ${plural(group.members.length, 'member')} renewed`;
    },
  }));
  await runWriteSteps(steps, () => structuredClone(renewed), 'run the renewal again: members renewed already are no longer due');
  return renewed;
}

function withNewPeriod(member: ExpiringMember, updated: fhir3.Group): ExpiringMember {
  const period = updated.member?.find((m) => memberPatientId(m) === member.patientId)?.period;
  return { ...member, start: period?.start, end: period?.end };
}
