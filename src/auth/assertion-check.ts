/**
 * Pure explanation of a client assertion: the same checks DPC's /Token/validate makes (server behaviour §1.3),
 * but all of them at once, one line per failed claim, so a user sees every problem instead of the first.
 */
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { isUuid } from '../shared/identifiers.js';

export interface ClaimProblem {
  /** `kid`, `exp`, `aud`, `iss`, `sub`, `jti`, `alg` or `jwt` for the token as a whole. */
  claim: string;
  message: string;
}

/**
 * Whether a key id fits the server: DPC (no tokenUrl) issues UUID key ids, so anything else is a typo caught before
 * a 401; a generic SMART server (tokenUrl set) may use any non-empty kid.
 */
export function keyIdFits(keyId: string, tokenUrl: string | undefined): boolean {
  return tokenUrl === undefined ? isUuid(keyId) : keyId !== '';
}

const MAX_FUTURE_SEC = 300;

/** Every problem DPC would find with this assertion (empty when it would pass). `now` in milliseconds. */
export function checkAssertion(jwt: string, expected: { audience: string; now: number }): ClaimProblem[] {
  let header: ReturnType<typeof decodeProtectedHeader>;
  let claims: ReturnType<typeof decodeJwt>;
  try {
    header = decodeProtectedHeader(jwt);
    claims = decodeJwt(jwt);
  } catch {
    return [{ claim: 'jwt', message: 'not a compact JWT (three base64url parts with JSON header and claims)' }];
  }
  const problems: ClaimProblem[] = [];
  const add = (claim: string, message: string) => problems.push({ claim, message });
  const nowSec = Math.floor(expected.now / 1000);

  if (typeof header.alg !== 'string' || !/^(RS|PS)(256|384|512)$/.test(header.alg)) {
    add('alg', `header alg is ${JSON.stringify(header.alg)}; DPC needs an RSA algorithm (RS384)`);
  }
  if (header.kid === undefined) add('kid', 'header has no kid; set it to the public key id returned by POST /Key');
  else if (!isUuid(header.kid)) add('kid', `header kid "${header.kid}" is not a UUID; use the public key id returned by POST /Key`);

  if (typeof claims.exp !== 'number') add('exp', 'missing exp');
  else if (claims.exp <= nowSec) add('exp', `expired ${nowSec - claims.exp}s ago; assertions live at most 5 minutes`);
  else if (claims.exp > nowSec + MAX_FUTURE_SEC) {
    add('exp', `expires ${claims.exp - nowSec}s from now; DPC allows at most ${MAX_FUTURE_SEC}s`);
  }

  if (typeof claims.jti !== 'string' || claims.jti === '') add('jti', 'missing jti; every assertion needs a fresh random id');

  if (typeof claims.iss !== 'string' || claims.iss === '') add('iss', 'missing iss; it must be the client token');
  else if (isUuid(claims.iss)) add('iss', 'iss is a UUID (the token id?); use the client token value itself');
  if (typeof claims.sub !== 'string' || claims.sub === '') add('sub', 'missing sub; it must be the client token');
  else if (claims.sub !== claims.iss) add('sub', 'sub differs from iss; both must be the client token');

  const aud = claims.aud;
  const audOk = aud === expected.audience || (Array.isArray(aud) && aud.length === 1 && aud[0] === expected.audience);
  if (!audOk) add('aud', `aud is ${JSON.stringify(aud)}; it must be exactly "${expected.audience}"`);
  return problems;
}
