/**
 * Benchmark helper for `npm run bench` (call from bench/ against dist/): one sandbox export, finished before timing,
 * then downloaded twice by child processes at the same concurrency: verified by the engine, and as a raw copy
 * (undici GET → file, then a separate sha256 pass). Returns both throughputs, their ratio, the verified run's peak
 * RSS and its token exchanges. Size: bytes grow linearly with `exportScale` (claims per patient) and `patients`.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createClient } from '../client.js';
import { createGroup, listGroups } from '../fhir/groups.js';
import { attestationFor } from '../fhir/lookup.js';
import { listPatients } from '../fhir/patients.js';
import { listPractitioners } from '../fhir/practitioners.js';
import { npiOf } from '../fhir/resources.js';
import type { BenchChildInput, BenchChildOutput } from './bench-child.js';
import { kickoff, pollUntilComplete } from './job.js';

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
  peakRssMiB: number;
}

const execFileAsync = promisify(execFile);

export async function benchmarkExport(options: ExportBenchOptions): Promise<ExportBenchResult> {
  const { startSandbox } = await import('../sandbox/index.js');
  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), 'dpc-export-bench-')));
  const sandbox = await startSandbox({ seed: true, testMode: true, jobDurationMs: 0, exportScale: options.exportScale, stateDir: join(workDir, 'sandbox') });
  const seed = sandbox.seed!;
  const client = createClient({ baseUrl: sandbox.baseUrl, clientToken: seed.clientToken, privateKey: await readFile(seed.privateKeyPath, 'utf8'), keyId: seed.keyId });
  try {
    const groupId = await benchGroup(client, options.patients);
    const started = await kickoff(client.transport, { scope: { level: 'group', groupId } });
    await pollUntilComplete(client.transport, started.jobUrl, { label: 'bench', intervalMs: 500 });

    const concurrency = options.concurrency ?? 4;
    const child = async (mode: BenchChildInput['mode']) => {
      const input: BenchChildInput = {
        mode,
        baseUrl: sandbox.baseUrl,
        clientToken: seed.clientToken,
        privateKeyPath: seed.privateKeyPath,
        keyId: seed.keyId,
        jobUrl: started.jobUrl,
        outDir: join(workDir, mode),
        concurrency,
      };
      const script = fileURLToPath(new URL('./bench-child.js', import.meta.url));
      const { stdout } = await execFileAsync(process.execPath, [script, JSON.stringify(input)], { maxBuffer: 1 << 20 });
      const out = JSON.parse(stdout) as BenchChildOutput;
      await rm(input.outDir, { recursive: true, force: true });
      return { ...out, mibPerSecond: out.bytes / 2 ** 20 / out.seconds };
    };
    const raw = await child('raw');
    const verified = await child('verified');
    return {
      bytes: verified.bytes,
      files: verified.files,
      verified,
      raw,
      ratio: verified.mibPerSecond / raw.mibPerSecond,
      peakRssMiB: verified.peakRssBytes / 2 ** 20,
    };
  } finally {
    await client.close();
    await sandbox.close();
    if (options.workDir === undefined) await rm(workDir, { recursive: true, force: true });
  }
}

/** A group of the first seeded practitioner with `patients` seeded patients (reused when it exists). */
async function benchGroup(client: ReturnType<typeof createClient>, patients: number | undefined): Promise<string> {
  const existing = (await listGroups(client))[0];
  if (existing?.id) return existing.id;
  const practitioner = (await listPractitioners(client))[0];
  const npi = practitioner ? npiOf(practitioner) : undefined;
  if (!practitioner || !npi) throw new Error('the seeded sandbox has no practitioner');
  const ids = (await listPatients(client)).flatMap((p) => (p.id ? [p.id] : [])).slice(0, patients);
  const group = await createGroup(client, { npi, patientIds: ids, provenance: await attestationFor(client, practitioner) });
  return group.id!;
}
