/**
 * Transport bounds against misbehaving loopback servers (issue 12): a trickling body, an unanswered request, an
 * endless body where a small one belongs, an endless error body, a Retry-After past the deadline, one retry budget
 * shared by layers. Limits are configured small so each case ends fast; assertions are on outcomes, never on time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DpcError } from '../../src/errors.js';
import { RetryBudget, Transport, type TransportEvent, type TransportOptions } from '../../src/transport/index.js';
import { exchangeToken } from '../../src/auth/exchange.js';

let server: Server | undefined;
let requests = 0;
/** Body bytes the server managed to write before the client stopped it. */
let written = 0;

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  requests = 0;
  written = 0;
  server = createServer((req, res) => {
    requests++;
    handler(req, res);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
}

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** Write `chunk` as fast as the client reads, until the client goes away. */
function endless(res: ServerResponse, chunk: Buffer): void {
  const pump = (): void => {
    while (!res.destroyed) {
      written += chunk.length;
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
  };
  res.on('close', () => res.destroy());
  pump();
}

/** Write one byte every `everyMs` until the client goes away. */
function trickle(res: ServerResponse, everyMs: number): void {
  const timer = setInterval(() => res.write('x'), everyMs);
  res.on('close', () => clearInterval(timer));
}

function transport(baseUrl: string, events: TransportEvent[] = [], extra: Partial<TransportOptions> = {}): Transport {
  return new Transport({ baseUrl, retry: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 2 }, onEvent: (e) => events.push(e), ...extra });
}

async function failure(promise: Promise<unknown>): Promise<DpcError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(DpcError);
  expect((error as DpcError).message).not.toMatch(/[\r\n]/);
  return error as DpcError;
}

const MiB = 1 << 20;

describe('time bounds', () => {
  it('a body trickling one byte at a time fails with a named timeout', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/ndjson' });
      trickle(res, 10);
    });
    const t = transport(base, [], { bodyTimeoutMs: 100, minBodyBytes: 1000 });
    const error = await failure(t.text({ path: '/Data/x.ndjson' }));
    expect(error.code).toBe('ERR_TIMEOUT');
    expect(error.message).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/api\/v1\/Data\/x\.ndjson: the body stalled \(\d+ bytes in 0\.1 s, fewer than 1000\)$/);
    await t.close();
  });

  it('a streamed body stalls the same way while its reader waits', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200);
      res.write('x'.repeat(5000));
      trickle(res, 10);
    });
    const t = transport(base, [], { bodyTimeoutMs: 100, minBodyBytes: 1000 });
    const { body } = await t.stream({ path: '/Data/x.ndjson' });
    const error = await failure(body.toArray());
    expect(error.code).toBe('ERR_TIMEOUT');
    await t.close();
  });

  it('an unanswered request times out, is retried within the budget with an event per retry, and names the cause', async () => {
    const base = await serve(() => undefined); // never answers
    const events: TransportEvent[] = [];
    const t = transport(base, events, { headersTimeoutMs: 50 });
    const error = await failure(t.json({ path: '/Group' }));
    expect(error.code).toBe('ERR_TIMEOUT');
    expect(error.message).toMatch(/Headers Timeout.*\(after 2 retries\)$/);
    expect(requests).toBe(3);
    expect(events.filter((e) => e.type === 'retry')).toHaveLength(2);
    await t.close();
  });

  it('a Retry-After past the deadline fails at once, saying so, instead of sleeping', async () => {
    const base = await serve((_req, res) => res.writeHead(429, { 'retry-after': '86400' }).end('slow down'));
    const slept: number[] = [];
    const t = transport(base, [], { sleep: async (ms) => void slept.push(ms) });
    const error = await failure(t.text({ path: '/Data/x.ndjson', budget: new RetryBudget(5, Date.now() + 3_600_000) }));
    expect(error.code).toBe('ERR_RATE_LIMITED');
    expect(error.message).toMatch(/failed with 429: slow down; not retried: waiting 86400 s would pass the deadline \(maxWaitMs\)$/);
    expect(requests).toBe(1);
    expect(slept).toEqual([]);
    await t.close();
  });
});

describe('size bounds', () => {
  it('an endless body where a small one belongs is stopped at the cap, not read into memory', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      endless(res, Buffer.alloc(64 * 1024, 0x20));
    });
    const t = transport(base, [], { maxBodyBytes: MiB });
    const error = await failure(t.json({ path: '/Jobs/1' }));
    expect(error.code).toBe('ERR_HTTP');
    expect(error.message).toMatch(/\/Jobs\/1: the response body is larger than 1048576 bytes; refusing to read it$/);
    expect(written).toBeLessThan(64 * MiB); // the transfer stopped (socket buffers aside)
    await t.close();
  });

  it('an endless error body is read for its head only; control characters are escaped', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.write('\u001b[2J\u001b]0;pwned\u0007bad request\nerror: forged line ');
      endless(res, Buffer.alloc(64 * 1024, 0x41));
    });
    const t = transport(base);
    const error = await failure(t.json({ path: '/Group' }));
    expect(error.code).toBe('ERR_BAD_REQUEST');
    expect(error.message).toMatch(/^GET \/api\/v1\/Group failed with 400: \\u001b\[2J\\u001b\]0;pwned\\u0007bad request error: forged line A+… \[truncated, 65536 characters\]$/);
    expect(written).toBeLessThan(64 * MiB);
    await t.close();
  });

  it('an endless token answer is refused at 1 MiB while it streams', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).write('{"access_token":"');
      endless(res, Buffer.alloc(64 * 1024, 0x61));
    });
    const t = transport(base);
    const error = await failure(exchangeToken({ transport: t, tokenUrl: `${base}/Token/auth`, assertion: 'a.b.c' }));
    expect(error.message).toMatch(/the response body is larger than 1048576 bytes; refusing to read it$/);
    expect(written).toBeLessThan(64 * MiB);
    await t.close();
  });
});

describe('one retry budget per logical request', () => {
  it('two layers sharing a budget make as many requests as the message says', async () => {
    const base = await serve((_req, res) => res.writeHead(503).end('down'));
    const t = transport(base);
    const budget = new RetryBudget(4);
    // a caller retrying on top of the transport (as polling does): its retries come out of the same budget
    let error: DpcError;
    for (;;) {
      error = await failure(t.text({ path: '/Jobs/1', budget }));
      if (budget.take(0) !== 'ok') break;
    }
    expect(error.message).toMatch(/failed with 503: down \(after 4 retries\)$/);
    expect(requests).toBe(5);
    await t.close();
  });
});
