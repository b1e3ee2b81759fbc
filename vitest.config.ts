import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // most test time is spent waiting on `dpc` child processes and loopback servers, so two workers per core keep
    // both cores busy: 2m25s instead of 4m20s for the suite on 2 quiet cores, the same CPU seconds (measured 2026-11-30)
    maxWorkers: 4,
  },
});
