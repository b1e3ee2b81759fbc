/**
 * The token exchange: POST the signed assertion to the token URL as a form (server behaviour §1.1) and get a
 * short-lived access token back. Works for DPC and for generic SMART Backend Services servers.
 */
import { DpcError, isDpcError, restated } from '../errors.js';
import { isObject } from '../json.js';
import { serverText } from '../transport/error-body.js';
import { MediaType } from '../transport/negotiation.js';
import type { Transport } from '../transport/index.js';

export const DPC_SCOPE = 'system/*.*';
/**
 * The scope asked of a generic SMART server when none is configured: read-only, as Bulk Data export needs. `system/*.*`
 * also asks for write access, which servers that only export refuse (the SMART reference server answers invalid_scope
 * "Cannot grant permissions to create resources"); `.read` is SMART v1 syntax, which v2 servers still take.
 */
export const GENERIC_SCOPE = 'system/*.read';

/** The scope for a profile: DPC's own when the token URL is DPC's (`tokenUrl` unset), else the generic read scope. Pure. */
export function defaultScope(tokenUrl: string | undefined): string {
  return tokenUrl === undefined ? DPC_SCOPE : GENERIC_SCOPE;
}
export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface AccessToken {
  accessToken: string;
  tokenType: string;
  /** Seconds, as the server said (DPC: always 300). */
  expiresIn: number;
  scope?: string;
}

export interface ExchangeInput {
  transport: Transport;
  /** Absolute token URL (DPC: `<base>/Token/auth`). */
  tokenUrl: string;
  assertion: string;
  scope?: string;
  signal?: AbortSignal;
}

/** Pure: the exact form body the token endpoint requires. */
export function tokenRequestForm(assertion: string, scope: string = DPC_SCOPE): string {
  return new URLSearchParams({
    scope,
    grant_type: 'client_credentials',
    client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: assertion,
  }).toString();
}

/** A token answer is a few hundred bytes; a server sending more is refused while it streams. */
const MAX_TOKEN_ANSWER_BYTES = 1024 * 1024;

export async function exchangeToken(input: ExchangeInput): Promise<AccessToken> {
  let body: unknown;
  try {
    ({ body } = await input.transport.json<unknown>({
      method: 'POST',
      path: input.tokenUrl,
      auth: false,
      body: tokenRequestForm(input.assertion, input.scope),
      contentType: MediaType.form,
      accept: MediaType.json,
      signal: input.signal,
      maxBytes: MAX_TOKEN_ANSWER_BYTES,
    }));
  } catch (error) {
    throw explainExchangeError(error);
  }
  return parseTokenResponse(body, input.tokenUrl);
}

/**
 * Longest access token taken: it travels in a header of every request, and HTTP servers refuse headers past 8–16 KiB
 * (Node's default is 16 KiB), so a longer one could never be used.
 */
export const MAX_ACCESS_TOKEN_CHARS = 16 * 1024;
/**
 * What a bearer token may hold: visible ASCII (RFC 6749 §A.12 VSCHAR without the space; RFC 6750's b64token is a
 * subset). A CR/LF would split the Authorization header, an ESC would drive the terminal of `dpc auth token`.
 */
const ACCESS_TOKEN_CHARS = /^[\x21-\x7e]+$/;

/**
 * Why a token value a server issued (an access token, a new client token) must not be kept (undefined when it may):
 * longer than MAX_ACCESS_TOKEN_CHARS, or holding anything but visible ASCII. Both are printed raw on request
 * (`dpc auth token`, `dpc tokens create`), and an access token travels in a header. Pure.
 */
export function tokenValueProblem(token: string): string | undefined {
  if (token.length > MAX_ACCESS_TOKEN_CHARS) return `of ${token.length} characters, more than the ${MAX_ACCESS_TOKEN_CHARS} a request header can carry`;
  if (!ACCESS_TOKEN_CHARS.test(token)) return 'holding characters no token may hold (control characters, spaces or non-ASCII)';
  return undefined;
}

/**
 * Pure: validate the token response shape. The server is untrusted: a token we could not send (or print) safely, or a
 * token type other than bearer (RFC 6750; SMART Backend Services requires it), is refused, never guessed at.
 */
export function parseTokenResponse(body: unknown, tokenUrl: string): AccessToken {
  const b = isObject(body) ? body : {};
  const refuse = (why: string) => new DpcError('ERR_AUTH', `${tokenUrl} answered ${why}`, { location: tokenUrl });
  const token = b.access_token;
  if (typeof token !== 'string' || token === '') throw refuse('without an access_token');
  const problem = tokenValueProblem(token);
  if (problem) throw refuse(`an access_token ${problem}`);
  if (b.token_type !== undefined && (typeof b.token_type !== 'string' || b.token_type.toLowerCase() !== 'bearer')) {
    throw refuse(`token_type ${serverText(JSON.stringify(b.token_type), 40)}, not bearer`);
  }
  const expiresIn = typeof b.expires_in === 'number' ? b.expires_in : Number(b.expires_in);
  return {
    accessToken: token,
    tokenType: 'bearer',
    // a server that does not say gets DPC's 5 minutes
    expiresIn: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 300,
    // printed by `dpc auth token --json`: one line, escaped, bounded
    scope: typeof b.scope === 'string' ? serverText(b.scope) : undefined,
  };
}

/** DPC answers most assertion problems with a bare "Invalid JWT"; say what usually causes it. */
const HINTS: Array<[RegExp, string]> = [
  [/Invalid JWT/i, 'the signature does not match the key id (kid), aud is not the token URL, the assertion expired, or its jti was reused'],
  [/Cannot find public key/i, "the key id (kid) is not registered for the client token's organization: check the organization's registered keys (GET /Key)"],
  [/Invalid Public Key ID/i, 'the key id (kid) must be the UUID returned when the public key was uploaded'],
  [/organization_id|client_id|Issuer and Subject/i, 'the client token is not a valid DPC client token'],
  [/Not authorized/i, 'the assertion expires more than 5 minutes ahead: check the local clock'],
  [/scope/i, "the server does not grant the scope asked for: set the profile's scope to one it grants (e.g. system/*.read, or SMART v2 system/*.rs)"],
];

function explainExchangeError(error: unknown): unknown {
  if (!isDpcError(error) || error.status === undefined || error.status >= 500 || error.status === 429) return error;
  const hint = HINTS.find(([pattern]) => pattern.test(error.message))?.[1];
  return restated(error, 'ERR_AUTH', `token exchange refused: ${error.message}${hint ? ` (likely: ${hint})` : ''}`);
}
