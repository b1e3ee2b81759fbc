/** Retry arithmetic: Retry-After parsing, exponential backoff with full jitter, and one budget per logical request. */
import { parseHttpDate } from './http-date.js';
import { headerValue } from './negotiation.js';

export interface RetryPolicy {
  /** Retries after the first attempt. */
  maxRetries: number;
  /** First backoff step. */
  baseDelayMs: number;
  /** Cap for computed backoff. */
  maxDelayMs: number;
  /** Cap for a server's Retry-After (a hostile or confused server must not park us for hours). */
  maxRetryAfterMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  maxRetries: 5,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 120_000,
};

/**
 * Retry-After in either form (RFC 9110 §10.2.3): delta-seconds or an HTTP-date.
 * Returns milliseconds to wait, clamped to [0, max]; undefined when absent or unparseable.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number, maxMs: number): number | undefined {
  const raw = headerValue(value);
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (text === '') return undefined;
  let ms: number;
  if (/^\d+$/.test(text)) {
    ms = Number(text) * 1000;
  } else {
    const date = parseHttpDate(text);
    if (date === undefined) return undefined;
    ms = date - now;
  }
  return Math.min(Math.max(ms, 0), maxMs);
}

/** Exponential backoff with full jitter: uniform in [0, min(max, base·2^attempt)]. */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(random() * ceiling);
}

/** Statuses worth retrying: rate limiting and transient upstream trouble. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 502 || status === 503 || status === 504;
}

/**
 * Whether a failed attempt may be replayed. A 429 means the server did not act, so any method may retry;
 * other transient failures only for requests that are idempotent (by method or declared so by the caller).
 */
export function mayRetry(status: number | undefined, idempotent: boolean): boolean {
  if (status === 429) return true;
  if (!idempotent) return false;
  return status === undefined || isRetryableStatus(status);
}

/**
 * The retries of one logical request (a status wait, a file download), shared by every layer that may retry it (the
 * transport, the poll loop, the download's second attempt), so a layer retrying on top of another cannot multiply the
 * requests: a 503-forever status makes `maxRetries + 1` requests, and the message says so. `deadline` (epoch ms) is
 * the caller's overall limit: a wait that would end past it is refused instead of slept.
 */
export class RetryBudget {
  private used = 0;

  constructor(
    readonly maxRetries: number,
    readonly deadline: number = Number.POSITIVE_INFINITY,
  ) {}

  /** Retries taken so far. */
  get retries(): number {
    return this.used;
  }

  /** Why one more retry after waiting `delayMs` is refused (`exhausted`, `deadline`), or `ok` after taking it. */
  take(delayMs: number, now: number = Date.now()): 'ok' | 'exhausted' | 'deadline' {
    if (this.used >= this.maxRetries) return 'exhausted';
    if (now + delayMs > this.deadline) return 'deadline';
    this.used++;
    return 'ok';
  }

  /** A success ends the logical request: the next failure starts a fresh count (e.g. the next status poll). */
  reset(): void {
    this.used = 0;
  }
}
