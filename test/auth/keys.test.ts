import { createPublicKey, generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { DPC_SNIPPET, generateKeyPair, loadPrivateKey, loadPublicKey, privateKeyPem, publicKeyPem, signSnippet } from '../../src/auth/keys.js';
import { DpcError } from '../../src/errors.js';
import { exitCodeFor } from '../../src/cli/exit-codes.js';

let key: KeyObject;
let pkcs8: string;
let pkcs1: string;

beforeAll(async () => {
  ({ privateKey: key } = await generateKeyPair());
  pkcs8 = privateKeyPem(key);
  pkcs1 = key.export({ type: 'pkcs1', format: 'pem' }).toString();
});

function keyError(fn: () => unknown): DpcError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DpcError);
    const e = error as DpcError;
    expect(e.code).toBe('ERR_KEY');
    expect(exitCodeFor(e)).toBe(2);
    expect(e.message).not.toContain('\n');
    return e;
  }
  throw new Error('expected an ERR_KEY');
}

describe('loadPrivateKey', () => {
  it('accepts PKCS#8, PKCS#1 and both encrypted forms', () => {
    const encrypted8 = key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString();
    const encrypted1 = key.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString();
    expect(encrypted1).toContain('Proc-Type: 4,ENCRYPTED');
    for (const [pem, passphrase] of [[pkcs8], [pkcs1], [encrypted8, 'pw'], [encrypted1, 'pw']] as const) {
      const loaded = loadPrivateKey(pem, { passphrase });
      expect(loaded.asymmetricKeyDetails?.modulusLength).toBe(4096);
      expect(publicKeyPem(loaded)).toBe(publicKeyPem(key));
    }
  });

  it('names the file and the problem in one line', () => {
    const source = '/keys/private.pem';
    expect(keyError(() => loadPrivateKey('hello', { source })).message).toBe(`${source}: not a PEM private key (no "-----BEGIN PRIVATE KEY-----" line)`);
    expect(keyError(() => loadPrivateKey(publicKeyPem(key), { source })).message).toMatch(/^\/keys\/private\.pem: this is a public key/);
    const damaged = pkcs8.replace(/\n[A-Za-z0-9+/]{10}/, '\n!!!!!!!!!!');
    expect(keyError(() => loadPrivateKey(damaged, { source })).message).toBe(`${source}: the PEM is damaged or not an RSA private key`);
    expect(keyError(() => loadPrivateKey(damaged, { source })).location).toBe(source);
  });

  it('distinguishes a missing and a wrong passphrase', () => {
    const encrypted = key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'right' }).toString();
    expect(keyError(() => loadPrivateKey(encrypted, { source: 'k.pem' })).message).toBe('k.pem: the key is encrypted; give its passphrase');
    expect(keyError(() => loadPrivateKey(encrypted, { source: 'k.pem', passphrase: 'wrong' })).message).toBe('k.pem: wrong passphrase');
  });

  it('rejects small and non-RSA keys', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(keyError(() => loadPrivateKey(small, { source: 'small.pem' })).message).toBe('small.pem: RSA key is 1024 bits; at least 2048 are required');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    expect(keyError(() => loadPrivateKey(ec.export({ type: 'pkcs8', format: 'pem' }).toString())).message).toMatch(/: not an RSA key \(ec\); DPC accepts RSA keys only \(a generic server with a tokenUrl also takes P-384 EC keys\)$/);
    expect(keyError(() => loadPrivateKey(ec.export({ type: 'sec1', format: 'pem' }).toString())).message).toMatch(/: not an RSA key \(ec\); DPC accepts RSA keys only \(a generic server with a tokenUrl also takes P-384 EC keys\)$/);
  });
});

describe('loadPublicKey', () => {
  it('accepts SPKI and PKCS#1 public PEMs and enforces the size DPC needs', () => {
    const pkcs1Public = createPublicKey(key).export({ type: 'pkcs1', format: 'pem' }).toString();
    expect(publicKeyPem(loadPublicKey(pkcs1Public, { minBits: 4096 }))).toBe(publicKeyPem(key));
    const small = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(keyError(() => loadPublicKey(small, { source: 'pub.pem', minBits: 4096 })).message).toBe('pub.pem: RSA key is 2048 bits; at least 4096 are required by DPC');
    expect(keyError(() => loadPublicKey(pkcs8, { source: 'pub.pem' })).message).toMatch(/this is a private key; upload the public key/);
  });
});

describe('signSnippet', () => {
  it('is a base64 SHA256withRSA signature over the exact snippet', () => {
    const signature = signSnippet(key);
    expect(signature).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    expect(Buffer.from(signature, 'base64')).toHaveLength(512);
    expect(verify('sha256', Buffer.from('This is the snippet used to verify a key pair in DPC.'), createPublicKey(key), Buffer.from(signature, 'base64'))).toBe(true);
    expect(DPC_SNIPPET.endsWith('\n')).toBe(false);
  });
});
