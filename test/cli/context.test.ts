import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isDpcError } from '../../src/errors.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testKeyPem } from '../keys.js';
import { withCliProcess } from '../../src/cli/cli-process.js';
import { clientFor, describeEvent, reportClientEvent, settingsFor, type GlobalArgs } from '../../src/cli/context.js';
import { formatTable, Output } from '../../src/cli/output.js';
import { Redactor } from '../../src/redact.js';

const argv: GlobalArgs = { json: false, debug: true, quiet: false, config: '/nonexistent/dpc/config.json' };

describe('describeEvent', () => {
  it('renders every transport and auth event as one line', () => {
    const url = 'http://127.0.0.1:1/api/v1/Key';
    const lines = [
      describeEvent({ type: 'request', method: 'GET', url, attempt: 0 }),
      describeEvent({ type: 'request', method: 'GET', url, attempt: 2 }),
      describeEvent({ type: 'response', method: 'GET', url, status: 200, ms: 12, requestId: 'abc' }),
      describeEvent({ type: 'retry', method: 'GET', url, status: 429, reason: 'HTTP 429', delayMs: 1000, attempt: 0 }),
      describeEvent({ type: 'reauth', method: 'GET', url }),
      describeEvent({ type: 'auth-exchange', tokenUrl: 'http://h/Token/auth', reason: 'expiring' }),
      describeEvent({ type: 'auth-token', tokenUrl: 'http://h/Token/auth', expiresInSec: 300, exchanges: 3 }),
      describeEvent({ type: 'auth-error', tokenUrl: 'http://h/Token/auth', code: 'ERR_AUTH', message: 'refused' }),
    ];
    expect(lines).toEqual([
      `→ GET ${url}`,
      `→ GET ${url} (attempt 3)`,
      `← 200 GET ${url} 12ms request-id abc`,
      `retrying GET ${url} in 1000ms: HTTP 429`,
      `GET ${url} got 401: refreshing the access token and replaying once`,
      'exchanging a client assertion at http://h/Token/auth (expiring)',
      'access token received, valid 300s (exchange #3)',
      'token exchange failed: ERR_AUTH refused',
    ]);
  });
});

describe('reportClientEvent', () => {
  const retry = { type: 'retry', method: 'GET', url: 'http://h/api/v1/Data/x', status: 429, reason: 'HTTP 429', delayMs: 120_000, attempt: 0 } as const;
  const capture = (tty: boolean) => {
    let text = '';
    const stderr = Object.assign(new Writable({ write: (c: Buffer, _e, done) => void ((text += c.toString()), done()) }), { isTTY: tty });
    return { output: new Output({ json: false, debug: false, stderr }), text: () => text };
  };

  it('logs every retry without --debug: a line on a terminal, an NDJSON record otherwise; nothing else', () => {
    const tty = capture(true);
    reportClientEvent(tty.output, retry);
    reportClientEvent(tty.output, { type: 'request', method: 'GET', url: retry.url, attempt: 0 });
    expect(tty.text()).toBe(`retrying GET ${retry.url} in 120000ms: HTTP 429\n`);
    const log = capture(false);
    reportClientEvent(log.output, retry);
    expect(JSON.parse(log.text())).toMatchObject({ eventId: 'retry', url: retry.url, status: 429, delayMs: 120_000 });
    expect(log.text().trim().split('\n')).toHaveLength(1);
  });
});

describe('settingsFor', () => {
  it('resolves flags over env without a config file', async () => {
    const { settings, configPath } = await settingsFor({ ...argv, keyId: '33333333-3333-4333-8333-333333333333' }, { DPC_PROFILE: 'prod', DPC_CLIENT_TOKEN: 't0ken-value' });
    expect(configPath).toBe('/nonexistent/dpc/config.json');
    expect(settings).toMatchObject({ profile: 'prod', baseUrl: 'https://prod.dpc.cms.gov/api/v1', clientToken: 't0ken-value', keyId: '33333333-3333-4333-8333-333333333333' });
  });
});

describe('clientFor', () => {
  it('requires a UUID key id for DPC only: a generic SMART server (tokenUrl set) takes any kid', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dpc-context-'));
    try {
      const keyPath = join(dir, 'private.pem');
      await writeFile(keyPath, testKeyPem(1), { mode: 0o600 });
      const base = { baseUrl: 'https://ehr.example.org/fhir', clientToken: 'client-id', privateKey: keyPath, keyId: 'ehr-key-1' };
      const config = join(dir, 'config.json');
      const dpc = { ...base, keyId: '33333333-3333-4333-8333-333333333333' };
      await writeFile(config, JSON.stringify({ profiles: { smart: { ...base, tokenUrl: 'https://ehr.example.org/token' }, dpc } }), { mode: 0o600 });
      // as one CLI run: clientFor registers the client token with the run's redactor, not the whole process's (which
      // the other test files in this worker share)
      const refused = await withCliProcess({}, async () => {
        const quiet = new Output({ json: false, debug: false, quiet: true });
        const client = await clientFor({ ...argv, debug: false, config, profile: 'smart' }, quiet);
        await client.close();
        // the same kid for a DPC profile is a typo caught before a 401
        return clientFor({ ...argv, debug: false, config, profile: 'dpc', keyId: 'ehr-key-1' }, quiet).catch((e: unknown) => e);
      });
      expect(isDpcError(refused, 'ERR_CONFIG')).toBe(true);
      expect((refused as Error).message).toMatch(/^key id "ehr-key-1" \(from flag\) is not a UUID/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('Output', () => {
  function capture(options: { json: boolean; quiet?: boolean; debug?: boolean; redactor?: Redactor }) {
    let out = '';
    let err = '';
    const sink = (append: (s: string) => void) => new Writable({ write(chunk, _e, done) { append(String(chunk)); done(); } });
    const output = new Output({ debug: false, ...options, stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) });
    return { output, get out() { return out; }, get err() { return err; } };
  }

  it('redacts registered secrets everywhere but in raw output', () => {
    const redactor = new Redactor();
    redactor.add('super-secret-client-token');
    const c = capture({ json: false, debug: true, redactor });
    c.output.result({}, () => 'token super-secret-client-token');
    c.output.info('info super-secret-client-token');
    c.output.debugLine('debug Bearer abcdefgh');
    c.output.raw('super-secret-client-token');
    expect(c.out).toBe('token [REDACTED]\nsuper-secret-client-token\n');
    expect(c.err).toBe('info [REDACTED]\ndebug: debug Bearer [REDACTED]\n');
  });

  it('prints JSON with --json and stays quiet with --quiet', () => {
    const c = capture({ json: true, quiet: true });
    c.output.result({ a: 1 }, () => 'human');
    c.output.info('progress');
    c.output.warn('careful');
    expect(c.out).toBe('{\n  "a": 1\n}\n');
    expect(c.err).toBe('warning: careful\n');
  });

  it('formats tables with upper-case headers', () => {
    expect(formatTable([{ id: 'a', label: 'x' }, { id: 'bb', label: undefined }], ['id', 'label'])).toBe('ID  Label\na   x\nbb');
    expect(formatTable([], ['id'])).toBe('(none)');
  });
});
