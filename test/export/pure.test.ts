import { describe, expect, it } from 'vitest';
import { hostname, tmpdir } from 'node:os';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import { DpcError } from '../../src/errors.js';
import { Transport } from '../../src/transport/index.js';
import { errorBackoff, kickoffPath, kickoffQuery, MAX_MANIFEST_PAGES, nextPollDelay, readManifestPages, transactionTimeProblem, validateSince, validateTypes } from '../../src/export/job.js';
import type { JobFile } from '../../src/export/manifest.js';
import { isStale } from '../../src/export/lock.js';
import { countNewlines, Meter } from '../../src/export/meter.js';
import { MAX_MANIFEST_FILES, parseCompletion, planFiles, verifyAgainst } from '../../src/export/manifest.js';
import { describePatients, idKindOf, mapPatientIds, OutcomeTally } from '../../src/export/outcomes.js';
import { quarantineHeadline, runOutcomeError, type GroupManifest } from '../../src/export/run.js';
import { parseManifest } from '../../src/export/verify.js';
import { readState } from '../../src/export/state.js';
import { labelForJob } from '../../src/export/existing.js';
import { createRunDir, LATEST_FILE, readLatest, runIdAt, writeLatest } from '../../src/export/layout.js';
import { reportError } from '../../src/cli/main.js';
import { Limiter, runAll } from '../../src/export/limit.js';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { startDeadline } from '../../src/export/deadline.js';
import { checkMaxFileBytes } from '../../src/export/download.js';

// Shape of the real DPC completion body (dpc-common/src/test/resources/JobCompletionModel.json), trimmed.
const completion = {
  transactionTime: '2024-04-10T12:02:49.492+00:00',
  request: 'http://dev.dpc.cms.gov/api/v1/Group/82771a76-f010-44bd-9f7a-7fb02b130f11/$export_format=json',
  requiresAccessToken: true,
  output: [
    {
      type: 'Patient',
      url: 'https://dev.dpc.cms.gov/api/v1/Data/4173e1d6-0.patient.ndjson',
      count: 3,
      extension: [
        { url: 'https://dpc.cms.gov/checksum', valueString: 'sha256:B2EFF2F375D1BE93AD9D2097C4A2B95A599FBC6A999DE34E0143EDACA42B9518' },
        { url: 'https://dpc.cms.gov/file_length', valueDecimal: 3496 },
      ],
    },
    { type: 'Patient', url: 'https://dev.dpc.cms.gov/api/v1/Data/4173e1d6-1.patient.ndjson', count: 1 },
    { type: 'Coverage', url: 'https://dev.dpc.cms.gov/api/v1/Data/4173e1d6-0.coverage.ndjson', count: 12 },
  ],
  error: [{ type: 'OperationOutcome', url: 'https://dev.dpc.cms.gov/api/v1/Data/4173e1d6-0.operationoutcome.ndjson', count: 1 }],
};

