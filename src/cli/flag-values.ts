/** Flag values as people type them: lists (`--type Patient,Coverage`, repeated or comma separated) and small counts. Pure. */
import { DpcError } from '../errors.js';

/** `['a,b', ' c']` → `['a', 'b', 'c']`: a list flag given repeated, comma separated, or both. */
export function splitList(values: readonly string[] | undefined): string[] | undefined {
  return values?.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

/** A count such as `--concurrency` or `--threads`: an integer from 1 to 64, else ERR_USAGE naming the flag. */
export function positiveInt(value: number, flag: string): number {
  if (!Number.isInteger(value) || value < 1 || value > 64) throw new DpcError('ERR_USAGE', `${flag} must be an integer from 1 to 64`, { location: flag });
  return value;
}
