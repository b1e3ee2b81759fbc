/**
 * A generic SMART Backend Services server: token URL on another origin, another scope, no `typ` header; a P-384 EC key
 * signs ES384 (as the SMART reference server and client support), which DPC never takes.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { testKey } from '../keys.js';
import { createClient } from '../../src/client.js';
import { startFaultServer, type FaultServer } from '../transport/fault-server.js';

let api: FaultServer;
let auth: FaultServer;
let key: KeyObject;

beforeAll(async () => {
  key = testKey(1);
  [api, auth] = await Promise.all([startFaultServer(), startFaultServer()]);
});
afterAll(async () => {
  await Promise.all([api.close(), auth.close()]);
});
// each test counts the requests it caused and scripts its own replies
beforeEach(() => {
  api.reset();
  auth.reset();
});

it('exchanges at the configured token URL with the configured scope and sends the token only to the API', async () => {
  const tokenUrl = `${auth.origin}/oauth2/token`;
  auth.script('/oauth2/token', { status: 200, body: JSON.stringify({ access_token: 'opaque-access-token', token_type: 'bearer', expires_in: 600 }) });
  const client = createClient({
    baseUrl: `${api.origin}/fhir/r4`,
    clientToken: 'my-client-id',
    privateKey: key,
    keyId: 'key-1',
    tokenUrl,
    scope: 'system/*.read',
    jwtType: false,
  });
  try {
    await client.transport.json({ path: '/Patient' });
    expect(auth.seen).toHaveLength(1);
    const request = auth.seen[0]!;
    expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request.headers.authorization).toBeUndefined();
    const form = new URLSearchParams(request.body);
    expect(form.get('scope')).toBe('system/*.read');
    expect(form.get('grant_type')).toBe('client_credentials');
    const assertion = form.get('client_assertion')!;
    expect(decodeProtectedHeader(assertion)).toEqual({ alg: 'RS384', kid: 'key-1' });
    const { payload } = await jwtVerify(assertion, createPublicKey(key), { audience: tokenUrl, issuer: 'my-client-id', subject: 'my-client-id' });
    expect(payload.jti).toBeTruthy();
    expect(api.seen[0]!.headers.authorization).toBe('Bearer opaque-access-token');
    expect(api.seen[0]!.headers.accept).toBe('application/fhir+json');
  } finally {
    await client.close();
  }
});

it('reuses a short-lived token for half its life instead of exchanging on every request', async () => {
  auth.script('/oauth2/token', { status: 200, body: JSON.stringify({ access_token: 'short-lived-token', expires_in: 20 }) });
  let now = Date.now();
  const client = createClient({ baseUrl: api.origin, clientToken: 'c', privateKey: key, keyId: 'k', tokenUrl: `${auth.origin}/oauth2/token`, now: () => now });
  try {
    await client.tokens.getAccessToken();
    now += 9_000;
    await client.tokens.getAccessToken();
    expect(client.tokens.exchanges).toBe(1);
    auth.script('/oauth2/token', { status: 200, body: JSON.stringify({ access_token: 'next-token', expires_in: 20 }) });
    now += 2_000;
    expect(await client.tokens.getAccessToken()).toBe('next-token');
    expect(client.tokens.exchanges).toBe(2);
  } finally {
    await client.close();
  }
});

it('a refused exchange names the server message', async () => {
  auth.script('/oauth2/token', { status: 400, body: JSON.stringify({ error: 'invalid_client', error_description: 'unknown client' }) });
  const client = createClient({ baseUrl: api.origin, clientToken: 'c', privateKey: key, keyId: 'k', tokenUrl: `${auth.origin}/oauth2/token` });
  try {
    await expect(client.tokens.getAccessToken()).rejects.toMatchObject({
      code: 'ERR_AUTH',
      status: 400,
      message: 'token exchange refused: POST /oauth2/token failed with 400: unknown client',
    });
  } finally {
    await client.close();
  }
});

it('signs with ES384 when a generic server is given a P-384 EC key; DPC and other curves are refused', async () => {
  auth.script('/oauth2/token', { status: 200, body: JSON.stringify({ access_token: 'ec-access-token', token_type: 'bearer', expires_in: 300 }) });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const pem = ec.privateKey.export({ type: 'sec1', format: 'pem' }).toString();
  const tokenUrl = `${auth.origin}/oauth2/token`;
  const client = createClient({ baseUrl: api.origin, clientToken: 'ec-client', privateKey: pem, keyId: 'ec-key', tokenUrl });
  try {
    expect(await client.tokens.getAccessToken()).toBe('ec-access-token');
    const assertion = new URLSearchParams(auth.seen.at(-1)!.body).get('client_assertion')!;
    expect(decodeProtectedHeader(assertion)).toEqual({ alg: 'ES384', kid: 'ec-key', typ: 'JWT' });
    await jwtVerify(assertion, ec.publicKey, { algorithms: ['ES384'], audience: tokenUrl, issuer: 'ec-client', subject: 'ec-client' });
  } finally {
    await client.close();
  }
  // DPC (no tokenUrl of its own) takes RSA only
  expect(() => createClient({ baseUrl: api.origin, clientToken: 'c', privateKey: pem, keyId: 'k' })).toThrow(/not an RSA key \(ec\); DPC accepts RSA keys only/);
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  expect(() => createClient({ baseUrl: api.origin, clientToken: 'c', privateKey: p256, keyId: 'k', tokenUrl })).toThrow(/EC key on curve prime256v1; ES384 needs P-384/);
});

it('asks a generic server for read-only system/*.read unless told otherwise, and explains a refused scope', async () => {
  const tokenUrl = `${auth.origin}/oauth2/token`;
  // the SMART reference server refuses write access (scope.ts validateForExport), so DPC's system/*.* would fail there
  auth.script('/oauth2/token', { status: 400, body: JSON.stringify({ error: 'invalid_scope', error_description: 'Cannot grant permissions to create resources requested by scope "system/*.*"' }) });
  const dpcScoped = createClient({ baseUrl: api.origin, clientToken: 'c', privateKey: key, keyId: 'k', tokenUrl, scope: 'system/*.*' });
  try {
    await expect(dpcScoped.tokens.getAccessToken()).rejects.toMatchObject({
      code: 'ERR_AUTH',
      message: expect.stringContaining("(likely: the server does not grant the scope asked for: set the profile's scope to one it grants (e.g. system/*.read, or SMART v2 system/*.rs))"),
    });
  } finally {
    await dpcScoped.close();
  }
  auth.script('/oauth2/token', { status: 200, body: JSON.stringify({ access_token: 'read-token', token_type: 'bearer', expires_in: 300 }) });
  const generic = createClient({ baseUrl: api.origin, clientToken: 'c', privateKey: key, keyId: 'k', tokenUrl });
  try {
    await generic.tokens.getAccessToken();
    expect(new URLSearchParams(auth.seen.at(-1)!.body).get('scope')).toBe('system/*.read');
  } finally {
    await generic.close();
  }
});
