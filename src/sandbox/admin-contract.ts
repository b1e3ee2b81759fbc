/**
 * The embedded sandbox's private admin protocol (the DPC portal's role, outside the API path), written once for
 * both sides: the sandbox's `/__admin` routes and whoever registers with a running sandbox over HTTP
 * (`dpc init --sandbox-url`, tests). Imports nothing from the client library.
 */
import type { SandboxFaults } from './export/contract.js';

/** Every admin path starts here; the API lives under `/api/v1`. */
export const ADMIN_PREFIX = '/__admin';

/** Route patterns, as the sandbox's router matches them. */
export const ADMIN_ROUTES = {
  organizations: '/__admin/organizations',
  organizationKeys: '/__admin/organizations/:orgId/keys',
  clock: '/__admin/clock',
  faults: '/__admin/faults',
} as const;

/** Concrete paths, for callers. */
export const adminPaths = {
  organizations: (): string => ADMIN_ROUTES.organizations,
  organizationKeys: (orgId: string): string => ADMIN_ROUTES.organizationKeys.replace(':orgId', encodeURIComponent(orgId)),
  clock: (): string => ADMIN_ROUTES.clock,
  faults: (): string => ADMIN_ROUTES.faults,
};

/** `POST /__admin/organizations`: a new organization (random valid NPI unless given) and its first client token. */
export interface CreateOrganizationRequest {
  npi?: string;
  name?: string;
}
export interface CreateOrganizationResponse {
  orgId: string;
  clientToken: string;
}

/** `POST /__admin/organizations/:orgId/keys`: register an SPKI PEM public key without the snippet signature. */
export interface RegisterKeyRequest {
  key: string;
  label?: string;
}
export interface RegisterKeyResponse {
  id: string;
}

/**
 * `POST /__admin/clock` (test mode): move the sandbox clock (attribution periods, job expiry; JWT checks keep real
 * time); `reset` puts it back to real time. `GET` reads it.
 */
export type ClockRequest = { advanceMs: number } | { set: number } | { reset: true };
export interface ClockResponse {
  now: number;
  iso: string;
}

/** `POST /__admin/faults` (test mode) sets the faults, `DELETE` clears them, `GET` reads them; all answer the faults now in force. */
export type FaultsRequest = SandboxFaults;

export interface SandboxRegistration {
  orgId: string;
  clientToken: string;
  keyId: string;
}

/**
 * Register a new organization and a public key with a running sandbox at `origin` (e.g. `http://127.0.0.1:3002`).
 * Failures are plain Errors naming the step; the sandbox's own text is quoted, not trusted.
 */
export async function registerWithSandbox(origin: string, publicKeyPem: string, options: { label?: string; organizationName?: string } = {}): Promise<SandboxRegistration> {
  const org = await adminJson<CreateOrganizationResponse>(origin, 'POST', adminPaths.organizations(), (options.organizationName ? { name: options.organizationName } : {}) satisfies CreateOrganizationRequest);
  const key = await adminJson<RegisterKeyResponse>(origin, 'POST', adminPaths.organizationKeys(org.orgId), { key: publicKeyPem, label: options.label } satisfies RegisterKeyRequest);
  return { orgId: org.orgId, clientToken: org.clientToken, keyId: key.id };
}

/** Read (no request) or move the clock of a running test-mode sandbox. */
export async function sandboxClock(origin: string, request?: ClockRequest): Promise<ClockResponse> {
  return request === undefined ? adminJson<ClockResponse>(origin, 'GET', adminPaths.clock()) : adminJson<ClockResponse>(origin, 'POST', adminPaths.clock(), request);
}

/** Set (`faults`), clear (`{}`) or read (no argument) the faults of a running test-mode sandbox; answers the faults in force. */
export async function sandboxFaults(origin: string, faults?: FaultsRequest): Promise<FaultsRequest> {
  if (faults === undefined) return adminJson<FaultsRequest>(origin, 'GET', adminPaths.faults());
  return Object.keys(faults).length === 0 ? adminJson<FaultsRequest>(origin, 'DELETE', adminPaths.faults()) : adminJson<FaultsRequest>(origin, 'POST', adminPaths.faults(), faults);
}

/** An admin request the sandbox refused: `status` 404 on a test-mode route means the sandbox is not in test mode. */
export class SandboxAdminError extends Error {
  override readonly name = 'SandboxAdminError';
  constructor(message: string, readonly status: number, readonly serverMessage: string) {
    super(message);
  }
}

/** Admin answers are a few hundred bytes and come at once from a local sandbox. */
const ADMIN_TIMEOUT_MS = 60_000;
const MAX_ADMIN_ANSWER_BYTES = 1024 * 1024;

/** The body as text, refused once it passes `max` bytes (the transfer stops there). */
async function boundedText(response: Response, max: number, what: string): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  // leaving the loop early cancels the stream: the rest is never read
  for await (const chunk of response.body ?? []) {
    size += chunk.length;
    if (size > max) throw new Error(`${what} answered more than ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function adminJson<T>(origin: string, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const url = new URL(path, origin);
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: { Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      // whatever answers at the URL given is bounded like any server: no redirect followed, no endless wait
      redirect: 'error',
      signal: AbortSignal.timeout(ADMIN_TIMEOUT_MS),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`cannot reach the sandbox at ${url.origin} (${cause?.code ?? cause?.message ?? (error as Error).message})`, { cause: error });
  }
  const text = await boundedText(response, MAX_ADMIN_ANSWER_BYTES, `sandbox ${method} ${path}`);
  if (!response.ok) {
    const message = (() => {
      try {
        const parsed = JSON.parse(text) as { message?: unknown };
        return typeof parsed.message === 'string' ? parsed.message : text;
      } catch {
        return text;
      }
    })().slice(0, 300);
    throw new SandboxAdminError(`sandbox ${method} ${path} answered ${response.status}: ${JSON.stringify(message)}`, response.status, message);
  }
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new Error(`sandbox ${method} ${path} answered ${response.status} with no JSON: ${JSON.stringify(text.slice(0, 200))}`, { cause });
  }
}
