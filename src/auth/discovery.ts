/**
 * Finding a generic SMART server's token endpoint when none is configured, as the SMART reference client does
 * (bulk-data-client utils.detectTokenUrl): `token_endpoint` of `<base>/.well-known/smart-configuration` (SMART App
 * Launch 2), else the `token` URI of the CapabilityStatement's oauth-uris extension (SMART 1). DPC has neither: its
 * token URL is always `<base>/Token/auth`.
 */
import { DpcError, isDpcError } from '../errors.js';
import { isObject } from '../json.js';
import { MediaType, serverText } from '../transport/index.js';
import { getCapabilityStatement } from '../fhir/metadata.js';
import type { DpcClient } from '../client.js';

const OAUTH_URIS = 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris';

/** An absolute http(s) URL, or undefined. Pure. */
function httpUrl(value: unknown): string | undefined {
  if (typeof value !== 'string' || !URL.canParse(value)) return undefined;
  return /^https?:$/.test(new URL(value).protocol) ? value : undefined;
}

/** The `token_endpoint` of a smart-configuration document. Pure. */
export function wellKnownTokenUrl(document: unknown): string | undefined {
  return isObject(document) ? httpUrl(document.token_endpoint) : undefined;
}

/** The `token` URI of a CapabilityStatement's oauth-uris security extension (SMART 1). Pure. */
export function capabilityTokenUrl(statement: unknown): string | undefined {
  const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
  for (const rest of list(isObject(statement) ? statement.rest : undefined)) {
    const security = isObject(rest) && isObject(rest.security) ? rest.security : undefined;
    const uris = list(security?.extension).find((x) => isObject(x) && x.url === OAUTH_URIS);
    const token = list(isObject(uris) ? uris.extension : undefined).find((x) => isObject(x) && x.url === 'token');
    const url = isObject(token) ? httpUrl(token.valueUri ?? token.valueUrl) : undefined;
    if (url !== undefined) return url;
  }
  return undefined;
}

/** The token URL a server announces; ERR_CONFIG (field `tokenUrl`) when it announces none. */
export async function discoverTokenUrl(client: Pick<DpcClient, 'transport' | 'baseUrl' | 'now'>, signal?: AbortSignal): Promise<string> {
  const failures: string[] = [];
  try {
    const { body } = await client.transport.json<unknown>({ path: '/.well-known/smart-configuration', auth: false, accept: MediaType.json, signal, maxBytes: 1024 * 1024 });
    const url = wellKnownTokenUrl(body);
    if (url !== undefined) return url;
    failures.push('/.well-known/smart-configuration has no token_endpoint URL');
  } catch (error) {
    if (!isDpcError(error) || error.code === 'ERR_ABORTED') throw error;
    failures.push(`/.well-known/smart-configuration: ${error.message}`);
  }
  try {
    const url = capabilityTokenUrl(await getCapabilityStatement(client));
    if (url !== undefined) return url;
    failures.push('the CapabilityStatement names no oauth-uris token URL');
  } catch (error) {
    if (!isDpcError(error) || error.code === 'ERR_ABORTED') throw error;
    failures.push(`/metadata: ${error.message}`);
  }
  throw new DpcError('ERR_CONFIG', `${client.baseUrl} announces no token endpoint (${serverText(failures.join('; '))}); give tokenUrl`, { field: 'tokenUrl' });
}
