/**
 * The export engine against test/export/bulk-server.ts behaving like the SMART reference Bulk Data server
 * (smart-on-fhir/bulk-data-server): what its reference client (smart-on-fhir/bulk-data-client) handles, we must too.
 * - every kick-off level passes its strict header checks (Accept exactly application/fhir+json, Prefer respond-async),
 *   and its 202 kick-off answers carry an OperationOutcome body; several `_typeFilter` queries go as the parameter
 *   repeated, since a query may hold commas; a POST kick-off and `Prefer: handling=lenient` when asked for;
 * - a running job's `X-Progress: N% complete, …` with `Retry-After: 1`;
 * - Bulk Data 2.0 `deleted` files (Bundles of DELETE requests) are downloaded, verified against their count and
 *   recorded as such, and kept out of resource counts (the tables apply them: test/tables/deleted.test.ts);
 * - its error files carry the count of the output file that failed, not their own lines: they still verify;
 * - a paged manifest (`link` relation `next`) is read to its last page, by the run and by `dpc export status`;
 * - a failed export (an OperationOutcome on the status URL) ends the run with the server's words;
 * - files compressed as Accept-Encoding asks;
 * - DELETE on the status URL, as the reference client sends after a completed download: asked for with
 *   `deleteJobWhenDone` (a refusal, DPC's 405, leaves the export complete), never on an interrupted run (it resumes),
 *   and `dpc export cancel` by job URL or for the unfinished jobs of an output folder;
 * - a P-384 EC key signs ES384 assertions (the reference server verifies ES384 as well as RS384);
 * - `dpc init --token-url auto` takes the token endpoint the server announces, as the reference client detects it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readdir, readFile as readText, writeFile } from 'node:fs/promises';
import { generateKeyPairSync } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import { cancelExport, exportStatus, runExport, runOutcomeError, verifyExportDir, type ExportEvent } from '../../src/export/index.js';
import { runCli } from '../cli/run-cli.js';
import { announcedTokenUrlProblem, capabilityTokenUrl, discoverTokenUrl, wellKnownTokenUrl } from '../../src/auth/discovery.js';
import { isIncremental } from '../../src/tables/sources.js';
import { bulkServerForFile } from './bulk-server.js';
import { removeTempDirs, tempDir } from './sandbox.js';

const patients = '{"resourceType":"Patient","id":"p1"}\n{"resourceType":"Patient","id":"p2"}\n';
const observations = '{"resourceType":"Observation","id":"o1"}\n';
/** reference server dbRowTranslator generateDeleteTransaction: one transaction Bundle per deleted resource */
const deletion = (id: string) =>
  `${JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'DELETE', url: `Patient/${id}` } }] })}\n`;
/** reference server ExportManager.download with a fileError: one OperationOutcome, no newline */
const failedFile = JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'processing', diagnostics: 'Failed to export 2.Observation.ndjson' }] });

const server = bulkServerForFile({
  jobs: {
    system: {
      pending: 1,
      output: [{ type: 'Patient', name: 'patients.ndjson', count: 2 }],
      deleted: [{ name: 'deleted.ndjson', count: 2 }],
    },
    // Manifest.addError: the error entry keeps the failed output's count (here 40 resources), its file has one line
    patient: { output: [{ type: 'Patient', name: 'patients.ndjson', count: 2 }], error: [{ type: 'OperationOutcome', name: 'failed.ndjson', count: 40 }] },
    paged: { output: [{ type: 'Patient', name: 'patients.ndjson', count: 2 }], next: 'page2' },
    page2: { output: [{ type: 'Observation', name: 'observations.ndjson', count: 1 }], deleted: [{ name: 'deleted.ndjson', count: 2 }], next: 'page3' },
    page3: { output: [{ type: 'Patient', name: 'patients.ndjson', count: 2 }] },
    circle: { output: [{ type: 'Patient', name: 'patients.ndjson', count: 2 }], next: 'circle' },
    failed: { failure: { status: 400, text: 'Failed to build export manifest.' } },
    zipped: { output: [{ type: 'Patient', name: 'patients.ndjson', count: 2 }] },
    done1: { output: [{ type: 'Patient', name: 'patients.ndjson', count: 2 }] },
    done2: { output: [{ type: 'Patient', name: 'patients.ndjson', count: 2 }] },
    slow: { pending: 1000, output: [{ type: 'Patient', name: 'patients.ndjson', count: 2 }] },
    byUrl: { pending: 1000 },
    expired: { expired: true },
    cli: { pending: 1000 },
  },
  files: { 'patients.ndjson': patients, 'observations.ndjson': observations, 'deleted.ndjson': deletion('p3') + deletion('p4'), 'failed.ndjson': failedFile },
});

