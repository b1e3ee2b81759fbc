/** `/Key` and `/Token` management over raw HTTP (behaviour doc §2, §3). */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { accessToken, api, assertion, newOrg, postToken, rsaKey, snippetSignature, tokenForm, type TestKey } from './helpers.js';

let sb: SandboxHandle;
let orgKey: TestKey;
let uploadKey: TestKey;
let smallKey: TestKey;
let org: Awaited<ReturnType<typeof newOrg>>;
const JSON_HEADERS = { Accept: 'application/json', 'Content-Type': 'application/json' };

beforeAll(async () => {
  sb = await startSandbox({ testMode: true });
  [orgKey, uploadKey] = [rsaKey(1), rsaKey(2)];
  const small = generateKeyPairSync('rsa', { modulusLength: 2048 });
  smallKey = { privateKey: small.privateKey, publicKeyPem: small.publicKey.export({ type: 'spki', format: 'pem' }).toString() };
  org = await newOrg(sb, orgKey);
});
afterAll(async () => sb?.close());

const json = (path: string, init: RequestInit = {}) =>
  api(sb, org.token, path, { ...init, headers: { ...JSON_HEADERS, ...(init.headers as Record<string, string> | undefined) } });
const postKey = (key: string, signature: string, label?: string) =>
  json(`/Key${label === undefined ? '' : `?label=${encodeURIComponent(label)}`}`, { method: 'POST', body: JSON.stringify({ key, signature }) });

describe('/Key', () => {
  // uploaded once before the tests of this block, so none of them depends on another having run first
  let uploaded: { status: number; body: { id: string; publicKey: string; createdAt: string; label: string } };
  let uploadedId = '';
  beforeAll(async () => {
    const res = await postKey(uploadKey.publicKeyPem, snippetSignature(uploadKey.privateKey), 'laptop');
    uploaded = { status: res.status, body: (await res.json()) as typeof uploaded.body };
    uploadedId = uploaded.body.id;
  });

  it('a signature by another key → 400 "Public key could not be verified"', async () => {
    const res = await postKey(uploadKey.publicKeyPem, snippetSignature(orgKey.privateKey));
    expect(await res.json()).toEqual({ code: 400, message: 'Public key could not be verified' });
  });

  it('POST with a 4096-bit SPKI key and the snippet signature → 200 entity usable as kid', async () => {
    expect(uploaded.status).toBe(200);
    const body = uploaded.body;
    expect(body.label).toBe('laptop');
    expect(body.publicKey).toContain('-----BEGIN PUBLIC KEY-----');
    expect(body.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00$/);
    expect(await accessToken(sb, uploadKey.privateKey, org.clientToken, uploadedId)).toMatch(/^W3/);
  });

  it('the same key again → 400 duplicate (plain text)', async () => {
    const res = await postKey(uploadKey.publicKeyPem, snippetSignature(uploadKey.privateKey), 'other');
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/duplicate key value violates unique constraint$/);
  });

  it('label longer than 25 characters → 400', async () => {
    const res = await postKey(uploadKey.publicKeyPem, snippetSignature(uploadKey.privateKey), 'x'.repeat(26));
    expect(await res.json()).toEqual({ code: 400, message: 'Key label cannot be more than 25 characters' });
  });

  it('a 2048-bit RSA key → 400 "Public key is not valid"', async () => {
    const res = await postKey(smallKey.publicKeyPem, snippetSignature(smallKey.privateKey));
    expect(await res.json()).toEqual({ code: 400, message: 'Public key is not valid' });
  });

  it('an EC key → 422 "ECC keys are not currently supported"', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const res = await postKey(publicKey.export({ type: 'spki', format: 'pem' }).toString(), snippetSignature(privateKey));
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({ code: 422, message: 'ECC keys are not currently supported' });
  });

  it('a PKCS#1 "RSA PUBLIC KEY" PEM → 400', async () => {
    const pkcs1 = createPublicKey(uploadKey.publicKeyPem).export({ type: 'pkcs1', format: 'pem' }).toString();
    expect(pkcs1).toContain('BEGIN RSA PUBLIC KEY');
    const res = await postKey(pkcs1, snippetSignature(uploadKey.privateKey));
    expect(res.status).toBe(400);
  });

  it('GET lists {entities, count, created_at}; GET /Key/{id}; unknown → 404', async () => {
    const list = (await (await json('/Key')).json()) as { entities: Array<{ id: string }>; count: number; created_at: string };
    expect(list.count).toBe(2);
    expect(list.entities.map((e) => e.id)).toContain(uploadedId);
    expect(typeof list.created_at).toBe('string');
    expect((await json(`/Key/${uploadedId}`)).status).toBe(200);
    const missing = await json('/Key/7d1e3d1c-0000-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ code: 404, message: 'Cannot find public key' });
  });

  it('DELETE → 200, then the kid no longer authenticates', async () => {
    // its own key (shared key 0 is free in this unseeded sandbox), so the other tests keep theirs
    const doomed = rsaKey(0);
    const { id } = (await (await postKey(doomed.publicKeyPem, snippetSignature(doomed.privateKey), 'doomed')).json()) as { id: string };
    expect(await accessToken(sb, doomed.privateKey, org.clientToken, id)).toMatch(/^W3/);
    expect((await json(`/Key/${id}`, { method: 'DELETE' })).status).toBe(200);
    const again = await json(`/Key/${id}`, { method: 'DELETE' });
    expect(await again.json()).toEqual({ code: 404, message: 'Cannot find certificate' });
    const res = await postToken(sb, tokenForm(await assertion(sb, doomed.privateKey, org.clientToken, id)));
    expect(res.status).toBe(401);
  });

  it('a FHIR Accept header → 406 (JSON resource)', async () => {
    expect((await api(sb, org.token, '/Key')).status).toBe(406);
  });
});

