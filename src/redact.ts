/**
 * Secrets never reach output: access tokens, client tokens (macaroons), JWT assertions and PEM private keys are
 * replaced wherever text might carry them (debug lines, error messages, URLs with `?token=`).
 *
 * Pattern matching is pure (`redact`, `redactUrl`). Secrets that match no pattern (an opaque client token, a
 * passphrase) are known to whoever holds them, so each client has its own {@link Redactor}; nothing is process-wide.
 */

const PEM_PRIVATE = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g;
/** Compact JWS/JWT: three base64url parts, the first an encoded JSON header. */
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g;
/** DPC macaroon tokens are base64url of a JSON array (`[{` → `W3`), or of `{` (`ey`); long and opaque. */
const MACAROON = /\bW3[A-Za-z0-9_-]{40,}={0,2}/g;
const BEARER = /\b(Bearer)\s+[A-Za-z0-9._~+/=-]+/gi;

/** Shorter values would mask ordinary words. */
const MIN_SECRET_LENGTH = 8;
/** Short-lived secrets kept per redactor: access tokens live 5 minutes, so older ones are long expired. */
const MAX_SHORT_LIVED = 64;

/** Pure: `text` with everything that looks like a token, an assertion or a private key masked. */
export function redact(text: string): string {
  return text
    .replace(PEM_PRIVATE, '[REDACTED PRIVATE KEY]')
    .replace(BEARER, '$1 [REDACTED]')
    .replace(JWT, '[REDACTED JWT]')
    .replace(MACAROON, '[REDACTED TOKEN]');
}

/** Pure: a URL fit to print: its password and query parameters that may hold credentials are masked. */
export function redactUrl(href: string): string {
  try {
    const url = new URL(href);
    for (const key of ['token', 'access_token', 'client_assertion']) {
      if (url.searchParams.has(key)) url.searchParams.set(key, 'REDACTED');
    }
    if (url.password !== '') url.password = 'REDACTED';
    return redact(url.href);
  } catch {
    return redact(href);
  }
}

/** Masks the secrets one owner (a client, one CLI command) knows, as well as everything {@link redact} catches. */
export class Redactor {
  private readonly secrets = new Set<string>();
  private readonly shortLived = new Set<string>();

  /** A secret for the redactor's lifetime (client token, passphrase). */
  add(value: string | undefined): void {
    if (value && value.length >= MIN_SECRET_LENGTH) this.secrets.add(value);
  }

  /** A secret that expires soon (access token, assertion): only the most recent ones are kept. */
  addShortLived(value: string | undefined): void {
    if (!value || value.length < MIN_SECRET_LENGTH) return;
    this.shortLived.delete(value);
    this.shortLived.add(value);
    if (this.shortLived.size > MAX_SHORT_LIVED) this.shortLived.delete(this.shortLived.values().next().value!);
  }

  /** `text` with every known secret and every pattern masked. */
  redact(text: string): string {
    let out = text;
    for (const secret of [...this.secrets, ...this.shortLived]) out = out.split(secret).join('[REDACTED]');
    return redact(out);
  }
}
