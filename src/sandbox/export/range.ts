/**
 * DPC's `Range` header for /Data (HttpRangeHeaderParamConverter + buildRangedRequest, behaviour doc
 * §6.3), which is not RFC 9110: one range only, the end is EXCLUSIVE, a missing end means a 1 MiB
 * chunk, and offsets address the uncompressed NDJSON.
 */

export const RANGE_CHUNK_BYTES = 1024 * 1024;

export type RangeRequest =
  | { kind: 'range'; start: number; end: number }
  | { kind: 'invalid'; status: 400 | 416; message: string };

const RANGE = /^([a-z]+)=([0-9]+)-([0-9]+)?$/;

export function parseRange(header: string): RangeRequest {
  const match = RANGE.exec(header.trim());
  if (!match) return { kind: 'invalid', status: 400, message: `Invalid range header: ${header}` };
  if (match[1] !== 'bytes') return { kind: 'invalid', status: 416, message: 'Only `bytes` are acceptable as ranges' };
  const start = Number(match[2]);
  const end = match[3] === undefined ? start + RANGE_CHUNK_BYTES : Number(match[3]);
  if (end < start) return { kind: 'invalid', status: 416, message: 'Range end cannot be before begin' };
  return { kind: 'range', start, end };
}