describe('completion body', () => {
  it('parses checksum (lowercased), file_length, counts and error files', () => {
    const parsed = parseCompletion(completion, 'Jobs/1');
    expect(parsed.transactionTime).toBe('2024-04-10T12:02:49.492+00:00');
    expect(parsed.requiresAccessToken).toBe(true);
    expect(parsed.files).toHaveLength(4);
    expect(parsed.files[0]).toEqual({
      kind: 'output',
      type: 'Patient',
      url: completion.output[0]!.url,
      count: 3,
      sha256: 'b2eff2f375d1be93ad9d2097c4a2b95a599fbc6a999de34e0143edaca42b9518',
      gzipLength: 3496,
    });
    expect(parsed.files[3]).toMatchObject({ kind: 'error', type: 'OperationOutcome' });
  });

  it('reads deleted entries (type Bundle when left out) and the next page of a paged manifest', () => {
    const parsed = parseCompletion({ transactionTime: 't', deleted: [{ url: 'd', count: 2 }], link: [{ relation: 'self', url: 's' }, { relation: 'next', url: '?page=2' }] }, 'j');
    expect(parsed.files).toEqual([{ kind: 'deleted', type: 'Bundle', url: 'd', count: 2 }]);
    expect(parsed.next).toBe('?page=2');
  });

  it('treats a missing requiresAccessToken as true and missing arrays as empty', () => {
    const parsed = parseCompletion({ transactionTime: 'x' }, 'Jobs/1');
    expect(parsed).toMatchObject({ requiresAccessToken: true, files: [] });
    expect(parseCompletion({ transactionTime: 'x', requiresAccessToken: false }, 'j').requiresAccessToken).toBe(false);
  });

  it('rejects bodies it cannot trust with ERR_HTTP naming where', () => {
    expect(() => parseCompletion('nope', 'Jobs/1')).toThrow(/Jobs\/1.*not a JSON object/);
    expect(() => parseCompletion({ transactionTime: 't', output: [{ type: 'Patient' }] }, 'Jobs/1')).toThrow(/output\[0\].*"url"/);
    const bad = { transactionTime: 't', output: [{ type: 'Patient', url: 'u', extension: [{ url: 'https://dpc.cms.gov/checksum', valueString: 'md5:abc' }] }] };
    expect(() => parseCompletion(bad, 'j')).toThrow(DpcError);
    const nullExtension = { transactionTime: 't', output: [{ type: 'Patient', url: 'u', extension: [null] }] };
    expect(() => parseCompletion(nullExtension, 'j')).toThrow(/^job status j output\[0\]: unexpected completion body: "extension\[0\]" is not an object \(got null\)$/);
    expect(() => parseCompletion({ transactionTime: 't', output: [{ type: 'Patient', url: 'u', extension: 'x' }] }, 'j')).toThrow(/"extension" must be an array/);
    expect(() => parseCompletion({ transactionTime: 't', deleted: {} }, 'j')).toThrow(/"output", "error" and "deleted" must be arrays/);
    expect(() => parseCompletion({ transactionTime: 't', link: { relation: 'next' } }, 'j')).toThrow(/"link" must be an array, got an object/);
    expect(() => parseCompletion({ transactionTime: 't', link: [{ relation: 'next' }] }, 'j')).toThrow(/the "next" link has no URL/);
    // a server's url that no base can make a URL of is named with its entry, escaped, not a bare "Invalid URL"
    expect(() => parseCompletion({ transactionTime: 't', output: [{ type: 'Patient', url: 'http://[::1\u001b[2J' }] }, 'j')).toThrow(
      /^job status j output\[0\]: unexpected completion body: "url" "http:\/\/\[::1\\u001b\[2J" is not a URL$/,
    );
  });

  it('plans <Type>-NNN.ndjson names per type in manifest order', () => {
    const names = planFiles(parseCompletion(completion, 'j').files).map((f) => f.name);
    expect(names).toEqual(['Patient-001.ndjson', 'Patient-002.ndjson', 'Coverage-001.ndjson', 'OperationOutcome-001.ndjson']);
  });

  it('verifies sha256, line count, and gzip length only against gzip bytes', () => {
    const file = { kind: 'output' as const, type: 'Patient', url: 'u', count: 2, sha256: 'aa', gzipLength: 10 };
    expect(verifyAgainst(file, { sha256: 'aa', bytes: 500, lines: 2 })).toEqual([]);
    expect(verifyAgainst(file, { sha256: 'aa', bytes: 500, lines: 2, gzipBytes: 10 })).toEqual([]);
    expect(verifyAgainst(file, { sha256: 'bb', bytes: 500, lines: 1, gzipBytes: 11 })).toHaveLength(3);
    // a generic server without checksums: counts still verified, of deleted files too
    expect(verifyAgainst({ kind: 'output', type: 'Patient', url: 'u', count: 3 }, { sha256: 'x', bytes: 9, lines: 2 })).toHaveLength(1);
    expect(verifyAgainst({ kind: 'deleted', type: 'Bundle', url: 'u', count: 3 }, { sha256: 'x', bytes: 9, lines: 2 })).toHaveLength(1);
    // but not an error file's: the reference server gives it the count of the output that failed
    expect(verifyAgainst({ kind: 'error', type: 'OperationOutcome', url: 'u', count: 40 }, { sha256: 'x', bytes: 9, lines: 1 })).toEqual([]);
  });
});

