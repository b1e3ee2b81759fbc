/** Group rosters, X-Provenance and 90-day attribution over raw HTTP (behaviour doc §5, §6.1 406 rules). */
import type * as fhir3 from 'fhir/r3.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { prng, validNpi } from '../fuzz/gen/common.js';
import { testKey } from '../keys.js';
import { api, groupBody, newOrg, outcomeText, provenance, rsaKey, seedToken } from './helpers.js';

const DAY = 24 * 3600 * 1000;
const LIMIT = 6;
let sb: SandboxHandle;
let token: string;
let orgId: string;
/** NPI → practitioner id of the seeded org. */
const practitioners = new Map<string, string>();
let patientIds: string[] = [];
/** A practitioner that exists only in another org. */
let foreignPractitionerId = '';

beforeAll(async () => {
  const [started, otherKey] = [await startSandbox({ seed: true, seedKey: testKey(0), testMode: true, patientLimit: LIMIT }), rsaKey(1)];
  sb = started;
  token = await seedToken(sb);
  orgId = sb.seed!.orgId;
  const prs = (await (await api(sb, token, '/Practitioner')).json()) as fhir3.Bundle;
  for (const e of prs.entry ?? []) {
    const p = e.resource as fhir3.Practitioner;
    practitioners.set(p.identifier![0]!.value!, p.id!);
  }
  const pts = (await (await api(sb, token, '/Patient')).json()) as fhir3.Bundle;
  patientIds = (pts.entry ?? []).map((e) => e.resource!.id!);
  const other = await newOrg(sb, otherKey);
  const created = await api(sb, other.token, '/Practitioner', {
    method: 'POST',
    json: { resourceType: 'Practitioner', identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '1982746731' }], name: [{ family: 'F', given: ['G'] }] },
  });
  foreignPractitionerId = ((await created.json()) as fhir3.Practitioner).id!;
});
afterAll(async () => sb?.close());

/** Moves sandbox time; access tokens live 300 s, so take a fresh one. */
async function advance(ms: number): Promise<void> {
  sb.clock.advance(ms);
  token = await seedToken(sb);
}
const pid = (npi: string) => practitioners.get(npi)!;
const write = (method: string, path: string, body: fhir3.Group, practitionerId?: string | null, header?: string) => {
  const headers: Record<string, string> = {};
  if (header !== undefined) headers['X-Provenance'] = header;
  else if (practitionerId !== null) headers['X-Provenance'] = provenance(orgId, practitionerId ?? '');
  return api(sb, token, path, { method, json: body, headers });
};
async function createGroup(npi: string, members: string[]): Promise<fhir3.Group> {
  const res = await write('POST', '/Group', groupBody(npi, members), pid(npi));
  expect(res.status).toBe(201);
  return (await res.json()) as fhir3.Group;
}
const getGroup = async (id: string) => (await (await api(sb, token, `/Group/${id}`)).json()) as fhir3.Group;
const kickoff = (id: string) => api(sb, token, `/Group/${id}/$export`, { headers: { Prefer: 'respond-async' } });

describe('X-Provenance', () => {
  const body = () => groupBody('1234329724', [patientIds[0]!]);

  it('missing → 400 "Must have X-Provenance header"', async () => {
    const res = await write('POST', '/Group', body(), null);
    expect(res.status).toBe(400);
    expect(outcomeText(await res.json())).toEqual(['Must have X-Provenance header']);
  });

  it('not a Provenance → 400 "Cannot parse FHIR `Provenance` resource"', async () => {
    const res = await write('POST', '/Group', body(), undefined, '{"resourceType":"Patient"}');
    expect(res.status).toBe(400);
    expect(outcomeText(await res.json())).toEqual(['Cannot parse FHIR `Provenance` resource']);
  });

  it('profile violations (reason not TREAT, no onBehalfOf) → 422', async () => {
    const wrongReason = provenance(orgId, pid('1234329724'), { reason: [{ system: 'http://hl7.org/fhir/v3/ActReason', code: 'HPAYMT' }] });
    expect((await write('POST', '/Group', body(), undefined, wrongReason)).status).toBe(422);
    const noBehalf = JSON.parse(provenance(orgId, pid('1234329724'))) as { agent: Array<Record<string, unknown>> };
    delete noBehalf.agent[0]!.onBehalfOfReference;
    const res = await write('POST', '/Group', body(), undefined, JSON.stringify(noBehalf));
    expect(res.status).toBe(422);
    expect(outcomeText(await res.json())[0]).toContain('onBehalfOfReference');
  });

  it('unknown practitioner → 422; another NPI → 422', async () => {
    const unknown = await write('POST', '/Group', body(), '7d1e3d1c-0000-4000-8000-000000000000');
    expect(outcomeText(await unknown.json())).toEqual(['Could not find provider defined in provenance header']);
    const mismatch = await write('POST', '/Group', body(), pid('1232131239'));
    expect(mismatch.status).toBe(422);
    expect(outcomeText(await mismatch.json())).toEqual(["Provenance header's provider does not match group provider"]);
  });

  it('an NPI that is not a practitioner of this org → 404 "Unable to find attributable provider"', async () => {
    const res = await write('POST', '/Group', groupBody('1982746731', [patientIds[0]!]), foreignPractitionerId);
    expect(res.status).toBe(404);
    expect(outcomeText(await res.json())).toEqual(['Unable to find attributable provider']);
  });
});

