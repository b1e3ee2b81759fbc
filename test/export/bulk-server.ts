/**
 * A small generic Bulk Data server on loopback for cases the sandbox does not produce: whatever completion body a
 * test sets (a bad transactionTime, server-declared error files), groups with odd ids or without active members
 * (406), and files written in chunks of a chosen size. Open (no token check); files are tokenless.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Transport } from '../../src/transport/index.js';
import type { DpcClient } from '../../src/client.js';
import { clientOn } from '../client-on.js';

export interface BulkJob {
  transactionTime?: string;
  /** Output entries: file name under /files/ with its content. */
  output?: Array<{ type: string; name: string; count?: number }>;
  error?: Array<{ type?: string; name: string; count?: number }>;
}

export interface BulkServerConfig {
  /** Completion of every job, by the kick-off's group id (`patient` for Patient/$export). */
  jobs: Record<string, BulkJob>;
  /** Groups listed by GET /Group: id and attributed NPI. */
  groups?: Array<{ id: string; npi?: string }>;
  /** Group ids whose kick-off answers 406 (no active members; DPC R/GroupResource.java export). */
  noActiveMembers?: string[];
  files: Record<string, string>;
  /** Write file bodies in chunks of this many bytes (default: one write). */
  chunkBytes?: number;
}

export interface BulkServer {
  base: string;
  config: BulkServerConfig;
  /** Every kick-off request path with its query. */
  kickoffs: string[];
  client(): DpcClient;
  close(): Promise<void>;
}

export async function startBulkServer(config: BulkServerConfig): Promise<BulkServer> {
  const kickoffs: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const path = decodeURIComponent(url.pathname);
    const kickoff = /^\/fhir\/(?:Group\/([^/]+)|(Patient))\/\$export$/.exec(path);
    if (kickoff) {
      kickoffs.push(`${path}${url.search}`);
      const id = kickoff[1] ?? 'patient';
      if (config.noActiveMembers?.includes(id)) {
        res.writeHead(406, { 'content-type': 'application/fhir+json' }).end(
          JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception', details: { text: 'Group must have active members' } }] }),
        );
        return;
      }
      res.writeHead(202, { 'content-location': `${base}/fhir/jobs/${encodeURIComponent(id)}` }).end();
    } else if (path.startsWith('/fhir/jobs/')) {
      const id = path.slice('/fhir/jobs/'.length);
      const job = config.jobs[id];
      if (!job) return void res.writeHead(404).end();
      const entry = (e: { type?: string; name: string; count?: number }) => ({ ...(e.type ? { type: e.type } : {}), url: `${base}/files/${e.name}`, ...(e.count === undefined ? {} : { count: e.count }) });
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          transactionTime: job.transactionTime ?? '2025-01-01T00:00:00Z',
          request: `${base}/fhir/Group/${id}/$export`,
          requiresAccessToken: false,
          output: (job.output ?? []).map(entry),
          error: (job.error ?? []).map(entry),
        }),
      );
    } else if (path === '/fhir/Group') {
      const entry = (config.groups ?? []).map((g) => ({
        resource: {
          resourceType: 'Group',
          id: g.id,
          type: 'person',
          actual: true,
          ...(g.npi ? { characteristic: [{ code: { coding: [{ code: 'attributed-to' }] }, valueCodeableConcept: { coding: [{ system: 'http://hl7.org/fhir/sid/us-npi', code: g.npi }] }, exclude: false }] } : {}),
        },
      }));
      res.writeHead(200, { 'content-type': 'application/fhir+json' }).end(JSON.stringify({ resourceType: 'Bundle', type: 'searchset', total: entry.length, entry }));
    } else if (path.startsWith('/files/')) {
      const content = config.files[path.slice('/files/'.length)];
      if (content === undefined) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/fhir+ndjson' });
      const bytes = Buffer.from(content);
      const step = config.chunkBytes ?? bytes.length;
      for (let i = 0; i < bytes.length; i += step) res.write(bytes.subarray(i, i + step));
      res.end();
    } else res.writeHead(404).end();
  });
  const base = await new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
  return {
    base,
    config,
    kickoffs,
    client: () => clientOn(new Transport({ baseUrl: `${base}/fhir`, tokenProvider: { getAccessToken: async () => 'bulk-test-token-0001' } })),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
