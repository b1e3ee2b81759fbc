/** Bulk export routing over raw HTTP: kick-off validation, /Jobs status mapping, /Data auth, throttle faults (behaviour doc §6). */
import type * as fhir3 from 'fhir/r3.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { testKey } from '../keys.js';
import { accessToken, api, groupBody, newOrg, outcomeText, provenance, rsaKey, seedToken } from './helpers.js';
import { adminPaths } from '../../src/sandbox/admin-contract.js';

let sb: SandboxHandle;
let token: string;
/** Another organization; its access token is taken when needed (tests move the clock). */
let other: Awaited<ReturnType<typeof newOrg>>;
let groupId = '';
let practitionerId = '';
const FHIR_ACCEPT = { Accept: 'application/fhir+json', Prefer: 'respond-async' };

beforeAll(async () => {
  const [started, otherKey] = [await startSandbox({ seed: true, seedKey: testKey(0), testMode: true, jobDurationMs: 1000 }), rsaKey(1)];
  sb = started;
  token = await seedToken(sb);
  other = await newOrg(sb, otherKey);
  const npi = '1232131239';
  const prs = (await (await api(sb, token, `/Practitioner?identifier=${npi}`)).json()) as fhir3.Bundle;
  const pts = (await (await api(sb, token, '/Patient?_count=3')).json()) as fhir3.Bundle;
  const res = await api(sb, token, '/Group', {
    method: 'POST',
    json: groupBody(npi, (pts.entry ?? []).map((e) => e.resource!.id!)),
    headers: { 'X-Provenance': provenance(sb.seed!.orgId, (practitionerId = prs.entry![0]!.resource!.id!)) },
  });
  groupId = ((await res.json()) as fhir3.Group).id!;
});
afterAll(async () => sb?.close());
// tests move the sandbox clock (access tokens live 300 s of it): each starts with a fresh token
beforeEach(async () => {
  token = await seedToken(sb);
});

const kick = (query = '', headers: Record<string, string> = FHIR_ACCEPT) =>
  fetch(`${sb.baseUrl}/Group/${groupId}/$export${query}`, { headers: { Authorization: `Bearer ${token}`, ...headers } });
const job = (url: string, headers: Record<string, string> = {}, bearer = token) =>
  fetch(url, { headers: { Authorization: `Bearer ${bearer}`, ...headers } });

async function expectBadRequest(query: string, message: string) {
  const res = await kick(query);
  expect(res.status).toBe(400);
  expect(outcomeText(await res.json())).toEqual([message]);
}

describe('GET /Group/{id}/$export kick-off', () => {
  it('Prefer must be exactly respond-async', async () => {
    const missing = await kick('', { Accept: 'application/fhir+json' });
    expect(missing.status).toBe(400);
    expect(outcomeText(await missing.json())).toEqual(["The 'Prefer' header must be 'respond-async'"]);
    expect((await kick('', { ...FHIR_ACCEPT, Prefer: 'respond-async, wait=10' })).status).toBe(400);
  });

  it('absent or wildcard Accept → 415 on $export URLs', async () => {
    expect((await kick('', { Prefer: 'respond-async' })).status).toBe(415);
    expect((await kick('', { Prefer: 'respond-async', Accept: '*/*' })).status).toBe(415);
  });

  it('_outputFormat: the three ndjson names (any case, + encoded as %2B), else 400', async () => {
    for (const format of ['application%2Ffhir%2Bndjson', 'application/ndjson', 'NDJSON']) {
      expect((await kick(`?_outputFormat=${format}`)).status).toBe(202);
    }
    await expectBadRequest('?_outputFormat=application/fhir+ndjson', "'_outputFormat' query parameter must be 'application/fhir+ndjson', 'application/ndjson', or 'ndjson' ");
  });

  it('_type: Patient, ExplanationOfBenefit, Coverage (case-insensitive, trimmed), anything else → 400', async () => {
    expect((await kick('?_type=patient,%20Coverage')).status).toBe(202);
    await expectBadRequest('?_type=Patient,Observation', "Unsupported resource name in the '_type' query parameter: Observation");
    await expectBadRequest('?_type=Patient,', "Unsupported resource name in the '_type' query parameter: ");
  });

  it('_since needs an offset and must not be in the future', async () => {
    expect((await kick('?_since=2020-01-01T00:00:00Z')).status).toBe(202);
    expect((await kick('?_since=2020-01-01T00:00:00.000%2B00:00')).status).toBe(202);
    await expectBadRequest('?_since=2020-01-01T00:00:00', '_since parameter `2020-01-01T00:00:00` could not be parsed at index 19');
    await expectBadRequest(`?_since=${new Date(sb.clock.now() + 86_400_000).toISOString()}`, "'_since' query parameter cannot be a future date");
  });

  it('a percent-encoded $ in the operation name works too', async () => {
    const res = await fetch(`${sb.baseUrl}/Group/${groupId}/%24export`, { headers: { Authorization: `Bearer ${token}`, ...FHIR_ACCEPT } });
    expect(res.status).toBe(202);
  });

  it('unknown group → 404', async () => {
    const res = await fetch(`${sb.baseUrl}/Group/7d1e3d1c-0000-4000-8000-000000000000/$export`, { headers: { Authorization: `Bearer ${token}`, ...FHIR_ACCEPT } });
    expect(res.status).toBe(404);
  });
});

