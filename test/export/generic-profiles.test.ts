/**
 * Generic Bulk Data servers as first-class profiles, end to end through `dpc` (runCli, in this process) over loopback:
 * - an open server (`dpc init --no-auth`): no credentials, no Authorization header on any request;
 * - a SMART Backend Services server on its own token URL and scope (`dpc init --token-url --scope`) with a key id
 *   that is not a UUID; the token endpoint verifies the RS384 assertion with the registered public key (jose);
 * - the kick-off parameters generic servers take: `_elements`, `_typeFilter`, `includeAssociatedData` in the query,
 *   and `patient` in a POST kick-off's Parameters body;
 * - `dpc auth validate` says that /Token/validate is DPC's own.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readConfig, withProfile, writeConfig } from '../../src/cli/config/file.js';
import { kickoffParameters, kickoffQuery, needsPostKickoff, validateBulkDataParameters } from '../../src/export/job.js';
import { isDpcError } from '../../src/errors.js';
import { runCli, type CliResult } from '../cli/run-cli.js';
import { testKey, testKeyPem } from '../keys.js';

interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  authorization?: string;
  body: string;
}

const PATIENTS = '{"resourceType":"Patient","id":"p1"}\n{"resourceType":"Patient","id":"p2"}\n';
const ACCESS_TOKEN = 'generic-access-token-0123456789';

let server: Server;
let base: string;
let seen: Seen[] = [];
let publicKey: KeyObject;
/** The token endpoint of the server: `open` accepts no credentials at all. */
let mode: 'open' | 'smart' = 'open';
let dir: string;
let env: Record<string, string>;

function read(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve(body));
  });
}

interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

async function handle(req: IncomingMessage, body: string): Promise<Answer> {
  const url = new URL(req.url!, base);
  const path = decodeURIComponent(url.pathname);
  if (path === '/auth/token') {
    const form = new URLSearchParams(body);
    const { payload, protectedHeader } = await jwtVerify(form.get('client_assertion') ?? '', publicKey, {
      algorithms: ['RS384'],
      audience: `${base}/auth/token`,
      issuer: 'my-client-id',
      subject: 'my-client-id',
    });
    if (protectedHeader.kid !== 'my-key' || form.get('scope') !== 'system/*.read' || !payload.jti) return { status: 401, body: '{"error":"invalid_client"}' };
    return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ access_token: ACCESS_TOKEN, token_type: 'bearer', expires_in: 300 }) };
  }
  // the open server refuses credentials it did not ask for; the SMART one wants its token everywhere but /metadata
  const authorization = req.headers.authorization;
  if (mode === 'open' && authorization !== undefined) return { status: 400, body: 'unexpected Authorization header' };
  if (mode === 'smart' && path !== '/fhir/metadata' && authorization !== `Bearer ${ACCESS_TOKEN}`) return { status: 401 };
  if (path === '/fhir/metadata') {
    return { status: 200, headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify({ resourceType: 'CapabilityStatement', fhirVersion: '4.0.1', status: 'active' }) };
  }
  if (path === '/fhir/$export' || path === '/fhir/Group/g1/$export') {
    return { status: 202, headers: { 'content-location': `${base}/fhir/jobs/1` } };
  }
  if (path === '/fhir/jobs/1') {
    const output = [{ type: 'Patient', url: `${base}/files/Patient.ndjson`, count: 2 }];
    const completion = { transactionTime: '2025-01-01T00:00:00Z', request: `${base}/fhir/$export`, requiresAccessToken: mode === 'smart', output, error: [] };
    return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(completion) };
  }
  if (path === '/files/Patient.ndjson') return { status: 200, headers: { 'content-type': 'application/fhir+ndjson' }, body: PATIENTS };
  return { status: 404 };
}

beforeAll(async () => {
  publicKey = createPublicKey(testKey(1));
  server = createServer((req, res) => {
    void read(req).then(async (body) => {
      const url = new URL(req.url!, base);
      seen.push({ method: req.method!, path: decodeURIComponent(url.pathname), query: url.searchParams, authorization: req.headers.authorization, body });
      const answer = await handle(req, body).catch((): Answer => ({ status: 401, body: '{"error":"invalid_client"}' }));
      res.writeHead(answer.status, answer.headers).end(answer.body);
    });
  });
  base = await new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
  dir = await mkdtemp(join(tmpdir(), 'dpc-generic-'));
  env = { HOME: dir, DPC_CONFIG: join(dir, 'config.json') };
  await writeFile(join(dir, 'ref.pem'), testKeyPem(1), { mode: 0o600 });
  await writeFile(join(dir, 'client-id.txt'), 'my-client-id\n', { mode: 0o600 });
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  seen = [];
});

