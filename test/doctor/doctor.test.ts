/**
 * `dpc doctor` against the embedded sandbox over loopback (real RSA keys, real JWT verification), with a failing case
 * per check: bad file modes, a wrong key, an unknown key id, a deleted client token, a server with a wrong Date header,
 * an unreachable server, and an unusable config file.
 */
import { chmod, copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientToken, deleteClientToken } from '../../src/auth/admin.js';
import { generateKeyPair, privateKeyPem } from '../../src/auth/keys.js';
import { formatReport } from '../../src/cli/commands/doctor.js';
import { createClient } from '../../src/client.js';
import type { CheckId, CheckResult, DoctorReport } from '../../src/doctor/checks.js';
import { runDoctor, type DoctorInput } from '../../src/doctor/probe.js';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { runCli } from '../cli/run-cli.js';
import { testKey } from '../keys.js';
import { startFaultServer, type Reply } from '../transport/fault-server.js';

let sandbox: SandboxHandle;
let dir: string;
let configPath: string;
let good: DoctorInput;

const byId = (report: DoctorReport): Record<CheckId, CheckResult> =>
  Object.fromEntries(report.checks.map((c) => [c.id, c])) as Record<CheckId, CheckResult>;
const statuses = (report: DoctorReport) => Object.fromEntries(report.checks.map((c) => [c.id, c.status]));

async function configFile(name: string, profile: Record<string, unknown>, mode = 0o600): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, JSON.stringify({ defaultProfile: 'local', profiles: { local: profile } }), { mode });
  await chmod(path, mode);
  return path;
}

/** A server that answers /version and /metadata like DPC but with its Date header `offsetMs` off. */
async function skewedServer(offsetMs: number): Promise<{ baseUrl: string; close(): Promise<void> }> {
  const server = await startFaultServer(({ path }): Reply => {
    const date = new Date(Date.now() + offsetMs).toUTCString();
    if (path === '/api/v1/version') return { headers: { date }, body: '1.0.0' };
    if (path === '/api/v1/metadata') {
      return { headers: { date, 'content-type': 'application/fhir+json' }, body: JSON.stringify({ resourceType: 'CapabilityStatement', fhirVersion: '3.0.2' }) };
    }
    return { status: 404, headers: { date } };
  });
  return { baseUrl: `${server.origin}/api/v1`, close: () => server.close() };
}

beforeAll(async () => {
  sandbox = await startSandbox({ seed: true, seedKey: testKey(0), testMode: true });
  dir = await mkdtemp(join(tmpdir(), 'dpc-doctor-'));
  await chmod(dir, 0o700);
  const seed = sandbox.seed!;
  configPath = await configFile('config.json', { baseUrl: sandbox.baseUrl, clientToken: seed.clientToken, privateKey: seed.privateKeyPath, keyId: seed.keyId });
  good = {
    profile: 'local',
    baseUrl: sandbox.baseUrl,
    configPath,
    clientToken: seed.clientToken,
    privateKeyPath: seed.privateKeyPath,
    keyId: seed.keyId,
    now: () => sandbox.clock.now(),
  };
});

