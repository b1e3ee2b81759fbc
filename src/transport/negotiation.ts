/**
 * Per-endpoint content negotiation (server behaviour §0.1): FHIR resources want `application/fhir+json`
 * (plain `application/json` is a 415), Token/Key/IpAddress and Jobs want `application/json` (FHIR on Jobs is a 406),
 * Data files are `application/ndjson`.
 */
import { serverText } from './error-body.js';

export const MediaType = {
  fhirJson: 'application/fhir+json',
  json: 'application/json',
  ndjson: 'application/ndjson',
  fhirNdjson: 'application/fhir+ndjson',
  form: 'application/x-www-form-urlencoded',
  text: 'text/plain',
} as const;

const JSON_ENDPOINTS = new Set(['Token', 'Key', 'IpAddress', 'Jobs']);

/** The Accept header a DPC endpoint expects, from the first path segment after `/v1` (or the last segments of a generic server). */
export function acceptFor(pathname: string): string {
  const segments = pathname.split('/').filter(Boolean);
  const v1 = segments.indexOf('v1');
  const first = v1 >= 0 ? segments[v1 + 1] : segments[0];
  if (first === 'Data') return MediaType.ndjson;
  if (first !== undefined && JSON_ENDPOINTS.has(first)) return MediaType.json;
  if (first === 'version') return MediaType.text;
  return MediaType.fhirJson;
}

/** A header's value, the first one when it was sent more than once. Pure. */
export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** A server's header value fit to print or keep (serverText): the first one, one line, escaped, at most `max` characters. Pure. */
export function headerText(value: string | string[] | undefined, max: number): string | undefined {
  const text = headerValue(value);
  return text === undefined ? undefined : serverText(text, max);
}
