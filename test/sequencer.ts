/**
 * The order vitest starts test files in. Without the timings of an earlier run (a clean clone, CI) vitest starts the
 * largest files first, which put the package test (npm pack, npm install, tsc: ~20 s of CPU, one step after another)
 * in the middle of the run and left it running alone at the end. The files that take longest on their own start first;
 * the rest keep vitest's order (slowest first when timings exist, else largest first). `--sequence.shuffle` still
 * shuffles the files (by its seed).
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { prng } from './fuzz/gen/common.js';

const LONGEST = ['test/package/package.test.ts'];

export class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const { shuffle, seed } = this.ctx.config.sequence;
    if (shuffle) return shuffled(files, seed);
    const rank = (file: TestSpecification) => (LONGEST.some((path) => file.moduleId.endsWith(path)) ? 0 : 1);
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

/** Pure: `items` in a random order that depends only on `seed` (Fisher-Yates driven by the fuzz generators' PRNG). */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const random = prng(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
