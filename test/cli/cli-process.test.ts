/**
 * Runs of `dpc` sharing one Node process (tests, a program embedding the CLI) each see only their own environment,
 * streams, secrets and exit code.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { cliProcess, withCliProcess } from '../../src/cli/cli-process.js';
import { runCli } from './run-cli.js';

describe('one CLI run per AsyncLocalStorage context', () => {
  it('concurrent runs keep their own environment and secrets across awaits', async () => {
    const seen = await Promise.all(
      ['a', 'b'].map((name, i) =>
        withCliProcess({ env: { DPC_PROFILE: name } }, async (run) => {
          run.redactor.add(`secret-of-${name}-0123456789`);
          await sleep(20 - i * 10);
          const current = cliProcess();
          return { profile: current.env.DPC_PROFILE, masked: current.redactor.redact(`secret-of-a-0123456789 secret-of-b-0123456789`) };
        }),
      ),
    );
    expect(seen[0]!.profile).toBe('a');
    expect(seen[1]!.profile).toBe('b');
    expect(seen[0]!.masked).not.toContain('secret-of-a');
    expect(seen[0]!.masked).toContain('secret-of-b');
    expect(seen[1]!.masked).toContain('secret-of-a');
    expect(seen[1]!.masked).not.toContain('secret-of-b');
  });

  it('a run reads its own environment, prints to its own streams and never sets the process exit code', async () => {
    const config = join(tmpdir(), 'dpc-no-such-folder', 'config.json');
    // as found: test files share a worker process, so this file may not be the first to run in it
    const exitCodeBefore = process.exitCode;
    const [alpha, beta] = await Promise.all([
      runCli(['org', 'show'], { env: { DPC_CONFIG: config, DPC_PROFILE: 'alpha' } }),
      runCli(['org', 'show', '--json'], { env: { DPC_CONFIG: config, DPC_PROFILE: 'beta' } }),
    ]);
    expect(alpha).toMatchObject({ code: 2, stdout: '' });
    expect(alpha.stderr).toMatch(/^error: profile "alpha" is not in /);
    expect(beta.code).toBe(2);
    expect(JSON.parse(beta.stdout)).toMatchObject({ ok: false, error: { code: 'ERR_CONFIG', message: expect.stringContaining('profile "beta"') } });
    expect(process.exitCode).toBe(exitCodeBefore);
  });
});
