/** /Token/auth, /Token/validate, the auth filter, /Organization and the public endpoints, over raw HTTP (behaviour doc §0–§1, §4.1, §7). */
import type * as fhir3 from 'fhir/r3.js';
import { createHmac, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { accessToken, api, assertion, FHIR, newOrg, postToken, rsaKey, tokenForm, type TestKey } from './helpers.js';
import { adminPaths, sandboxClock, sandboxFaults, SandboxAdminError } from '../../src/sandbox/admin-contract.js';

let sb: SandboxHandle;
let keyA: TestKey;
let keyB: TestKey;
let a: Awaited<ReturnType<typeof newOrg>>;
let b: Awaited<ReturnType<typeof newOrg>>;

const UNAUTHORIZED = {
  resourceType: 'OperationOutcome',
  issue: [{
    severity: 'error', code: 'exception',
    details: {
      coding: [{ system: 'http://hl7.org/fhir/operation-outcome', code: 'MSG_AUTH_REQUIRED' }],
      text: 'HTTP 401 Unauthorized, Credentials are required to access this resource.',
    },
  }],
};

beforeAll(async () => {
  sb = await startSandbox({ testMode: true });
  [keyA, keyB] = [rsaKey(1), rsaKey(2)];
  a = await newOrg(sb, keyA);
  b = await newOrg(sb, keyB);
});
afterAll(async () => sb?.close());

async function exchange(jwt: string) {
  const res = await postToken(sb, tokenForm(jwt));
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
/** A fresh access token for org A (tests move the clock, so earlier tokens may have expired). */
const tokenA = () => accessToken(sb, keyA.privateKey, a.clientToken, a.keyId);
const jwtA = (o: Parameters<typeof assertion>[4] = {}) => assertion(sb, keyA.privateKey, a.clientToken, a.keyId, o);

describe('client tokens (macaroons)', () => {
  it('are padded base64url JSON arrays of V2 macaroons bound to the org', () => {
    expect(a.clientToken.startsWith('W3')).toBe(true);
    expect(a.clientToken.length % 4).toBe(0);
    const macaroons = JSON.parse(Buffer.from(a.clientToken, 'base64url').toString()) as Array<{ v: number; i: string; c: Array<{ i: string; v64?: string; l?: string }>; s64: string }>;
    expect(macaroons).toHaveLength(1);
    expect(macaroons[0]!.v).toBe(2);
    expect(macaroons[0]!.c.map((c) => c.i)).toContain(`organization_id = ${a.orgId}`);
    expect(macaroons[0]!.c.some((c) => c.l === 'local' && c.v64)).toBe(true);
  });

  it('cannot be forged: a caveat rewritten to another org is rejected at /Token/auth', async () => {
    const list = JSON.parse(Buffer.from(a.clientToken, 'base64url').toString()) as Array<{ c: Array<{ i: string }> }>;
    for (const c of list[0]!.c) c.i = c.i.replace(a.orgId, b.orgId);
    const forged = Buffer.from(JSON.stringify(list)).toString('base64url');
    const jwt = await assertion(sb, keyB.privateKey, forged, b.keyId);
    expect((await exchange(jwt)).status).toBe(401);
  });

  it('admin HTTP endpoints create an org and register a key', async () => {
    const org = await fetch(`${sb.origin}${adminPaths.organizations()}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'HTTP org' }) });
    expect(org.status).toBe(201);
    const { orgId, clientToken } = (await org.json()) as { orgId: string; clientToken: string };
    expect(clientToken.startsWith('W3')).toBe(true);
    const key = rsaKey(0); // this sandbox has no seed, so key 0 is free here
    const reg = await fetch(`${sb.origin}${adminPaths.organizationKeys(orgId)}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ key: key.publicKeyPem, label: 'http' }) });
    expect(reg.status).toBe(201);
    const { id } = (await reg.json()) as { id: string };
    expect((await exchange(await assertion(sb, key.privateKey, clientToken, id))).status).toBe(200);
  });
});

