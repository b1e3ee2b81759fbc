/**
 * The output layer: control characters from servers escaped, readable table headers without empty columns, English
 * plurals, footers on stderr, and failures reported once in the shape the command's output asks for (a JSON error
 * object on stdout with --json, one JSON event per line on an event log's non-terminal stderr).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeControl, escapeControlKeepLines, jsonForTerminal } from '../../src/escape.js';
import { formatTable, headerOf, Output } from '../../src/cli/output.js';
import { DpcError } from '../../src/errors.js';
import { plural } from '../../src/plural.js';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { testKey } from '../keys.js';
import { runCli } from './run-cli.js';

/** What a hostile server puts in an error: clear the screen, retitle the window, and forge a line of our own. */
const EVIL = 'bad\u001b[2J\u001b]0;pwned\u0007 request\nerror: forged line\r\u009b31m';

describe('escaping (pure)', () => {
  it('makes every control character visible, keeping our own line breaks only where asked', () => {
    expect(escapeControl(EVIL)).toBe('bad\\u001b[2J\\u001b]0;pwned\\u0007 request\\u000aerror: forged line\\u000d\\u009b31m');
    expect(escapeControlKeepLines('a\nb\u001b[1m\u202e')).toBe('a\nb\\u001b[1m\\u202e');
    expect(jsonForTerminal({ m: '\u001b\u009b' })).toBe('{"m":"\\u001b\\u009b"}');
    expect(JSON.parse(jsonForTerminal({ m: '\u009b' }))).toEqual({ m: '\u009b' });
  });
});

describe('tables (pure)', () => {
  it('reads headers as words, abbreviations in capitals', () => {
    expect(['patientErrors', 'mib', 'npi', 'patientId', 'jobUrl', 'label'].map(headerOf)).toEqual(['Patient errors', 'MiB', 'NPI', 'Patient ID', 'Job URL', 'Label']);
  });

  it('leaves out columns empty in every row, takes explicit headers, and keeps each cell on one line', () => {
    const rows = [{ label: 'g1', progress: undefined, createdAt: '2026-01-01', note: 'x\ny\u001b[2J' }, { label: 'g2', progress: '', createdAt: '', note: '' }];
    expect(formatTable(rows, ['label', 'progress', ['createdAt', 'Created'], 'note'])).toBe(
      ['Label  Created     Note', 'g1     2026-01-01  x\\u000ay\\u001b[2J', 'g2'].join('\n'),
    );
  });

  it('counts in English', () => {
    expect([plural(1, 'patient error'), plural(2, 'patient error'), plural(0, 'file'), plural(1, 'entry', 'entries'), plural(3, 'entry', 'entries')]).toEqual([
      '1 patient error', '2 patient errors', '0 files', '1 entry', '3 entries',
    ]);
  });
});

function sinks() {
  const text = { out: '', err: '' };
  const make = (key: 'out' | 'err') => new Writable({ write: (chunk: Buffer, _e, done) => void ((text[key] += chunk.toString()), done()) });
  return { text, stdout: make('out'), stderr: make('err') };
}

describe('Output', () => {
  it('prints a failure once per channel: error line, JSON object with --json, JSON event in an event log', () => {
    const error = new DpcError('ERR_PARTIAL', `export finished with ${plural(1, 'patient')} not exported`, { details: [`g1: 1 × ${EVIL}`], requestId: 'r-1' });
    const human = sinks();
    new Output({ json: false, debug: false, ...human }).failure(error);
    expect(human.text).toEqual({ out: '', err: `partial: export finished with 1 patient not exported (request id r-1)\n  g1: 1 × ${escapeControl(EVIL)}\n` });

    const json = sinks();
    new Output({ json: true, debug: false, ...json }).failure(new DpcError('ERR_NOT_FOUND', 'no group for NPI 1234329724'));
    expect(JSON.parse(json.text.out)).toEqual({ ok: false, error: { code: 'ERR_NOT_FOUND', message: 'no group for NPI 1234329724', exitCode: 1 } });
    expect(json.text.err).toBe('error: no group for NPI 1234329724\n');

    const log = sinks();
    const output = new Output({ json: false, debug: false, quiet: false, eventLog: true, ...log });
    output.warn('key file is readable by others');
    output.info('two\nlines');
    output.failure(error);
    const lines = log.text.err.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ eventId: 'warning', message: 'key file is readable by others' }),
      expect.objectContaining({ eventId: 'info', message: 'two\nlines' }),
      expect.objectContaining({ eventId: 'partial', code: 'ERR_PARTIAL', exitCode: 4, requestId: 'r-1', details: [`g1: 1 × ${EVIL}`] }),
    ]);
    expect(log.text.err).not.toMatch(/[\u001b\u009b]/);
  });

  it('footers go to stderr for people: not with --quiet, not with --json', () => {
    for (const [options, expected] of [[{}, '100 patients\n'], [{ quiet: true }, ''], [{ json: true }, '']] as const) {
      const s = sinks();
      new Output({ json: false, debug: false, ...options, ...s }).footer('100 patients');
      expect(s.text).toEqual({ out: '', err: expected });
    }
  });
});

