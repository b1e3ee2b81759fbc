/**
 * `dpc` runs against an in-process sandbox: roster sync,
 * expiry and renewal, lookups, and a rejected roster's exit code and one-line error.
 */
import type * as fhir3 from 'fhir/r3.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mbiOf, resourcesOfType } from '../../src/fhir/resources.js';
import { rosterFixture, seededCliEnv, type RosterFixture } from './fixture.js';
import { runCli, type CliResult } from '../cli/run-cli.js';

let fx: RosterFixture;
let dir: string;
let knownCsv: string;
let env: Record<string, string>;

beforeAll(async () => {
  fx = await rosterFixture();
  dir = await mkdtemp(join(tmpdir(), 'dpc-roster-cli-'));
  const known = new Set(resourcesOfType<fhir3.Patient>(JSON.parse(await readFile('samples/patient_bundle-dpr.json', 'utf8')), 'Patient', 'b').map(mbiOf));
  const rows = (await readFile('samples/test_associations-dpr.csv', 'utf8')).split(/\r?\n/).filter((l) => known.has(l.split(',')[0]));
  knownCsv = join(dir, 'roster.csv');
  await writeFile(knownCsv, `mbi,npi\n${rows.join('\n')}\n`);
  env = seededCliEnv(fx, dir);
});
afterAll(async () => {
  await fx.close();
  await rm(dir, { recursive: true, force: true });
});

function dpc(...args: string[]): Promise<CliResult> {
  return runCli(args, { env });
}

