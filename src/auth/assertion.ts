/**
 * The SMART Backend Services client assertion DPC exchanges for an access token (server behaviour §1.2):
 * iss = sub = client token, aud = `<base>/Token/auth` exactly, exp at most 290 s ahead (the server allows 300 s with
 * zero clock skew), a fresh random jti for every exchange (the server rejects a jti seen in the last 5 minutes).
 */
import { randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { DpcError } from '../errors.js';

/** Seconds of validity we ask for: under the server's 300 s ceiling to absorb clock differences. */
export const MAX_ASSERTION_LIFETIME_SEC = 290;
export const ASSERTION_ALG = 'RS384';

/**
 * The algorithm a key signs assertions with: RS384 for RSA (DPC's only one), ES384 for a P-384 EC key (generic SMART
 * servers; loadPrivateKey admits only that curve). Pure.
 */
export function assertionAlg(key: KeyObject): 'RS384' | 'ES384' {
  return key.asymmetricKeyType === 'ec' ? 'ES384' : ASSERTION_ALG;
}

export interface AssertionClaims {
  iss: string;
  sub: string;
  aud: string;
  /** Seconds since the epoch. */
  iat: number;
  exp: number;
  jti: string;
}

export interface ClaimsInput {
  clientToken: string;
  /** The token URL, e.g. `https://sandbox.dpc.cms.gov/api/v1/Token/auth`. */
  audience: string;
  /** Milliseconds since the epoch. */
  now: number;
  /** Default and maximum 290. */
  lifetimeSec?: number;
  /** Only for tests that need a deterministic id; every real exchange needs a fresh one. */
  jti?: string;
}

/** Pure: the claims of one assertion. */
export function assertionClaims(input: ClaimsInput): AssertionClaims {
  const lifetime = input.lifetimeSec ?? MAX_ASSERTION_LIFETIME_SEC;
  if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > MAX_ASSERTION_LIFETIME_SEC) {
    throw new DpcError('ERR_USAGE', `assertion lifetime ${lifetime}s is outside 1..${MAX_ASSERTION_LIFETIME_SEC} seconds`);
  }
  if (input.clientToken === '') throw new DpcError('ERR_CONFIG', 'the client token is empty');
  const iat = Math.floor(input.now / 1000);
  return {
    iss: input.clientToken,
    sub: input.clientToken,
    aud: input.audience,
    iat,
    exp: iat + lifetime,
    jti: input.jti ?? randomUUID(),
  };
}

export interface SignAssertionInput extends ClaimsInput {
  privateKey: KeyObject;
  /** The public key id returned by POST /Key: the JWT `kid`. */
  keyId: string;
  /** Add `typ: "JWT"` to the header (default true). */
  jwtType?: boolean;
}

/** A compact JWS of `assertionClaims(input)`: RS384, or ES384 for an EC key (`assertionAlg`). */
export async function signAssertion(input: SignAssertionInput): Promise<string> {
  const claims = assertionClaims(input);
  const header: { alg: string; kid: string; typ?: string } = { alg: assertionAlg(input.privateKey), kid: input.keyId };
  if (input.jwtType ?? true) header.typ = 'JWT';
  try {
    return await new SignJWT({ ...claims }).setProtectedHeader(header).sign(input.privateKey);
  } catch (cause) {
    // jose's key checks throw plain TypeErrors (public key, < 2048 bits); loadPrivateKey normally catches these first
    throw new DpcError('ERR_KEY', `cannot sign the client assertion: ${(cause as Error).message}`, { cause });
  }
}
