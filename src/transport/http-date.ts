/** HTTP-dates (RFC 9110 §5.6.7): Retry-After, and the server's own clock in its `Date` header. */
import { headerValue } from './negotiation.js';

/** All three HTTP-date forms start with a day name; Date.parse alone would accept "-1" or "1.5" as dates. */
const HTTP_DATE_START = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)/i;

/** Epoch ms of an HTTP-date header value; undefined when absent or not an HTTP-date. Pure. */
export function parseHttpDate(value: string | string[] | undefined): number | undefined {
  const text = headerValue(value)?.trim();
  if (text === undefined || !HTTP_DATE_START.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * "Now" as the server sees it: the `Date` of one of its responses (RFC 9110 §6.6.1: every origin server with a clock
 * sends one; DPC's do), else this machine's clock. Judging the server's timestamps by its own clock keeps a client
 * whose clock differs (or a sandbox whose clock was moved) in agreement with the server. Pure.
 */
export function serverNow(serverDate: number | undefined, localNow: number): { now: number; clock: 'server' | 'local' } {
  return serverDate === undefined ? { now: localNow, clock: 'local' } : { now: serverDate, clock: 'server' };
}
