/**
 * The 90-day attribution rule (server behaviour §5.4): each membership ends 90 days after it was last attested
 * and then shows as inactive. Members ending within a window, or already inactive, need renewal with `$add`.
 */
import type * as fhir3 from 'fhir/r3.js';
import { attributedNpi, memberPatientId } from '../fhir/resources.js';
import { serverNow } from '../transport/http-date.js';

export type MemberStatus = 'inactive' | 'expiring' | 'active';

export interface ExpiryWindow {
  /** Epoch ms. */
  now: number;
  /** How far ahead counts as "expiring". */
  withinMs: number;
}

/**
 * The window as the server sees it: from its clock, the `Date` of the response that returned the groups
 * (`serverDate`, epoch ms), else this machine's (`localNow`). The server marks a member inactive by its own clock, so
 * "ends within 30 days" must count from there too (a sandbox whose clock was moved, a machine whose clock is off). Pure.
 */
export function expiryWindow(serverDate: number | undefined, localNow: number, withinMs: number): ExpiryWindow {
  return { now: serverNow(serverDate, localNow).now, withinMs };
}

/** A member without an end date is treated as due: the server always sets one, so its absence is suspect. */
export function memberStatus(member: fhir3.GroupMember, window: ExpiryWindow): MemberStatus {
  if (member.inactive) return 'inactive';
  const end = member.period?.end === undefined ? Number.NaN : Date.parse(member.period.end);
  if (Number.isNaN(end) || end <= window.now) return 'inactive';
  return end <= window.now + window.withinMs ? 'expiring' : 'active';
}

export interface ExpiringMember {
  patientId: string;
  status: Exclude<MemberStatus, 'active'>;
  start?: string;
  end?: string;
}

export interface ExpiringGroup {
  groupId: string;
  npi: string;
  members: ExpiringMember[];
}

/** Per group (practitioner), the members whose attribution ends within the window or has ended. Groups with none are left out. */
export function expiringMembers(groups: readonly fhir3.Group[], window: ExpiryWindow): ExpiringGroup[] {
  const result: ExpiringGroup[] = [];
  for (const group of groups) {
    const members: ExpiringMember[] = [];
    for (const member of group.member ?? []) {
      const status = memberStatus(member, window);
      const patientId = memberPatientId(member);
      if (status === 'active' || patientId === undefined) continue;
      members.push({ patientId, status, start: member.period?.start, end: member.period?.end });
    }
    if (members.length > 0) result.push({ groupId: group.id ?? '', npi: attributedNpi(group) ?? '', members });
  }
  return result;
}
