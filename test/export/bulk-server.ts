/**
 * A small generic Bulk Data server on loopback for cases the sandbox does not produce: whatever completion body a
 * test sets (a bad transactionTime, a status response's Date, server-declared error files, Bulk Data 2.0 `deleted`
 * files, a paged manifest), groups with odd ids or without active members (406), and files written in chunks of a
 * chosen size. Open (no token check); files are tokenless.
 *
 * Where the SMART reference server (smart-on-fhir/bulk-data-server) is particular, this one behaves the same
 * (bulk_data_handler.ts, ExportManager.ts, lib.ts there): a kick-off needs `Accept: application/fhir+json` exactly and
 * `Prefer: respond-async` (400 OperationOutcome otherwise), takes `patient` only in a POST `Parameters` body, and
 * answers 202 with an OperationOutcome; a running job answers 202 with `X-Progress: N% complete, …` and
 * `Retry-After: 1`; a failed one an OperationOutcome (400); `DELETE` on the status URL cancels or removes the job
 * (202 OperationOutcome), after which its status is 404; with `contentEncoding` files are gzip or deflate as
 * `Accept-Encoding` asks; `/.well-known/smart-configuration` names its token endpoint.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll } from 'vitest';
import { Transport } from '../../src/transport/index.js';
import type { DpcClient } from '../../src/client.js';
import { clientOn } from '../client-on.js';

export interface BulkJob {
  transactionTime?: string;
  /** The status response's Date header (the server's clock); null: none at all. Default: Node's, the real time. */
  date?: string | null;
  /** Output entries: file name under /files/ with its content. */
  output?: Array<{ type: string; name: string; count?: number }>;
  error?: Array<{ type?: string; name: string; count?: number }>;
  /** Bulk Data 2.0 `deleted` entries (type Bundle: one Bundle of DELETE requests per line). */
  deleted?: Array<{ name: string; count?: number }>;
  /** Status polls answered 202 (X-Progress, Retry-After: 1) before the manifest, after each kick-off. */
  pending?: number;
  /** Every status poll answers this with an OperationOutcome (the reference server's failed export is 400). */
  failure?: { status: number; text: string };
  /** The manifest links (`relation: next`) to this job's manifest as its next page. */
  next?: string;
  /** The job expired: its status URL answers 410 Gone, to DELETE as well. */
  expired?: boolean;
}

export interface BulkServerConfig {
  /** Completion of every job, by the kick-off's group id (`patient` for Patient/$export, `system` for $export). */
  jobs: Record<string, BulkJob>;
  /** Groups listed by GET /Group: id and attributed NPI. */
  groups?: Array<{ id: string; npi?: string }>;
  /** Group ids whose kick-off answers 406 (no active members; DPC R/GroupResource.java export). */
  noActiveMembers?: string[];
  files: Record<string, string>;
  /** Write file bodies in chunks of this many bytes (default: one write). */
  chunkBytes?: number;
  /** Compress files as Accept-Encoding asks (gzip before deflate), as the reference server does. */
  contentEncoding?: boolean;
  /** Refuse DELETE on status URLs with 405, as DPC does (no cancel). */
  noCancel?: boolean;
}

export interface BulkRequest {
  method: string;
  /** Path with its query. */
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface BulkServer {
  base: string;
  config: BulkServerConfig;
  /** Every kick-off request path with its query. */
  kickoffs: string[];
  /** Every request, in arrival order. */
  requests: BulkRequest[];
  client(): DpcClient;
  close(): Promise<void>;
}

const outcome = (text: string, severity = 'error') => JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity, code: 'processing', diagnostics: text }] });

/**
 * The server of a test file (or describe block): started before its tests, closed after them. The object returned is
 * filled in when the server listens, so the file keeps one `const server` instead of its own beforeAll and afterAll.
 */
export function bulkServerForFile(config: BulkServerConfig): BulkServer {
  const server = {} as BulkServer;
  beforeAll(async () => {
    Object.assign(server, await startBulkServer(config));
  });
  afterAll(() => server.close());
  return server;
}

