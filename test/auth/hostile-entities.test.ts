/**
 * DPC's JSON answers (/Token, /Key, /IpAddress) of the wrong shape from a hostile server (a real loopback server):
 * ERR_HTTP in one line naming what came, never a TypeError from walking or printing it.
 */
import type { ServerResponse } from 'node:http';
import { expect, it } from 'vitest';
import { DpcError } from '../../src/errors.js';
import { getPublicKey, listClientTokens, listPublicKeys } from '../../src/auth/admin.js';
import { listIpAddresses } from '../../src/auth/ip-addresses.js';
import { hostileServerPerTest } from '../export/hostile-server.js';
import { clientOn } from '../client-on.js';

const server = hostileServerPerTest();

const json = (body: unknown) => (_req: unknown, res: ServerResponse) =>
  res.writeHead(200, { 'content-type': 'application/json' }).end(typeof body === 'string' ? body : JSON.stringify(body));

it.each([
  ['/fhir/Key', [], listPublicKeys, 'GET /Key answered an array, not a collection'],
  ['/fhir/Key', { entities: { id: 'k' } }, listPublicKeys, 'GET /Key answered a collection whose "entities" is an object, not an array'],
  ['/fhir/Key', { entities: [{ id: 'k1' }, 'k2'] }, listPublicKeys, 'GET /Key entities[1] answered a string, not an entity'],
  ['/fhir/Token', { entities: [{ id: 7 }] }, listClientTokens, 'GET /Token entities[0] answered an entity whose id is a number'],
  ['/fhir/IpAddress', 'null', listIpAddresses, 'GET /IpAddress answered null, not a collection'],
] as const)('%s answering %j', async (path, body, list, message) => {
  server.route(path, json(body));
  const failure = await list(clientOn(server.transport())).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(DpcError);
  expect((failure as DpcError).code).toBe('ERR_HTTP');
  expect((failure as DpcError).message).toBe(message);
});

it('a list that names no entities is empty, as before', async () => {
  server.route('/fhir/Key', json({ count: 0 }));
  expect(await listPublicKeys(clientOn(server.transport()))).toEqual([]);
});

it('GET /Key/{id} answering a string', async () => {
  server.route('/fhir/Key/k1', json('"a key"'));
  const failure = await getPublicKey(clientOn(server.transport()), 'k1').catch((error: unknown) => error);
  expect((failure as DpcError).message).toBe('GET /Key/k1 answered a string, not an entity');
});
