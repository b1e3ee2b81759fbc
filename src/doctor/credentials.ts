/**
 * Do the credentials work? A token exchange alone does not tell: DPC's /Token/auth never reads the client-token table,
 * so a deleted client token still exchanges and only its access token is refused (behaviour doc §11.5;
 * DPC: R/TokenResource.java handleJWT). One exchange, then one authenticated call (GET /Organization) with that token.
 */
import type * as fhir3 from 'fhir/r3.js';
import type { DpcClient } from '../client.js';
import { DpcError, type ErrorCode } from '../errors.js';
import { organizationIn } from '../fhir/organization.js';

export interface CredentialsRefused {
  code: ErrorCode;
  status?: number;
  /** The one-line error (names the request and the server's reason). */
  message: string;
}

export type CredentialsOutcome =
  /** `organization`: what `GET /Organization` answered (absent when the call was not asked for). */
  | { ok: true; expiresIn?: number; accessToken: string; organization?: fhir3.Organization }
  /** The token endpoint refused the assertion. */
  | { ok: false; stage: 'exchange'; refused: CredentialsRefused }
  /** The exchange worked, the access token did not. */
  | { ok: false; stage: 'call'; expiresIn?: number; refused: CredentialsRefused };

/** The Authorization header for one given access token (requests that must not exchange or re-authenticate). */
export function bearer(accessToken: string): Record<string, string> {
  return { authorization: `Bearer ${accessToken}` };
}

function refusal(error: unknown): CredentialsRefused {
  if (error instanceof DpcError) return { code: error.code, status: error.status, message: error.message };
  throw error;
}

export async function checkCredentials(client: DpcClient, options: { authenticatedCall?: boolean } = {}): Promise<CredentialsOutcome> {
  let accessToken: string;
  let expiresIn: number | undefined;
  try {
    if (client.tokens.hasCredentials) ({ accessToken, expiresIn } = await client.tokens.exchange());
    else accessToken = await client.tokens.getAccessToken();
  } catch (error) {
    return { ok: false, stage: 'exchange', refused: refusal(error) };
  }
  if (options.authenticatedCall === false) return { ok: true, expiresIn, accessToken };
  try {
    // auth: false and our own header: this exact token is under test, without the transport's refresh-and-replay
    const { body } = await client.transport.json<fhir3.Bundle<fhir3.Organization>>({ path: '/Organization', auth: false, headers: bearer(accessToken) });
    return { ok: true, expiresIn, accessToken, organization: organizationIn(body) };
  } catch (error) {
    return { ok: false, stage: 'call', expiresIn, refused: refusal(error) };
  }
}

/** checkCredentials for callers that want an error: ERR_AUTH / ERR_UNAUTHORIZED naming the stage that failed. */
export async function verifyCredentials(client: DpcClient): Promise<{ expiresIn?: number; organization: fhir3.Organization }> {
  const outcome = await checkCredentials(client);
  if (outcome.ok) return { expiresIn: outcome.expiresIn, organization: outcome.organization! };
  const { refused } = outcome;
  if (outcome.stage === 'call' && refused.status === 401) {
    throw new DpcError(
      'ERR_UNAUTHORIZED',
      `the token exchange worked but GET /Organization refused the access token (401): the client token was deleted or has expired; create a new one`,
      { status: 401 },
    );
  }
  throw new DpcError(refused.code, refused.message, { status: refused.status });
}
