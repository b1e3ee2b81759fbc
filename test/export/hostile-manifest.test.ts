/**
 * What a hostile Bulk Data server says about a job (its Content-Location, its manifest, its status headers, how it
 * encodes a file) is checked before anything is requested or stored: every case is a small loopback server, and each
 * ends in one line naming the field, with no request made or file kept on the strength of the bad value.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import type { ServerResponse } from 'node:http';
import { DpcError } from '../../src/errors.js';
import { kickoff, pollOnce } from '../../src/export/job.js';
import { MAX_MANIFEST_FILES, parseCompletion } from '../../src/export/manifest.js';
import { runExport, runOutcomeError, type ExportEvent, type GroupManifest } from '../../src/export/index.js';
import { MAX_DETAILS } from '../../src/export/run.js';
import { cappedLines, MAX_DISTINCT_REASONS, MAX_LISTED_PATIENTS, OTHER_MESSAGES, OTHER_REASONS, summariseErrorFiles } from '../../src/export/outcomes.js';
import { MAX_SERVER_URL_CHARS } from '../../src/transport/server-url.js';
import { completion, lines, hostileServerPerTest } from './hostile-server.js';
import { removeTempDirs, tempDir } from './sandbox.js';
import { clientOn } from '../client-on.js';

const server = hostileServerPerTest();
afterAll(async () => {
  await removeTempDirs();
});

const json = (body: string) => (_req: unknown, res: ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).end(body);

/** Headers written as raw bytes: node:http refuses to send control characters, a hostile server need not. */
function rawReply(res: ServerResponse, head: string, body = ''): void {
  res.socket!.end(Buffer.from(`${head}\r\ncontent-length: ${body.length}\r\n\r\n${body}`, 'latin1'));
}

async function exportFrom(): Promise<{ error?: DpcError; events: ExportEvent[]; manifestPath?: string; out: string }> {
  const transport = server.transport();
  const events: ExportEvent[] = [];
  const out = await tempDir('dpc-hostile-manifest-');
  try {
    const result = await runExport(clientOn(transport), { target: { kind: 'patient' }, pollIntervalMs: 5, outDir: out, onEvent: (e) => events.push(e) });
    return { error: runOutcomeError(result), events, manifestPath: result.groups[0]?.manifestPath, out };
  } catch (error) {
    if (!(error instanceof DpcError)) throw error;
    return { error, events, out };
  } finally {
    await transport.close();
  }
}

describe("the kick-off's Content-Location", () => {
  it.each([
    ['javascript:', 'javascript:alert(1)', 'is not an http(s) URL (javascript:)'],
    ['file:', 'file:///etc/passwd', 'is not an http(s) URL (file:)'],
    ['data:', 'data:,status', 'is not an http(s) URL (data:)'],
    ['with a password', 'http://user:secret@HOST/fhir/status', 'carries a user name or password'],
    ['absurdly long', `/fhir/status?${'a'.repeat(MAX_SERVER_URL_CHARS)}`, `is longer than ${MAX_SERVER_URL_CHARS} characters`],
  ])('%s is refused before it is polled', async (_, location, problem) => {
    server.route('/fhir/Patient/$export', (_req, res) => res.writeHead(202, { 'content-location': location.replace('HOST', server.origin.slice(7)) }).end());
    const failure = await kickoff(server.transport(), { scope: { level: 'patient' } }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DpcError);
    expect((failure as DpcError).code).toBe('ERR_HTTP');
    expect((failure as DpcError).message).toContain(`answered 202 with a Content-Location header that ${problem}`);
    expect((failure as DpcError).message).not.toContain('secret');
    expect((failure as DpcError).message.length).toBeLessThan(500);
    expect(server.seen).toHaveLength(1);
  });
});

