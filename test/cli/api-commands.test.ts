/**
 * The issue-11 commands end to end: `dpc` runs against an in-process seeded sandbox over
 * loopback (real RSA-4096 key, real token exchange). Each command works with --json, and bad input ends with a
 * one-line error naming the field and a non-zero exit.
 */
import type * as fhir3 from 'fhir/r3.js';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mbiOf, resourcesOfType } from '../../src/fhir/resources.js';
import { patientFailure } from '../../src/sandbox/export/outcomes.js';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { testKey } from '../keys.js';
import { api, seedToken } from '../sandbox/helpers.js';
import { runCli, type CliResult } from './run-cli.js';

let sandbox: SandboxHandle;
let dir: string;
let env: Record<string, string>;
/** A seeded patient whose data the sandbox releases, and one it withholds. */
let good: string;
let failing: string;
const NPI = '1232131239';

const dpc = (...args: string[]): Promise<CliResult> => runCli(args, { env });

/** Exit code, a single `error:` line on stderr, nothing on stdout; returns the line. */
function oneLineError(result: CliResult, code: number): string {
  expect(result.code, result.stderr).toBe(code);
  expect(result.stdout).toBe('');
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  return lines[0]!;
}

function json<T = Record<string, unknown>>(result: CliResult): T {
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as T;
}

beforeAll(async () => {
  sandbox = await startSandbox({ seed: true, seedKey: testKey(0), testMode: true, jobDurationMs: 0 });
  dir = await mkdtemp(join(tmpdir(), 'dpc-api-cli-'));
  const seed = sandbox.seed!;
  env = {
    HOME: dir,
    DPC_CONFIG: join(dir, 'no-config.json'),
    DPC_BASE_URL: sandbox.baseUrl,
    DPC_CLIENT_TOKEN: seed.clientToken,
    DPC_PRIVATE_KEY: seed.privateKeyPath,
    DPC_KEY_ID: seed.keyId,
  };
  const sample = resourcesOfType<fhir3.Patient>(JSON.parse(await readFile('samples/patient_bundle-dpr.json', 'utf8')), 'Patient', 'sample');
  const mbis = sample.map((p) => mbiOf(p)!);
  good = mbis.find((m) => patientFailure(m) === undefined)!;
  failing = mbis.find((m) => patientFailure(m) !== undefined)!;
});

