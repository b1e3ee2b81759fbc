/**
 * Reading a roster file the user named: bounded in size before a byte is read, then decoded by its byte-order mark
 * (decodeCsvBytes). The whole text is parsed in one pass, so the bound is what keeps memory and time in check.
 */
import { readFile, stat } from 'node:fs/promises';
import { DpcError } from '../errors.js';
import { unreadableInput } from '../fs.js';
import { decodeCsvBytes } from './csv.js';

/** 64 MiB: about a million `MBI,NPI,given,family,birth_date,gender` rows, far beyond 1,350 members per practitioner. */
export const MAX_ROSTER_BYTES = 64 * 1024 * 1024;

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
