/**
 * The sandbox's export engine: bulk-export jobs over synthetic claims data (behaviour doc §6).
 * Kick-off splits the group into batches of 100 patients and generates their files in the
 * background; a job reports complete once its files exist and `jobDurationMs` of sandbox-clock
 * time has passed, and expires 24 h after completing.
 */
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { batchIdFor, dataFilePath, generateBatch, patientOutput, readCachedBatch, type BatchManifest, type BatchSpec, type FileRecord } from './batch.js';
import { completionBody, progressText } from './completion.js';
import type { ExportResourceType, ExportService, JobStatus, KickoffRequest, PatientData, SandboxFaults } from './contract.js';
import { serveFile, type ServableFile } from './serve.js';
import { loadTemplates } from './synth.js';

export type { ExportService } from './contract.js';

export interface ExportServiceOptions {
  /** Files go to `<stateDir>/data/<batchId>-<seq>.<type>.ndjson.gz` (owner-only). */
  stateDir: string;
  /** The API base, e.g. `http://127.0.0.1:PORT/api/v1`; file URLs are `<baseUrl>/Data/<name>.ndjson`. */
  baseUrl: string;
  /** The sandbox clock (epoch ms). */
  now(): number;
  /** Sandbox-clock time a job stays in progress. */
  jobDurationMs: number;
  /**
   * Multiplies the claims (ExplanationOfBenefit, 11–52 KB each) per patient; default 1 (2–8 claims per patient).
   * Measured for 1350 patients, all types: scale 1 ≈ 256 MB of NDJSON (16 MB gzip on disk), scale 5 ≈ 1.09 GB
   * (68 MB gzip); size grows ≈ 56 MB + 200 MB × scale.
   */
  exportScale?: number;
  /** The live fault settings; counted faults are decremented in place when used. */
  faults(): SandboxFaults;
  /** Seed of the synthetic data; default 0. */
  seed?: number;
  /** Resources per file before a new sequence file starts (DPC's resourcesPerFileCount); default 5000. */
  resourcesPerFile?: number;
}

/** DPC's JobQueueModule batchSize. */
export const PATIENTS_PER_BATCH = 100;
const DAY_MS = 24 * 60 * 60 * 1000;
/** DPC's JOB_EXPIRATION_HOURS = 24. */
const JOB_EXPIRY_MS = DAY_MS;

/**
 * DPC's transactionTime is when Blue Button last loaded data, not the request time (the real sample shows
 * it two days before submit_time). The sandbox pretends to load nightly: midnight UTC of the sandbox day.
 * So `_since=<now>` yields an empty export, as does reusing transactionTime as `_since` the same sandbox day.
 */
function dataLoadTime(now: number): number {
  return Math.floor(now / DAY_MS) * DAY_MS;
}

interface Job {
  id: string;
  orgId: string;
  requestUrl: string;
  submitTime: number;
  transactionTime: number;
  types: readonly ExportResourceType[];
  batches: Array<{ id: string; spec: BatchSpec; manifest?: BatchManifest }>;
  patientsTotal: number;
  patientsDone: number;
  /** Sandbox-clock time generation finished. */
  doneAt?: number;
  error?: string;
}

interface StoredFile {
  record: FileRecord;
  lastModified: number;
  jobs: Job[];
}

