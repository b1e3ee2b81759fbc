/**
 * The streaming V8 settings (src/cli/v8-flags.ts): which commands get them, and that they take effect when set at
 * run time (each probe is a fresh Node process, so the test process keeps V8's defaults).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { isStreamingCommand } from '../../src/cli/tuning.js';
import { STREAMING_V8_FLAGS } from '../../src/cli/v8-flags.js';
import { assertBuilt } from '../cli/run-cli.js';

const run = promisify(execFile);
const PROBE = fileURLToPath(new URL('./tuning-probe.mjs', import.meta.url));

interface Probe {
  applied: string[];
  optimized: boolean;
  newSpaceMiB: number;
}

async function probe(args: string[], env: Record<string, string> = {}): Promise<Probe> {
  assertBuilt();
  const { stdout } = await run(process.execPath, ['--allow-natives-syntax', PROBE, ...args], { env: { PATH: process.env.PATH ?? '', TMPDIR: tmpdir(), ...env } });
  return JSON.parse(stdout) as Probe;
}

describe('isStreamingCommand', () => {
  it.each([
    [['export', 'run', '--group', 'g'], true],
    [['export', 'download', 'https://x/Jobs/1', '--out', 'o'], true],
    [['--json', '--profile', 'sandbox', 'export', 'run', '--all-groups'], true],
    [['export', 'status', 'dir'], false],
    [['export', 'verify', 'dir'], false],
    [['roster', 'sync', 'run.csv'], false],
    [['demo'], false],
    [[], false],
  ])('%j → %s', (args, expected) => {
    expect(isStreamingCommand(args)).toBe(expected);
  });
});

describe('tuneForCommand in a fresh process', () => {
  it('export download: no optimizing compiler and a young generation that stays small', { timeout: 30_000 }, async () => {
    const tuned = await probe(['export', 'download', 'https://x/Jobs/1']);
    expect(tuned.applied).toEqual([...STREAMING_V8_FLAGS]);
    expect(tuned.optimized).toBe(false);
    expect(tuned.newSpaceMiB).toBeLessThanOrEqual(4);
  });

  it('other commands and DPC_V8_TUNING=off keep V8 defaults (the same workload grows the young generation)', { timeout: 30_000 }, async () => {
    for (const result of [await probe(['roster', 'sync', 'run.csv']), await probe(['export', 'run', '--group', 'g'], { DPC_V8_TUNING: 'off' })]) {
      expect(result.applied).toEqual([]);
      expect(result.optimized).toBe(true);
      expect(result.newSpaceMiB).toBeGreaterThan(4);
    }
  });
});
