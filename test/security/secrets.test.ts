/**
 * Secrets never reach output, and what the CLI writes is owner-only (issue #6). A full `--debug` flow runs through
 * the CLI against an in-process seeded sandbox: key generation and upload, the token exchange, credentials and keys
 * listings, roster sync, groups, a bulk export with status and verify, and an authentication failure (whose --debug
 * output includes a stack trace). All stdout, stderr and the files the export writes beside the data (state,
 * manifests) are searched for every real secret of the run and for secret shapes. (`dpc demo`'s output and files get
 * the same search and mode check in test/demo/demo.test.ts.)
 *
 * The real values come from the sandbox's side of the wire: its HTTP server is wrapped (node:http createServer) to
 * record each Authorization header it receives, each access token it issues and each client assertion posted to
 * /Token/auth, without touching the request or the response. The commands that write files (`keys generate`,
 * `export run`) run as children of the built CLI with umask 000, so owner-only modes must come from the code, not
 * from the environment; the others run in this process (runCli).
 */
import type * as fhir3 from 'fhir/r3.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { mbiOf, resourcesOfType } from '../../src/fhir/resources.js';
import { assertBuilt, ROOT, runCli } from '../cli/run-cli.js';
import { exportFixture, tempDir, type ExportFixture } from '../export/sandbox.js';

/** What the sandbox saw: bearer tokens received, access tokens issued, assertions posted. */
const wire = vi.hoisted(() => ({ bearers: new Set<string>(), issued: new Set<string>(), assertions: new Set<string>() }));

vi.mock('node:http', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:http')>();
  const record = (req: IncomingMessage, res: ServerResponse) => {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) wire.bearers.add(auth.slice(7));
    if (!req.url?.includes('/Token/auth')) return;
    // observe the body as the parser hands it over, without consuming the stream
    const chunks: Buffer[] = [];
    const push = req.push.bind(req);
    req.push = (chunk: unknown, encoding?: BufferEncoding) => {
      if (chunk) chunks.push(Buffer.from(chunk as Buffer));
      return push(chunk, encoding);
    };
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    res.end = ((...args: unknown[]) => {
      const assertion = new URLSearchParams(Buffer.concat(chunks).toString()).get('client_assertion');
      if (assertion) wire.assertions.add(assertion);
      const body = args[0];
      if (typeof body === 'string' || Buffer.isBuffer(body)) {
        try {
          const token = (JSON.parse(body.toString()) as { access_token?: string }).access_token;
          if (token) wire.issued.add(token);
        } catch {
          // not a token response
        }
      }
      return end(...args);
    }) as ServerResponse['end'];
  };
  const createServer = ((...args: Parameters<typeof actual.createServer>) => {
    const server = actual.createServer(...args);
    server.prependListener('request', record);
    return server;
  }) as typeof actual.createServer;
  return { ...actual, createServer, default: { ...actual, createServer } };
});

const BIN = fileURLToPath(new URL('../../bin/dpc', import.meta.url));

let fx: ExportFixture;
let work: string;
let env: Record<string, string>;
interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const transcript: Array<{ args: string[] } & Run> = [];

/** The commands that write files: their modes are checked below, so they run in a process with umask 000. */
const WRITE_FILES = new Set(['keys generate', 'export run']);

/** `dpc …` with --debug (a child under umask 000 if it writes files), everything it prints kept for the search. */
async function dpc(args: string[], extraEnv: Record<string, string> = {}, record = true): Promise<Run> {
  const result = WRITE_FILES.has(args.slice(0, 2).join(' ')) ? await child(args, extraEnv) : await runCli([...args, '--debug'], { env: { ...env, ...extraEnv } });
  if (record) transcript.push({ args, ...result });
  return result;
}

