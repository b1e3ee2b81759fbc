import { createPublicKey, type KeyObject } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertionClaims, signAssertion } from '../../src/auth/assertion.js';
import { checkAssertion } from '../../src/auth/assertion-check.js';
import { tokenRequestForm, parseTokenResponse } from '../../src/auth/exchange.js';
import { testKey } from '../keys.js';

const AUD = 'https://sandbox.dpc.cms.gov/api/v1/Token/auth';
const TOKEN = `W3${'x'.repeat(60)}`;
const KID = '6f1c2f4e-9a64-4b43-8d0e-2c7a6f0b9a11';
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
let key: KeyObject;

beforeAll(async () => {
  key = testKey(1);
});

describe('assertionClaims', () => {
  it('has iss = sub = client token, exact aud, exp 290 s ahead and a fresh jti', () => {
    const a = assertionClaims({ clientToken: TOKEN, audience: AUD, now: NOW });
    const b = assertionClaims({ clientToken: TOKEN, audience: AUD, now: NOW });
    expect(a).toMatchObject({ iss: TOKEN, sub: TOKEN, aud: AUD, iat: NOW / 1000, exp: NOW / 1000 + 290 });
    expect(a.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.jti).not.toBe(b.jti);
  });

  it('refuses lifetimes the server would reject', () => {
    expect(() => assertionClaims({ clientToken: TOKEN, audience: AUD, now: NOW, lifetimeSec: 300 })).toThrow(/outside 1\.\.290/);
    expect(assertionClaims({ clientToken: TOKEN, audience: AUD, now: NOW, lifetimeSec: 60 }).exp).toBe(NOW / 1000 + 60);
  });
});

describe('signAssertion', () => {
  it('signs RS384 with kid and typ, verifiable with the public key', async () => {
    const jwt = await signAssertion({ clientToken: TOKEN, audience: AUD, now: Date.now(), privateKey: key, keyId: KID });
    expect(decodeProtectedHeader(jwt)).toEqual({ alg: 'RS384', kid: KID, typ: 'JWT' });
    const { payload } = await jwtVerify(jwt, createPublicKey(key), { algorithms: ['RS384'], audience: AUD, issuer: TOKEN, subject: TOKEN });
    expect(payload.exp! - payload.iat!).toBe(290);
    expect(checkAssertion(jwt, { audience: AUD, now: Date.now() })).toEqual([]);
  });

  it('leaves typ out when asked (generic SMART servers)', async () => {
    const jwt = await signAssertion({ clientToken: TOKEN, audience: AUD, now: NOW, privateKey: key, keyId: KID, jwtType: false });
    expect(decodeProtectedHeader(jwt)).toEqual({ alg: 'RS384', kid: KID });
  });
});

describe('checkAssertion', () => {
  it('explains every failed claim at once', async () => {
    const jwt = await signAssertion({ clientToken: KID, audience: 'https://wrong.example/Token/auth', now: NOW, privateKey: key, keyId: 'not-a-uuid' });
    const problems = checkAssertion(jwt, { audience: AUD, now: NOW + 600_000 });
    expect(problems.map((p) => p.claim)).toEqual(['kid', 'exp', 'iss', 'aud']);
    expect(problems.find((p) => p.claim === 'exp')?.message).toBe('expired 310s ago; assertions live at most 5 minutes');
    expect(problems.find((p) => p.claim === 'aud')?.message).toBe(`aud is "https://wrong.example/Token/auth"; it must be exactly "${AUD}"`);
  });

  it('flags an exp too far ahead and a garbage token', () => {
    expect(checkAssertion('not.a.jwt', { audience: AUD, now: NOW })).toEqual([{ claim: 'jwt', message: expect.stringContaining('not a compact JWT') }]);
    const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ iss: TOKEN, sub: 'other', aud: [AUD], exp: NOW / 1000 + 400 })).toString('base64url');
    const problems = checkAssertion(`${header}.${body}.`, { audience: AUD, now: NOW });
    expect(problems.map((p) => p.claim)).toEqual(['alg', 'kid', 'exp', 'jti', 'sub']);
  });
});

describe('token request and response', () => {
  it('posts exactly the four form fields DPC requires', () => {
    const form = new URLSearchParams(tokenRequestForm('a.b.c'));
    expect([...form.entries()]).toEqual([
      ['scope', 'system/*.*'],
      ['grant_type', 'client_credentials'],
      ['client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'],
      ['client_assertion', 'a.b.c'],
    ]);
    expect(new URLSearchParams(tokenRequestForm('x', 'system/*.read')).get('scope')).toBe('system/*.read');
  });

  it('parses the token response and rejects one without a token', () => {
    expect(parseTokenResponse({ access_token: 'abc', token_type: 'bearer', expires_in: 300, scope: 'system/*.*' }, AUD)).toEqual({
      accessToken: 'abc', tokenType: 'bearer', expiresIn: 300, scope: 'system/*.*',
    });
    expect(parseTokenResponse({ access_token: 'abc' }, AUD).expiresIn).toBe(300);
    expect(() => parseTokenResponse({}, AUD)).toThrow(`${AUD} answered without an access_token`);
  });
});