afterAll(removeTempDirs);

describe('against a server behaving like the SMART reference server', () => {
  it('downloads deleted files (Bundles of DELETE requests) as their own kind, verified against their count', async () => {
    const out = await tempDir();
    const events: ExportEvent[] = [];
    const result = await runExport(server.client(), { outDir: out, target: { kind: 'system' }, pollIntervalMs: 50, onEvent: (e) => events.push(e) });
    expect(runOutcomeError(result)).toBeUndefined();
    const manifest = result.groups[0]!.manifest!;
    expect(manifest.files.map((f) => [f.kind, f.type, f.path, f.count])).toEqual([
      ['output', 'Patient', 'Patient-001.ndjson', 2],
      ['deleted', 'Bundle', 'Bundle-001.ndjson', 2],
    ]);
    const dir = join(out, 'system', manifest.run);
    expect(await readFile(join(dir, 'Bundle-001.ndjson'), 'utf8')).toBe(deletion('p3') + deletion('p4'));
    // deletions are no resources of the export
    expect(events.find((e) => e.type === 'export_complete')).toMatchObject({ files: 2, resources: 2 });
    expect(events.find((e) => e.type === 'status_progress')).toMatchObject({ progress: '50% complete, Please wait...', nextPollMs: 1000 });
    expect((await verifyExportDir(out)).ok).toBe(true);
    // the kick-off passed the reference server's header checks and its 202 carried an OperationOutcome body
    const kickoff = server.requests.find((r) => r.path.startsWith('/fhir/$export'))!;
    expect(kickoff.headers).toMatchObject({ accept: 'application/fhir+json', prefer: 'respond-async' });
    expect(await exportStatus(server.client(), `${server.base}/fhir/jobs/system`)).toEqual([expect.objectContaining({ files: 1, errorFiles: 0, deletedFiles: 1 })]);
    // the status table shows the column only for a job that lists deleted files
    const env = { HOME: out, DPC_CONFIG: join(out, 'config.json'), DPC_BASE_URL: `${server.base}/fhir`, DPC_AUTH: 'none' };
    const table = (await runCli(['export', 'status', `${server.base}/fhir/jobs/system`], { env })).stdout.split('\n');
    expect(table[0]).toMatch(/\bFiles +Error files +Deleted files\b/);
    expect(table[1]).toMatch(/\b1 +0 +1\b/);
  });

  it("verifies an error file whose count is the failed output's, not its own lines, and reports the server's message", async () => {
    const out = await tempDir();
    const typeFilter = ['Observation?code=http://loinc.org|8867-4,http://loinc.org|8310-5', 'Patient?gender=female'];
    const result = await runExport(server.client(), { outDir: out, target: { kind: 'patient' }, typeFilter, pollIntervalMs: 50 });
    // each query its own _typeFilter: the reference server would split a single value at the commas inside the first
    const kickoff = new URL(server.requests.find((r) => r.path.startsWith('/fhir/Patient/$export'))!.path, server.base);
    expect(kickoff.searchParams.getAll('_typeFilter')).toEqual(typeFilter);
    const manifest = result.groups[0]!.manifest!;
    expect(manifest.quarantined).toEqual([]);
    expect(manifest.files.find((f) => f.kind === 'error')).toMatchObject({ path: 'OperationOutcome-001.ndjson', count: 1 });
    expect(manifest.errors.serverMessages).toEqual([{ message: 'Failed to export 2.Observation.ndjson', count: 1 }]);
    expect(runOutcomeError(result)).toMatchObject({ code: 'ERR_PARTIAL' });
    // a rerun finds nothing in flight and the files stay verified
    expect((await verifyExportDir(out)).ok).toBe(true);
  });

  it('reads a paged manifest to its last page, files in page order', async () => {
    const out = await tempDir();
    const result = await runExport(server.client(), { outDir: out, target: { kind: 'group', groupId: 'paged' }, pollIntervalMs: 50 });
    expect(runOutcomeError(result)).toBeUndefined();
    expect(result.groups[0]!.manifest!.files.map((f) => [f.kind, f.path])).toEqual([
      ['output', 'Patient-001.ndjson'],
      ['output', 'Observation-001.ndjson'],
      ['deleted', 'Bundle-001.ndjson'],
      ['output', 'Patient-002.ndjson'],
    ]);
  });

  it('dpc export status counts the files of every page of a paged manifest', async () => {
    expect(await exportStatus(server.client(), `${server.base}/fhir/jobs/paged`)).toEqual([
      expect.objectContaining({ state: 'complete', files: 3, errorFiles: 0, deletedFiles: 1 }),
    ]);
    await expect(exportStatus(server.client(), `${server.base}/fhir/jobs/circle`)).rejects.toMatchObject({ code: 'ERR_HTTP', message: expect.stringContaining('link back') });
  });

  it('refuses a manifest whose pages link back to an earlier one', async () => {
    const out = await tempDir();
    await expect(runExport(server.client(), { outDir: out, target: { kind: 'group', groupId: 'circle' }, pollIntervalMs: 50 })).rejects.toMatchObject({
      code: 'ERR_HTTP',
      message: expect.stringContaining('link back to an earlier page'),
    });
  });

  it("ends the run with the server's words when the export failed (OperationOutcome on the status URL)", async () => {
    const out = await tempDir();
    await expect(runExport(server.client(), { outDir: out, target: { kind: 'group', groupId: 'failed' }, pollIntervalMs: 50 })).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining('Failed to build export manifest.'),
    });
  });

  it('verifies files the server compresses as Accept-Encoding asks, kept as gzip or not', async () => {
    server.config.contentEncoding = true;
    try {
      for (const gzip of [true, false]) {
        const out = await tempDir();
        const result = await runExport(server.client(), { outDir: out, target: { kind: 'group', groupId: 'zipped' }, gzip, pollIntervalMs: 50 });
        expect(runOutcomeError(result)).toBeUndefined();
        const dir = join(out, 'zipped', result.groups[0]!.manifest!.run);
        const stored = gzip ? gunzipSync(await readFile(join(dir, 'Patient-001.ndjson.gz'))).toString() : await readFile(join(dir, 'Patient-001.ndjson'), 'utf8');
        expect(stored).toBe(patients);
      }
    } finally {
      server.config.contentEncoding = false;
    }
  });
});

