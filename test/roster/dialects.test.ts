/**
 * `dpc roster sync` with files as Excel and practice systems save them, over loopback against the sandbox: the
 * dialects it reads, and the files it refuses in one line with exit 2, leaving DPC exactly as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listGroups } from '../../src/fhir/groups.js';
import { listPatients } from '../../src/fhir/patients.js';
import { readRosterFile } from '../../src/roster/read.js';
import { rosterFixture, seededCliEnv, type RosterFixture } from './fixture.js';
import { runCli, type CliResult } from '../cli/run-cli.js';

let fx: RosterFixture;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  fx = await rosterFixture();
  dir = await mkdtemp(join(tmpdir(), 'dpc-roster-dialects-'));
  env = seededCliEnv(fx, dir);
});
afterAll(async () => {
  await fx.close();
  await rm(dir, { recursive: true, force: true });
});

async function sync(name: string, content: string | Buffer, ...flags: string[]): Promise<CliResult & { path: string }> {
  const path = join(dir, name);
  await writeFile(path, content);
  return { path, ...(await runCli(['roster', 'sync', path, ...flags], { env })) };
}

/** DPC's state as a comparable value: every group's members with their periods, and the patients. */
async function serverState(): Promise<unknown> {
  const [groups, patients] = await Promise.all([listGroups(fx.client), listPatients(fx.client)]);
  return { groups: groups.map((g) => [g.id, g.member]).sort(), patients: patients.map((p) => p.id).sort() };
}

describe('roster files as spreadsheets save them', () => {
  it('syncs an Excel "Unicode text" file (UTF-16 with a BOM, tab separated, CRLF) and a European semicolon file with extra columns', async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('MBI\tNPI\r\n1S00E00AA01\t1232131239\r\n1S00E00AA02\t1232131239\r\n', 'utf16le')]);
    const first = await sync('unicode.txt', utf16);
    expect(first, first.stderr).toMatchObject({ code: 0, stderr: '', stdout: expect.stringMatching(/^practitioner 1232131239: created group [\w-]+ with 2 members\n$/) });

    const semicolon = '\uFEFFPatient MBI;Provider NPI;Location\r\n1s00-e00-aa03;1232131239;Main St\r\n;;\r\n';
    const second = await sync('europe.csv', semicolon);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toBe(`warning: ${second.path}:1: ignored "Location": not roster columns\n`);
    expect(second.stdout).toMatch(/^practitioner 1232131239: group [\w-]+: added 1\n$/);
  });

  it('refuses a Latin-1 file, an empty file and a bad row in one line with exit 2, and changes nothing in DPC', async () => {
    // members to lose: a sync that took an empty file for "no patients" would remove them all
    expect((await sync('base.csv', '1S00E00AA05,2323232225\n1S00E00AA06,2323232225\n')).code).toBe(0);
    const before = await serverState();
    const latin1 = Buffer.from('MBI,NPI,given,family,birth_date,gender\n1S00E00ZZ01,2323232225,Jos\xe9,Lee,1950-01-02,M\n', 'latin1');
    const refused = [
      [await sync('latin1.csv', latin1, '--remove-missing'), ':2:27: not UTF-8 text (Latin-1 or Windows-1252?); save it as "CSV UTF-8"'],
      [await sync('empty.csv', '', '--remove-missing'), ': no roster rows (the file is empty); nothing was sent'],
      [await sync('header.csv', 'MBI,NPI\r\n', '--remove-missing'), ': no roster rows (only a header); nothing was sent'],
      [await sync('excel-npi.csv', 'MBI,NPI\n1S00E00AA05,2323232225\n1S00E00AA07,1.23432972E+09\n', '--remove-missing'), ':3: invalid NPI "1.23432972E+09" (10 digits with a Luhn check digit); Excel saved it as a number: format the column as text; nothing was sent'],
    ] as const;
    for (const [run, message] of refused) {
      expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toEqual({ code: 2, stdout: '', stderr: `error: ${run.path}${message}\n` });
    }
    expect(await serverState()).toEqual(before);
  });

  it('lists the first 100 problems of a file wrong on every row, and all of them with --json', async () => {
    const rows = Array.from({ length: 2000 }, (_, i) => `1S00E00AA01,1232131239,Ann,Lee,01/${String(1 + (i % 28)).padStart(2, '0')}/1950,F`);
    const { path, code, stderr } = await sync('us-dates.csv', `MBI,NPI,given,family,birth_date,gender\n${rows.join('\n')}\n`, '--dry-run');
    const lines = stderr.trimEnd().split('\n');
    expect(code).toBe(2);
    expect(lines[0]).toBe(`error: ${path}: 2000 problems found, nothing was sent`);
    expect(lines[1]).toBe(`  ${path}:2: invalid birth date "01/01/1950" (expected YYYY-MM-DD); Excel saves dates as the sheet shows them: format the column as yyyy-mm-dd`);
    expect(lines.slice(101)).toEqual(['  … and 1900 more (--json lists every one)']);
    const json = await sync('us-dates.csv', `MBI,NPI,given,family,birth_date,gender\n${rows.join('\n')}\n`, '--dry-run', '--json');
    expect(JSON.parse(json.stdout).error.details).toHaveLength(2000);
  });

  it('bounds the size of a roster file before reading it', async () => {
    const path = join(dir, 'big.csv');
    await writeFile(path, '1S00E00AA05,2323232225\n'.repeat(100));
    await expect(readRosterFile(path, 1024)).rejects.toThrow(`${path}: 2,300 bytes is more than a roster file may have (1,024 bytes); split it`);
    expect(await readRosterFile(path)).toHaveLength(2300);
  });
});
