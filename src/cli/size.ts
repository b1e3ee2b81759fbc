/** Byte sizes as people type them on the command line: `4GiB`, `500MiB`, `64KiB`, `1048576` (binary units only). */
import { DpcError } from '../errors.js';

const UNIT_BYTES: Record<string, number> = { '': 1, b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };

/** `field` names the option being parsed in the error (`maxFileBytes`). Pure. */
export function parseSize(text: string, field = 'size'): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/.exec(text.trim().toLowerCase());
  const unit = match === null ? undefined : UNIT_BYTES[match[2]!];
  const bytes = unit === undefined ? Number.NaN : Math.floor(Number(match![1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    throw new DpcError('ERR_USAGE', `${field}: invalid size ${JSON.stringify(text)} (use e.g. 4GiB, 500MiB, 1048576)`, { field });
  }
  return bytes;
}