afterAll(async () => {
  await sandbox?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('runDoctor against the sandbox', () => {
  it('passes every check for a working profile, naming the organization and the key fingerprint', async () => {
    const report = await runDoctor(good);
    expect(statuses(report)).toEqual({
      config: 'pass', settings: 'pass', 'key-file': 'pass', version: 'pass', metadata: 'pass', clock: 'pass',
      token: 'pass', 'authenticated-call': 'pass', 'key-match': 'pass',
    });
    expect(report.ok).toBe(true);
    const checks = byId(report);
    expect(checks['authenticated-call'].detail).toContain(`organization ${sandbox.seed!.orgId}`);
    expect(checks['key-match'].detail).toMatch(/^key id [0-9a-f-]{36} is this private key \(SHA256:[A-Za-z0-9+/]{43}\)$/);
    expect(checks.metadata.detail).toContain('CapabilityStatement, FHIR 3.0.2');
  });

  it('config and key file readable by others: both fail with a chmod fix', async () => {
    const shared = await configFile('shared.json', {}, 0o644);
    const key = join(dir, 'shared-key.pem');
    await copyFile(good.privateKeyPath!, key);
    await chmod(key, 0o644);
    const checks = byId(await runDoctor({ ...good, configPath: shared, privateKeyPath: key }));
    expect(checks.config).toMatchObject({ status: 'fail', fix: `chmod 600 ${shared}` });
    expect(checks.config.detail).toContain('mode 644');
    expect(checks['key-file']).toMatchObject({ status: 'fail', fix: `chmod 600 ${key}` });
  });

  it('a missing config file warns; a missing or damaged key file fails', async () => {
    const damaged = join(dir, 'damaged.pem');
    await writeFile(damaged, 'not a key', { mode: 0o600 });
    const report = await runDoctor({ ...good, configPath: join(dir, 'absent.json'), privateKeyPath: damaged });
    const checks = byId(report);
    expect(checks.config.status).toBe('warn');
    expect(checks['key-file']).toMatchObject({ status: 'fail' });
    expect(checks['key-file'].detail).toContain('not a PEM private key');
    // without a usable key the credential checks cannot run
    expect([checks.token.status, checks['authenticated-call'].status, checks['key-match'].status]).toEqual(['skip', 'skip', 'skip']);
    expect(report.ok).toBe(false);
  });

  it('an incomplete profile fails the settings check with the dpc init line', async () => {
    const checks = byId(await runDoctor({ ...good, keyId: undefined }));
    expect(checks.settings).toMatchObject({ status: 'fail', detail: 'profile local has no keyId', fix: 'dpc init --profile local --key-id UUID' });
  });

  it('a private key that is not the registered one: the exchange is refused and key-match fails', async () => {
    const other = join(dir, 'other.pem');
    await writeFile(other, privateKeyPem((await generateKeyPair(2048)).privateKey), { mode: 0o600 });
    const report = await runDoctor({ ...good, privateKeyPath: other });
    const checks = byId(report);
    expect(checks['key-file'].status).toBe('warn'); // 2048 bits: DPC registers 4096-bit keys only
    expect(checks.token).toMatchObject({ status: 'fail' });
    expect(checks.token.detail).toContain('Invalid JWT');
    expect(checks['key-match'].status).toBe('fail');
    expect(checks['key-match'].detail).toContain('is not the one registered');
    expect(checks['authenticated-call'].status).toBe('skip');
  });

  it('a key id unknown to the organization: key-match names it', async () => {
    const checks = byId(await runDoctor({ ...good, keyId: '7d1e3d1c-0000-4000-8000-000000000000' }));
    expect(checks.token.detail).toContain('Cannot find public key');
    expect(checks['key-match']).toMatchObject({ status: 'fail', detail: 'key id 7d1e3d1c-0000-4000-8000-000000000000 is not registered for this organization' });
  });

  it('a deleted client token still exchanges; the authenticated call fails with the fix', async () => {
    const client = createClient({ baseUrl: sandbox.baseUrl, clientToken: good.clientToken, privateKey: (await import('node:fs')).readFileSync(good.privateKeyPath!, 'utf8'), keyId: good.keyId, now: good.now });
    try {
      const doomed = await createClientToken(client, { label: 'doomed' });
      await deleteClientToken(client, doomed.id);
      const report = await runDoctor({ ...good, clientToken: doomed.token });
      const checks = byId(report);
      expect(checks.token.status).toBe('pass');
      expect(checks['authenticated-call']).toMatchObject({ status: 'fail', fix: 'create a new client token in the DPC portal, then dpc init --client-token-file FILE' });
      expect(checks['authenticated-call'].detail).toContain('(401)');
      expect(report.ok).toBe(false);
    } finally {
      await client.close();
    }
  });

  it('a server whose Date is 10 minutes off fails the clock check; 30 s fast already fails, 30 s slow warns', async () => {
    for (const [offsetMs, status] of [[-600_000, 'fail'], [600_000, 'fail'], [-30_000, 'fail'], [30_000, 'warn'], [0, 'pass']] as const) {
      const server = await skewedServer(offsetMs);
      try {
        const checks = byId(await runDoctor({ ...good, baseUrl: server.baseUrl, now: Date.now }));
        expect(checks.version.status).toBe('pass');
        expect(checks.clock.status, `server clock ${offsetMs} ms off`).toBe(status);
        if (status === 'fail') expect(checks.clock.fix).toContain('NTP');
      } finally {
        await server.close();
      }
    }
  });

  it('an unreachable server fails /version and /metadata with the reachability fix', async () => {
    const server = await skewedServer(0);
    await server.close(); // nothing listens on that port now
    const checks = byId(await runDoctor({ ...good, baseUrl: server.baseUrl }));
    expect(checks.version.status).toBe('fail');
    expect(checks.metadata.status).toBe('fail');
    expect(checks.version.fix).toContain('base URL');
    expect(checks.clock.status).toBe('skip');
  });

  it('an open server (no authentication): the credential checks are skipped, not failed', async () => {
    const report = await runDoctor({ ...good, clientToken: undefined, privateKeyPath: undefined, keyId: undefined, noAuth: true });
    expect(statuses(report)).toMatchObject({ settings: 'pass', 'key-file': 'skip', metadata: 'pass', token: 'skip', 'authenticated-call': 'skip', 'key-match': 'skip' });
    expect(report.ok).toBe(true);
  });

  it('a generic SMART server (tokenUrl set): the exchange is checked, the DPC-only endpoints are skipped', async () => {
    // the sandbox stands in for the generic server; being DPC, it grants only its own scope
    const report = await runDoctor({ ...good, tokenUrl: `${sandbox.baseUrl}/Token/auth`, scope: 'system/*.*' });
    expect(statuses(report)).toMatchObject({ version: 'skip', metadata: 'pass', token: 'pass', 'authenticated-call': 'skip', 'key-match': 'skip' });
  });

  it('a base URL without /api/v1 answers 404: the fix names the right form', async () => {
    const checks = byId(await runDoctor({ ...good, baseUrl: sandbox.origin }));
    expect(checks.version).toMatchObject({ status: 'fail' });
    expect(checks.version.fix).toContain('/api/v1');
  });
});

describe('dpc doctor (CLI)', () => {

  it('--json: every check as data, exit 0 when nothing failed; secrets never printed', async () => {
    const result = await runCli(['doctor', '--json'], { env: { DPC_CONFIG: configPath } });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as DoctorReport;
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.id)).toEqual(['config', 'settings', 'key-file', 'version', 'metadata', 'clock', 'token', 'authenticated-call', 'key-match']);
    expect(result.stdout + result.stderr).not.toContain(sandbox.seed!.clientToken);
  });

  it('human output with a fix per failure, exit 1', async () => {
    const shared = await configFile('cli-shared.json', { baseUrl: sandbox.baseUrl, clientToken: sandbox.seed!.clientToken, privateKey: sandbox.seed!.privateKeyPath, keyId: sandbox.seed!.keyId }, 0o644);
    const result = await runCli(['doctor'], { env: { DPC_CONFIG: shared } });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^ {2}FAIL {2}config {14}.*mode 644/m);
    expect(result.stdout).toContain(`fix: chmod 600 ${shared}`);
    expect(result.stdout).toMatch(/1 of 9 checks failed$/m);
  });

  it('an invalid config file is a failed check, not a crash; flags still name the server', async () => {
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{ not json', { mode: 0o600 });
    const result = await runCli(['doctor', '--json', '--base-url', sandbox.baseUrl], { env: { DPC_CONFIG: broken } });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as DoctorReport;
    expect(byId(report).config.status).toBe('fail');
    expect(byId(report).version.status).toBe('pass');
    expect(byId(report).settings.status).toBe('fail');
  });
});

describe('formatReport (pure)', () => {
  it('aligns ids, prints fixes under their check and a closing count', () => {
    const text = formatReport({
      ok: false,
      profile: 'p',
      baseUrl: 'https://x/api/v1',
      checks: [
        { id: 'config', status: 'pass', detail: 'c (0600)' },
        { id: 'authenticated-call', status: 'fail', detail: 'refused', fix: 'do this' },
        { id: 'clock', status: 'warn', detail: 'late', fix: 'sync' },
      ],
    });
    expect(text.split('\n')).toEqual([
      'dpc doctor: profile p, https://x/api/v1',
      '  ok    config              c (0600)',
      '  FAIL  authenticated-call  refused',
      '                            fix: do this',
      '  WARN  clock               late',
      '                            fix: sync',
      '1 of 3 checks failed, 1 with warnings',
    ]);
  });
});
