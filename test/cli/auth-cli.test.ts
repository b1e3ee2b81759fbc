/**
 * The foundation commands end to end: `dpc` against the in-process sandbox over
 * loopback, real RSA-4096 keys, real RS384 verification. Errors must be one line with the documented exit code,
 * and no secret may appear in any output except where the user asked for it (`auth token`, `auth assertion`,
 * `tokens create`).
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientToken, deleteClientToken } from '../../src/auth/admin.js';
import { privateKeyPem, publicKeyPem } from '../../src/auth/keys.js';
import { writeConfig } from '../../src/cli/config/file.js';
import { testKey } from '../keys.js';
import { createClient } from '../../src/client.js';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { runCli, type CliResult } from './run-cli.js';

let sandbox: SandboxHandle;
let dir: string;
let env: Record<string, string>;
let clientToken: string;
let keyId: string;
let keyPath: string;
let pem: string;
/** Fails the calling test when a command that must not print secrets printed one (by value or by shape). */
function expectNoSecret(result: CliResult): void {
  const all = `${result.stdout}\n${result.stderr}`;
  expect(all).not.toContain(clientToken);
  expect(all).not.toContain(pem.split('\n')[1]);
  expect(all).not.toContain('PRIVATE KEY-----\n');
  expect(all).not.toMatch(/W3sid/); // any macaroon: client or access token
  expect(all).not.toMatch(/eyJ[\w-]{5,}\.[\w-]{5,}\./); // any JWT
  expect(all).not.toMatch(/Bearer (?!\[REDACTED\])/);
}

async function dpc(...args: string[]): Promise<CliResult> {
  const result = await runCli(args, { env });
  expectNoSecret(result);
  return result;
}

/** The single error line of a failed command; the NDJSON record of each retry (non-TTY stderr) may precede it. */
function oneLineError(result: CliResult, code: number): string {
  expect(result.code).toBe(code);
  const lines = result.stderr.trimEnd().split('\n').filter((l) => !l.includes('"eventId":"retry"'));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  return lines[0]!;
}

beforeAll(async () => {
  sandbox = await startSandbox({ testMode: true });
  dir = await mkdtemp(join(tmpdir(), 'dpc-cli-'));
  env = { HOME: dir, DPC_CONFIG: join(dir, 'config', 'config.json') };
  const privateKey = testKey(1);
  pem = privateKeyPem(privateKey);
  keyPath = join(dir, 'private.pem');
  await writeFile(keyPath, pem, { mode: 0o600 });
  const org = sandbox.admin.createOrganization();
  clientToken = org.clientToken;
  keyId = sandbox.admin.registerKey(org.orgId, publicKeyPem(privateKey), 'cli').keyId;
  await writeFile(join(dir, 'token.txt'), `${clientToken}\n`, { mode: 0o600 });
  // the profile every test uses, as `dpc init` writes it (its own test writes another file), so no test needs another to run first
  await writeConfig(env.DPC_CONFIG!, { defaultProfile: 'test', profiles: { test: { baseUrl: sandbox.baseUrl, clientToken, privateKey: keyPath, keyId } } });
});

afterAll(async () => {
  await sandbox?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('dpc init', () => {
  it('writes a 0600 profile from flags without prompting, and verifies it', async () => {
    const config = join(dir, 'init', 'config.json');
    const args = ['init', '--profile', 'test', '--base-url', sandbox.baseUrl, '--client-token-file', join(dir, 'token.txt'), '--private-key', keyPath, '--key-id', keyId];
    const result = await runCli([...args, '--default', '--verify'], { env: { ...env, DPC_CONFIG: config } });
    expectNoSecret(result);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('clientToken set');
    expect(result.stderr).toMatch(/issued an access token valid 300s, and GET \/Organization answered [0-9a-f-]{36}/);
    expect((await stat(config)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'init'))).mode & 0o777).toBe(0o700);
    expect(JSON.parse(await readFile(config, 'utf8'))).toEqual({
      defaultProfile: 'test',
      profiles: { test: { baseUrl: sandbox.baseUrl, clientToken, privateKey: keyPath, keyId } },
    });
  });

  it('--verify makes an authenticated call: a deleted client token exchanges on DPC but fails verification (exit 3)', async () => {
    const client = createClient({ baseUrl: sandbox.baseUrl, clientToken, privateKey: pem, keyId });
    try {
      const doomed = await createClientToken(client, { label: 'doomed' });
      await deleteClientToken(client, doomed.id);
      await writeFile(join(dir, 'doomed.txt'), doomed.token!, { mode: 0o600 });
    } finally {
      await client.close();
    }
    const result = await dpc('init', '--profile', 'doomed', '--base-url', sandbox.baseUrl, '--client-token-file', join(dir, 'doomed.txt'),
      '--private-key', keyPath, '--key-id', keyId, '--verify');
    expect(oneLineError(result, 3)).toBe(
      'error: the token exchange worked but GET /Organization refused the access token (401): the client token was deleted or has expired; create a new one',
    );
  });

  it('rejects a bad key id before writing anything', async () => {
    const error = oneLineError(await dpc('init', '--profile', 'other', '--base-url', sandbox.baseUrl, '--key-id', 'abc'), 2);
    expect(error).toBe(`error: ${env.DPC_CONFIG}: profiles.other.keyId: not a UUID (DPC key ids are; set tokenUrl for a generic SMART server)`);
  });
});

