/**
 * Attribution roster maths (behaviour doc §5.3, §5.4), pure over member records and a `now`:
 * 90-day attribution, renewal on `$add`, `$remove` marking inactive, expiry computed on read.
 */
import type { MemberRecord } from './state.js';

export const ATTRIBUTION_MS = 90 * 24 * 3600 * 1000;
/** ExpireAttributions deletes inactive relationships whose end is more than 6 months old. */
const PURGE_AFTER_MS = 183 * 24 * 3600 * 1000;

export function isInactive(member: MemberRecord, now: number): boolean {
  return member.inactive || member.end <= now;
}

/** Members as the server shows them at `now`: expired ones flagged, long-dead ones gone. */
export function visibleMembers(members: readonly MemberRecord[], now: number): Array<MemberRecord & { inactive: boolean }> {
  return members
    .map((m) => ({ ...m, inactive: isInactive(m, now) }))
    .filter((m) => !(m.inactive && now - m.end > PURGE_AFTER_MS));
}

export function activeMembers(members: readonly MemberRecord[], now: number): MemberRecord[] {
  return members.filter((m) => !isInactive(m, now));
}

/** POST/PUT: every member starts now and is attributed for 90 days. */
export function freshMembers(patientIds: readonly string[], now: number): MemberRecord[] {
  return [...new Set(patientIds)].map((patientId) => ({ patientId, start: now, end: now + ATTRIBUTION_MS, inactive: false }));
}

/** `$add`: renew existing members to now+90 d (start reset only if they were inactive), append new ones. */
export function addMembers(existing: readonly MemberRecord[], patientIds: readonly string[], now: number): MemberRecord[] {
  const wanted = new Set(patientIds);
  const result = existing.map((m) => {
    if (!wanted.has(m.patientId)) return m;
    wanted.delete(m.patientId);
    return { patientId: m.patientId, start: isInactive(m, now) ? now : m.start, end: now + ATTRIBUTION_MS, inactive: false };
  });
  return [...result, ...freshMembers([...wanted], now)];
}

/** `$remove`: mark members inactive with end = now. Returns undefined when one is not in the roster. */
export function removeMembers(existing: readonly MemberRecord[], patientIds: readonly string[], now: number): MemberRecord[] | undefined {
  const known = new Set(existing.map((m) => m.patientId));
  if (patientIds.some((id) => !known.has(id))) return undefined;
  const removing = new Set(patientIds);
  return existing.map((m) => (removing.has(m.patientId) ? { ...m, inactive: true, end: now } : m));
}

/** Distinct patients `$add` would leave in the roster (existing incl. inactive, plus the body). */
export function rosterSizeAfterAdd(existing: readonly MemberRecord[], patientIds: readonly string[]): number {
  return new Set([...existing.map((m) => m.patientId), ...patientIds]).size;
}
