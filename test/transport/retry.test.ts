import { describe, expect, it } from 'vitest';
import { acceptFor, backoffDelay, defaultRetryPolicy, mayRetry, parseErrorBody, parseHttpDate, parseRetryAfter, RetryBudget, serverNow, serverText } from '../../src/transport/index.js';
import { redact, redactUrl, Redactor } from '../../src/redact.js';
import { headerText } from '../../src/transport/negotiation.js';
import { shownServerUrl } from '../../src/transport/server-url.js';
import { createClient } from '../../src/client.js';
import { testKey } from '../keys.js';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP-dates, clamped to [0, max]', () => {
    expect(parseRetryAfter('7', NOW, 60_000)).toBe(7000);
    expect(parseRetryAfter(' 0 ', NOW, 60_000)).toBe(0);
    expect(parseRetryAfter('999999', NOW, 60_000)).toBe(60_000);
    expect(parseRetryAfter(new Date(NOW + 5000).toUTCString(), NOW, 60_000)).toBe(5000);
    expect(parseRetryAfter(new Date(NOW - 5000).toUTCString(), NOW, 60_000)).toBe(0);
    expect(parseRetryAfter(['3', '9'], NOW, 60_000)).toBe(3000);
  });

  it('ignores absent and unparseable values', () => {
    for (const value of [undefined, '', 'soon', '-1', '1.5']) expect(parseRetryAfter(value, NOW, 60_000)).toBeUndefined();
  });
});

describe("HTTP-dates and the server's clock", () => {
  it('parses the three HTTP-date forms; anything else is no date', () => {
    expect(parseHttpDate('Wed, 25 Nov 2026 12:00:00 GMT')).toBe(NOW);
    expect(parseHttpDate(['Wednesday, 25-Nov-26 12:00:00 GMT'])).toBe(NOW);
    expect(parseHttpDate('Wed Nov 25 12:00:00 2026')).toBe(NOW);
    for (const bad of [undefined, '', '1', '-1', '2026-11-25T12:00:00Z', 'Wed, 99 Foo 2026 12:00:00 GMT']) expect(parseHttpDate(bad)).toBeUndefined();
  });

  it("is the server's Date when there is one, else this machine's clock", () => {
    expect(serverNow(NOW + 86_400_000, NOW)).toEqual({ now: NOW + 86_400_000, clock: 'server' });
    expect(serverNow(undefined, NOW)).toEqual({ now: NOW, clock: 'local' });
  });
});

describe('backoff and retry rules', () => {
  it('grows exponentially with full jitter under the cap', () => {
    expect(backoffDelay(0, defaultRetryPolicy, () => 1)).toBe(500);
    expect(backoffDelay(3, defaultRetryPolicy, () => 1)).toBe(4000);
    expect(backoffDelay(20, defaultRetryPolicy, () => 1)).toBe(30_000);
    expect(backoffDelay(3, defaultRetryPolicy, () => 0)).toBe(0);
  });

  it('retries 429 always, transient failures only when idempotent', () => {
    expect(mayRetry(429, false)).toBe(true);
    expect(mayRetry(503, false)).toBe(false);
    expect(mayRetry(503, true)).toBe(true);
    expect(mayRetry(undefined, true)).toBe(true);
    expect(mayRetry(500, true)).toBe(false);
    expect(mayRetry(400, true)).toBe(false);
  });

  it('a budget is shared: it counts retries, refuses past its maximum or its deadline, and resets', () => {
    const budget = new RetryBudget(2, NOW + 10_000);
    expect(budget.take(1000, NOW)).toBe('ok');
    expect(budget.take(20_000, NOW)).toBe('deadline');
    expect(budget.take(1000, NOW)).toBe('ok');
    expect(budget.take(0, NOW)).toBe('exhausted');
    expect(budget.retries).toBe(2);
    budget.reset();
    expect(budget.take(0, NOW)).toBe('ok');
  });
});

