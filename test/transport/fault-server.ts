/** A scripted loopback HTTP server for transport tests: each request takes the next reply for its path. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Destroy the socket instead of answering. */
  hangUp?: boolean;
}

export interface Seen {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface FaultServer {
  origin: string;
  seen: Seen[];
  /** Queue replies for a path (`/api/v1/Patient`); when the queue is empty the fallback answers. */
  script(path: string, ...replies: Reply[]): void;
  /** Forget scripted replies and seen requests. */
  reset(): void;
  close(): Promise<void>;
}

export async function startFaultServer(fallback: (seen: Seen) => Reply = () => ({ status: 200, body: '{}' })): Promise<FaultServer> {
  const queues = new Map<string, Reply[]>();
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const request = { method: req.method ?? 'GET', path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      seen.push(request);
      const reply = queues.get(path)?.shift() ?? fallback(request);
      if (reply.hangUp) {
        req.socket.destroy();
        return;
      }
      res.writeHead(reply.status ?? 200, { 'x-request-id': `req-${seen.length}`, ...reply.headers });
      res.end(reply.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    seen,
    script(path, ...replies) {
      queues.set(path, [...(queues.get(path) ?? []), ...replies]);
    },
    reset() {
      queues.clear();
      seen.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
