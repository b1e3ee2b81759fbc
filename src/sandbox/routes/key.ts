/** Public keys `/Key` (behaviour doc §3): SPKI PEM, RSA ≥ 4096 bits, SHA256withRSA proof of possession. */
import { createPublicKey, randomInt, randomUUID, verify, type KeyObject } from 'node:crypto';
import type { App } from '../app.js';
import { formatInstant } from '../clock.js';
import { ApiError, logId, parseJson } from '../http.js';
import { isRecord } from '../shape.js';
import type { Route } from '../router.js';
import type { KeyRecord } from '../state.js';
import { collection } from './token.js';

export const KEY_SNIPPET = 'This is the snippet used to verify a key pair in DPC.';
const MIN_SPKI_BYTES = 550;
const MAX_LABEL = 25;

/** Parses and vets an uploaded public key; returns it as a KeyObject with its normalised SPKI PEM. */
export function vetPublicKey(pem: string): { key: KeyObject; pem: string } {
  if (!pem.includes('-----BEGIN PUBLIC KEY-----')) throw new ApiError(400, 'Public key could not be verified');
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw new ApiError(400, 'Public key is not valid');
  }
  if (key.asymmetricKeyType === 'ec') throw new ApiError(422, 'ECC keys are not currently supported');
  const der = key.export({ type: 'spki', format: 'der' });
  if (key.asymmetricKeyType !== 'rsa' || der.length < MIN_SPKI_BYTES) throw new ApiError(400, 'Public key is not valid');
  return { key, pem: key.export({ type: 'spki', format: 'pem' }).toString() };
}

function duplicate(): ApiError {
  return new ApiError(400, `There was an error processing your request. It has been logged (ID ${logId()}): duplicate key value violates unique constraint`, { text: true });
}

/** Stores a vetted key for an org (POST /Key after its signature check, and the admin API). */
export function storeKey(app: App, orgId: string, pem: string, label: string | undefined): KeyRecord {
  if (label !== undefined && label.length > MAX_LABEL) throw new ApiError(400, `Key label cannot be more than ${MAX_LABEL} characters`);
  const vetted = vetPublicKey(pem);
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
      if (label !== undefined && label.length > MAX_LABEL) throw new ApiError(400, `Key label cannot be more than ${MAX_LABEL} characters`);
      const body = parseJson(await ctx.body(), 'json');
      if (!isRecord(body) || typeof body.key !== 'string' || typeof body.signature !== 'string') {
        throw new ApiError(400, 'Request body must have `key` and `signature`');
      }
      const { key } = vetPublicKey(body.key);
      const signature = Buffer.from(body.signature.replace(/[\r\n]/g, ''), 'base64');
      if (!verify('sha256', Buffer.from(KEY_SNIPPET, 'utf8'), key, signature)) throw new ApiError(400, 'Public key could not be verified');
      return { status: 200, body: keyEntity(storeKey(ctx.app, ctx.orgId, body.key, label)) };
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