describe('rosters', () => {
  // each test makes its own practitioner and roster (one roster per NPI), so none depends on another's steps
  let practitionerCount = 0;
  async function newPractitioner(): Promise<{ npi: string; id: string }> {
    const npi = validNpi(prng(++practitionerCount));
    const res = await api(sb, token, '/Practitioner', {
      method: 'POST',
      json: { resourceType: 'Practitioner', identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: npi }], name: [{ family: 'R', given: ['S'] }] },
    });
    expect(res.status).toBe(201);
    return { npi, id: ((await res.json()) as fhir3.Practitioner).id! };
  }
  async function newRoster(members: string[]): Promise<{ npi: string; id: string; group: fhir3.Group }> {
    const practitioner = await newPractitioner();
    const res = await write('POST', '/Group', groupBody(practitioner.npi, members), practitioner.id);
    expect(res.status).toBe(201);
    return { ...practitioner, group: (await res.json()) as fhir3.Group };
  }
  beforeEach(async () => {
    token = await seedToken(sb);
  });

  it('POST → 201 Group with 90-day periods; members flagged inactive are skipped', async () => {
    const { npi, id } = await newPractitioner();
    const res = await write('POST', '/Group', groupBody(npi, patientIds.slice(0, 3), [patientIds[3]!]), id);
    expect(res.status).toBe(201);
    const group = (await res.json()) as fhir3.Group;
    expect(group).toMatchObject({ resourceType: 'Group', type: 'person', actual: true });
    expect(group.characteristic?.[0]?.valueCodeableConcept?.coding?.[0]?.code).toBe(npi);
    expect(group.member).toHaveLength(3);
    const m = group.member![0]!;
    expect(m.inactive).toBe(false);
    expect(Date.parse(m.period!.end!) - Date.parse(m.period!.start!)).toBe(90 * DAY);
  });

  it('a second roster for the same NPI → 403', async () => {
    const { npi, id } = await newRoster([patientIds[0]!]);
    const res = await write('POST', '/Group', groupBody(npi, []), id);
    expect(res.status).toBe(403);
    expect(outcomeText(await res.json())).toEqual(['Could not create a roster for this provider as they already have one.  Try updating it instead, or first deleting it.']);
  });

  it('unknown patients → 400 "All patients in group must exist. Cannot find N patient(s)."', async () => {
    const { npi, id } = await newPractitioner();
    const res = await write('POST', '/Group', groupBody(npi, [patientIds[0]!, 'nope-1', 'nope-2']), id);
    expect(res.status).toBe(400);
    expect(outcomeText(await res.json())).toEqual(['All patients in group must exist. Cannot find 2 patient(s).']);
  });

  it('search by characteristic-value (raw $, %24, system|NPI) and by member', async () => {
    const { npi, group } = await newRoster([patientIds[5]!]); // patient 5 is in no other test's roster
    const byNpi = async (q: string) => ((await (await api(sb, token, `/Group?characteristic-value=${q}`)).json()) as fhir3.Bundle).total;
    expect(await byNpi(`attributed-to$${npi}`)).toBe(1);
    expect(await byNpi(`attributed-to%24${npi}`)).toBe(1);
    expect(await byNpi(encodeURIComponent(`attributed-to$http://hl7.org/fhir/sid/us-npi|${npi}`))).toBe(1);
    expect(await byNpi(`attributed-to$${(await newPractitioner()).npi}`)).toBe(0);
    const byMember = (await (await api(sb, token, `/Group?member=Patient/${patientIds[5]}`)).json()) as fhir3.Bundle;
    expect(byMember.entry?.map((e) => e.resource?.id)).toEqual([group.id]);
    expect(((await (await api(sb, token, `/Group?member=${patientIds[50]}`)).json()) as fhir3.Bundle).total).toBe(0);
  });

  it('$add renews active members (start kept) and adds new ones', async () => {
    const { npi, id, group } = await newRoster(patientIds.slice(0, 3));
    const before = await getGroup(group.id!);
    await advance(10 * DAY);
    const res = await write('POST', `/Group/${group.id}/$add`, groupBody(npi, [patientIds[0]!, patientIds[4]!]), id);
    expect(res.status).toBe(200);
    const after = (await res.json()) as fhir3.Group;
    const find = (g: fhir3.Group, pid: string) => g.member!.find((m) => m.entity!.reference === `Patient/${pid}`)!;
    expect(find(after, patientIds[0]!).period!.start).toBe(find(before, patientIds[0]!).period!.start);
    expect(Date.parse(find(after, patientIds[0]!).period!.end!)).toBeGreaterThan(Date.parse(find(before, patientIds[0]!).period!.end!));
    expect(after.member).toHaveLength(4);
  });

  it('$remove marks inactive with end = now; a non-member → 400; $add again resets start', async () => {
    const { npi, id, group } = await newRoster(patientIds.slice(0, 3));
    const res = await write('POST', `/Group/${group.id}/$remove`, groupBody(npi, [patientIds[1]!]), null);
    expect(res.status).toBe(200);
    const removed = ((await res.json()) as fhir3.Group).member!.find((m) => m.entity!.reference === `Patient/${patientIds[1]}`)!;
    expect(removed.inactive).toBe(true);
    expect(Math.abs(Date.parse(removed.period!.end!) - sb.clock.now())).toBeLessThan(60_000);
    const notMember = await write('POST', `/Group/${group.id}/$remove`, groupBody(npi, [patientIds[60]!]), null);
    expect(notMember.status).toBe(400);
    expect(outcomeText(await notMember.json())).toEqual(['Cannot find attribution relationship.']);
    await advance(DAY);
    const readd = (await (await write('POST', `/Group/${group.id}/$add`, groupBody(npi, [patientIds[1]!]), id)).json()) as fhir3.Group;
    const back = readd.member!.find((m) => m.entity!.reference === `Patient/${patientIds[1]}`)!;
    expect(back.inactive).toBe(false);
    expect(Date.parse(back.period!.start!)).toBeGreaterThan(Date.parse(removed.period!.end!));
  });

  it('roster limit: POST counts the body, $add counts existing (incl. inactive) + body → 400 "Roster limit reached"', async () => {
    const fresh = await newPractitioner();
    const tooMany = await write('POST', '/Group', groupBody(fresh.npi, patientIds.slice(10, 10 + LIMIT + 1)), fresh.id);
    expect(tooMany.status).toBe(400);
    expect(outcomeText(await tooMany.json())).toEqual(['Roster limit reached']);
    // 4 members, one of them removed (inactive still counts) + 3 new = 7 > 6
    const { npi, id, group } = await newRoster(patientIds.slice(0, 4));
    expect((await write('POST', `/Group/${group.id}/$remove`, groupBody(npi, [patientIds[3]!]), null)).status).toBe(200);
    const add = await write('POST', `/Group/${group.id}/$add`, groupBody(npi, patientIds.slice(20, 23)), id);
    expect(add.status).toBe(400);
    expect((await write('POST', `/Group/${group.id}/$add`, groupBody(npi, patientIds.slice(20, 22)), id)).status).toBe(200);
  });

  it('PUT replaces the membership with fresh periods', async () => {
    const { npi, id, group } = await newRoster(patientIds.slice(0, 3));
    const res = await write('PUT', `/Group/${group.id}`, groupBody(npi, [patientIds[30]!, patientIds[31]!]), id);
    expect(res.status).toBe(200);
    const g = (await res.json()) as fhir3.Group;
    expect(g.member!.map((m) => m.entity!.reference)).toEqual([`Patient/${patientIds[30]}`, `Patient/${patientIds[31]}`]);
    expect((await write('PUT', `/Group/${group.id}`, groupBody(npi, []), null)).status).toBe(400);
  });

  it('attribution expires after 90 days (computed from the clock) and export then answers 406', async () => {
    const { group } = await newRoster(patientIds.slice(0, 3));
    expect((await kickoff(group.id!)).status).toBe(202);
    await advance(91 * DAY);
    const g = await getGroup(group.id!);
    expect(g.member!.every((m) => m.inactive === true)).toBe(true);
    const res = await kickoff(group.id!);
    expect(res.status).toBe(406);
    expect(outcomeText(await res.json())).toEqual(['No active attributed patients found for the group']);
  });

  it('an empty roster → 406 "Cannot perform export with no beneficiaries"', async () => {
    const { group } = await newRoster([]);
    const res = await kickoff(group.id!);
    expect(res.status).toBe(406);
    expect(outcomeText(await res.json())).toEqual(['Cannot perform export with no beneficiaries']);
  });

  it('deleting a patient removes it from rosters; deleting a practitioner deletes their roster; DELETE /Group → 200', async () => {
    const doomed = await newRoster([patientIds[40]!, patientIds[41]!]); // patients 40 and 41 are in no other test's roster
    expect((await api(sb, token, `/Patient/${patientIds[40]}`, { method: 'DELETE' })).status).toBe(200);
    expect((await getGroup(doomed.group.id!)).member!.map((m) => m.entity!.reference)).toEqual([`Patient/${patientIds[41]}`]);
    expect((await api(sb, token, `/Practitioner/${doomed.id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await api(sb, token, `/Group/${doomed.group.id}`)).status).toBe(404);
    const other = await newRoster([patientIds[42]!]);
    expect((await api(sb, token, `/Group/${other.group.id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await api(sb, token, `/Group/${other.group.id}`)).status).toBe(404);
  });
});
