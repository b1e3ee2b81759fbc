/**
 * Benchmark helper for `npm run bench` (call from bench/ against dist/; not part of the published package): one
 * sandbox export, finished before timing, then downloaded by child processes at the same concurrency: verified by the
 * engine and as a raw copy (undici GET → file, then a separate sha256 pass), for throughput, CPU and peak RSS; then
 * once more by the real CLI (`dpc export download`), for the peak RSS a user's process reaches, start-up included.
 * Size: bytes grow linearly with `exportScale` (claims per patient) and `patients`.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { createClient, type DpcClient } from '../client.js';
import type { SandboxHandle, SeedInfo } from '../sandbox/index.js';
import { createGroup, listGroups } from '../fhir/groups.js';
import { attestationFor } from '../fhir/lookup.js';
import { listPatients } from '../fhir/patients.js';
import { listPractitioners } from '../fhir/practitioners.js';
import { npiOf } from '../fhir/resources.js';
import { kickoff, pollUntilComplete } from '../export/job.js';
import type { BenchChildInput, BenchChildOutput } from './export-child.js';

export interface ExportBenchOptions {
  /** Claims multiplier of the sandbox's synthetic data. */
  exportScale: number;
  /** Patients in the exported group (default: every seeded patient, about 100). */
  patients?: number;
  /** Parallel downloads in both runs (default 4). */
  concurrency?: number;
  /** Scratch folder (default: a fresh temp folder, removed afterwards). */
  workDir?: string;
}

export interface ExportBenchResult {
  bytes: number;
  files: number;
  verified: BenchChildOutput & { mibPerSecond: number };
  raw: BenchChildOutput & { mibPerSecond: number };
  /** verified / raw throughput (the target is ≥ 0.9). */
  ratio: number;
  /** Peak RSS of the whole `dpc export download` process. */
  cliPeakRssBytes: number;
}

const execFileAsync = promisify(execFile);

export async function benchmarkExport(options: ExportBenchOptions): Promise<ExportBenchResult> {
  return withBenchSandbox('dpc-export-bench-', options, async ({ workDir, sandbox, seed, client, groupId }) => {
    const started = await kickoff(client.transport, { scope: { level: 'group', groupId } });
    await pollUntilComplete(client.transport, started.jobUrl, { label: 'bench', intervalMs: 500 });

    const concurrency = options.concurrency ?? 4;
    const credentials = { baseUrl: sandbox.baseUrl, clientToken: seed.clientToken, privateKeyPath: seed.privateKeyPath, keyId: seed.keyId };
    const child = async (mode: BenchChildInput['mode']) => {
      const input: BenchChildInput = { mode, ...credentials, jobUrl: started.jobUrl, outDir: join(workDir, mode), concurrency };
      const { stdout } = await execFileAsync(process.execPath, ['--import', pathToFileURL(here('tuned.js')).href, here('export-child.js'), JSON.stringify(input)], { maxBuffer: 1 << 20 });
      const out = JSON.parse(stdout) as BenchChildOutput;
      await rm(input.outDir, { recursive: true, force: true });
      return { ...out, mibPerSecond: out.bytes / 2 ** 20 / out.seconds };
    };
    const raw = await child('raw');
    const verified = await child('verified');
    const cliPeakRssBytes = await cliDownloadPeakRss(credentials, started.jobUrl, workDir, concurrency);
    return { bytes: verified.bytes, files: verified.files, verified, raw, ratio: verified.mibPerSecond / raw.mibPerSecond, cliPeakRssBytes };
  });
}

export interface BenchSandbox {
  workDir: string;
  sandbox: SandboxHandle;
  seed: SeedInfo;
  /** A client of the seeded organization. */
  client: DpcClient;
  /** The group to export (see benchGroup). */
  groupId: string;
}

/**
 * A seeded test-mode sandbox (export jobs finish at once) whose state lives in `<workDir>/sandbox`, a client of its
 * organization and a group to export, for `work`; then all is closed, and a scratch folder made here removed.
 */
export async function withBenchSandbox<T>(
  prefix: string,
  options: { exportScale: number; patients?: number; workDir?: string },
  work: (bench: BenchSandbox) => Promise<T>,
): Promise<T> {
  const { startSandbox } = await import('../sandbox/index.js');
  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), prefix)));
  const sandbox = await startSandbox({ seed: true, testMode: true, jobDurationMs: 0, exportScale: options.exportScale, stateDir: join(workDir, 'sandbox') });
  const seed = sandbox.seed!;
  const client = createClient({ baseUrl: sandbox.baseUrl, clientToken: seed.clientToken, privateKey: await readFile(seed.privateKeyPath, 'utf8'), keyId: seed.keyId });
  try {
    return await work({ workDir, sandbox, seed, client, groupId: await benchGroup(client, options.patients) });
  } finally {
    await client.close();
    await sandbox.close();
    if (options.workDir === undefined) await rm(workDir, { recursive: true, force: true });
  }
}

function here(file: string): string {
  return fileURLToPath(new URL(file, import.meta.url));
}

/** `dpc export download JOB_URL` as a user runs it (credentials from the environment); returns its peak RSS. */
async function cliDownloadPeakRss(
  credentials: { baseUrl: string; clientToken: string; privateKeyPath: string; keyId: string },
  jobUrl: string,
  workDir: string,
  concurrency: number,
): Promise<number> {
  const outDir = join(workDir, 'cli');
  const peakFile = join(workDir, 'cli-peak-rss');
  const env = {
    ...process.env,
    DPC_CONFIG: join(workDir, 'no-config.json'),
    DPC_BASE_URL: credentials.baseUrl,
    DPC_CLIENT_TOKEN: credentials.clientToken,
    DPC_PRIVATE_KEY: credentials.privateKeyPath,
    DPC_KEY_ID: credentials.keyId,
    DPC_BENCH_PEAK_RSS_FILE: peakFile,
  };
  const dpc = fileURLToPath(new URL('../../bin/dpc', import.meta.url));
  const args = ['--import', pathToFileURL(here('peak-rss.js')).href, dpc, 'export', 'download', jobUrl, '--out', outDir, '--concurrency', String(concurrency), '--quiet'];
  // exit 4 (partial success) is expected: the seeded sandbox has patients whose export fails on purpose
  await execFileAsync(process.execPath, args, { env, maxBuffer: 1 << 20 }).catch((error: { code?: number }) => {
    if (error.code !== 4) throw error;
  });
  await rm(outDir, { recursive: true, force: true });
  return Number(await readFile(peakFile, 'utf8'));
}

/** A group of the first seeded practitioner with `patients` seeded patients (reused when it exists). */
async function benchGroup(client: DpcClient, patients: number | undefined): Promise<string> {
  const existing = (await listGroups(client))[0];
  if (existing?.id) return existing.id;
  const practitioner = (await listPractitioners(client))[0];
  const npi = practitioner ? npiOf(practitioner) : undefined;
  if (!practitioner || !npi) throw new Error('the seeded sandbox has no practitioner');
  const ids = (await listPatients(client)).flatMap((p) => (p.id ? [p.id] : [])).slice(0, patients);
  const group = await createGroup(client, { npi, patientIds: ids, provenance: await attestationFor(client, practitioner) });
  return group.id!;
}
