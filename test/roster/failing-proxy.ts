/**
 * A loopback proxy in front of the sandbox that fails chosen writes the way servers and networks do mid-sync: an
 * error status without touching the sandbox, a connection reset before the request reaches it, or a reset after the
 * sandbox applied it (the answer lost). Everything else is passed through unchanged.
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Failure =
  | { status: number; message: string }
  /** Destroy the client's socket without forwarding: nothing reaches the sandbox. */
  | 'reset-before'
  /** Forward, let the sandbox apply it, then destroy the client's socket instead of answering. */
  | 'reset-after';

export interface FailingProxy {
  /** http://127.0.0.1:PORT/api/v1 */
  baseUrl: string;
  /** Fail the next request whose `METHOD path` (path without /api/v1) matches, after letting `skip` of them through. */
  failNext(match: RegExp, failure: Failure, skip?: number): void;
  /** `METHOD path` of every write (non-GET) passed on or failed, in order. */
  writes: string[];
  close(): Promise<void>;
}

export async function startFailingProxy(sandboxOrigin: string): Promise<FailingProxy> {
  const armed: Array<{ match: RegExp; failure: Failure; skip: number }> = [];
  const writes: string[] = [];
  const target = new URL(sandboxOrigin);
  const server: Server = createServer((req, res) => {
    const name = `${req.method} ${new URL(req.url ?? '/', 'http://x').pathname.replace(/^\/api\/v1/, '')}`;
    if (req.method !== 'GET') writes.push(name);
    const i = armed.findIndex((a) => a.match.test(name) && a.skip-- <= 0);
    const failure = i >= 0 ? armed.splice(i, 1)[0]!.failure : undefined;
    if (failure === 'reset-before') {
      req.socket.destroy();
      return;
    }
    if (failure !== undefined && failure !== 'reset-after') {
      req.resume();
      const body = JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'processing', details: { text: failure.message } }] });
      res.writeHead(failure.status, { 'content-type': 'application/fhir+json', 'x-request-id': 'proxy-failure' }).end(body);
      return;
    }
    const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer: IncomingMessage) => {
      if (failure === 'reset-after') {
        answer.resume();
        answer.on('end', () => req.socket.destroy());
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/api/v1`,
    failNext: (match, failure, skip = 0) => armed.push({ match, failure, skip }),
    writes,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
