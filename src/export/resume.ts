/**
 * Resuming a run: a file verified in an earlier attempt (recorded, still on disk at its size, its record matching the
 * manifest) is skipped once the server confirms it still serves those bytes, without downloading them again.
 * DPC's ETag is the file's SHA-256 (the manifest checksum), and `If-None-Match: <hex>` (or `<hex>--gzip`) gets a
 * 304 on GET and HEAD (DPC: R/DataResource.java returnCachedValue, converters/ChecksumParamConverter.java); HEAD sends
 * no body either way and does not check the job's expiry.
 */
import { isDpcError } from '../errors.js';
import { headerValue } from '../transport/negotiation.js';
import type { Transport } from '../transport/index.js';
import type { PlannedFile } from './manifest.js';
import { fileRequestAuth, type VerifiedFile } from './download.js';

/** An ETag as DPC and proxies write it: optional `W/`, optional quotes, optional `--gzip` suffix. Pure. */
export function etagHex(etag: string | undefined): string | undefined {
  return etag?.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1').replace(/--(gzip|deflate)$/, '').toLowerCase();
}

/**
 * Whether the server still has exactly the recorded bytes at the file's URL. Without a manifest checksum the server's
 * ETags mean nothing to us (generic servers), so the record stands as it is. A 304, or a 200 whose ETag is our hash,
 * confirms; anything else (another ETag, an error status, no answer) does not, and the file is downloaded again,
 * where a real failure surfaces with its own error.
 */
export async function serverConfirms(
  transport: Transport,
  file: PlannedFile,
  recorded: VerifiedFile,
  options: { requiresAccessToken: boolean; signal?: AbortSignal },
): Promise<boolean> {
  if (file.sha256 === undefined) return true;
  const url = transport.resolve(file.url);
  try {
    // text(): the transport reads the (empty) HEAD body to its end, bounded, and frees the connection
    const response = await transport.text({
      method: 'HEAD',
      path: url.href,
      auth: fileRequestAuth(transport, url, options.requiresAccessToken),
      headers: { 'if-none-match': recorded.sha256 },
      okStatuses: [200, 304],
      signal: options.signal,
    });
    return response.status === 304 || etagHex(headerValue(response.headers.etag)) === recorded.sha256;
  } catch (error) {
    if (isDpcError(error, 'ERR_ABORTED')) throw error;
    return false;
  }
}
