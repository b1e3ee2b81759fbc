/** The whole auth flow over loopback HTTP against the embedded sandbox, with real RSA-4096 keys. */
import type { KeyObject } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createClientToken, deleteClientToken, deletePublicKey, getPublicKey, listClientTokens, listPublicKeys, uploadPublicKey, validateAssertion,
} from '../../src/auth/admin.js';
import { signAssertion } from '../../src/auth/assertion.js';
import { exchangeToken } from '../../src/auth/exchange.js';
import { privateKeyPem, publicKeyPem, signSnippet } from '../../src/auth/keys.js';
import { testKey } from '../keys.js';
import type { AuthEvent } from '../../src/auth/token-manager.js';
import { createClient, type DpcClient, type DpcClientOptions } from '../../src/client.js';
import { DpcError } from '../../src/errors.js';
import { getOrganization } from '../../src/fhir/organization.js';
import type { TransportEvent } from '../../src/transport/index.js';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { exitCodeFor } from '../../src/cli/exit-codes.js';

let sandbox: SandboxHandle;
let key: KeyObject;
let otherKey: KeyObject;
let clientToken: string;
let keyId: string;
const clients: DpcClient[] = [];

function client(extra: Partial<DpcClientOptions> = {}): DpcClient {
  const c = createClient({ baseUrl: sandbox.baseUrl, clientToken, privateKey: key, keyId, now: () => sandbox.clock.now(), authNow: () => sandbox.authClock.now(), ...extra });
  clients.push(c);
  return c;
}

async function failure(promise: Promise<unknown>): Promise<DpcError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(DpcError);
  expect((error as DpcError).message).not.toMatch(/\n/);
  return error as DpcError;
}

beforeAll(async () => {
  sandbox = await startSandbox({ testMode: true });
  [key, otherKey] = [testKey(1), testKey(2)];
  const org = sandbox.admin.createOrganization();
  clientToken = org.clientToken;
  keyId = sandbox.admin.registerKey(org.orgId, publicKeyPem(key), 'first').keyId;
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await sandbox.close();
});

describe('token manager', () => {
  it('exchanges once, caches, and shares one exchange among concurrent callers', async () => {
    const c = client();
    const tokens = await Promise.all(Array.from({ length: 10 }, () => c.tokens.getAccessToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(await c.tokens.getAccessToken()).toBe(tokens[0]);
    expect(c.tokens.exchanges).toBe(1);
    expect(await listPublicKeys(c)).toEqual([expect.objectContaining({ id: keyId, label: 'first' })]);
    expect(c.tokens.exchanges).toBe(1);
  });

  it('after a 401, refreshes once even when many requests saw the same rejected token', async () => {
    const c = client();
    const first = await c.tokens.getAccessToken();
    const refreshed = await Promise.all(Array.from({ length: 5 }, () => c.tokens.getAccessToken({ forceRefresh: true, rejectedToken: first })));
    expect(new Set(refreshed).size).toBe(1);
    expect(refreshed[0]).not.toBe(first);
    // a late 401 for the old token does not cause another exchange
    expect(await c.tokens.getAccessToken({ forceRefresh: true, rejectedToken: first })).toBe(refreshed[0]);
    expect(c.tokens.exchanges).toBe(2);
  });

  it('refreshes 30 s before the 300 s expiry, so one exchange covers 4.5 minutes', async () => {
    let offset = 0;
    const c = client({ authNow: () => sandbox.authClock.now() + offset });
    await c.tokens.getAccessToken();
    offset = 269_000;
    await c.tokens.getAccessToken();
    expect(c.tokens.exchanges).toBe(1);
    offset = 0;
    sandbox.authClock.advance(271_000);
    await listClientTokens(c);
    expect(c.tokens.exchanges).toBe(2);
  });

  it('re-authenticates once when the server rejects a cached token, then replays the request', async () => {
    let offset = 0;
    const events: Array<TransportEvent | AuthEvent> = [];
    const c = client({
      authNow: () => sandbox.authClock.now() + offset,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'reauth') offset = 0; // the client's clock catches up with the server's
      },
    });
    await c.tokens.getAccessToken();
    sandbox.authClock.advance(301_000);
    offset = -301_000; // the client still believes its token is fresh
    expect((await listClientTokens(c)).length).toBeGreaterThan(0);
    expect(c.tokens.exchanges).toBe(2);
    expect(events.map((e) => e.type)).toEqual([
      'auth-exchange', 'request', 'response', 'auth-token',
      'request', 'response', 'reauth', 'auth-exchange', 'request', 'response', 'auth-token', 'request', 'response',
    ]);
    expect(events.find((e) => e.type === 'auth-exchange' && e.reason === 'rejected')).toBeDefined();
    expect(JSON.stringify(events)).not.toContain(clientToken);
  });
});

