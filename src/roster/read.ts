/**
 * Reading a roster file the user named: bounded in size before a byte is read, then decoded by its byte-order mark
 * (decodeCsvBytes). The whole text is parsed in one pass, so the bound is what keeps memory and time in check.
 */
import { readFile, stat } from 'node:fs/promises';
import { DpcError } from '../errors.js';
import { unreadableInput } from '../fs.js';
import { decodeCsvBytes } from './csv.js';

/**
 * 32 MiB: about 500,000 `MBI,NPI,given,family,birth_date,gender` rows (370 practitioners of 1,350 patients), which take
 * about 0.4 GiB to check (bench/roster-file.mjs: 100,000 rows 143 MiB peak RSS, 500,000 rows 391 MiB).
 */
export const MAX_ROSTER_BYTES = 32 * 1024 * 1024;

export async function readRosterFile(path: string, maxBytes = MAX_ROSTER_BYTES): Promise<string> {
  let content: Buffer;
  try {
    const { size } = await stat(path);
    if (size > maxBytes) {
      throw new DpcError('ERR_INPUT', `${path}: ${bytes(size)} is more than a roster file may have (${bytes(maxBytes)}); split it`, { location: path });
    }
    content = await readFile(path);
  } catch (cause) {
    if (cause instanceof DpcError) throw cause;
    throw unreadableInput(path, 'file', cause);
  }
  return decodeCsvBytes(content);
}

function bytes(count: number): string {
  return `${count.toLocaleString('en-US')} bytes`;
}
