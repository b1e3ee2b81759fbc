/**
 * Client tokens and access tokens as DPC shapes them (behaviour doc §1.2 item 5, §2): a client token is a
 * macaroon with `dpc_macaroon_version`, `expires` (+1 year) and `organization_id` caveats plus a third-party
 * caveat at "local", so it cannot be used as a Bearer token; /Token/auth adds `expires = now+5min` and a
 * bound discharge. Pure functions of the root key and the current time.
 */
import {
  addFirstParty, addThirdParty, bindDischarge, deriveCaveatKey, deserialize, MacaroonFormatError, mint, parseCaveat,
  serialize, verify, type Macaroon,
} from './macaroon.js';
import { isUuid } from '../shared/identifiers.js';

export const ACCESS_TOKEN_SECONDS = 300;
/** DPC's client-token policy: one year (the macaroon's caveat, the default and the latest `expiresAt`). */
export const YEAR_MS = 365 * 24 * 3600 * 1000;
const LOCATION = 'http://localhost';

export function mintClientToken(rootKey: Buffer, tokenId: string, orgId: string, now: number): string {
  let m = mint(rootKey, LOCATION, tokenId);
  m = addFirstParty(m, 'dpc_macaroon_version = 2');
  m = addFirstParty(m, `expires = ${new Date(now + YEAR_MS).toISOString()}`);
  m = addFirstParty(m, `organization_id = ${orgId}`);
  const cid = `organization_id = ${orgId}`;
  m = addThirdParty(m, deriveCaveatKey(rootKey, cid), cid, 'local');
  return serialize([m]);
}

/** The unverified `organization_id` caveat of a client token; undefined when it has none or is not a macaroon. */
export function clientTokenOrg(token: string): string | undefined {
  let macaroons: Macaroon[];
  try {
    macaroons = deserialize(token);
  } catch (error) {
    if (error instanceof MacaroonFormatError) return undefined;
    throw error;
  }
  for (const caveat of macaroons[0]!.caveats) {
    const parsed = caveat.vid === undefined ? parseCaveat(caveat.cid) : undefined;
    if (parsed?.key === 'organization_id') return parsed.value;
  }
  return undefined;
}

export function isMacaroon(token: string): boolean {
  try {
    deserialize(token);
    return true;
  } catch {
    return false;
  }
}

export interface TokenClaims {
  tokenId: string;
  orgId: string;
}

/** Verifies a client token's chain (discharging its local caveat ourselves) and returns its identity. */
export function verifyClientToken(rootKey: Buffer, token: string, now: number): TokenClaims | undefined {
  const root = parseSingle(token);
  if (!root) return undefined;
  return check(rootKey, root, localDischarges(rootKey, root), now);
}

/** Exchanges a verified client token for an access token valid ACCESS_TOKEN_SECONDS. */
export function mintAccessToken(rootKey: Buffer, clientToken: string, now: number): string {
  const root = parseSingle(clientToken);
  if (!root) throw new Error('mintAccessToken: not a client token');
  const extended = addFirstParty(root, `expires = ${new Date(now + ACCESS_TOKEN_SECONDS * 1000).toISOString()}`);
  return serialize([extended, ...localDischarges(rootKey, extended)]);
}

/** Verifies an access token (root macaroon + discharges) at `now`. */
export function verifyAccessToken(rootKey: Buffer, token: string, now: number): TokenClaims | undefined {
  let macaroons: Macaroon[];
  try {
    macaroons = deserialize(token);
  } catch {
    return undefined;
  }
  const [root, ...discharges] = macaroons;
  if (!root || discharges.length === 0) return undefined;
  return check(rootKey, root, discharges, now);
}

function parseSingle(token: string): Macaroon | undefined {
  try {
    const list = deserialize(token);
    return list.length === 1 ? list[0] : undefined;
  } catch {
    return undefined;
  }
}

function localDischarges(rootKey: Buffer, root: Macaroon): Macaroon[] {
  return root.caveats
    .filter((c) => c.vid !== undefined && c.location === 'local')
    .map((c) => bindDischarge(root, mint(deriveCaveatKey(rootKey, c.cid), 'local', c.cid)));
}

function check(rootKey: Buffer, root: Macaroon, discharges: readonly Macaroon[], now: number): TokenClaims | undefined {
  let orgId: string | undefined;
  const satisfy = (cid: string): boolean => {
    const caveat = parseCaveat(cid);
    if (!caveat) return false;
    switch (caveat.key) {
      case 'dpc_macaroon_version':
        return caveat.value === '2';
      case 'expires': {
        const at = Date.parse(caveat.value);
        return Number.isFinite(at) && now < at;
      }
      case 'organization_id':
        if (!isUuid(caveat.value) || (orgId !== undefined && orgId !== caveat.value)) return false;
        orgId = caveat.value;
        return true;
      default:
        return false;
    }
  };
  if (!verify(root, rootKey, discharges, satisfy) || orgId === undefined) return undefined;
  return { tokenId: root.identifier, orgId };
}