it('dpc export run --post --lenient: a POST Parameters kick-off without patients, Prefer handling=lenient (the reference client\'s --post and default)', async () => {
  const home = await tempDir('dpc-home-');
  const out = await tempDir();
  const env = { HOME: home, DPC_CONFIG: join(home, 'config.json'), DPC_BASE_URL: `${server.base}/fhir`, DPC_AUTH: 'none' };
  const run = await runCli(['export', 'run', '--group', 'zipped', '--type', 'Patient', '--post', '--lenient', '--out', out, '--poll-interval', '1s', '-q'], { env });
  expect(run.code).toBe(0);
  const kickoff = server.requests.filter((r) => r.path.startsWith('/fhir/Group/zipped/$export')).at(-1)!;
  expect(kickoff).toMatchObject({ method: 'POST', headers: { prefer: 'respond-async, handling=lenient', 'content-type': 'application/fhir+json' } });
  expect(JSON.parse(kickoff.body)).toEqual({
    resourceType: 'Parameters',
    parameter: [
      { name: '_outputFormat', valueString: 'application/fhir+ndjson' },
      { name: '_type', valueString: 'Patient' },
    ],
  });
});

it('a POST kick-off with since is recorded with its _since, so the tables take its run as incremental', async () => {
  const out = await tempDir();
  const since = '2025-01-01T00:00:00Z';
  const result = await runExport(server.client(), { outDir: out, target: { kind: 'group', groupId: 'zipped' }, types: ['Patient'], since, post: true, pollIntervalMs: 50 });
  expect(runOutcomeError(result)).toBeUndefined();
  const kickoff = server.requests.filter((r) => r.path.startsWith('/fhir/Group/zipped/$export')).at(-1)!;
  expect(kickoff).toMatchObject({ method: 'POST', path: '/fhir/Group/zipped/$export' });
  const manifest = result.groups[0]!.manifest!;
  expect(new URL(manifest.requestSent!).searchParams.get('_since')).toBe(since);
  expect(isIncremental(manifest)).toBe(true);
});