describe('/Token', () => {
  it('POST → 200 (not 201) with the token only on creation; body label wins over the query', async () => {
    const res = await json('/Token?label=fromQuery', { method: 'POST', body: JSON.stringify({ label: 'fromBody' }) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, string>;
    expect(body).toMatchObject({ tokenType: 'MACAROON', label: 'fromBody' });
    expect(body.token).toMatch(/^W3/);
    const fetched = (await (await json(`/Token/${body.id}`)).json()) as Record<string, string>;
    expect(fetched.label).toBe('fromBody');
    expect(fetched.token).toBeUndefined();
  });

  it('default label and one-year default expiry', async () => {
    const body = (await (await json('/Token', { method: 'POST' })).json()) as Record<string, string>;
    expect(body.label).toBe(`Token for organization ${org.orgId}.`);
    const years = (Date.parse(body.expiresAt!) - Date.parse(body.createdAt!)) / (365 * 24 * 3600 * 1000);
    expect(years).toBeCloseTo(1, 2);
  });

  it('expiresAt beyond one year or in the past → 400', async () => {
    const late = await json('/Token', { method: 'POST', body: JSON.stringify({ expiresAt: new Date(sb.authClock.now() + 400 * 86400_000).toISOString() }) });
    expect(await late.json()).toEqual({ code: 400, message: 'Cannot set expiration after policy default' });
    const early = await json(`/Token?expiration=${encodeURIComponent('2001-01-01T00:00:00.000+00:00')}`, { method: 'POST' });
    expect(await early.json()).toEqual({ code: 400, message: 'Cannot set expiration before current time' });
  });

  it('an expiresAt that does not parse → 400 naming it (DPC: a 500), a non-string value as JSON', async () => {
    const month13 = await json('/Token', { method: 'POST', body: JSON.stringify({ expiresAt: '2030-13-01T00:00:00Z' }) });
    expect(await month13.json()).toEqual({ code: 400, message: 'Could not parse date: 2030-13-01T00:00:00Z' });
    const object = await json('/Token', { method: 'POST', body: JSON.stringify({ expiresAt: { at: 1 } }) });
    expect(await object.json()).toEqual({ code: 400, message: 'Could not parse date: {"at":1}' });
  });

  it('GET lists entities without tokens; unknown id → 404', async () => {
    const list = (await (await json('/Token')).json()) as { entities: Array<Record<string, unknown>>; count: number };
    expect(list.count).toBe(list.entities.length);
    expect(list.entities.every((e) => e.token === undefined)).toBe(true);
    const missing = await json('/Token/7d1e3d1c-0000-4000-8000-000000000000');
    expect(await missing.json()).toEqual({ code: 404, message: 'Cannot find token with matching ID' });
  });

  it('DELETE → 204; the deleted client token still exchanges (200) but no access token of it works (401)', async () => {
    const created = (await (await json('/Token', { method: 'POST' })).json()) as { id: string; token: string };
    const access = await accessToken(sb, orgKey.privateKey, created.token, org.keyId);
    expect((await api(sb, access, '/Organization')).status).toBe(200);
    expect((await json(`/Token/${created.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await api(sb, access, '/Organization')).status).toBe(401);
    // DPC: R/TokenResource.java handleJWT does not consult the token table; DPCAuthFilter refuses the result.
    const res = await postToken(sb, tokenForm(await assertion(sb, orgKey.privateKey, created.token, org.keyId)));
    expect(res.status).toBe(200);
    const fresh = ((await res.json()) as { access_token: string }).access_token;
    const refused = await api(sb, fresh, '/Organization');
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ issue: [{ details: { coding: [{ code: 'MSG_AUTH_REQUIRED' }] } }] });
  });
});
