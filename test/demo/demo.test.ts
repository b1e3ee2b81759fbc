/**
 * `dpc demo` as a real child process (the built CLI; `npm test` builds first): the JSON summary against the files on
 * disk (manifest, sha256 of every file, owner-only modes), no secret in anything printed under --debug, `--keep`
 * leaving a sandbox the other commands can use until Ctrl-C, and Ctrl-C mid-journey closing the sandbox.
 * Each run generates two real RSA-4096 keys, so the runs start together in beforeAll. The `--keep` child runs with
 * umask 000, so the owner-only modes of its folder must come from the code, not from the environment.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertBuilt, ROOT, runCli, spawnCli, type CliResult } from '../cli/run-cli.js';
import type { DemoSummary } from '../../src/demo/summary.js';
import { removeTempDirs, tempDir } from '../export/sandbox.js';

const BIN = join(ROOT, 'bin', 'dpc');

interface Running {
  stdout(): string;
  stderr(): string;
  /** Resolves with the stderr text once it matches `pattern`. */
  waitForStderr(pattern: RegExp): Promise<RegExpMatchArray>;
  signal(name: NodeJS.Signals): void;
  exited: Promise<number | null>;
}

function startDemo(args: string[]): Running {
  const child = spawn('/bin/sh', ['-c', 'umask 000; exec "$0" "$@"', process.execPath, BIN, 'demo', ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', TMPDIR: tmpdir(), NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ pattern: RegExp; resolve: (m: RegExpMatchArray) => void }> = [];
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    for (const w of [...waiters]) {
      const match = stderr.match(w.pattern);
      if (match) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(match);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    waitForStderr: (pattern) =>
      new Promise((resolve, reject) => {
        const match = stderr.match(pattern);
        if (match) return resolve(match);
        waiters.push({ pattern, resolve });
        void exited.then((code) => reject(new Error(`dpc demo exited (${code}) before stderr matched ${pattern}:\n${stderr}`)));
      }),
    signal: (name) => child.kill(name),
    exited,
  };
}

/** Every path under `dir` with its permission bits. */
async function modes(dir: string): Promise<Array<{ path: string; dir: boolean; mode: number }>> {
  const out: Array<{ path: string; dir: boolean; mode: number }> = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    out.push({ path, dir: entry.isDirectory(), mode: (await stat(path)).mode & 0o777 });
  }
  return out;
}

/** Nothing printed may carry a secret: not the values themselves, nor anything shaped like a token or key. */
async function expectNoSecrets(printed: string, demoDir: string): Promise<void> {
  const token = (await readFile(join(demoDir, 'client-token.txt'), 'utf8')).trim();
  expect(token.length).toBeGreaterThan(40);
  expect(printed).not.toContain(token);
  // every base64 line of both private keys' bodies
  const keyLines: string[] = [];
  for (const key of ['portal', 'api']) {
    const pem = await readFile(join(demoDir, 'keys', key, 'private.pem'), 'utf8');
    keyLines.push(...pem.split('\n').filter((l) => /^[A-Za-z0-9+/=]{40,}$/.test(l)));
  }
  expect(keyLines.length).toBeGreaterThan(20);
  for (const line of keyLines) expect(printed).not.toContain(line);
  expect(printed).not.toMatch(/Bearer/i);
  expect(printed).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
  expect(printed).not.toMatch(/W3[A-Za-z0-9_-]{20,}/);
  expect(printed).not.toMatch(/PRIVATE KEY/);
  expect(printed).not.toMatch(/client_assertion=(?!REDACTED)[A-Za-z0-9._-]{8,}/);
  // redaction is the last line of defence; nothing should even have reached it
  expect(printed).not.toContain('[REDACTED');
}

let jsonDir: string;
let jsonRun: CliResult;
let keepDir: string;
let keep: Running;
/** TMPDIR of a plain `dpc demo` (no --dir): its temp folder must be gone afterwards. */
let ownTmp: string;
let plainRun: Promise<CliResult>;

beforeAll(async () => {
  assertBuilt();
  let keepParent: string;
  [jsonDir, keepParent, ownTmp] = await Promise.all([tempDir('dpc-demo-test-'), tempDir('dpc-demo-test-'), tempDir('dpc-demo-test-')]);
  keepDir = join(keepParent, 'kept'); // made by the demo itself (under umask 000)
  keep = startDemo(['--dir', keepDir, '--keep', '--debug']);
  // a child: the demo's temporary folder comes from the process's TMPDIR
  plainRun = spawnCli(['demo'], { env: { TMPDIR: ownTmp } });
  jsonRun = await runCli(['demo', '--json', '--debug', '--dir', jsonDir]);
});

afterAll(async () => {
  keep?.signal('SIGTERM');
  await keep?.exited;
  await removeTempDirs();
});

describe('dpc demo without --dir', () => {
  it('removes its temporary folder at the end and says so; the summary does not point into it', async () => {
    const run = await plainRun;
    expect(run.code, run.stderr).toBe(0);
    const [made] = /files in (\S+)$/m.exec(run.stderr)?.slice(1) ?? [];
    expect(made?.startsWith(join(ownTmp, 'dpc-demo-'))).toBe(true);
    expect(run.stderr).toContain(`removed the temporary folder ${made} (keep the files with --dir DIR)`);
    expect(await readdir(ownTmp)).toEqual([]);
    expect(run.stdout).toContain(`${made} (temporary: removed now)`);
    expect(run.stdout).not.toContain('dpc export verify');
    expect(run.stdout).toContain('dpc demo --dir demo');
  });
});

describe('dpc demo --json', () => {
  it('exits 0 and reports every step, in order, as NDJSON on stderr', () => {
    expect(jsonRun.code, jsonRun.stderr).toBe(0);
    const steps = jsonRun.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { eventId: string; step: string; index: number; ms: number; message: string });
    expect(steps.map((s) => s.step)).toEqual(['sandbox', 'organization', 'keys', 'portal-key', 'api-key', 'token', 'register', 'roster', 'export', 'verify']);
    expect(steps.every((s, i) => s.eventId === 'demo_step' && s.index === i + 1 && Number.isInteger(s.ms) && s.message.length > 0)).toBe(true);
    expect(jsonRun.stderr).toMatch(/^debug: → POST http:\/\/127\.0\.0\.1:\d+\/api\/v1\/Key/m);
  });

  it('summarises the journey: two keys, the sample roster, one group exported and verified, the expected patient errors', () => {
    const summary = JSON.parse(jsonRun.stdout) as DemoSummary & { next: string[] };
    expect(summary.dir).toBe(jsonDir);
    expect(summary.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v1$/);
    expect(summary.keys.map((k) => k.registeredVia)).toEqual(['portal', 'api']);
    expect(summary.keyId).toBe(summary.keys[1]!.id);
    expect(new Set(summary.keys.map((k) => k.id)).size).toBe(2);
    expect(summary.accessToken.expiresInSec).toBe(300);
    expect(summary.registered).toEqual({ practitioners: 4, patients: 100 });
    // the published roster names 184 MBIs; its patient bundle holds 100 of them
    expect(summary.roster).toMatchObject({ file: 'roster-sandbox.csv', rows: 100 });
    expect(summary.roster.groups).toHaveLength(4);
    expect(summary.roster.groups.reduce((n, g) => n + g.members, 0)).toBe(100);

    const { exported, patientErrors } = summary;
    expect(exported.members).toBe(Math.max(...summary.roster.groups.map((g) => g.members)));
    expect(exported.verified).toBe(true);
    expect(exported.types).toEqual(['Patient', 'Coverage', 'ExplanationOfBenefit']);
    expect(new Set(exported.files.filter((f) => f.kind === 'output').map((f) => f.type))).toEqual(new Set(exported.types));
    // every member is either exported or reported as failed, and the sandbox always fails a few on purpose
    const patients = exported.files.filter((f) => f.type === 'Patient').reduce((n, f) => n + f.resources, 0);
    expect(patientErrors.total).toBeGreaterThan(0);
    expect(patients + patientErrors.total).toBe(exported.members);
    expect(exported.files.filter((f) => f.kind === 'error').reduce((n, f) => n + f.resources, 0)).toBe(patientErrors.total);
    expect(summary.next).toContain(`dpc export verify ${exported.dir}`);
  });

  it('leaves a manifest whose every file matches its sha256, size and count on disk', async () => {
    const summary = JSON.parse(jsonRun.stdout) as DemoSummary;
    const manifest = JSON.parse(await readFile(summary.exported.manifest, 'utf8')) as {
      files: Array<{ path: string; sha256: string; bytes: number; count: number }>;
    };
    expect(manifest.files.map((f) => f.path).sort()).toEqual(summary.exported.files.map((f) => f.path).sort());
    for (const file of manifest.files) {
      const bytes = await readFile(join(summary.exported.dir, file.path));
      expect(createHash('sha256').update(bytes).digest('hex'), file.path).toBe(file.sha256);
      expect(bytes.length).toBe(file.bytes);
      expect(bytes.toString('utf8').split('\n').filter(Boolean)).toHaveLength(file.count);
    }
    const verify = await runCli(['export', 'verify', summary.exported.dir]);
    expect(verify.code).toBe(0);
  });

  it('writes keys, client token and export owner-only: files 0600, folders 0700', async () => {
    const summary = JSON.parse(jsonRun.stdout) as DemoSummary;
    expect((await stat(jsonDir)).mode & 0o777).toBe(0o700);
    const entries = await modes(jsonDir);
    for (const path of [summary.organization.clientTokenFile, ...summary.keys.flatMap((k) => [k.privateKeyFile, k.publicKeyFile, k.signatureFile])]) {
      expect(entries.map((e) => e.path)).toContain(path);
    }
    expect(entries.filter((e) => e.dir && e.mode !== 0o700)).toEqual([]);
    expect(entries.filter((e) => !e.dir && e.mode !== 0o600)).toEqual([]);
  });

  it('prints no secret under --debug', async () => {
    await expectNoSecrets(jsonRun.stdout + jsonRun.stderr, jsonDir);
  });

  it('ends with a query hint that answers from the demo export (tables built owner-only on first use)', async () => {
    const summary = JSON.parse(jsonRun.stdout) as DemoSummary & { next: string[] };
    const sql = 'select claim_type, count(*) from claims group by 1';
    expect(summary.next.at(-1)).toBe(`dpc query ${jsonDir} "${sql}"`);
    const query = await runCli(['query', jsonDir, sql, '--json']);
    expect(query.code, query.stderr).toBe(0);
    const rows = JSON.parse(query.stdout) as Array<{ claim_type: string; 'count_star()': string }>;
    const claims = summary.exported.files.filter((f) => f.type === 'ExplanationOfBenefit').reduce((n, f) => n + f.resources, 0);
    expect(rows.reduce((n, r) => n + Number(r['count_star()']), 0)).toBe(claims);
    expect(new Set(rows.map((r) => r.claim_type))).toEqual(new Set(['CARRIER', 'INPATIENT', 'OUTPATIENT', 'PDE']));
    const entries = await modes(join(jsonDir, 'tables'));
    expect(entries.filter((e) => e.mode !== 0o600)).toEqual([]);
  });
});

