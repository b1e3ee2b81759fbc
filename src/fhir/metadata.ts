/** The server's CapabilityStatement (`GET /metadata`): public on DPC (server behaviour §0) and on open Bulk Data servers. */
import type * as fhir3 from 'fhir/r3.js';
import { DpcError } from '../errors.js';
import { serverText } from '../transport/error-body.js';
import type { FhirClient } from './http.js';

export async function getCapabilityStatement(client: FhirClient, signal?: AbortSignal): Promise<fhir3.CapabilityStatement> {
  const response = await client.transport.json<unknown>({ path: '/metadata', auth: false, signal });
  const body = response.body as { resourceType?: unknown } | null;
  if (body?.resourceType !== 'CapabilityStatement') {
    throw new DpcError('ERR_HTTP', `GET /metadata answered ${body === null || typeof body !== 'object' ? 'no resource' : `a ${serverText(String(body.resourceType), 40)}`}, not a CapabilityStatement`, {
      requestId: response.requestId,
    });
  }
  return body as fhir3.CapabilityStatement;
}
