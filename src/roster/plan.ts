/**
 * Roster sync as a pure diff: what the roster file wants (desired) against what DPC holds (current) gives, per
 * practitioner, what to register, whether to create the group, and which members to add, renew and remove.
 * Applying the plan of an already synced roster is a no-op, which makes re-running a sync change nothing.
 */
import type * as fhir3 from 'fhir/r3.js';
import { attributedNpi, buildPatient, mbiOf, memberPatientId, npiOf } from '../fhir/resources.js';
import { inputRejected } from '../fhir/validate.js';
import { memberStatus } from './expiry.js';
import { MAX_MEMBERS_PER_GROUP, type PatientDetails, type RosterRow } from './roster-file.js';

const DAY_MS = 86_400_000;

export interface DesiredRoster {
  /** Name of the roster file, for messages. */
  source: string;
  /** NPI → MBIs attributed to that practitioner, in file order. */
  members: Map<string, string[]>;
  /** `file:line` where each NPI / MBI first appears. */
  npiLocation: Map<string, string>;
  mbiLocation: Map<string, string>;
  /**
   * Patients that can be registered when DPC lacks them, by MBI: the details of a roster row (made into a Patient only
   * when DPC lacks it: a 100,000-row re-sync builds none), or a resource of a patient bundle.
   */
  patients: Map<string, fhir3.Patient | PatientDetails>;
  /** Practitioners that can be registered when DPC lacks them (a practitioner bundle), by NPI. */
  practitioners: Map<string, fhir3.Practitioner>;
  /** What the roster file's header left out, as `file:line: …` (ParsedRoster.warnings). */
  warnings?: readonly string[];
}

export interface CurrentState {
  practitioners: readonly fhir3.Practitioner[];
  patients: readonly fhir3.Patient[];
  groups: readonly fhir3.Group[];
}

export interface PlanMember {
  mbi: string;
  /** Known when DPC already has the patient; filled in after registration otherwise. */
  patientId?: string;
}

export interface PractitionerPlan {
  npi: string;
  /** Undefined when the practitioner is registered by this sync. */
  practitionerId?: string;
  /** Undefined when the group is created by this sync (with the `add` members). */
  groupId?: string;
  add: PlanMember[];
  renew: PlanMember[];
  remove: PlanMember[];
  /** Active members that stay as they are. */
  unchanged: number;
}

export interface SyncPlan {
  registerPractitioners: fhir3.Practitioner[];
  registerPatients: fhir3.Patient[];
  practitioners: PractitionerPlan[];
}

export interface PlanOptions {
  /** Epoch ms. */
  now: number;
  /** Renew members whose attribution ends within this many days (or has ended). */
  withinDays: number;
  /** Remove active members the roster no longer lists (default: leave them). */
  removeMissing?: boolean;
}

export interface DesiredSources {
  /** Patients from a bundle the user supplied, for MBIs whose rows carry no details. */
  patients?: readonly fhir3.Patient[];
  practitioners?: readonly fhir3.Practitioner[];
}

/** Checked rows → the desired state. Row details win over a bundle for the same MBI. */
export function desiredRoster(source: string, rows: readonly RosterRow[], sources: DesiredSources = {}): DesiredRoster {
  const desired: DesiredRoster = {
    source,
    members: new Map(),
    npiLocation: new Map(),
    mbiLocation: new Map(),
    patients: new Map(),
    practitioners: new Map(),
  };
  for (const patient of sources.patients ?? []) {
    const mbi = mbiOf(patient);
    if (mbi) desired.patients.set(mbi, patient);
  }
  for (const practitioner of sources.practitioners ?? []) {
    const npi = npiOf(practitioner);
    if (npi) desired.practitioners.set(npi, practitioner);
  }
  // Sets, not list.includes: 1,350 members per practitioner, a hundred thousand rows
  const members = new Map<string, Set<string>>();
  for (const row of rows) {
    const set = members.get(row.npi) ?? new Set<string>();
    members.set(row.npi, set.add(row.mbi));
    if (!desired.npiLocation.has(row.npi)) desired.npiLocation.set(row.npi, row.location);
    if (!desired.mbiLocation.has(row.mbi)) desired.mbiLocation.set(row.mbi, row.location);
    if (row.patient) desired.patients.set(row.mbi, row.patient);
  }
  for (const [npi, set] of members) desired.members.set(npi, [...set]);
  return desired;
}

/** DPC's current state, indexed for the diff. */
interface CurrentIndex {
  practitionerIds: Map<string, string>;
  patientIds: Map<string, string>;
  mbiById: Map<string, string>;
  groupsByNpi: Map<string, fhir3.Group>;
}

function indexCurrent(current: CurrentState): CurrentIndex {
  const index: CurrentIndex = { practitionerIds: new Map(), patientIds: new Map(), mbiById: new Map(), groupsByNpi: new Map() };
  for (const p of current.practitioners) {
    const npi = npiOf(p);
    if (npi && p.id) index.practitionerIds.set(npi, p.id);
  }
  for (const p of current.patients) {
    const mbi = mbiOf(p);
    if (mbi && p.id) {
      index.patientIds.set(mbi, p.id);
      index.mbiById.set(p.id, mbi);
    }
  }
  for (const g of current.groups) {
    const npi = attributedNpi(g);
    if (npi) index.groupsByNpi.set(npi, g);
  }
  return index;
}

