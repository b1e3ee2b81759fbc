/**
 * Byte sizes as people type them on the command line: `4GiB`, `4GB`, `4G`, `500MiB`, `1048576`. Every unit is binary
 * (1GB = 1GiB = 1024³ bytes), as DuckDB reads its memory limit and `--max-file-size` always did: one rule for every
 * size flag.
 */
import { DpcError } from '../errors.js';

const UNIT_BYTES: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** `field` names the option being parsed in the error (`maxFileBytes`); `min` is the smallest size accepted. Pure. */
export function parseSize(text: string, field = 'size', min = 1): number {
  const match = /^(\d+(?:\.\d+)?)\s*(?:([kmgt])i?)?b?$/.exec(text.trim().toLowerCase());
  const bytes = match === null ? Number.NaN : Math.floor(Number(match[1]) * UNIT_BYTES[match[2] ?? '']!);
  if (!Number.isSafeInteger(bytes) || bytes < min) {
    const least = min > 1 ? ` of at least ${min / 1024 ** 2}MiB` : '';
    throw new DpcError('ERR_USAGE', `${field}: invalid size ${JSON.stringify(text)}${least} (use e.g. 4GiB, 500MB, 1048576)`, { field });
  }
  return bytes;
}
