/**
 * The sandbox's notion of "now". Every time check (token expiry, JTI window, attribution expiry,
 * job expiry) reads this clock so tests can move time instead of waiting.
 */
export interface SandboxClock {
  now(): number;
  advance(ms: number): void;
  set(ms: number): void;
}

/** Wall clock plus an offset: time keeps flowing after advance/set, as it does on a real server. */
export function createClock(): SandboxClock {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    advance(ms) {
      if (!Number.isFinite(ms)) throw new TypeError(`clock.advance: not a finite number of ms: ${ms}`);
      offset += ms;
    },
    set(ms) {
      if (!Number.isFinite(ms)) throw new TypeError(`clock.set: not a finite epoch ms: ${ms}`);
      offset = ms - Date.now();
    },
  };
}

/** DPC's instant format `yyyy-MM-dd'T'HH:mm:ss.SSSxxx`, always rendered in UTC (`+00:00`). */
export function formatInstant(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+00:00');
}
