/**
 * One verified file download: stream the body into a temp file in the group folder while hashing and counting the raw
 * bytes, check against the manifest, fsync and rename into place. A broken body or a mismatch is retried once from
 * scratch (DPC's Range is non-standard, so no resume: dependency notes §3), then a bounded prefix of the bytes is
 * quarantined. A body may not grow past what the manifest declares (gzip bytes on the wire against `file_length`) or
 * past `maxFileBytes` uncompressed; one retry budget covers the transport's retries and the second attempt.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable, Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { DpcError, isDpcError } from '../errors.js';
import { headerValue } from '../transport/negotiation.js';
import { serverText } from '../transport/error-body.js';
import type { RetryBudget, Transport } from '../transport/index.js';
import { redactUrl } from '../redact.js';
import type { ExportEventHandler } from './events.js';
import { commitFile, ensurePrivateDir, FILE_MODE, io, tempPathFor } from '../fs.js';
import { verifyAgainst, type Measured, type PlannedFile } from './manifest.js';
import { ByteLimit, coalesced, discard, Meter, MiB, OverLimit, STAGE_BUFFER_BYTES, Tee } from './meter.js';

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
  /** Epoch ms bounding this file's retries: a wait that would end later is refused. */
  deadline?: number;
  /**
   * Largest file accepted, uncompressed (default 4 GiB): an endless body or a gzip bomb stops there. Gzip bytes on
   * the wire are also held to the manifest's `file_length` when it declares one (DPC does: server behaviour §6.2).
   */
  maxFileBytes?: number;
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

/** The bound a body grew past: the manifest's `file_length` (gzip bytes on the wire) or `maxFileBytes` (content). */
export type SizeBound = 'file_length' | 'maxFileBytes';

export type DownloadOutcome =
  | { status: 'verified'; file: VerifiedFile }
  | { status: 'quarantined'; url: string; type: string; kind: PlannedFile['kind']; path: string; problems: string[]; sizeBound?: SizeBound };

const ATTEMPTS = 2;
/** 200, or 203 from a transforming proxy. */
const FILE_STATUSES = [200, 203];
export const DEFAULT_MAX_FILE_BYTES = 4 * 1024 * MiB;
/** Failed bytes are kept for a look, not for use: a bounded prefix of them. */
export const QUARANTINE_KEEP_BYTES = 16 * MiB;

/** `maxFileBytes` as given by a caller: a positive whole number of bytes. */
export function checkMaxFileBytes(value: number | undefined): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) {
    throw new DpcError('ERR_INPUT', `maxFileBytes must be a positive whole number of bytes, got ${value}`, { field: 'maxFileBytes' });
  }
}