/** `dpc …` as a child of the built CLI under umask 000. */
function child(args: string[], extraEnv: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const proc = spawn('/bin/sh', ['-c', 'umask 000; exec "$0" "$@"', process.execPath, BIN, ...args, '--debug'], {
      cwd: ROOT,
      env: { ...env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    proc.on('error', reject);
    proc.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  assertBuilt();
  fx = await exportFixture({ jobDurationMs: 100 });
  work = await tempDir('dpc-security-');
  const seed = fx.sandbox.seed!;
  env = {
    PATH: process.env.PATH ?? '',
    TMPDIR: tmpdir(),
    HOME: work,
    DPC_CONFIG: join(work, 'no-config.json'),
    DPC_BASE_URL: fx.sandbox.baseUrl,
    DPC_CLIENT_TOKEN: seed.clientToken,
    DPC_PRIVATE_KEY: seed.privateKeyPath,
    DPC_KEY_ID: seed.keyId,
  };
}, 30_000);

afterAll(async () => {
  await fx?.close();
});

const mode = async (path: string) => (await stat(path)).mode & 0o777;

/** Every file under `dir`, recursively. */
async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(path, ...(await walk(path)));
    else out.push(path);
  }
  return out;
}

/** The base64 lines of a PEM's body: any one of them in output would be a leak. */
function pemLines(pem: string): string[] {
  return pem.split('\n').filter((l) => /^[A-Za-z0-9+/=]{40,}$/.test(l));
}

/** Every real secret of the run: the seed's client token and private key, the generated key, and what crossed the wire. */
async function knownSecrets(): Promise<Array<[string, string]>> {
  return [
    ['client token', fx.sandbox.seed!.clientToken],
    ...pemLines(fx.privateKeyPem).map((l) => ['seed private key line', l] as [string, string]),
    ...pemLines(await readFile(join(work, 'keys', 'private.pem'), 'utf8')).map((l) => ['generated private key line', l] as [string, string]),
    ...[...wire.issued].map((t) => ['issued access token', t] as [string, string]),
    ...[...wire.bearers].map((t) => ['bearer token sent', t] as [string, string]),
    ...[...wire.assertions].map((a) => ['client assertion', a] as [string, string]),
    // the signature part alone identifies an assertion
    ...[...wire.assertions].map((a) => ['client assertion signature', a.split('.')[2]!] as [string, string]),
  ];
}

