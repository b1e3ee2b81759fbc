/**
 * The roster journey over loopback against the embedded sandbox, with the published DPC samples. The sample roster
 * (test_associations-dpr.csv) names 184 MBIs of which only the 100 in patient_bundle-dpr.json exist, so the journey
 * uses the rows of those 100; the full file is the "patient missing" case in bad-input.test.ts.
 */
import type * as fhir3 from 'fhir/r3.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { attributedNpi, mbiOf, resourcesOfType } from '../../src/fhir/resources.js';
import { listGroups } from '../../src/fhir/groups.js';
import { searchAll } from '../../src/fhir/http.js';
import { listPatients } from '../../src/fhir/patients.js';
import { planChanges } from '../../src/roster/plan.js';
import { findExpiring, renewExpiring } from '../../src/roster/renew.js';
import { syncRoster, type RosterInput } from '../../src/roster/sync.js';
import { DAY, rosterFixture, type RosterFixture } from './fixture.js';

const CSV = 'samples/test_associations-dpr.csv';
let fx: RosterFixture;
let input: RosterInput;
/** NPI → distinct MBIs in the sample roster. */
let expected: Map<string, Set<string>>;

beforeAll(async () => {
  fx = await rosterFixture();
  const bundle = JSON.parse(await readFile('samples/patient_bundle-dpr.json', 'utf8'));
  const known = new Set(resourcesOfType<fhir3.Patient>(bundle, 'Patient', 'bundle').map(mbiOf));
  const rows = (await readFile(CSV, 'utf8')).split(/\r?\n/).filter((line) => known.has(line.split(',')[0]));
  input = { file: 'known.csv', text: rows.join('\n') };
  expected = new Map();
  for (const line of input.text.split(/\r?\n/).filter(Boolean)) {
    const [mbi, npi] = line.split(',') as [string, string];
    expected.set(npi, (expected.get(npi) ?? new Set()).add(mbi));
  }
});
afterAll(() => fx.close());

async function membersByNpi(): Promise<Map<string, { active: number; inactive: number; ends: string[] }>> {
  const out = new Map<string, { active: number; inactive: number; ends: string[] }>();
  for (const g of await listGroups(fx.client)) {
    const members = g.member ?? [];
    out.set(attributedNpi(g)!, {
      active: members.filter((m) => !m.inactive).length,
      inactive: members.filter((m) => m.inactive).length,
      ends: [...new Set(members.map((m) => m.period!.end!))],
    });
  }
  return out;
}

describe('roster sync journey (seeded org: 4 sample practitioners, 100 sample patients)', () => {
  it('dry run, apply, expiring and lapsed members, removals: one journey, each step on the state the last one left', async () => {
    // a dry run checks the file, plans one new group per practitioner and writes nothing
    {
      fx.client.reset();
      const { plan, result } = await syncRoster(fx.client, input, { dryRun: true });
      expect(result).toBeUndefined();
      expect(fx.client.counts.writes).toBe(0);
      expect(plan.registerPatients).toEqual([]);
      expect(plan.practitioners.map((p) => [p.npi, p.groupId, p.add.length])).toEqual(
        [...expected].map(([npi, mbis]) => [npi, undefined, mbis.size]),
      );
    }

    // applies with one group write per practitioner, then a second run changes nothing
    {
      fx.client.reset();
      const planned: number[] = [];
      const { result } = await syncRoster(fx.client, input, { onPlan: (p) => planned.push(planChanges(p)) });
      expect(planned).toEqual([input.text.split('\n').filter(Boolean).length]);
      expect(fx.client.counts.writePaths).toEqual([...expected.keys()].map(() => 'POST /Group'));
      expect(result!.groups.every((g) => g.created)).toBe(true);
      const members = await membersByNpi();
      for (const [npi, mbis] of expected) expect(members.get(npi)).toMatchObject({ active: mbis.size, inactive: 0 });
      const end = new Date(fx.sandbox.clock.now() + 90 * DAY).toISOString().slice(0, 10);
      expect([...members.values()].flatMap((m) => m.ends).every((e) => e.startsWith(end))).toBe(true);

      fx.client.reset();
      const again = await syncRoster(fx.client, input);
      expect(planChanges(again.plan)).toBe(0);
      expect(again.result!.groups).toEqual([]);
      expect(fx.client.counts.writes).toBe(0);
    }

    // reports members expiring within the window once the clock has moved, and renews them with one $add per practitioner
    {
      expect(await findExpiring(fx.client, 14 * DAY)).toEqual([]);
      fx.sandbox.clock.advance(80 * DAY);
      const due = await findExpiring(fx.client, 14 * DAY);
      expect(due.map((g) => [g.npi, g.members.length]).sort()).toEqual([...expected].map(([npi, m]) => [npi, m.size]).sort());
      expect(due.every((g) => g.members.every((m) => m.status === 'expiring' && m.end !== undefined))).toBe(true);
      expect(await findExpiring(fx.client, 5 * DAY)).toEqual([]);

      fx.client.reset();
      await renewExpiring(fx.client, { withinMs: 14 * DAY, dryRun: true });
      expect(fx.client.counts.writes).toBe(0);
      const renewed = await renewExpiring(fx.client, { withinMs: 14 * DAY });
      expect(renewed).toHaveLength(expected.size);
      const renewedEnd = new Date(fx.sandbox.clock.now() + 90 * DAY).toISOString().slice(0, 10);
      expect(renewed.flatMap((g) => g.members).every((m) => m.status === 'expiring' && m.end?.startsWith(renewedEnd))).toBe(true);
      expect(fx.client.counts.writePaths).toEqual(due.map((g) => `POST /Group/${g.groupId}/$add`));
      expect(await findExpiring(fx.client, 14 * DAY)).toEqual([]);
      const end = new Date(fx.sandbox.clock.now() + 90 * DAY).toISOString().slice(0, 10);
      expect([...(await membersByNpi()).values()].flatMap((m) => m.ends).every((e) => e.startsWith(end))).toBe(true);
    }

    // renews lapsed (inactive) members on the next sync, and only then
    {
      fx.sandbox.clock.advance(91 * DAY);
      const lapsed = await membersByNpi();
      expect([...lapsed.values()].every((m) => m.active === 0 && m.inactive > 0)).toBe(true);
      fx.client.reset();
      const { plan } = await syncRoster(fx.client, input);
      expect(plan.practitioners.map((p) => [p.add.length, p.renew.length])).toEqual([...expected.values()].map((m) => [0, m.size]));
      expect(fx.client.counts.writePaths.every((p) => p.endsWith('/$add'))).toBe(true);
      expect(fx.client.counts.writes).toBe(expected.size);
      expect([...(await membersByNpi()).values()].every((m) => m.inactive === 0)).toBe(true);
      fx.client.reset();
      await syncRoster(fx.client, input);
      expect(fx.client.counts.writes).toBe(0);
    }

    // removes members the file dropped only with removeMissing
    {
      const lines = input.text.split(/\r?\n/).filter(Boolean);
      const dropped = lines.slice(0, 3);
      const smaller = { file: 'smaller.csv', text: lines.slice(3).join('\n') };
      fx.client.reset();
      const keep = await syncRoster(fx.client, smaller);
      expect(planChanges(keep.plan)).toBe(0);
      expect(fx.client.counts.writes).toBe(0);
      const removed = await syncRoster(fx.client, smaller, { removeMissing: true });
      const removedMbis = removed.plan.practitioners.flatMap((p) => p.remove.map((m) => `${m.mbi},${p.npi}`)).sort();
      expect(removedMbis).toEqual([...dropped].sort());
      expect(fx.client.counts.writePaths.filter((p) => p.endsWith('/$remove'))).toHaveLength(new Set(dropped.map((l) => l.split(',')[1])).size);
      fx.client.reset();
      await syncRoster(fx.client, smaller, { removeMissing: true });
      expect(fx.client.counts.writes).toBe(0);

      // removed members look like lapsed ones; renew leaves them alone unless asked
      const listed = (await findExpiring(fx.client, 0)).flatMap((g) => g.members.map((m) => m.status));
      expect(listed).toEqual(['inactive', 'inactive', 'inactive']);
      expect(await renewExpiring(fx.client, { withinMs: 0, dryRun: true })).toEqual([]);
      expect((await renewExpiring(fx.client, { withinMs: 0, dryRun: true, includeInactive: true })).flatMap((g) => g.members)).toHaveLength(3);
    }
  });
});

