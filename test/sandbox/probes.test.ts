/**
 * Probes an outside checker writes from DPC's source, where the sandbox answered otherwise, over raw HTTP:
 * `_since` parse errors (Java's ISO_OFFSET_DATE_TIME and its error index), the `$export` Accept rule, `_type` and
 * `_outputFormat` messages as DPC words them, non-UUID ids (jobs: 500; tokens, keys, IP addresses: 404), deleting an
 * unknown client token (500), the auth filter's 401 media type on JSON routes, /metadata's 406, and HEAD on GET
 * resources.
 * DPC: dpc-api resources/AbstractResourceWithExport.java, resources/v1/{Job,Token,Key,IpAddress}Resource.java,
 * auth/DPCUnauthorizedHandler.java.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxHandle } from '../../src/sandbox/index.js';
import { parseOffsetDateTime } from '../../src/sandbox/offset-date-time.js';
import { api, outcomeText, provenance, seededRoster } from './helpers.js';

describe('parseOffsetDateTime (pure): what Java ISO_OFFSET_DATE_TIME takes, and where it stops', () => {
  it('takes Z in any case, lenient offsets, optional seconds and 0–9 fraction digits', () => {
    const utc = Date.UTC(2020, 0, 1, 12, 30);
    expect(parseOffsetDateTime('2020-01-01T12:30Z')).toEqual({ epochMs: utc });
    expect(parseOffsetDateTime('2020-01-01t12:30:00z')).toEqual({ epochMs: utc });
    for (const offset of ['+01', '+0100', '+01:00', '+01:00:00', '+010000']) {
      expect(parseOffsetDateTime(`2020-01-01T13:30:00${offset}`), offset).toEqual({ epochMs: utc });
    }
    expect(parseOffsetDateTime('2020-01-01T12:30:00.123456789-00:00')).toEqual({ epochMs: utc + 123 });
    expect(parseOffsetDateTime('2024-02-29T00:00:00Z')).toEqual({ epochMs: Date.UTC(2024, 1, 29) });
  });

  it('reports the index where parsing stopped, 0 for fields that are no real date-time', () => {
    const at = (text: string) => (parseOffsetDateTime(text) as { errorIndex: number }).errorIndex;
    expect(at('yesterday')).toBe(0);
    expect(at('20200-01-01T00:00Z')).toBe(0);
    expect(at('2020-1-01T00:00Z')).toBe(5);
    expect(at('2020-01-01')).toBe(10);
    expect(at('2020-01-01 00:00:00Z')).toBe(10);
    expect(at('2020-01-01T00:00')).toBe(16);
    expect(at('2020-01-01T00:00:5Z')).toBe(16);
    expect(at('2020-01-01T00:00:00')).toBe(19);
    expect(at('2020-01-01T00:00:00Zjunk')).toBe(20);
    expect(at('2023-02-29T00:00:00Z')).toBe(0);
    expect(at('2020-01-01T24:00:00Z')).toBe(0);
  });
});

describe('over loopback', () => {
  let sb: SandboxHandle;
  let token: string;
  let groupId: string;
  let patientId: string;
  const kick = (query: string) => api(sb, token, `/Group/${groupId}/$export${query}`, { headers: { Prefer: 'respond-async' } });
  async function badRequest(query: string): Promise<string[]> {
    const res = await kick(query);
    expect(res.status, query).toBe(400);
    return outcomeText(await res.json());
  }

  beforeAll(async () => {
    ({ sb, token, groupId, patientId } = await seededRoster());
  });
  afterAll(async () => sb?.close());

  it('_since that Java cannot parse → 400 "_since parameter `…` could not be parsed at index N"', async () => {
    expect(await badRequest('?_since=2020-01-01')).toEqual(['_since parameter `2020-01-01` could not be parsed at index 10']);
    expect(await badRequest('?_since=yesterday')).toEqual(['_since parameter `yesterday` could not be parsed at index 0']);
    expect(await badRequest('?_since=2021-02-29T00:00:00Z')).toEqual(['_since parameter `2021-02-29T00:00:00Z` could not be parsed at index 0']);
  });

  it('_since with an offset Java parses leniently (+0100, +01) or a lower-case z → 202', async () => {
    for (const since of ['2020-01-01T00:00:00%2B0100', '2020-01-01T00:00:00%2B01', '2020-01-01t00:00:00z']) {
      expect((await kick(`?_since=${since}`)).status, since).toBe(202);
    }
  });

  it('$export Accept: application/* is compatible with FHIR (202); a */* among the ranges is refused (415)', async () => {
    const kickWith = (accept: string) => api(sb, token, `/Group/${groupId}/$export`, { headers: { Prefer: 'respond-async', Accept: accept } });
    expect((await kickWith('application/*')).status).toBe(202);
    const mixed = await kickWith('application/fhir+json, */*;q=0.1');
    expect(mixed.status).toBe(415);
    expect(outcomeText(await mixed.json())).toEqual(['`Accept:` header must specify valid FHIR content type']);
  });

  it('_type: the message shows the element as sent (untrimmed); _outputFormat: DPC\'s message ends in a space', async () => {
    expect(await badRequest('?_type=Patient,%20Claim')).toEqual(["Unsupported resource name in the '_type' query parameter:  Claim"]);
    expect(await badRequest('?_outputFormat=csv')).toEqual(["'_outputFormat' query parameter must be 'application/fhir+ndjson', 'application/ndjson', or 'ndjson' "]);
  });

  it('GET /Jobs/<not a UUID> → 500 with Dropwizard\'s logged-error message (UUID.fromString throws); a UUID → 404 text', async () => {
    const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
    const bad = await fetch(`${sb.baseUrl}/Jobs/not-a-job`, { headers });
    expect(bad.status).toBe(500);
    expect(await bad.json()).toEqual({ code: 500, message: expect.stringMatching(/^There was an error processing your request\. It has been logged \(ID [0-9a-f]{16}\)\.$/) });
    const unknown = await fetch(`${sb.baseUrl}/Jobs/${randomUUID()}`, { headers });
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toBe('Could not find job');
  });

  it('unknown ids the method (not the path authorizer) looks up, worded as DPC does', async () => {
    const definition = await fetch(`${sb.baseUrl}/StructureDefinition/dpc-profile-nothing`, { headers: { Accept: 'application/fhir+json' } });
    expect(definition.status).toBe(404);
    expect(outcomeText(await definition.json())).toEqual(['Cannot find Structure Definition with ID: dpc-profile-nothing']);
    // the attesting practitioner of $everything is read from attribution by id; its 404 is relayed
    const ghost = randomUUID();
    const res = await api(sb, token, `/Patient/${patientId}/$everything`, { headers: { 'X-Provenance': provenance(sb.seed!.orgId, ghost) } });
    expect(res.status).toBe(404);
    expect(outcomeText(await res.json())).toEqual([`Provider ${ghost} is not registered`]);
  });

  it('/metadata is not a @FHIR resource: a non-FHIR Accept is Jersey\'s plain 406, none is fine', async () => {
    const json = await fetch(`${sb.baseUrl}/metadata`, { headers: { Accept: 'application/json' } });
    expect(json.status).toBe(406);
    expect(await json.json()).toEqual({ code: 406, message: 'HTTP 406 Not Acceptable' });
    const plain = await fetch(`${sb.baseUrl}/metadata`);
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toBe('application/fhir+json');
  });

  it('HEAD runs the GET method without a body, as JAX-RS does for resources without a HEAD method', async () => {
    const org = await fetch(`${sb.baseUrl}/Organization`, { method: 'HEAD', headers: { Authorization: `Bearer ${token}`, Accept: 'application/fhir+json' } });
    expect(org.status).toBe(200);
    expect(org.headers.get('content-type')).toBe('application/fhir+json');
    expect(Number(org.headers.get('content-length'))).toBeGreaterThan(0);
    expect(await org.text()).toBe('');
    expect((await fetch(`${sb.baseUrl}/Organization`, { method: 'HEAD' })).status).toBe(401);
    const job = await fetch(`${sb.baseUrl}/Jobs/${randomUUID()}`, { method: 'HEAD', headers: { Authorization: `Bearer ${token}` } });
    expect(job.status).toBe(404);
    expect((await fetch(`${sb.baseUrl}/Group`, { method: 'PATCH', headers: { Authorization: `Bearer ${token}` } })).status).toBe(405);
  });

  it('Token, Key and IpAddress ids are Java UUID parameters: anything else is Jersey\'s plain 404', async () => {
    const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
    for (const [method, path] of [['GET', '/Token/nope'], ['DELETE', '/Token/nope'], ['GET', '/Key/nope'], ['DELETE', '/Key/nope'], ['DELETE', '/IpAddress/nope']]) {
      const res = await fetch(`${sb.baseUrl}${path}`, { method, headers });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(await res.json()).toEqual({ code: 404, message: 'HTTP 404 Not Found' });
    }
  });

  it('DELETE /Token/<unknown UUID> → 500: DPC takes the first of an empty list', async () => {
    const res = await fetch(`${sb.baseUrl}/Token/${randomUUID()}`, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ code: 500, message: expect.stringMatching(/^There was an error processing your request\. It has been logged \(ID [0-9a-f]{16}\)\.$/) });
  });

  it('the auth filter\'s 401 is FHIR JSON on JSON routes too (/Jobs, /Key, /Token)', async () => {
    for (const path of [`/Jobs/${randomUUID()}`, '/Key', '/Token']) {
      const res = await fetch(`${sb.baseUrl}${path}`, { headers: { Accept: 'application/json' } });
      expect(res.status, path).toBe(401);
      expect(res.headers.get('content-type'), path).toBe('application/fhir+json');
    }
  });
});
