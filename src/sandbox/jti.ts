/**
 * Used JWT ids, remembered 5 minutes (DPC's Caffeine cache: expire-after-write 5 min, at most 10 000).
 * Time comes from the auth clock so tests can step past the window.
 */
const WINDOW_MS = 5 * 60 * 1000;
const MAX_ENTRIES = 10_000;

export class JtiCache {
  private readonly seen = new Map<string, number>();

  constructor(private readonly now: () => number) {}

  has(jti: string): boolean {
    const expires = this.seen.get(jti);
    return expires !== undefined && expires > this.now();
  }

  add(jti: string): void {
    const now = this.now();
    for (const [key, expires] of this.seen) if (expires <= now) this.seen.delete(key);
    // Map iteration is insertion order, so the first key is the oldest write.
    if (this.seen.size >= MAX_ENTRIES) this.seen.delete(this.seen.keys().next().value!);
    this.seen.delete(jti);
    this.seen.set(jti, now + WINDOW_MS);
  }
}
