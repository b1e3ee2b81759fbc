/**
 * Server text in the lines the CLI composes (`name     ACME`, doctor's check details): a hostile server (a real loopback
 * server posing as DPC) puts newlines and terminal escapes in names, /version and /metadata; each value stays on its
 * own line, escaped, and cannot forge a line of ours.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { testKeyPem } from '../keys.js';
import { runCli } from './run-cli.js';
import { startFaultServer, type FaultServer, type Reply } from '../transport/fault-server.js';

const FORGED = 'ACME\u001b[2J\nerror: forged line\r\u009b31m';
const KEY_ID = '3fa85f64-5717-4562-b3fc-2c963f66afa6';

let server: FaultServer;
let dir: string;
let env: Record<string, string>;

const fhir = (body: unknown): Reply => ({ status: 200, headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) });

beforeAll(async () => {
  server = await startFaultServer(({ path }): Reply => {
    if (path === '/api/v1/Token/auth') return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ access_token: 'hostile-access-token', token_type: 'bearer', expires_in: 300 }) };
    if (path === '/api/v1/Organization') {
      return fhir({ resourceType: 'Bundle', entry: [{ resource: { resourceType: 'Organization', id: 'org\n1', name: FORGED, identifier: 'npi', address: [{ line: ['1 Main\nSt', 5], city: FORGED, state: { code: 'MD' } }] } }] });
    }
    if (path === '/api/v1/version') return { status: 200, headers: { 'content-type': 'text/plain' }, body: `1.0\nerror: forged version\u001b]0;title\u0007` };
    if (path === '/api/v1/metadata') return { status: 200, headers: { 'content-type': 'application/json' }, body: `<\u001b[2J\nerror: forged metadata` };
    if (path === '/api/v1/Patient') {
      return fhir({ resourceType: 'Bundle', entry: [
        { resource: { resourceType: 'Patient', id: 'p1', identifier: 'not a list', name: 7 } },
        { resource: { resourceType: 'Patient', id: 'p2', identifier: [5, { system: 'http://hl7.org/fhir/sid/us-mbi', value: 42 }], name: [{ given: 'Ann', family: ['Lee'] }] } },
        { resource: { resourceType: 'Patient', id: 'p3', identifier: [{ system: 'http://hl7.org/fhir/sid/us-mbi', value: '1s00e00aa01', extension: 'x' }], name: [{ given: ['Ann', 3], family: 'Lee' }] } },
      ] });
    }
    if (path === '/__admin/clock') return { status: 302, headers: { location: 'http://127.0.0.2:9/__admin/clock' } };
    if (path === '/api/v1/Token') return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 't1\nerror: forged id', token: 'W3fresh-client-token', expiresAt: '2027\r\nerror: forged expiry' }) };
    if (path === `/api/v1/Key/${KEY_ID}`) return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: KEY_ID, publicKey: 'not a key' }) };
    return { status: 404, body: '' };
  });
  dir = await mkdtemp(join(tmpdir(), 'dpc-hostile-text-'));
  await writeFile(join(dir, 'key.pem'), testKeyPem(1), { mode: 0o600 });
  await writeFile(join(dir, 'config.json'), JSON.stringify({
    defaultProfile: 'h',
    profiles: { h: { baseUrl: `${server.origin}/api/v1`, clientToken: 'hostile-client-token', privateKey: join(dir, 'key.pem'), keyId: KEY_ID } },
  }), { mode: 0o600 });
  env = { DPC_CONFIG: join(dir, 'config.json'), HOME: dir };
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

/** Every line as printed: none starts with a forged `error:`, none holds a raw control character. */
function expectOwnLines(text: string): string[] {
  const lines = text.split('\n');
  expect(lines.filter((line) => /^error: forged/.test(line))).toEqual([]);
  // eslint-disable-next-line no-control-regex
  expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  return lines;
}

it('dpc org show: a name and address with newlines and escapes stay on their own line; parts of the wrong shape are left out', async () => {
  const run = await runCli(['org', 'show'], { env });
  expect(run.code).toBe(0);
  const lines = expectOwnLines(run.stdout.trimEnd());
  expect(lines).toEqual([
    'id       org\\u000a1',
    'name     ACME\\u001b[2J\\u000aerror: forged line\\u000d\\u009b31m',
    'npi      ',
    'address  1 Main\\u000aSt, ACME\\u001b[2J\\u000aerror: forged line\\u000d\\u009b31m',
  ]);
});

it('dpc doctor: /version, /metadata and the organization name reach the check details escaped and bounded', async () => {
  const run = await runCli(['doctor'], { env });
  const lines = expectOwnLines(run.stdout);
  expect(lines.find((line) => /^\s+ok\s+version\s/.test(line))).toContain('version 1.0 error: forged version\\u001b]0;title\\u0007');
  expect(lines.find((line) => /\bmetadata\s/.test(line))).toMatch(/unexpected answer: .*\\u001b\[2J/);
  expect(lines.find((line) => /authenticated-call/.test(line))).toContain('organization org 1 (ACME\\u001b[2J error: forged line \\u009b31m)');
});

it('dpc tokens create: the new token alone on stdout; the id and expiry of the server on one escaped stderr line', async () => {
  const run = await runCli(['tokens', 'create'], { env });
  expect(run.code).toBe(0);
  expect(run.stdout).toBe('W3fresh-client-token\n');
  const lines = expectOwnLines(run.stderr.trimEnd());
  expect(lines).toEqual(['created client token t1\\u000aerror: forged id (expires 2027\\u000d\\u000aerror: forged expiry); store it now, DPC never shows it again']);
});

it('dpc sandbox clock against something that redirects, or answers without end: one line, exit 1, no wait', async () => {
  const redirected = await runCli(['sandbox', 'clock', 'show', '--sandbox-url', server.origin], { env });
  expect(redirected.code).toBe(1);
  expect(redirected.stderr).toMatch(/^error: cannot reach the sandbox at http:\/\/127\.0\.0\.1:\d+ \(.*redirect.*\)\n$/);

  const endless = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const pump = (): void => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
  });
  await new Promise<void>((resolve) => endless.listen(0, '127.0.0.1', resolve));
  try {
    const run = await runCli(['sandbox', 'clock', 'show', '--sandbox-url', `http://127.0.0.1:${(endless.address() as AddressInfo).port}`], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('error: sandbox GET /__admin/clock answered more than 1048576 bytes\n');
  } finally {
    endless.closeAllConnections();
    await new Promise<void>((resolve) => endless.close(() => resolve()));
  }
});

it('dpc patient list: identifiers and names of the wrong shape show as empty cells, not a TypeError', async () => {
  const run = await runCli(['patient', 'list'], { env });
  expect(run.stderr).toBe('3 patients\n');
  expect(run.code).toBe(0);
  expect(run.stdout.trimEnd().split('\n').map((line) => line.trimEnd())).toEqual(['ID  MBI          Name', 'p1', 'p2', 'p3  1S00E00AA01  Ann Lee']);
});

