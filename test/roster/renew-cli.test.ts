/** `dpc group renew` on a roster whose attribution lapsed: it renews nothing without --include-inactive, and says so. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syncRoster } from '../../src/roster/sync.js';
import { DAY, rosterFixture, seededCliEnv, type RosterFixture } from './fixture.js';
import { runCli } from '../cli/run-cli.js';

let fx: RosterFixture;
let dir: string;
beforeAll(async () => {
  fx = await rosterFixture();
  dir = await mkdtemp(join(tmpdir(), 'dpc-roster-renew-'));
  await syncRoster(fx.client, { file: 'r.csv', text: '1S00E00AA01,1232131239\n1S00E00AA02,1232131239\n1S00E00AA03,2323232225\n' });
  fx.sandbox.clock.advance(91 * DAY);
});
afterAll(async () => {
  await fx.close();
  await rm(dir, { recursive: true, force: true });
});

it('warns that lapsed members were left alone (a cron job would otherwise exit 0 while exports miss them), and counts them in --json', async () => {
  const env = seededCliEnv(fx, dir);
  const warning = 'warning: 3 inactive members left alone (lapsed or removed: DPC does not say which); renew them with roster sync, or with --include-inactive\n';
  expect(await runCli(['group', 'renew'], { env })).toEqual({ code: 0, stdout: 'no members are due for renewal\n', stderr: warning });
  const json = await runCli(['group', 'renew', '--dry-run', '--json'], { env });
  expect(JSON.parse(json.stdout)).toEqual({ dryRun: true, groups: [], inactiveLeft: 3 });

  const renewed = await runCli(['group', 'renew', '--include-inactive'], { env });
  expect(renewed.stderr).toBe('');
  expect(renewed.stdout).toMatch(/^practitioner 1232131239 \(group [\w-]+\): 2 members renewed$/m);
  expect(await runCli(['group', 'renew'], { env })).toEqual({ code: 0, stdout: 'no members are due for renewal\n', stderr: '' });
});
