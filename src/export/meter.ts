/**
 * Stream stages that measure raw bytes as they pass: SHA-256, byte count and lines.
 * Verification never parses NDJSON (parsing is 5-8x slower than hashing, dependency notes §8).
 */
import { createHash, type Hash } from 'node:crypto';
import { Readable, Transform, Writable, type TransformCallback } from 'node:stream';

export const MiB = 1 << 20;
/**
 * Buffer of each download stage (meter, tee, temp file). Sockets deliver 64 KiB chunks; deeper stages only keep more of
 * them alive long enough to be promoted past the young generation (1 MiB stages: ~12 MiB more peak RSS, no faster).
 */
export const STAGE_BUFFER_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

export function countNewlines(chunk: Buffer): number {
  let n = 0;
  for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, i + 1)) n++;
  return n;
}

/** A stage passed its byte limit: the server sent more than it may, so the transfer stops here. */
export class OverLimit extends Error {
  constructor(
    readonly limit: number,
    /** Which bytes: as received (`wire`) or the content after any gunzip. */
    readonly of: 'wire' | 'content',
  ) {
    super(`more than ${limit} ${of} bytes`);
  }
}

/** Pass-through stage hashing and counting what flows through it; fails with OverLimit past `limit` bytes. */
export class Meter extends Transform {
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;
  private newlines = 0;
  private lastByte = NEWLINE;
  private digest?: string;

  constructor(
    private readonly onBytes?: (n: number) => void,
    private readonly limit: number = Number.POSITIVE_INFINITY,
  ) {
    super({ highWaterMark: STAGE_BUFFER_BYTES });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.bytes + chunk.length > this.limit) {
      callback(new OverLimit(this.limit, 'content'));
      return;
    }
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.newlines += countNewlines(chunk);
    if (chunk.length > 0) this.lastByte = chunk[chunk.length - 1]!;
    this.onBytes?.(chunk.length);
    callback(null, chunk);
  }

  /**
   * NDJSON lines: the newline-terminated ones plus a last line without its newline (many servers end the file
   * without one; the line still holds a resource). Valid once the stream has finished.
   */
  get lines(): number {
    return this.newlines + (this.lastByte === NEWLINE ? 0 : 1);
  }

  /** Hex digest; valid once the stream has finished. */
  get sha256(): string {
    this.digest ??= this.hash.digest('hex');
    return this.digest;
  }
}

/**
 * Pass-through stage that also feeds every chunk to `branch` (e.g. a gunzip whose output is measured), waiting for the
 * branch to drain so the slower side sets the pace. Counts the bytes it passes.
 */
export class Tee extends Transform {
  bytes = 0;

  constructor(
    private readonly branch: Writable,
    private readonly onBytes?: (n: number) => void,
  ) {
    super({ highWaterMark: STAGE_BUFFER_BYTES });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.onBytes?.(chunk.length);
    if (this.branch.write(chunk)) {
      callback(null, chunk);
      return;
    }
    const resume = (): void => {
      this.branch.off('close', resume);
      this.branch.off('drain', resume);
      callback(null, chunk);
    };
    // 'close' too: a branch that failed never drains, and its own pipeline reports the error
    this.branch.once('drain', resume);
    this.branch.once('close', resume);
  }

  override _flush(callback: TransformCallback): void {
    this.branch.end();
    callback();
  }
}

/** Pass-through stage that only counts, failing with OverLimit past `limit` bytes (e.g. gzip bytes on the wire). */
export class ByteLimit extends Transform {
  private bytes = 0;

  constructor(private readonly limit: number) {
    super({ highWaterMark: STAGE_BUFFER_BYTES });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) callback(new OverLimit(this.limit, 'wire'));
    else callback(null, chunk);
  }
}

/**
 * An HTTP body as the first stage of a download: each step takes everything the body has buffered at once. Servers
 * that write 1–2 KiB at a time (many do, with chunked encoding) otherwise cost one stream hop, one hash update, one
 * newline scan and one file write per 1–2 KiB, which is where a client's CPU per GB goes. Async iteration reads the
 * body paused (`read()` joins the chunks the parser pushed since the last step), so nothing waits for more bytes and
 * no more than the body's own buffer is held; the stage itself buffers nothing (highWaterMark 0).
 */
export function coalesced(body: Readable): Readable {
  async function* buffered(): AsyncGenerator<Buffer> {
    for (;;) {
      const available = body.readableLength;
      // at most one stage buffer per step: big chunks are handed on as they are, never joined into bigger ones
      const chunk = (available > 0 ? body.read(Math.min(available, STAGE_BUFFER_BYTES)) : body.read()) as Buffer | null;
      if (chunk !== null) yield chunk;
      else if (body.readableEnded) return;
      else await readableOrEnd(body);
    }
  }
  return Readable.from(buffered(), { objectMode: false, highWaterMark: 0 });
}

/** Resolves when `body` has more to read or has ended; rejects when it fails or closes early. */
function readableOrEnd(body: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error?: Error): void => {
      body.off('readable', onReadable).off('end', onReadable).off('error', settle).off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onReadable = (): void => settle();
    const onClose = (): void => settle(body.readableEnded ? undefined : (body.errored ?? new Error('the body closed before its end')));
    if (body.errored || body.destroyed) {
      onClose();
      return;
    }
    body.on('readable', onReadable).on('end', onReadable).on('error', settle).on('close', onClose);
  });
}

/** A sink that discards (the end of a measuring branch). */
export function discard(): Writable {
  return new Writable({
    highWaterMark: STAGE_BUFFER_BYTES,
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
}
