import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DpcError } from '../../src/errors.js';
import { Transport, type AccessTokenProvider, type TransportEvent } from '../../src/transport/index.js';
import { startFaultServer, type FaultServer } from './fault-server.js';
import { exitCodeFor } from '../../src/cli/exit-codes.js';

let server: FaultServer;
let base: string;
let slept: number[];
let events: TransportEvent[];

function transport(extra: Partial<ConstructorParameters<typeof Transport>[0]> = {}): Transport {
  return new Transport({
    baseUrl: base,
    retry: { maxRetries: 3 },
    sleep: async (ms) => {
      slept.push(ms);
    },
    onEvent: (e) => events.push(e),
    ...extra,
  });
}

async function failure(promise: Promise<unknown>): Promise<DpcError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(DpcError);
  expect((error as DpcError).message).not.toContain('\n');
  return error as DpcError;
}

beforeAll(async () => {
  server = await startFaultServer();
  base = `${server.origin}/api/v1`;
});
afterAll(() => server.close());
beforeEach(() => {
  server.reset();
  slept = [];
  events = [];
});

describe('Retry-After and backoff', () => {
  it('honours Retry-After in seconds on a 429, for any method', async () => {
    server.script('/api/v1/Group', { status: 429, headers: { 'retry-after': '2' } }, { status: 200, body: '{"ok":true}' });
    const t = transport();
    const { body } = await t.json<{ ok: boolean }>({ method: 'POST', path: '/Group', body: '{}' });
    expect(body.ok).toBe(true);
    expect(slept).toEqual([2000]);
    expect(server.seen.map((s) => s.method)).toEqual(['POST', 'POST']);
    expect(events.find((e) => e.type === 'retry')).toMatchObject({ status: 429, delayMs: 2000, attempt: 0 });
    await t.close();
  });

  it('honours Retry-After as an HTTP-date, clamped to the policy maximum', async () => {
    const soon = new Date(Date.now() + 3000).toUTCString();
    const late = new Date(Date.now() + 3_600_000).toUTCString();
    server.script('/api/v1/Patient', { status: 503, headers: { 'retry-after': soon } }, { status: 503, headers: { 'retry-after': late } }, { status: 200, body: '[]' });
    const t = transport({ retry: { maxRetries: 3, maxRetryAfterMs: 10_000 } });
    await t.json({ path: '/Patient' });
    expect(slept).toHaveLength(2);
    expect(slept[0]).toBeGreaterThan(0);
    expect(slept[0]).toBeLessThanOrEqual(3000);
    expect(slept[1]).toBe(10_000);
    await t.close();
  });

  it('falls back to capped exponential backoff when Retry-After is absent or garbage', async () => {
    server.script('/api/v1/Practitioner', { status: 502 }, { status: 504, headers: { 'retry-after': 'soon' } }, { status: 200, body: '{}' });
    const t = transport({ retry: { maxRetries: 3, baseDelayMs: 100, maxDelayMs: 150 } });
    await t.json({ path: '/Practitioner' });
    expect(slept).toHaveLength(2);
    expect(slept[0]).toBeLessThanOrEqual(100);
    expect(slept[1]).toBeLessThanOrEqual(150);
    await t.close();
  });

  it('gives up on a 503 storm with one line naming the retries and the request id', async () => {
    server.script('/api/v1/Organization', ...Array.from({ length: 10 }, () => ({ status: 503, headers: { 'retry-after': '0' }, body: '{"code":503,"message":"down for maintenance"}' })));
    const t = transport();
    const error = await failure(t.json({ path: '/Organization' }));
    expect(error.code).toBe('ERR_SERVER');
    expect(exitCodeFor(error)).toBe(1);
    expect(error.message).toBe('GET /api/v1/Organization failed with 503: down for maintenance (after 3 retries)');
    expect(error.requestId).toBe(`req-${server.seen.length}`);
    expect(server.seen).toHaveLength(4);
    await t.close();
  });

  it('does not replay a POST after a 503 or a dropped connection, but does replay a GET', async () => {
    server.script('/api/v1/Group', { status: 503, body: 'busy' });
    const t = transport();
    expect((await failure(t.json({ method: 'POST', path: '/Group', body: '{}' }))).message).toBe('POST /api/v1/Group failed with 503: busy');
    expect(server.seen).toHaveLength(1);

    server.script('/api/v1/Group', { hangUp: true });
    expect((await failure(t.json({ method: 'POST', path: '/Group', body: '{}' }))).code).toBe('ERR_NETWORK');
    expect(server.seen).toHaveLength(2);

    server.script('/api/v1/Group', { hangUp: true }, { status: 200, body: '{"resourceType":"Bundle"}' });
    expect((await t.json<{ resourceType: string }>({ path: '/Group' })).body.resourceType).toBe('Bundle');
    expect(server.seen).toHaveLength(4);

    server.script('/api/v1/Group/1/$add', { status: 503 }, { status: 200 });
    expect((await t.text({ method: 'POST', path: '/Group/1/$add', body: '{}', idempotent: true })).status).toBe(200);
    expect(server.seen).toHaveLength(6);
    await t.close();
  });

  it('does not retry other client errors', async () => {
    server.script('/api/v1/Patient/1', { status: 404, body: '{"resourceType":"OperationOutcome","issue":[{"severity":"error","details":{"text":"Cannot find patient"}}]}' });
    const t = transport();
    const error = await failure(t.json({ path: '/Patient/1' }));
    expect(error).toMatchObject({ code: 'ERR_NOT_FOUND', status: 404, message: 'GET /api/v1/Patient/1 failed with 404: Cannot find patient' });
    expect(slept).toEqual([]);
    await t.close();
  });
});