describe('POST /Token/auth', () => {
  it('answers 200 with a bearer access token for 300 s', async () => {
    const res = await postToken(sb, tokenForm(await jwtA()));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ token_type: 'bearer', expires_in: 300, scope: 'system/*.*' });
    expect(String(body.access_token)).toMatch(/^W3[A-Za-z0-9_-]+=*$/);
  });

  it('a body that is not form-encoded → 415', async () => {
    const res = await fetch(`${sb.baseUrl}/Token/auth`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify(Object.fromEntries(tokenForm(await jwtA()))),
    });
    expect(res.status).toBe(415);
  });

  it('missing form params → 400 {id, errors[]}', async () => {
    const res = await postToken(sb, new URLSearchParams());
    expect(res.status).toBe(400);
    const body = (await res.json()) as { id: string; errors: string[] };
    expect(body.errors).toEqual(['arg0 Scope is required', 'arg1 Grant type is required', 'arg2 Assertion type is required', 'arg3 Assertion is required']);
  });

  it.each([
    ['grant_type', 'password', "Grant Type must be 'client_credentials'"],
    ['scope', 'system/Patient.read', "Access Scope must be 'system/*.*'"],
    ['client_assertion_type', 'jwt', "Client Assertion Type must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'"],
  ])('wrong %s → 400 {code, message}', async (param, value, message) => {
    const res = await postToken(sb, tokenForm(await jwtA(), { [param]: value }));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ code: 400, message });
  });

  it('missing sub → 401 "JWT must have client_id"', async () => {
    expect(await exchange(await jwtA({ sub: null }))).toEqual({ status: 401, body: { code: 401, message: 'JWT must have client_id' } });
  });

  it('sub that is no macaroon → 401 "JWT client token must have organization_id"', async () => {
    const r = await exchange(await jwtA({ sub: 'not-a-token', iss: 'not-a-token' }));
    expect(r).toEqual({ status: 401, body: { code: 401, message: 'JWT client token must have organization_id' } });
  });

  it('unknown kid → 401 "Cannot find public key with id: …"', async () => {
    const kid = randomUUID();
    expect((await exchange(await jwtA({ kid }))).body).toEqual({ code: 401, message: `Cannot find public key with id: ${kid}` });
  });

  it('non-UUID kid → 401 "Invalid Public Key ID"', async () => {
    expect(await exchange(await jwtA({ kid: 'key-1' }))).toEqual({ status: 401, body: { code: 401, message: 'Invalid Public Key ID' } });
  });

  it("a key of another org → 401", async () => {
    const jwt = await assertion(sb, keyB.privateKey, a.clientToken, b.keyId);
    expect((await exchange(jwt)).status).toBe(401);
  });

  it('signature by a different key → 401 "Invalid JWT"', async () => {
    const jwt = await assertion(sb, keyB.privateKey, a.clientToken, a.keyId);
    expect(await exchange(jwt)).toEqual({ status: 401, body: { code: 401, message: 'Invalid JWT' } });
  });

  it.each(['RS256', 'RS512', 'PS256'])('accepts any RSA algorithm (%s)', async (alg) => {
    expect((await exchange(await jwtA({ alg }))).status).toBe(200);
  });

  it('alg none and HS256 → 401', async () => {
    const good = await jwtA();
    const [, payload] = good.split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: a.keyId })).toString('base64url')}.${payload}.`;
    expect((await exchange(none)).status).toBe(401);
    const hsHeader = Buffer.from(JSON.stringify({ alg: 'HS256', kid: a.keyId })).toString('base64url');
    const hsSig = createHmac('sha256', keyA.publicKeyPem).update(`${hsHeader}.${payload}`).digest('base64url');
    expect((await exchange(`${hsHeader}.${payload}.${hsSig}`)).status).toBe(401);
  });

  it('aud must contain <base>/Token/auth', async () => {
    expect((await exchange(await jwtA({ aud: 'https://sandbox.dpc.cms.gov/api/v1/Token/auth' }))).status).toBe(401);
    expect((await exchange(await jwtA({ aud: ['https://example.org', `${sb.baseUrl}/Token/auth`] }))).status).toBe(200);
  });

  it('exp in the past → 401 "Invalid JWT" (0 s skew)', async () => {
    expect(await exchange(await jwtA({ expIn: -1 }))).toEqual({ status: 401, body: { code: 401, message: 'Invalid JWT' } });
  });

  it('exp more than 300 s ahead → 401 "Not authorized"; exactly 300 s is fine', async () => {
    expect(await exchange(await jwtA({ expIn: 330 }))).toEqual({ status: 401, body: { code: 401, message: 'Not authorized' } });
    expect((await exchange(await jwtA({ expIn: 299 }))).status).toBe(200);
  });

  it('iss ≠ sub → 400 "Issuer and Subject must be identical"', async () => {
    expect(await exchange(await jwtA({ iss: 'someone-else' }))).toEqual({ status: 400, body: { code: 400, message: 'Issuer and Subject must be identical' } });
  });

  it('missing iss → 400 "Claim issuer must be present"', async () => {
    expect((await exchange(await jwtA({ iss: null }))).body).toEqual({ code: 400, message: 'Claim issuer must be present' });
  });

  it('missing jti → 400 "Claim id must be present"', async () => {
    expect(await exchange(await jwtA({ jti: null }))).toEqual({ status: 400, body: { code: 400, message: 'Claim id must be present' } });
  });

  it('a replayed jti → 401 within 5 minutes, accepted again after the window (auth clock)', async () => {
    const jti = randomUUID();
    expect((await exchange(await jwtA({ jti }))).status).toBe(200);
    expect(await exchange(await jwtA({ jti }))).toEqual({ status: 401, body: { code: 401, message: 'Invalid JWT' } });
    sb.authClock.advance(5 * 60 * 1000 + 1000);
    expect((await exchange(await jwtA({ jti }))).status).toBe(200);
  });

  it('iat is not checked (Postman sends it in milliseconds)', async () => {
    const nowS = Math.floor(sb.authClock.now() / 1000);
    const jwt = await new SignJWT({ iss: a.clientToken, sub: a.clientToken, aud: `${sb.baseUrl}/Token/auth`, exp: nowS + 200, iat: sb.authClock.now(), jti: randomUUID() })
      .setProtectedHeader({ alg: 'RS384', kid: a.keyId }).sign(keyA.privateKey);
    expect((await exchange(jwt)).status).toBe(200);
  });

  it('missing kid → 500 (DPC dereferences it)', async () => {
    expect((await exchange(await jwtA({ kid: null }))).status).toBe(500);
  });
});

describe('POST /Token/validate', () => {
  const validate = (body: string, contentType = 'text/plain') =>
    fetch(`${sb.baseUrl}/Token/validate`, { method: 'POST', headers: { 'Content-Type': contentType, Accept: 'application/json' }, body });

  it('200 with an empty body, and does not consume the jti', async () => {
    const jwt = await jwtA();
    const res = await validate(jwt);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    expect((await exchange(jwt)).status).toBe(200);
    const again = await validate(jwt);
    expect(await again.json()).toEqual({ code: 400, message: 'Token ID cannot be re-used' });
  });

  it.each([
    [{ kid: null }, 'JWT header must have `kid` value'],
    [{ kid: 'abc' }, '`kid` value must be a UUID'],
    [{ expIn: -5 }, 'JWT is expired'],
    [{ expIn: 600 }, 'Token expiration cannot be more than 5 minutes in the future'],
    [{ iss: 'x' }, 'Issuer and Subject must be identical'],
    [{ aud: ['https://example.org', 'AUTH'] }, 'Audience claim value is incorrect'],
  ] as const)('%o → 400 %s', async (options, message) => {
    const o = { ...options } as Record<string, unknown>;
    if (Array.isArray(o.aud)) o.aud = (o.aud as string[]).map((v) => (v === 'AUTH' ? `${sb.baseUrl}/Token/auth` : v));
    const res = await validate(await jwtA(o));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ code: 400, message });
  });

  it('a UUID as client token / a non-macaroon → 400 with DPC messages', async () => {
    const uuid = randomUUID();
    const r1 = await validate(await jwtA({ iss: uuid, sub: uuid }));
    expect(await r1.json()).toEqual({ code: 400, message: 'Cannot use Token ID as `client_token`, must use actual token value' });
    const r2 = await validate(await jwtA({ iss: 'abc', sub: 'abc' }));
    expect(await r2.json()).toEqual({ code: 400, message: 'Client token is not formatted correctly' });
  });

  it('garbage → 400 "JWT is not formatted correctly"; wrong content type → 415', async () => {
    expect(await (await validate('nope')).json()).toEqual({ code: 400, message: 'JWT is not formatted correctly' });
    expect((await validate(await jwtA(), 'application/json')).status).toBe(415);
  });
});

describe('auth filter', () => {
  it('no credentials → 401 with the exact OperationOutcome', async () => {
    const res = await api(sb, undefined, '/Organization');
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(UNAUTHORIZED);
  });

  it('accepts a case-insensitive Bearer scheme and ?token=', async () => {
    const token = await tokenA();
    expect((await api(sb, undefined, '/Organization', { headers: { Authorization: `bearer ${token}` } })).status).toBe(200);
    expect((await api(sb, undefined, `/Organization?token=${encodeURIComponent(token)}`)).status).toBe(200);
  });

  it('a client token is not an access token', async () => {
    expect((await api(sb, a.clientToken, '/Organization')).status).toBe(401);
  });

  it('a tampered access token → 401', async () => {
    const list = JSON.parse(Buffer.from(await tokenA(), 'base64url').toString()) as Array<{ c: Array<{ i: string }> }>;
    list[0]!.c = list[0]!.c.map((c) => ({ ...c, i: c.i.startsWith('expires') ? 'expires = 2999-01-01T00:00:00.000Z' : c.i }));
    const tampered = Buffer.from(JSON.stringify(list)).toString('base64url');
    expect((await api(sb, tampered, '/Organization')).status).toBe(401);
  });

  it('access tokens expire after 300 s of auth-clock time', async () => {
    const token = await tokenA();
    expect((await api(sb, token, '/Organization')).status).toBe(200);
    sb.authClock.advance(301 * 1000);
    const res = await api(sb, token, '/Organization');
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(UNAUTHORIZED);
  });
});

describe('Organization and public endpoints', () => {
  it('GET /Organization → collection Bundle with the caller org', async () => {
    const res = await api(sb, await tokenA(), '/Organization');
    expect(res.headers.get('content-type')).toContain(FHIR);
    const bundle = (await res.json()) as fhir3.Bundle;
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'collection', total: 1 });
    expect(bundle.entry?.[0]?.resource?.id).toBe(a.orgId);
  });

  it('GET /Organization/{id}: own → 200, another org → 401', async () => {
    const token = await tokenA();
    const own = await api(sb, token, `/Organization/${a.orgId}`);
    expect(own.status).toBe(200);
    expect(((await own.json()) as fhir3.Organization).id).toBe(a.orgId);
    expect((await api(sb, token, `/Organization/${b.orgId}`)).status).toBe(401);
  });

  it('GET /metadata is public and names this sandbox as token endpoint', async () => {
    const res = await api(sb, undefined, '/metadata');
    expect(res.status).toBe(200);
    const cs = (await res.json()) as fhir3.CapabilityStatement;
    expect(cs.resourceType).toBe('CapabilityStatement');
    expect(JSON.stringify(cs)).toContain(`${sb.baseUrl}/Token/auth`);
  });

  it('GET /StructureDefinition[/{id}] is public and serves the DPC profiles', async () => {
    const list = (await (await api(sb, undefined, '/StructureDefinition')).json()) as fhir3.Bundle;
    expect(list.total).toBe(6);
    const one = await api(sb, undefined, '/StructureDefinition/dpc-profile-attestation');
    expect(((await one.json()) as fhir3.StructureDefinition).url).toBe('https://dpc.cms.gov/api/v1/StructureDefinition/dpc-profile-attestation');
    expect((await api(sb, undefined, '/StructureDefinition/nope')).status).toBe(404);
  });

  it('GET /version is public text', async () => {
    const res = await fetch(`${sb.baseUrl}/version`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('unknown paths → 404, known paths with another method → 405', async () => {
    expect((await fetch(`${sb.baseUrl}/Nothing`)).status).toBe(404);
    expect((await fetch(`${sb.baseUrl}/metadata`, { method: 'DELETE' })).status).toBe(405);
  });

  it('X-Request-Id is a fresh UUID per response, ignoring the client value', async () => {
    const r1 = await fetch(`${sb.baseUrl}/version`, { headers: { 'X-Request-Id': 'mine' } });
    const r2 = await fetch(`${sb.baseUrl}/nowhere`);
    expect(r1.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(r2.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(r1.headers.get('x-request-id')).not.toBe(r2.headers.get('x-request-id'));
  });
});

describe('test-mode admin', () => {
  it('moves the clock over HTTP', async () => {
    const before = sb.clock.now();
    const res = await fetch(`${sb.origin}${adminPaths.clock()}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ advanceMs: 3_600_000 }) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { now: number }).now).toBeGreaterThanOrEqual(before + 3_600_000);
  });

  it('moving the sandbox clock 91 days leaves JWT checks on real time; reset puts it back', async () => {
    const token = await tokenA();
    const moved = await sandboxClock(sb.origin, { advanceMs: 91 * 86_400_000 });
    expect(moved.now).toBeGreaterThanOrEqual(Date.now() + 91 * 86_400_000 - 60_000);
    expect((await api(sb, token, '/Organization')).status).toBe(200);
    expect((await api(sb, await tokenA(), '/Organization')).status).toBe(200);
    const reset = await sandboxClock(sb.origin, { reset: true });
    expect(Math.abs(reset.now - Date.now())).toBeLessThan(60_000);
    expect(Date.parse(reset.iso)).toBe(reset.now);
  });

  it('refuses a malformed clock request with 400 and changes nothing', async () => {
    const before = sb.clock.now();
    for (const body of [{ advanceMs: 'banana' }, { reset: false }, { set: 1, advanceMs: 1 }, {}]) {
      const error = await sandboxClock(sb.origin, body as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SandboxAdminError);
      expect((error as SandboxAdminError).status).toBe(400);
    }
    expect(Math.abs(sb.clock.now() - before)).toBeLessThan(60_000);
  });

  it('sets, reads and clears faults over HTTP', async () => {
    expect(await sandboxFaults(sb.origin, { slowFirstByteMs: 5 })).toEqual({ slowFirstByteMs: 5 });
    expect(await sandboxFaults(sb.origin)).toEqual({ slowFirstByteMs: 5 });
    expect(await sandboxFaults(sb.origin, {})).toEqual({});
    expect(await sandboxFaults(sb.origin)).toEqual({});
  });

  it('is off without testMode', async () => {
    const plain = await startSandbox();
    try {
      expect((await fetch(`${plain.origin}${adminPaths.clock()}`)).status).toBe(404);
    } finally {
      await plain.close();
    }
  });
});