afterAll(async () => {
  await sandbox?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('dpc ip', () => {
  // each test starts from an organization without addresses (DPC allows 8), whatever ran before it
  beforeEach(async () => {
    const token = await seedToken(sandbox);
    const JSON_TYPE = { Accept: 'application/json' };
    const { entities } = (await (await api(sandbox, token, '/IpAddress', { headers: JSON_TYPE })).json()) as { entities: Array<{ id: string }> };
    for (const { id } of entities) expect((await api(sandbox, token, `/IpAddress/${id}`, { method: 'DELETE', headers: JSON_TYPE })).status).toBe(204);
  });

  it('add, list and delete, as text and as JSON', async () => {
    const added = json<{ id: string; ipAddress: { address: string } }>(await dpc('ip', 'add', '203.0.113.7', '--json'));
    expect(added.ipAddress.address).toBe('203.0.113.7');
    const text = await dpc('ip', 'list');
    expect(text.stdout).toMatch(new RegExp(`^${added.id}\\s+203\\.0\\.113\\.7\\s`, 'm'));
    expect(text.stdout).toContain('1 of 8 address(es)');
    expect(json<unknown[]>(await dpc('ip', 'list', '--json'))).toHaveLength(1);
    expect((await dpc('ip', 'delete', added.id)).stdout).toBe(`deleted IP address ${added.id}\n`);
    expect(json<unknown[]>(await dpc('ip', 'list', '--json'))).toEqual([]);
  });

  it('refuses a bad address before sending it, naming the field; the server\'s limit comes back as one line', async () => {
    expect(oneLineError(await dpc('ip', 'add', '10.0.0.300'), 2)).toBe('error: ipAddress: "10.0.0.300" is not an IPv4 or IPv6 address');
    expect(oneLineError(await dpc('ip', 'add', '10.0.0.0/24'), 2)).toBe('error: ipAddress: "10.0.0.0/24" is a range; DPC takes single addresses');
    for (let i = 1; i <= 8; i++) expect((await dpc('ip', 'add', `192.0.2.${i}`)).code).toBe(0);
    expect(oneLineError(await dpc('ip', 'add', '192.0.2.9'), 2)).toMatch(/Max Ips for organization reached: 8/);
    expect(oneLineError(await dpc('ip', 'delete', '3fa85f64-5717-4562-b3fc-2c963f66afa6'), 1)).toMatch(/Ip address not found/);
  });
});

interface Summary {
  mbi: string;
  types: Record<string, number>;
  claims: number;
  firstClaim?: string;
  lastClaim?: string;
}

describe('dpc patient everything', () => {
  it('writes the Bundle owner-only and prints a short summary: patient, claims with their date range, types', async () => {
    const out = join(dir, 'visit.json');
    const result = await dpc('patient', 'everything', good, '--practitioner', NPI, '--out', out);
    expect(result.code, result.stderr).toBe(0);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    const bundle = JSON.parse(await readFile(out, 'utf8')) as fhir3.Bundle;
    expect(bundle.type).toBe('searchset');
    const claims = bundle.entry!.filter((e) => e.resource!.resourceType === 'ExplanationOfBenefit');
    const starts = claims.map((e) => (e.resource as fhir3.ExplanationOfBenefit).billablePeriod!.start!.slice(0, 10)).sort();
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`patient  ${good}`);
    expect(lines[1]).toMatch(new RegExp(`^claims   ${claims.length} \\(${starts[0]} to \\d{4}-\\d{2}-\\d{2}\\)$`));
    expect(lines[2]).toMatch(/^types {4}Patient 1, ExplanationOfBenefit \d+, Coverage \d+$/);
    expect(lines[3]).toBe(`saved    ${out}`);
  });

  it('--json without --out gives the summary and the Bundle; --since narrows it', async () => {
    const all = json<{ summary: Summary; bundle: fhir3.Bundle }>(await dpc('patient', 'everything', good, '--practitioner', NPI, '--json'));
    expect(all.summary.mbi).toBe(good);
    expect(all.summary.claims).toBe(all.bundle.entry!.filter((e) => e.resource!.resourceType === 'ExplanationOfBenefit').length);
    expect(all.summary.types.Patient).toBe(1);
    const now = new Date(sandbox.clock.now()).toISOString();
    const none = json<{ summary: Summary; bundle: fhir3.Bundle }>(await dpc('patient', 'everything', good, '--practitioner', NPI, '--since', now, '--json'));
    expect(none.summary).toEqual({ types: {}, claims: 0 });
    expect(none.bundle.total).toBe(0);
  });

  it('--async: a job whose NDJSON is downloaded and verified like a group export, with the same summary', async () => {
    const out = join(dir, 'async');
    const report = json<{ summary: Summary; manifestPath: string; manifest: { files: Array<{ type: string; path: string; sha256: string }> } }>(
      await dpc('patient', 'everything', good, '--practitioner', NPI, '--async', '--out', out, '--poll-interval', '10ms', '--json'),
    );
    expect(report.summary.mbi).toBe(good);
    expect(report.summary.claims).toBeGreaterThan(0);
    expect(report.manifestPath.startsWith(join(out, good))).toBe(true);
    expect(report.manifest.files.map((f) => f.type).sort()).toEqual(['Coverage', 'ExplanationOfBenefit', 'Patient']);
    const verify = await dpc('export', 'verify', out);
    expect(verify.code, verify.stderr).toBe(0);
  });

  it('a patient DPC will not release: one line with DPC\'s reason (403), exit 1', async () => {
    const line = oneLineError(await dpc('patient', 'everything', failing, '--practitioner', NPI), 1);
    expect(line).toMatch(/^error: DPC does not release data for patient [0-9a-f-]{36}: /);
    expect(line).toContain(patientFailure(failing)!.text);
  });

  it('DPC timing out upstream (504 from the gateway, or its own 500 "Failed to retrieve data"): one line, exit 1, not retried', async () => {
    for (const status of [504, 500] as const) {
      // count 1: a retry would succeed, so a failure shows the request was made once
      sandbox.faults.set({ everythingTimeout: { count: 1, status } });
      try {
        const line = oneLineError(await dpc('patient', 'everything', good, '--practitioner', NPI), 1);
        expect(line).toMatch(new RegExp(`^error: DPC timed out gathering the data of patient [0-9a-f-]{36} \\(HTTP ${status}\\); try again later, or ask for it as a job \\(--async\\) \\(request id [0-9a-f-]{36}\\)$`));
      } finally {
        sandbox.faults.clear();
      }
    }
  });

  it('bad input names the field and sends nothing: patient, practitioner, since', async () => {
    expect(oneLineError(await dpc('patient', 'everything', 'bob', '--practitioner', NPI), 2)).toBe('error: patient: "bob" is neither an MBI nor a DPC patient id (UUID)');
    expect(oneLineError(await dpc('patient', 'everything', good, '--practitioner', '1234567890'), 2)).toBe(
      'error: practitioner: "1234567890" is not a valid NPI (10 digits with a Luhn check digit)',
    );
    expect(oneLineError(await dpc('patient', 'everything', good, '--practitioner', NPI, '--since', 'yesterday'), 2)).toMatch(/since "yesterday" is not an ISO 8601 date-time/);
    expect(oneLineError(await dpc('patient', 'everything', good), 2)).toMatch(/practitioner/);
  });
});

describe('dpc patient export', () => {
  it("downloads one patient's files, verified, into <out>/<MBI>/<run>/; --type narrows the job", async () => {
    const out = join(dir, 'one');
    const report = json<{ ok: boolean; groups: Array<{ label: string; manifest: { files: Array<{ type: string }> } }> }>(
      await dpc('patient', 'export', good, '--practitioner', NPI, '--out', out, '--type', 'Patient,Coverage', '--poll-interval', '10ms', '--json'),
    );
    expect(report.ok).toBe(true);
    expect(report.groups[0]!.label).toBe(good);
    expect(report.groups[0]!.manifest.files.map((f) => f.type).sort()).toEqual(['Coverage', 'Patient']);
  });

  it('needs --out (usage, exit 2); a failure is one JSON line of the event log, as for export run', async () => {
    const result = await dpc('patient', 'export', good, '--practitioner', NPI);
    expect(result.code).toBe(2);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ eventId: 'error', exitCode: 2 });
    expect(lines[0]).toContain('out');
  });

  it('dpc export run --patient-level against DPC: one line saying DPC has no type-level Patient/$export', async () => {
    // stderr of `export run` is an event log when it is not a terminal: the failure is its last JSON line
    const result = await dpc('export', 'run', '--patient-level', '--out', join(dir, 'typelevel'), '--poll-interval', '10ms');
    expect(result.code).toBe(1);
    const last = JSON.parse(result.stderr.trimEnd().split('\n').pop()!) as { eventId: string; message: string };
    expect(last).toMatchObject({ eventId: 'error' });
    expect(last.message).toContain('the server has no type-level Patient/$export (DPC has none: export a group, or one patient with Patient/{id}/$export)');
  });
});

