/**
 * Build step (`npm run build`): render the top-level help through yargs for each cached width (./help-cache.ts),
 * each in a fresh process with a pipe for stdout so the terminal running the build does not set the width.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { CACHED_HELP_WIDTHS, cachedHelpFile } from './help-cache.js';

const main = new URL('./main.js', import.meta.url).href;
for (const width of CACHED_HELP_WIDTHS) {
  const help = execFileSync(process.execPath, ['--input-type=module', '-e', `const { runCli } = await import(${JSON.stringify(main)}); process.exitCode = await runCli(['--help']);`], {
    env: { PATH: process.env.PATH ?? '', COLUMNS: String(width), LANG: 'en_US.UTF-8' },
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  writeFileSync(cachedHelpFile(width), help);
}