export function createExportService(options: ExportServiceOptions): Required<ExportService> {
  const seed = options.seed ?? 0;
  const exportScale = options.exportScale ?? 1;
  const resourcesPerFile = options.resourcesPerFile ?? 5000;
  if (!Number.isFinite(exportScale) || exportScale < 0) throw new RangeError(`exportScale must be a number ≥ 0, got ${exportScale}`);
  if (!Number.isInteger(resourcesPerFile) || resourcesPerFile < 1) throw new RangeError(`resourcesPerFile must be an integer ≥ 1, got ${resourcesPerFile}`);
  const dataDir = join(options.stateDir, 'data');
  const jobs = new Map<string, Job>();
  const files = new Map<string, StoredFile>();
  /** Batches being generated, shared by identical concurrent requests. */
  const inFlight = new Map<string, Promise<BatchManifest>>();
  const running = new Set<Promise<void>>();
  const stop = new AbortController();

  const completeTime = (job: Job): number | undefined =>
    job.doneAt === undefined ? undefined : Math.max(job.submitTime + options.jobDurationMs, job.doneAt);
  const isExpired = (job: Job, now: number): boolean => {
    const complete = completeTime(job);
    return complete !== undefined && now >= complete + JOB_EXPIRY_MS;
  };

  function batchManifest(batch: Job['batches'][number], onPatient: () => void): Promise<BatchManifest> {
    let pending = inFlight.get(batch.id);
    if (!pending) {
      pending = (async () => {
        const cached = await readCachedBatch(dataDir, batch.id);
        if (cached) return cached;
        const templates = await loadTemplates();
        return generateBatch(dataDir, batch.id, batch.spec, templates, { createdAt: options.now(), onPatient, signal: stop.signal });
      })().finally(() => inFlight.delete(batch.id));
      inFlight.set(batch.id, pending);
    }
    return pending;
  }

  async function run(job: Job): Promise<void> {
    try {
      await mkdir(dataDir, { recursive: true, mode: 0o700 });
      for (const batch of job.batches) {
        const before = job.patientsDone;
        const manifest = await batchManifest(batch, () => job.patientsDone++);
        batch.manifest = manifest;
        job.patientsDone = before + batch.spec.mbis.length;
        for (const record of manifest.files) {
          const stored = files.get(record.name) ?? { record, lastModified: manifest.createdAt, jobs: [] };
          stored.jobs.push(job);
          files.set(record.name, stored);
        }
      }
      job.doneAt = options.now();
    } catch (error) {
      job.error = stop.signal.aborted ? 'export service closed' : `export job ${job.id}: ${(error as Error).message}`;
    }
  }

  return {
    async kickoff(request: KickoffRequest) {
      if (stop.signal.aborted) throw new Error('export service is closed');
      await loadTemplates();
      const submitTime = options.now();
      const transactionTime = dataLoadTime(submitTime);
      // _since at or after the transaction time: DPC creates an empty batch, the job completes with no output.
      const empty = request.since !== undefined && request.since >= transactionTime;
      const mbis = empty ? [] : request.patients.map((p) => p.mbi);
      const batches: Job['batches'] = [];
      for (let i = 0; i < mbis.length; i += PATIENTS_PER_BATCH) {
        const spec: BatchSpec = { seed, exportScale, resourcesPerFile, types: request.types, since: request.since, mbis: mbis.slice(i, i + PATIENTS_PER_BATCH) };
        batches.push({ id: batchIdFor(spec), spec });
      }
      const job: Job = {
        id: randomUUID(),
        orgId: request.orgId,
        requestUrl: request.requestUrl,
        submitTime,
        transactionTime,
        types: [...request.types],
        batches,
        patientsTotal: mbis.length,
        patientsDone: 0,
      };
      jobs.set(job.id, job);
      const work = run(job).finally(() => running.delete(work));
      running.add(work);
      return { jobId: job.id };
    },

    async patientData(mbi: string, types: readonly ExportResourceType[], since?: number): Promise<PatientData> {
      const templates = await loadTemplates();
      // as in kickoff: _since at or after the transaction time is an empty job
      if (since !== undefined && since >= dataLoadTime(options.now())) return { resources: [] };
      const out = [...patientOutput(templates, { seed, exportScale, since }, new Set(types), mbi)];
      const errors = out.filter((o) => o.type === 'OperationOutcome');
      // DPC: DataService.retrieveData — a job whose only file is the error file answers its issues as one OperationOutcome
      if (errors.length > 0) {
        return { outcome: { resourceType: 'OperationOutcome', issue: errors.flatMap((e) => (JSON.parse(e.line) as { issue: unknown[] }).issue) } };
      }
      // DPC assembles the Bundle file by file, in the job's type order
      const rank = (type: string) => types.indexOf(type as ExportResourceType);
      return { resources: out.sort((a, b) => rank(a.type) - rank(b.type)).map((o) => JSON.parse(o.line) as unknown) };
    },

    status(orgId: string, jobId: string): JobStatus {
      const job = jobs.get(jobId);
      if (!job) return { state: 'not-found' };
      if (job.orgId !== orgId) return { state: 'wrong-org' };
      if (job.error !== undefined) return { state: 'failed', message: job.error };
      const now = options.now();
      const complete = completeTime(job);
      if (complete === undefined || now < complete) {
        const elapsed = options.jobDurationMs > 0 ? (now - job.submitTime) / options.jobDurationMs : 1;
        const generated = job.patientsTotal > 0 ? job.patientsDone / job.patientsTotal : job.doneAt === undefined ? 0 : 1;
        return { state: 'in-progress', progress: progressText(Math.min(elapsed, generated)) };
      }
      if (isExpired(job, now)) return { state: 'expired' };
      const body = completionBody({
        baseUrl: options.baseUrl,
        requestUrl: job.requestUrl,
        transactionTime: job.transactionTime,
        submitTime: job.submitTime,
        completeTime: complete,
        types: job.types,
        files: job.batches.flatMap((b) => b.manifest?.files ?? []),
        wrongChecksumFor: options.faults().wrongChecksum?.fileIncludes,
      });
      return { state: 'complete', body, expires: new Date(complete + JOB_EXPIRY_MS) };
    },

    serveData(req: IncomingMessage, res: ServerResponse, orgId: string, fileName: string): Promise<void> {
      const name = fileName.endsWith('.ndjson') ? fileName.slice(0, -'.ndjson'.length) : fileName;
      const stored = files.get(name);
      const owners = stored?.jobs.filter((job) => job.orgId === orgId) ?? [];
      const now = options.now();
      const file: ServableFile | undefined =
        stored && owners.length > 0
          ? { record: stored.record, path: dataFilePath(dataDir, name), lastModified: stored.lastModified, expired: owners.every((job) => isExpired(job, now)) }
          : undefined;
      return serveFile(req, res, file, options.faults());
    },

    async close() {
      stop.abort();
      await Promise.allSettled([...running]);
    },
  };
}
