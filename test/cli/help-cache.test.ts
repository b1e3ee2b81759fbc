/**
 * `dpc --help` and `dpc --version` are answered without yargs (cold start); the answers must be exactly what yargs
 * prints, and anything else must still go through yargs.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { cachedHelp, CACHED_HELP_WIDTHS } from '../../src/cli/help-cache.js';
import { assertBuilt, ROOT, runCli, spawnCli } from './run-cli.js';

/** What yargs itself prints for these args at this width (in-process runs never use the cache). */
async function throughYargs(args: string[], columns: number): Promise<string> {
  return (await runCli(args, { env: { COLUMNS: String(columns) } })).stdout;
}

describe('cold-start answers', () => {
  it.each(CACHED_HELP_WIDTHS)('the built help at %i columns is what yargs prints', async (width) => {
    const cached = await spawnCli(['--help'], { env: { COLUMNS: String(width) } });
    expect(cached.code).toBe(0);
    expect(cached.stdout).toBe(await throughYargs(['--help'], width));
    expect(cached.stdout).toMatch(/^dpc <command> \[options\]/);
  });

  it('other widths, other languages and other arguments go through yargs', async () => {
    expect(cachedHelp(['--help'], undefined, { COLUMNS: '80' })).toBeUndefined();
    expect(cachedHelp(['--help'], 100, { LANG: 'de_DE.UTF-8' })).toBeUndefined();
    expect(cachedHelp(['keys', '--help'], 100, {})).toBeUndefined();
    expect(cachedHelp(['--help', '--json'], 100, {})).toBeUndefined();
    const narrow = await runCli(['--help'], { env: { COLUMNS: '80' } });
    expect(narrow.stdout).toBe(await throughYargs(['--help'], 80));
  });

  it('`dpc --version` prints the version yargs would', async () => {
    const fast = await spawnCli(['--version']);
    expect(fast).toEqual({ code: 0, stdout: `${(await throughYargs(['--version'], 100)).trim()}\n`, stderr: '' });
    expect(fast.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});

describe('help loads no HTTP client', () => {
  // in one fresh process (a test worker has undici loaded already): every command's help, then what got loaded
  const script = `
    import { createRequire } from 'node:module';
    import { Writable } from 'node:stream';
    const { runCli } = await import('./dist/cli/main.js');
    const { commands } = await import('./dist/cli/commands/index.js');
    const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
    const words = commands.map((c) => String(c.command).split(' ')[0]);
    for (const word of words) await runCli([word, '--help'], { stdout: sink, stderr: sink, env: { COLUMNS: '100' } });
    const undici = Object.keys(createRequire(import.meta.url).cache).filter((k) => /[\\/]undici[\\/]/.test(k));
    console.log(JSON.stringify({ words, undici: undici.length }));
  `;

  it('no command\'s --help loads undici (the transport is loaded by the commands that make requests)', async () => {
    assertBuilt();
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT });
    const { words, undici } = JSON.parse(stdout) as { words: string[]; undici: number };
    expect(words).toEqual(expect.arrayContaining(['export', 'doctor', 'demo', 'group', 'auth']));
    expect(undici).toBe(0);
  });
});
