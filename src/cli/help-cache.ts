/**
 * `dpc --help` without loading yargs: the top-level help is static for a given width and language, so the build
 * renders it (through yargs, `npm run build` → render-help.ts) for the two widths most runs use, and bin/dpc prints
 * that text when nothing else is asked for. Anything else (other widths, another language, any other argument) goes
 * through yargs. Cold start: bench cli-cold-start.
 */
import { readFileSync } from 'node:fs';
import { helpWidth, yargsLocale } from './help.js';

/** Pipes and tests without $COLUMNS (100), terminals 120 columns or wider (120). */
export const CACHED_HELP_WIDTHS = [100, 120] as const;

/** Where the build writes the help for one width (next to this module in dist/). */
export function cachedHelpFile(width: number): URL {
  return new URL(`./help-${width}.txt`, import.meta.url);
}

/** The cache holds the English text. */
function isEnglish(env: NodeJS.ProcessEnv): boolean {
  return /^(en([_-]|$)|C$|POSIX$)/.test(yargsLocale(env));
}

/** The cached help for exactly `dpc --help` at this width and language, else undefined (then yargs renders it). */
export function cachedHelp(args: readonly string[], columns: number | undefined = process.stdout.columns, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (args.length !== 1 || (args[0] !== '--help' && args[0] !== '-h') || !isEnglish(env)) return undefined;
  const width = helpWidth(columns, env);
  if (!(CACHED_HELP_WIDTHS as readonly number[]).includes(width)) return undefined;
  try {
    return readFileSync(cachedHelpFile(width), 'utf8');
  } catch {
    return undefined; // not built (tsc alone): yargs renders it
  }
}
