/**
 * One run per output folder: `<out>/.dpc-export.lock` holds `{pid, host, startedAt}`, created exclusively.
 * A lock left by a dead process on this host (crash, kill -9) is stale and taken over; a live one, or one from another
 * host (whose pid we cannot check), is ERR_LOCKED.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DpcError } from '../errors.js';
import { FILE_MODE, io } from './files.js';

export const LOCK_FILE = '.dpc-export.lock';

interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
}

export interface Lock {
  path: string;
  release(): Promise<void>;
}

export async function acquireLock(outDir: string): Promise<Lock> {
  const path = join(outDir, LOCK_FILE);
  const mine: LockInfo = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, `${JSON.stringify(mine)}\n`, { flag: 'wx', mode: FILE_MODE });
      return { path, release: () => io(path, 'remove lock', () => rm(path, { force: true })) };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new DpcError('ERR_IO', `create lock ${path}: ${code ?? (error as Error).message}`, { cause: error, location: path });
    }
    const holder = await readLock(path);
    if (holder && !isStale(holder)) {
      throw new DpcError('ERR_LOCKED', `${outDir} is in use by pid ${holder.pid} on ${holder.host} since ${holder.startedAt}; if that run is gone, delete ${path}`, {
        location: path,
      });
    }
    // stale (or unreadable: a crash mid-write) → take it over
    await io(path, 'remove stale lock', () => rm(path, { force: true }));
  }
  throw new DpcError('ERR_LOCKED', `${outDir} is in use by another run (the lock file ${path} keeps reappearing)`, { location: path });
}

async function readLock(path: string): Promise<LockInfo | undefined> {
  try {
    const info = JSON.parse(await readFile(path, 'utf8')) as Partial<LockInfo>;
    if (typeof info.pid === 'number' && typeof info.host === 'string') return { pid: info.pid, host: info.host, startedAt: String(info.startedAt) };
  } catch {
    // unreadable lock: treated as stale
  }
  return undefined;
}

/** Stale when it was taken on this host by a process that no longer exists. */
export function isStale(info: LockInfo): boolean {
  if (info.host !== hostname()) return false;
  try {
    process.kill(info.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