const dpc = (...args: string[]): Promise<CliResult> => runCli(args, { env });

function expectOk(result: CliResult): void {
  expect(result.stderr).not.toMatch(/^error:/m);
  expect(result.code).toBe(0);
}

describe('kick-off parameters (pure)', () => {
  const request = { scope: { level: 'system' } as const, types: ['Patient', 'Observation'], since: '2025-01-01T00:00:00Z' };

  it('sends _elements, _typeFilter and includeAssociatedData in the query of a GET kick-off', () => {
    const query = kickoffQuery({ ...request, elements: ['id', 'Patient.birthDate'], typeFilter: ['Observation?category=laboratory'], includeAssociatedData: ['LatestProvenanceResources'] });
    expect(query).toMatchObject({ _type: 'Patient,Observation', _elements: 'id,Patient.birthDate', _typeFilter: ['Observation?category=laboratory'], includeAssociatedData: 'LatestProvenanceResources' });
    expect(needsPostKickoff(request)).toBe(false);
    expect(kickoffQuery(request)).toMatchObject({ _elements: undefined, _typeFilter: undefined, includeAssociatedData: undefined });
    // each _typeFilter is one query, which may hold commas itself: several go as the parameter repeated
    const filters = ['Observation?code=a,b', 'Condition?clinical-status=active'];
    expect(kickoffQuery({ ...request, typeFilter: filters })._typeFilter).toEqual(filters);
  });

  it('puts every parameter, one entry per value, in the Parameters body of a POST kick-off when patients are named', () => {
    const withPatients = { ...request, patients: ['p1', 'Patient/p2'], typeFilter: ['Observation?category=laboratory'] };
    expect(needsPostKickoff(withPatients)).toBe(true);
    expect(kickoffParameters(withPatients)).toEqual({
      resourceType: 'Parameters',
      parameter: [
        { name: '_outputFormat', valueString: 'application/fhir+ndjson' },
        { name: '_since', valueInstant: '2025-01-01T00:00:00Z' },
        { name: '_type', valueString: 'Patient' },
        { name: '_type', valueString: 'Observation' },
        { name: '_typeFilter', valueString: 'Observation?category=laboratory' },
        { name: 'patient', valueReference: { reference: 'Patient/p1' } },
        { name: 'patient', valueReference: { reference: 'Patient/p2' } },
      ],
    });
  });

  it.each([
    [{ typeFilter: ['category=laboratory'] }, 'typeFilter'],
    [{ elements: ['birth date'] }, 'elements'],
    [{ patients: ['Patient/../x y'] }, 'patients'],
  ])('refuses %j naming the field', (parameters, field) => {
    let error: unknown;
    try {
      validateBulkDataParameters(parameters);
    } catch (caught) {
      error = caught;
    }
    expect(isDpcError(error, 'ERR_INPUT') && error.field).toBe(field);
  });
});

