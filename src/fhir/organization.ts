/** The caller's own Organization (server behaviour §4.1): `GET /Organization` answers a one-entry Bundle. */
import type * as fhir3 from 'fhir/r3.js';
import { DpcError } from '../errors.js';
import { fhirGet } from './http.js';
import type { DpcClient } from '../client.js';

export async function getOrganization(client: DpcClient): Promise<fhir3.Organization> {
  return organizationIn(await fhirGet<fhir3.Bundle<fhir3.Organization>>(client, '/Organization'));
}

/** The organization of a `GET /Organization` Bundle. Pure. */
export function organizationIn(bundle: fhir3.Bundle<fhir3.Organization> | undefined): fhir3.Organization {
  const org = bundle?.entry?.[0]?.resource;
  if (!org?.id) throw new DpcError('ERR_HTTP', 'GET /Organization returned no organization for this client token');
  return org;
}
