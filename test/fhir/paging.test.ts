/**
 * Search paging bounded against a misbehaving server (issue 12): an endless or cyclic `next` chain stops with a clear
 * error instead of thousands of requests (DPC's firewall blocks ~300 in 5 minutes).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listGroups } from '../../src/fhir/groups.js';
import { listPatients } from '../../src/fhir/patients.js';
import { MAX_SEARCH_PAGES, searchAll } from '../../src/fhir/http.js';
import { startHostileServer, type HostileServer } from '../export/hostile-server.js';
import { clientOn } from '../client-on.js';

let server: HostileServer;

beforeEach(async () => {
  server = await startHostileServer();
});

afterEach(async () => {
  await server.close();
});

function bundle(resourceType: string, id: string, next?: string): string {
  return JSON.stringify({
    resourceType: 'Bundle',
    type: 'searchset',
    entry: [{ resource: { resourceType, id } }],
    link: next === undefined ? [] : [{ relation: 'next', url: next }],
  });
}

describe('search paging', () => {
  it('an endless next chain of Group pages stops at the page limit with a clear error', async () => {
    server.route('/fhir/Group', (req, res) => {
      const page = Number(new URL(req.url!, server.origin).searchParams.get('page') ?? 0);
      res.writeHead(200, { 'content-type': 'application/fhir+json' }).end(bundle('Group', `g${page}`, `${server.base}/Group?page=${page + 1}`));
    });
    const client = clientOn(server.transport());
    await expect(listGroups(client)).rejects.toMatchObject({
      code: 'ERR_HTTP',
      message: `search /Group: page ${MAX_SEARCH_PAGES}: the search goes on past ${MAX_SEARCH_PAGES} pages; stopped following it`,
    });
    expect(server.hits('/fhir/Group')).toBe(MAX_SEARCH_PAGES);
    await client.transport.close();
  });

  it('a cyclic next chain of Patient pages is caught at the repeat', async () => {
    server.route('/fhir/Patient', (req, res) => {
      const offset = Number(new URL(req.url!, server.origin).searchParams.get('_offset') ?? 0);
      // page 0 → 1 → 2 → back to 1
      const next = `${server.base}/Patient?_count=1000&_offset=${offset === 2 ? 1 : offset + 1}`;
      res.writeHead(200, { 'content-type': 'application/fhir+json' }).end(bundle('Patient', `p${offset}`, next));
    });
    const client = clientOn(server.transport());
    await expect(listPatients(client)).rejects.toMatchObject({
      code: 'ERR_HTTP',
      message: 'search /Patient: page 3: its "next" link repeats an earlier page (a loop); stopped following it',
    });
    expect(server.hits('/fhir/Patient')).toBe(3);
    await client.transport.close();
  });

  it('a finite chain is followed to its end', async () => {
    server.route('/fhir/Group', (req, res) => {
      const page = Number(new URL(req.url!, server.origin).searchParams.get('page') ?? 0);
      res.writeHead(200, { 'content-type': 'application/fhir+json' }).end(bundle('Group', `g${page}`, page < 4 ? `${server.base}/Group?page=${page + 1}` : undefined));
    });
    const client = clientOn(server.transport());
    expect((await searchAll(client, '/Group', undefined, 5)).map((g) => g.id)).toEqual(['g0', 'g1', 'g2', 'g3', 'g4']);
    await client.transport.close();
  });
});