describe('kick-off request', () => {
  it('builds paths for group, patient and system level', () => {
    expect(kickoffPath({ level: 'group', groupId: 'abc' })).toBe('/Group/abc/$export');
    expect(kickoffPath({ level: 'patient' })).toBe('/Patient/$export');
    expect(kickoffPath({ level: 'system' })).toBe('/$export');
  });

  it('encodes + in _since and _outputFormat as %2B', () => {
    const transport = new Transport({ baseUrl: 'https://sandbox.dpc.cms.gov/api/v1' });
    const url = transport.resolve('/Group/g/$export', kickoffQuery({ scope: { level: 'group', groupId: 'g' }, types: ['Patient', 'Coverage'], since: '2024-01-01T00:00:00.000+00:00' }));
    expect(url.href).toBe(
      'https://sandbox.dpc.cms.gov/api/v1/Group/g/$export?_type=Patient%2CCoverage&_since=2024-01-01T00%3A00%3A00.000%2B00%3A00&_outputFormat=application%2Ffhir%2Bndjson',
    );
  });

  it('validates since and types, naming the field (never a CLI flag)', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(() => validateSince('2024-06-01T00:00:00Z', now)).not.toThrow();
    expect(() => validateSince('2024-06-01T00:00:00.123+02:00', now)).not.toThrow();
    expect(() => validateSince('2024-06-01', now)).toThrow(/offset/);
    expect(() => validateSince('2026-06-01T00:00:00Z', now)).toThrow(/future/);
    expect(() => validateTypes(['Patient', 'ExplanationOfBenefit'])).not.toThrow();
    expect(() => validateTypes(['patient;drop'])).toThrow(/^types "patient;drop"/);
    expect(() => validateSince('2024-06-01', now)).toThrow(expect.objectContaining({ field: 'since', message: expect.not.stringContaining('--') }));
  });
});

