/**
 * The caller's own Organization (server behaviour §4.1, §11.4): `GET /Organization` answers a one-entry Bundle,
 * `GET|PUT /Organization/{id}` read and replace it (any other organization's id is 401).
 */
import type * as fhir3 from 'fhir/r3.js';
import { DpcError } from '../errors.js';
import { fhirGet, fhirWrite, idOf, readResource } from './http.js';
import type { DpcClient } from '../client.js';
import { inputRejected, organizationProblems } from './validate.js';

export async function getOrganization(client: DpcClient): Promise<fhir3.Organization> {
  return organizationIn(await fhirGet<fhir3.Bundle<fhir3.Organization>>(client, '/Organization'));
}

/** The organization of a `GET /Organization` Bundle. Pure. */
export function organizationIn(bundle: fhir3.Bundle<fhir3.Organization> | undefined): fhir3.Organization {
  const org = bundle?.entry?.[0]?.resource;
  if (!org?.id) throw new DpcError('ERR_HTTP', 'GET /Organization returned no organization for this client token');
  return org;
}

/** `GET /Organization/{id}`: only your own organization's id is allowed (401 otherwise). */
export function readOrganization(client: DpcClient, id: string): Promise<fhir3.Organization> {
  return readResource<fhir3.Organization>(client, 'Organization', id);
}

/**
 * `PUT /Organization/{id}` with the whole resource: DPC replaces the NPI, name, address and contacts
 * (DPC: R/OrganizationResource.java updateOrganization, OrganizationEntity.update). Checked against
 * dpc-profile-organization first; nothing is sent when it does not conform.
 */
export async function updateOrganization(client: DpcClient, organization: fhir3.Organization): Promise<fhir3.Organization> {
  const problems = organizationProblems(organization).map((p) => `organization: ${p}`);
  if (problems.length > 0) throw inputRejected('organization', problems);
  const { body } = await fhirWrite<fhir3.Organization>(client, 'PUT', `/Organization/${encodeURIComponent(idOf(organization))}`, organization);
  return body;
}

export interface OrganizationChanges {
  name?: string;
  /** Street lines; replace the current ones. */
  addressLines?: readonly string[];
  city?: string;
  state?: string;
  postalCode?: string;
  country?: string;
}

/**
 * The organization with these changes applied to its name and its (single) address. An address the profile needs
 * `use` and `type` on gets DPC's usual `work` / `both` when it has none. Pure.
 */
export function applyOrganizationChanges(organization: fhir3.Organization, changes: OrganizationChanges): fhir3.Organization {
  const addressChanged = [changes.addressLines, changes.city, changes.state, changes.postalCode, changes.country].some((v) => v !== undefined);
  const next: fhir3.Organization = { ...organization };
  if (changes.name !== undefined) next.name = changes.name;
  if (!addressChanged) return next;
  const current = organization.address?.[0] ?? {};
  next.address = [
    {
      ...current,
      use: current.use ?? 'work',
      type: current.type ?? 'both',
      ...(changes.addressLines !== undefined ? { line: [...changes.addressLines] } : {}),
      ...(changes.city !== undefined ? { city: changes.city } : {}),
      ...(changes.state !== undefined ? { state: changes.state } : {}),
      ...(changes.postalCode !== undefined ? { postalCode: changes.postalCode } : {}),
      ...(changes.country !== undefined ? { country: changes.country } : {}),
    },
  ];
  return next;
}
