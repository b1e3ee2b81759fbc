/**
 * Malformed request bodies and headers get 4xx answers, never a 5xx, and the server keeps serving.
 * Every node of a valid body is replaced in turn by values of the wrong JSON type.
 */
import type * as fhir3 from 'fhir/r3.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { testKey } from '../keys.js';
import { api, groupBody, provenance, seedToken } from './helpers.js';

let sb: SandboxHandle;
let token: string;
let practitionerId = '';
let patientIds: string[] = [];
let groupId = '';
const NPI = '1232131239';

beforeAll(async () => {
  sb = await startSandbox({ seed: true, seedKey: testKey(0) });
  token = await seedToken(sb);
  practitionerId = ((await (await api(sb, token, `/Practitioner?identifier=${NPI}`)).json()) as fhir3.Bundle).entry![0]!.resource!.id!;
  patientIds = ((await (await api(sb, token, '/Patient?_count=3')).json()) as fhir3.Bundle).entry!.map((e) => e.resource!.id!);
  const res = await api(sb, token, '/Group', { method: 'POST', json: groupBody(NPI, patientIds), headers: { 'X-Provenance': provenance(sb.seed!.orgId, practitionerId) } });
  groupId = ((await res.json()) as fhir3.Group).id!;
});
afterAll(async () => sb?.close());

const WRONG: unknown[] = [null, 42, 'x', {}, [], [null]];

/** Every variant of `value` with one node (not the root) replaced by a wrongly typed value. */
function mutations(value: unknown): unknown[] {
  const out: unknown[] = [];
  const walk = (node: unknown, replace: (v: unknown) => unknown) => {
    if (Array.isArray(node)) {
      node.forEach((child, i) => {
        for (const w of WRONG) out.push(replace(node.map((c, j) => (j === i ? w : c))));
        walk(child, (v) => replace(node.map((c, j) => (j === i ? v : c))));
      });
    } else if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        if (key === 'resourceType') continue;
        for (const w of WRONG) out.push(replace({ ...node, [key]: w }));
        walk(child, (v) => replace({ ...node, [key]: v }));
      }
    }
  };
  walk(value, (v) => v);
  return out;
}

const practitioner = { resourceType: 'Practitioner', identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '1003000126' }], name: [{ family: 'D', given: ['J'] }] };
const patient = {
  resourceType: 'Patient', identifier: [{ system: 'http://hl7.org/fhir/sid/us-mbi', value: '5A00A00AA05', extension: [{ url: 'https://bluebutton.cms.gov/resources/codesystem/identifier-currency', valueCoding: { code: 'current' } }] }],
  name: [{ family: 'R', given: ['S'] }], gender: 'male', birthDate: '1950-01-01',
};
const submit = (resource: unknown) => ({ resourceType: 'Parameters', parameter: [{ name: 'resource', resource: { resourceType: 'Bundle', type: 'collection', entry: [{ resource }] } }] });

async function statuses(cases: Array<() => Promise<Response>>): Promise<number[]> {
  const out: number[] = [];
  for (const run of cases) {
    const res = await run();
    await res.arrayBuffer();
    out.push(res.status);
  }
  return out;
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}) => () => api(sb, token, path, { method: 'POST', json: body, headers });

describe('malformed input never yields a 5xx', () => {
  it.each([
    ['/Practitioner', practitioner],
    ['/Patient', patient],
    ['/Practitioner/$submit', submit(practitioner)],
    ['/Patient/$submit', submit(patient)],
    ['/Patient/$validate', { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: patient }] }],
  ])('POST %s', async (path, body) => {
    const codes = await statuses(mutations(body).map((b) => post(path, b)));
    expect(codes.length).toBeGreaterThan(20);
    expect(codes.filter((c) => c >= 500)).toEqual([]);
  });

  it('Group bodies on POST, PUT, $add and $remove', async () => {
    const header = { 'X-Provenance': provenance(sb.seed!.orgId, practitionerId) };
    const bodies = mutations(groupBody(NPI, patientIds));
    const cases = bodies.flatMap((b) => [
      post('/Group', b, header),
      () => api(sb, token, `/Group/${groupId}`, { method: 'PUT', json: b, headers: header }),
      post(`/Group/${groupId}/$add`, b, header),
      post(`/Group/${groupId}/$remove`, b),
    ]);
    const codes = await statuses(cases);
    expect(codes.filter((c) => c >= 500)).toEqual([]);
  });

  it('X-Provenance headers', async () => {
    const bodies = mutations(JSON.parse(provenance(sb.seed!.orgId, practitionerId)));
    const codes = await statuses(bodies.map((p) => post(`/Group/${groupId}/$add`, groupBody(NPI, patientIds), { 'X-Provenance': JSON.stringify(p) })));
    expect(codes.filter((c) => c >= 500)).toEqual([]);
    expect(codes.filter((c) => c === 200).length).toBeLessThan(codes.length);
  });

  it('non-JSON and non-object bodies', async () => {
    const raw = (path: string, body: string) => () => api(sb, token, path, { method: 'POST', body, headers: { 'Content-Type': 'application/fhir+json' } });
    const codes = await statuses(['{', 'null', '[]', '42', '"x"', '{"resourceType":7}'].flatMap((b) => [raw('/Patient', b), raw('/Group', b), raw('/Practitioner/$submit', b)]));
    expect(codes.every((c) => c >= 400 && c < 500)).toBe(true);
    const json = await fetch(`${sb.baseUrl}/Token`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: '[1]' });
    expect(json.status).toBe(400);
  });
});