const SHAPES: Array<[string, RegExp]> = [
  ['PEM private key armour', /-----BEGIN [A-Z ]*PRIVATE KEY-----/],
  ['a JWT', /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/],
  ['a DPC macaroon', /W3[A-Za-z0-9_-]{40,}/],
  ['a bearer token', /Bearer\s+(?!\[REDACTED)[A-Za-z0-9._~+/-]{8,}/i],
  ['a client_assertion value', /client_assertion=(?!REDACTED)[A-Za-z0-9._-]{8,}/],
];

/** `where: what` for every secret value or secret shape found in the texts. */
function leaksIn(texts: ReadonlyArray<[string, string]>, secrets: ReadonlyArray<[string, string]>): string[] {
  const leaks: string[] = [];
  for (const [where, text] of texts) {
    for (const [what, value] of secrets) if (value.length >= 8 && text.includes(value)) leaks.push(`${where}: ${what}`);
    for (const [what, shape] of SHAPES) {
      const hit = shape.exec(text);
      if (hit) leaks.push(`${where}: ${what} (${hit[0].slice(0, 24)}…)`);
    }
  }
  return leaks;
}

/** The flow every test below reads (run once, before any of them, so no test depends on another one's run). */
async function runFlow(): Promise<void> {
  const keys = join(work, 'keys');
  await dpc(['keys', 'generate', '--out', keys]);
  await dpc(['keys', 'add', '--public-key', join(keys, 'public.pem'), '--label', 'qa-rotation']);
  await dpc(['keys', 'list']);
  await dpc(['tokens', 'list']);
  await dpc(['org', 'show']);

  const known = new Set(resourcesOfType<fhir3.Patient>(JSON.parse(await readFile(join(ROOT, 'samples/patient_bundle-dpr.json'), 'utf8')), 'Patient', 'b').map(mbiOf));
  const rows = (await readFile(join(ROOT, 'samples/test_associations-dpr.csv'), 'utf8')).split(/\r?\n/).filter((l) => known.has(l.split(',')[0]));
  await writeFile(join(work, 'roster.csv'), `mbi,npi\n${rows.slice(0, 12).join('\n')}\n`);
  await dpc(['roster', 'sync', join(work, 'roster.csv')]);
  await dpc(['group', 'list']);

  const out = join(work, 'export');
  await dpc(['export', 'run', '--all-groups', '--out', out, '--poll-interval', '50ms']);
  await dpc(['export', 'status', out]);
  await dpc(['export', 'verify', out]);
  await dpc(['org', 'show'], { DPC_KEY_ID: randomUUID() });
}

describe('a full --debug flow through the CLI', () => {
  beforeAll(runFlow, 120_000);

  it('runs: keys, auth, credentials, roster, groups, export, verify, and a failed authentication', () => {
    // 4 for the export: the sandbox fails some sample patients on purpose; 3: the refused authentication
    const expected = [[0], [0], [0], [0], [0], [0], [0], [0, 4], [0], [0], [3]];
    expect(transcript.map((t) => `dpc ${t.args.join(' ')}`)).toHaveLength(expected.length);
    transcript.forEach((t, i) => expect(expected[i], `dpc ${t.args.join(' ')} exited ${t.code}; stderr:\n${t.stderr.slice(-1500)}`).toContain(t.code));
    expect(transcript.at(-1)!.stderr).toMatch(/^\s+at /m); // --debug prints the stack: it must be clean too

    // the run did use real secrets, so the search below has something to find
    expect(wire.assertions.size).toBeGreaterThanOrEqual(7);
    expect(wire.issued.size).toBeGreaterThanOrEqual(7);
    expect(wire.bearers.size).toBeGreaterThanOrEqual(7);
  });

  it('printed no private key, client token, access token or client assertion, by value or by shape', async () => {
    const out = join(work, 'export');
    const sideFiles = (await walk(out)).filter((p) => !p.endsWith('.ndjson') && !p.endsWith('.gz'));
    const texts = [
      ...transcript.flatMap((t) => [[`dpc ${t.args.join(' ')} (stdout)`, t.stdout], [`dpc ${t.args.join(' ')} (stderr)`, t.stderr]]),
      ...(await Promise.all(sideFiles.map(async (p) => [p, await readFile(p, 'utf8').catch(() => '')] as [string, string]))),
    ] as Array<[string, string]>;

    const secrets = await knownSecrets();
    expect(leaksIn(texts, secrets)).toEqual([]);
    // the debug output is really there (and redacted): requests, the exchange, the stack of the failure
    const all = transcript.map((t) => t.stderr).join('\n');
    expect(all).toMatch(/debug: → POST .*\/Token\/auth/);
    expect(all).toMatch(/← 200 GET .*\/Data\//); // export run logs its debug lines as events when stderr is not a terminal
  });

  it('the search does find secrets: `dpc auth token` and `dpc auth assertion` print them on purpose', async () => {
    const token = await dpc(['auth', 'token'], {}, false);
    const assertion = await dpc(['auth', 'assertion'], {}, false);
    expect(token.code).toBe(0);
    expect(assertion.code).toBe(0);
    const found = new Set(leaksIn([['auth token', token.stdout], ['auth assertion', assertion.stdout], ['a key', fx.privateKeyPem]], await knownSecrets()).map((l) => l.replace(/ \(.*$/, '')));
    expect([...found]).toEqual(expect.arrayContaining(['a key: PEM private key armour', 'a key: seed private key line', 'auth assertion: a JWT', 'auth token: a DPC macaroon', 'auth token: issued access token']));
    // and what they print on stderr under --debug is still clean
    expect(leaksIn([['auth token (stderr)', token.stderr], ['auth assertion (stderr)', assertion.stderr]], await knownSecrets())).toEqual([]);
  });

  it('created key files and exported files owner-only (0600 files, 0700 folders) under umask 000', async () => {
    const keys = join(work, 'keys');
    expect(await mode(keys)).toBe(0o700);
    expect(await mode(join(keys, 'private.pem'))).toBe(0o600);
    const out = join(work, 'export');
    expect(await mode(out)).toBe(0o700);
    const wrong: string[] = [];
    for (const path of await walk(out)) {
      const info = await stat(path);
      const want = info.isDirectory() ? 0o700 : 0o600;
      if ((info.mode & 0o777) !== want) wrong.push(`${path}: ${(info.mode & 0o777).toString(8)}`);
    }
    expect(wrong).toEqual([]);
    expect((await walk(out)).filter((p) => p.endsWith('.ndjson')).length).toBeGreaterThanOrEqual(3);
  });
});