export async function startBulkServer(config: BulkServerConfig): Promise<BulkServer> {
  const kickoffs: string[] = [];
  const requests: BulkRequest[] = [];
  const polls = new Map<string, number>();
  /** The query of each job's kick-off, echoed in its manifest's `request` (`_since` makes a run incremental). */
  const queries = new Map<string, string>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method!, path: req.url!, headers: req.headers, body });
      answer(req, body, res);
    });
  });
  const answer = (req: IncomingMessage, body: string, res: ServerResponse) => {
    const url = new URL(req.url!, 'http://x');
    const path = decodeURIComponent(url.pathname);
    const fhirOutcome = (status: number, text: string, severity?: string) =>
      void res.writeHead(status, { 'content-type': 'application/fhir+json' }).end(outcome(text, severity));
    const kickoff = /^\/fhir\/(?:Group\/([^/]+)\/|(Patient)\/)?\$export$/.exec(path);
    if (kickoff) {
      kickoffs.push(`${path}${url.search}`);
      // reference server lib.ts requireFhirJsonAcceptHeader / requireRespondAsyncHeader
      if (req.headers.accept !== 'application/fhir+json') return fhirOutcome(400, 'The Accept header must be application/fhir+json');
      if (!String(req.headers.prefer ?? '').split(/\s*[,;]\s*/).includes('respond-async')) return fhirOutcome(400, 'The Prefer header must be respond-async');
      if (req.method === 'POST' && (JSON.parse(body || '{}') as { resourceType?: string }).resourceType !== 'Parameters') {
        return fhirOutcome(400, 'The POST body should be a Parameters resource');
      }
      if (req.method !== 'POST' && url.searchParams.has('patient')) return fhirOutcome(400, 'The "patient" parameter is only available in POST requests');
      const id = kickoff[1] ?? (kickoff[2] ? 'patient' : 'system');
      if (config.noActiveMembers?.includes(id)) {
        res.writeHead(406, { 'content-type': 'application/fhir+json' }).end(
          JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception', details: { text: 'Group must have active members' } }] }),
        );
        return;
      }
      polls.set(id, 0);
      queries.set(id, url.search);
      const location = `${base}/fhir/jobs/${encodeURIComponent(id)}`;
      res.writeHead(202, { 'content-location': location, 'content-type': 'application/fhir+json' }).end(outcome(`Your request has been accepted. You can check its status at "${location}"`, 'information'));
    } else if (path.startsWith('/fhir/jobs/')) {
      const id = path.slice('/fhir/jobs/'.length);
      const job = config.jobs[id];
      if (req.method === 'DELETE') {
        if (config.noCancel) return fhirOutcome(405, 'HTTP 405 Method Not Allowed');
        if (!job) return fhirOutcome(404, 'Unknown procedure. Perhaps it is already completed and thus, it cannot be canceled');
        if (job.expired) return fhirOutcome(410, 'The export has expired');
        delete config.jobs[id];
        return fhirOutcome(202, 'The procedure was canceled', 'information');
      }
      if (!job) return fhirOutcome(404, 'The export was not found');
      if (job.failure) return fhirOutcome(job.failure.status, job.failure.text);
      const poll = (polls.get(id) ?? Infinity) + 1;
      polls.set(id, poll);
      if (poll <= (job.pending ?? 0)) {
        res.writeHead(202, { 'x-progress': `${Math.floor((100 * poll) / (job.pending! + 1))}% complete, Please wait...`, 'retry-after': '1' }).end();
        return;
      }
      if (job.date === null) res.sendDate = false;
      else if (job.date !== undefined) res.setHeader('date', job.date);
      const entry = (e: { type?: string; name: string; count?: number }) => ({ ...(e.type ? { type: e.type } : {}), url: `${base}/files/${e.name}`, ...(e.count === undefined ? {} : { count: e.count }) });
      res.writeHead(200, { 'content-type': 'application/json', expires: new Date(Date.now() + 3_600_000).toUTCString() }).end(
        JSON.stringify({
          transactionTime: job.transactionTime ?? '2025-01-01T00:00:00Z',
          request: `${base}/fhir/Group/${id}/$export${queries.get(id) ?? ''}`,
          requiresAccessToken: false,
          output: (job.output ?? []).map(entry),
          error: (job.error ?? []).map(entry),
          ...(job.deleted ? { deleted: job.deleted.map((d) => entry({ type: 'Bundle', ...d })) } : {}),
          ...(job.next ? { link: [{ relation: 'next', url: `${base}/fhir/jobs/${encodeURIComponent(job.next)}` }] } : {}),
        }),
      );
    } else if (path === '/fhir/.well-known/smart-configuration') {
      // reference server fhir/wellKnownSmartConfiguration.ts (abridged)
      const document = { token_endpoint: `${base}/auth/token`, token_endpoint_auth_methods_supported: ['private_key_jwt'], token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'] };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document));
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
      // reference server ExportManager.download: gzip when asked, else deflate when asked
      const accepts = String(req.headers['accept-encoding'] ?? '');
      const encoding = !config.contentEncoding ? undefined : /\bgzip\b/.test(accepts) ? 'gzip' : /\bdeflate\b/.test(accepts) ? 'deflate' : undefined;
      res.writeHead(200, { 'content-type': 'application/fhir+ndjson', ...(encoding ? { 'content-encoding': encoding } : {}) });
      const bytes = encoding === 'gzip' ? gzipSync(content) : encoding === 'deflate' ? deflateSync(content) : Buffer.from(content);
      const step = config.chunkBytes ?? bytes.length;
      for (let i = 0; i < bytes.length; i += step) res.write(bytes.subarray(i, i + step));
      res.end();
    } else res.writeHead(404).end();
  };
  const base = await new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
  return {
    base,
    config,
    kickoffs,
    requests,
    client: () => clientOn(new Transport({ baseUrl: `${base}/fhir`, tokenProvider: { getAccessToken: async () => 'bulk-test-token-0001' } })),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
