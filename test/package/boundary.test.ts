/**
 * The library/CLI boundary, read from the source: library errors name fields, never CLI flags or commands; the
 * sandbox imports nothing from the client but src/shared; the root entry lists its exports by hand.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../cli/run-cli.js';

const SRC = join(ROOT, 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

const isLibrary = (path: string) => !/^src\/(cli|sandbox|bench)\//.test(relative(ROOT, path));

it('no library error message names a CLI flag or a dpc command', () => {
  const offenders: string[] = [];
  for (const path of sources(SRC).filter(isLibrary)) {
    const text = readFileSync(path, 'utf8');
    for (const match of text.matchAll(/new DpcError\(([\s\S]*?)\);/g)) {
      if (/--[a-z]|\bdpc (init|patient|keys|export|auth|roster|group|tokens)\b/.test(match[1]!)) offenders.push(`${relative(ROOT, path)}: ${match[1]!.slice(0, 120)}`);
    }
  }
  expect(offenders).toEqual([]);
});

it('the sandbox imports nothing from the client library except src/shared', () => {
  const offenders = sources(join(SRC, 'sandbox')).flatMap((path) =>
    [...readFileSync(path, 'utf8').matchAll(/from '(\.\.\/[^']*)'/g)]
      .map((m) => relative(SRC, join(path, '..', m[1]!)))
      .filter((target) => !target.startsWith('sandbox/') && !target.startsWith('shared/'))
      .map((target) => `${relative(ROOT, path)} → ${target}`),
  );
  expect(offenders).toEqual([]);
});

it('the package entry points list their exports by hand, each with a TSDoc comment', () => {
  for (const entry of ['index.ts', 'sandbox/index.ts']) {
    const lines = readFileSync(join(SRC, entry), 'utf8').split('\n');
    expect(lines.filter((l) => l.startsWith('export * from'))).toEqual([]);
    const undocumented = lines.filter((l, i) => l.startsWith('export ') && !lines[i - 1]!.trim().endsWith('*/'));
    expect(undocumented, entry).toEqual([]);
  }
});