describe('client tokens and public keys', () => {
  it('creates, lists and deletes client tokens', async () => {
    const c = client();
    const expiresAt = new Date(sandbox.authClock.now() + 30 * 86_400_000);
    const created = await createClientToken(c, { label: 'ci', expiresAt });
    expect(created.token).toMatch(/^W3/);
    expect(created.label).toBe('ci');
    expect(Date.parse(created.expiresAt!)).toBe(expiresAt.getTime());
    expect((await listClientTokens(c)).map((t) => t.id)).toContain(created.id);
    await deleteClientToken(c, created.id);
    expect((await listClientTokens(c)).map((t) => t.id)).not.toContain(created.id);
    const error = await failure(createClientToken(c, { expiresAt: 'someday' }));
    expect(error).toMatchObject({ code: 'ERR_INPUT', message: 'expiresAt "someday" is not a date (e.g. 2026-12-31 or 2026-12-31T00:00:00Z)', field: 'expiresAt' });
  });

  it('uploads a key with its snippet signature, shows and deletes it', async () => {
    const c = client();
    const uploaded = await uploadPublicKey(c, { publicKeyPem: publicKeyPem(otherKey), signature: signSnippet(otherKey), label: 'second' });
    expect(uploaded.publicKey).toBe(publicKeyPem(otherKey));
    expect((await getPublicKey(c, uploaded.id)).label).toBe('second');
    // the new key works for the assertion flow
    const rotated = client({ privateKey: privateKeyPem(otherKey), keyId: uploaded.id });
    expect(await rotated.tokens.getAccessToken()).toBeTruthy();
    await deletePublicKey(c, uploaded.id);
    expect((await failure(getPublicKey(c, uploaded.id))).code).toBe('ERR_NOT_FOUND');
  });

  it('reports a bad signature and a too-long label in one line', async () => {
    const c = client();
    const bad = await failure(uploadPublicKey(c, { publicKeyPem: publicKeyPem(otherKey), signature: signSnippet(key) }));
    expect(bad).toMatchObject({ code: 'ERR_BAD_REQUEST', message: 'POST /api/v1/Key failed with 400: Public key could not be verified' });
    const long = await failure(uploadPublicKey(c, { publicKeyPem: publicKeyPem(otherKey), signature: signSnippet(otherKey), label: 'x'.repeat(26) }));
    expect(long.code).toBe('ERR_INPUT');
  });
});

