/**
 * One verified file download: stream the body into a temp file in the group folder while hashing and counting the raw
 * bytes, check against the manifest, fsync and rename into place. A broken body or a mismatch is retried once from
 * scratch (DPC's Range is non-standard, so no resume: dependency notes §3), then the bytes are quarantined.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable, Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { DpcError, isDpcError } from '../errors.js';
import { headerValue, type Transport } from '../transport/index.js';
import { redactUrl } from '../redact.js';
import type { ExportEventHandler } from './events.js';
import { commitFile, ensurePrivateDir, FILE_MODE, io, tempPathFor } from '../fs.js';
import { verifyAgainst, type Measured, type PlannedFile } from './manifest.js';
import { discard, Meter, STAGE_BUFFER_BYTES, Tee } from './meter.js';

export interface DownloadTarget {
  label: string;
  file: PlannedFile;
  /** The run folder the verified file lands in. */
  dir: string;
  /** Where this run's failed bytes are kept aside. */
  quarantineDir: string;
  /** Keep the server's gzip bytes on disk (`<name>.gz`). */
  gzip: boolean;
  requiresAccessToken: boolean;
  signal?: AbortSignal;
  onEvent?: ExportEventHandler;
  /**
   * Called with the verified file before it is renamed to its final name, so a crash between the two leaves a
   * record of a file that is missing (downloaded again on resume), never a final-named file nobody recorded.
   */
  beforeCommit?: (file: VerifiedFile) => Promise<void>;
}

/** A verified file as recorded in state and manifest. */
export interface VerifiedFile {
  url: string;
  type: string;
  kind: PlannedFile['kind'];
  /** Local file name inside the run folder. */
  path: string;
  /** Uncompressed bytes and their SHA-256. */
  bytes: number;
  sha256: string;
  /** Resources (newline-terminated lines). */
  count: number;
  /** Size on disk when kept gzip-compressed. */
  gzipBytes?: number;
}

export type DownloadOutcome =
  | { status: 'verified'; file: VerifiedFile }
  | { status: 'quarantined'; url: string; type: string; kind: PlannedFile['kind']; path: string; problems: string[] };

const ATTEMPTS = 2;

export async function downloadVerified(transport: Transport, target: DownloadTarget): Promise<DownloadOutcome> {
  const { file, label } = target;
  for (let attempt = 1; ; attempt++) {
    const final = attempt === ATTEMPTS;
    let failed: { problems: string[]; temp?: string; requestId?: string };
    try {
      const result = await attemptDownload(transport, target, attempt);
      if (result.problems.length === 0) return await commit(result, target);
      failed = result;
    } catch (error) {
      // a body that broke mid-stream is retried and then kept aside; a request that never got a response (the
      // transport already retried it) gets one more try and otherwise fails the run, which a rerun resumes
      const broken = error instanceof BodyFailure;
      if (!broken && (final || !(isDpcError(error, 'ERR_NETWORK') || isDpcError(error, 'ERR_TIMEOUT')))) throw error;
      failed = { problems: [(error as Error).message], temp: broken ? error.temp : undefined, requestId: broken ? error.requestId : undefined };
    }
    const quarantinedAt = final && failed.temp !== undefined ? await quarantine(failed.temp, target) : undefined;
    target.onEvent?.({
      type: 'download_error',
      label,
      url: redactUrl(file.url),
      file: file.name,
      message: failed.problems.join('; '),
      willRetry: !final,
      quarantinedAt,
      requestId: failed.requestId,
    });
    if (final) {
      return { status: 'quarantined', url: file.url, type: file.type, kind: file.kind, path: quarantinedAt ?? '', problems: failed.problems };
    }
  }
}

async function commit(result: Attempt, target: DownloadTarget): Promise<DownloadOutcome> {
  const { file, label } = target;
  const { sha256, bytes, lines, gzipBytes } = result.measured;
  const verified: VerifiedFile = {
    url: file.url,
    type: file.type,
    kind: file.kind,
    path: result.name,
    bytes,
    sha256,
    count: lines,
    ...(gzipBytes === undefined ? {} : { gzipBytes }),
  };
  await target.beforeCommit?.(verified);
  await commitFile(result.temp, join(target.dir, result.name));
  target.onEvent?.({
    type: 'download_complete',
    label,
    url: redactUrl(file.url),
    file: result.name,
    bytes,
    resources: lines,
    skipped: false,
    requestId: result.requestId,
  });
  return { status: 'verified', file: verified };
}

interface Attempt {
  temp: string;
  name: string;
  measured: Measured;
  problems: string[];
  requestId?: string;
}

/** A body that broke mid-stream; carries the temp file so the partial bytes can be kept aside. */
class BodyFailure extends DpcError {
  constructor(
    message: string,
    readonly temp: string,
    cause: unknown,
    requestId: string | undefined,
  ) {
    super('ERR_NETWORK', message, { cause, requestId });
  }
}

