/**
 * The export engine bounded against a misbehaving Bulk Data server (issue 12): every case is a small loopback server
 * doing one bad thing, and each ends in a named outcome with nothing unverified under a final name.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DpcError } from '../../src/errors.js';
import { pollUntilComplete, QUARANTINE_DIR, runExport, runOutcomeError, type ExportEvent, type ExportRunOptions, type GroupManifest } from '../../src/export/index.js';
import { QUARANTINE_KEEP_BYTES } from '../../src/export/download.js';
import { cliLines, STACK_LINE } from '../fuzz/check.js';
import { runCli } from '../cli/run-cli.js';
import { parseSize } from '../../src/cli/size.js';
import { completion, lines, sha256, hostileServerPerTest, type FileEntry } from './hostile-server.js';
import { removeTempDirs, tempDir } from './sandbox.js';
import { clientOn } from '../client-on.js';

const server = hostileServerPerTest();

afterAll(async () => {
  await removeTempDirs();
});

interface Outcome {
  out: string;
  events: ExportEvent[];
  error?: DpcError;
  files: string[];
  quarantined: string[];
}

async function exportFrom(over: Partial<ExportRunOptions> & { outDir?: string } = {}, transport = server.transport()): Promise<Outcome> {
  const out = over.outDir ?? (await tempDir('dpc-bounds-'));
  const events: ExportEvent[] = [];
  try {
    const result = await runExport(
      clientOn(transport),
      { target: { kind: 'patient' }, pollIntervalMs: 5, ...over, outDir: out, onEvent: (e) => events.push(e) },
    );
    const manifest = result.groups[0]?.manifest;
    return {
      out,
      events,
      error: runOutcomeError(result),
      files: manifest?.files.map((f) => f.path) ?? [],
      quarantined: manifest?.quarantined.map((q) => q.url) ?? [],
    };
  } catch (error) {
    if (!(error instanceof DpcError)) throw error;
    return { out, events, error, files: [], quarantined: [] };
  } finally {
    await transport.close();
  }
}

/** The failure as the CLI shows it: one line naming `cause`, non-zero exit, no stack, no control characters. */
function expectNamedFailure(error: DpcError | undefined, cause: RegExp): void {
  expect(error, 'the run should have failed').toBeInstanceOf(DpcError);
  const printed = cliLines(error);
  expect(printed.exit).not.toBe(0);
  expect(printed.lines[0]).toMatch(/^(error|partial): \S/);
  expect(printed.lines[0]).toMatch(cause);
  expect(printed.lines.join('\n')).not.toMatch(STACK_LINE);
  // eslint-disable-next-line no-control-regex
  expect(printed.lines.join('\n')).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
}

/** Data files under a final name in the patient folder's run folders. */
async function finalNames(out: string): Promise<string[]> {
  const group = join(out, 'patient');
  if (!existsSync(group)) return [];
  const names: string[] = [];
  for (const run of await readdir(group, { withFileTypes: true })) {
    if (!run.isDirectory()) continue;
    for (const name of await readdir(join(group, run.name))) if (!name.startsWith('.') && name !== 'manifest.json') names.push(name);
  }
  return names.sort();
}

describe('resume is keyed by file identity, not URL', () => {
  it('a manifest listing one URL twice (second checksum wrong): the rerun neither lists it twice nor exits 0', async () => {
    const body = lines(3);
    server.route('/fhir/status', (_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        completion([
          { url: `${server.origin}/files/p.ndjson`, count: 3, sha256: sha256(body) },
          { url: `${server.origin}/files/p.ndjson`, count: 3, sha256: sha256('something else') },
        ]),
      ),
    );
    server.route('/files/', (_req, res) => res.writeHead(200).end(body));

    const first = await exportFrom();
    expectNamedFailure(first.error, /1 file failed verification twice and was quarantined/);
    expect(first.files).toEqual(['Patient-001.ndjson']);
    expect(first.quarantined).toHaveLength(1);

    const rerun = await exportFrom({ outDir: first.out });
    expectNamedFailure(rerun.error, /1 file failed verification twice and was quarantined/);
    expect(rerun.files).toEqual(['Patient-001.ndjson']);
    expect(rerun.quarantined).toHaveLength(1);
    expect(await finalNames(first.out)).toEqual(['Patient-001.ndjson']);
  });
});