describe('dpc roster / group / practitioner / patient', () => {
  it('ships samples/roster-sandbox.csv: the sample roster rows whose patients exist, usable as the help example shows', async () => {
    expect(await readFile('samples/roster-sandbox.csv', 'utf8')).toBe((await readFile(knownCsv, 'utf8')).replace('mbi,npi\n', ''));
    const example = await dpc('roster', 'sync', 'samples/roster-sandbox.csv', '--patients', 'samples/patient_bundle-dpr.json', '--practitioners', 'samples/provider_bundle.json', '--dry-run');
    expect(example.code, example.stderr).toBe(0);
    const help = await dpc('roster', 'sync', '--help');
    expect(help.stdout).toContain('dpc roster sync samples/roster-sandbox.csv --patients');
  });


  it('rejects the full sample roster with exit 2, one summary line and one line per problem', async () => {
    const { code, stdout, stderr } = await dpc('roster', 'sync', 'samples/test_associations-dpr.csv');
    expect(code).toBe(2);
    expect(stdout).toBe('');
    const lines = stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('error: samples/test_associations-dpr.csv: 84 problems found, nothing was sent');
    expect(lines).toHaveLength(85);
    expect(lines[1]).toMatch(/^ {2}samples\/test_associations-dpr\.csv:\d+: patient \w{11} is not registered in DPC/);
    expect(stderr).not.toContain(env.DPC_CLIENT_TOKEN!);
  });

  it('sync (dry run, apply, nothing left), expiring and renew, lookups, deletes, group JSON, group add: one journey, each step on the state the last one left', async () => {
    // prints the plan on a dry run, applies it, then finds nothing to change
    {
      const dry = await dpc('roster', 'sync', knownCsv, '--dry-run');
      expect(dry.code).toBe(0);
      // the plan is the dry run's result: on stdout, naming every MBI to add, per practitioner
      expect(dry.stderr).toBe('');
      expect(dry.stdout).toMatch(/^practitioner 1232131239 \(new group\):\n {2}add \d+: 1S00E00FZ00 (\w{11} )*\w{11}\n {2}unchanged 0$/m);
      const planned = (await readFile(knownCsv, 'utf8')).split('\n').slice(1).filter(Boolean).map((l) => l.split(',')[0]!);
      for (const mbi of planned) expect(dry.stdout).toContain(mbi);
      expect(dry.stdout.trimEnd().split('\n').at(-1)).toBe('dry run: nothing was sent');

      const applied = await dpc('roster', 'sync', knownCsv);
      expect(applied.code, applied.stderr).toBe(0);
      // what happened, once: four groups created with their members; no "registered 0 patients", no progress lines
      expect(applied.stderr).toBe('');
      const lines = applied.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(4);
      expect(lines.every((l) => /^practitioner \d{10}: created group [\w-]+ with \d+ members$/.test(l))).toBe(true);
      expect(lines.map((l) => Number(/with (\d+) members/.exec(l)![1])).reduce((a, b) => a + b, 0)).toBe(100);
      expect(applied.stdout).not.toContain('registered');

      const run = await dpc('roster', 'sync', knownCsv, '--json');
      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout);
      expect(report.changes).toBe(0);

      const again = await dpc('roster', 'sync', knownCsv);
      expect(again.code).toBe(0);
      expect(again.stdout.trim()).toBe('DPC already matches the roster; nothing changed');
    }

    // lists expiring members per practitioner and renews them
    {
      const none = await dpc('group', 'expiring');
      expect(none.stdout.trim()).toBe('no members are due for renewal');
      const due = JSON.parse((await dpc('group', 'expiring', '--within', '91d', '--json')).stdout);
      expect(due.map((g: { members: unknown[] }) => g.members.length).reduce((a: number, b: number) => a + b, 0)).toBe(100);
      expect(due[0].members[0]).toMatchObject({ status: 'expiring', mbi: expect.stringMatching(/^1S/) });
      const renewed = await dpc('group', 'renew', '--within', '91d');
      expect(renewed.code).toBe(0);
      expect(renewed.stdout).toMatch(/^practitioner \d{10} \(group [\w-]+\): \d+ members? renewed$/m);
      // printed once (no progress lines), with the status that made each member due and the new period end
      expect(renewed.stderr).toBe('');
      expect(renewed.stdout).toMatch(/^MBI +Patient ID +Was +Start +End$/m);
      const newEnd = new Date(fx.sandbox.clock.now() + 90 * 86_400_000).toISOString().slice(0, 10);
      const rows = renewed.stdout.split('\n').filter((l) => /^1S/.test(l));
      expect(rows).toHaveLength(100);
      expect(rows.every((l) => / expiring +\S+ +(\S+)$/.exec(l)?.[1] === newEnd)).toBe(true);
    }

    // looks up practitioners, patients and groups by NPI or MBI, and refuses a bad NPI before sending
    {
      const [practitionerRun, patientsRun, show, missing, badNpi] = await Promise.all([
        dpc('practitioner', 'get', '1234329724', '--json'),
        dpc('patient', 'list', '--json'),
        dpc('group', 'show', '1234329724'),
        dpc('patient', 'get', '9S99E99ZZ99'),
        dpc('practitioner', 'add', '--npi', '1234567890', '--given', 'A', '--family', 'B'),
      ]);
      expect(badNpi.code).toBe(2);
      expect(badNpi.stderr).toBe(
        'error: command line: entry 1 (NPI 1234567890): invalid NPI "1234567890" (10 digits with a Luhn check digit); nothing was sent\n',
      );
      expect(JSON.parse(practitionerRun.stdout).identifier[0].value).toBe('1234329724');
      expect(JSON.parse(patientsRun.stdout)).toHaveLength(100);
      expect(show.stdout).toMatch(/^group [\w-]+ {2}NPI 1234329724 {2}\d+ active, 0 inactive\nPatient +MBI +Start +End +Status/);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toBe('error: no patient with MBI 9S99E99ZZ99 in your organization\n');
    }

    // deletes a patient by MBI and a practitioner by NPI, naming what went
    {
      expect((await dpc('patient', 'add', '--mbi', '9S99E99ZZ98', '--given', 'Del', '--family', 'Me', '--birth-date', '1950-01-02', '--gender', 'female')).code).toBe(0);
      expect((await dpc('practitioner', 'add', '--npi', '1200000002', '--given', 'Del', '--family', 'Me')).code).toBe(0);
      const patient = await dpc('patient', 'delete', '9S99E99ZZ98');
      expect(patient.code).toBe(0);
      expect(patient.stdout).toMatch(/^deleted patient [\w-]+ \(MBI 9S99E99ZZ98\)\n$/);
      const practitioner = await dpc('practitioner', 'delete', '1200000002', '--json');
      expect(practitioner.code).toBe(0);
      expect(JSON.parse(practitioner.stdout)).toEqual({ deleted: expect.any(String), npi: '1200000002' });
      const gone = await dpc('patient', 'get', '9S99E99ZZ98');
      expect(gone.stderr).toBe('error: no patient with MBI 9S99E99ZZ98 in your organization\n');
    }

    // group show/list --json carry members with MBI and period, and active/inactive counts
    {
      const [show, list] = await Promise.all([dpc('group', 'show', '1234329724', '--json'), dpc('group', 'list', '--json')]);
      const group = JSON.parse(show.stdout) as { id: string; npi: string; active: number; inactive: number; members: Array<Record<string, string>>; resource: { resourceType: string } };
      expect(group).toMatchObject({ npi: '1234329724', inactive: 0, resource: { resourceType: 'Group' } });
      expect(group.members).toHaveLength(group.active);
      expect(group.members[0]).toEqual({ patient: expect.any(String), mbi: expect.stringMatching(/^1S00E00\w{4}$/), start: expect.stringMatching(/^\d{4}-/), end: expect.stringMatching(/^\d{4}-/), status: 'active' });
      const groups = JSON.parse(list.stdout) as Array<{ id: string; npi: string; active: number; inactive: number }>;
      expect(groups).toHaveLength(4);
      expect(groups.find((g) => g.id === group.id)).toMatchObject({ npi: '1234329724', active: group.active, inactive: 0 });
    }

    // checks --patients locally, naming the bad MBI; card-printed and lower-case MBIs work
    {
      const bad = await dpc('group', 'add', '1234329724', '--patients', 'BADMBI', '1S00E00AA01');
      expect(bad).toMatchObject({ code: 2, stdout: '', stderr: 'error: --patients: "BADMBI" is neither an MBI (e.g. 1S00E00AA01) nor a patient id\n' });
      const unknown = await dpc('group', 'add', '1234329724', '--patients', '9s99-e99-zz97');
      expect(unknown.stderr).toBe('error: no patient with MBI 9S99E99ZZ97 (given as "9s99-e99-zz97") in your organization; register it first\n');
      const card = await dpc('group', 'add', '1234329724', '--patients', '1s00-e00-aa01');
      expect(card.code, card.stderr).toBe(0);
      expect(card.stdout).toMatch(/: added or renewed 1 member$/m);
    }
  });

  it('shows examples in the help of every roster command', async () => {
    const helps = await Promise.all(['org', 'practitioner', 'patient', 'group', 'roster'].map((command) => dpc(command, '--help')));
    for (const { stdout } of helps) expect(stdout).toContain('Examples:');
  });
});
