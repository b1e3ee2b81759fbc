/**
 * downloadVerified over real loopback HTTP against a tiny fault server (faults the sandbox cannot produce, such as a
 * second origin, plus the basic verify/retry/quarantine paths in isolation).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Transport } from '../../src/transport/index.js';
import { downloadVerified } from '../../src/export/download.js';
import type { ExportEvent } from '../../src/export/events.js';
import type { PlannedFile } from '../../src/export/manifest.js';

const content = Buffer.from(Array.from({ length: 2000 }, (_, i) => `{"resourceType":"Patient","id":"p${i}"}\n`).join(''));
const sha256 = createHash('sha256').update(content).digest('hex');
const gz = gzipSync(content);

/** Per-path behaviour; `hits` counts requests and remembers whether a bearer token came along. */
const behaviour = new Map<string, (n: number, req: IncomingMessage, res: ServerResponse) => void>();
const hits = new Map<string, { n: number; auth: boolean[] }>();
/** Requests to a path so far (none yet: zero), whichever tests ran before. */
const hitsOf = (path: string) => hits.get(path) ?? { n: 0, auth: [] };

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

function handler(req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url!, 'http://x').pathname;
  const h = hitsOf(path);
  h.n++;
  h.auth.push(req.headers.authorization !== undefined);
  hits.set(path, h);
  const serve = behaviour.get(path);
  if (!serve) {
    res.writeHead(404).end();
    return;
  }
  serve(h.n, req, res);
}

const whole = (_n: number, req: IncomingMessage, res: ServerResponse): void => {
  if (/gzip/.test(req.headers['accept-encoding'] ?? '')) res.writeHead(200, { 'content-encoding': 'gzip' }).end(gz);
  else res.writeHead(200, { 'content-type': 'application/ndjson' }).end(content);
};

let server: Server;
let other: Server;
let base: string;
let otherOrigin: string;
let transport: Transport;
let dir: string;

beforeAll(async () => {
  server = createServer(handler);
  other = createServer(handler);
  base = await listen(server);
  otherOrigin = await listen(other);
  // one retry per file: the second attempt after a broken or mismatched body (the budget is shared with the transport)
  transport = new Transport({ baseUrl: `${base}/api/v1`, tokenProvider: { getAccessToken: async () => 'test-token-value' }, retry: { maxRetries: 1, baseDelayMs: 1 } });
  dir = await mkdtemp(join(tmpdir(), 'dpc-dl-'));
  behaviour.set('/api/v1/Data/ok.ndjson', whole);
  behaviour.set('/api/v1/Data/cut-once.ndjson', (n, req, res) => {
    if (n > 1) return whole(n, req, res);
    res.writeHead(200);
    res.write(content.subarray(0, 5000), () => res.destroy());
  });
  behaviour.set('/api/v1/Data/truncated.ndjson', (_n, _req, res) => {
    res.writeHead(200).end(content.subarray(0, content.length - 100));
  });
  behaviour.set('/files/foreign.ndjson', whole);
});

afterAll(async () => {
  await transport.close();
  server.close();
  other.close();
  await rm(dir, { recursive: true, force: true });
});

function planned(path: string, over: Partial<PlannedFile> = {}): PlannedFile {
  return { kind: 'output', type: 'Patient', url: `${base}${path}`, name: 'Patient-001.ndjson', count: 2000, sha256, gzipLength: gz.length, ...over };
}

function target(file: PlannedFile, sub: string, over: { gzip?: boolean; requiresAccessToken?: boolean } = {}) {
  const events: ExportEvent[] = [];
  return {
    events,
    target: {
      label: 'g1',
      file,
      dir: join(dir, sub, 'g1', 'run1'),
      quarantineDir: join(dir, sub, '.quarantine', 'g1', 'run1'),
      gzip: over.gzip ?? false,
      requiresAccessToken: over.requiresAccessToken ?? true,
      onEvent: (e: ExportEvent) => events.push(e),
    },
  };
}