describe("transactionTime against the server's clock", () => {
  const local = Date.parse('2026-11-30T09:00:00Z');
  const ahead = local + 91 * 86_400_000; // a server (or sandbox) whose clock is 91 days ahead of this machine's

  it("is judged by the server's Date: up to 5 minutes past it is fine, more is refused naming that clock", () => {
    expect(transactionTimeProblem(new Date(ahead - 3_600_000).toISOString(), ahead, local)).toBeUndefined();
    expect(transactionTimeProblem(new Date(ahead + 5 * 60_000).toISOString(), ahead, local)).toBeUndefined();
    expect(transactionTimeProblem(new Date(ahead + 5 * 60_000 + 1000).toISOString(), ahead, local)).toBe(
      `is more than 5 minutes ahead of the server's own clock (its Date header says ${new Date(ahead).toISOString()})`,
    );
    // a server whose clock is behind ours: its future is refused even though it is our past
    expect(transactionTimeProblem('2026-11-30T08:00:00Z', Date.parse('2026-11-30T07:00:00Z'), local)).toMatch(/ahead of the server's own clock/);
  });

  it("falls back to this machine's clock without a usable Date, and refuses what is not an instant either way", () => {
    expect(transactionTimeProblem('2026-11-30T09:04:00+00:00', undefined, local)).toBeUndefined();
    expect(transactionTimeProblem(new Date(ahead).toISOString(), undefined, local)).toBe(
      "is more than 5 minutes ahead of this machine's clock (the server sent no usable Date header)",
    );
    for (const bad of ['not-a-time', '2026-11-30', '2026-11-30T09:00:00']) {
      expect(transactionTimeProblem(bad, ahead, local)).toMatch(/^is not an ISO 8601 date-time with an offset/);
    }
  });
});

describe('paged manifests: bounded however a server links them', () => {
  const page = (files: number, next?: string) => ({
    state: 'complete' as const,
    completion: {
      transactionTime: '2026-11-30T09:00:00Z',
      request: '',
      requiresAccessToken: true,
      files: Array.from({ length: files }, (_, i): JobFile => ({ kind: 'output', type: 'Patient', url: `f${i}.ndjson` })),
      ...(next === undefined ? {} : { next }),
    },
  });
  const jobUrl = 'https://bulk.example/jobs/1';

  it('joins the pages in order and stops at the last one', async () => {
    const read = await readManifestPages(jobUrl, page(2, 'p2'), async (url) => (url.endsWith('/p2') ? page(3, 'p3') : page(1)));
    expect(read.state === 'complete' && read.completion.files).toHaveLength(6);
  });

  it('refuses more than MAX_MANIFEST_PAGES pages, and more than MAX_MANIFEST_FILES files over all pages', async () => {
    let pages = 0;
    const endless = readManifestPages(jobUrl, page(1, 'p1'), async () => page(1, `p${++pages + 1}`));
    await expect(endless).rejects.toMatchObject({ code: 'ERR_HTTP', message: `export job ${jobUrl}: its manifest pages go past ${MAX_MANIFEST_PAGES} pages` });
    expect(pages).toBe(MAX_MANIFEST_PAGES - 1);
    let read = 0;
    const full = Math.ceil(MAX_MANIFEST_FILES / 10);
    const large = readManifestPages(jobUrl, page(full, 'p1'), async () => page(full, `p${++read + 1}`));
    await expect(large).rejects.toMatchObject({ code: 'ERR_HTTP', message: `export job ${jobUrl}: its manifest pages list more than ${MAX_MANIFEST_FILES} files` });
    expect(read).toBe(10);
  });
});

describe('poll schedule', () => {
  it('uses Retry-After when present, never below a floor', () => {
    expect(nextPollDelay(0, 20_000, 5_000)).toBe(5_000);
    expect(nextPollDelay(7, 20_000, 0)).toBe(1_000);
    expect(nextPollDelay(0, 50, 0)).toBe(50);
  });

  it('else starts at 1 s and doubles up to the interval: a 1.5 s job is fetched on the third poll, 3 s in', () => {
    const waits = Array.from({ length: 8 }, (_, poll) => nextPollDelay(poll, 20_000, undefined));
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16_000, 20_000, 20_000, 20_000]);
    // inside DPC's firewall budget (~300 requests / 5 min) with room to spare
    expect(waits.slice(0, 5).reduce((a, b) => a + b, 0)).toBeGreaterThan(5 * 1000);
    expect(nextPollDelay(3, 50, undefined)).toBe(50);
  });

  it('backs off exponentially with jitter, capped at 5 minutes', () => {
    expect(errorBackoff(0, 1000, () => 0)).toBe(500);
    expect(errorBackoff(0, 1000, () => 1)).toBe(1000);
    expect(errorBackoff(3, 1000, () => 1)).toBe(8000);
    expect(errorBackoff(20, 20_000, () => 1)).toBe(300_000);
  });
});

