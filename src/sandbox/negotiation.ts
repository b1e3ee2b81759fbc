/**
 * Content negotiation as DPC does it (behaviour doc §0.1): FHIR endpoints demand FHIR media types
 * (415 otherwise, `$export` even refuses wildcards), JSON endpoints answer 406 to FHIR Accept headers.
 * Pure functions over header values.
 */
import { ApiError } from './http.js';

interface MediaRange {
  type: string;
  subtype: string;
}

function parseMediaRanges(header: string | undefined): MediaRange[] {
  if (header === undefined || header.trim() === '') return [{ type: '*', subtype: '*' }];
  return header
    .split(',')
    .map((part) => part.split(';')[0]!.trim().toLowerCase())
    .filter((part) => part.length > 0)
    .map((part) => {
      const [type = '', subtype = ''] = part.split('/');
      return { type, subtype };
    });
}

function matches(range: MediaRange, offered: string): boolean {
  const [type, subtype] = offered.split('/');
  return (range.type === '*' || range.type === type) && (range.subtype === '*' || range.subtype === subtype);
}

function admitsAny(ranges: readonly MediaRange[], offered: readonly string[]): boolean {
  return ranges.some((range) => offered.some((o) => matches(range, o)));
}

/** True when some range in the Accept header admits one of the offered types. */
export function acceptsAny(accept: string | undefined, offered: readonly string[]): boolean {
  return admitsAny(parseMediaRanges(accept), offered);
}

/** The media type of a Content-Type header without parameters, or undefined when absent. */
function mediaType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  return contentType.split(';')[0]!.trim().toLowerCase();
}

const FHIR_TYPES = ['application/fhir+json', 'application/fhir+ndjson'];

/**
 * FHIRRequestFilter: some Accept range must be compatible with a FHIR type (`application/*` is), and on `$export` URLs
 * none may be the full wildcard, which an absent Accept counts as; Content-Type must be FHIR JSON.
 */
export function checkFhirHeaders(accept: string | undefined, contentType: string | undefined, isExport: boolean): void {
  const ranges = parseMediaRanges(accept);
  const anything = isExport && ranges.some((range) => range.type === '*' && range.subtype === '*');
  if (!admitsAny(ranges, FHIR_TYPES) || anything) {
    throw new ApiError(415, '`Accept:` header must specify valid FHIR content type');
  }
  const type = mediaType(contentType);
  if (type !== undefined && type !== 'application/fhir+json') {
    throw new ApiError(415, '`Content-Type:` header must specify valid FHIR content type');
  }
}

/** JAX-RS @Produces: an Accept header that admits none of the produced types is 406. */
export function checkProduces(accept: string | undefined, produces: readonly string[]): void {
  if (!acceptsAny(accept, produces)) throw new ApiError(406, 'HTTP 406 Not Acceptable');
}

/** JAX-RS @Consumes: a request body of another (or no) media type is 415. */
export function checkConsumes(contentType: string | undefined, consumes: string): void {
  if (mediaType(contentType) !== consumes) throw new ApiError(415, 'HTTP 415 Unsupported Media Type');
}
