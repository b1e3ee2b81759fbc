/**
 * `GET|HEAD /Data/{file}.ndjson` (DataResource, behaviour doc §6.3): stored gzip as is or gunzipped on
 * the fly, DPC's ETag/Last-Modified/304 rules, its non-standard Range, and the download faults.
 */
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGunzip } from 'node:zlib';
import { ApiError, errorReply, send } from '../http.js';
import type { FileRecord } from './batch.js';
import type { SandboxFaults } from './contract.js';
import { CHUNK_BYTES } from './gzip-file.js';
import { parseRange } from './range.js';

export interface ServableFile {
  record: FileRecord;
  path: string;
  /** Epoch ms, sent as a bare number like DPC. */
  lastModified: number;
  /** Every job of the org holding the file expired (GET → 410; HEAD does not check). */
  expired: boolean;
}

const NDJSON = 'application/ndjson';

export async function serveFile(
  req: IncomingMessage,
  res: ServerResponse,
  file: ServableFile | undefined,
  faults: SandboxFaults,
): Promise<void> {
  if (faults.slowFirstByteMs) await sleep(faults.slowFirstByteMs);
  if (!file) return fail(res, 404, 'Cannot find file');
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') return fail(res, 405, 'HTTP 405 Method Not Allowed');
  const { record } = file;
  if (method === 'GET' && file.expired) return send(res, { status: 410 });
  if (notModified(req, record.sha256, file.lastModified)) return send(res, { status: 304 });

  const common = { 'Content-Type': NDJSON, 'Cache-Control': 'no-cache, no-store' };
  const validators = { ETag: record.sha256, 'Last-Modified': String(file.lastModified) };
  if (method === 'HEAD') {
    res.writeHead(200, { ...common, ...validators, 'Content-Length': String(record.gzipBytes), 'Accept-Ranges': 'bytes' });
    res.end();
    return;
  }

  const rangeHeader = req.headers.range;
  if (rangeHeader !== undefined) {
    const range = parseRange(rangeHeader);
    if (range.kind === 'invalid') return fail(res, range.status, range.message);
    // Content-Range carries the requested chunk length as DPC does; Content-Length is what is really
    // sent, so a range past the end does not leave the client waiting for bytes that never come.
    const available = Math.max(0, Math.min(range.end, record.bytes) - range.start);
    res.writeHead(206, {
      ...common,
      'Accept-Ranges': 'bytes',
      'Content-Range': `bytes ${range.start}-${range.end}/${range.end - range.start}`,
      'Content-Length': String(available),
    });
    const cut = takeFault(faults.cutAtByte, record.name);
    return stream(file.path, res, { gunzip: true, start: range.start, length: available, cutAt: cut?.bytes });
  }

  const gzip = /\bgzip\b/i.test(String(req.headers['accept-encoding'] ?? ''));
  res.writeHead(200, { ...common, ...validators, ...(gzip ? { 'Content-Encoding': 'gzip' } : {}) });
  const bodyBytes = gzip ? record.gzipBytes : record.bytes;
  const cut = takeFault(faults.cutAtByte, record.name);
  // Only a chunked (length-less) body can end early cleanly, hence truncation on 200s only.
  const truncate = cut ? undefined : takeFault(faults.truncateBy, record.name);
  const length = truncate ? Math.max(0, bodyBytes - truncate.bytes) : bodyBytes;
  return stream(file.path, res, { gunzip: !gzip, start: 0, length, cutAt: cut?.bytes });
}

function fail(res: ServerResponse, status: number, message: string): void {
  send(res, errorReply(new ApiError(status, message), 'json'));
}

/**
 * DPC's returnCachedValue (R/DataResource.java): exact checksum match, or an epoch-ms If-Modified-Since not older than
 * the file. The If-None-Match value first loses a trailing `--gzip`/`--deflate`/`--`, the suffix a compressing server
 * adds to an ETag (api/converters/ChecksumParamConverter.java: its MATCH_REGEX test always passes, so REPLACE_REGEX
 * always applies); nothing else is stripped, so a quoted value never matches.
 */
function notModified(req: IncomingMessage, sha256: string, lastModified: number): boolean {
  const etag = req.headers['if-none-match']?.replace(/--(gzip|deflate)?$/, '');
  if (etag === sha256) return true;
  const since = req.headers['if-modified-since'];
  return since !== undefined && /^\d+$/.test(since) && lastModified <= Number(since);
}

/** Uses up one occurrence of a counted fault if it is armed and matches the file. */
function takeFault<T extends { count: number; fileIncludes?: string }>(fault: T | undefined, name: string): T | undefined {
  if (!fault || fault.count <= 0) return undefined;
  if (fault.fileIncludes !== undefined && !`${name}.ndjson`.includes(fault.fileIncludes)) return undefined;
  fault.count -= 1;
  return fault;
}

interface BodyPlan {
  gunzip: boolean;
  /** Offset in the (possibly uncompressed) stream where the body starts. */
  start: number;
  /** Body bytes to send. */
  length: number;
  /** Fault: destroy the connection after this many body bytes. */
  cutAt?: number;
}

async function stream(path: string, res: ServerResponse, plan: BodyPlan): Promise<void> {
  const source = createReadStream(path, { highWaterMark: CHUNK_BYTES });
  const body = shapeBody(res, plan);
  try {
    if (plan.gunzip) await pipeline(source, createGunzip({ chunkSize: CHUNK_BYTES }), body, res);
    else await pipeline(source, body, res);
  } catch {
    // The client went away, or the cut fault destroyed the response on purpose: nothing to answer.
    res.destroy();
  }
}

/** Skips to `start`, stops after `length` bytes (ending the upstream read early), applies the cut fault. */
function shapeBody(res: ServerResponse, plan: BodyPlan): (source: AsyncIterable<Buffer>) => AsyncGenerator<Buffer> {
  const limit = plan.cutAt === undefined ? plan.length : Math.min(plan.length, plan.cutAt);
  const cutting = plan.cutAt !== undefined && plan.cutAt < plan.length;
  return async function* (source) {
    let offset = 0;
    let sent = 0;
    if (limit > 0) {
      for await (const chunk of source) {
        const chunkStart = offset;
        offset += chunk.length;
        if (offset <= plan.start) continue;
        let piece = chunkStart < plan.start ? chunk.subarray(plan.start - chunkStart) : chunk;
        if (sent + piece.length < limit) {
          sent += piece.length;
          yield piece;
          continue;
        }
        piece = piece.subarray(0, limit - sent);
        if (!cutting) {
          yield piece;
          return;
        }
        // Everything yielded before is already written to res; flush the last piece, then break the connection.
        await new Promise<void>((resolve, reject) => res.write(piece, (error) => (error ? reject(error) : resolve())));
        break;
      }
    }
    if (cutting) res.destroy();
  };
}