describe('the flow, under --debug', () => {
  // one RSA-4096 pair (seconds of CPU) for both key tests below; each adds it to the org and deletes it again
  let keysDir: string;
  let generated: CliResult;
  beforeAll(async () => {
    keysDir = join(dir, 'keys');
    generated = await dpc('keys', 'generate', '--out', keysDir, '--json');
  });

  it('lists, creates and deletes credentials', async () => {
    const keys = await dpc('keys', 'list', '--json', '--debug');
    expect(keys.code).toBe(0);
    expect(JSON.parse(keys.stdout)).toEqual([expect.objectContaining({ id: keyId, label: 'cli' })]);
    expect(keys.stderr).toMatch(/debug: exchanging a client assertion at http:\/\/127\.0\.0\.1:\d+\/api\/v1\/Token\/auth \(initial\)/);
    expect(keys.stderr).toMatch(/debug: ← 200 GET http:\/\/127\.0\.0\.1:\d+\/api\/v1\/Key \d+ms request-id [0-9a-f-]{36}/);

    const tokenFile = join(dir, 'ci.token');
    const created = await dpc('tokens', 'create', '--label', 'ci', '--expires', '2099-01-01', '--out', tokenFile, '--debug');
    expect(created.code, created.stderr).toBe(2); // more than a year ahead
    expect(created.stderr).toMatch(/^error: POST \/api\/v1\/Token failed with 400: Cannot set expiration after policy default \(request id [0-9a-f-]{36}\)\n/m);

    const ok = await dpc('tokens', 'create', '--label', 'ci', '--out', tokenFile, '--json', '--debug');
    expect(ok.code).toBe(0);
    const entity = JSON.parse(ok.stdout) as { id: string; file: string };
    expect(entity.file).toBe(tokenFile);
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    expect(await readFile(tokenFile, 'utf8')).toMatch(/^W3/);

    const list = await dpc('tokens', 'list', '--debug');
    expect(list.stdout).toMatch(/^ID\s+Label\s+Created\s+Expires\n/);
    expect(list.stdout).toContain(entity.id);
    expect((await dpc('tokens', 'delete', entity.id, '--debug')).stdout).toBe(`deleted client token ${entity.id}\n`);
  });

  it('generates, uploads, shows and deletes a key pair', async () => {
    expect(generated.code, generated.stderr).toBe(0);
    expect((await stat(join(keysDir, 'private.pem'))).mode & 0o777).toBe(0o600);
    expect(oneLineError(await dpc('keys', 'generate', '--out', keysDir), 2)).toContain('private.pem already exists; use --force');

    const added = await dpc('keys', 'add', '--public-key', join(keysDir, 'public.pem'), '--label', 'rotated', '--json', '--debug');
    expect(added.code, added.stderr).toBe(0);
    const key = JSON.parse(added.stdout) as { id: string; publicKey: string };
    expect(key.publicKey).toBe(await readFile(join(keysDir, 'public.pem'), 'utf8'));
    expect((await dpc('keys', 'show', key.id)).stdout).toContain('label    rotated');
    // the new pair works for the assertion flow
    const listed = await dpc('keys', 'list', '--private-key', join(keysDir, 'private.pem'), '--key-id', key.id);
    expect(listed.stdout, listed.stderr).toContain('rotated');
    expect((await dpc('keys', 'delete', key.id, '--debug')).stdout).toBe(`deleted public key ${key.id}\n`);
  });

  it('key rotation: following the `keys add` hint word for word switches the profile to the new pair', async () => {
    expect(generated.code, generated.stderr).toBe(0);
    const added = await dpc('keys', 'add', '--public-key', join(keysDir, 'public.pem'), '--label', 'next');
    expect(added.code, added.stderr).toBe(0);
    const hint = /^next: sign with it: dpc (.+)$/m.exec(added.stdout)?.[1];
    expect(hint, added.stdout).toMatch(/^init --profile \S+ --key-id \S+ --private-key \S+private\.pem$/);
    expect((await dpc(...hint!.split(' '))).code).toBe(0);
    // the profile now signs with the new pair (a key id without its private key would get 401)
    const newId = /--key-id (\S+)/.exec(hint!)![1]!;
    expect((await dpc('keys', 'show', newId)).stdout).toContain('label    next');
    // back to the original pair for the other tests
    expect((await dpc('init', '--key-id', keyId, '--private-key', keyPath)).code).toBe(0);
    expect((await dpc('keys', 'delete', newId)).code).toBe(0);
  });

  it('prints tokens and assertions only when asked, and they work', async () => {
    const token = await runCli(['auth', 'token'], { env });
    expect(token.code).toBe(0);
    expect(token.stdout).toMatch(/^W3[A-Za-z0-9_=-]+\n$/);
    const res = await fetch(`${sandbox.baseUrl}/Organization`, { headers: { authorization: `Bearer ${token.stdout.trim()}`, accept: 'application/fhir+json' } });
    expect(res.status).toBe(200);

    const assertion = await runCli(['auth', 'assertion'], { env });
    expect(assertion.stdout).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const validated = await runCli(['auth', 'validate', '-', '--debug'], { env, input: assertion.stdout });
    expectNoSecret(validated);
    expect(validated.code).toBe(0);
    expect(validated.stdout).toBe('assertion is valid: /Token/validate accepted it and every claim checks out\n');
  });
});

