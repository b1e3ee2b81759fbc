import type * as fhir3 from 'fhir/r3.js';
import { describe, expect, it } from 'vitest';
import { buildGroup, buildPatient, buildPractitioner } from '../../src/fhir/resources.js';
import { expiringMembers, expiryWindow, memberStatus } from '../../src/roster/expiry.js';
import { desiredRoster, planChanges, planSync, type CurrentState } from '../../src/roster/plan.js';
import { parseRoster } from '../../src/roster/roster-file.js';
import { isDpcError } from '../../src/errors.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-25T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const NPI_A = '1234329724';
const NPI_B = '1232131239';

const practitioner = (npi: string, id: string) => ({ ...buildPractitioner({ npi, given: 'G', family: 'F' }), id });
const patient = (mbi: string, id: string) => ({ ...buildPatient({ mbi, given: 'G', family: 'F', birthDate: '1950-01-01', gender: 'male' as const }), id });
function group(id: string, npi: string, members: Array<[string, number, boolean?]>): fhir3.Group {
  const g = buildGroup(npi, []);
  g.id = id;
  g.member = members.map(([pid, endMs, inactive]) => ({ entity: { reference: `Patient/${pid}` }, period: { start: iso(endMs - 90 * DAY), end: iso(endMs) }, inactive: inactive ?? false }));
  return g;
}
const rows = (text: string) => {
  const parsed = parseRoster(text, 'r.csv', NOW);
  expect(parsed.problems).toEqual([]);
  return parsed.rows;
};

describe('planSync', () => {
  const current: CurrentState = {
    practitioners: [practitioner(NPI_A, 'prA')],
    patients: [patient('1S00E00AA01', 'p1'), patient('1S00E00AA02', 'p2'), patient('1S00E00AA03', 'p3'), patient('1S00E00AA04', 'p4')],
    groups: [group('gA', NPI_A, [['p1', NOW + 60 * DAY], ['p2', NOW + 5 * DAY], ['p3', NOW - DAY, true], ['p4', NOW + 60 * DAY]])],
  };

  it('adds new members, renews expiring and inactive ones, keeps the rest, removes only with the flag', () => {
    const desired = desiredRoster('r.csv', rows('1S00E00AA01,1234329724\n1S00E00AA02,1234329724\n1S00E00AA03,1234329724\n1S00E00AA05,1234329724,N,M,1960-05-05,F\n'));
    const keep = planSync(desired, current, { now: NOW, withinDays: 14 });
    expect(keep.registerPractitioners).toEqual([]);
    expect(keep.registerPatients.map((p) => p.identifier![0]!.value)).toEqual(['1S00E00AA05']);
    expect(keep.practitioners).toEqual([
      { npi: NPI_A, practitionerId: 'prA', groupId: 'gA', add: [{ mbi: '1S00E00AA05' }], renew: [{ mbi: '1S00E00AA02', patientId: 'p2' }, { mbi: '1S00E00AA03', patientId: 'p3' }], remove: [], unchanged: 1 },
    ]);
    const remove = planSync(desired, current, { now: NOW, withinDays: 14, removeMissing: true });
    expect(remove.practitioners[0]!.remove).toEqual([{ mbi: '1S00E00AA04', patientId: 'p4' }]);
  });

  it('plans a new group and practitioner registration from a bundle', () => {
    const desired = desiredRoster('r.csv', rows('1S00E00AA01,1232131239\n'), { practitioners: [buildPractitioner({ npi: NPI_B, given: 'R', family: 'S' })] });
    const plan = planSync(desired, current, { now: NOW, withinDays: 14 });
    expect(plan.registerPractitioners).toHaveLength(1);
    expect(plan.practitioners).toEqual([{ npi: NPI_B, add: [{ mbi: '1S00E00AA01', patientId: 'p1' }], renew: [], remove: [], unchanged: 0 }]);
  });

  it('is empty once DPC matches the roster', () => {
    const desired = desiredRoster('r.csv', rows('1S00E00AA01,1234329724\n1S00E00AA04,1234329724\n'));
    const plan = planSync(desired, current, { now: NOW, withinDays: 14 });
    expect(planChanges(plan)).toBe(0);
  });

  it('removes the whole active roster of a practitioner the file no longer lists, with the flag', () => {
    const other = { ...current, practitioners: [...current.practitioners, practitioner(NPI_B, 'prB')], groups: [...current.groups, group('gB', NPI_B, [['p1', NOW + 60 * DAY], ['p3', NOW - DAY, true]])] };
    const desired = desiredRoster('r.csv', rows('1S00E00AA01,1234329724\n1S00E00AA04,1234329724\n'));
    expect(planSync(desired, other, { now: NOW, withinDays: 14 }).practitioners).toHaveLength(1);
    const plan = planSync(desired, other, { now: NOW, withinDays: 14, removeMissing: true });
    expect(plan.practitioners[1]).toEqual({ npi: NPI_B, practitionerId: 'prB', groupId: 'gB', add: [], renew: [], remove: [{ mbi: '1S00E00AA01', patientId: 'p1' }], unchanged: 0 });
  });

  it('rejects missing practitioners and unregistrable patients, listing each with its line', () => {
    const desired = desiredRoster('r.csv', rows('1S00E00AA01,1232131239\n1S00E00AA09,1234329724\n'));
    try {
      planSync(desired, current, { now: NOW, withinDays: 14 });
      expect.unreachable();
    } catch (err) {
      expect(isDpcError(err, 'ERR_INPUT')).toBe(true);
      expect((err as Error).message).toBe('r.csv: 2 problems found, nothing was sent');
      expect((err as { details: string[] }).details).toEqual([
        'r.csv:1: practitioner 1232131239 is not registered in DPC; register it first or pass a practitioner bundle',
        'r.csv:2: patient 1S00E00AA09 is not registered in DPC and cannot be registered: add given,family,birth_date,gender columns or pass a patient bundle',
      ]);
    }
  });
});

