/**
 * Macaroon-lite, after libmacaroons/jmacaroons: an HMAC-SHA256 chain over the identifier and the
 * caveats, third-party caveats whose key is sealed (AES-256-GCM) under the running signature, and
 * discharge macaroons bound to the root signature. Serialized the way DPC does it: the V2 JSON form
 * of each macaroon in a JSON array, base64url WITH padding (hence tokens start `W3`).
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface Caveat {
  cid: string;
  /** Verification id of a third-party caveat: the caveat key sealed under the signature so far. */
  vid?: Buffer;
  location?: string;
}

export interface Macaroon {
  location: string;
  identifier: string;
  caveats: readonly Caveat[];
  signature: Buffer;
}

export class MacaroonFormatError extends Error {
  override readonly name = 'MacaroonFormatError';
}

const hmac = (key: Buffer, data: Buffer | string): Buffer => createHmac('sha256', key).update(data).digest();
const hmac2 = (key: Buffer, a: Buffer | string, b: Buffer | string): Buffer => hmac(key, Buffer.concat([hmac(key, a), hmac(key, b)]));
const deriveKey = (key: Buffer): Buffer => hmac(Buffer.from('macaroons-key-generator'), key);
const ZERO_KEY = Buffer.alloc(32);

export function mint(rootKey: Buffer, location: string, identifier: string): Macaroon {
  return { location, identifier, caveats: [], signature: hmac(deriveKey(rootKey), identifier) };
}

export function addFirstParty(m: Macaroon, cid: string): Macaroon {
  return { ...m, caveats: [...m.caveats, { cid }], signature: hmac(m.signature, cid) };
}

export function addThirdParty(m: Macaroon, caveatKey: Buffer, cid: string, location: string): Macaroon {
  const vid = seal(m.signature, caveatKey);
  return { ...m, caveats: [...m.caveats, { cid, vid, location }], signature: hmac2(m.signature, vid, cid) };
}

/** Binds a discharge macaroon to the root macaroon it will be presented with. */
export function bindDischarge(root: Macaroon, discharge: Macaroon): Macaroon {
  return { ...discharge, signature: hmac2(ZERO_KEY, root.signature, discharge.signature) };
}

/**
 * Verifies the chain of `root` (and, recursively, of the discharges of its third-party caveats).
 * `satisfy` decides first-party caveats; every one must hold.
 */
export function verify(root: Macaroon, rootKey: Buffer, discharges: readonly Macaroon[], satisfy: (cid: string) => boolean): boolean {
  return verifyOne(root, rootKey, root.signature, discharges, satisfy, true, 0);
}

function verifyOne(
  m: Macaroon, key: Buffer, rootSignature: Buffer, discharges: readonly Macaroon[],
  satisfy: (cid: string) => boolean, isRoot: boolean, depth: number,
): boolean {
  if (depth > 4) return false;
  let signature = hmac(deriveKey(key), m.identifier);
  for (const caveat of m.caveats) {
    if (caveat.vid === undefined) {
      if (!satisfy(caveat.cid)) return false;
      signature = hmac(signature, caveat.cid);
      continue;
    }
    const caveatKey = unseal(signature, caveat.vid);
    const discharge = discharges.find((d) => d.identifier === caveat.cid);
    if (caveatKey === undefined || discharge === undefined) return false;
    if (!verifyOne(discharge, caveatKey, rootSignature, discharges, satisfy, false, depth + 1)) return false;
    signature = hmac2(signature, caveat.vid, caveat.cid);
  }
  const expected = isRoot ? signature : hmac2(ZERO_KEY, rootSignature, signature);
  return expected.length === m.signature.length && timingSafeEqual(expected, m.signature);
}

function seal(signature: Buffer, caveatKey: Buffer): Buffer {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', signature, nonce);
  const sealed = Buffer.concat([cipher.update(caveatKey), cipher.final()]);
  return Buffer.concat([nonce, sealed, cipher.getAuthTag()]);
}

function unseal(signature: Buffer, vid: Buffer): Buffer | undefined {
  if (vid.length !== 12 + 32 + 16) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', signature, vid.subarray(0, 12));
    decipher.setAuthTag(vid.subarray(44));
    return Buffer.concat([decipher.update(vid.subarray(12, 44)), decipher.final()]);
  } catch {
    return undefined;
  }
}

/** The key of a third-party caveat the server discharges itself (location "local"), derived so no state is needed. */
export function deriveCaveatKey(rootKey: Buffer, cid: string): Buffer {
  return hmac(rootKey, `third-party:${cid}`);
}

interface V2Json {
  v: 2;
  l?: string;
  i: string;
  c?: Array<{ i: string; v64?: string; l?: string }>;
  s64: string;
}

const b64 = (buf: Buffer): string => buf.toString('base64url');

export function serialize(macaroons: readonly Macaroon[]): string {
  const json: V2Json[] = macaroons.map((m) => ({
    v: 2,
    l: m.location,
    i: m.identifier,
    c: m.caveats.map((c) => (c.vid === undefined ? { i: c.cid } : { i: c.cid, v64: b64(c.vid), l: c.location ?? '' })),
    s64: b64(m.signature),
  }));
  const encoded = Buffer.from(JSON.stringify(json)).toString('base64url');
  return encoded + '='.repeat((4 - (encoded.length % 4)) % 4);
}

/** Accepts what DPC's deserializer accepts: base64url (padded or not) starting `e`, `W` or `T`, or raw JSON. */
export function deserialize(token: string): Macaroon[] {
  const text = token.trim();
  let json: string;
  if (text.startsWith('[') || text.startsWith('{')) json = text;
  else if (/^[eWT][A-Za-z0-9_-]*={0,2}$/.test(text)) json = Buffer.from(text, 'base64url').toString('utf8');
  else throw new MacaroonFormatError('not a serialized macaroon');
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new MacaroonFormatError('macaroon is not valid JSON');
  }
  const list = Array.isArray(parsed) ? parsed : [parsed];
  if (list.length === 0) throw new MacaroonFormatError('empty macaroon list');
  return list.map(fromJson);
}

function fromJson(value: unknown): Macaroon {
  const v = value as Partial<V2Json> | null;
  if (typeof v !== 'object' || v === null || v.v !== 2 || typeof v.i !== 'string' || typeof v.s64 !== 'string') {
    throw new MacaroonFormatError('not a V2 JSON macaroon');
  }
  const caveats = (Array.isArray(v.c) ? v.c : []).map((c): Caveat => {
    if (typeof c?.i !== 'string') throw new MacaroonFormatError('caveat without identifier');
    return typeof c.v64 === 'string' ? { cid: c.i, vid: Buffer.from(c.v64, 'base64url'), location: c.l ?? '' } : { cid: c.i };
  });
  return { location: typeof v.l === 'string' ? v.l : '', identifier: v.i, caveats, signature: Buffer.from(v.s64, 'base64url') };
}

/** First-party caveats are text `key op value`; DPC only uses `=`. */
export function parseCaveat(cid: string): { key: string; value: string } | undefined {
  const match = /^(\S+) = (.*)$/.exec(cid);
  return match ? { key: match[1]!, value: match[2]! } : undefined;
}
