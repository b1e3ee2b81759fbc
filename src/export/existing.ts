/**
 * Working with jobs that already exist: `dpc export status JOB_URL|DIR` (one status request per job and manifest page,
 * no waiting) and `dpc export download JOB_URL|DIR` (wait for the job, then download and verify its files; no new
 * kick-off).
 */
import { DpcError } from '../errors.js';
import { redactUrl } from '../redact.js';
import type { ExportEventHandler } from './events.js';
import { DEFAULT_POLL_INTERVAL_MS, pollOnce, pollUntilComplete, readManifestPages, type PollResult } from './job.js';
import { Limiter } from './limit.js';
import { FOLDER_NAME } from './layout.js';
import { DEFAULT_CONCURRENCY, downloadJob, runFor, withBoundedRun, type ExportRunResult, type GroupResult } from './run.js';
import { StateStore } from './state.js';
import type { DpcClient } from '../client.js';

export interface JobStatusReport {
  label?: string;
  jobUrl: string;
  /**
   * The job on the server: `in-progress`, `complete` (its files are ready; in a folder: not all downloaded yet) or
   * `expired`. A folder label with no unfinished job is `done`: its last run's files are all downloaded and verified
   * (`none` when it never finished one).
   */
  state: 'in-progress' | 'complete' | 'expired' | 'done' | 'none';
  /** Run folder of the unfinished job (folder sources). */
  run?: string;
  progress?: string;
  transactionTime?: string;
  files?: number;
  errorFiles?: number;
  /** Bulk Data 2.0 `deleted` files (Bundles of deletions). */
  deletedFiles?: number;
  expires?: string;
  /** From the state file: the newest run whose files were all verified, and its transactionTime. */
  latest?: string;
  lastTransactionTime?: string;
}

/** Whether a `source` names a job URL rather than an output folder. */
export function isUrl(value: string): boolean {
  return /^https?:\/\//i.test(value);
}

async function statusOfJob(client: DpcClient, jobUrl: string, label?: string): Promise<JobStatusReport> {
  let result: PollResult;
  try {
    result = await pollOnce(client.transport, jobUrl);
    // every page of a paged manifest, one status request each, as the run reads them
    if (result.state === 'complete') result = await readManifestPages(jobUrl, result, (pageUrl) => pollOnce(client.transport, pageUrl));
  } catch (error) {
    if (error instanceof DpcError && error.code === 'ERR_JOB_EXPIRED') return { label, jobUrl: redactUrl(jobUrl), state: 'expired' };
    throw error;
  }
  if (result.state === 'in-progress') return { label, jobUrl: redactUrl(jobUrl), state: 'in-progress', progress: result.progress };
  const files = result.completion.files;
  return {
    label,
    jobUrl: redactUrl(jobUrl),
    state: 'complete',
    transactionTime: result.completion.transactionTime,
    files: files.filter((f) => f.kind === 'output').length,
    errorFiles: files.filter((f) => f.kind === 'error').length,
    deletedFiles: files.filter((f) => f.kind === 'deleted').length,
    expires: result.expires,
  };
}

/** Status of a job URL, or of every job recorded in an output folder's state. */
export async function exportStatus(client: DpcClient, jobUrlOrDir: string): Promise<JobStatusReport[]> {
  if (isUrl(jobUrlOrDir)) return [await statusOfJob(client, jobUrlOrDir)];
  const state = await StateStore.open(jobUrlOrDir);
  const labels = state.labels();
  if (labels.length === 0) throw new DpcError('ERR_INPUT', `${jobUrlOrDir} holds no export state (.dpc-export-state.json)`, { location: jobUrlOrDir });
  const reports: JobStatusReport[] = [];
  for (const label of labels) {
    const group = state.group(label);
    const base: JobStatusReport = group.jobUrl
      ? { ...(await statusOfJob(client, group.jobUrl, label)), run: group.run }
      : { label, jobUrl: group.lastJobUrl ? redactUrl(group.lastJobUrl) : '', state: group.latest === undefined ? 'none' : 'done' };
    reports.push({ ...base, latest: group.latest, lastTransactionTime: group.lastTransactionTime });
  }
  return reports;
}