describe('downloadVerified', () => {
  it('streams, verifies and renames a file into place owner-only', async () => {
    const { target: t, events } = target(planned('/api/v1/Data/ok.ndjson'), 'plain');
    const outcome = await downloadVerified(transport, t);
    expect(outcome).toMatchObject({ status: 'verified', file: { path: 'Patient-001.ndjson', sha256, bytes: content.length, count: 2000 } });
    expect((await readFile(join(t.dir, 'Patient-001.ndjson'))).equals(content)).toBe(true);
    expect((await stat(join(t.dir, 'Patient-001.ndjson'))).mode & 0o777).toBe(0o600);
    expect((await stat(t.dir)).mode & 0o777).toBe(0o700);
    expect(await readdir(t.dir)).toEqual(['Patient-001.ndjson']);
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['download_request', 'download_progress', 'download_complete']));
  });

  it('keeps gzip bytes with --gzip, hashing the uncompressed content and checking file_length', async () => {
    const { target: t } = target(planned('/api/v1/Data/ok.ndjson'), 'gzip', { gzip: true });
    const outcome = await downloadVerified(transport, t);
    expect(outcome).toMatchObject({ status: 'verified', file: { path: 'Patient-001.ndjson.gz', sha256, bytes: content.length, gzipBytes: gz.length } });
    expect((await readFile(join(t.dir, 'Patient-001.ndjson.gz'))).equals(gz)).toBe(true);
  });

  it('restarts a cut body from scratch and verifies the second attempt', async () => {
    const { target: t, events } = target(planned('/api/v1/Data/cut-once.ndjson'), 'cut');
    const outcome = await downloadVerified(transport, t);
    expect(outcome.status).toBe('verified');
    expect(hitsOf('/api/v1/Data/cut-once.ndjson').n).toBe(2);
    expect(events.find((e) => e.type === 'download_error')).toMatchObject({ willRetry: true });
    expect((await readFile(join(t.dir, 'Patient-001.ndjson'))).equals(content)).toBe(true);
  });

  it('quarantines a body that fails verification twice, never at the final name', async () => {
    const { target: t, events } = target(planned('/api/v1/Data/truncated.ndjson'), 'trunc');
    const outcome = await downloadVerified(transport, t);
    expect(outcome).toMatchObject({ status: 'quarantined', path: join(dir, 'trunc', '.quarantine', 'g1', 'run1', 'Patient-001.ndjson') });
    if (outcome.status !== 'quarantined') return;
    expect(outcome.problems.join(' ')).toMatch(/sha256 .* differs/);
    expect(await readdir(t.dir)).toEqual([]);
    expect((await stat(outcome.path)).size).toBe(content.length - 100);
    expect(events.filter((e) => e.type === 'download_error').map((e) => (e as { willRetry: boolean }).willRetry)).toEqual([true, false]);
  });

  it('fetches a file on another origin without the token when requiresAccessToken is false', async () => {
    const file = planned('', { url: `${otherOrigin}/files/foreign.ndjson` });
    const { target: t } = target(file, 'foreign', { requiresAccessToken: false });
    const before = hitsOf('/files/foreign.ndjson').auth.length;
    expect((await downloadVerified(transport, t)).status).toBe('verified');
    expect(hitsOf('/files/foreign.ndjson').auth.slice(before)).toEqual([false]);
  });

  it('refuses to send the token to another origin when requiresAccessToken is true', async () => {
    const before = hitsOf('/files/foreign.ndjson').n;
    const { target: t } = target(planned('', { url: `${otherOrigin}/files/foreign.ndjson` }), 'foreign2');
    await expect(downloadVerified(transport, t)).rejects.toMatchObject({ code: 'ERR_FOREIGN_ORIGIN' });
    expect(hitsOf('/files/foreign.ndjson').n).toBe(before);
  });
});
