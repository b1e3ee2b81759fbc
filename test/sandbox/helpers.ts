/**
 * Raw-HTTP helpers for the sandbox tests: real RSA keys, real JWTs (jose), plain fetch. Deliberately not the
 * client library: these tests pin the server to the behaviour document.
 */
import type * as fhir3 from 'fhir/r3.js';
import { createPrivateKey, randomUUID, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SignJWT } from 'jose';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { testKey, testPublicKeyPem } from '../keys.js';

export const SNIPPET = 'This is the snippet used to verify a key pair in DPC.';
export const FHIR = 'application/fhir+json';

export interface TestKey {
  privateKey: KeyObject;
  publicKeyPem: string;
}

/** Shared RSA-4096 key `index` of the run (test/keys.ts; 0 is the seed's, so other orgs and keys use 1 and 2). */
export function rsaKey(index: number): TestKey {
  return { privateKey: testKey(index), publicKeyPem: testPublicKeyPem(index) };
}

export function snippetSignature(key: KeyObject): string {
  return sign('sha256', Buffer.from(SNIPPET), key).toString('base64');
}

export interface AssertionOptions {
  kid?: string | null;
  iss?: string | null;
  sub?: string | null;
  aud?: string | string[];
  /** Seconds from the sandbox's now. */
  expIn?: number | null;
  jti?: string | null;
  alg?: string;
  now?: number;
}

/** A client assertion as DPC expects it; options override or (with null) drop individual parts. */
export async function assertion(sb: SandboxHandle, key: KeyObject, clientToken: string, kid: string, o: AssertionOptions = {}): Promise<string> {
  const nowS = Math.floor((o.now ?? sb.authClock.now()) / 1000);
  const payload: Record<string, unknown> = {
    iss: o.iss === undefined ? clientToken : o.iss,
    sub: o.sub === undefined ? clientToken : o.sub,
    aud: o.aud ?? `${sb.baseUrl}/Token/auth`,
    exp: o.expIn === undefined ? nowS + 240 : o.expIn === null ? undefined : nowS + o.expIn,
    jti: o.jti === undefined ? randomUUID() : o.jti,
  };
  for (const k of Object.keys(payload)) if (payload[k] === undefined || payload[k] === null) delete payload[k];
  const header: Record<string, unknown> = { alg: o.alg ?? 'RS384' };
  if (o.kid !== null) header.kid = o.kid ?? kid;
  return new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(key);
}

export function tokenForm(clientAssertion: string, overrides: Record<string, string | null> = {}): URLSearchParams {
  const values: Record<string, string | null> = {
    scope: 'system/*.*',
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: clientAssertion,
    ...overrides,
  };
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v !== null) form.set(k, v);
  return form;
}

export async function postToken(sb: SandboxHandle, form: URLSearchParams): Promise<Response> {
  return fetch(`${sb.baseUrl}/Token/auth`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: form.toString(),
  });
}

/** A fresh access token through the real /Token/auth exchange. */
export async function accessToken(sb: SandboxHandle, key: KeyObject, clientToken: string, kid: string): Promise<string> {
  const res = await postToken(sb, tokenForm(await assertion(sb, key, clientToken, kid)));
  if (res.status !== 200) throw new Error(`token exchange failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** An org with a client token and a registered key, through the admin API. */
export async function newOrg(sb: SandboxHandle, key: TestKey, npi?: string) {
  const { orgId, clientToken } = sb.admin.createOrganization(npi ? { npi } : {});
  const { keyId } = sb.admin.registerKey(orgId, key.publicKeyPem);
  return { orgId, clientToken, keyId, token: await accessToken(sb, key.privateKey, clientToken, keyId) };
}

/** fetch against the API base with a bearer token and FHIR headers by default. */
export function api(sb: SandboxHandle, token: string | undefined, path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token && !headers.has('Authorization')) headers.set('Authorization', `Bearer ${token}`);
  if (!headers.has('Accept')) headers.set('Accept', FHIR);
  let body = init.body;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    if (!headers.has('Content-Type')) headers.set('Content-Type', FHIR);
  }
  return fetch(`${sb.baseUrl}${path}`, { ...init, headers, body });
}

export function outcomeText(body: unknown): string[] {
  const issues = (body as { issue?: Array<{ details?: { text?: string }; diagnostics?: string }> }).issue ?? [];
  return issues.map((i) => i.details?.text ?? i.diagnostics ?? '');
}

/** An access token for a seeded sandbox, from the private key file it wrote. */
export async function seedToken(sb: SandboxHandle): Promise<string> {
  const seed = sb.seed!;
  return accessToken(sb, createPrivateKey(readFileSync(seed.privateKeyPath)), seed.clientToken, seed.keyId);
}

/** A conforming single-line X-Provenance attestation on behalf of a practitioner. */
export function provenance(orgId: string, practitionerId: string, overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    resourceType: 'Provenance',
    meta: { profile: ['https://dpc.cms.gov/api/v1/StructureDefinition/dpc-profile-attestation'] },
    recorded: new Date().toISOString(),
    reason: [{ system: 'http://hl7.org/fhir/v3/ActReason', code: 'TREAT' }],
    agent: [{
      role: [{ coding: [{ system: 'http://hl7.org/fhir/v3/RoleClass', code: 'AGNT' }] }],
      whoReference: { reference: `Organization/${orgId}` },
      onBehalfOfReference: { reference: `Practitioner/${practitionerId}` },
    }],
    ...overrides,
  });
}

/** A roster Group body as DPC clients send it. */
export function groupBody(npi: string, patientIds: readonly string[], inactive: readonly string[] = []): fhir3.Group {
  return {
    resourceType: 'Group', type: 'person', actual: true,
    characteristic: [{
      code: { coding: [{ code: 'attributed-to' }] },
      valueCodeableConcept: { coding: [{ system: 'http://hl7.org/fhir/sid/us-npi', code: npi }] },
      exclude: false,
    }],
    member: [
      ...patientIds.map((id) => ({ entity: { reference: `Patient/${id}` } })),
      ...inactive.map((id) => ({ entity: { reference: `Patient/${id}` }, inactive: true })),
    ],
  };
}

/**
 * A seeded test-mode sandbox (jobs complete at once) with an access token and a one-patient roster of practitioner
 * 1232131239, the starting point of the probe files.
 */
export async function seededRoster() {
  const sb = await startSandbox({ seed: true, seedKey: testKey(0), testMode: true, jobDurationMs: 0 });
  const token = await seedToken(sb);
  const orgId = sb.seed!.orgId;
  const get = async <T>(path: string) => (await (await api(sb, token, path)).json()) as T;
  const practitionerId = (await get<fhir3.Bundle>('/Practitioner?identifier=1232131239')).entry![0]!.resource!.id!;
  const patientId = (await get<fhir3.Bundle>('/Patient')).entry![0]!.resource!.id!;
  const created = await api(sb, token, '/Group', {
    method: 'POST', json: groupBody('1232131239', [patientId]), headers: { 'X-Provenance': provenance(orgId, practitionerId) },
  });
  if (created.status !== 201) throw new Error(`roster not created: ${created.status} ${await created.text()}`);
  const groupId = ((await created.json()) as fhir3.Group).id!;
  return { sb, token, orgId, practitionerId, patientId, groupId };
}
