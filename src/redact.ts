/**
 * Secrets never reach output: access tokens, client tokens (macaroons), JWT assertions and PEM private keys are
 * replaced wherever text might carry them (debug lines, error messages, URLs with `?token=`).
 */

const PEM_PRIVATE = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g;
/** Compact JWS/JWT: three base64url parts, the first an encoded JSON header. */
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g;
/** DPC macaroon tokens are base64url of a JSON array (`[{` → `W3`), or of `{` (`ey`); long and opaque. */
const MACAROON = /\bW3[A-Za-z0-9_-]{40,}={0,2}/g;
const BEARER = /\b(Bearer)\s+[A-Za-z0-9._~+/=-]+/gi;

const knownSecrets = new Set<string>();

/** Register a secret value (e.g. a client token read from config) so it is redacted even if it matches no pattern. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 8) knownSecrets.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const secret of knownSecrets) out = out.split(secret).join('[REDACTED]');
  return out
    .replace(PEM_PRIVATE, '[REDACTED PRIVATE KEY]')
    .replace(BEARER, '$1 [REDACTED]')
    .replace(JWT, '[REDACTED JWT]')
    .replace(MACAROON, '[REDACTED TOKEN]');
}

/** A URL fit to print: query parameters that may hold credentials are masked. */
export function redactUrl(href: string): string {
  try {
    const url = new URL(href);
    for (const key of ['token', 'access_token', 'client_assertion']) {
      if (url.searchParams.has(key)) url.searchParams.set(key, 'REDACTED');
    }
    return redact(url.href);
  } catch {
    return redact(href);
  }
}