describe('raw-byte measurements and outcome summary', () => {
  it('counts newline-terminated lines only', () => {
    expect(countNewlines(Buffer.from('{"a":1}\n{"b":2}\n'))).toBe(2);
    expect(countNewlines(Buffer.from('{"a":1}\n{"b":2'))).toBe(1);
    expect(countNewlines(Buffer.alloc(0))).toBe(0);
  });

  it('counts a last line without its newline as a line, across chunk boundaries', async () => {
    const lines = async (...chunks: string[]) => {
      const meter = new Meter();
      await pipeline(Readable.from(chunks.map((c) => Buffer.from(c))), meter, new Writable({ write: (_c, _e, cb) => cb() }));
      return meter.lines;
    };
    expect(await lines('{"a":1}\n', '{"b":2}\n')).toBe(2);
    expect(await lines('{"a":1}\n{"b"', ':2}')).toBe(2);
    expect(await lines('{"a":1}', '\n')).toBe(1);
    expect(await lines()).toBe(0);
  });

  it('tallies OperationOutcome lines by reason with the MBI from location', () => {
    const tally = new OutcomeTally();
    const line = (text: string, mbi: string) =>
      JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception', details: { text }, location: ['Patient', 'id', mbi] }] });
    tally.add(line('Data not available for opted out patient', '1S00E00AA01'));
    tally.add(line('Unable to retrieve patient data due to internal error', '0S80C00AA00'));
    tally.add(line('Data not available for opted out patient', '1S00E00AA02'));
    tally.add('');
    tally.add('not json');
    // a generic server's error that names no patient keeps the server's message
    tally.add(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'processing', diagnostics: 'Observation export failed' }] }));
    expect(tally.summary()).toEqual({
      total: 3,
      reasons: [
        { reason: 'Data not available for opted out patient', code: 'exception', count: 2, patients: ['1S00E00AA01', '1S00E00AA02'], idKind: 'mbi' },
        { reason: 'Unable to retrieve patient data due to internal error', code: 'exception', count: 1, patients: ['0S80C00AA00'], idKind: 'mbi' },
      ],
      serverMessages: [
        { message: 'Observation export failed', count: 1 },
        { message: 'unreadable OperationOutcome line', count: 1 },
      ],
    });
  });
});

