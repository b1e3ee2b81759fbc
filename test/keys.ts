/** The RSA-4096 key pairs shared by the whole test run (generated once by test/global-setup.ts). */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { inject } from 'vitest';

/** Shared private key number `index` (0 is the seeded sandboxes' key; use 1 and 2 for other orgs and keys). */
export function testKey(index: number): KeyObject {
  const pem = inject('rsaKeys')[index];
  if (pem === undefined) throw new Error(`no shared test key ${index}: test/global-setup.ts makes ${inject('rsaKeys').length}`);
  return createPrivateKey(pem);
}

/** PKCS#8 PEM of shared key `index`, for key files given to the CLI. */
export function testKeyPem(index: number): string {
  return testKey(index).export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** SPKI PEM of the public half of shared key `index`. */
export function testPublicKeyPem(index: number): string {
  return createPublicKey(testKey(index)).export({ type: 'spki', format: 'pem' }).toString();
}
