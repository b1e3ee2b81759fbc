/**
 * A download URL on another origin never receives the bearer token (issue #6). The embedded sandbox only serves files
 * on its own origin, so two tiny loopback servers stand in: "dpc" imitates the job status endpoint (and one /Data file
 * that redirects away), "other" is another origin (another port) that serves the files and records every request
 * header it sees. Driven through the library (downloadExisting, cancelExport) and through the CLI with DPC_ACCESS_TOKEN.
 * The newer requests are covered too: a paged manifest's next page and a job DELETE on another origin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createClient, type DpcClient } from '../../src/client.js';
import { DpcError } from '../../src/errors.js';
import { cancelExport, downloadExisting, runOutcomeError } from '../../src/export/index.js';
import { runCli } from '../cli/run-cli.js';
import { removeTempDirs, tempDir } from '../export/sandbox.js';
import { exitCodeFor } from '../../src/cli/exit-codes.js';

const TOKEN = 'qa-access-token-0123456789abcdef';
const NDJSON = ['{"resourceType":"Patient","id":"1"}', '{"resourceType":"Patient","id":"2"}', '{"resourceType":"Patient","id":"3"}'].map((l) => `${l}\n`).join('');
const SHA = createHash('sha256').update(NDJSON).digest('hex');

let dpc: Server;
let other: Server;
let dpcBase: string;
let otherOrigin: string;
let client: DpcClient;
/** Every request the other origin received. */
const seenByOther: Array<{ url: string; headers: IncomingHttpHeaders }> = [];
/** Requests "dpc" received without the right bearer token (should be none). */
const unauthorized: string[] = [];

const listen = (server: Server) => new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));

function completion(requiresAccessToken: boolean | undefined, urls: string[]) {
  return {
    transactionTime: '2026-01-01T00:00:00.000+00:00',
    request: `${dpcBase}/Group/g1/$export`,
    ...(requiresAccessToken === undefined ? {} : { requiresAccessToken }),
    output: urls.map((url) => ({ type: 'Patient', url, count: 3, extension: [{ url: 'https://dpc.cms.gov/checksum', valueString: `sha256:${SHA}` }] })),
    error: [],
  };
}

beforeAll(async () => {
  other = createServer((req, res) => {
    seenByOther.push({ url: req.url ?? '', headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/ndjson' }).end(NDJSON);
  });
  otherOrigin = await listen(other);
  dpc = createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) unauthorized.push(req.url ?? '');
    const job = /\/api\/v1\/Jobs\/([\w-]+)$/.exec(req.url ?? '')?.[1];
    const json = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (job === 'tokenless') return json(completion(false, [`${otherOrigin}/files/a.ndjson`, `${otherOrigin}/files/b.ndjson`]));
    if (job === 'needs-token') return json(completion(true, [`${otherOrigin}/files/a.ndjson`]));
    if (job === 'default-needs-token') return json(completion(undefined, [`${otherOrigin}/files/a.ndjson`]));
    if (job === 'redirect') return json(completion(true, [`${dpcBase}/Data/moved.ndjson`]));
    // a paged manifest whose next page lives on the other origin
    if (job === 'paged-away') return json({ ...completion(true, [`${dpcBase}/Data/a.ndjson`]), link: [{ relation: 'next', url: `${otherOrigin}/Jobs/page2` }] });
    // a file on the server's own origin that redirects to the other origin: the token must not follow
    if (req.url === '/api/v1/Data/moved.ndjson') return res.writeHead(302, { location: `${otherOrigin}/files/moved.ndjson` }).end();
    res.writeHead(404).end();
  });
  dpcBase = `${await listen(dpc)}/api/v1`;
  client = createClient({ baseUrl: dpcBase, accessToken: TOKEN, retry: { maxRetries: 1, baseDelayMs: 1, maxDelayMs: 5 } });
});

afterAll(async () => {
  await client?.close();
  await Promise.all([dpc, other].map((s) => s && new Promise((resolve) => s.close(resolve))));
  await removeTempDirs();
});

async function download(job: string): Promise<{ out: string; error?: DpcError }> {
  const out = await tempDir('dpc-origin-');
  try {
    const result = await downloadExisting(client, { source: `${dpcBase}/Jobs/${job}`, outDir: out, pollIntervalMs: 10 });
    return { out, error: runOutcomeError(result) };
  } catch (error) {
    if (!(error instanceof DpcError)) throw error;
    return { out, error };
  }
}