describe('/Jobs and /Data', () => {
  /** A new Patient job's status URL (in progress for the sandbox's 1 s job duration). */
  async function newJob(): Promise<string> {
    const res = await kick('?_type=Patient');
    expect(res.status).toBe(202);
    return res.headers.get('content-location')!;
  }

  /** Advance the clock past the job duration and poll until the job answers 200. */
  async function completed(location: string): Promise<Response> {
    sb.clock.advance(2000);
    token = await seedToken(sb);
    let res = await job(location);
    for (let i = 0; i < 200 && res.status === 202; i++) {
      await sleep(25);
      res = await job(location);
    }
    expect(res.status).toBe(200);
    return res;
  }

  it('kick-off → 202, empty body, absolute Content-Location under /Jobs', async () => {
    const res = await kick('?_type=Patient');
    expect(res.status).toBe(202);
    expect(await res.text()).toBe('');
    expect(res.headers.get('content-location')).toMatch(new RegExp(`^${sb.baseUrl.replace(/[.]/g, '\\.')}/Jobs/[0-9a-f-]{36}$`));
  });

  it('a FHIR Accept on /Jobs → 406', async () => {
    expect((await job(await newJob(), { Accept: 'application/fhir+json' })).status).toBe(406);
  });

  it('in progress → 202 with X-Progress', async () => {
    const res = await job(await newJob(), { Accept: 'application/json' });
    expect(res.status).toBe(202);
    expect(res.headers.get('x-progress')).toMatch(/^(QUEUED|RUNNING): \d+\.\d{2}%$/);
    expect(res.headers.get('retry-after')).toBeNull();
  });

  it('complete → 200 with Expires and the manifest; the request echo has DPC\'s missing "?"', async () => {
    const res = await completed(await newJob());
    expect(res.headers.get('expires')).toMatch(/GMT$/);
    const body = (await res.json()) as { request: string; output: Array<{ type: string; url: string }> };
    expect(body.request).toBe(`${sb.baseUrl}/Group/${groupId}/$export_type=Patient`);
    expect(body.output.length).toBeGreaterThan(0);
    const file = body.output[0]!.url;
    expect(file.startsWith(`${sb.baseUrl}/Data/`)).toBe(true);

    const data = await job(file, { Accept: 'application/ndjson' });
    expect(data.status).toBe(200);
    expect(data.headers.get('content-type')).toContain('application/ndjson');
    expect((await data.text()).split('\n')[0]).toContain('"resourceType":"Patient"');
    expect((await fetch(file)).status).toBe(401);
    expect((await job(file, { Accept: 'application/fhir+ndjson' })).status).toBe(406);
  });

  it('unknown job → 404 "Could not find job"; another org\'s job → 401 "Invalid organization for job" (plain strings)', async () => {
    const unknown = await job(`${sb.baseUrl}/Jobs/7d1e3d1c-0000-4000-8000-000000000000`);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toBe('Could not find job');
    const otherToken = await accessToken(sb, rsaKey(1).privateKey, other.clientToken, other.keyId);
    const foreign = await job(await newJob(), {}, otherToken);
    expect(foreign.status).toBe(401);
    expect(await foreign.text()).toBe('Invalid organization for job');
  });

  it('throttle faults answer any API route with the status and Retry-After, then stop', async () => {
    const location = await newJob();
    await completed(location);
    sb.faults.set({ throttle: { status: 429, count: 1, retryAfter: 'seconds', retryAfterSeconds: 7, pathIncludes: '/Jobs/' } });
    const limited = await job(location);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect((await job(location)).status).toBe(200);

    const set = await fetch(`${sb.origin}${adminPaths.faults()}`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ throttle: { status: 503, count: 2, retryAfter: 'http-date', retryAfterSeconds: 30 } }),
    });
    expect(set.status).toBe(200);
    const unavailable = await fetch(`${sb.baseUrl}/metadata`);
    expect(unavailable.status).toBe(503);
    expect(Date.parse(unavailable.headers.get('retry-after')!)).toBeGreaterThan(Date.now());
    expect((await fetch(`${sb.origin}${adminPaths.faults()}`, { method: 'DELETE' })).status).toBe(200);
    expect((await fetch(`${sb.baseUrl}/metadata`)).status).toBe(200);
  });

  it('24 h after completion the job is gone → 410', async () => {
    const location = await newJob();
    await completed(location);
    sb.clock.advance(25 * 3600 * 1000);
    token = await seedToken(sb);
    expect((await job(location)).status).toBe(410);
  });
});

describe('concurrency', () => {
  it('concurrent $add calls on one group lose no member', async () => {
    const pts = (await (await api(sb, token, '/Patient?_count=12&_offset=20')).json()) as fhir3.Bundle;
    const ids = (pts.entry ?? []).map((e) => e.resource!.id!);
    const results = await Promise.all(ids.map((id) => api(sb, token, `/Group/${groupId}/$add`, {
      method: 'POST', json: groupBody('1232131239', [id]), headers: { 'X-Provenance': provenance(sb.seed!.orgId, practitionerId) },
    })));
    expect(results.map((r) => r.status)).toEqual(ids.map(() => 200));
    const group = (await (await api(sb, token, `/Group/${groupId}`)).json()) as fhir3.Group;
    const members = new Set(group.member!.map((m) => m.entity!.reference));
    expect(ids.every((id) => members.has(`Patient/${id}`))).toBe(true);
  });
});