describe('error ids: an MBI, or the Blue Button patient id DPC gives for look-back failures (§11.5)', () => {
  const LOOK_BACK = "DPC couldn't find a claim within the past 18 months for this MBI from an NPI in this organization";
  const line = (code: string, text: string, id: string) =>
    JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, details: { text }, location: ['Patient', 'id', id] }] });

  it('labels a suppressed issue\'s id as a patient id, never an MBI, and an exception\'s MBI as an MBI', () => {
    const tally = new OutcomeTally();
    tally.add(line('suppressed', LOOK_BACK, '-10000010288391'));
    tally.add(line('exception', 'Data not available for opted out patient', '1S00E00AC13'));
    const [first, second] = tally.summary().reasons;
    expect(first).toMatchObject({ code: 'exception', idKind: 'mbi', patients: ['1S00E00AC13'] });
    expect(second).toMatchObject({ code: 'suppressed', idKind: 'patient-id', patients: ['-10000010288391'] });
    expect(describePatients(first!)).toBe('MBI 1S00E00AC13');
    expect(describePatients(second!)).toBe('patient id -10000010288391 (MBI not in this export)');
    expect(describePatients({ ...second!, mbis: { '-10000010288391': '1S00E00AC05' } })).toBe('patient id -10000010288391 (MBI 1S00E00AC05)');
  });

  it('an id that is not MBI-shaped is a patient id whatever the code (generic servers)', () => {
    expect(idKindOf('exception', ['1S00E00AC13'])).toBe('mbi');
    expect(idKindOf('exception', ['Patient-123'])).toBe('patient-id');
    expect(idKindOf('suppressed', ['1S00E00AC13'])).toBe('patient-id');
    expect(describePatients({ reason: 'r', count: 5, patients: ['a', 'b', 'c', 'd', 'e'], idKind: 'patient-id' }, 2)).toBe(
      'patient id a (MBI not in this export), patient id b (MBI not in this export) and 3 more',
    );
  });

  it('maps patient ids to MBIs through the run\'s Patient files (Patient.id ↔ MBI identifier)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dpc-outcomes-'));
    try {
      const patient = (id: string, mbi: string) =>
        JSON.stringify({ resourceType: 'Patient', id, identifier: [{ system: 'http://hl7.org/fhir/sid/us-mbi', value: mbi }] });
      const file = join(dir, 'Patient-001.ndjson');
      await writeFile(file, `${patient('-10000000000001', '1S00E00AA01')}\n${patient('-10000010288391', '1S00E00AC05')}\n`);
      const tally = new OutcomeTally();
      tally.add(line('suppressed', LOOK_BACK, '-10000010288391'));
      tally.add(line('suppressed', LOOK_BACK, '-19999999999999'));
      const mapped = await mapPatientIds(tally.summary(), [file]);
      expect(mapped.reasons[0]!.mbis).toEqual({ '-10000010288391': '1S00E00AC05' });
      expect(describePatients(mapped.reasons[0]!)).toBe('patient id -10000010288391 (MBI 1S00E00AC05), patient id -19999999999999 (MBI not in this export)');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('run outcome → exit code', () => {
  const manifest = (over: Partial<GroupManifest>): GroupManifest => ({
    label: 'g',
    run: '2026-11-25T020000Z',
    jobUrl: 'j',
    transactionTime: 't',
    request: 'r',
    requiresAccessToken: true,
    gzip: false,
    files: [],
    quarantined: [],
    errors: { total: 0, reasons: [] },
    writtenAt: 'w',
    ...over,
  });

  it('is success, partial (4), integrity failure (1) or the group failure', () => {
    expect(runOutcomeError({ outDir: 'o', groups: [{ label: 'g', manifest: manifest({}) }] })).toBeUndefined();
    const partial = runOutcomeError({ outDir: 'o', groups: [{ label: 'g', manifest: manifest({ errors: { total: 2, reasons: [{ reason: 'opted out', count: 2, patients: [], idKind: 'mbi' }] } }) }] });
    expect(partial).toMatchObject({ code: 'ERR_PARTIAL', details: ['g: 2 × opted out'] });
    expect(exitCodeFor(partial)).toBe(4);
    const bad = runOutcomeError({ outDir: 'o', groups: [{ label: 'g', manifest: manifest({ quarantined: [{ url: 'u', type: 'Patient', path: 'q', problems: ['sha256 x'] }] }) }] });
    expect(bad).toMatchObject({ code: 'ERR_INTEGRITY' });
    expect(exitCodeFor(bad)).toBe(1);
    const failed = runOutcomeError({
      outDir: 'o',
      groups: [{ label: 'a', manifest: manifest({}) }, { label: 'b', error: new DpcError('ERR_JOB_EXPIRED', 'gone') }],
    });
    expect(failed).toMatchObject({ code: 'ERR_JOB_EXPIRED', message: '1 of 2 exports failed', details: ['b: gone'] });
  });

  it('names the real cause of quarantined files: a size bound, or verification failing twice', () => {
    const oversize = runOutcomeError({
      outDir: 'o',
      groups: [{ label: 'g', manifest: manifest({ quarantined: [{ url: 'u', type: 'Patient', path: 'q', problems: ['body of u is larger than maxFileBytes'], sizeBound: 'maxFileBytes' }] }) }],
    });
    expect(oversize).toMatchObject({ code: 'ERR_INTEGRITY', field: 'maxFileBytes', message: '1 file was larger than maxFileBytes and was quarantined; raise maxFileBytes to accept it' });
    expect(exitCodeFor(oversize)).toBe(1);
    expect(quarantineHeadline([{}, {}])).toEqual({ message: '2 files failed verification twice and were quarantined; rerun to retry them' });
    expect(quarantineHeadline([{ sizeBound: 'file_length' }])).toEqual({
      message: "1 file was larger than the manifest's file_length and was quarantined; the server sent more than it declared",
    });
    expect(quarantineHeadline([{ sizeBound: 'maxFileBytes' }, {}, { sizeBound: 'maxFileBytes' }, { sizeBound: 'file_length' }])).toEqual({
      field: 'maxFileBytes',
      message:
        "4 files were quarantined: 2 were larger than maxFileBytes (raise maxFileBytes to accept them), 1 was larger than the manifest's file_length " +
        '(the server sent more than it declared), 1 failed verification twice (rerun to retry it)',
    });
  });
});

describe('lock staleness and concurrency', () => {
  it('considers a lock stale only for a dead pid on this host', () => {
    expect(isStale({ pid: process.pid, host: hostname(), startedAt: '' })).toBe(false);
    expect(isStale({ pid: 2 ** 22 + 12345, host: hostname(), startedAt: '' })).toBe(true);
    expect(isStale({ pid: 2 ** 22 + 12345, host: 'another-host.example', startedAt: '' })).toBe(false);
  });

  it('runs at most N tasks at once and stops scheduling after the first failure', async () => {
    let active = 0;
    let peak = 0;
    const started: number[] = [];
    const limiter = new Limiter(2);
    const run = runAll([1, 2, 3, 4, 5, 6], limiter, async (n, signal) => {
      started.push(n);
      active++;
      peak = Math.max(peak, active);
      await new Promise((resolve) => setImmediate(resolve));
      active--;
      if (n === 2) throw new DpcError('ERR_IO', 'boom');
      return signal.aborted ? -n : n;
    });
    await expect(run).rejects.toThrow('boom');
    expect(peak).toBe(2);
    expect(started).not.toContain(6);
    await expect(runAll([1, 2, 3], new Limiter(3), async (n) => n * 2)).resolves.toEqual([2, 4, 6]);
  });
});

describe('untrusted local files: a manifest or state file never leads outside its folder', () => {
  const file = { url: 'u', type: 'Patient', kind: 'output', path: 'Patient-001.ndjson', bytes: 1, sha256: 'a'.repeat(64), count: 1 };
  const manifest = (files: unknown[]) => JSON.stringify({ label: 'g', files });

  it('accepts the manifests the engine writes', () => {
    expect(parseManifest(manifest([file, { ...file, path: 'Patient-002.ndjson.gz', gzipBytes: 3 }]), 'g/manifest.json').files).toHaveLength(2);
  });

  it('names files[i] for a malformed entry or a path that is not a data file name in the folder', () => {
    const cases: Array<[unknown, RegExp]> = [
      [null, /^g\/manifest.json: files\[1\] is not an object \(got null\)$/],
      [{ ...file, path: 7 }, /files\[1\]\.path is not a string \(got a number\)/],
      [{ ...file, path: '../Patient-001.ndjson' }, /files\[1\]\.path "\.\.\/Patient-001\.ndjson" is not a data file name inside the run folder/],
      [{ ...file, path: 'sub/../../x.ndjson' }, /files\[1\]\.path/],
      [{ ...file, path: '/etc/hostname' }, /files\[1\]\.path/],
      [{ ...file, sha256: null }, /files\[1\]\.sha256 is not a string/],
    ];
    for (const [entry, message] of cases) {
      try {
        parseManifest(manifest([file, entry]), 'g/manifest.json');
        expect.unreachable();
      } catch (error) {
        expect((error as DpcError).code).toBe('ERR_INPUT');
        expect((error as Error).message).toMatch(message);
      }
    }
  });

  it('rejects a state file whose labels or recorded paths would escape, naming the field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dpc-state-'));
    try {
      const path = join(dir, 'state.json');
      const bad: Array<[unknown, RegExp]> = [
        [{ '..': { files: {} } }, /groups\["\.\."\]: the label cannot name an output folder/],
        [{ g1: null }, /groups\["g1"\] is not an object/],
        [{ g1: { files: null } }, /groups\["g1"\]\.files is not an object/],
        [{ g1: { files: {}, jobUrl: 5 } }, /groups\["g1"\]\.jobUrl is not a string/],
        [{ g1: { files: {}, run: '../elsewhere' } }, /groups\["g1"\]\.run cannot name a run folder/],
        [{ g1: { files: {}, latest: '..' } }, /groups\["g1"\]\.latest cannot name a run folder/],
        [{ g1: { files: { u: { ...file, path: '../../x' } } } }, /groups\["g1"\]\.files\["u"\]\.path/],
      ];
      for (const [groups, message] of bad) {
        await writeFile(path, JSON.stringify({ version: 1, groups }));
        await expect(readState(path)).rejects.toThrow(message);
        await expect(readState(path)).rejects.toMatchObject({ code: 'ERR_INPUT' });
      }
      await writeFile(path, JSON.stringify({ version: 1, groups: { g1: { files: { u: file }, jobUrl: 'https://x/Jobs/1' } } }));
      expect((await readState(path)).groups.g1?.jobUrl).toBe('https://x/Jobs/1');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('labels a downloaded job by its group only when the id can name a folder', () => {
    expect(labelForJob('https://x/api/v1/Jobs/j1', 'https://x/api/v1/Group/g-1/$export')).toBe('g-1');
    expect(labelForJob('https://x/api/v1/Jobs/j1', 'https://x/api/v1/Group/../$export')).toBe('job-j1');
  });
});

describe('run folders', () => {
  it('names a run after its kick-off second: filesystem-safe and sorting by time', () => {
    expect(runIdAt(Date.parse('2026-11-25T02:00:00.789Z'))).toBe('2026-11-25T020000Z');
    expect(runIdAt(Date.parse('2026-01-02T03:04:05Z'))).toBe('2026-01-02T030405Z');
    const ids = ['2026-11-25T020000Z', '2025-12-31T235959Z', '2026-11-24T020000Z'].sort();
    expect(ids).toEqual(['2025-12-31T235959Z', '2026-11-24T020000Z', '2026-11-25T020000Z']);
  });

  it('gives a second job kicked off in the same second its own folder (owner-only), never reusing one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dpc-runs-'));
    try {
      const at = Date.parse('2026-11-25T02:00:00Z');
      expect(await createRunDir(join(dir, 'g1'), at)).toBe('2026-11-25T020000Z');
      expect(await createRunDir(join(dir, 'g1'), at + 500)).toBe('2026-11-25T020000Z-2');
      expect(await createRunDir(join(dir, 'g1'), at)).toBe('2026-11-25T020000Z-3');
      expect((await readdir(join(dir, 'g1'))).sort()).toEqual(['2026-11-25T020000Z', '2026-11-25T020000Z-2', '2026-11-25T020000Z-3']);
      expect((await stat(join(dir, 'g1', '2026-11-25T020000Z-2'))).mode & 0o777).toBe(0o700);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads LATEST back, and refuses one that does not name a run folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dpc-latest-'));
    try {
      expect(await readLatest(dir)).toBeUndefined();
      await writeLatest(dir, '2026-11-25T020000Z');
      expect(await readLatest(dir)).toBe('2026-11-25T020000Z');
      await writeFile(join(dir, LATEST_FILE), '../../etc\n');
      await expect(readLatest(dir)).rejects.toMatchObject({ code: 'ERR_INPUT', message: expect.stringMatching(/LATEST does not name a run folder \(got "\.\.\/\.\.\/etc"\)$/) });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('CLI outcome lines', () => {
  const printed = (error: unknown) => {
    let text = '';
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => void ((text += chunk.toString()), done()) });
    return { exit: reportError(error, [], { stderr: sink }), text };
  };

  it('prints partial success (exit 4) as partial:, with indented details; failures stay error:', () => {
    const partial = new DpcError('ERR_PARTIAL', 'export finished with 1 patient(s) not exported; see the error summary in manifest.json', { details: ['g1: 1 × internal error'] });
    expect(printed(partial)).toEqual({ exit: 4, text: 'partial: export finished with 1 patient(s) not exported; see the error summary in manifest.json\n  g1: 1 × internal error\n' });
    expect(printed(new DpcError('ERR_INTEGRITY', '1 file(s) failed'))).toEqual({ exit: 1, text: 'error: 1 file(s) failed\n' });
  });
});

describe('run bounds', () => {
  it('refuses a maxWaitMs or maxFileBytes that is no positive whole number, naming the field', () => {
    for (const bad of [0, -1, Number.NaN, 2 ** 31]) {
      expect(() => startDeadline(bad)).toThrow(expect.objectContaining({ code: 'ERR_INPUT', field: 'maxWaitMs', message: expect.stringMatching(/^maxWaitMs must be/) }));
    }
    for (const bad of [0, 1.5, -1]) {
      expect(() => checkMaxFileBytes(bad)).toThrow(expect.objectContaining({ code: 'ERR_INPUT', field: 'maxFileBytes', message: expect.stringMatching(/^maxFileBytes must be/) }));
    }
    expect(() => checkMaxFileBytes(undefined)).not.toThrow();
  });
});