async function attemptDownload(transport: Transport, target: DownloadTarget, attempt: number): Promise<Attempt> {
  const { file, label } = target;
  const url = transport.resolve(file.url);
  const sameOrigin = url.origin === transport.origin;
  const response = await transport.stream({
    path: url.href,
    // the transport refuses to send the token off-origin; only an explicit requiresAccessToken:false lets us go tokenless
    auth: sameOrigin || target.requiresAccessToken,
    accept: url.pathname.includes('/Data/') ? undefined : 'application/fhir+ndjson',
    headers: target.gzip ? { 'accept-encoding': 'gzip' } : undefined,
    signal: target.signal,
  });
  target.onEvent?.({ type: 'download_request', label, url: redactUrl(file.url), file: file.name, attempt, requestId: response.requestId });
  const gzipped = /\bgzip\b/i.test(headerValue(response.headers['content-encoding']) ?? '');
  const keepGzip = target.gzip && gzipped;
  const name = keepGzip ? `${file.name}.gz` : file.name;
  const temp = tempPathFor(join(target.dir, name));
  const progress = (n: number): void => target.onEvent?.({ type: 'download_progress', label, file: name, bytes: n });

  await ensurePrivateDir(target.dir);
  await io(temp, 'prepare', () => rm(temp, { force: true }));
  const sink = createWriteStream(temp, { mode: FILE_MODE, flags: 'wx', highWaterMark: STAGE_BUFFER_BYTES });
  let measured: Measured;
  try {
    measured = keepGzip
      ? await streamKeepingGzip(response.body, sink, progress, target.signal)
      : await streamPlain(response.body, sink, gzipped, progress, target.signal);
  } catch (cause) {
    response.body.destroy();
    if (target.signal?.aborted) {
      await rm(temp, { force: true });
      throw new DpcError('ERR_ABORTED', `download of ${file.name} was aborted`, { cause });
    }
    if (isFsError(cause)) throw new DpcError('ERR_IO', `write ${temp}: ${(cause as NodeJS.ErrnoException).code}`, { cause, location: temp });
    const reason = (cause as { code?: string }).code ?? (cause as Error).message;
    throw new BodyFailure(`body of ${redactUrl(file.url)} broke after partial transfer (${reason})`, temp, cause, response.requestId);
  }
  return { temp, name, measured, problems: verifyAgainst(file, measured), requestId: response.requestId };
}

/** Uncompressed on disk: body [→ gunzip if the server compressed anyway] → meter → file. */
async function streamPlain(body: Readable, sink: Writable, gzipped: boolean, progress: (n: number) => void, signal?: AbortSignal): Promise<Measured> {
  const meter = new Meter(progress);
  if (gzipped) await pipeline(body, createGunzip({ chunkSize: STAGE_BUFFER_BYTES }), meter, sink, { signal });
  else await pipeline(body, meter, sink, { signal });
  return { sha256: meter.sha256, bytes: meter.bytes, lines: meter.lines };
}

/** Gzip on disk: the compressed bytes go to the file while a tee gunzips a copy to hash and count the content. */
async function streamKeepingGzip(body: Readable, sink: Writable, progress: (n: number) => void, signal?: AbortSignal): Promise<Measured> {
  const gunzip = createGunzip({ chunkSize: STAGE_BUFFER_BYTES });
  const meter = new Meter();
  const tee = new Tee(gunzip, progress);
  const branch = pipeline(gunzip, meter, discard());
  const main = pipeline(body, tee, sink, { signal }).catch((error: unknown) => {
    gunzip.destroy(error as Error);
    throw error;
  });
  await Promise.all([main, branch]);
  return { sha256: meter.sha256, bytes: meter.bytes, lines: meter.lines, gzipBytes: tee.bytes };
}

async function quarantine(temp: string, target: DownloadTarget): Promise<string | undefined> {
  const dest = join(target.quarantineDir, target.file.name);
  await ensurePrivateDir(target.quarantineDir);
  try {
    await rename(temp, dest);
    return dest;
  } catch {
    return undefined; // nothing was written (the body broke before the first byte)
  }
}

/** System calls of the temp file's write stream; a socket fails in `read` (or undici wraps it), zlib has none. */
const FILE_SYSCALLS = new Set(['open', 'write', 'writev', 'fsync', 'close']);

/**
 * A failure of the local file, not of the body: open errors name a path, but a write's (ENOSPC, EIO, EDQUOT) carries
 * only its syscall, so both count. Such a failure stops the run (ERR_IO) instead of a retry that cannot help.
 */
function isFsError(error: unknown): boolean {
  const { path, syscall } = error as NodeJS.ErrnoException;
  return typeof path === 'string' || (syscall !== undefined && FILE_SYSCALLS.has(syscall));
}