describe('error bodies', () => {
  const cases: Array<[string, number, string, string]> = [
    ['OperationOutcome', 422, '{"resourceType":"OperationOutcome","issue":[{"details":{"text":"NPI is invalid"}},{"diagnostics":"name missing"}]}', 'NPI is invalid; name missing'],
    ['Dropwizard', 400, '{"code":400,"message":"Grant Type must be \'client_credentials\'"}', "Grant Type must be 'client_credentials'"],
    ['validation', 400, '{"id":"ab12","errors":["arg0 Scope is required","arg3 Assertion is required"]}', 'arg0 Scope is required; arg3 Assertion is required'],
    ['plain text', 400, 'Value could not be parsed\n as JSON', 'Value could not be parsed as JSON'],
    ['JSON string', 404, '"Could not find job"', 'Could not find job'],
    ['empty', 403, '', 'HTTP 403'],
  ];
  it.each(cases)('reads the message from a %s body', async (_, status, body, message) => {
    server.script('/api/v1/Key', { status, body });
    const t = transport();
    const error = await failure(t.json({ path: '/Key' }));
    expect(error.message).toBe(`GET /api/v1/Key failed with ${status}: ${message}`);
    expect(error.status).toBe(status);
    await t.close();
  });
});

describe('bearer tokens', () => {
  function provider(tokens: string[]) {
    const calls: Array<{ forceRefresh?: boolean; rejectedToken?: string }> = [];
    let current = 0;
    const p: AccessTokenProvider = {
      async getAccessToken(options = {}) {
        calls.push({ forceRefresh: options.forceRefresh, rejectedToken: options.rejectedToken });
        if (options.forceRefresh) current++;
        return tokens[current]!;
      },
    };
    return { p, calls };
  }

  it('refreshes once after a 401 and replays, naming the rejected token', async () => {
    server.script('/api/v1/Organization', { status: 401, body: '{}' }, { status: 200, body: '{"resourceType":"Bundle"}' });
    const { p, calls } = provider(['old-token', 'new-token']);
    const t = transport({ tokenProvider: p });
    await t.json({ path: '/Organization' });
    expect(server.seen.map((s) => s.headers.authorization)).toEqual(['Bearer old-token', 'Bearer new-token']);
    expect(calls).toContainEqual({ forceRefresh: true, rejectedToken: 'old-token' });
    expect(events.map((e) => e.type)).toEqual(['request', 'response', 'reauth', 'request', 'response']);
    await t.close();
  });

  it('reports a second 401 as an authentication error', async () => {
    server.script('/api/v1/Organization', { status: 401, body: '{"resourceType":"OperationOutcome","issue":[{"details":{"text":"HTTP 401 Unauthorized, Credentials are required to access this resource."}}]}' }, { status: 401 });
    const t = transport({ tokenProvider: provider(['a', 'b']).p });
    const error = await failure(t.json({ path: '/Organization' }));
    expect(error).toMatchObject({ code: 'ERR_UNAUTHORIZED', status: 401 });
    expect(exitCodeFor(error)).toBe(3);
    expect(server.seen).toHaveLength(2);
    await t.close();
  });

  it("masks the token a server echoes in its error body, and anything shaped like one", async () => {
    const jwt = 'eyJhbGciOiJSUzM4NCJ9.eyJzdWIiOiJ4eHh4eCJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
    server.script('/api/v1/Organization', { status: 403, body: JSON.stringify({ message: `token opaque-secret-token refused; expected ${jwt}` }) });
    const t = transport({ tokenProvider: provider(['opaque-secret-token']).p });
    const error = await failure(t.json({ path: '/Organization' }));
    expect(error.message).toBe('GET /api/v1/Organization failed with 403: token [REDACTED] refused; expected [REDACTED JWT]');
    await t.close();
  });

  it('never sends the token to another origin, and sends none on public calls', async () => {
    const other = await startFaultServer();
    const t = transport({ tokenProvider: provider(['secret-token']).p });
    const error = await failure(t.json({ path: `${other.origin}/Data/file.ndjson` }));
    expect(error.code).toBe('ERR_FOREIGN_ORIGIN');
    expect(error.message).toBe(`refusing to send the access token to ${other.origin}: it is not the configured server ${server.origin}`);
    expect(other.seen).toHaveLength(0);

    await t.text({ path: `${other.origin}/file`, auth: false });
    expect(other.seen[0]!.headers.authorization).toBeUndefined();
    await t.text({ method: 'POST', path: '/Token/validate', auth: false, body: 'x', contentType: 'text/plain' });
    expect(server.seen.at(-1)!.headers.authorization).toBeUndefined();
    await other.close();
    await t.close();
  });
});

