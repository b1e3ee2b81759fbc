/** `/IpAddress` over raw HTTP (behaviour doc §11.3, DPC: R/IpAddressResource.java). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { testKey } from '../keys.js';
import { api, newOrg, rsaKey, seedToken } from './helpers.js';

let sb: SandboxHandle;
let stateDir: string;
let token: string;

const JSON_TYPE = 'application/json';
const post = (t: string, body: unknown) =>
  api(sb, t, '/IpAddress', { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': JSON_TYPE, Accept: JSON_TYPE } });
const list = async (t: string) => (await (await api(sb, t, '/IpAddress', { headers: { Accept: JSON_TYPE } })).json()) as {
  entities: Array<{ id: string; ipAddress: { address: string } }>;
  count: number;
};
const remove = (t: string, id: string) => api(sb, t, `/IpAddress/${id}`, { method: 'DELETE', headers: { Accept: JSON_TYPE } });

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'dpc-ip-'));
  sb = await startSandbox({ seed: true, seedKey: testKey(0), testMode: true, stateDir });
  token = await seedToken(sb);
});
afterAll(async () => {
  await sb?.close();
  await rm(stateDir, { recursive: true, force: true });
});

describe('/IpAddress', () => {
  // every test starts from an organization without addresses, whatever ran before it
  beforeEach(async () => {
    token = await seedToken(sb);
    for (const e of (await list(token)).entities) expect((await remove(token, e.id)).status).toBe(204);
  });

  it('POST → 200 with id, organizationId, the address as {address} and createdAt; GET lists it; DELETE → 204, again → 404', async () => {
    const res = await post(token, { ip_address: '203.0.113.7' });
    expect(res.status).toBe(200);
    const created = (await res.json()) as Record<string, unknown>;
    expect(created).toMatchObject({ organizationId: sb.seed!.orgId, ipAddress: { address: '203.0.113.7' } });
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T.*[+-]\d{2}:\d{2}$/);
    const listed = await list(token);
    expect(listed.count).toBe(1);
    expect(listed.entities[0]).toEqual(created);

    expect((await remove(token, String(created.id))).status).toBe(204);
    const again = await remove(token, String(created.id));
    expect(again.status).toBe(404);
    expect(await again.json()).toEqual({ code: 404, message: 'Ip address not found' });
    expect((await list(token)).count).toBe(0);
  });

  it('an address that does not parse → 400 "Invalid ip address: <value>", a missing one names null', async () => {
    const bad = await post(token, { ip_address: '300.1.2.3' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ code: 400, message: 'Invalid ip address: 300.1.2.3' });
    const missing = await post(token, {});
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ code: 400, message: 'Invalid ip address: null' });
  });

  it('takes IPv6, and drops a /prefix when parsing as Inet does', async () => {
    const v6 = await post(token, { ip_address: '2001:db8::1' });
    expect(v6.status).toBe(200);
    const cidr = await post(token, { ip_address: '198.51.100.0/24' });
    expect(cidr.status).toBe(200);
    for (const e of (await list(token)).entities) expect((await remove(token, e.id)).status).toBe(204);
  });

  it('at most 8 per organization: the ninth → 400 "Max Ips for organization reached: 8" (an invalid one is still 400 Invalid)', async () => {
    for (let i = 1; i <= 8; i++) expect((await post(token, { ip_address: `192.0.2.${i}` })).status).toBe(200);
    const ninth = await post(token, { ip_address: '192.0.2.9' });
    expect(ninth.status).toBe(400);
    expect(await ninth.json()).toEqual({ code: 400, message: 'Max Ips for organization reached: 8' });
    expect(await (await post(token, { ip_address: 'nope' })).json()).toEqual({ code: 400, message: 'Invalid ip address: nope' });
    expect((await list(token)).count).toBe(8);
  });

  it("is per organization: another org neither sees nor deletes these (404), and has its own 8", async () => {
    expect((await post(token, { ip_address: '192.0.2.1' })).status).toBe(200);
    const other = await newOrg(sb, rsaKey(1));
    expect((await list(other.token)).count).toBe(0);
    const ours = (await list(token)).entities[0]!;
    expect((await remove(other.token, ours.id)).status).toBe(404);
    expect((await post(other.token, { ip_address: '192.0.2.1' })).status).toBe(200);
  });

  it('is JSON, not FHIR: Accept application/fhir+json → 406; a non-UUID id → 404', async () => {
    expect((await api(sb, token, '/IpAddress')).status).toBe(406);
    expect((await remove(token, 'not-a-uuid')).status).toBe(404);
  });

  it('needs an access token (401) and survives a restart with the same state dir', async () => {
    expect((await api(sb, undefined, '/IpAddress', { headers: { Accept: JSON_TYPE } })).status).toBe(401);
    expect((await post(token, { ip_address: '192.0.2.1' })).status).toBe(200);
    const before = (await list(token)).entities.map((e) => e.id).sort();
    await sb.close();
    sb = await startSandbox({ seed: true, seedKey: testKey(0), testMode: true, stateDir });
    token = await seedToken(sb);
    expect((await list(token)).entities.map((e) => e.id).sort()).toEqual(before);
  });
});
