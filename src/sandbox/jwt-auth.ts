/**
 * The JWT checks of /Token/auth and /Token/validate, in DPC's order (behaviour doc §1.2, §1.3).
 * Signatures are verified with jose against the uploaded public key; all time checks use the auth clock
 * (real time), not the movable sandbox clock.
 */
import { createPublicKey } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import type { App } from './app.js';
import { clientTokenOrg, isMacaroon, verifyClientToken } from './credentials.js';
import { isUuid } from '../shared/identifiers.js';
import { ApiError, serverError } from './http.js';

const MAX_LIFETIME_S = 300;
const RSA_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];

const denied = (message: string) => new ApiError(401, message);
const badRequest = (message: string) => new ApiError(400, message);

/** Runs /Token/auth's checks on a client assertion; returns the verified client token and its org. */
export async function authenticateAssertion(app: App, assertion: string): Promise<{ clientToken: string; orgId: string }> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  let unverified: JWTPayload;
  try {
    header = decodeProtectedHeader(assertion);
    unverified = decodeJwt(assertion);
  } catch {
    throw denied('Invalid JWT');
  }
  const sub = unverified.sub;
  if (typeof sub !== 'string' || sub === '') throw denied('JWT must have client_id');
  const orgId = clientTokenOrg(sub);
  if (orgId === undefined) throw denied('JWT client token must have organization_id');

  const kid = header.kid;
  // DPC dereferences a missing kid and fails with a 500.
  if (typeof kid !== 'string') throw serverError();
  if (!isUuid(kid)) throw denied('Invalid Public Key ID');
  const key = app.store.keys.get(kid.toLowerCase());
  if (!key || key.orgId !== orgId) throw denied(`Cannot find public key with id: ${kid}`);

  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(assertion, createPublicKey(key.publicKey), {
      algorithms: RSA_ALGORITHMS,
      audience: app.authUrl,
      currentDate: new Date(app.authClock.now()),
      clockTolerance: 0,
    }));
  } catch {
    throw denied('Invalid JWT');
  }

  if (typeof payload.iss !== 'string' || payload.iss === '') throw badRequest('Claim issuer must be present');
  if (payload.iss !== payload.sub) throw badRequest('Issuer and Subject must be identical');
  if (typeof payload.jti !== 'string' || payload.jti === '') throw badRequest('Claim id must be present');
  if (app.jtis.has(payload.jti)) throw denied('Invalid JWT');
  const nowS = app.authClock.now() / 1000;
  if (typeof payload.exp !== 'number' || payload.exp > nowS + MAX_LIFETIME_S) throw denied('Not authorized');

  // DPC: R/TokenResource.java handleJWT never reads the client-token table, so a deleted client token still
  // exchanges (its access tokens then fail in the auth filter, server.ts authenticate). DPC's bakery only adds a
  // caveat and discharges; the sandbox still refuses a forged macaroon chain, which DPC would reject on use too.
  const claims = verifyClientToken(app.store.rootKey, sub, app.authClock.now());
  if (!claims || claims.orgId !== orgId) throw denied('Invalid JWT');

  app.jtis.add(payload.jti);
  return { clientToken: sub, orgId };
}

/** /Token/validate: structural checks only (no signature, key or token lookup) and the jti is not consumed. */
export function validateAssertion(app: App, jwt: string): void {
  let header: ReturnType<typeof decodeProtectedHeader>;
  let claims: JWTPayload;
  try {
    header = decodeProtectedHeader(jwt);
    claims = decodeJwt(jwt);
  } catch {
    throw badRequest('JWT is not formatted correctly');
  }
  if (typeof header.kid !== 'string' || header.kid === '') throw badRequest('JWT header must have `kid` value');
  if (!isUuid(header.kid)) throw badRequest('`kid` value must be a UUID');
  const nowS = app.authClock.now() / 1000;
  if (typeof claims.exp !== 'number') throw badRequest('Claim expiration must be present');
  if (claims.exp <= nowS) throw badRequest('JWT is expired');
  if (claims.exp > nowS + MAX_LIFETIME_S) throw badRequest('Token expiration cannot be more than 5 minutes in the future');
  if (typeof claims.jti !== 'string' || claims.jti === '') throw badRequest('Claim id must be present');
  if (app.jtis.has(claims.jti)) throw badRequest('Token ID cannot be re-used');
  if (typeof claims.sub !== 'string' || claims.sub === '') throw badRequest('Claim subject must be present');
  if (claims.iss !== claims.sub) throw badRequest('Issuer and Subject must be identical');
  const aud = claims.aud;
  const audOk = aud === app.authUrl || (Array.isArray(aud) && aud.length === 1 && aud[0] === app.authUrl);
  if (!audOk) throw badRequest('Audience claim value is incorrect');
  if (isUuid(claims.iss)) throw badRequest('Cannot use Token ID as `client_token`, must use actual token value');
  if (!isMacaroon(claims.iss)) throw badRequest('Client token is not formatted correctly');
}