const MiB = 1 << 20;

/** A completed job listing one Patient file at `/files/p.ndjson`. */
function oneFileJob(entry: Partial<FileEntry> = {}): void {
  server.route('/fhir/status', (_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(completion([{ url: `${server.origin}/files/p.ndjson`, ...entry }])),
  );
}

/** Write `chunk` as fast as the client reads, until it goes away; returns a counter of the bytes written. */
function endless(res: ServerResponse, chunk: Buffer, sent: { bytes: number }): void {
  const pump = (): void => {
    while (!res.destroyed) {
      sent.bytes += chunk.length;
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
  };
  pump();
}

/** Size of every quarantined file under `out`. */
/** Temp files (`.name.part`) anywhere under `out`: a failed download must not leave one behind. */
async function partFiles(out: string): Promise<string[]> {
  const entries = await readdir(out, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.part')).map((e) => join(e.parentPath, e.name));
}

async function quarantinedSizes(out: string): Promise<number[]> {
  const root = join(out, QUARANTINE_DIR);
  if (!existsSync(root)) return [];
  const files = (await readdir(root, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
  return Promise.all(files.map(async (e) => (await stat(join(e.parentPath, e.name))).size));
}

describe('time bounds', () => {
  it('a job that stays 202 forever fails at maxWaitMs with a named timeout, after a bounded number of polls', async () => {
    server.route('/fhir/status', (_req, res) => res.writeHead(202, { 'x-progress': 'RUNNING: 0.00%' }).end());
    const o = await exportFrom({ maxWaitMs: 300, pollIntervalMs: 50 });
    // the poll loop refuses a wait past the deadline; a request in flight when it passes is stopped by its signal
    expectNamedFailure(o.error, /(export job \S+\/fhir\/status did not complete by the deadline \(maxWaitMs, .*\): it is still in progress|the export did not finish within maxWaitMs \(300 ms, .*\)); rerun the same command to resume it/);
    expect(o.error!.code).toBe('ERR_TIMEOUT');
    expect(server.hits('/fhir/status')).toBeLessThanOrEqual(7);
    expect(await finalNames(o.out)).toEqual([]);
  });

  it('the run\'s signal firing while the poll loop waits ends it as ERR_ABORTED (which the deadline names), not a raw AbortError', async () => {
    server.route('/fhir/status', (_req, res) => res.writeHead(202).end());
    const transport = server.transport();
    const stop = new AbortController();
    // the deadline's timer can fire inside a wait the loop planned to end in time: the signal aborts mid-wait
    const error = await pollUntilComplete(transport, `${server.base}/status`, {
      label: 'patient',
      intervalMs: 60_000,
      signal: stop.signal,
      onEvent: (e) => e.type === 'status_progress' && stop.abort(),
    }).then(() => undefined, (e: unknown) => e).finally(() => transport.close());
    expect(error).toBeInstanceOf(DpcError);
    expect(error).toMatchObject({ code: 'ERR_ABORTED', message: expect.stringMatching(/status\b.* was aborted/) });
    expect(server.hits('/fhir/status')).toBe(1);
  });

  it('polls adaptively: 1 s, then 2 s, not the 20 s interval, for a job done on the third poll', async () => {
    server.route('/fhir/status', (_req, res, hit) => {
      if (hit < 3) res.writeHead(202).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(completion([]));
    });
    const o = await exportFrom({ pollIntervalMs: 20_000 });
    expect(o.error).toBeUndefined();
    expect(o.events.flatMap((e) => (e.type === 'status_progress' ? [e.nextPollMs] : []))).toEqual([1000, 2000]);
  });

  it('a data file trickling a byte at a time fails with a named stall, twice, and nothing reaches a final name', async () => {
    oneFileJob({ count: 3 });
    server.route('/files/', (_req, res) => {
      res.writeHead(200).write('{');
      const timer = setInterval(() => res.write(' '), 10);
      res.on('close', () => clearInterval(timer));
    });
    const o = await exportFrom({}, server.transport({ bodyTimeoutMs: 100, minBodyBytes: 1000 }));
    expectNamedFailure(o.error, /1 file failed verification twice and was quarantined/);
    expect(cliLines(o.error).lines.join('\n')).toMatch(/body of \S+\/files\/p\.ndjson broke after partial transfer \(GET \S+: the body stalled \(\d+ bytes in 0\.1 s, fewer than 1000\)\)/);
    expect(server.hits('/files/')).toBe(2);
    expect(await finalNames(o.out)).toEqual([]);
  });

  it('an unanswered data request costs one retry budget (not one per layer) and names the timeout', async () => {
    oneFileJob({ count: 3 });
    server.route('/files/', () => undefined); // never answers
    const o = await exportFrom({}, server.transport({ headersTimeoutMs: 50, retry: { maxRetries: 2, baseDelayMs: 1 } }));
    expectNamedFailure(o.error, /GET \S+\/files\/p\.ndjson: Headers Timeout Error .*\(after 2 retries\)$/);
    expect(o.error!.code).toBe('ERR_TIMEOUT');
    expect(server.hits('/files/')).toBe(3);
    expect(await finalNames(o.out)).toEqual([]);
  });

  it('a 429 asking to wait a day on data is logged and fails at once: the wait would pass the deadline', async () => {
    oneFileJob({ count: 3 });
    server.route('/files/', (_req, res) => res.writeHead(429, { 'retry-after': '86400' }).end('\u001b[31mcome back tomorrow\u001b[0m'));
    const o = await exportFrom({ maxWaitMs: 3_600_000 });
    expectNamedFailure(o.error, /failed with 429: \\u001b\[31mcome back tomorrow\\u001b\[0m; not retried: waiting 86400 s would pass the deadline \(maxWaitMs\)$/);
    expect(server.hits('/files/')).toBe(1);
  });

  it('a 503-forever status makes exactly as many requests as the message says', async () => {
    server.route('/fhir/status', (_req, res) => res.writeHead(503).end('busy'));
    const o = await exportFrom({}, server.transport({ retry: { maxRetries: 3, baseDelayMs: 1, maxDelayMs: 2 } }));
    const said = Number(/(\d+) status requests in a row failed/.exec(o.error?.message ?? '')?.[1]);
    expectNamedFailure(o.error, /export job \S+ failed: \d+ status requests in a row failed, last: GET \/fhir\/status failed with 503: busy/);
    expect(server.hits('/fhir/status')).toBe(said);
    expect(said).toBe(6); // the poll loop's budget (5 retries) covers the transport's retries too
  });
});

describe('size bounds', () => {
  it('a data file larger than maxFileBytes is stopped there; only a bounded prefix is quarantined', async () => {
    oneFileJob({ count: 3 });
    const sent = { bytes: 0 };
    server.route('/files/', (_req, res) => {
      res.writeHead(200);
      endless(res, Buffer.from(`${'{"resourceType":"Patient"}\n'.repeat(2000)}`), sent);
    });
    const o = await exportFrom({ maxFileBytes: MiB });
    // the headline names the size bound (not "failed verification twice": it was stopped, not retried) and the flag
    expectNamedFailure(o.error, /^error: 1 file was larger than maxFileBytes and was quarantined; raise maxFileBytes to accept it \(--max-file-size\)$/);
    expect(cliLines(o.error).lines.join('\n')).toMatch(/body of \S+\/files\/p\.ndjson is larger than maxFileBytes \(1048576 bytes uncompressed\); stopped there/);
    expect(server.hits('/files/')).toBe(1); // an oversize body is not asked for again
    expect(await quarantinedSizes(o.out)).toEqual([expect.any(Number)]);
    expect((await quarantinedSizes(o.out))[0]).toBeLessThanOrEqual(MiB);
    expect(sent.bytes).toBeLessThan(64 * MiB);
    expect(await finalNames(o.out)).toEqual([]);
    expect(await partFiles(o.out)).toEqual([]);
  });

  it('a gzip bomb declared as 76 bytes (file_length) stops at the declared length, with or without --gzip', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * MiB, 0x20));
    oneFileJob({ count: 3, fileLength: 76 });
    server.route('/files/', (_req, res) => res.writeHead(200, { 'content-encoding': 'gzip' }).end(bomb));
    for (const gzip of [true, false]) {
      const o = await exportFrom({ gzip });
      expectNamedFailure(o.error, /^error: 1 file was larger than the manifest's file_length and was quarantined; the server sent more than it declared$/);
      expect(cliLines(o.error).lines.join('\n')).toMatch(/is larger than the manifest's file_length of 76 gzip bytes; stopped there/);
      // the first chunk past the bound is not written, so the prefix kept may be empty, and then no file is kept
      const kept = await quarantinedSizes(o.out);
      expect(kept.length).toBeLessThanOrEqual(1);
      for (const size of kept) {
        expect(size).toBeGreaterThan(0);
        expect(size).toBeLessThanOrEqual(76);
      }
      expect(await finalNames(o.out)).toEqual([]);
      expect(await partFiles(o.out)).toEqual([]);
    }
  });

  it('an undeclared gzip bomb stops at maxFileBytes of content', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * MiB, 0x20));
    oneFileJob({ count: 3 });
    server.route('/files/', (_req, res) => res.writeHead(200, { 'content-encoding': 'gzip' }).end(bomb));
    const o = await exportFrom({ gzip: true, maxFileBytes: MiB });
    expectNamedFailure(o.error, /^error: 1 file was larger than maxFileBytes and was quarantined/);
    expect(cliLines(o.error).lines.join('\n')).toMatch(/is larger than maxFileBytes \(1048576 bytes uncompressed\); stopped there/);
    expect(await finalNames(o.out)).toEqual([]);
  });

  it('a file failing its checksum keeps only a bounded prefix in quarantine', async () => {
    const big = Buffer.alloc(QUARANTINE_KEEP_BYTES + MiB, 0x0a);
    oneFileJob({ sha256: sha256('other') });
    server.route('/files/', (_req, res) => res.writeHead(200).end(big));
    const o = await exportFrom();
    expect(cliLines(o.error).lines.join('\n')).toMatch(new RegExp(`quarantined the first ${QUARANTINE_KEEP_BYTES} of ${big.length} bytes`));
    expect(await quarantinedSizes(o.out)).toEqual([QUARANTINE_KEEP_BYTES]);
  });

  it('an endless job status body is refused while streaming, not read into memory', async () => {
    const sent = { bytes: 0 };
    server.route('/fhir/status', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).write('{"transactionTime":"');
      endless(res, Buffer.alloc(64 * 1024, 0x61), sent);
    });
    const o = await exportFrom();
    expectNamedFailure(o.error, /GET \S+\/fhir\/status: the response body is larger than 16777216 bytes; refusing to read it/);
    expect(sent.bytes).toBeLessThan(300 * MiB);
  });

  it('a 20 MiB reason in an error file is truncated with a marker in manifest.json and the CLI output', async () => {
    const reason = `\u001b]0;owned\u0007${'r'.repeat(20 * MiB)}`;
    const line = `${JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception', details: { text: reason }, location: ['Patient', 'id', '1S00E00AA00'] }] })}\n`;
    server.route('/fhir/status', (_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(completion([], [{ type: 'OperationOutcome', url: `${server.origin}/files/errors.ndjson`, count: 1 }])),
    );
    server.route('/files/', (_req, res) => res.writeHead(200).end(line));
    const o = await exportFrom();
    expectNamedFailure(o.error, /1 patient/);
    const manifest = JSON.parse(await readFile(join(o.out, 'patient', await onlyRun(o.out), 'manifest.json'), 'utf8')) as GroupManifest;
    const stored = manifest.errors.reasons[0]!.reason;
    expect(stored).toMatch(new RegExp(`^\\\\u001b\\]0;owned\\\\u0007r+… \\[truncated, ${reason.length} characters\\]$`));
    expect(stored.length).toBeLessThan(1000);
    expect(cliLines(o.error).lines.join('\n').length).toBeLessThan(2000);
  });
});

async function onlyRun(out: string): Promise<string> {
  const runs = (await readdir(join(out, 'patient'), { withFileTypes: true })).filter((e) => e.isDirectory());
  expect(runs).toHaveLength(1);
  return runs[0]!.name;
}

describe('the CLI, unattended', () => {
  async function dpc(...args: string[]) {
    const home = await tempDir('dpc-bounds-home-');
    return runCli(args, { env: { HOME: home, DPC_CONFIG: join(home, 'config.json'), DPC_BASE_URL: server.base, DPC_AUTH: 'none' } });
  }

  it('--max-wait: a job that stays 202 forever exits 1 naming the deadline, the retries logged as NDJSON lines', async () => {
    let polls = 0;
    server.route('/fhir/status', (_req, res) => {
      // one throttled poll (logged as a retry line), then in progress forever
      if (++polls === 1) res.writeHead(429, { 'retry-after': '0' }).end();
      else res.writeHead(202, { 'x-progress': 'RUNNING: 0.00%' }).end();
    });
    const out = await tempDir('dpc-bounds-');
    const { code, stderr, stdout } = await dpc('export', 'run', '--patient-level', '--out', out, '--max-wait', '400ms', '--poll-interval', '50ms');
    expect(code).toBe(1);
    expect(stdout).toBe('');
    const records = stderr.trimEnd().split('\n').map((l) => JSON.parse(l) as { eventId: string; message?: string; status?: number });
    expect(records.filter((r) => r.eventId === 'retry')).toEqual([expect.objectContaining({ status: 429 })]);
    expect(records.at(-1)).toMatchObject({ eventId: 'error', message: expect.stringMatching(/did not (complete by the deadline \(|finish within )maxWaitMs/) });
    // eslint-disable-next-line no-control-regex
    expect(stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  });

  it('--max-file-size: an endless data file is stopped there and quarantined, exit 1', async () => {
    oneFileJob({ count: 1 });
    server.route('/files/', (_req, res) => {
      res.writeHead(200);
      endless(res, Buffer.alloc(64 * 1024, 0x0a), { bytes: 0 });
    });
    const out = await tempDir('dpc-bounds-');
    const { code, stderr } = await dpc('export', 'run', '--patient-level', '--out', out, '--max-file-size', '1MiB', '--poll-interval', '50ms');
    expect(code).toBe(1);
    expect(stderr).toMatch(/is larger than maxFileBytes \(1048576 bytes uncompressed\); stopped there/);
    expect((await quarantinedSizes(out))[0]).toBeLessThanOrEqual(MiB);
    expect(await finalNames(out)).toEqual([]);
  });

  it('bad bounds are usage errors naming the option', async () => {
    expect(parseSize('4GiB', 'maxFileSize')).toBe(4 * 1024 * MiB);
    expect(parseSize('1048576', 'maxFileSize')).toBe(MiB);
    expect(parseSize('1.5 KiB', 'maxFileSize')).toBe(1536);
    // one rule for every size flag: units are binary however they are written (DuckDB's memory limit reads them so)
    for (const same of ['4GB', '4G', '4gib', '4 GiB']) expect(parseSize(same, 'maxFileSize')).toBe(4 * 1024 * MiB);
    expect(() => parseSize('32MB', 'memoryLimitBytes', 64 * MiB)).toThrow(/^memoryLimitBytes: invalid size "32MB" of at least 64MiB/);
    for (const bad of ['0', 'lots', '4XB', '4GiBs', '-1MiB', '']) expect(() => parseSize(bad, 'maxFileSize')).toThrow(/^maxFileSize: invalid size/);
    const { code, stderr } = await dpc('export', 'run', '--patient-level', '--max-wait', 'soon');
    expect(code).toBe(2);
    expect(JSON.parse(stderr)).toMatchObject({ eventId: 'error', code: 'ERR_USAGE', message: expect.stringMatching(/^--max-wait: invalid duration "soon"/) });
    const size = await dpc('export', 'run', '--patient-level', '--max-file-size', '4XB');
    expect(size.code).toBe(2);
    expect(JSON.parse(size.stderr)).toMatchObject({ eventId: 'error', code: 'ERR_USAGE', message: expect.stringMatching(/^--max-file-size: invalid size "4XB"/) });
  });
});
