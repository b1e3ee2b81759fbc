/**
 * The organization's IP allow-list `/IpAddress` (server behaviour §11.3, DPC: R/IpAddressResource.java): production
 * accepts API calls only from these public addresses. JSON, not FHIR. At most 8 per organization.
 */
import { isIP } from 'node:net';
import type { DpcClient } from '../client.js';
import { DpcError } from '../errors.js';
import { MediaType } from '../transport/negotiation.js';
import { entitiesIn, entityIn } from './entities.js';

export interface IpAddressEntity {
  id: string;
  organizationId?: string;
  /** DPC serialises the stored `inet` as an object holding the text form. */
  ipAddress?: { address?: string };
  createdAt?: string;
}

/** DPC: R/IpAddressResource.java MAX_IPS — the ninth address is refused with 400. */
export const MAX_IP_ADDRESSES = 8;


/**
 * The problem with an address the user typed, or undefined when it is a plain IPv4 or IPv6 address. Ranges are
 * refused although DPC's parser drops a `/prefix`: the allow-list takes single addresses (DPC docs). Pure.
 */
export function ipAddressProblem(value: string): string | undefined {
  if (value.includes('/')) return `${JSON.stringify(value)} is a range; DPC takes single addresses`;
  return isIP(value) === 0 ? `${JSON.stringify(value)} is not an IPv4 or IPv6 address` : undefined;
}

export async function listIpAddresses(client: DpcClient): Promise<IpAddressEntity[]> {
  const { body } = await client.transport.json<unknown>({ path: '/IpAddress' });
  return entitiesIn<IpAddressEntity>(body, 'GET /IpAddress');
}

/** Adds one address; checked locally first (DPC's 400 says only `Invalid ip address`). */
export async function addIpAddress(client: DpcClient, address: string): Promise<IpAddressEntity> {
  const problem = ipAddressProblem(address);
  if (problem) throw new DpcError('ERR_INPUT', `ipAddress: ${problem}`, { field: 'ipAddress' });
  const { body } = await client.transport.json<unknown>({
    method: 'POST',
    path: '/IpAddress',
    body: JSON.stringify({ ip_address: address }),
    contentType: MediaType.json,
  });
  return entityIn<IpAddressEntity>(body, 'POST /IpAddress');
}

/** DELETE answers 204; an id that is not one of the organization's addresses is 404 (ERR_NOT_FOUND). */
export async function deleteIpAddress(client: DpcClient, id: string): Promise<void> {
  await client.transport.text({ method: 'DELETE', path: `/IpAddress/${encodeURIComponent(id)}` });
}