describe('expiry', () => {
  it('classifies members by the window', () => {
    const window = { now: NOW, withinMs: 14 * DAY };
    const m = (end: number, inactive = false): fhir3.GroupMember => ({ entity: { reference: 'Patient/x' }, period: { end: iso(end) }, inactive });
    expect(memberStatus(m(NOW + 20 * DAY), window)).toBe('active');
    expect(memberStatus(m(NOW + 14 * DAY), window)).toBe('expiring');
    expect(memberStatus(m(NOW), window)).toBe('inactive');
    expect(memberStatus(m(NOW + 50 * DAY, true), window)).toBe('inactive');
  });
  it("counts the window from the server's clock (its Date) when it sent one, else from this machine's", () => {
    const serverAhead = NOW + 60 * DAY; // e.g. a sandbox whose clock was moved 60 days on
    expect(expiryWindow(serverAhead, NOW, 14 * DAY)).toEqual({ now: serverAhead, withinMs: 14 * DAY });
    expect(expiryWindow(undefined, NOW, 14 * DAY)).toEqual({ now: NOW, withinMs: 14 * DAY });
    const groups = [group('gA', NPI_A, [['p1', NOW + 70 * DAY], ['p2', NOW + 90 * DAY]])];
    // by this machine's clock nobody is due; by the server's, p1 ends within 14 days
    expect(expiringMembers(groups, expiryWindow(undefined, NOW, 14 * DAY))).toEqual([]);
    expect(expiringMembers(groups, expiryWindow(serverAhead, NOW, 14 * DAY)).flatMap((g) => g.members.map((m) => [m.patientId, m.status]))).toEqual([['p1', 'expiring']]);
  });

  it('reports per practitioner only the members that need renewal', () => {
    const groups = [group('gA', NPI_A, [['p1', NOW + 60 * DAY], ['p2', NOW + 5 * DAY], ['p3', NOW - DAY, true]]), group('gB', NPI_B, [['p1', NOW + 60 * DAY]])];
    expect(expiringMembers(groups, { now: NOW, withinMs: 14 * DAY })).toEqual([
      {
        groupId: 'gA',
        npi: NPI_A,
        members: [
          { patientId: 'p2', status: 'expiring', start: iso(NOW - 85 * DAY), end: iso(NOW + 5 * DAY) },
          { patientId: 'p3', status: 'inactive', start: iso(NOW - 91 * DAY), end: iso(NOW - DAY) },
        ],
      },
    ]);
  });
});
