/** Public keys `/Key` (behaviour doc §3): SPKI PEM, RSA ≥ 4096 bits, SHA256withRSA proof of possession. */
import { createPublicKey, randomInt, randomUUID, verify, type KeyObject } from 'node:crypto';
import type { App } from '../app.js';
import { formatInstant } from '../clock.js';
import { ApiError, logId, parseJson } from '../http.js';
import { DPC_SNIPPET } from '../../shared/key-snippet.js';
import { isRecord } from '../shape.js';
import type { Route } from '../router.js';
import type { KeyRecord } from '../state.js';
import { collection } from './token.js';

const MIN_SPKI_BYTES = 550;
const MAX_LABEL = 25;
/** Base64 text in the standard alphabet, padding optional (line breaks already removed). */
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The first PEM block as BouncyCastle's PemReader finds it (text before it is skipped): its type and DER body. */
function firstPemBlock(pem: string): { type: string; der: Buffer } | undefined {
  const m = /-----BEGIN ([^-\r\n]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(pem);
  if (!m) return undefined;
  const body = m[2]!.replace(/\s+/g, '');
  return BASE64.test(body) ? { type: m[1]!, der: Buffer.from(body, 'base64') } : undefined;
}

/** The public key of a `PUBLIC KEY` (SPKI) or `RSA PUBLIC KEY` (PKCS#1) block, the two PEMParser reads as one. */
function parsePublicKey(pem: string): KeyObject | undefined {
  const block = firstPemBlock(pem);
  const type = block?.type === 'PUBLIC KEY' ? 'spki' : block?.type === 'RSA PUBLIC KEY' ? 'pkcs1' : undefined;
  if (!block || !type) return undefined;
  try {
    return createPublicKey({ key: block.der, format: 'der', type });
  } catch {
    return undefined;
  }
}

/**
 * Parses and vets an uploaded public key; returns it as a KeyObject with its normalised SPKI PEM. DPC:
 * R/KeyResource.java parseAndValidateKey with auth/jwt/PublicKeyHandler.java — anything PEMParser does not read as a
 * public key (no PEM block, a private key, a certificate) is 400 "could not be parsed"; an EC key 422; an RSA key under
 * 550 SPKI bytes (4096 bits) or another algorithm 400 "not valid".
 */
function vetPublicKey(pem: string): { key: KeyObject; pem: string } {
  const key = parsePublicKey(pem);
  // DPC answers a PEM block it cannot decode with a 500 (BouncyCastle's DecoderException); the sandbox with this 400
  if (!key) throw new ApiError(400, 'Public key could not be parsed');
  if (key.asymmetricKeyType === 'ec') throw new ApiError(422, 'ECC keys are not currently supported');
  const der = key.export({ type: 'spki', format: 'der' });
  const rsa = key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss';
  if (!rsa || der.length < MIN_SPKI_BYTES) throw new ApiError(400, 'Public key is not valid');
  return { key, pem: key.export({ type: 'spki', format: 'pem' }).toString() };
}

/** Java's basic Base64 decoder: the standard alphabet only, padding optional; undefined where Java would throw. */
function strictBase64(text: string): Buffer | undefined {
  return BASE64.test(text) && text.replace(/=+$/, '').length % 4 !== 1 ? Buffer.from(text, 'base64') : undefined;
}

/**
 * DPC: PublicKeyHandler.verifySignature works on the uploaded text, not the parsed key: it strips only the SPKI armor
 * and the line breaks and decodes the rest, so a PKCS#1 PEM or text around the block fails here ("could not be verified").
 */
function snippetVerifies(pem: string, signature: string): boolean {
  const keyDer = strictBase64(pem.replaceAll('-----BEGIN PUBLIC KEY-----', '').replaceAll('-----END PUBLIC KEY-----', '').replace(/[\n\r]+/g, ''));
  const signatureBytes = strictBase64(signature.replace(/[\n\r]+/g, ''));
  if (!keyDer || !signatureBytes) return false;
  try {
    return verify('sha256', Buffer.from(DPC_SNIPPET, 'utf8'), createPublicKey({ key: keyDer, format: 'der', type: 'spki' }), signatureBytes);
  } catch {
    return false;
  }
}

function duplicate(): ApiError {
  return new ApiError(400, `There was an error processing your request. It has been logged (ID ${logId()}): duplicate key value violates unique constraint`, { text: true });
}

function checkLabel(label: string | undefined): void {
  if (label !== undefined && label.length > MAX_LABEL) throw new ApiError(400, `Key label cannot be more than ${MAX_LABEL} characters`);
}

/** Stores a key for an org from the admin API, checked as POST /Key checks it (label, then the key itself). */
export function storeKey(app: App, orgId: string, pem: string, label: string | undefined): KeyRecord {
  checkLabel(label);
  return storeVettedKey(app, orgId, vetPublicKey(pem), label);
}

/** Stores a key `vetPublicKey` accepted, unless it or the org's label is already registered. */
function storeVettedKey(app: App, orgId: string, vetted: { pem: string }, label: string | undefined): KeyRecord {
  const finalLabel = label ?? `key:${randomInt(1, 2 ** 31 - 1)}`;
  for (const existing of app.store.keys.values()) {
    if (existing.publicKey === vetted.pem || (existing.orgId === orgId && existing.label === finalLabel)) throw duplicate();
  }
  const record: KeyRecord = { id: randomUUID(), orgId, label: finalLabel, publicKey: vetted.pem, createdAt: app.clock.now() };
  app.store.keys.set(record.id, record);
  app.store.markDirty();
  return record;
}

function keyEntity(record: KeyRecord) {
  return { id: record.id, publicKey: record.publicKey, createdAt: formatInstant(record.createdAt), label: record.label };
}

function ownedKey(app: App, orgId: string, id: string, message: string): KeyRecord {
  const record = app.store.keys.get(id);
  if (!record || record.orgId !== orgId) throw new ApiError(404, message);
  return record;
}

export const keyRoutes: Route[] = [
  {
    methods: ['POST'], path: '/Key', flavor: 'json',
    handler: async (ctx) => {
      const label = ctx.url.searchParams.get('label') ?? undefined;
      checkLabel(label);
      const body = parseJson(await ctx.body(), 'json');
      if (!isRecord(body) || typeof body.key !== 'string' || typeof body.signature !== 'string') {
        throw new ApiError(400, 'Request body must have `key` and `signature`');
      }
      const vetted = vetPublicKey(body.key);
      if (!snippetVerifies(body.key, body.signature)) throw new ApiError(400, 'Public key could not be verified');
      return { status: 200, body: keyEntity(storeVettedKey(ctx.app, ctx.orgId, vetted, label)) };
    },
  },
  {
    methods: ['GET'], path: '/Key', flavor: 'json',
    handler: (ctx) => collection(
      [...ctx.app.store.keys.values()].filter((k) => k.orgId === ctx.orgId).map(keyEntity), ctx.app.clock.now()),
  },
  {
    methods: ['GET'], path: '/Key/:id', flavor: 'json', uuidId: true,
    handler: (ctx) => ({ status: 200, body: keyEntity(ownedKey(ctx.app, ctx.orgId, ctx.params.id!, 'Cannot find public key')) }),
  },
  {
    methods: ['DELETE'], path: '/Key/:id', flavor: 'json', uuidId: true,
    handler: (ctx) => {
      ownedKey(ctx.app, ctx.orgId, ctx.params.id!, 'Cannot find certificate');
      ctx.app.store.keys.delete(ctx.params.id!);
      ctx.app.store.markDirty();
      return { status: 200 };
    },
  },
];
