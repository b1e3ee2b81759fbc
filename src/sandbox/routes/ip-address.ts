/**
 * The organization's IP allow-list `/IpAddress` (behaviour doc §11.3, DPC: R/IpAddressResource.java). JSON, not
 * FHIR: `{code, message}` errors. Production manages the list in the portal (the API answers 403 there); the sandbox
 * behaves like the non-production APIs, which serve it.
 */
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { formatInstant } from '../clock.js';
import { ApiError, parseJson } from '../http.js';
import { isRecord } from '../shape.js';
import type { Route } from '../router.js';
import type { IpAddressRecord } from '../state.js';
import { collection } from './token.js';

/** DPC: R/IpAddressResource.java MAX_IPS. */
export const MAX_IPS = 8;

/**
 * DPC: R/IpAddressResource.java submitIpAddress — `new Inet(value).toInetAddress()`, which drops a `/prefix` and
 * parses the rest; any failure (including a missing value) is 400 `Invalid ip address: <value>`. DPC would also
 * resolve a host name through DNS; the sandbox does no DNS, so it takes IPv4/IPv6 literals only.
 */
function checkedAddress(value: unknown): string {
  const text = typeof value === 'string' ? value : undefined;
  if (text === undefined || isIP(text.replace(/\/.*$/, '')) === 0) throw new ApiError(400, `Invalid ip address: ${text ?? 'null'}`);
  return text;
}

/** IpAddressEntity as Jackson writes it: the address is hypersistence's Inet, an object with `address`. */
function ipEntity(record: IpAddressRecord) {
  return { id: record.id, organizationId: record.orgId, ipAddress: { address: record.address }, createdAt: formatInstant(record.createdAt) };
}

export const ipAddressRoutes: Route[] = [
  {
    methods: ['GET'], path: '/IpAddress', flavor: 'json',
    handler: (ctx) => collection(ctx.app.store.ipAddressesOf(ctx.orgId).map(ipEntity), ctx.app.clock.now()),
  },
  {
    methods: ['POST'], path: '/IpAddress', flavor: 'json',
    handler: async (ctx) => {
      const body = parseJson(await ctx.body(), 'json');
      // DPC: the address is checked first, then the count (duplicates are allowed: the table has no unique key).
      const address = checkedAddress(isRecord(body) ? body.ip_address : undefined);
      if (ctx.app.store.ipAddressesOf(ctx.orgId).length >= MAX_IPS) throw new ApiError(400, `Max Ips for organization reached: ${MAX_IPS}`);
      const record: IpAddressRecord = { id: randomUUID(), orgId: ctx.orgId, address, createdAt: ctx.app.clock.now() };
      ctx.app.store.ipAddresses.set(record.id, record);
      ctx.app.store.markDirty();
      return { status: 200, body: ipEntity(record) };
    },
  },
  {
    methods: ['DELETE'], path: '/IpAddress/:id', flavor: 'json', uuidId: true,
    handler: (ctx) => {
      // DPC: only the org's own addresses are looked at; anything else is 404.
      const record = ctx.app.store.ipAddresses.get(ctx.params.id!);
      if (!record || record.orgId !== ctx.orgId) throw new ApiError(404, 'Ip address not found');
      ctx.app.store.ipAddresses.delete(record.id);
      ctx.app.store.markDirty();
      return { status: 204 };
    },
  },
];
