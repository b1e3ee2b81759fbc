/**
 * DPC's `@PathAuthorizer` (dpc-api auth/filters/PathAuthorizationFilter.java, auth/macaroonauth/MacaroonsAuthenticator.java):
 * the resource named in the path is checked inside the authentication filter, so it answers before the FHIR
 * media-type filter, the X-Provenance header, the body or the query are looked at.
 */
import { ApiError, jerseyNotFound, unauthorized } from './http.js';
import type { Store } from './state.js';
import { isUuid } from '../shared/identifiers.js';

export type PathAuthorized = 'Organization' | 'Group' | 'Patient' | 'Practitioner';

/**
 * The record with this id if it belongs to the organization. DPC: MacaroonsAuthenticator.authenticate searches
 * attribution by `_id` and organization; an empty result is `NotFoundException("<type> not found")`, so an unknown id
 * and another organization's id are the same 404.
 */
export function ownedRecord<T extends { orgId: string }>(records: ReadonlyMap<string, T>, type: PathAuthorized, orgId: string, id: string): T {
  const record = records.get(id);
  if (!record || record.orgId !== orgId) throw new ApiError(404, `${type} not found`);
  return record;
}

/** The filter's check for a route's path id. DPC: validateOrganization — any org but the token's is 401, not 404. */
export function authorizePath(store: Store, type: PathAuthorized, orgId: string, id: string): void {
  if (type === 'Organization') {
    if (id !== orgId) throw unauthorized();
    return;
  }
  // attribution's search takes `_id` as a Java UUID: anything else fails its conversion (JAX-RS: 404), and the HAPI
  // client's ResourceNotFoundException relays attribution's OperationOutcome (dpc-common HAPIExceptionHandler)
  if (!isUuid(id)) throw jerseyNotFound();
  const records = type === 'Group' ? store.groups : type === 'Patient' ? store.patients : store.practitioners;
  ownedRecord<{ orgId: string }>(records, type, orgId, id);
}
