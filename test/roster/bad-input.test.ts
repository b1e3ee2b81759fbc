/** Every bad-input case rejects the whole roster with `file:line` problems and sends nothing (loopback sandbox). */
import type * as fhir3 from 'fhir/r3.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { DpcError, isDpcError } from '../../src/errors.js';
import { submitPatients } from '../../src/fhir/patients.js';
import { createGroup } from '../../src/fhir/groups.js';
import { attestationFor, resolvePatientIds, resolvePractitioner } from '../../src/fhir/lookup.js';
import { buildPatient, npiOf } from '../../src/fhir/resources.js';
import { syncRoster } from '../../src/roster/sync.js';
import { rosterFixture, type RosterFixture } from './fixture.js';
import { exitCodeFor } from '../../src/cli/exit-codes.js';

let fx: RosterFixture;
beforeAll(async () => {
  fx = await rosterFixture();
});
afterAll(() => fx.close());

async function rejection(run: () => Promise<unknown>): Promise<DpcError> {
  try {
    await run();
  } catch (err) {
    if (err instanceof DpcError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('roster files rejected before anything is sent', () => {
  it('lists every bad row and makes no request at all', async () => {
    const text = [
      '1S00E00FZ00,1232131239',
      '1S00E00AA02,2323232226', // bad NPI check digit
      'S00E00AA03,1232131239', // bad MBI
      '1S00E00FZ00,1232131239', // duplicate
      '1S00E00AA04,1232131239,Ann,Lee,1950-02-30,F', // bad date
      '1S00E00AA05,1232131239,Ann,Lee,1950-02-03,F',
      '1S00E00AA05,2323232225,Ann,Lee,1950-02-04,F', // conflicting
    ].join('\r\n');
    fx.client.reset();
    const err = await rejection(() => syncRoster(fx.client, { file: 'bad.csv', text }));
    expect(err.code).toBe('ERR_INPUT');
    expect(exitCodeFor(err)).toBe(2);
    expect(err.message).toBe('bad.csv: 5 problems found, nothing was sent');
    const single = await rejection(() => syncRoster(fx.client, { file: 'roster.csv', text: 'X,1232131239' }));
    expect(single.message).toBe('roster.csv:1: invalid MBI "X"; nothing was sent');
    expect(single.details).toEqual([]);
    expect(err.details).toEqual([
      'bad.csv:2: invalid NPI "2323232226" (10 digits with a Luhn check digit)',
      'bad.csv:3: invalid MBI "S00E00AA03"',
      'bad.csv:5: invalid birth date "1950-02-30" (no such day)',
      'bad.csv:4: duplicate row: MBI 1S00E00FZ00 and NPI 1232131239 already on line 1',
      'bad.csv:7: conflicting row: MBI 1S00E00AA05 has a different birth_date on line 6',
    ]);
    expect(fx.client.counts).toMatchObject({ reads: 0, writes: 0 });
  });

  it('refuses more than 1350 members for one practitioner', async () => {
    const rows = Array.from({ length: 1351 }, (_, i) => `${mbi(i)},1232131239`);
    fx.client.reset();
    const err = await rejection(() => syncRoster(fx.client, { file: 'big.csv', text: rows.join('\n') }));
    // a single problem is the error line itself
    expect(err.message).toBe("big.csv:1351: practitioner 1232131239 has 1351 patients, more than DPC's limit of 1350 per group; nothing was sent");
    expect(err.details).toEqual([]);
    expect(fx.client.counts).toMatchObject({ reads: 0, writes: 0 });
  });

  it('names bad entries of a patient bundle', async () => {
    const bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: buildPatient({ mbi: '1S00E00ZZ01', given: 'A', family: 'B', birthDate: '2999-01-01', gender: 'male' }) }] };
    fx.client.reset();
    const err = await rejection(() => syncRoster(fx.client, { file: 'r.csv', text: '1S00E00ZZ01,1232131239', patients: { location: 'p.json', json: bundle } }));
    expect(err.message).toBe('p.json: entry 1 (MBI 1S00E00ZZ01): invalid birth date "2999-01-01" (in the future); nothing was sent');
    expect(err.details).toEqual([]);
    expect(fx.client.counts).toMatchObject({ reads: 0, writes: 0 });
  });

  it('rejects patients DPC lacks and cannot register (the full published sample roster: 84 of its MBIs are not in the sample bundle)', async () => {
    const text = await readFile('samples/test_associations-dpr.csv', 'utf8');
    fx.client.reset();
    const err = await rejection(() => syncRoster(fx.client, { file: 'dpr.csv', text }));
    expect(err.message).toBe('dpr.csv: 84 problems found, nothing was sent');
    expect(err.details[0]).toMatch(/^dpr\.csv:\d+: patient 1S00E00\w{4} is not registered in DPC and cannot be registered: add given,family,birth_date,gender columns or pass a patient bundle$/);
    expect(fx.client.counts.writes).toBe(0);
  });

  it('rejects a practitioner DPC lacks when no practitioner bundle provides it', async () => {
    fx.client.reset();
    const err = await rejection(() => syncRoster(fx.client, { file: 'r.csv', text: 'mbi,npi\n1S00E00FZ00,1111112110\n' }));
    expect(err.message).toBe('r.csv:2: practitioner 1111112110 is not registered in DPC; register it first or pass a practitioner bundle; nothing was sent');
    expect(err.details).toEqual([]);
    expect(fx.client.counts.writes).toBe(0);
  });
});

describe('server rejections', () => {
  it('surfaces a 422 for one bad entry of a $submit bundle as one line naming the entry', async () => {
    const good = (n: number) => buildPatient({ mbi: `1S00E00YY0${n}`, given: 'A', family: 'B', birthDate: '1950-01-01', gender: 'female' });
    const bad = { ...good(2), name: [{ family: 'NoGiven' }] } as fhir3.Patient;
    const err = await rejection(() => submitPatients(fx.client, [good(1), bad, good(3)]));
    expect(isDpcError(err, 'ERR_UNPROCESSABLE')).toBe(true);
    expect(err.status).toBe(422);
    expect(err.requestId).toBeTruthy();
    expect(err.message).not.toMatch(/\n/);
    expect(err.message).toMatch(/^POST \/api\/v1\/Patient\/\$submit failed with 422: .*name\.given.* \(bundle entry 2 of 3, Patient MBI 1S00E00YY02\)$/);
  });

  it("surfaces the server's 422 for an attestation naming another practitioner", async () => {
    const [own, other] = await Promise.all([resolvePractitioner(fx.client, '1232125215'), resolvePractitioner(fx.client, '2323232225')]);
    const [patientId] = await resolvePatientIds(fx.client, ['1S00E00AA01']);
    const provenance = await attestationFor(fx.client, other);
    const err = await rejection(() => createGroup(fx.client, { npi: npiOf(own)!, patientIds: [patientId!], provenance }));
    expect(err.code).toBe('ERR_UNPROCESSABLE');
    expect(err.message).toBe("POST /api/v1/Group failed with 422: Provenance header's provider does not match group provider");
  });
});

/** A valid MBI for index i. */
function mbi(i: number): string {
  const s = String(i).padStart(5, '0');
  return `1S${s[0]}${s[1]}A${s[2]}${s[3]}AA${s[4]}0`;
}
