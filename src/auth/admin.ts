/**
 * DPC's credential administration endpoints (server behaviour §1.3, §2, §3): client tokens (/Token), public keys
 * (/Key) and assertion validation (/Token/validate). All JSON, not FHIR.
 */
import type { DpcClient } from '../client.js';
import { DpcError, isDpcError } from '../errors.js';
import { MediaType } from '../transport/negotiation.js';
import { checkAssertion, type ClaimProblem } from './assertion-check.js';
import { DPC_KEY_BITS, loadPublicKey, publicKeyPem } from './keys.js';
import { tokenValueProblem } from './exchange.js';
import { entitiesIn, entityIn } from './entities.js';

export interface ClientTokenEntity {
  id: string;
  tokenType?: string;
  label?: string;
  createdAt?: string;
  expiresAt?: string;
  /** Only present in the answer to create. */
  token?: string;
}

export interface PublicKeyEntity {
  id: string;
  publicKey: string;
  createdAt?: string;
  label?: string;
}

const MAX_KEY_LABEL = 25;

export async function listClientTokens(client: DpcClient): Promise<ClientTokenEntity[]> {
  const { body } = await client.transport.json<unknown>({ path: '/Token' });
  return entitiesIn<ClientTokenEntity>(body, 'GET /Token');
}

export async function getClientToken(client: DpcClient, id: string): Promise<ClientTokenEntity> {
  const path = `/Token/${encodeURIComponent(id)}`;
  const { body } = await client.transport.json<unknown>({ path });
  return entityIn<ClientTokenEntity>(body, `GET ${path}`);
}

export interface CreateClientTokenInput {
  label?: string;
  /** At most a year ahead (server policy). */
  expiresAt?: Date | string;
}

/** Create a client token; the answer is the only time the token value is shown. */
export async function createClientToken(client: DpcClient, input: CreateClientTokenInput = {}): Promise<ClientTokenEntity> {
  const request: Record<string, string> = {};
  if (input.label !== undefined) request.label = input.label;
  if (input.expiresAt !== undefined) request.expiresAt = offsetDateTime(input.expiresAt);
  const { body: answer } = await client.transport.json<unknown>({
    method: 'POST',
    path: '/Token',
    body: JSON.stringify(request),
    contentType: MediaType.json,
  });
  const body = entityIn<ClientTokenEntity>(answer, 'POST /Token');
  const token: unknown = body.token;
  if (typeof token === 'string') {
    client.redactor.add(token);
    // the one answer whose value is printed raw (`dpc tokens create`): a terminal escape must not ride along
    const problem = tokenValueProblem(token);
    if (problem) throw new DpcError('ERR_HTTP', `POST /Token answered a client token ${problem}`, { location: '/Token' });
  }
  return body;
}

export async function deleteClientToken(client: DpcClient, id: string): Promise<void> {
  await client.transport.text({ method: 'DELETE', path: `/Token/${encodeURIComponent(id)}` });
}

export interface UploadPublicKeyInput {
  /** SPKI or PKCS#1 PEM; sent as SPKI (`BEGIN PUBLIC KEY`), the only form DPC accepts. */
  publicKeyPem: string;
  /** Base64 SHA256withRSA over DPC's snippet, from `signSnippet` or `openssl dgst`. */
  signature: string;
  /** At most 25 characters, unique per organization. */
  label?: string;
  /** Named in errors (the file the key came from). */
  source?: string;
}

export async function uploadPublicKey(client: DpcClient, input: UploadPublicKeyInput): Promise<PublicKeyEntity> {
  if (input.label !== undefined && input.label.length > MAX_KEY_LABEL) {
    throw new DpcError('ERR_INPUT', `key label "${input.label}" is ${input.label.length} characters; DPC allows at most ${MAX_KEY_LABEL}`, {
      field: 'label',
    });
  }
  // checked here because DPC's answer for a small key is only "Public key is not valid"
  const key = loadPublicKey(input.publicKeyPem, { source: input.source, minBits: DPC_KEY_BITS });
  const { body } = await client.transport.json<unknown>({
    method: 'POST',
    path: '/Key',
    query: { label: input.label },
    body: JSON.stringify({ key: publicKeyPem(key), signature: input.signature.replace(/\s+/g, '') }),
    contentType: MediaType.json,
  });
  return entityIn<PublicKeyEntity>(body, 'POST /Key');
}

export async function listPublicKeys(client: DpcClient): Promise<PublicKeyEntity[]> {
  const { body } = await client.transport.json<unknown>({ path: '/Key' });
  return entitiesIn<PublicKeyEntity>(body, 'GET /Key');
}

export async function getPublicKey(client: DpcClient, id: string): Promise<PublicKeyEntity> {
  const path = `/Key/${encodeURIComponent(id)}`;
  const { body } = await client.transport.json<unknown>({ path });
  return entityIn<PublicKeyEntity>(body, `GET ${path}`);
}

export async function deletePublicKey(client: DpcClient, id: string): Promise<void> {
  await client.transport.text({ method: 'DELETE', path: `/Key/${encodeURIComponent(id)}` });
}

export interface ValidationResult {
  /** The server accepted the assertion. */
  valid: boolean;
  /** The server's one-line reason when it did not. */
  serverMessage?: string;
  /** Every problem found locally (the server reports only the first). */
  problems: ClaimProblem[];
}

/**
 * POST the assertion to /Token/validate (public; checks the claims, not the signature or the key) and explain
 * every failed claim. A 400 is a result, not an error; other failures throw.
 */
export async function validateAssertion(
  client: DpcClient,
  jwt: string,
): Promise<ValidationResult> {
  client.redactor.addShortLived(jwt);
  const problems = checkAssertion(jwt, { audience: client.tokens.tokenUrl, now: client.tokens.now() });
  try {
    await client.transport.text({
      method: 'POST',
      path: '/Token/validate',
      auth: false,
      body: jwt,
      contentType: MediaType.text,
      accept: MediaType.json,
    });
    return { valid: true, problems };
  } catch (error) {
    // /Token/validate is DPC's own (server behaviour §1.3): a generic SMART server has no such endpoint
    if (isDpcError(error, 'ERR_NOT_FOUND') || (isDpcError(error, 'ERR_HTTP') && error.status === 405)) {
      throw new DpcError('ERR_NOT_FOUND', `${client.transport.baseUrl}/Token/validate does not exist (${error.status ?? 404}): /Token/validate is a DPC-only endpoint`, {
        status: error.status,
        requestId: error.requestId,
      });
    }
    if (!isDpcError(error, 'ERR_BAD_REQUEST')) throw error;
    return { valid: false, serverMessage: error.message.replace(/^.*? failed with 400: /, ''), problems };
  }
}

/** `yyyy-MM-ddTHH:mm:ss.SSS+00:00`, the offset form DPC's date parser documents. */
function offsetDateTime(value: Date | string): string {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new DpcError('ERR_INPUT', `expiresAt "${String(value)}" is not a date (e.g. 2026-12-31 or 2026-12-31T00:00:00Z)`, { field: 'expiresAt' });
  }
  return date.toISOString().replace('Z', '+00:00');
}