describe('an open Bulk Data server (--no-auth)', () => {
  beforeAll(async () => {
    mode = 'open';
    // the profile the init test writes, so the other tests do not need it to run first
    await writeConfig(env.DPC_CONFIG!, withProfile(await readConfig(env.DPC_CONFIG!), 'open', { baseUrl: `${base}/fhir`, auth: 'none' }, false));
  });

  it('init --no-auth --verify needs no credentials and checks /metadata without a token', async () => {
    const init = await dpc('init', '--profile', 'open', '--base-url', `${base}/fhir`, '--no-auth', '--verify', '--json');
    expectOk(init);
    expect(JSON.parse(init.stdout)).toMatchObject({ profile: 'open', auth: 'none', baseUrl: `${base}/fhir` });
    expect(init.stderr).toContain('/metadata answered (FHIR 4.0.1)');
    const config = JSON.parse(await readFile(env.DPC_CONFIG!, 'utf8'));
    expect(config.profiles.open).toEqual({ baseUrl: `${base}/fhir`, auth: 'none' });
    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual(['GET /fhir/metadata']);
  });

  it('exports with _elements and _typeFilter in the query and no Authorization header on any request', async () => {
    const out = join(dir, 'open-out');
    const run = await dpc('--profile', 'open', 'export', 'run', '--system', '--type', 'Patient', '--elements', 'id,birthDate', '--type-filter', 'Patient?active=true', '--out', out, '--poll-interval', '1s', '--json');
    expectOk(run);
    const kickoff = seen.find((s) => s.path === '/fhir/$export')!;
    expect(kickoff.method).toBe('GET');
    expect(kickoff.query.get('_elements')).toBe('id,birthDate');
    expect(kickoff.query.get('_typeFilter')).toBe('Patient?active=true');
    expect(seen.every((s) => s.authorization === undefined)).toBe(true);
    expect(JSON.parse(run.stdout).groups[0].manifest.files).toHaveLength(1);
  });

  it('names patients in a POST kick-off (Parameters body), as the Bulk Data spec asks', async () => {
    const run = await dpc('--profile', 'open', 'export', 'run', '--group', 'g1', '--patient', 'p1,Patient/p2', '--out', join(dir, 'post-out'), '--poll-interval', '1s', '-q');
    expectOk(run);
    const kickoff = seen.find((s) => s.path === '/fhir/Group/g1/$export')!;
    expect(kickoff.method).toBe('POST');
    expect([...kickoff.query.keys()]).toEqual([]);
    const parameters = JSON.parse(kickoff.body) as { parameter: Array<{ name: string; valueReference?: { reference: string } }> };
    expect(parameters.parameter.filter((p) => p.name === 'patient').map((p) => p.valueReference?.reference)).toEqual(['Patient/p1', 'Patient/p2']);
  });

  it('refuses a malformed --type-filter before sending anything', async () => {
    const run = await dpc('--profile', 'open', 'export', 'run', '--system', '--type-filter', 'active=true', '--out', join(dir, 'bad-out'));
    expect(run.code).toBe(2);
    // export commands log NDJSON when stderr is not a terminal: the failure is one `error` record
    const records = run.stderr.trim().split('\n').map((line) => JSON.parse(line) as { eventId: string; code?: string; message?: string });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ eventId: 'error', code: 'ERR_INPUT' });
    expect(records[0]!.message).toMatch(/^--type-filter "active=true" is not a FHIR search query/);
    expect(seen).toEqual([]);
  });

  it('auth validate says /Token/validate is DPC-only', async () => {
    const run = await dpc('--profile', 'open', 'auth', 'validate');
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(/^error: \/Token\/validate is a DPC-only endpoint; profile "open" talks to an open server/);
    expect(seen).toEqual([]);
  });
});

describe('a SMART Backend Services server on its own token URL (--token-url, --scope)', () => {
  beforeAll(() => {
    mode = 'smart';
  });

  it('init accepts a key id that is not a UUID, verifies with a real exchange, and the export sends the token', async () => {
    const init = await dpc(
      'init', '--profile', 'ref', '--base-url', `${base}/fhir`, '--token-url', `${base}/auth/token`, '--scope', 'system/*.read',
      '--client-token-file', join(dir, 'client-id.txt'), '--private-key', join(dir, 'ref.pem'), '--key-id', 'my-key', '--verify', '--json',
    );
    expectOk(init);
    expect(JSON.parse(init.stdout)).toMatchObject({ profile: 'ref', tokenUrl: `${base}/auth/token`, scope: 'system/*.read', keyId: 'my-key' });
    expect(seen.map((s) => s.path)).toEqual(['/auth/token']);

    const run = await dpc('--profile', 'ref', 'export', 'run', '--system', '--type', 'Patient', '--out', join(dir, 'ref-out'), '--poll-interval', '1s', '-q');
    expectOk(run);
    const api = seen.filter((s) => s.path.startsWith('/fhir/') || s.path.startsWith('/files/'));
    expect(api.length).toBeGreaterThanOrEqual(3);
    expect(api.every((s) => s.authorization === `Bearer ${ACCESS_TOKEN}`)).toBe(true);
  });

  it('a profile saved with --no-auth goes back to the assertion flow with --auth', async () => {
    expectOk(await dpc('init', '--profile', 'flip', '--base-url', `${base}/fhir`, '--no-auth'));
    const back = await dpc('init', '--profile', 'flip', '--auth', '--token-url', `${base}/auth/token`, '--json');
    expect(JSON.parse(back.stdout).auth).toBeUndefined();
    const config = JSON.parse(await readFile(env.DPC_CONFIG!, 'utf8'));
    expect(config.profiles.flip.auth).toBeUndefined();
  });
});