describe('over loopback: a hostile server cannot drive the terminal', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/fhir+json', 'x-request-id': 'req-1' });
      res.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', details: { text: EVIL } }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/api/v1`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const env = () => ({ DPC_CONFIG: '/nonexistent/dpc.json', DPC_BASE_URL: base, DPC_ACCESS_TOKEN: 'fixed-access-token' });

  it('escapes the error on stderr: one line, no escape sequences, no forged error: line', async () => {
    const { code, stdout, stderr } = await runCli(['org', 'show'], { env: env() });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^error: .*bad\\u001b\[2J\\u001b\]0;pwned\\u0007 request error: forged line (\\u000d)?\\u009b31m/);
  });

  it('with --json a failure is a JSON error object on stdout', async () => {
    const { code, stdout } = await runCli(['org', 'show', '--json'], { env: env() });
    expect(code).toBe(2);
    const printed = JSON.parse(stdout) as { ok: boolean; error: { code: string; message: string; exitCode: number } };
    expect(printed).toMatchObject({ ok: false, error: { code: 'ERR_BAD_REQUEST', exitCode: 2 } });
    expect(printed.error.message).toContain('forged line');
    expect(stdout).not.toMatch(/[\u001b\u009b]/);
  });

  it("export run's non-terminal stderr is pure NDJSON, its failure included", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dpc-output-'));
    try {
      const { code, stderr } = await runCli(['export', 'run', '--group', 'g1', '--out', dir], { env: env() });
      expect(code).toBe(2);
      const events = stderr.trimEnd().split('\n').map((l) => JSON.parse(l) as { eventId: string; message?: string });
      expect(events.at(-1)).toMatchObject({ eventId: 'error', message: expect.stringContaining('forged line') });
      expect(stderr).not.toMatch(/[\u001b\u009b]/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('over loopback: footers and plurals', () => {
  let sandbox: SandboxHandle;
  beforeAll(async () => {
    sandbox = await startSandbox({ seed: true, seedKey: testKey(0) });
  }, 60_000);
  afterAll(() => sandbox.close());

  const env = () => ({
    DPC_CONFIG: '/nonexistent/dpc.json',
    DPC_BASE_URL: sandbox.baseUrl,
    DPC_CLIENT_TOKEN: sandbox.seed!.clientToken,
    DPC_PRIVATE_KEY: sandbox.seed!.privateKeyPath,
    DPC_KEY_ID: sandbox.seed!.keyId,
  });

  it('patient list: the table on stdout, "100 patients" on stderr, nothing extra under -q', async () => {
    const listed = await runCli(['patient', 'list'], { env: env() });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout.split('\n')[0]).toMatch(/^ID\s+MBI\s+Name\s+Birth date\s+Gender$/);
    expect(listed.stdout.trimEnd().split('\n')).toHaveLength(101);
    expect(listed.stderr).toBe('100 patients\n');
    const quiet = await runCli(['patient', 'list', '-q'], { env: env() });
    expect(quiet.stdout).toBe(listed.stdout);
    expect(quiet.stderr).toBe('');
  });
});