describe('deleting jobs on the server (DELETE on the status URL)', () => {
  const deletes = () => server.requests.filter((r) => r.method === 'DELETE').map((r) => r.path);

  it('deletes a job once its files all verified when asked, as the reference client offers after a download', async () => {
    const out = await tempDir();
    const events: ExportEvent[] = [];
    const result = await runExport(server.client(), { outDir: out, target: { kind: 'group', groupId: 'done1' }, deleteJobWhenDone: true, pollIntervalMs: 50, onEvent: (e) => events.push(e) });
    expect(runOutcomeError(result)).toBeUndefined();
    expect(result.groups[0]!.jobDeletion).toEqual({ outcome: 'cancelled' });
    expect(events.find((e) => e.type === 'job_deleted')).toMatchObject({ label: 'done1', outcome: 'cancelled' });
    // after the file was fetched, and the server has forgotten the job
    const order = server.requests.map((r) => `${r.method} ${r.path}`);
    expect(order.indexOf('DELETE /fhir/jobs/done1')).toBeGreaterThan(order.lastIndexOf('GET /files/patients.ndjson'));
    expect(server.config.jobs.done1).toBeUndefined();
  });

  it("reports a server that refuses (DPC's 405) without failing the complete export", async () => {
    server.config.noCancel = true;
    try {
      const out = await tempDir();
      const result = await runExport(server.client(), { outDir: out, target: { kind: 'group', groupId: 'done2' }, deleteJobWhenDone: true, pollIntervalMs: 50 });
      expect(runOutcomeError(result)).toBeUndefined();
      expect(result.groups[0]!.jobDeletion).toMatchObject({ outcome: 'failed', message: expect.stringContaining('405') });
      expect(server.config.jobs.done2).toBeDefined();
    } finally {
      server.config.noCancel = false;
    }
  });

  it('leaves the job of a run that gave up waiting (a rerun resumes it); cancel on the folder gives it up for good', async () => {
    const out = await tempDir();
    // Retry-After: 1 s from the server, a deadline sooner than that: the run stops, resumable
    await expect(runExport(server.client(), { outDir: out, target: { kind: 'group', groupId: 'slow' }, maxWaitMs: 300, pollIntervalMs: 50 })).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
    expect(deletes()).not.toContain('/fhir/jobs/slow');
    const [before] = await exportStatus(server.client(), out);
    expect(before).toMatchObject({ label: 'slow', state: 'in-progress' });

    expect(await cancelExport(server.client(), out)).toEqual([{ label: 'slow', jobUrl: `${server.base}/fhir/jobs/slow`, outcome: 'cancelled', run: before!.run }]);
    expect(deletes()).toContain('/fhir/jobs/slow');
    // the folder no longer records the job, nor keeps its unfinished run folder
    expect(await exportStatus(server.client(), out)).toEqual([expect.objectContaining({ label: 'slow', state: 'none' })]);
    expect(await readdir(join(out, 'slow'))).toEqual([]);
    await expect(cancelExport(server.client(), out)).rejects.toMatchObject({ code: 'ERR_INPUT', message: expect.stringContaining('no unfinished export job to cancel') });
  });

  it('cancels by job URL; a job the server no longer knows is reported as such', async () => {
    const jobUrl = `${server.base}/fhir/jobs/byUrl`;
    expect(await cancelExport(server.client(), jobUrl)).toEqual([{ jobUrl, outcome: 'cancelled' }]);
    expect(await cancelExport(server.client(), jobUrl)).toEqual([{ jobUrl, outcome: 'unknown' }]);
    // an expired job (410) is as good as gone
    expect(await cancelExport(server.client(), `${server.base}/fhir/jobs/expired`)).toEqual([{ jobUrl: `${server.base}/fhir/jobs/expired`, outcome: 'unknown' }]);
  });

  it('dpc export cancel JOB_URL', async () => {
    const home = await tempDir('dpc-home-');
    const env = { HOME: home, DPC_CONFIG: join(home, 'config.json'), DPC_BASE_URL: `${server.base}/fhir`, DPC_AUTH: 'none' };
    const jobUrl = `${server.base}/fhir/jobs/cli`;
    const run = await runCli(['export', 'cancel', jobUrl, '--json'], { env });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual([{ jobUrl, outcome: 'cancelled' }]);
    expect(run.code).toBe(0);
  });
});