function membersById(group: fhir3.Group | undefined): Map<string, fhir3.GroupMember> {
  const members = new Map<string, fhir3.GroupMember>();
  for (const m of group?.member ?? []) {
    const id = memberPatientId(m);
    if (id) members.set(id, m);
  }
  return members;
}

/**
 * The plan, or an ERR_INPUT listing every problem (practitioner missing, patient missing and not registrable,
 * roster limit including the members DPC still counts) — in which case nothing may be sent.
 */
export function planSync(desired: DesiredRoster, current: CurrentState, options: PlanOptions): SyncPlan {
  const window = { now: options.now, withinMs: options.withinDays * DAY_MS };
  const index = indexCurrent(current);
  const problems: string[] = [];

  const registerPractitioners: fhir3.Practitioner[] = [];
  for (const npi of desired.members.keys()) {
    if (index.practitionerIds.has(npi)) continue;
    const resource = desired.practitioners.get(npi);
    if (resource) registerPractitioners.push(resource);
    else problems.push(`${desired.npiLocation.get(npi)}: practitioner ${npi} is not registered in DPC; register it first or pass a practitioner bundle`);
  }
  const registerPatients: fhir3.Patient[] = [];
  for (const [mbi, location] of desired.mbiLocation) {
    if (index.patientIds.has(mbi)) continue;
    const resource = desired.patients.get(mbi);
    if (resource) registerPatients.push('resourceType' in resource ? resource : buildPatient({ mbi, ...resource }));
    else problems.push(`${location}: patient ${mbi} is not registered in DPC and cannot be registered: add given,family,birth_date,gender columns or pass a patient bundle`);
  }

  const plans: PractitionerPlan[] = [];
  for (const [npi, mbis] of desired.members) {
    const existing = membersById(index.groupsByNpi.get(npi));
    const plan = planPractitioner(npi, mbis, existing, index, window, options.removeMissing ?? false);
    if (existing.size + plan.add.length > MAX_MEMBERS_PER_GROUP) {
      problems.push(
        `${desired.npiLocation.get(npi)}: practitioner ${npi} would have ${existing.size + plan.add.length} members in DPC ` +
          `(its group keeps ${existing.size}, inactive ones included), more than the limit of ${MAX_MEMBERS_PER_GROUP}`,
      );
    }
    plans.push(plan);
  }
  if (options.removeMissing) {
    // practitioners the file no longer lists at all: their whole active roster goes
    for (const npi of index.groupsByNpi.keys()) {
      if (desired.members.has(npi)) continue;
      const plan = planPractitioner(npi, [], membersById(index.groupsByNpi.get(npi)), index, window, true);
      if (plan.remove.length > 0) plans.push(plan);
    }
  }

  if (problems.length > 0) throw inputRejected(desired.source, problems);
  return { registerPractitioners, registerPatients, practitioners: plans };
}

/** One practitioner: new members are added, lapsing or inactive ones renewed, unlisted active ones removed (if asked). */
function planPractitioner(
  npi: string,
  mbis: readonly string[],
  existing: Map<string, fhir3.GroupMember>,
  index: CurrentIndex,
  window: { now: number; withinMs: number },
  removeMissing: boolean,
): PractitionerPlan {
  const plan: PractitionerPlan = { npi, add: [], renew: [], remove: [], unchanged: 0 };
  const practitionerId = index.practitionerIds.get(npi);
  if (practitionerId) plan.practitionerId = practitionerId;
  const groupId = index.groupsByNpi.get(npi)?.id;
  if (groupId) plan.groupId = groupId;
  const wanted = new Set<string>();
  for (const mbi of mbis) {
    const id = index.patientIds.get(mbi);
    const member = id === undefined ? { mbi } : { mbi, patientId: id };
    const current = id === undefined ? undefined : existing.get(id);
    if (id) wanted.add(id);
    if (!current) plan.add.push(member);
    else if (memberStatus(current, window) === 'active') plan.unchanged++;
    else plan.renew.push(member);
  }
  if (removeMissing) plan.remove = removals(existing, wanted, index.mbiById, window);
  return plan;
}

function removals(existing: Map<string, fhir3.GroupMember>, wanted: Set<string>, mbiById: Map<string, string>, window: { now: number; withinMs: number }): PlanMember[] {
  const out: PlanMember[] = [];
  for (const [id, m] of existing) {
    // inactive members are already out of the roster as far as exports go
    if (wanted.has(id) || memberStatus(m, window) === 'inactive') continue;
    out.push({ mbi: mbiById.get(id) ?? '', patientId: id });
  }
  return out;
}

/** Number of write requests-worth of change: zero means DPC already matches the roster. */
export function planChanges(plan: SyncPlan): number {
  return (
    plan.registerPractitioners.length +
    plan.registerPatients.length +
    plan.practitioners.reduce((n, p) => n + p.add.length + p.renew.length + p.remove.length, 0)
  );
}
