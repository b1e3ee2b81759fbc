/**
 * Finding a generic SMART server's token endpoint when none is configured, as the SMART reference client does
 * (bulk-data-client utils.detectTokenUrl): `token_endpoint` of `<base>/.well-known/smart-configuration` (SMART App
 * Launch 2), else the `token` URI of the CapabilityStatement's oauth-uris extension (SMART 1). DPC has neither: its
 * token URL is always `<base>/Token/auth`.
 */
import { DpcError, isDpcError } from '../errors.js';
import { isObject, objectsIn } from '../json.js';
import { serverText } from '../transport/error-body.js';
import { MediaType } from '../transport/negotiation.js';
import { serverUrlProblem } from '../transport/server-url.js';
import { getCapabilityStatement } from '../fhir/metadata.js';
import type { DpcClient } from '../client.js';

const OAUTH_URIS = 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris';

/** An absolute http(s) URL without credentials, as the URL parser writes it (control characters encoded), or undefined. Pure. */
function httpUrl(value: unknown): string | undefined {
  return typeof value === 'string' && serverUrlProblem(value) === undefined ? new URL(value).href : undefined;
}

/**
 * Why an announced token URL must not be used for `baseUrl` (undefined when it may): a server reached over https that
 * announces a plain-http token endpoint would have our signed client assertion (and the access token answering it)
 * travel unencrypted. Another origin is allowed: SMART servers may keep their authorization server apart. Pure.
 */
export function announcedTokenUrlProblem(tokenUrl: string, baseUrl: string): string | undefined {
  if (new URL(baseUrl).protocol === 'https:' && new URL(tokenUrl).protocol !== 'https:') return `announces a plain-http token endpoint (${tokenUrl})`;
  return undefined;
}

/** The `token_endpoint` of a smart-configuration document. Pure. */
export function wellKnownTokenUrl(document: unknown): string | undefined {
  return isObject(document) ? httpUrl(document.token_endpoint) : undefined;
}

/** The `token` URI of a CapabilityStatement's oauth-uris security extension (SMART 1). Pure. */
export function capabilityTokenUrl(statement: unknown): string | undefined {
  for (const rest of objectsIn(isObject(statement) ? statement.rest : undefined)) {
    const security = isObject(rest.security) ? rest.security : undefined;
    const uris = objectsIn(security?.extension).find((x) => x.url === OAUTH_URIS);
    const token = objectsIn(uris?.extension).find((x) => x.url === 'token');
    const url = token === undefined ? undefined : httpUrl(token.valueUri ?? token.valueUrl);
    if (url !== undefined) return url;
  }
  return undefined;
}

/**
 * The token URL a server announces; ERR_CONFIG (field `tokenUrl`) when it announces none, or a plain-http one for an
 * https server (`announcedTokenUrlProblem`).
 */
export async function discoverTokenUrl(client: Pick<DpcClient, 'transport' | 'baseUrl' | 'now'>, signal?: AbortSignal): Promise<string> {
  const failures: string[] = [];
  let url: string | undefined;
  try {
    const { body } = await client.transport.json<unknown>({ path: '/.well-known/smart-configuration', auth: false, accept: MediaType.json, signal, maxBytes: 1024 * 1024 });
    url = wellKnownTokenUrl(body);
    if (url === undefined) failures.push('/.well-known/smart-configuration has no token_endpoint URL');
  } catch (error) {
    if (!isDpcError(error) || error.code === 'ERR_ABORTED') throw error;
    failures.push(`/.well-known/smart-configuration: ${error.message}`);
  }
  if (url === undefined) {
    try {
      url = capabilityTokenUrl(await getCapabilityStatement(client, signal));
      if (url === undefined) failures.push('the CapabilityStatement names no oauth-uris token URL');
    } catch (error) {
      if (!isDpcError(error) || error.code === 'ERR_ABORTED') throw error;
      failures.push(`/metadata: ${error.message}`);
    }
  }
  if (url === undefined) throw new DpcError('ERR_CONFIG', `${client.baseUrl} announces no token endpoint (${serverText(failures.join('; '))}); give tokenUrl`, { field: 'tokenUrl' });
  const problem = announcedTokenUrlProblem(url, client.baseUrl);
  if (problem) throw new DpcError('ERR_CONFIG', `${client.baseUrl} ${serverText(problem)}; give tokenUrl`, { field: 'tokenUrl' });
  return url;
}