describe('one-line errors and exit codes', () => {
  it('bad PEM → 2', async () => {
    const bad = join(dir, 'bad.pem');
    await writeFile(bad, '-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n', { mode: 0o600 });
    expect(oneLineError(await dpc('keys', 'list', '--private-key', bad), 2)).toBe(`error: ${bad}: the PEM is damaged or not an RSA private key`);
  });

  it('an encrypted key needs DPC_KEY_PASSPHRASE', async () => {
    const { createPrivateKey } = await import('node:crypto');
    const encrypted = join(dir, 'encrypted.pem');
    await writeFile(encrypted, createPrivateKey(pem).export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'open sesame' }), { mode: 0o600 });
    expect(oneLineError(await dpc('keys', 'list', '--private-key', encrypted), 2)).toBe(`error: ${encrypted}: the key is encrypted; give its passphrase (--passphrase-file or DPC_KEY_PASSPHRASE)`);
    const unlocked = await runCli(['keys', 'list', '--private-key', encrypted], { env: { ...env, DPC_KEY_PASSPHRASE: 'open sesame' } });
    expectNoSecret(unlocked);
    expect(unlocked.code, unlocked.stderr).toBe(0);
    const passphraseFile = join(dir, 'passphrase.txt');
    await writeFile(passphraseFile, 'open sesame\n', { mode: 0o600 });
    const fromFile = await dpc('keys', 'list', '--private-key', encrypted, '--passphrase-file', passphraseFile);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    await writeFile(passphraseFile, 'wrong\n');
    expect(oneLineError(await dpc('keys', 'list', '--private-key', encrypted, '--passphrase-file', passphraseFile), 2)).toMatch(/passphrase/);
  });

  it('a readable-by-others key is used but warned about', async () => {
    const open = join(dir, 'open.pem');
    await writeFile(open, pem, { mode: 0o644 });
    const result = await dpc('keys', 'list', '--private-key', open);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(`warning: ${open} is readable by others (mode 644); run: chmod 600 ${open}\n`);
  });

  it('wrong kid → 3', async () => {
    const line = oneLineError(await dpc('keys', 'list', '--key-id', '00000000-0000-4000-8000-000000000000'), 3);
    expect(line).toMatch(/^error: token exchange refused: POST \/api\/v1\/Token\/auth failed with 401: Cannot find public key with id: 0{8}-0{4}-4000-8000-0{12} \(likely: .*\) \(request id [0-9a-f-]{36}\)$/);
  });

  it('unknown and expired client tokens → 3', async () => {
    const created = sandbox.admin.createOrganization();
    const unknown = oneLineError(await runCli(['keys', 'list'], { env: { ...env, DPC_CLIENT_TOKEN: created.clientToken } }), 3);
    expect(unknown).toMatch(/failed with 401/);
    expect(unknown).not.toContain(created.clientToken);

    const year = 366 * 86_400_000;
    sandbox.authClock.advance(year);
    try {
      expect(oneLineError(await dpc('tokens', 'list'), 3)).toMatch(/^error: token exchange refused: .* 401: Invalid JWT/);
    } finally {
      sandbox.authClock.advance(-year);
    }
  });

  it('wrong aud → 3 with every failed claim explained', async () => {
    const { signAssertion } = await import('../../src/auth/assertion.js');
    const { loadPrivateKey } = await import('../../src/auth/keys.js');
    const jwt = await signAssertion({ clientToken, keyId, privateKey: loadPrivateKey(pem), audience: 'https://sandbox.dpc.cms.gov/api/v1/Token/auth', now: sandbox.authClock.now() });
    const result = await runCli(['auth', 'validate', '-'], { env, input: jwt });
    expectNoSecret(result);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(
      'error: /Token/validate rejected the assertion: Audience claim value is incorrect\n' +
        `  aud: aud is "https://sandbox.dpc.cms.gov/api/v1/Token/auth"; it must be exactly "${sandbox.baseUrl}/Token/auth"\n`,
    );
  });

  it('a 5xx storm → 1 after the retries', async () => {
    sandbox.faults.set({ throttle: { status: 503, count: 50, retryAfter: 'seconds', retryAfterSeconds: 0, pathIncludes: '/Key' } });
    try {
      const result = await dpc('keys', 'list');
      const line = oneLineError(result, 1);
      // each retry was logged as it happened, as many as the message says
      expect(result.stderr.split('\n').filter((l) => /^\{.*"eventId":"retry".*"status":503/.test(l))).toHaveLength(5);
      expect(line).toMatch(/^error: GET \/api\/v1\/Key failed with 503: Sandbox fault: HTTP 503 \(after 5 retries\) \(request id [0-9a-f-]{36}\)$/);
    } finally {
      sandbox.faults.clear();
    }
  });

  it.each(['seconds', 'http-date'] as const)('a 429 that does not stop, Retry-After as %s → 1, in one line', async (retryAfter) => {
    sandbox.faults.set({ throttle: { status: 429, count: 50, retryAfter, retryAfterSeconds: 0, pathIncludes: '/Token' } });
    try {
      expect(oneLineError(await dpc('tokens', 'list'), 1)).toMatch(/failed with 429: Sandbox fault: HTTP 429 \(after 5 retries\)/);
    } finally {
      sandbox.faults.clear();
    }
  });

  it('a 429 without Retry-After is waited out with backoff', async () => {
    sandbox.faults.set({ throttle: { status: 429, count: 1, retryAfter: 'none', pathIncludes: '/Key' } });
    const result = await dpc('keys', 'list', '--debug');
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/debug: retrying GET \S+\/Key in \d+ms: HTTP 429/);
  });

  it('missing settings and bad usage → 2', async () => {
    expect(oneLineError(await runCli(['keys', 'list', '--profile', 'prod'], { env }), 2)).toMatch(/^error: profile "prod" has no client token/);
    expect(oneLineError(await dpc('keys', 'list', '--key-id', 'nope'), 2)).toBe('error: key id "nope" (from flag) is not a UUID; use the id returned when the public key was registered');
    expect(oneLineError(await dpc('org', 'shw'), 2)).toBe('error: unknown command "shw" for "dpc org"; did you mean "show"?');
    expect(oneLineError(await dpc('--profile', 'x', 'rostr', 'sync'), 2)).toBe('error: unknown command "rostr" for "dpc"; did you mean "roster"?');
    expect(oneLineError(await dpc('frobnicate'), 2)).toBe('error: unknown command "frobnicate" for "dpc"; `dpc --help` lists them');
    expect(oneLineError(await dpc('org', 'frobnicate'), 2)).toBe('error: unknown command "frobnicate" for "dpc org"; `dpc org --help` lists them');
    expect(oneLineError(await dpc('org'), 2)).toBe('error: name a command for "dpc org"; `dpc org --help` lists them');
    expect(oneLineError(await dpc('--json', 'export'), 2)).toBe('error: name a command for "dpc export"; `dpc export --help` lists them');
    // a leaf command short of its positionals names itself, not yargs' "Not enough non-option arguments"
    expect(oneLineError(await dpc('sandbox', 'clock'), 2)).toBe('error: "dpc sandbox clock" needs one more argument; `dpc sandbox clock --help` shows its usage');
    expect(oneLineError(await dpc('--json', 'group', 'show'), 2)).toBe('error: "dpc group show" needs one more argument; `dpc group show --help` shows its usage');
  });
});