describe('dpc org update', () => {
  it('applies flags to the current organization and PUTs it; the result prints like org show, or as JSON', async () => {
    const text = await dpc('org', 'update', '--name', 'Example Clinic', '--address-line', '7500 Security Blvd', '--address-city', 'Baltimore',
      '--address-state', 'MD', '--address-postal-code', '21244');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^updated\nid {7}[0-9a-f-]{36}\nname {5}Example Clinic\nnpi {6}1111112110\naddress  7500 Security Blvd, Baltimore, MD, 21244, US\n$/);
    const shown = json<fhir3.Organization>(await dpc('org', 'show', '--json'));
    expect(shown.address).toEqual([{ use: 'work', type: 'both', line: ['7500 Security Blvd'], city: 'Baltimore', state: 'MD', postalCode: '21244', country: 'US' }]);
    const renamed = json<fhir3.Organization>(await dpc('org', 'update', '--name', 'Renamed', '--json'));
    expect(renamed.name).toBe('Renamed');
    expect(renamed.address).toEqual(shown.address);
  });

  it('a file without an address is refused before sending, naming the field; a file for another org names id', async () => {
    const before = json<fhir3.Organization>(await dpc('org', 'show', '--json'));
    const file = join(dir, 'org.json');
    await writeFile(file, JSON.stringify({ resourceType: 'Organization', name: 'No Address', identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '1111112110' }] }));
    expect(oneLineError(await dpc('org', 'update', file), 2)).toBe('error: organization: needs exactly one address (found 0); nothing was sent');
    await writeFile(file, JSON.stringify({ resourceType: 'Organization', id: '3fa85f64-5717-4562-b3fc-2c963f66afa6', name: 'x' }));
    expect(oneLineError(await dpc('org', 'update', file), 2)).toMatch(/id "3fa85f64-5717-4562-b3fc-2c963f66afa6" is not your organization/);
    expect(oneLineError(await dpc('org', 'update'), 2)).toMatch(/give an Organization file or at least one of --name/);
    expect(json<fhir3.Organization>(await dpc('org', 'show', '--json'))).toEqual(before);
  });
});