describe('the bearer token stays on the configured origin', () => {
  it('files on another origin with requiresAccessToken:false are fetched without any Authorization header, verified, 0600', async () => {
    seenByOther.length = 0;
    const { out, error } = await download('tokenless');
    expect(error).toBeUndefined();
    expect(seenByOther.map((r) => r.url).sort()).toEqual(['/files/a.ndjson', '/files/b.ndjson']);
    for (const r of seenByOther) {
      expect(r.headers.authorization).toBeUndefined();
      expect(JSON.stringify(r.headers)).not.toContain(TOKEN);
    }
    const dir = join(out, 'g1', (await readFile(join(out, 'g1', 'LATEST'), 'utf8')).trim()); // the job's run folder
    const files = (await readdir(dir)).filter((n) => n.endsWith('.ndjson'));
    expect(files.sort()).toEqual(['Patient-001.ndjson', 'Patient-002.ndjson']);
    for (const f of files) expect((await stat(join(dir, f))).mode & 0o777).toBe(0o600);
  });

  it.each(['needs-token', 'default-needs-token'])('files on another origin that need the token (%s) are refused before any request, exit 1', async (job) => {
    seenByOther.length = 0;
    const { error } = await download(job);
    expect(error).toMatchObject({ code: 'ERR_FOREIGN_ORIGIN' });
    expect(exitCodeFor(error)).toBe(1);
    expect(error!.message).toContain(otherOrigin);
    expect(error!.message).not.toMatch(/\n/);
    expect(error!.message).not.toContain(TOKEN);
    expect(seenByOther).toEqual([]);
  });

  it('a redirect from the server to another origin is not followed with the token', async () => {
    seenByOther.length = 0;
    const { error } = await download('redirect');
    expect(error).toBeInstanceOf(DpcError);
    expect(exitCodeFor(error)).toBe(1);
    expect(seenByOther.filter((r) => r.headers.authorization !== undefined)).toEqual([]);
  });

  it("a paged manifest's next page on another origin is not asked for with the token", async () => {
    seenByOther.length = 0;
    const { error } = await download('paged-away');
    expect(error).toMatchObject({ code: 'ERR_FOREIGN_ORIGIN' });
    expect(seenByOther).toEqual([]);
  });

  it('cancelling a job URL on another origin (DELETE) is refused before any request', async () => {
    seenByOther.length = 0;
    await expect(cancelExport(client, `${otherOrigin}/Jobs/j1`)).rejects.toMatchObject({ code: 'ERR_FOREIGN_ORIGIN' });
    expect(seenByOther).toEqual([]);
  });

  it('through the CLI: a job URL or a file on another origin gets nothing, and the token is never printed', async () => {
    seenByOther.length = 0;
    const out = await tempDir('dpc-origin-cli-');
    const env = { HOME: out, DPC_CONFIG: join(out, 'none.json'), DPC_BASE_URL: dpcBase, DPC_ACCESS_TOKEN: TOKEN };
    const files = await runCli(['export', 'download', `${dpcBase}/Jobs/needs-token`, '--out', out, '--poll-interval', '10ms', '--debug'], { env });
    const job = await runCli(['export', 'status', `${otherOrigin}/api/v1/Jobs/stolen`], { env });
    // export download logs events, so its error is a JSON line on a non-terminal stderr; export status prints text
    const refusal = `refusing to send the access token to ${otherOrigin}`;
    expect(files.stderr.trimEnd().split('\n').map((l) => JSON.parse(l) as { eventId: string; message?: string }).at(-1)).toMatchObject({ eventId: 'error', message: expect.stringContaining(refusal) });
    expect(job.stderr).toMatch(new RegExp(`^error: ${refusal.replace(/[.:/]/g, '\\$&')}`, 'm'));
    for (const result of [files, job]) {
      expect(result.code).toBe(1);
      expect(result.stdout + result.stderr).not.toContain(TOKEN);
    }
    expect(job.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(seenByOther).toEqual([]);
    expect(unauthorized).toEqual([]);
  });
});