describe('negotiation and error bodies', () => {
  it('picks Accept by endpoint, also for absolute URLs', () => {
    expect(acceptFor('/api/v1/Jobs/1')).toBe('application/json');
    expect(acceptFor('/api/v1/Token/auth')).toBe('application/json');
    expect(acceptFor('/api/v1/Data/a.ndjson')).toBe('application/ndjson');
    expect(acceptFor('/api/v1/Group/1/$export')).toBe('application/fhir+json');
  });

  it('flattens and caps messages', () => {
    expect(parseErrorBody('  ')).toBeUndefined();
    expect(parseErrorBody('{"error":"invalid_client","error_description":"bad assertion"}')).toBe('bad assertion');
    expect(parseErrorBody('x'.repeat(600))).toBe(`${'x'.repeat(500)}… [truncated, 600 characters]`);
  });

  it('escapes control characters and caps a huge reason, examining only its head', () => {
    expect(serverText('a\u001b[2J\u001b]0;title\u0007b\nerror: forged')).toBe('a\\u001b[2J\\u001b]0;title\\u0007b error: forged');
    expect(serverText('\u202eevil\u009b')).toBe('\\u202eevil\\u009b');
    const huge = serverText('y'.repeat(20 * 1024 * 1024), 100);
    expect(huge).toBe(`${'y'.repeat(100)}… [truncated, 20971520 characters]`);
  });

  it('keeps a header and a URL a server sent as one short escaped line, credentials masked', () => {
    expect(headerText(undefined, 10)).toBeUndefined();
    expect(headerText(['first\u001b[2J', 'second'], 100)).toBe('first\\u001b[2J');
    expect(headerText('z'.repeat(30), 10)).toBe(`${'z'.repeat(10)}… [truncated, 30 characters]`);
    expect(shownServerUrl('https://user:pw@h/Data/x?token=abc')).toBe('https://user:REDACTED@h/Data/x?token=REDACTED');
    expect(shownServerUrl(`https://h/${'p'.repeat(300)}`)).toBe(`https://h/${'p'.repeat(190)}… [truncated, 310 characters]`);
  });
});

describe('redaction', () => {
  it('masks tokens, assertions, keys and the secrets a redactor knows', () => {
    const jwt = 'eyJhbGciOiJSUzM4NCJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJlc2ln';
    const macaroon = `W3sidiI6Miwi${'A'.repeat(50)}==`;
    const redactor = new Redactor();
    redactor.add('opaque-secret-value');
    const text = `Bearer abc.def ${jwt} ${macaroon} -----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY----- opaque-secret-value`;
    const out = redactor.redact(text);
    for (const secret of ['abc.def', jwt, macaroon, 'MII', 'opaque-secret-value']) expect(out).not.toContain(secret);
    expect(redact(text)).toContain('opaque-secret-value');
    expect(redactUrl('http://h/Data/x?token=abc&x=1')).toBe('http://h/Data/x?token=REDACTED&x=1');
  });

  it('scopes known secrets to one redactor, and keeps only recent short-lived ones', () => {
    const mine = new Redactor();
    const other = new Redactor();
    mine.add('client-one-secret');
    expect(other.redact('client-one-secret')).toBe('client-one-secret');
    for (let i = 0; i < 100; i++) mine.addShortLived(`access-token-${i}`);
    expect(mine.redact('access-token-0 access-token-99 client-one-secret')).toBe('access-token-0 [REDACTED] [REDACTED]');
  });

  it("a client's redactor knows the client token and a fixed access token it was given", async () => {
    const baseUrl = 'https://dpc.example.org/api/v1';
    const withKey = createClient({ baseUrl, clientToken: 'opaque-client-token', privateKey: testKey(1), keyId: '33333333-3333-4333-8333-333333333333' });
    const withToken = createClient({ baseUrl, accessToken: 'opaque-access-token' });
    try {
      expect(withKey.redactor.redact('x opaque-client-token y')).toBe('x [REDACTED] y');
      expect(withToken.redactor.redact('x opaque-access-token y')).toBe('x [REDACTED] y');
    } finally {
      await Promise.all([withKey.close(), withToken.close()]);
    }
  });
});