describe('negotiation', () => {
  it('sends the Accept header each endpoint needs and the FHIR content type by default', async () => {
    const t = transport();
    for (const path of ['/Patient', '/Group/1/$export', '/Jobs/abc', '/Data/x.ndjson', '/Token', '/Key/1', '/version']) await t.text({ path });
    await t.text({ method: 'POST', path: '/Patient', body: '{}' });
    expect(server.seen.map((s) => s.headers.accept)).toEqual([
      'application/fhir+json', 'application/fhir+json', 'application/json', 'application/ndjson', 'application/json', 'application/json', 'text/plain', 'application/fhir+json',
    ]);
    expect(server.seen.at(-1)!.headers['content-type']).toBe('application/fhir+json');
    await t.close();
  });

  it('encodes + in query values as %2B', async () => {
    const t = transport();
    const url = t.resolve('/Group/1/$export', { _since: '2026-01-01T00:00:00.000+00:00', _type: 'Patient', skip: undefined });
    expect(url.search).toBe('?_since=2026-01-01T00%3A00%3A00.000%2B00%3A00&_type=Patient');
    await t.close();
  });

  it('aborting while waiting to retry ends with ERR_ABORTED', async () => {
    server.script('/api/v1/Patient', { status: 429, headers: { 'retry-after': '30' } });
    const controller = new AbortController();
    const t = transport({ sleep: undefined });
    const pending = t.json({ path: '/Patient', signal: controller.signal });
    setImmediate(() => controller.abort());
    const error = await failure(pending);
    expect(error.code).toBe('ERR_ABORTED');
    await t.close();
  });
});