export interface DownloadExistingOptions {
  /** A job URL, or an output folder whose state lists in-flight jobs. */
  source: string;
  /** Output folder for a job URL (a folder source is its own output folder). */
  outDir?: string;
  gzip?: boolean;
  concurrency?: number;
  pollIntervalMs?: number;
  /** See `ExportRunOptions.maxWaitMs`. */
  maxWaitMs?: number;
  /** See `ExportRunOptions.maxFileBytes`. */
  maxFileBytes?: number;
  signal?: AbortSignal;
  onEvent?: ExportEventHandler;
  /** See `ExportRunOptions.onGroupComplete`. */
  onGroupComplete?: (group: GroupResult) => Promise<void>;
  /** See `ExportRunOptions.deleteJobWhenDone`. */
  deleteJobWhenDone?: boolean;
}

/** Label for a bare job URL: the group id from the job's `request` when it names one, else `job-<id>`. */
export function labelForJob(jobUrl: string, request: string): string {
  // the request comes from the server: a group id that could not name a folder (`..`) falls back to the job id
  const group = /\/Group\/([^/?]+)\/\$export/.exec(request)?.[1];
  if (group !== undefined && FOLDER_NAME.test(group)) return group;
  const id = new URL(jobUrl).pathname.split('/').filter(Boolean).pop() ?? 'job';
  return `job-${id.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

export async function downloadExisting(client: DpcClient, options: DownloadExistingOptions): Promise<ExportRunResult> {
  const fromUrl = isUrl(options.source);
  const outDir = fromUrl ? options.outDir : options.source;
  if (!outDir) throw new DpcError('ERR_USAGE', 'outDir is required to download a job URL', { field: 'outDir' });
  return withBoundedRun(outDir, options, (state, deadline) => downloadJobs(client, { ...options, signal: deadline.signal, deadline: deadline.at }, outDir, state));
}

async function downloadJobs(
  client: DpcClient,
  options: DownloadExistingOptions & { deadline: number },
  outDir: string,
  state: StateStore,
): Promise<ExportRunResult> {
  const fromUrl = isUrl(options.source);
  const jobs = fromUrl
    ? [{ label: undefined, jobUrl: options.source }]
    : state.labels().flatMap((label) => {
        const jobUrl = state.group(label).jobUrl;
        return jobUrl ? [{ label, jobUrl }] : [];
      });
  if (jobs.length === 0) throw new DpcError('ERR_INPUT', `${outDir} has no unfinished export job to download`, { location: outDir });
  const downloads = new Limiter(options.concurrency ?? DEFAULT_CONCURRENCY);
  const groups: GroupResult[] = [];
  for (const job of jobs) {
    const done = await pollUntilComplete(client.transport, job.jobUrl, {
      label: job.label ?? redactUrl(job.jobUrl),
      intervalMs: options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
      deadline: options.deadline,
      signal: options.signal,
      onEvent: options.onEvent,
    });
    const label = job.label ?? labelForJob(job.jobUrl, done.completion.request);
    const run = await runFor(state, outDir, label, { jobUrl: job.jobUrl, request: 'download', at: client.now() });
    groups.push(
      await downloadJob(client.transport, {
        outDir,
        label,
        run,
        jobUrl: job.jobUrl,
        completion: done.completion,
        statusRequestId: done.requestId,
        statusDate: done.serverDate,
        state,
        downloads,
        now: client.now,
        gzip: options.gzip,
        deadline: options.deadline,
        maxFileBytes: options.maxFileBytes,
        signal: options.signal,
        onEvent: options.onEvent,
        onGroupComplete: options.onGroupComplete,
        deleteJobWhenDone: options.deleteJobWhenDone,
      }),
    );
  }
  return { outDir, groups };
}
