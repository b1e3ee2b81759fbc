import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';
import { LongestFirst } from './test/sequencer.js';

const TESTS = 'test/**/*.test.ts';

/** Test files that replace a module with vi.mock: each needs a module registry of its own. */
const mocking = readdirSync('test', { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.test.ts') && readFileSync(join('test', file), 'utf8').includes('vi.mock('))
  .map((file) => join('test', file));

const PROJECT = { testTimeout: 60_000, hookTimeout: 60_000, pool: 'forks' } as const;

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    // most test time is spent waiting on loopback servers and the few `dpc` child processes, so two workers per core
    // keep both cores busy (measured 2026-11-30)
    maxWorkers: 4,
    // the files that take longest on their own start first, also in a clean clone (test/sequencer.ts)
    sequence: { sequencer: LongestFirst },
    // projects do not extend this config, so the global setup above runs once for both (keys, TMPDIR, leftovers check)
    projects: [
      // files share a worker's loaded modules (each file still gets its own servers, keys and temp folders): loading
      // the library once per worker instead of once per file halves the suite's CPU time (200 → 150 CPU-s)
      { test: { ...PROJECT, name: 'shared', include: [TESTS], exclude: mocking, isolate: false } },
      { test: { ...PROJECT, name: 'isolated', include: mocking, isolate: true } },
    ],
  },
});
