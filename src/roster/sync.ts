/**
 * `dpc roster sync` as a library call: check the file (and any bundles) completely, read DPC's current state,
 * plan, then apply. Any problem found before the plan rejects the whole roster and nothing is written.
 */
import type * as fhir3 from 'fhir/r3.js';
import { idOf } from '../fhir/http.js';
import { listGroups } from '../fhir/groups.js';
import { getOrganization } from '../fhir/organization.js';
import { listPatients } from '../fhir/patients.js';
import { listPractitioners } from '../fhir/practitioners.js';
import { resourcesOfType } from '../fhir/resources.js';
import { entryProblems, inputRejected } from '../fhir/validate.js';
import { applySyncPlan, type SyncEvent, type SyncResult } from './apply.js';
import { desiredRoster, planSync, type CurrentState, type DesiredRoster, type SyncPlan } from './plan.js';
import { parseRoster } from './roster-file.js';
import type { DpcClient } from '../client.js';

export interface JsonSource {
  /** File name, for messages. */
  location: string;
  json: unknown;
}

export interface RosterInput {
  /** File name, for messages. */
  file: string;
  text: string;
  /** A Patient bundle registering MBIs whose rows have no name/birth date/gender. */
  patients?: JsonSource;
  /** A Practitioner bundle registering NPIs DPC does not know yet. */
  practitioners?: JsonSource;
}

export interface SyncOptions {
  /** Renew members ending within this many days (default 14). */
  withinDays?: number;
  removeMissing?: boolean;
  dryRun?: boolean;
  /** Called with the plan before anything is written (the CLI prints it). */
  onPlan?: (plan: SyncPlan) => void;
  onEvent?: (event: SyncEvent) => void;
}

export interface SyncOutcome {
  plan: SyncPlan;
  /** What the roster's header left out, as `file:line: …`, for the caller to show. */
  warnings: string[];
  /** Absent on a dry run. */
  result?: SyncResult;
}

export const DEFAULT_RENEW_WITHIN_DAYS = 14;

export async function loadCurrentState(client: DpcClient): Promise<CurrentState> {
  const [practitioners, patients, groups] = await Promise.all([listPractitioners(client), listPatients(client), listGroups(client)]);
  return { practitioners, patients, groups };
}

/** Check everything that needs no server; throws ERR_INPUT with every `file:line` problem. */
export function checkRosterInput(input: RosterInput, now: number): DesiredRoster {
  const { rows, problems, warnings } = parseRoster(input.text, input.file, now);
  const patients = input.patients ? resourcesOfType<fhir3.Patient>(input.patients.json, 'Patient', input.patients.location) : [];
  const practitioners = input.practitioners ? resourcesOfType<fhir3.Practitioner>(input.practitioners.json, 'Practitioner', input.practitioners.location) : [];
  if (input.patients) problems.push(...entryProblems(input.patients.location, patients, now));
  if (input.practitioners) problems.push(...entryProblems(input.practitioners.location, practitioners, now));
  if (problems.length > 0) throw inputRejected(input.file, problems);
  return { ...desiredRoster(input.file, rows, { patients, practitioners }), warnings };
}

export async function syncRoster(client: DpcClient, input: RosterInput, options: SyncOptions = {}): Promise<SyncOutcome> {
  const desired = checkRosterInput(input, client.now());
  const [current, org] = await Promise.all([loadCurrentState(client), options.dryRun ? undefined : getOrganization(client)]);
  const plan = planSync(desired, current, {
    now: client.now(),
    withinDays: options.withinDays ?? DEFAULT_RENEW_WITHIN_DAYS,
    removeMissing: options.removeMissing ?? false,
  });
  options.onPlan?.(plan);
  const warnings = [...(desired.warnings ?? [])];
  if (org === undefined) return { plan, warnings }; // dry run
  const result = await applySyncPlan(client, plan, { orgId: idOf(org), onEvent: options.onEvent });
  return { plan, warnings, result };
}