describe('dpc patient update', () => {
  it('fixes demographics from flags (aliases --first-name/--last-name), as text and as JSON', async () => {
    const text = await dpc('patient', 'update', good, '--first-name', 'Ann', '--last-name', 'Lee', '--birth-date', '1950-01-02');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^updated\\n.*\\n[0-9a-f-]{36}\\s+${good}\\s+Ann Lee\\s+1950-01-02`));
    const updated = json<fhir3.Patient>(await dpc('patient', 'update', good, '--gender', 'F', '--json'));
    expect(updated).toMatchObject({ gender: 'female', birthDate: '1950-01-02', name: [{ family: 'Lee', given: ['Ann'] }] });
    expect(json<fhir3.Patient>(await dpc('patient', 'get', good, '--json')).gender).toBe('female');
  });

  it('bad input is refused before sending, naming the field', async () => {
    expect(oneLineError(await dpc('patient', 'update', good, '--birth-date', '1950-02-30'), 2)).toBe(
      'error: patient: invalid birth date "1950-02-30" (no such day); nothing was sent',
    );
    expect(oneLineError(await dpc('patient', 'update', good, '--gender', 'x'), 2)).toBe('error: patient: invalid gender "x"; nothing was sent');
    expect(oneLineError(await dpc('patient', 'update', good), 2)).toMatch(/give a Patient file or at least one of --given/);
  });
});

describe('dpc practitioner|patient validate', () => {
  it('checks every resource offline, then with DPC\'s $validate, storing nothing', async () => {
    const result = await dpc('practitioner', 'validate', 'samples/provider_bundle.json');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^ok {4}entry 1 \(NPI \d{10}\)$/m);
    expect(result.stdout).toContain('4 of 4 practitioners conform to the DPC profile');
    const file = join(dir, 'patient.json');
    await writeFile(file, JSON.stringify({
      resourceType: 'Patient', identifier: [{ system: 'http://hl7.org/fhir/sid/us-mbi', value: '7SA9A99AA96' }],
      name: [{ family: 'Roe', given: ['Rick'] }], gender: 'male', birthDate: '1950-01-01',
    }));
    const report = json<Array<{ entry: number; key: string; errors: string[]; outcome: fhir3.OperationOutcome }>>(await dpc('patient', 'validate', file, '--json'));
    expect(report).toEqual([expect.objectContaining({ entry: 1, key: 'MBI 7SA9A99AA96', errors: [] })]);
    expect(report[0]!.outcome.resourceType).toBe('OperationOutcome');
    expect(oneLineError(await dpc('patient', 'get', '7SA9A99AA96'), 1)).toMatch(/no patient with MBI 7SA9A99AA96/);
  });

  it('an offline problem ends it before anything is sent (exit 2, the entry and field named)', async () => {
    const file = join(dir, 'practitioner.json');
    await writeFile(file, JSON.stringify({ resourceType: 'Practitioner', identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '1234567890' }], name: [{ family: 'Doe', given: ['J'] }] }));
    expect(oneLineError(await dpc('practitioner', 'validate', file), 2)).toBe(
      `error: ${file}: entry 1 (NPI 1234567890): invalid NPI "1234567890" (10 digits with a Luhn check digit); nothing was sent`,
    );
  });
});

describe('dpc tokens show', () => {
  it('one token by id, as a table or JSON; an unknown id is one line', async () => {
    const [first] = json<Array<{ id: string; label: string }>>(await dpc('tokens', 'list', '--json'));
    const shown = json<{ id: string; label: string; token?: string }>(await dpc('tokens', 'show', first!.id, '--json'));
    expect(shown).toMatchObject({ id: first!.id, label: first!.label });
    expect(shown.token).toBeUndefined();
    expect((await dpc('tokens', 'show', first!.id)).stdout).toContain(first!.id);
    expect(oneLineError(await dpc('tokens', 'show', '3fa85f64-5717-4562-b3fc-2c963f66afa6'), 1)).toMatch(/Cannot find token with matching ID/);
  });
});