describe('refusals', () => {
  it('a wrong kid is an authentication error that says what to check', async () => {
    const error = await failure(client({ keyId: randomUUID() }).tokens.getAccessToken());
    expect(error.code).toBe('ERR_AUTH');
    expect(exitCodeFor(error)).toBe(3);
    expect(error.message).toMatch(/^token exchange refused: POST \/api\/v1\/Token\/auth failed with 401: Cannot find public key with id: [0-9a-f-]{36} \(likely: the key id \(kid\) is not registered/);
  });

  it('a key that does not match the kid fails the signature check', async () => {
    const error = await failure(client({ privateKey: otherKey }).tokens.getAccessToken());
    expect(error.code).toBe('ERR_AUTH');
    expect(error.message).toContain('failed with 401: Invalid JWT (likely: the signature does not match the key id (kid)');
  });

  it('a deleted client token still exchanges (as on DPC) but its access token is refused on use', async () => {
    const created = await createClientToken(client(), { label: 'doomed' });
    await deleteClientToken(client(), created.id);
    const doomed = client({ clientToken: created.token });
    expect(await doomed.tokens.getAccessToken()).toEqual(expect.any(String));
    const error = await failure(getOrganization(doomed));
    expect(error).toMatchObject({ code: 'ERR_UNAUTHORIZED', status: 401 });
  });

  it('an expired client token cannot be exchanged', async () => {
    const year = 366 * 86_400_000;
    sandbox.authClock.advance(year);
    try {
      const error = await failure(client().tokens.getAccessToken());
      expect(error).toMatchObject({ code: 'ERR_AUTH', status: 401 });
    } finally {
      sandbox.authClock.advance(-year);
    }
  });

  it('a wrong aud is refused by /Token/auth and explained by /Token/validate', async () => {
    const c = client();
    const assertion = await signAssertion({ clientToken, privateKey: key, keyId, audience: `${sandbox.origin}/wrong/Token/auth`, now: sandbox.authClock.now() });
    const error = await failure(exchangeToken({ transport: c.transport, tokenUrl: c.tokens.tokenUrl, assertion }));
    expect(error).toMatchObject({ code: 'ERR_AUTH', status: 401 });
    const result = await validateAssertion(c, assertion);
    expect(result.valid).toBe(false);
    expect(result.serverMessage).toBe('Audience claim value is incorrect');
    expect(result.problems).toEqual([{ claim: 'aud', message: `aud is "${sandbox.origin}/wrong/Token/auth"; it must be exactly "${sandbox.baseUrl}/Token/auth"` }]);
    expect((await validateAssertion(c, await c.tokens.createAssertion())).valid).toBe(true);
  });

  it('a fixed access token is used as given and not refreshed', async () => {
    const token = await client().tokens.getAccessToken();
    const fixed = client({ clientToken: undefined, privateKey: undefined, keyId: undefined, accessToken: token });
    expect((await listPublicKeys(fixed)).length).toBeGreaterThan(0);
    const error = await failure(listPublicKeys(client({ clientToken: undefined, privateKey: undefined, keyId: undefined, accessToken: 'W3nonsense' })));
    expect(error.code).toBe('ERR_AUTH');
  });

  it('incomplete credentials are a configuration error', () => {
    expect(() => createClient({ baseUrl: sandbox.baseUrl, clientToken })).toThrow('incomplete credentials: privateKey, keyId missing');
    expect(() => createClient({ baseUrl: 'sandbox.dpc.cms.gov' })).toThrow('base URL "sandbox.dpc.cms.gov" is not a URL');
  });
});

describe('rate limiting and outages', () => {
  it('rides out a 429 with each Retry-After form and a short 503 storm', async () => {
    const c = client();
    await c.tokens.getAccessToken();
    for (const retryAfter of ['seconds', 'http-date', 'none'] as const) {
      sandbox.faults.set({ throttle: { status: 429, count: 2, retryAfter, retryAfterSeconds: 0, pathIncludes: '/Key' } });
      expect(await listPublicKeys(client({ retry: { baseDelayMs: 1 } }))).toHaveLength(1);
    }
    sandbox.faults.set({ throttle: { status: 503, count: 3, retryAfter: 'seconds', retryAfterSeconds: 0, pathIncludes: '/Token' } });
    expect((await listClientTokens(c)).length).toBeGreaterThan(0);
  });

  it('fails in one line when the storm outlasts the retries', async () => {
    const c = client({ retry: { maxRetries: 2 } });
    await c.tokens.getAccessToken();
    sandbox.faults.set({ throttle: { status: 503, count: 5, retryAfter: 'seconds', retryAfterSeconds: 0, pathIncludes: '/Key' } });
    const error = await failure(listPublicKeys(c));
    sandbox.faults.clear();
    expect(error).toMatchObject({ code: 'ERR_SERVER', status: 503, message: 'GET /api/v1/Key failed with 503: Sandbox fault: HTTP 503 (after 2 retries)' });
    expect(error.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
