/**
 * Deterministic pseudo-random numbers for synthetic data: the same key always yields the same sequence,
 * so a sandbox seed reproduces every export byte for byte. Not for anything security-related.
 */
import { createHash } from 'node:crypto';

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max] (both inclusive). */
  int(min: number, max: number): number;
}

/** sfc32 seeded from SHA-256 of the key parts: fast, small state, good enough statistics for test data. */
export function rngFor(...key: ReadonlyArray<string | number>): Rng {
  const digest = createHash('sha256').update(key.join('\u0000')).digest();
  let a = digest.readUInt32LE(0);
  let b = digest.readUInt32LE(4);
  let c = digest.readUInt32LE(8);
  let d = digest.readUInt32LE(12);
  const nextUint32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  const next = (): number => nextUint32() / 0x1_0000_0000;
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
  };
}
