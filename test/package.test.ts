/**
 * The package as a user gets it: `npm pack`, install the tarball into an empty project (offline, from the npm
 * cache), run the installed `dpc`, and check that every command's help carries examples.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { assertBuilt, ROOT } from './cli/run-cli.js';

const run = promisify(execFile);
let dir: string | undefined;

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('installs from its tarball and `dpc --help` shows examples for every command', { timeout: 300_000 }, async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), 'dpc-pack-'));
  const npm = (args: string[], cwd: string) => run('npm', args, { cwd, env: { ...process.env, npm_config_update_notifier: 'false' } });

  const { stdout: packed } = await npm(['pack', '--silent', '--pack-destination', dir], ROOT);
  const tarball = join(dir, packed.trim().split('\n').at(-1)!);
  const project = join(dir, 'project');
  await run('mkdir', [project]);
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], project);

  const { stdout: help } = await npm(['exec', '--offline', '--', 'dpc', '--help'], project);
  expect(help).toMatch(/^dpc <command> \[options\]/);
  expect(help).toContain('Examples:');
  const { stdout: version } = await run(join(project, 'node_modules', '.bin', 'dpc'), ['--version']);
  expect(version.trim()).toMatch(/^\d+\.\d+\.\d+/);

  // every command and subcommand, walked in one process through the installed entry point
  const main = join(project, 'node_modules', 'dpc-client', 'dist', 'cli', 'main.js');
  const { stdout } = await run(process.execPath, [join(ROOT, 'test', 'help-walk.mjs'), main], { maxBuffer: 16 * 1024 * 1024 });
  const helps = JSON.parse(stdout) as Record<string, string>;
  for (const name of ['init', 'auth token', 'auth assertion', 'auth validate', 'keys generate', 'keys add', 'keys list', 'keys show', 'keys delete', 'tokens list', 'tokens create', 'tokens delete']) {
    expect(Object.keys(helps)).toContain(name);
  }
  const withoutExamples = Object.entries(helps).filter(([, text]) => !text.includes('Examples:')).map(([name]) => `dpc ${name}`.trim());
  expect(withoutExamples).toEqual([]);
});