it('dpc auth assertion signs ES384 with the P-384 EC key of a generic profile', async () => {
  const home = await tempDir('dpc-home-');
  const key = join(home, 'ec.pem');
  await writeFile(key, generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const profile = { baseUrl: `${server.base}/fhir`, tokenUrl: `${server.base}/auth/token`, scope: 'system/*.rs', clientToken: 'ec-client', privateKey: key, keyId: 'ec-key' };
  await writeFile(join(home, 'config.json'), JSON.stringify({ defaultProfile: 'ref', profiles: { ref: profile } }), { mode: 0o600 });
  const run = await runCli(['auth', 'assertion'], { env: { HOME: home, DPC_CONFIG: join(home, 'config.json') } });
  expect(run.code).toBe(0);
  expect(decodeProtectedHeader(run.stdout.trim())).toMatchObject({ alg: 'ES384', kid: 'ec-key' });
});

describe('the token endpoint a server announces', () => {
  it('dpc init --token-url auto saves the token_endpoint of .well-known/smart-configuration', async () => {
    const home = await tempDir('dpc-home-');
    const env = { HOME: home, DPC_CONFIG: join(home, 'config.json') };
    const run = await runCli(['init', '--profile', 'ref', '--base-url', `${server.base}/fhir`, '--token-url', 'auto', '--key-id', 'k1'], { env });
    expect(run.code).toBe(0);
    const config = JSON.parse(await readText(join(home, 'config.json'), 'utf8')) as { profiles: Record<string, { tokenUrl?: string }> };
    expect(config.profiles.ref!.tokenUrl).toBe(`${server.base}/auth/token`);
    // said before anything is signed for it (a token endpoint on another origin would be a warning)
    expect(run.stderr).toContain(`token endpoint announced by the server: ${server.base}/auth/token`);
    // a server that announces none is named, and nothing is saved
    const none = await runCli(['init', '--profile', 'none', '--base-url', `${server.base}/elsewhere`, '--token-url', 'auto', '--key-id', 'k1'], { env });
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/^error: http:\/\/127\.0\.0\.1:\d+\/elsewhere announces no token endpoint \(/);
    expect((JSON.parse(await readText(join(home, 'config.json'), 'utf8')) as { profiles: object }).profiles).not.toHaveProperty('none');
  });

  it('reads a SMART 1 CapabilityStatement oauth-uris extension, and only absolute http(s) URLs', () => {
    const statement = (valueUri: string) => ({
      resourceType: 'CapabilityStatement',
      rest: [{ mode: 'server', security: { extension: [{ url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris', extension: [{ url: 'token', valueUri }] }] } }],
    });
    expect(capabilityTokenUrl(statement('https://auth.example/token'))).toBe('https://auth.example/token');
    expect(capabilityTokenUrl(statement('/token'))).toBeUndefined();
    expect(capabilityTokenUrl({ resourceType: 'CapabilityStatement' })).toBeUndefined();
    expect(wellKnownTokenUrl({ token_endpoint: 'javascript:alert(1)' })).toBeUndefined();
    expect(wellKnownTokenUrl({ token_endpoint: 'https://auth.example/token' })).toBe('https://auth.example/token');
    // never with control characters (none reach the config file) or credentials
    expect(wellKnownTokenUrl({ token_endpoint: 'https://auth.example/to\u001b[2Jken' })).toBeUndefined();
    expect(wellKnownTokenUrl({ token_endpoint: 'https://user:pw@auth.example/token' })).toBeUndefined();
  });

  it('refuses a plain-http token endpoint announced by an https server (the assertion would travel unencrypted)', () => {
    expect(announcedTokenUrlProblem('http://auth.example/token', 'https://bulk.example/fhir')).toMatch(/plain-http token endpoint \(http:\/\/auth\.example\/token\)/);
    expect(announcedTokenUrlProblem('https://auth.example/token', 'https://bulk.example/fhir')).toBeUndefined();
    expect(announcedTokenUrlProblem('http://127.0.0.1:9/token', 'http://127.0.0.1:9/fhir')).toBeUndefined();
    // discoverTokenUrl applies it (an https server cannot be imitated over loopback here: its transport is stubbed)
    const transport = { json: async () => ({ body: { token_endpoint: 'http://auth.example/token' } }) };
    const client = { transport, baseUrl: 'https://bulk.example/fhir', now: Date.now } as unknown as Parameters<typeof discoverTokenUrl>[0];
    return expect(discoverTokenUrl(client)).rejects.toMatchObject({ code: 'ERR_CONFIG', field: 'tokenUrl', message: expect.stringContaining('plain-http token endpoint') });
  });
});
