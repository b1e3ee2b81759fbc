/**
 * A hostile token endpoint (a real loopback server): whatever it answers, the client refuses in one line naming the
 * field, after one request, and nothing it sent reaches a request header or the terminal.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { createClient } from '../../src/client.js';
import { DpcError } from '../../src/errors.js';
import { MAX_ACCESS_TOKEN_CHARS } from '../../src/auth/exchange.js';
import { testKey, testKeyPem } from '../keys.js';
import { runCli } from '../cli/run-cli.js';
import { startFaultServer, type FaultServer } from '../transport/fault-server.js';

let server: FaultServer;
let dir: string;

beforeAll(async () => {
  server = await startFaultServer();
  dir = await mkdtemp(join(tmpdir(), 'dpc-hostile-token-'));
  await writeFile(join(dir, 'key.pem'), testKeyPem(1), { mode: 0o600 });
  await writeFile(join(dir, 'config.json'), JSON.stringify({
    defaultProfile: 'h',
    profiles: { h: { baseUrl: `${server.origin}/fhir`, tokenUrl: `${server.origin}/token`, clientToken: 'client-id', privateKey: join(dir, 'key.pem'), keyId: 'k1' } },
  }), { mode: 0o600 });
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => server.reset());

const answer = (body: unknown) => ({ status: 200, headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

it.each([
  ['a CR/LF that would split the header', { access_token: 'abc\r\nX-Injected: 1', token_type: 'bearer' }, /answered an access_token holding characters no token may hold/],
  ['an ANSI escape', { access_token: 'abc\u001b]0;pwned\u0007\u001b[2J', token_type: 'bearer' }, /answered an access_token holding characters/],
  ['a C1 control, sent as a raw byte otherwise', { access_token: 'abc\u0085def', token_type: 'bearer' }, /answered an access_token holding characters/],
  ['a space', { access_token: 'abc def', token_type: 'bearer' }, /answered an access_token holding characters/],
  ['too long for a header', { access_token: 'a'.repeat(MAX_ACCESS_TOKEN_CHARS + 1), token_type: 'bearer' }, /answered an access_token of 16385 characters, more than the 16384/],
  ['an empty token', { access_token: '', token_type: 'bearer' }, /answered without an access_token/],
  ['a number', { access_token: 42 }, /answered without an access_token/],
  ['null', null, /answered without an access_token/],
  ['an array', [{ access_token: 'abc' }], /answered without an access_token/],
  ['another token type', { access_token: 'abc', token_type: 'mac' }, /answered token_type "mac", not bearer/],
  ['a token type with escapes', { access_token: 'abc', token_type: 'DPoP\u001b[31m' }, /answered token_type "DPoP\\u001b\[31m", not bearer/],
  ['a token type that is no string', { access_token: 'abc', token_type: 1 }, /answered token_type 1, not bearer/],
])('refuses a token answer with %s in one request, sending nothing on', async (_, body, message) => {
  server.script('/token', answer(body));
  const client = createClient({ baseUrl: `${server.origin}/fhir`, tokenUrl: `${server.origin}/token`, clientToken: 'client-id', privateKey: testKey(1), keyId: 'k1' });
  try {
    const failure = await client.transport.json({ path: '/Patient' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DpcError);
    expect((failure as DpcError).code).toBe('ERR_AUTH');
    expect((failure as DpcError).message).toMatch(message);
    expect((failure as DpcError).message).not.toContain('abc');
    expect(server.seen.map((s) => s.path)).toEqual(['/token']);
  } finally {
    await client.close();
  }
});

it('takes a well-formed answer as before: Bearer in any case, expires_in as a string, an odd scope escaped', async () => {
  server.script('/token', answer({ access_token: 'eyJ.opaque-token_~+/=', token_type: 'Bearer', expires_in: '600', scope: 'system/*.read\u001b[2J' }));
  const client = createClient({ baseUrl: `${server.origin}/fhir`, tokenUrl: `${server.origin}/token`, clientToken: 'client-id', privateKey: testKey(1), keyId: 'k1' });
  try {
    expect(await client.tokens.exchange()).toEqual({ accessToken: 'eyJ.opaque-token_~+/=', tokenType: 'bearer', expiresIn: 600, scope: 'system/*.read\\u001b[2J' });
  } finally {
    await client.close();
  }
});

it('dpc auth token prints nothing of a token it refuses: one escaped line, exit 3', async () => {
  server.script('/token', answer({ access_token: 'SECRETabc\u001b[2J\r\nforged: line', token_type: 'bearer' }));
  const run = await runCli(['auth', 'token'], { env: { DPC_CONFIG: join(dir, 'config.json'), HOME: dir } });
  expect(run.code).toBe(3);
  expect(run.stdout).toBe('');
  expect(run.stderr.trim().split('\n')).toHaveLength(1);
  expect(run.stderr).toMatch(/^error: .*access_token/);
  expect(run.stderr).not.toContain('SECRET');
  // eslint-disable-next-line no-control-regex
  expect(run.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
});

it('dpc tokens create prints no client token holding terminal escapes: ERR_HTTP in one line, exit 1, stdout empty', async () => {
  for (const json of [[], ['--json']]) {
    server.script('/token', answer({ access_token: 'good-access-token', token_type: 'bearer', expires_in: 300 }));
    server.script('/fhir/Token', answer({ id: 't1', token: 'W3SECRET\u001b]0;pwned\u0007' }));
    const run = await runCli(['tokens', 'create', ...json], { env: { DPC_CONFIG: join(dir, 'config.json'), HOME: dir } });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: POST \/Token answered a client token holding characters no token may hold/);
    expect(run.stdout + run.stderr).not.toContain('SECRET');
    // eslint-disable-next-line no-control-regex
    expect(run.stdout + run.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  }
});
