/** The doctor's pure judgements, without a network: clock windows, fingerprint comparison, token hints. */
import { describe, expect, it } from 'vitest';
import { clockCheck, keyFileCheck, keyMatchCheck, report, tokenCheck } from '../../src/doctor/checks.js';

const server = Date.UTC(2026, 10, 30, 8, 0, 0);
const at = (skewS: number) => clockCheck({ localMs: server + skewS * 1000, serverDate: new Date(server).toUTCString() }).status;

describe('clockCheck: DPC allows no skew; the assertion lives 290 s of the 300 s DPC accepts', () => {
  it('fails when this clock is more than ~10 s fast (exp beyond now+300 s) or ~290 s slow (expired on arrival)', () => {
    expect([at(0), at(2), at(-2)]).toEqual(['pass', 'pass', 'pass']);
    expect([at(6), at(12)]).toEqual(['warn', 'warn']);
    expect([at(13), at(60), at(600)]).toEqual(['fail', 'fail', 'fail']);
    expect([at(-6), at(-60), at(-287)]).toEqual(['warn', 'warn', 'warn']);
    expect([at(-288), at(-600)]).toEqual(['fail', 'fail']);
  });

  it('skips without a usable Date header', () => {
    expect(clockCheck({ localMs: server }).status).toBe('skip');
    expect(clockCheck({ localMs: server, serverDate: 'yesterday' }).status).toBe('skip');
  });
});

describe('keyMatchCheck', () => {
  it('fails when the registered key is another key, naming both fingerprints', () => {
    const result = keyMatchCheck({ keyId: 'k', localFingerprint: 'SHA256:aaa', registeredFingerprint: 'SHA256:bbb' });
    expect(result).toMatchObject({ status: 'fail', detail: 'key id k is SHA256:bbb, but the private key is SHA256:aaa' });
    expect(keyMatchCheck({ keyId: 'k', localFingerprint: 'SHA256:aaa', registeredFingerprint: 'SHA256:aaa' }).status).toBe('pass');
  });
});

describe('keyFileCheck', () => {
  it('names an RSA key by its size and an EC key (generic servers) by its curve', () => {
    expect(keyFileCheck({ path: 'k.pem', mode: 0o100600, bits: 4096, fingerprint: 'SHA256:a' })).toMatchObject({ status: 'pass', detail: 'k.pem: RSA 4096 bits, SHA256:a' });
    expect(keyFileCheck({ path: 'k.pem', mode: 0o100600, ec: true, fingerprint: 'SHA256:a' })).toMatchObject({ status: 'pass', detail: 'k.pem: EC P-384 (ES384), SHA256:a' });
  });
});

describe('tokenCheck', () => {
  it('hints by the refusal, and prefers what /Token/validate explains', () => {
    const refused = (message: string) => tokenCheck({ tokenUrl: 'u', refused: { status: 401, message } }).fix;
    expect(refused('… 401: Not authorized')).toContain('clock is fast');
    expect(refused('… 401: Invalid JWT')).toContain('private key does not match');
    const explained = tokenCheck({ tokenUrl: 'u', refused: { message: 'Invalid JWT' }, validation: { valid: false, serverMessage: 'JWT is expired', problems: [] } });
    expect(explained.detail).toBe('Invalid JWT; /Token/validate says: JWT is expired');
  });
});

describe('report', () => {
  it('is ok unless a check failed; warnings and skips do not fail it', () => {
    expect(report([{ id: 'clock', status: 'warn', detail: '', fix: '' }, { id: 'token', status: 'skip', detail: '' }]).ok).toBe(true);
    expect(report([{ id: 'clock', status: 'fail', detail: '', fix: '' }]).ok).toBe(false);
  });
});
