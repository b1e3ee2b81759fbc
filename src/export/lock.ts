/**
 * One run per output folder: `<out>/.dpc-export.lock` holds `{pid, host, startedAt, id}`. A lock left by a dead
 * process on this host (crash, kill -9) is stale and taken over at once; a live one, or one from another host (whose
 * pid we cannot check), is ERR_LOCKED.
 *
 * Correct when many processes race for one stale lock (exactly one wins):
 * - the lock is never written in place: our content goes to a temp file first and appears under the lock name by
 *   `link` (fails if the name exists) or `rename` (atomic replace), so a reader always sees a whole lock;
 * - "remove the stale lock, then create ours" is two steps another process can interleave with (it would delete our
 *   fresh lock and both would hold it), so a stale lock is never removed: it is replaced by a compare-and-swap.
 *   Replacing lock content C requires holding `<lock>.takeover-<sha256(C)>`, a claim taken by this same procedure
 *   (one level deeper, so a claim left by a process that died mid-takeover is itself taken over), then checking the
 *   lock still holds C. Only the claim holder may replace C, and every lock's content is unique (random id), so the
 *   check cannot be fooled by an older lock that looked the same.
 * proper-lockfile was not used: its takeover is stat, rmdir, mkdir (the same two-step race, detected only later as
 * "compromised"), and it decides staleness by an mtime the holder must refresh every few seconds.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { link, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { DpcError } from '../errors.js';
import { FILE_MODE, io, readTextIfExists } from '../fs.js';

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

/** Claims of claims: one level covers a process that died while taking over; two in a row is left to a human. */
const MAX_DEPTH = 2;
/** Rounds of "create, else look at the holder" before giving up on a lock that keeps changing hands. */
const ROUNDS = 4;
/** A takeover in progress takes a few syscalls; this is ample even on a busy machine. */
const BUSY_PAUSE_MS = 20;

export async function acquireLock(outDir: string): Promise<Lock> {
  const path = join(outDir, LOCK_FILE);
  const mine = `${JSON.stringify({ pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), id: randomUUID() })}\n`;
  const temp = uniqueSibling(path);
  await io(path, 'create lock', () => writeFile(temp, mine, { flag: 'wx', mode: FILE_MODE }));
  let outcome: Claim;
  try {
    outcome = await io(path, 'take lock', () => claim(path, temp, 0));
  } finally {
    await rm(temp, { force: true });
  }
  if (outcome !== HELD) throw lockedError(outDir, path, outcome);
  return { path, release: () => io(path, 'remove lock', () => releaseIfMine(path, mine)) };
}

const HELD = Symbol('held');
/** HELD, or why not: the live holder, or undefined when the lock kept changing or is a claim left by two crashes. */
type Claim = typeof HELD | LockInfo | undefined;

/** Make `path` hold the content of `temp` unless a live process holds it. */
async function claim(path: string, temp: string, depth: number): Promise<Claim> {
  let busy: LockInfo | undefined;
  for (let round = 0; round < ROUNDS; round++) {
    if (await linkIfAbsent(temp, path)) return HELD;
    const current = await readTextIfExists(path);
    if (current === undefined) continue; // released meanwhile: try to create it again
    const holder = parseLock(current);
    if (holder && !isStale(holder)) return holder;
    if (depth >= MAX_DEPTH) return undefined;
    const guard = `${path}.takeover-${createHash('sha256').update(current).digest('hex').slice(0, 32)}`;
    const guarded = await claim(guard, temp, depth + 1);
    if (guarded !== HELD) {
      // someone alive is taking this stale lock over right now: give it a moment, then see who holds the lock
      busy = guarded;
      await delay(BUSY_PAUSE_MS);
      continue;
    }
    try {
      // compare-and-swap: only the holder of this content's guard may replace it, so nothing changes it between
      // this check and the rename
      if ((await readTextIfExists(path)) === current) {
        await replaceWith(temp, path);
        return HELD;
      }
    } finally {
      await rm(guard, { force: true });
    }
  }
  return busy;
}

async function linkIfAbsent(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** Atomically replace `target` with a copy of `temp` (a new hard link renamed over it; `temp` stays for later use). */
async function replaceWith(temp: string, target: string): Promise<void> {
  const copy = uniqueSibling(target);
  await link(temp, copy);
  try {
    await rename(copy, target);
  } catch (error) {
    await rm(copy, { force: true });
    throw error;
  }
}

async function releaseIfMine(path: string, mine: string): Promise<void> {
  // a live holder is never taken over, so the lock is still ours unless someone deleted it by hand
  if ((await readTextIfExists(path)) === mine) await rm(path, { force: true });
}

function uniqueSibling(path: string): string {
  return `${path}.${process.pid}-${randomBytes(6).toString('hex')}.part`;
}

/** The holder named in a lock, or undefined when unreadable (a lock written by hand or by an older version): stale. */
function parseLock(text: string): LockInfo | undefined {
  try {
    const info = JSON.parse(text) as Partial<LockInfo>;
    if (Number.isInteger(info.pid) && info.pid! > 0 && typeof info.host === 'string') return { pid: info.pid!, host: info.host, startedAt: String(info.startedAt) };
  } catch {
    // not JSON
  }
  return undefined;
}

function lockedError(outDir: string, path: string, holder: LockInfo | undefined): DpcError {
  const message = holder
    ? `${outDir} is in use by pid ${holder.pid} on ${holder.host} since ${holder.startedAt}; if that run is gone, delete ${path}`
    : `${outDir} is in use by another run (the lock ${path} keeps changing hands); if no run is using it, delete ${path}*`;
  return new DpcError('ERR_LOCKED', message, { location: path });
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