describe('roster sync into a new organization', () => {
  it('registers practitioners and patients with bundled $submit writes, creates the groups, then adds patients from the name/birth date/gender columns', async () => {
    // registers practitioners and patients with bundled $submit writes, then creates the groups
    {
      const client = await fx.otherOrgClient();
      const patients = { location: 'samples/patient_bundle-dpr.json', json: JSON.parse(await readFile('samples/patient_bundle-dpr.json', 'utf8')) };
      const practitioners = { location: 'samples/provider_bundle.json', json: JSON.parse(await readFile('samples/provider_bundle.json', 'utf8')) };
      const { result } = await syncRoster(client, { ...input, patients, practitioners });
      expect(result).toMatchObject({ registeredPractitioners: 4, registeredPatients: 100 });
      expect(client.counts.writePaths).toEqual(['POST /Practitioner/$submit', 'POST /Patient/$submit', ...[...expected.keys()].map(() => 'POST /Group')]);
      expect(await listPatients(client)).toHaveLength(100);
      client.reset();
      await syncRoster(client, { ...input, patients, practitioners });
      expect(client.counts.writes).toBe(0);
    }

    // registers patients from the name/birth date/gender columns and adds them to the existing group
    {
      const client = await fx.otherOrgClient();
      client.reset();
      const text = 'mbi,npi,given,family,birth_date,gender\n1S00E00ZZ01,1234329724,Ann,Lee,1950-01-02,F\n1S00E00ZZ02,1234329724,Bo,Ng,1961-03-04,M\n';
      const { result } = await syncRoster(client, { file: 'r.csv', text });
      expect(result).toMatchObject({ registeredPractitioners: 0, registeredPatients: 2, groups: [{ npi: '1234329724', created: false, added: 2 }] });
      expect(client.counts.writePaths).toEqual(['POST /Patient/$submit', expect.stringMatching(/^POST \/Group\/.+\/\$add$/)]);
      const names = (await listPatients(client)).filter((p) => p.name![0]!.family!.length < 4).map((p) => `${p.name![0]!.given![0]} ${p.birthDate} ${p.gender}`).sort();
      expect(names).toEqual(['Ann 1950-01-02 female', 'Bo 1961-03-04 male']);
    }
  });
});

describe('FHIR listing', () => {
  it('follows every page of a paged search through the absolute next links', async () => {
    fx.client.reset();
    const all = await searchAll<fhir3.Patient>(fx.client, '/Patient', { _count: 7, _offset: 0 });
    expect(new Set(all.map((p) => p.id)).size).toBe(100);
    expect(fx.client.counts.reads).toBe(Math.ceil(100 / 7));
    expect((await listPatients(fx.client)).map((p) => p.id).sort()).toEqual(all.map((p) => p.id).sort());
  });
});
