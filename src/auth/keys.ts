/**
 * RSA key handling for DPC: loading PEM private keys (PKCS#1, PKCS#8, encrypted), generating RSA-4096 pairs,
 * and the SHA256withRSA signature over DPC's fixed snippet that proves possession when a public key is uploaded.
 * Generic SMART Backend Services servers may also take a P-384 EC key (ES384, which SMART names beside RS384 and the
 * SMART reference server and client support); DPC accepts RSA only.
 * node:crypto's OpenSSL errors are opaque, so the PEM armour is checked first and failures get one-line messages.
 */
import { createPrivateKey, createPublicKey, generateKeyPair as generateKeyPairCb, sign, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { DpcError } from '../errors.js';
import { DPC_SNIPPET } from '../shared/key-snippet.js';

export { DPC_SNIPPET } from '../shared/key-snippet.js';

/** jose refuses RS384 with a smaller modulus. */
export const MIN_SIGNING_BITS = 2048;
/** DPC's upload check (encoded SPKI ≥ 550 bytes) only passes for RSA-4096 keys. */
export const DPC_KEY_BITS = 4096;

export interface LoadKeyOptions {
  passphrase?: string;
  /** Where the PEM came from (a file path), named in every error. */
  source?: string;
  /** Smallest modulus accepted; default 2048. */
  minBits?: number;
  /** Also accept a P-384 EC key (ES384): for generic SMART servers, never DPC. */
  allowEc?: boolean;
}

/** The curve ES384 signs on (RFC 7518 §3.4), as node:crypto names it. */
const ES384_CURVE = 'secp384r1';

const PRIVATE_ARMOUR = /-----BEGIN (RSA |ENCRYPTED |EC )?PRIVATE KEY-----/;
const PUBLIC_ARMOUR = /-----BEGIN (RSA )?PUBLIC KEY-----/;

/** Parse a PEM private key into a KeyObject, or throw ERR_KEY naming the source and what is wrong. */
export function loadPrivateKey(pem: string | Buffer, options: LoadKeyOptions = {}): KeyObject {
  const text = typeof pem === 'string' ? pem : pem.toString('utf8');
  const where = options.source ?? 'private key';
  const armour = PRIVATE_ARMOUR.exec(text);
  if (!armour) {
    if (PUBLIC_ARMOUR.test(text)) {
      throw new DpcError('ERR_KEY', `${where}: this is a public key; give the private key (BEGIN PRIVATE KEY)`, { location: options.source });
    }
    throw new DpcError('ERR_KEY', `${where}: not a PEM private key (no "-----BEGIN PRIVATE KEY-----" line)`, { location: options.source });
  }
  if (armour[1] === 'EC ' && !options.allowEc) throw notRsa('ec', where, options.source);
  const encrypted = armour[1] === 'ENCRYPTED ' || /Proc-Type:\s*4,ENCRYPTED/.test(text);
  if (encrypted && !options.passphrase) {
    throw new DpcError('ERR_KEY', `${where}: the key is encrypted; give its passphrase`, { location: options.source, field: 'passphrase' });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: 'pem', passphrase: encrypted ? options.passphrase : undefined });
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    const reason =
      code === 'ERR_OSSL_BAD_DECRYPT'
        ? 'wrong passphrase'
        : code === 'ERR_OSSL_CRYPTO_INTERRUPTED_OR_CANCELLED'
          ? 'the key is encrypted; give its passphrase'
          : `the PEM is damaged or not an RSA${options.allowEc ? ' or EC' : ''} private key`;
    const field = code === 'ERR_OSSL_BAD_DECRYPT' || code === 'ERR_OSSL_CRYPTO_INTERRUPTED_OR_CANCELLED' ? 'passphrase' : undefined;
    throw new DpcError('ERR_KEY', `${where}: ${reason}`, { cause, location: options.source, field });
  }
  if (options.allowEc && key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve !== ES384_CURVE) {
      throw new DpcError('ERR_KEY', `${where}: EC key on curve ${curve ?? 'unknown'}; ES384 needs P-384 (openssl ecparam -name secp384r1 -genkey)`, { location: options.source });
    }
    return key;
  }
  assertRsaSize(key, options.minBits ?? MIN_SIGNING_BITS, where, options.source);
  return key;
}

/** DPC's refusal of a key that is not RSA; says where another kind is welcome. */
function notRsa(kind: string, where: string, location: string | undefined): DpcError {
  return new DpcError('ERR_KEY', `${where}: not an RSA key (${kind}); DPC accepts RSA keys only (a generic server with a tokenUrl also takes P-384 EC keys)`, { location });
}

/** Parse a PEM public key (SPKI or PKCS#1) or take a private key's public half; throws ERR_KEY. */
export function loadPublicKey(pem: string, options: { source?: string; minBits?: number } = {}): KeyObject {
  const where = options.source ?? 'public key';
  if (PRIVATE_ARMOUR.test(pem)) {
    throw new DpcError('ERR_KEY', `${where}: this is a private key; upload the public key (BEGIN PUBLIC KEY)`, { location: options.source });
  }
  if (!PUBLIC_ARMOUR.test(pem)) {
    throw new DpcError('ERR_KEY', `${where}: not a PEM public key (no "-----BEGIN PUBLIC KEY-----" line)`, { location: options.source });
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (cause) {
    throw new DpcError('ERR_KEY', `${where}: the PEM is damaged or not an RSA public key`, { cause, location: options.source });
  }
  assertRsaSize(key, options.minBits ?? MIN_SIGNING_BITS, where, options.source);
  return key;
}

function assertRsaSize(key: KeyObject, minBits: number, where: string, location: string | undefined): void {
  if (key.asymmetricKeyType !== 'rsa') throw notRsa(key.asymmetricKeyType ?? 'unknown', where, location);
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < minBits) {
    throw new DpcError('ERR_KEY', `${where}: RSA key is ${bits} bits; at least ${minBits} are required${minBits < DPC_KEY_BITS ? '' : ' by DPC'}`, { location });
  }
}

/** SubjectPublicKeyInfo PEM (`BEGIN PUBLIC KEY`), the only form DPC's /Key accepts. */
export function publicKeyPem(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ type: 'spki', format: 'pem' }).toString();
}

/** Unencrypted PKCS#8 PEM of a private key, for writing to an owner-only file. */
export function privateKeyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

export interface GeneratedKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

const generateRsa = promisify(generateKeyPairCb);

/** A fresh RSA key pair, 4096 bits as DPC requires (takes about a second). */
export async function generateKeyPair(bits: number = DPC_KEY_BITS): Promise<GeneratedKeyPair> {
  const { privateKey, publicKey } = await generateRsa('rsa', { modulusLength: bits, publicExponent: 0x10001 });
  return { privateKey, publicKey };
}

/** Base64 SHA256withRSA (PKCS#1 v1.5) signature over DPC's snippet: `openssl dgst -sign private.pem -sha256 | base64`. */
export function signSnippet(key: KeyObject): string {
  return sign('sha256', Buffer.from(DPC_SNIPPET, 'utf8'), key).toString('base64');
}