export async function downloadVerified(transport: Transport, target: DownloadTarget): Promise<DownloadOutcome> {
  const { file, label } = target;
  // one budget for the file: the transport's retries and the second attempt together
  const budget = transport.budget(target.deadline);
  for (let attempt = 1; ; attempt++) {
    let final = attempt === ATTEMPTS;
    let failed: { problems: string[]; temp?: string; requestId?: string; sizeBound?: SizeBound };
    try {
      const result = await attemptDownload(transport, target, attempt, budget);
      if (result.problems.length === 0) return await commit(result, target);
      failed = result;
    } catch (error) {
      // a body that broke mid-stream is retried and then kept aside (one over its limit is not: the server would send
      // the same again); a request that never got a response (the transport already retried it) gets one more try
      // and otherwise fails the run, which a rerun resumes
      const broken = error instanceof BodyFailure;
      if (!broken && (final || !(isDpcError(error, 'ERR_NETWORK') || isDpcError(error, 'ERR_TIMEOUT')))) throw error;
      final ||= broken && error.final;
      failed = {
        problems: [(error as Error).message],
        ...(broken ? { temp: error.temp, requestId: error.requestId, sizeBound: error.sizeBound } : {}),
      };
      // the second attempt is a retry like the transport's: it comes out of the same budget
      if (!broken && budget.take(0) !== 'ok') throw error;
    }
    if (!final && failed.temp !== undefined && budget.take(0) !== 'ok') final = true;
    const kept = final && failed.temp !== undefined ? await quarantine(failed.temp, target) : undefined;
    if (kept?.truncatedFrom !== undefined) failed.problems.push(`quarantined the first ${QUARANTINE_KEEP_BYTES} of ${kept.truncatedFrom} bytes`);
    target.onEvent?.({
      type: 'download_error',
      label,
      url: redactUrl(file.url),
      file: file.name,
      message: failed.problems.join('; '),
      willRetry: !final,
      quarantinedAt: kept?.path,
      requestId: failed.requestId,
    });
    if (final) {
      const { sizeBound } = failed;
      return { status: 'quarantined', url: file.url, type: file.type, kind: file.kind, path: kept?.path ?? '', problems: failed.problems, ...(sizeBound ? { sizeBound } : {}) };
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
    kind: file.kind,
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

/**
 * A body that broke mid-stream or grew past its limit; carries the temp file so the partial bytes can be kept aside.
 * One past a size bound is `final`: another attempt cannot help (the server would send the same).
 */
class BodyFailure extends DpcError {
  constructor(
    message: string,
    readonly temp: string,
    cause: unknown,
    requestId: string | undefined,
    readonly sizeBound?: SizeBound,
  ) {
    super('ERR_NETWORK', message, { cause, requestId });
  }

  get final(): boolean {
    return this.sizeBound !== undefined;
  }
}

/**
 * Whether a request for a manifest's file sends the bearer token: always on the server's origin; elsewhere as the
 * manifest's `requiresAccessToken` says, which the transport then refuses (ERR_FOREIGN_ORIGIN) rather than leak the
 * token off-origin. Only an explicit `requiresAccessToken: false` lets a file on another origin go tokenless. Pure.
 */
export function fileRequestAuth(transport: Pick<Transport, 'origin'>, url: URL, requiresAccessToken: boolean): boolean {
  return url.origin === transport.origin || requiresAccessToken;
}

async function attemptDownload(transport: Transport, target: DownloadTarget, attempt: number, budget: RetryBudget): Promise<Attempt> {
  const { file, label } = target;
  const url = transport.resolve(file.url);
  const response = await transport.stream({
    path: url.href,
    auth: fileRequestAuth(transport, url, target.requiresAccessToken),
    accept: url.pathname.includes('/Data/') ? undefined : 'application/fhir+ndjson',
    headers: target.gzip ? { 'accept-encoding': 'gzip' } : undefined,
    // a whole file or nothing: no Range is sent, so a 206 (a part), 204 or 205 (none) is an error, not a file to verify
    okStatuses: FILE_STATUSES,
    signal: target.signal,
    budget,
  });
  target.onEvent?.({ type: 'download_request', label, url: redactUrl(file.url), file: file.name, attempt, requestId: response.requestId });
  const contentEncoding = headerValue(response.headers['content-encoding']);
  const encoding = bodyEncoding(contentEncoding);
  if (encoding === undefined) {
    response.body.destroy();
    const said = serverText(contentEncoding ?? '', 60);
    throw new DpcError('ERR_HTTP', `GET ${redactUrl(url.href)} answered with Content-Encoding "${said}": only gzip is read, so its bytes could not be checked`, {
      requestId: response.requestId,
      location: redactUrl(url.href),
    });
  }
  const gzipped = encoding === 'gzip';
  const keepGzip = target.gzip && gzipped;
  const name = keepGzip ? `${file.name}.gz` : file.name;
  const temp = tempPathFor(join(target.dir, name));
  const progress = (n: number): void => target.onEvent?.({ type: 'download_progress', label, file: name, bytes: n });
  // DPC's file_length is the size of the gzip file it streams as-is (§6.2): only gzip bytes on the wire compare to it
  const limits: Limits = { wire: gzipped ? file.gzipLength : undefined, content: target.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES };

  await ensurePrivateDir(target.dir);
  await io(temp, 'prepare', () => rm(temp, { force: true }));
  const sink = createWriteStream(temp, { mode: FILE_MODE, flags: 'wx', highWaterMark: STAGE_BUFFER_BYTES });
  // opened before any byte flows: a body failing on its first chunk would otherwise race the open, leaving nothing to
  // quarantine now and a stray temp file once the open completes
  await io(temp, 'open', () => once(sink, 'open'));
  let measured: Measured;
  try {
    measured = keepGzip
      ? await streamKeepingGzip(response.body, sink, progress, limits, target.signal)
      : await streamPlain(response.body, sink, gzipped, progress, limits, target.signal);
  } catch (cause) {
    response.body.destroy();
    await closed(sink); // a write still in flight must not land after the temp file is truncated or moved
    if (target.signal?.aborted) {
      await rm(temp, { force: true });
      throw new DpcError('ERR_ABORTED', `download of ${file.name} was aborted`, { cause });
    }
    if (isFsError(cause)) throw new DpcError('ERR_IO', `write ${temp}: ${(cause as NodeJS.ErrnoException).code}`, { cause, location: temp });
    if (cause instanceof OverLimit) {
      throw new BodyFailure(overLimitMessage(file, cause), temp, cause, response.requestId, cause.of === 'wire' ? 'file_length' : 'maxFileBytes');
    }
    // a stalled body says so in its own message (ERR_TIMEOUT from the transport); others by their code
    const reason = isDpcError(cause, 'ERR_TIMEOUT') ? cause.message : ((cause as { code?: string }).code ?? (cause as Error).message);
    throw new BodyFailure(`body of ${redactUrl(file.url)} broke after partial transfer (${reason})`, temp, cause, response.requestId);
  }
  return { temp, name, measured, problems: verifyAgainst(file, measured), requestId: response.requestId };
}

/**
 * How a data body is encoded (Content-Encoding), or undefined for what this client cannot decode: only gzip is ever
 * asked for. Stored as received, a `br` or `deflate` body would pass for NDJSON wherever the manifest has no checksum
 * (generic servers). Pure.
 */
export function bodyEncoding(header: string | undefined): 'identity' | 'gzip' | undefined {
  const codings = (header ?? '').split(',').map((c) => c.trim().toLowerCase()).filter((c) => c !== '' && c !== 'identity');
  if (codings.length === 0) return 'identity';
  return codings.length === 1 && (codings[0] === 'gzip' || codings[0] === 'x-gzip') ? 'gzip' : undefined;
}

function closed(stream: Writable): Promise<void> {
  return stream.closed ? Promise.resolve() : new Promise((resolve) => stream.once('close', () => resolve()));
}

/** Byte limits of one body: gzip bytes as received (when declared) and the content after any gunzip. */
interface Limits {
  wire?: number;
  content: number;
}

function overLimitMessage(file: PlannedFile, over: OverLimit): string {
  const limit = over.of === 'wire' ? `the manifest's file_length of ${over.limit} gzip bytes` : `maxFileBytes (${over.limit} bytes uncompressed)`;
  return `body of ${redactUrl(file.url)} is larger than ${limit}; stopped there`;
}

/** Body (coalesced), held to the declared gzip length when it is one; the pipeline stages before gunzip. */
function wireStages(body: Readable, limits: Limits): [Readable, ...ByteLimit[]] {
  return limits.wire === undefined ? [coalesced(body)] : [coalesced(body), new ByteLimit(limits.wire)];
}

/** Uncompressed on disk: body [→ gunzip if the server compressed anyway] → meter → file. */
async function streamPlain(body: Readable, sink: Writable, gzipped: boolean, progress: (n: number) => void, limits: Limits, signal?: AbortSignal): Promise<Measured> {
  const meter = new Meter(progress, limits.content);
  if (gzipped) await pipeline([...wireStages(body, limits), createGunzip({ chunkSize: STAGE_BUFFER_BYTES }), meter, sink], { signal });
  else await pipeline(coalesced(body), meter, sink, { signal });
  return { sha256: meter.sha256, bytes: meter.bytes, lines: meter.lines };
}

/** Gzip on disk: the compressed bytes go to the file while a tee gunzips a copy to hash and count the content. */
async function streamKeepingGzip(body: Readable, sink: Writable, progress: (n: number) => void, limits: Limits, signal?: AbortSignal): Promise<Measured> {
  const gunzip = createGunzip({ chunkSize: STAGE_BUFFER_BYTES });
  const meter = new Meter(undefined, limits.content);
  const tee = new Tee(gunzip, progress);
  const branch = pipeline(gunzip, meter, discard());
  const main = pipeline([...wireStages(body, limits), tee, sink], { signal }).catch((error: unknown) => {
    gunzip.destroy(error as Error);
    throw error;
  });
  await Promise.all([main, branch]);
  return { sha256: meter.sha256, bytes: meter.bytes, lines: meter.lines, gzipBytes: tee.bytes };
}

/** Keep failed bytes aside, at most their first QUARANTINE_KEEP_BYTES; undefined (and no file) when none arrived. */
async function quarantine(temp: string, target: DownloadTarget): Promise<{ path: string; truncatedFrom?: number } | undefined> {
  const dest = join(target.quarantineDir, target.file.name);
  const size = await io(temp, 'quarantine', async () => (await stat(temp)).size);
  if (size === 0) {
    await io(temp, 'remove', () => rm(temp, { force: true }));
    return undefined;
  }
  await ensurePrivateDir(target.quarantineDir);
  await io(temp, 'quarantine', async () => {
    if (size > QUARANTINE_KEEP_BYTES) await truncate(temp, QUARANTINE_KEEP_BYTES);
    await rename(temp, dest);
  });
  return { path: dest, ...(size > QUARANTINE_KEEP_BYTES ? { truncatedFrom: size } : {}) };
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