describe('the manifest', () => {
  it.each([
    ['file:', 'file:///etc/passwd', 'is not an http(s) URL (file:)'],
    ['data:', 'data:application/fhir+ndjson,{}', 'is not an http(s) URL (data:)'],
    ['javascript:', 'javascript:1', 'is not an http(s) URL (javascript:)'],
    ['with a password', 'http://user:secret@HOST/data/1', 'carries a user name or password'],
    ['with a newline and a bidi override', 'http://HOST/data/1\n\u202e', 'holds spaces or control characters'],
  ])('a file url %s is refused: nothing is downloaded', async (_, url, problem) => {
    server.route('/fhir/status', json(completion([{ url: url.replace('HOST', server.origin.slice(7)), count: 1 }])));
    const { error } = await exportFrom();
    expect(error?.code).toBe('ERR_HTTP');
    expect(error?.message).toMatch(new RegExp(`output\\[0\\]: unexpected completion body: "url" ".*" ${problem.replace(/[()]/g, '\\$&')}`));
    expect(error?.message).not.toContain('secret');
    expect(server.seen.map((p) => p.split('?')[0])).toEqual(['/fhir/Patient/$export', '/fhir/status']);
  });

  it("a status URL's token is masked in the message about a body that is not JSON", async () => {
    server.route('/fhir/status', (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>'));
    const failure = await pollOnce(server.transport(), `${server.base}/status?token=secret-status-token`).catch((error: unknown) => error);
    expect((failure as DpcError).message).toBe(`${server.base}/status?token=REDACTED answered 200 with a body that is not JSON`);
  });

  it('a next page on a file: URL is refused, not asked of the server', async () => {
    const body = JSON.parse(completion([{ url: `${server.origin}/data/1` }])) as Record<string, unknown>;
    server.route('/fhir/status', json(JSON.stringify({ ...body, link: [{ relation: 'next', url: 'file:///etc/passwd' }] })));
    const failure = await pollOnce(server.transport(), `${server.base}/status`).catch((error: unknown) => error);
    expect((failure as DpcError).message).toMatch(/unexpected completion body: the "next" link "file:\/\/\/etc\/passwd" is not an http\(s\) URL \(file:\)/);
  });

  it(`one page listing more than ${MAX_MANIFEST_FILES} files is refused before any download`, async () => {
    const entries = Array.from({ length: MAX_MANIFEST_FILES + 1 }, () => ({ type: 'Patient', url: '/d' }));
    server.route('/fhir/status', json(JSON.stringify({ transactionTime: '2025-01-01T00:00:00Z', request: 'x', output: entries })));
    const { error } = await exportFrom();
    expect(error?.code).toBe('ERR_HTTP');
    expect(error?.message).toContain(`unexpected completion body: it lists ${MAX_MANIFEST_FILES + 1} files, more than ${MAX_MANIFEST_FILES}`);
    expect(server.hits('/d')).toBe(0);
  });

  it.each([
    ['a negative count', { count: -4 }, '"count" -4 is not a whole number ≥ 0'],
    ['a fractional count', { count: 2.5 }, '"count" 2.5 is not a whole number ≥ 0'],
    ['a count as text', { count: '3' }, '"count" "3" is not a whole number ≥ 0'],
    ['a negative file_length', { extension: [{ url: 'https://dpc.cms.gov/file_length', valueDecimal: -5 }] }, 'file_length -5 is not a whole number ≥ 0'],
    ['a fractional file_length', { extension: [{ url: 'https://dpc.cms.gov/file_length', valueDecimal: 1.5 }] }, 'file_length 1.5 is not a whole number ≥ 0'],
    ['a file_length as text', { extension: [{ url: 'https://dpc.cms.gov/file_length', valueString: '12' }] }, 'file_length undefined is not a whole number ≥ 0'],
    ['a checksum that is not text', { extension: [{ url: 'https://dpc.cms.gov/checksum', valueString: 42 }] }, 'checksum 42 is not sha256:<64 hex>'],
    ['a short checksum', { extension: [{ url: 'https://dpc.cms.gov/checksum', valueString: 'sha256:abc' }] }, 'checksum "sha256:abc" is not sha256:<64 hex>'],
    ['a huge checksum', { extension: [{ url: 'https://dpc.cms.gov/checksum', valueString: `sha256:${'z'.repeat(100_000)}` }] }, 'checksum "sha256:zzz'],
  ])('%s is a malformed manifest, not a promise dropped or a bogus bound', (_, fields, message) => {
    const body = { transactionTime: '2025-01-01T00:00:00Z', output: [{ type: 'Patient', url: '/d', ...fields }] };
    const failure = (() => {
      try {
        parseCompletion(body, 'http://x/status');
      } catch (error) {
        return error;
      }
    })();
    expect(failure).toBeInstanceOf(DpcError);
    expect((failure as DpcError).message).toContain(`output[0]: unexpected completion body: ${message}`);
    expect((failure as DpcError).message.length).toBeLessThan(300);
  });

  it("a file_length of -5 on a real server fails the job in one line, with no download (it was a 'larger than -5 bytes' quarantine)", async () => {
    server.route('/fhir/status', json(JSON.stringify({ transactionTime: '2025-01-01T00:00:00Z', output: [{ type: 'Patient', url: `${server.origin}/data/1`, extension: [{ url: 'https://dpc.cms.gov/file_length', valueDecimal: -5 }] }] })));
    server.route('/data', (_req, res) => res.end(lines(1)));
    const { error } = await exportFrom();
    expect(error?.code).toBe('ERR_HTTP');
    expect(error?.message).toContain('file_length -5 is not a whole number ≥ 0');
    expect(server.hits('/data')).toBe(0);
  });

  it("the server's request echo reaches manifest.json on one line, escaped and bounded", async () => {
    const echo = `${server.base}/Patient/$export\u001b]0;pwned\u0007\u009b31m\n${'x'.repeat(50_000)}`;
    server.route('/fhir/status', json(JSON.stringify({ ...JSON.parse(completion([{ url: `${server.origin}/data/1`, count: 1 }])), request: echo })));
    server.route('/data', (_req, res) => res.end(lines(1)));
    const { error, manifestPath } = await exportFrom();
    expect(error).toBeUndefined();
    const request = (JSON.parse(await readFile(manifestPath!, 'utf8')) as { request: string }).request;
    expect(request.startsWith(`${server.base}/Patient/$export\\u001b]0;pwned\\u0007\\u009b31m x`)).toBe(true);
    expect(request.length).toBeLessThan(MAX_SERVER_URL_CHARS + 100);
    expect(request).toMatch(/… \[truncated, 50\d\d\d characters\]$/);
  });
});

describe('status headers that are printed', () => {
  it('X-Progress and Expires with C1 terminal controls and 10 KB of text arrive escaped and short', async () => {
    // undici refuses C0 controls in a header (Invalid header value char), but lets C1 controls through as Latin-1
    const noise = `\u009b2J\u009d0;pwned\u009c${'y'.repeat(10_000)}`;
    server.route('/fhir/status', (_req, res) => rawReply(res, `HTTP/1.1 202 Accepted\r\nx-progress: ${noise}`));
    const transport = server.transport();
    const running = await pollOnce(transport, `${server.base}/status`);
    expect(running.state).toBe('in-progress');
    const progress = running.state === 'in-progress' ? running.progress! : '';
    expect(progress.startsWith('\\u009b2J\\u009d0;pwned\\u009cyyy')).toBe(true);
    expect(progress.length).toBeLessThan(300);
    // eslint-disable-next-line no-control-regex
    expect(progress).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);

    server.route('/fhir/status', (_req, res) => rawReply(res, `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nexpires: ${noise}`, completion([])));
    const done = await pollOnce(transport, `${server.base}/status`);
    const expires = done.state === 'complete' ? done.expires! : '';
    expect(expires.length).toBeLessThan(300);
    // eslint-disable-next-line no-control-regex
    expect(expires).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    await transport.close();
  });
});

describe('status answers that are not followed or kept raw', () => {
  it('a redirect is reported with where it pointed, and not followed', async () => {
    server.route('/fhir/status', (_req, res) => res.writeHead(302, { location: 'http://127.0.0.2:9/elsewhere?token=secret' }).end());
    const failure = await pollOnce(server.transport(), `${server.base}/status`).catch((error: unknown) => error);
    expect((failure as DpcError).message).toBe('GET /fhir/status failed with 302: HTTP 302 (a redirect to http://127.0.0.2:9/elsewhere?token=REDACTED, not followed)');
    expect(server.seen).toEqual(['/fhir/status']);
  });

  it('a 202 whose body is not JSON (the spec gives it none) is still in progress, not a failed job', async () => {
    server.route('/fhir/status', (_req, res, hit) =>
      hit === 1 ? res.writeHead(202, { 'content-type': 'text/html', 'retry-after': '0' }).end('<html>still working</html>') : json(completion([]))(_req, res));
    const { error, events } = await exportFrom();
    expect(error).toBeUndefined();
    expect(events.map((e) => e.type)).toContain('status_progress');
  });

  it('an X-Request-Id with C1 controls and 10 KB of text is kept escaped and short', async () => {
    const id = `\u009b2J${'r'.repeat(10_000)}`;
    server.route('/fhir/status', (_req, res) => rawReply(res, `HTTP/1.1 500 Internal Server Error\r\nx-request-id: ${id}`));
    const failure = (await pollOnce(server.transport({ retry: { maxRetries: 0 } }), `${server.base}/status`).catch((error: unknown) => error)) as DpcError;
    expect(failure.requestId!.startsWith('\\u009b2Jrrr')).toBe(true);
    expect(failure.requestId!.length).toBeLessThan(150);
  });
});

/** NDJSON files under a final name in the run folders of the patient export in `out`. */
async function dataFilesIn(out: string): Promise<string[]> {
  const runs = await readdir(`${out}/patient`).catch(() => []);
  const names = await Promise.all(runs.map(async (run) => (await readdir(`${out}/patient/${run}`)).filter((name) => name.endsWith('.ndjson'))));
  return names.flat();
}

describe('data bodies', () => {
  const data = lines(3);
  it.each([
    ['br', brotliCompressSync(data)],
    ['deflate', deflateSync(data)],
    ['compress', Buffer.from(data)],
    ['gzip, gzip', gzipSync(gzipSync(data))],
  ])('Content-Encoding %s (never asked for) fails the file instead of storing undecoded bytes as NDJSON', async (encoding, body) => {
    // a generic server: no checksum and no count that would catch the bytes afterwards
    server.route('/fhir/status', json(completion([{ url: `${server.origin}/data/1` }])));
    server.route('/data', (_req, res) => res.writeHead(200, { 'content-encoding': encoding }).end(body));
    const { error, out } = await exportFrom();
    expect(error?.code).toBe('ERR_HTTP');
    expect(error?.message).toMatch(new RegExp(`^GET http://127\\.0\\.0\\.1:\\d+/data/1 answered with Content-Encoding "${encoding}": only gzip is read`));
    expect(await dataFilesIn(out)).toEqual([]);
  });

  it.each([[206], [204]])('a %s answer to a file request fails it instead of storing a part or nothing as the file', async (status) => {
    server.route('/fhir/status', json(completion([{ url: `${server.origin}/data/1` }])));
    server.route('/data', (_req, res) => res.writeHead(status, status === 206 ? { 'content-range': `bytes 0-9/${data.length}` } : {}).end(status === 206 ? data.slice(0, 10) : undefined));
    const { error, out } = await exportFrom();
    expect(error?.code).toBe('ERR_HTTP');
    expect(error?.message).toMatch(new RegExp(`^GET /data/1 failed with ${status}`));
    expect(await dataFilesIn(out)).toEqual([]);
  });

  it.each([['identity'], ['x-gzip'], ['GZIP']])('Content-Encoding %s is read as before', async (encoding) => {
    server.route('/fhir/status', json(completion([{ url: `${server.origin}/data/1`, count: 3 }])));
    server.route('/data', (_req, res) => res.writeHead(200, { 'content-encoding': encoding }).end(encoding === 'identity' ? data : gzipSync(data)));
    const { error, manifestPath } = await exportFrom();
    expect(error).toBeUndefined();
    expect((JSON.parse(await readFile(manifestPath!, 'utf8')) as { files: Array<{ count: number }> }).files.map((f) => f.count)).toEqual([3]);
  });
});

describe('error files', () => {
  it('an error file with a distinct reason per line keeps at most the capped reasons, messages and patient ids; every issue is still counted', async () => {
    const patients = MAX_LISTED_PATIENTS + 10;
    const extra = 50;
    const outcome = (issue: Record<string, unknown>) => `${JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception', ...issue }] })}\n`;
    const body = [
      ...Array.from({ length: patients }, (_, i) => outcome({ details: { text: i < MAX_DISTINCT_REASONS + extra ? `reason ${i}` : 'common' }, location: ['Patient', 'id', `P${i}`] })),
      ...Array.from({ length: MAX_DISTINCT_REASONS + extra }, (_, i) => outcome({ diagnostics: `message ${i}` })),
    ].join('');
    server.route('/fhir/status', json(completion([], [{ url: `${server.origin}/errors/1`, type: 'OperationOutcome' }])));
    server.route('/errors', (_req, res) => res.end(body));
    const { error, manifestPath } = await exportFrom();
    // the outcome lists a page of them; manifest.json holds them all
    expect(error?.code).toBe('ERR_PARTIAL');
    expect(error?.details).toHaveLength(MAX_DETAILS + 1);
    expect(error?.details.at(-1)).toBe(`… and ${2 * (MAX_DISTINCT_REASONS + 1) - MAX_DETAILS} more in manifest.json`);
    const { errors } = JSON.parse(await readFile(manifestPath!, 'utf8')) as GroupManifest;
    expect(errors.total).toBe(patients);
    expect(errors.reasons).toHaveLength(MAX_DISTINCT_REASONS + 1);
    expect(errors.reasons.find((r) => r.reason === OTHER_REASONS)?.count).toBe(patients - MAX_DISTINCT_REASONS);
    expect(errors.reasons.reduce((n, r) => n + r.patients.length, 0)).toBe(MAX_LISTED_PATIENTS);
    expect(errors.serverMessages).toHaveLength(MAX_DISTINCT_REASONS + 1);
    expect(errors.serverMessages!.find((m) => m.message === OTHER_MESSAGES)?.count).toBe(extra);
  });

  it('an error file holding one 600 MiB line (600 KiB as gzip members) is summarised in bounded memory, not a crash', async () => {
    // readline built the whole line: past 512 MiB, "RangeError: Invalid string length" thrown where nothing could catch it
    const member = gzipSync(Buffer.alloc(1 << 20, 0x61));
    const path = `${await tempDir('dpc-long-line-')}/OperationOutcome-001.ndjson.gz`;
    await writeFile(path, Buffer.concat([...Array.from({ length: 600 }, () => member), gzipSync('\n')]));
    expect((await summariseErrorFiles([path])).serverMessages).toEqual([{ message: 'OperationOutcome line longer than 33554432 characters', count: 1 }]);
  });

  it('cappedLines splits at LF, drops a CR before it, and cuts a long line to max + 1 bytes', async () => {
    const source = Readable.from([Buffer.from('ab\r\ncdefghij'), Buffer.from('klm\n\nlast')]);
    const lines: string[] = [];
    for await (const line of cappedLines(source, 4)) lines.push(line);
    expect(lines).toEqual(['ab', 'cdefg', '', 'last']);
  });
});

