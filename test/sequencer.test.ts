/** The seeded file shuffle of test/sequencer.ts (what `--sequence.shuffle` does with this config). */
import { describe, expect, it } from 'vitest';
import { shuffled } from './sequencer.js';

describe('shuffled', () => {
  const files = Array.from({ length: 40 }, (_, i) => `f${i}`);

  it('is a permutation that depends only on the seed', () => {
    const once = shuffled(files, 11);
    expect([...once].sort()).toEqual([...files].sort());
    expect(shuffled(files, 11)).toEqual(once);
    expect(once).not.toEqual(files);
    expect(shuffled(files, 12)).not.toEqual(once);
    expect(files[0]).toBe('f0'); // the input is left as it was
  });
});
