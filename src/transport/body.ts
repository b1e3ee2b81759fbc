/**
 * Bounds on response bodies, which a server controls: progress (a body trickling 1 byte every 5 s never trips undici's
 * idle `bodyTimeout`, which any byte resets) and size (a status or error body read into memory must be small); the
 * JSON of such a small body.
 */
import type { Readable } from 'node:stream';
import { DpcError } from '../errors.js';
import { redactUrl } from '../redact.js';

export interface ProgressRule {
  /** Window length. */
  windowMs: number;
  /** Bytes the server must deliver in every window while the reader is waiting for them. */
  minBytes: number;
}

/**
 * Fail `body` with ERR_TIMEOUT when a whole window passes in which the reader waited (reading has begun and nothing is
 * buffered) and the server delivered fewer than `minBytes`. A window in which the reader was the slow side (bytes
 * still buffered: backpressure from a slow disk) or had not begun does not count. Bytes are counted as undici hands
 * them to the stream (its `push`), so no extra stream stage sits in the download path.
 */
export function watchProgress(body: Readable, rule: ProgressRule, what: string): void {
  let delivered = 0;
  const push = body.push.bind(body);
  body.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (chunk !== null && chunk !== undefined) delivered += (chunk as Buffer).length;
    return push(chunk, encoding);
  };
  const timer = setInterval(() => {
    const waitingForServer = body.readableFlowing !== null && body.readableLength === 0;
    if (waitingForServer && delivered < rule.minBytes) {
      body.destroy(
        new DpcError('ERR_TIMEOUT', `${what}: the body stalled (${delivered} bytes in ${rule.windowMs / 1000} s, fewer than ${rule.minBytes})`, { location: what }),
      );
    }
    delivered = 0;
  }, rule.windowMs);
  timer.unref();
  body.once('close', () => clearInterval(timer));
}

/**
 * Read a body that must be small into memory, stopping the transfer once it passes `maxBytes`: an error (ERR_HTTP), or
 * with `truncate` its first `maxBytes` (an error body is only read for its message).
 */
export function readCapped(body: Readable, maxBytes: number, what: string, options: { truncate?: boolean } = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    body.on('data', (chunk: Buffer) => {
      if (size + chunk.length > maxBytes) {
        if (options.truncate) {
          chunks.push(chunk.subarray(0, maxBytes - size));
          resolve(Buffer.concat(chunks, maxBytes));
        }
        body.destroy(new DpcError('ERR_HTTP', `${what}: the response body is larger than ${maxBytes} bytes; refusing to read it`, { location: what }));
        return;
      }
      size += chunk.length;
      chunks.push(chunk);
    });
    body.once('end', () => resolve(Buffer.concat(chunks, size)));
    body.once('error', reject);
    body.once('close', () => {
      if (!body.readableEnded) reject(body.errored ?? new DpcError('ERR_NETWORK', `${what}: the response body ended early`, { location: what }));
    });
  });
}

/** A small body read whole, parsed as JSON (empty → undefined); ERR_HTTP naming the URL when it is not JSON. */
export function parseJsonBody<T>(text: string, response: { url: string; status: number; requestId?: string }): T {
  if (text.trim() === '') return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new DpcError('ERR_HTTP', `${redactUrl(response.url)} answered ${response.status} with a body that is not JSON`, {
      cause,
      status: response.status,
      requestId: response.requestId,
    });
  }
}