describe('dpc demo --keep', () => {
  it('keeps the sandbox up for the other commands, printing no secret, and closes it on Ctrl-C with exit 0', async () => {
    const [, baseUrl] = await keep.waitForStderr(/keeps running at (\S+) until Ctrl-C/);
    const exports = Object.fromEntries([...keep.stderr().matchAll(/export (DPC_\w+)=(.*)/g)].map((m) => [m[1]!, m[2]!]));
    expect(exports.DPC_BASE_URL).toBe(baseUrl);
    expect(exports.DPC_CLIENT_TOKEN).toBe(`"$(cat ${join(keepDir, 'client-token.txt')})"`);
    const home = await tempDir('dpc-demo-test-');
    const groups = await runCli(['group', 'list', '--json'], {
      env: {
        HOME: home,
        DPC_CONFIG: join(home, 'config.json'),
        DPC_BASE_URL: exports.DPC_BASE_URL!,
        DPC_CLIENT_TOKEN: (await readFile(join(keepDir, 'client-token.txt'), 'utf8')).trim(),
        DPC_PRIVATE_KEY: exports.DPC_PRIVATE_KEY!,
        DPC_KEY_ID: exports.DPC_KEY_ID!,
      },
    });
    expect(groups.code, groups.stderr).toBe(0);
    expect(JSON.parse(groups.stdout)).toHaveLength(4);

    expect(keep.stdout()).toMatch(/verified ✓/);
    expect(keep.stdout()).toMatch(/patient errors +\d+ \(expected\)/);
    keep.signal('SIGINT');
    expect(await keep.exited).toBe(0);
    expect(keep.stderr()).toContain('stopping the sandbox');
    expect(keep.stderr()).toMatch(/^debug: /m);
    await expectNoSecrets(keep.stdout() + keep.stderr(), keepDir);
  });

  it('has written its folder owner-only (files 0600, folders 0700) under umask 000 by the time it holds', async () => {
    await keep.waitForStderr(/keeps running at (\S+) until Ctrl-C/);
    expect((await stat(keepDir)).mode & 0o777).toBe(0o700);
    const entries = await modes(keepDir);
    expect(entries.filter((e) => e.path.endsWith('private.pem'))).toHaveLength(2);
    expect(entries.filter((e) => e.dir && e.mode !== 0o700).map((e) => `${e.path}: ${e.mode.toString(8)}`)).toEqual([]);
    expect(entries.filter((e) => !e.dir && e.mode !== 0o600).map((e) => `${e.path}: ${e.mode.toString(8)}`)).toEqual([]);
  });
});

describe('dpc demo failures', () => {
  it('closes the sandbox and exits 1 with one line when interrupted mid-journey', async () => {
    const run = startDemo(['--dir', await tempDir('dpc-demo-test-')]);
    await run.waitForStderr(/ 1\/10 embedded DPC sandbox/);
    run.signal('SIGINT');
    expect(await run.exited).toBe(1);
    expect(run.stderr().trimEnd().split('\n').at(-1)).toBe('error: dpc demo interrupted; the sandbox was closed');
  });

  it('refuses a folder that already holds files, and a bad --scale, with exit 2', async () => {
    const dir = await tempDir('dpc-demo-test-');
    await writeFile(join(dir, 'notes.txt'), 'mine\n');
    const busy = await runCli(['demo', '--dir', dir]);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toBe(`error: --dir ${dir} is not empty; give a new or empty folder (the demo writes keys, a client token and an export there)\n`);
    expect(await readdir(dir)).toEqual(['notes.txt']);
    const scale = await runCli(['demo', '--scale', '0', '--dir', await tempDir('dpc-demo-test-')]);
    expect(scale.code).toBe(2);
    expect(scale.stderr).toBe('error: --scale must be an integer from 1 to 100, got 0\n');
  });
});
