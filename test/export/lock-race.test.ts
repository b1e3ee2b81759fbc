/**
 * The export lock under a takeover race: RACERS processes, started once, are told at the same moment to take over
 * the same stale lock, TRIALS times (a new folder each time). Every trial must end with exactly one holder, the others
 * ERR_LOCKED naming the holder, and nothing left in the folder but the lock. Stale variants: a dead process's lock,
 * an unreadable (empty) lock, and a dead lock whose takeover claim was left by a process that died mid-takeover.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { LOCK_FILE } from '../../src/export/lock.js';
import { assertBuilt } from '../cli/run-cli.js';

const RACERS = 12;
const TRIALS = 9;
const RACER = fileURLToPath(new URL('./lock-racer.mjs', import.meta.url));
/** Above Linux's largest pid (2^22), so no process has it: a lock naming it is stale. */
const DEAD_PID = 2 ** 22 + 4321;

interface Outcome {
  dir: string;
  held: boolean;
  code?: string;
  message?: string;
}

interface Racer {
  child: ChildProcessWithoutNullStreams;
  next(): Promise<string>;
}

let root: string;
const racers: Racer[] = [];

beforeAll(async () => {
  assertBuilt();
  root = await mkdtemp(join(tmpdir(), 'dpc-lock-race-'));
  for (let i = 0; i < RACERS; i++) {
    const child = spawn(process.execPath, [RACER], { stdio: ['pipe', 'pipe', 'pipe'] });
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    racers.push({
      child,
      next: async () => {
        const line = await lines.next();
        if (line.done) throw new Error(`racer ${child.pid} ended: ${stderr}`);
        return line.value;
      },
    });
  }
  for (const racer of racers) expect(await racer.next()).toBe('ready');
});

afterAll(async () => {
  await Promise.all(racers.map((r) => new Promise((resolve) => (r.child.once('close', resolve), r.child.stdin.end()))));
  await rm(root, { recursive: true, force: true });
});

function staleLock(pid = DEAD_PID): string {
  return `${JSON.stringify({ pid, host: hostname(), startedAt: '2026-01-01T00:00:00.000Z', id: `${pid}-${Math.random()}` })}\n`;
}

/** A folder holding a stale lock of the given variant. */
async function staleFolder(trial: number): Promise<string> {
  const dir = join(root, `trial-${trial}`);
  await mkdir(dir);
  const lock = trial % 3 === 1 ? '' : staleLock();
  await writeFile(join(dir, LOCK_FILE), lock);
  if (trial % 3 === 2) {
    // the claim a takeover of this lock takes (lock.ts: `<lock>.takeover-<sha256 of its content>`), left by a dead racer
    const claim = `${LOCK_FILE}.takeover-${createHash('sha256').update(lock).digest('hex').slice(0, 32)}`;
    await writeFile(join(dir, claim), staleLock(DEAD_PID + 1));
  }
  return dir;
}

describe('export lock: concurrent takeover of one stale lock', () => {
  it(`leaves exactly one holder among ${RACERS} processes in each of ${TRIALS} trials`, async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const dir = await staleFolder(trial);
      for (const racer of racers) racer.child.stdin.write(`${dir}\n`);
      const outcomes = (await Promise.all(racers.map(async (r) => ({ pid: r.child.pid, ...(JSON.parse(await r.next()) as Outcome) })))).map((o) => ({
        ...o,
        message: o.message?.replace(dir, '<dir>'),
      }));
      const holders = outcomes.filter((o) => o.held);
      expect(holders, `trial ${trial}: ${JSON.stringify(outcomes)}`).toHaveLength(1);
      const holder = holders[0]!;
      expect(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: holder.pid, host: hostname() });
      for (const loser of outcomes.filter((o) => !o.held)) {
        expect(loser).toMatchObject({ code: 'ERR_LOCKED' });
        // usually the holder; a racer caught mid-takeover (it then finds the lock taken) is also a live user
        expect(loser.message).toMatch(/^<dir> is in use by pid \d+ on /);
      }
      expect(await readdir(dir)).toEqual([LOCK_FILE]);
    }
  });
});
