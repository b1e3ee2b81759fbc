/**
 * A small misbehaving Bulk Data server on loopback for bounds tests: Patient-level kick-off at `/fhir/Patient/$export`
 * answers 202 with `Content-Location: /fhir/status`; every other path is answered by the route whose prefix matches,
 * so each test scripts exactly the misbehaviour it needs (a stalled body, an endless one, a lying manifest).
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach } from 'vitest';
import { CHECKSUM_EXTENSION, FILE_LENGTH_EXTENSION } from '../../src/export/manifest.js';
import { Transport, type TransportOptions } from '../../src/transport/index.js';

export type Handler = (req: IncomingMessage, res: ServerResponse, hit: number) => void;

export interface HostileServer {
  origin: string;
  /** `${origin}/fhir`: the base URL clients use. */
  base: string;
  /** Paths (with query) in arrival order. */
  seen: string[];
  /** Answer requests whose path starts with `prefix`; `hit` counts them from 1. Later routes win. */
  route(prefix: string, handler: Handler): void;
  /** Requests seen whose path starts with `prefix`. */
  hits(prefix: string): number;
  /** A transport on this server with a fake bearer token and quick retries. */
  transport(options?: Partial<TransportOptions>): Transport;
  close(): Promise<void>;
}

/** A fresh hostile server for each test of a file (routes never leak between tests), closed after it. */
export function hostileServerPerTest(): HostileServer {
  const server = {} as HostileServer;
  beforeEach(async () => {
    Object.assign(server, await startHostileServer());
  });
  afterEach(() => server.close());
  return server;
}

export async function startHostileServer(): Promise<HostileServer> {
  const routes: Array<{ prefix: string; handler: Handler; hits: number }> = [];
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    seen.push(path);
    const match = [...routes].reverse().find((r) => path.startsWith(r.prefix));
    if (!match) {
      res.writeHead(404).end();
      return;
    }
    match.hits++;
    match.handler(req, res, match.hits);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const hostile: HostileServer = {
    origin,
    base: `${origin}/fhir`,
    seen,
    route(prefix, handler) {
      routes.push({ prefix, handler, hits: 0 });
    },
    hits: (prefix) => seen.filter((p) => p.startsWith(prefix)).length,
    transport: (options = {}) =>
      new Transport({
        baseUrl: `${origin}/fhir`,
        tokenProvider: { getAccessToken: async () => 'hostile-test-access-token' },
        retry: { baseDelayMs: 1, maxDelayMs: 5 },
        ...options,
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  hostile.route('/fhir/Patient/$export', (_req, res) => res.writeHead(202, { 'content-location': `${origin}/fhir/status` }).end());
  return hostile;
}

export interface FileEntry {
  type?: string;
  url: string;
  count?: number;
  sha256?: string;
  fileLength?: number;
}

/** A completed job's status body listing `output` (checksum and file_length as DPC's extensions). */
export function completion(output: FileEntry[], error: FileEntry[] = []): string {
  const entry = (f: FileEntry) => ({
    type: f.type ?? 'Patient',
    url: f.url,
    ...(f.count === undefined ? {} : { count: f.count }),
    extension: [
      ...(f.sha256 === undefined ? [] : [{ url: CHECKSUM_EXTENSION, valueString: `sha256:${f.sha256}` }]),
      ...(f.fileLength === undefined ? [] : [{ url: FILE_LENGTH_EXTENSION, valueDecimal: f.fileLength }]),
    ],
  });
  return JSON.stringify({ transactionTime: '2025-01-01T00:00:00Z', request: 'x', requiresAccessToken: true, output: output.map(entry), error: error.map(entry) });
}

export const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

export function lines(n: number): string {
  return Array.from({ length: n }, (_, i) => `{"resourceType":"Patient","id":"p${i}"}\n`).join('');
}
