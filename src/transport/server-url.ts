/**
 * URLs a server hands us to request or keep (a kick-off's Content-Location, a manifest's files and next pages, an
 * announced token endpoint) are untrusted input like any other text it sends.
 */
import { redactUrl } from '../redact.js';
import { serverText } from './error-body.js';

/** Longest such URL taken: real ones are a few hundred characters, a signed storage URL a few thousand. */
export const MAX_SERVER_URL_CHARS = 8192;

// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u0020\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/**
 * Why a URL a server handed us must not be used (undefined when it may), as a phrase (`is not a URL`): not a URL,
 * longer than MAX_SERVER_URL_CHARS, not http(s) (a `file:`, `data:` or `javascript:` URL would otherwise be taken as a
 * path on the server), holding spaces or control characters, or carrying a user name or password (kept in state and printed with the job, and never sent:
 * undici drops them). A relative URL is judged resolved against `base`; without one it must be absolute. Pure.
 */
export function serverUrlProblem(value: string, base?: string): string | undefined {
  if (value.length > MAX_SERVER_URL_CHARS) return `is longer than ${MAX_SERVER_URL_CHARS} characters (${value.length})`;
  if (!URL.canParse(value, base)) return 'is not a URL';
  // the URL parser would quietly drop a tab or newline, and keep a raw one in what we store
  if (UNPRINTABLE.test(value)) return 'holds spaces or control characters';
  const url = new URL(value, base);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `is not an http(s) URL (${url.protocol})`;
  if (url.username !== '' || url.password !== '') return 'carries a user name or password';
  return undefined;
}

/** A URL a server handed us, as an error message shows it: credentials masked (redactUrl), one line, escaped, short. Pure. */
export function shownServerUrl(value: string): string {
  return serverText(redactUrl(value), 200);
}
