/**
 * The export run: lock the output folder, resolve the targets (group, NPI, every group, patient or system level), then
 * per target kick off or resume a job, poll it, download and verify every file with bounded concurrency, summarise the
 * error files, and write `manifest.json` last.
 *
 * Output layout (`<out>` = --out; details in layout.ts):
 *   <out>/<label>/<run>/<Type>-NNN.ndjson[.gz]  verified files, numbered per type in manifest order (0600)
 *   <out>/<label>/<run>/manifest.json           written last, atomically: files with url/type/path/bytes/sha256/count,
 *                                               the job's transactionTime and request, quarantined files, error summary
 *   <out>/<label>/LATEST                        run id of the newest run whose files all verified
 *   <out>/.quarantine/<label>/<run>/<name>      bytes that failed verification twice (never at a final name)
 *   <out>/.dpc-export-state.json[.journal]      resume + `--since auto` state (state.ts);  <out>/.dpc-export.lock  the lock
 * `<label>` is the group id, the NPI as given with --npi, `patient` or `system`; `<run>` is the kick-off time
 * (`2026-11-25T020000Z`). Every job gets its own run folder and nothing of a completed run is ever deleted, so a
 * nightly `--since auto` keeps every delta; a rerun of the same command resumes the in-flight job in its run folder.
 *
 * Resume skips a file recorded as verified when it is still at its final name with the recorded size: files are
 * fsynced before the rename and the state is written after it, so size catches truncation or replacement cheaply;
 * and when the manifest carries checksums (DPC), once the server confirms with a 304 to `HEAD` + `If-None-Match`
 * that it still serves those bytes (resume.ts). `verifyExportDir` re-hashes everything on demand.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DpcError, isDpcError } from '../errors.js';
import type { Transport } from '../transport/index.js';
import { redactUrl } from '../redact.js';
import { checkMaxFileBytes, downloadVerified, type DownloadOutcome, type SizeBound, type VerifiedFile } from './download.js';
import type { ExportEventHandler } from './events.js';
import { ensurePrivateDir, writeOwnerOnly } from '../fs.js';
import { findGroupByNpi, listGroups } from '../fhir/groups.js';
import { attributedNpi } from '../fhir/resources.js';
import { isValidNpi } from '../fhir/validate.js';
import {
  DEFAULT_POLL_INTERVAL_MS,
  deleteJob,
  instantFormatProblem,
  kickoff,
  kickoffUrl,
  pollUntilComplete,
  transactionTimeProblem,
  validateBulkDataParameters,
  validateSince,
  validateTypes,
  type BulkDataParameters,
  type ExportRequest,
  type ExportScope,
  type JobDeletion,
  type Kickoff,
} from './job.js';
import { acquireLock } from './lock.js';
import { startDeadline, type Deadline } from './deadline.js';
import { abandonRun, createRunDir, FOLDER_NAME, MANIFEST_FILE, NPI_FILE, QUARANTINE_DIR, writeLatest } from './layout.js';
import { planFiles, promisedLines, type JobCompletion, type PlannedFile } from './manifest.js';
import { serverConfirms } from './resume.js';
import { describePatients, emptySummary, mapPatientIds, summariseErrorFiles, type ErrorSummary } from './outcomes.js';
import { Limiter, runAll } from './limit.js';
import { forgetInFlight, STATE_FILE, StateStore, type GroupState } from './state.js';
import { plural } from '../plural.js';
import type { DpcClient } from '../client.js';

export type ExportTarget =
  | { kind: 'group'; groupId: string }
  | { kind: 'npi'; npi: string }
  | { kind: 'all-groups' }
  /** One DPC patient (`Patient/{id}/$export`, or `$everything` as a job); `label` names its output folder. */
  | { kind: 'one-patient'; patientId: string; provenance: string; label: string; everything?: boolean }
  | { kind: 'patient' }
  | { kind: 'system' };

export interface ExportRunOptions extends BulkDataParameters {
  outDir: string;
  target: ExportTarget;
  types?: readonly string[];
  /** ISO date-time, or `auto` for the last verified transactionTime of each group. */
  since?: string;
  outputFormat?: string;
  /** See `ExportRequest.post` and `ExportRequest.lenient` (generic servers). */
  post?: boolean;
  lenient?: boolean;
  /** Keep files gzip-compressed as the server stores them. */
  gzip?: boolean;
  /** Parallel downloads across the whole run (default 4). */
  concurrency?: number;
  /** Groups exported at once with the all-groups target (default 2). */
  groupConcurrency?: number;
  pollIntervalMs?: number;
  /**
   * Longest the whole run may take, waiting for the job included (default 24 h, DPC's job lifetime): a job still
   * running then, or a server asking to wait past it (Retry-After), fails with ERR_TIMEOUT; a rerun resumes.
   */
  maxWaitMs?: number;
  /** Largest data file accepted, uncompressed (default 4 GiB); see `DownloadTarget.maxFileBytes`. */
  maxFileBytes?: number;
  /**
   * Once a target's files are all verified, DELETE its job on the server so it may drop the files (the SMART reference
   * client offers this after a download). A refusal (DPC has no cancel: 405) is reported, not a failure of the run.
   */
  deleteJobWhenDone?: boolean;
  signal?: AbortSignal;
  onEvent?: ExportEventHandler;
  /**
   * Called when a target's run is complete (every file verified, manifest.json and the state written), before the
   * next one starts; e.g. to start loading the run without polling. A rejection is recorded on that target's result
   * (`onCompleteError`) and undoes nothing: the export is already consistent.
   */
  onGroupComplete?: (group: GroupResult) => Promise<void>;
}

/** Run options with the run's deadline applied: `signal` also aborts when it passes. */
type BoundedRunOptions = ExportRunOptions & { deadline: number; explain: Deadline['explain'] };

export interface QuarantinedFile {
  url: string;
  type: string;
  path: string;
  problems: string[];
  /** Set when the body grew past this bound and was stopped (not retried); absent: it failed verification twice. */
  sizeBound?: SizeBound;
}

export interface GroupManifest {
  label: string;
  /** The exported group and the practitioner it is attributed to, when known (group-level exports). */
  groupId?: string;
  npi?: string;
  /** Run id: the folder under `<out>/<label>/` holding this manifest. */
  run: string;
  jobUrl: string;
  transactionTime: string;
  /** DPC's echo of the kick-off request (its `request` field, verbatim). */
  request: string;
  /**
   * The kick-off this client sent, as a URL with its parameters (redacted; a POST kick-off sent them as Parameters);
   * absent for a job adopted by URL (`export download`).
   */
  requestSent?: string;
  requiresAccessToken: boolean;
  gzip: boolean;
  files: VerifiedFile[];
  quarantined: QuarantinedFile[];
  errors: ErrorSummary;
  writtenAt: string;
}

export interface GroupResult {
  label: string;
  groupId?: string;
  /** The practitioner NPI the group is attributed to, when known. */
  npi?: string;
  /** Why this target was skipped without failing the run (an all-groups group without active members). */
  skipped?: string;
  /** How `onGroupComplete` failed for this target (its export is complete all the same). */
  onCompleteError?: DpcError;
  /** With `deleteJobWhenDone`: what became of the job on the server (`failed`: it refused; the export is complete). */
  jobDeletion?: { outcome: JobDeletion | 'failed'; message?: string };
  /** Set when this target failed as a whole (the others still ran). */
  error?: DpcError;
  manifest?: GroupManifest;
  manifestPath?: string;
}

export interface ExportRunResult {
  outDir: string;
  groups: GroupResult[];
}

export const DEFAULT_CONCURRENCY = 4;
const DEFAULT_GROUP_CONCURRENCY = 2;

export async function runExport(client: DpcClient, options: ExportRunOptions): Promise<ExportRunResult> {
  const now = client.now;
  if (options.types) validateTypes(options.types);
  validateBulkDataParameters(options);
  if (options.since !== undefined && options.since !== 'auto') validateSince(options.since, now());
  const result = await withBoundedRun(options.outDir, options, (state, deadline) =>
    exportTargets(client, { ...options, signal: deadline.signal, deadline: deadline.at, explain: deadline.explain }, state),
  );
  // groups that finished despite the abort do not make the run complete
  if (options.signal?.aborted) throw interrupted(options.outDir);
  return result;
}

/**
 * `work` on the output folder's locked state (withLockedState) within the run's bounds: `maxFileBytes` checked first,
 * and a `maxWaitMs` deadline whose signal `work` is to use. A failure the deadline caused comes out as ERR_TIMEOUT
 * naming it; any failure after the caller's abort as `interrupted`.
 */
export async function withBoundedRun<T>(
  outDir: string,
  bounds: { maxWaitMs?: number; maxFileBytes?: number; signal?: AbortSignal },
  work: (state: StateStore, deadline: Deadline) => Promise<T>,
): Promise<T> {
  checkMaxFileBytes(bounds.maxFileBytes);
  const deadline = startDeadline(bounds.maxWaitMs, bounds.signal);
  try {
    return await withLockedState(outDir, (state) => work(state, deadline));
  } catch (error) {
    throw bounds.signal?.aborted ? interrupted(outDir) : deadline.explain(error);
  }
}

/**
 * Run `work` on the output folder's state under its lock. The journal is folded into the snapshot first, so the run
 * appends to a fresh one, and again at the end; if that last fold fails the journal still holds every change.
 */
export async function withLockedState<T>(outDir: string, work: (state: StateStore) => Promise<T>): Promise<T> {
  await ensurePrivateDir(outDir);
  const lock = await acquireLock(outDir);
  try {
    const state = await StateStore.open(outDir);
    await state.compact();
    try {
      return await work(state);
    } finally {
      await state.compact().catch(() => undefined);
    }
  } finally {
    await lock.release();
  }
}

async function exportTargets(client: DpcClient, options: BoundedRunOptions, state: StateStore): Promise<ExportRunResult> {
  const targets = await resolveTargets(client, options.target);
  const downloads = new Limiter(options.concurrency ?? DEFAULT_CONCURRENCY);
  const groups = new Limiter(targets.length > 1 ? (options.groupConcurrency ?? DEFAULT_GROUP_CONCURRENCY) : 1);
  // allSettled: the lock must outlive every group's work, even after one failed
  const settled = await Promise.allSettled(targets.map((target) => groups.run(() => exportTarget(client, options, state, downloads, target))));
  const [only] = settled;
  if (targets.length === 1 && only?.status === 'rejected') throw only.reason;
  const results = settled.map((s, i): GroupResult => (s.status === 'fulfilled' ? s.value : { label: targets[i]!.label, error: asDpcError(options.explain(s.reason)) }));
  return { outDir: options.outDir, groups: results };
}

interface ResolvedTarget {
  label: string;
  scope: ExportScope;
  provenance?: string;
  npi?: string;
}

async function resolveTargets(client: DpcClient, target: ExportTarget): Promise<ResolvedTarget[]> {
  switch (target.kind) {
    case 'group':
      return [{ label: safeLabel(target.groupId, 'groupId'), scope: { level: 'group', groupId: target.groupId } }];
    case 'npi': {
      if (!isValidNpi(target.npi)) throw new DpcError('ERR_INPUT', `npi ${JSON.stringify(target.npi)} is not a valid NPI (10 digits with a Luhn check digit)`, { field: 'npi' });
      const group = await findGroupByNpi(client, target.npi);
      if (!group?.id) throw new DpcError('ERR_NOT_FOUND', `no attribution group for practitioner NPI ${target.npi}`, { field: 'npi' });
      return [{ label: target.npi, scope: { level: 'group', groupId: group.id }, npi: target.npi }];
    }
    case 'all-groups': {
      const groups = (await listGroups(client)).flatMap((g) => (g.id ? [{ id: g.id, npi: attributedNpi(g) }] : []));
      if (groups.length === 0) throw new DpcError('ERR_NOT_FOUND', 'the organization has no groups to export');
      return groups.map(({ id, npi }) => ({ label: safeLabel(id, 'groupId'), scope: { level: 'group', groupId: id }, npi }));
    }
    case 'one-patient': {
      const scope: ExportScope = { level: 'one-patient', patientId: target.patientId, operation: target.everything ? '$everything' : '$export' };
      return [{ label: safeLabel(target.label, 'label'), scope, provenance: target.provenance }];
    }
    case 'patient':
      return [{ label: 'patient', scope: { level: 'patient' } }];
    case 'system':
      return [{ label: 'system', scope: { level: 'system' } }];
  }
}

/** A label becomes a folder name. */
function safeLabel(value: string, field: string): string {
  if (!FOLDER_NAME.test(value)) throw new DpcError('ERR_INPUT', `${field} ${JSON.stringify(value)} cannot name an output folder`, { field });
  return value;
}

/** The generic kick-off parameters a run was given, only those set (so older fingerprints stay equal). Pure. */
function bulkDataParameters(options: BulkDataParameters): BulkDataParameters {
  const { elements, typeFilter, patients, includeAssociatedData } = options;
  return Object.fromEntries(
    Object.entries({ elements, typeFilter, patients, includeAssociatedData }).filter(([, values]) => values !== undefined && values.length > 0),
  );
}

/** What makes two runs "the same command" for resume purposes. */
function fingerprint(scope: ExportScope, options: ExportRunOptions): string {
  return JSON.stringify({
    scope,
    types: [...(options.types ?? [])].sort(),
    since: options.since ?? null,
    outputFormat: options.outputFormat ?? null,
    gzip: options.gzip ?? false,
    ...bulkDataParameters(options),
  });
}

async function exportTarget(
  client: DpcClient,
  options: BoundedRunOptions,
  state: StateStore,
  downloads: Limiter,
  target: ResolvedTarget,
): Promise<GroupResult> {
  const { label, npi } = target;
  const groupId = target.scope.level === 'group' ? target.scope.groupId : undefined;
  let started: Awaited<ReturnType<typeof resumeOrStart>>;
  try {
    started = await resumeOrStart(client, options, state, target);
  } catch (error) {
    // a whole-organisation run exports the groups that have members; an empty one is no failure of the night
    if (!(error instanceof NoActiveMembers) || options.target.kind !== 'all-groups') throw error;
    options.onEvent?.({ type: 'export_skipped', label, groupId, npi, reason: error.message });
    return { label, groupId, npi, skipped: error.message };
  }
  const { jobUrl, completion, requestId, serverDate, requestSent } = started;
  const run = await runFor(state, options.outDir, label, { jobUrl, request: fingerprint(target.scope, options), at: client.now() });
  return downloadJob(client.transport, {
    ...options, label, groupId, npi, run, jobUrl, completion, requestSent, statusRequestId: requestId, statusDate: serverDate, state, downloads, now: client.now,
  });
}

/** A group kick-off answered 406. DPC: R/GroupResource.java export — a group without active members is 406. */
class NoActiveMembers extends DpcError {}

async function startJob(transport: Transport, request: ExportRequest, signal: AbortSignal | undefined): Promise<Kickoff> {
  try {
    return await kickoff(transport, request, signal);
  } catch (error) {
    if (request.scope.level !== 'group' || !isDpcError(error, 'ERR_NOT_ACCEPTABLE')) throw error;
    throw new NoActiveMembers('ERR_NOT_ACCEPTABLE', `group ${request.scope.groupId} has no active members (406): nothing to export`, {
      cause: error,
      status: 406,
      requestId: error.requestId,
      field: 'groupId',
    });
  }
}

/** `{ npi }` for a target whose practitioner is known, for events. Pure. */
const npiOf = (target: { npi?: string }): { npi?: string } => (target.npi === undefined ? {} : { npi: target.npi });

async function resumeOrStart(
  client: DpcClient,
  options: BoundedRunOptions,
  state: StateStore,
  target: ResolvedTarget,
): Promise<{ jobUrl: string; completion: JobCompletion; requestId?: string; serverDate?: number; requestSent: string }> {
  const { label } = target;
  const exportRequest = (since: string | undefined): ExportRequest => ({
    ...bulkDataParameters(options),
    scope: target.scope,
    types: options.types,
    since,
    outputFormat: options.outputFormat,
    provenance: target.provenance,
    post: options.post,
    lenient: options.lenient,
  });
  const request = fingerprint(target.scope, options);
  const previous = state.group(label);
  const poll = (jobUrl: string) =>
    pollUntilComplete(client.transport, jobUrl, {
      label,
      intervalMs: options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
      deadline: options.deadline,
      signal: options.signal,
      onEvent: options.onEvent,
    });

  if (previous.jobUrl !== undefined && previous.request === request) {
    options.onEvent?.({ type: 'kickoff', label, ...npiOf(target), url: redactUrl(previous.jobUrl), jobUrl: redactUrl(previous.jobUrl), resumed: true });
    try {
      const done = await poll(previous.jobUrl);
      // the same request as recorded: with since auto, its _since was the last transactionTime, unchanged since then
      const since = options.since === 'auto' ? previous.lastTransactionTime : options.since;
      return { jobUrl: previous.jobUrl, completion: done.completion, requestId: done.requestId, serverDate: done.serverDate, requestSent: kickoffUrl(client.transport, exportRequest(since)) };
    } catch (error) {
      // expired (410) or unknown to the server (404): its files are gone, so start over with a new job below
      if (!isDpcError(error, 'ERR_JOB_EXPIRED') && !isDpcError(error, 'ERR_NOT_FOUND')) throw error;
    }
  }

  const since = options.since === 'auto' ? recordedSince(previous, label) : options.since;
  const started = await startJob(client.transport, exportRequest(since), options.signal).catch((error: unknown) => {
    throw options.since === 'auto' && since !== undefined ? recordedSinceRefused(error, label, since) : error;
  });
  await beginRun(state, options.outDir, label, { jobUrl: started.jobUrl, request, at: client.now() });
  options.onEvent?.({ type: 'kickoff', label, ...npiOf(target), url: started.url, jobUrl: redactUrl(started.jobUrl), resumed: false, requestId: started.requestId });
  const done = await poll(started.jobUrl);
  // as a URL with every parameter, also for a POST kick-off (whose URL carries none): what the tables judge by
  return { jobUrl: started.jobUrl, completion: done.completion, requestId: done.requestId, serverDate: done.serverDate, requestSent: kickoffUrl(client.transport, exportRequest(since)) };
}

/**
 * The `_since` of a `since: 'auto'` run: the recorded transactionTime, checked again because a state written by an
 * older version may hold one the server gave unchecked. Whether it lies in the future is the server's to judge, by
 * its own clock (which may be ahead of ours): see recordedSinceRefused.
 */
function recordedSince(group: Readonly<GroupState>, label: string): string | undefined {
  const since = group.lastTransactionTime;
  const problem = since === undefined ? undefined : instantFormatProblem(since);
  if (problem === undefined) return since;
  throw new DpcError('ERR_INPUT', `${STATE_FILE}: the transactionTime recorded for ${label} (${JSON.stringify(since)}) ${problem}; pass an explicit since once to replace it`, {
    location: STATE_FILE,
  });
}

/**
 * A kick-off refused over the recorded `_since` (e.g. the server's clock went back past it) names the state file and
 * the repair. DPC: AbstractResourceWithExport.handleSinceQueryParam — a future `_since` is 400 "'_since' query
 * parameter cannot be a future date". Other refusals pass through unchanged.
 */
function recordedSinceRefused(error: unknown, label: string, since: string): unknown {
  if (!isDpcError(error, 'ERR_BAD_REQUEST') || !error.message.includes('_since')) return error;
  return new DpcError('ERR_INPUT', `${STATE_FILE}: the server refused the transactionTime recorded for ${label} (${JSON.stringify(since)}) as _since: ${error.message}; pass an explicit since once to replace it`, {
    cause: error,
    status: error.status,
    requestId: error.requestId,
    location: STATE_FILE,
  });
}

interface RunJob {
  jobUrl: string;
  /** Fingerprint of the request (`download` for a job adopted by URL). */
  request: string;
  /** Kick-off (or adoption) time, epoch ms: names the run folder. */
  at: number;
}

/**
 * Record a new job for `label` in a new run folder. The unfinished run it replaces (its job expired, vanished or was
 * for another request) is removed; a completed run never is: it is no longer in-flight state.
 */
async function beginRun(state: StateStore, outDir: string, label: string, job: RunJob): Promise<string> {
  const groupDir = join(outDir, label);
  const replaced = state.group(label).run;
  if (replaced !== undefined) await abandonRun(join(groupDir, replaced));
  const run = await createRunDir(groupDir, job.at);
  await state.update(label, (group) => {
    group.jobUrl = job.jobUrl;
    group.request = job.request;
    group.kickedOffAt = new Date(job.at).toISOString();
    group.run = run;
    group.files = new Map();
  });
  return run;
}

/** The run folder of `label`'s in-flight job: the recorded one, or a new one when the state has none for this job. */
export async function runFor(state: StateStore, outDir: string, label: string, job: RunJob): Promise<string> {
  const group = state.group(label);
  if (group.jobUrl !== job.jobUrl) return beginRun(state, outDir, label, job);
  // same job, but recorded by a version without run folders: give it one and keep its request for resume
  return group.run ?? beginRun(state, outDir, label, { ...job, request: group.request ?? job.request });
}

export interface DownloadJobOptions {
  outDir: string;
  label: string;
  /** Run id: files land in `<outDir>/<label>/<run>/`. */
  run: string;
  jobUrl: string;
  completion: JobCompletion;
  /** The kick-off URL sent, for the manifest (absent for a job adopted by URL). */
  requestSent?: string;
  state: StateStore;
  downloads: Limiter;
  /** Recorded in the manifest; with an NPI, `<label>/NPI` names the practitioner next to a group-id folder. */
  groupId?: string;
  npi?: string;
  /** X-Request-Id of the status response that reported completion. */
  statusRequestId?: string;
  /** Epoch ms: that response's `Date`, the server's clock, against which its transactionTime is judged. */
  statusDate?: number;
  /** Epoch ms: this machine's clock, used for the transactionTime check when the server sent no usable Date. */
  now: () => number;
  gzip?: boolean;
  /** Epoch ms bounding each file's retries (see `ExportRunOptions.maxWaitMs`). */
  deadline?: number;
  maxFileBytes?: number;
  deleteJobWhenDone?: boolean;
  signal?: AbortSignal;
  onEvent?: ExportEventHandler;
  onGroupComplete?: ExportRunOptions['onGroupComplete'];
}

/** Download and verify every file of a completed job (skipping verified ones), then write the manifest. */
export async function downloadJob(transport: Transport, options: DownloadJobOptions): Promise<GroupResult> {
  const { label, run, completion, state } = options;
  const groupDir = join(options.outDir, label);
  const dir = join(groupDir, run);
  const planned = planFiles(completion.files);
  // checked before anything is stored: a transactionTime that is not an instant or lies in the server's future would
  // become the next `since: 'auto'` run's _since, which skips data or is refused (400) on every run after
  const timeProblem = transactionTimeProblem(completion.transactionTime, options.statusDate, options.now());
  if (timeProblem) {
    throw new DpcError('ERR_HTTP', `export job ${redactUrl(options.jobUrl)}: the server's transactionTime ${JSON.stringify(completion.transactionTime.slice(0, 80))} ${timeProblem}; its files were not downloaded`, {
      requestId: options.statusRequestId,
      location: redactUrl(options.jobUrl),
    });
  }
  options.onEvent?.({
    type: 'status_complete',
    label,
    jobUrl: redactUrl(options.jobUrl),
    transactionTime: completion.transactionTime,
    files: planned.length,
    requestId: options.statusRequestId,
  });
  await ensurePrivateDir(dir);
  if (options.npi !== undefined && options.npi !== label) await writeOwnerOnly(join(groupDir, NPI_FILE), `${options.npi}\n`);

  const outcomes = await runAll(
    planned,
    options.downloads,
    async (file, signal): Promise<DownloadOutcome> => {
      const recorded = await alreadyVerified(dir, file, state.group(label).files.get(file.name));
      if (recorded && (await serverConfirms(transport, file, recorded, { requiresAccessToken: completion.requiresAccessToken, signal }))) {
        options.onEvent?.({ type: 'download_complete', label, url: redactUrl(file.url), file: recorded.path, kind: file.kind, bytes: recorded.bytes, resources: recorded.count, skipped: true });
        return { status: 'verified', file: recorded };
      }
      const outcome = await downloadVerified(transport, {
        label,
        file,
        dir,
        quarantineDir: join(options.outDir, QUARANTINE_DIR, label, run),
        gzip: options.gzip ?? false,
        requiresAccessToken: completion.requiresAccessToken,
        deadline: options.deadline,
        maxFileBytes: options.maxFileBytes,
        signal,
        onEvent: options.onEvent,
        beforeCommit: (verified) => state.recordFile(label, file.name, verified),
      });
      return outcome;
    },
    options.signal,
  ).catch((error: unknown) => {
    throw isDpcError(error, 'ERR_GONE') ? expired(options.jobUrl, error) : error;
  });

  const files = outcomes.flatMap((o) => (o.status === 'verified' ? [o.file] : []));
  const quarantined = outcomes.flatMap((o): QuarantinedFile[] =>
    o.status === 'quarantined' ? [{ url: o.url, type: o.type, path: o.path, problems: o.problems, ...(o.sizeBound ? { sizeBound: o.sizeBound } : {}) }] : [],
  );
  const errorFiles = files.filter((f) => f.kind === 'error').map((f) => join(dir, f.path));
  const patientFiles = files.filter((f) => f.kind === 'output' && f.type === 'Patient').map((f) => join(dir, f.path));
  const errors = errorFiles.length > 0 ? await mapPatientIds(await summariseErrorFiles(errorFiles), patientFiles) : emptySummary();
  const manifest: GroupManifest = {
    label,
    ...(options.groupId === undefined ? {} : { groupId: options.groupId }),
    ...(options.npi === undefined ? {} : { npi: options.npi }),
    run,
    jobUrl: options.jobUrl,
    transactionTime: completion.transactionTime,
    request: completion.request,
    ...(options.requestSent !== undefined ? { requestSent: options.requestSent } : {}),
    requiresAccessToken: completion.requiresAccessToken,
    gzip: options.gzip ?? false,
    files,
    quarantined,
    errors,
    writtenAt: new Date().toISOString(),
  };
  const manifestPath = join(dir, MANIFEST_FILE);
  await writeOwnerOnly(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  if (quarantined.length === 0) {
    // every file verified: the run is complete, LATEST points at it and `--since auto` may move forward
    await writeLatest(groupDir, run);
    await state.update(label, (group) => {
      group.lastTransactionTime = completion.transactionTime;
      group.lastJobUrl = options.jobUrl;
      group.latest = run;
      forgetInFlight(group);
    });
  }
  const jobDeletion = quarantined.length === 0 && options.deleteJobWhenDone ? await deleteDoneJob(transport, label, options) : undefined;
  options.onEvent?.({
    type: 'export_complete',
    label,
    run,
    files: files.length,
    bytes: files.reduce((sum, f) => sum + f.bytes, 0),
    resources: files.filter((f) => f.kind === 'output').reduce((sum, f) => sum + f.count, 0),
    errors: errors.total,
    quarantined: quarantined.length,
    transactionTime: completion.transactionTime,
  });
  const result: GroupResult = { label, groupId: options.groupId, npi: options.npi, manifest, manifestPath, ...(jobDeletion ? { jobDeletion } : {}) };
  if (quarantined.length === 0 && options.onGroupComplete) {
    await options.onGroupComplete(result).catch((error: unknown) => void (result.onCompleteError = asDpcError(error)));
  }
  return result;
}

/** DELETE a job whose files are all verified; a refusal is reported (event and result), the export stays complete. */
async function deleteDoneJob(transport: Transport, label: string, options: DownloadJobOptions): Promise<NonNullable<GroupResult['jobDeletion']>> {
  const jobUrl = redactUrl(options.jobUrl);
  try {
    const outcome = await deleteJob(transport, options.jobUrl, options.signal);
    options.onEvent?.({ type: 'job_deleted', label, jobUrl, outcome });
    return { outcome };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    options.onEvent?.({ type: 'job_deleted', label, jobUrl, outcome: 'failed', message });
    return { outcome: 'failed', message };
  }
}

/**
 * A file verified in an earlier run and still on disk at the recorded size. Files are keyed by their planned local name
 * (manifest position), not their URL: a manifest may list one URL twice, and each entry must verify on its own.
 */
async function alreadyVerified(dir: string, file: PlannedFile, recorded: VerifiedFile | undefined): Promise<VerifiedFile | undefined> {
  if (!recorded || !isRecordOf(file, recorded)) return undefined;
  try {
    const info = await stat(join(dir, recorded.path));
    return info.size === (recorded.gzipBytes ?? recorded.bytes) ? recorded : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a recorded verification is of this manifest entry: same URL, and the server's promises still hold. Pure. */
export function isRecordOf(file: PlannedFile, recorded: VerifiedFile): boolean {
  return (
    recorded.url === file.url &&
    recorded.path.replace(/\.gz$/, '') === file.name &&
    (file.sha256 === undefined || recorded.sha256 === file.sha256) &&
    (promisedLines(file) === undefined || recorded.count === promisedLines(file))
  );
}

function expired(jobUrl: string, error: DpcError): DpcError {
  return new DpcError('ERR_JOB_EXPIRED', `export job ${redactUrl(jobUrl)} has expired (410 on a file); rerun to start a new export`, {
    cause: error,
    status: 410,
    requestId: error.requestId,
    location: error.location,
  });
}

export function interrupted(outDir: string): DpcError {
  return new DpcError('ERR_ABORTED', `export into ${outDir} was interrupted; rerun the same command to resume`, { location: outDir });
}

function asDpcError(error: unknown): DpcError {
  return error instanceof DpcError ? error : new DpcError('ERR_IO', error instanceof Error ? error.message : String(error), { cause: error });
}

/**
 * The error a finished run ends with, if any: failure (1) beats quarantined files (1) beats a failed on-complete step
 * (1) beats failed patients (4). Pure.
 */
export function runOutcomeError(result: ExportRunResult): DpcError | undefined {
  const failed = result.groups.filter((g) => g.error);
  if (failed.length > 0) {
    const first = failed[0]!.error!;
    if (result.groups.length === 1) return first;
    return new DpcError(first.code === 'ERR_PARTIAL' ? 'ERR_JOB_FAILED' : first.code, `${failed.length} of ${result.groups.length} exports failed`, {
      details: failed.map((g) => `${g.label}: ${g.error!.message}`),
    });
  }
  const manifests = result.groups.flatMap((g) => (g.manifest ? [g.manifest] : []));
  const quarantined = manifests.flatMap((m) => m.quarantined);
  if (quarantined.length > 0) {
    const details = manifests.flatMap((m) => m.quarantined.map((q) => `${m.label}: ${q.url}: ${q.problems.join('; ')} (kept at ${q.path || 'nowhere: no bytes were written'})`));
    const { message, field } = quarantineHeadline(quarantined);
    return new DpcError('ERR_INTEGRITY', message, { details: firstDetails(details), ...(field ? { field } : {}) });
  }
  const hooks = result.groups.filter((g) => g.onCompleteError);
  if (hooks.length > 0) {
    return new DpcError('ERR_HOOK', `the export is complete, but the on-complete step failed for ${plural(hooks.length, 'group')}: ${hooks[0]!.onCompleteError!.message}`, {
      details: hooks.map((g) => `${g.label}: ${g.onCompleteError!.message}`),
    });
  }
  const patients = manifests.reduce((sum, m) => sum + m.errors.total, 0);
  const messages = manifests.flatMap((m) => (m.errors.serverMessages ?? []).map((s) => ({ label: m.label, ...s })));
  if (patients > 0 || messages.length > 0) {
    const reasons = manifests.flatMap((m) => m.errors.reasons.map((r) => `${m.label}: ${r.count} × ${r.reason}${r.patients.length > 0 ? ` (${describePatients(r)})` : ''}`));
    const serverErrors = messages.reduce((sum, s) => sum + s.count, 0);
    const what = [
      ...(patients > 0 ? [`${plural(patients, 'patient')} not exported`] : []),
      // the server's own words: an error file of a generic server names what failed (a type, the whole job)
      ...(serverErrors > 0 ? [`${plural(serverErrors, 'error')} from the server (${JSON.stringify(messages[0]!.message)}${messages.length > 1 ? ', …' : ''})`] : []),
    ];
    return new DpcError('ERR_PARTIAL', `export finished with ${what.join(' and ')}; see the error summary in manifest.json`, {
      details: firstDetails([...reasons, ...messages.map((s) => `${s.label}: ${s.count} × ${s.message}`)]),
    });
  }
  return undefined;
}

/** Detail lines an outcome carries at most: the server decides how many files and reasons there are; manifest.json has them all. */
export const MAX_DETAILS = 50;

/** The first MAX_DETAILS lines, and how many more manifest.json holds. Pure. */
function firstDetails(details: string[]): string[] {
  if (details.length <= MAX_DETAILS) return details;
  return [...details.slice(0, MAX_DETAILS), `… and ${details.length - MAX_DETAILS} more in manifest.json`];
}

/**
 * The headline of a run that quarantined files, naming the real cause: a body past a size bound (stopped there, not
 * retried: the server would send the same) or bytes that failed verification twice. `field` when raising
 * maxFileBytes would help. Pure.
 */
export function quarantineHeadline(files: ReadonlyArray<Pick<QuarantinedFile, 'sizeBound'>>): { message: string; field?: 'maxFileBytes' } {
  const was = (n: number): string => (n === 1 ? 'was' : 'were');
  const them = (n: number): string => (n === 1 ? 'it' : 'them');
  const causes = [
    { bound: 'maxFileBytes', what: (n: number) => `${was(n)} larger than maxFileBytes`, then: (n: number) => `raise maxFileBytes to accept ${them(n)}` },
    { bound: 'file_length', what: (n: number) => `${was(n)} larger than the manifest's file_length`, then: () => 'the server sent more than it declared' },
    { bound: undefined, what: () => 'failed verification twice', then: (n: number) => `rerun to retry ${them(n)}` },
  ]
    .map((cause) => ({ ...cause, n: files.filter((f) => f.sizeBound === cause.bound).length }))
    .filter((cause) => cause.n > 0);
  const field = causes.some((c) => c.bound === 'maxFileBytes') ? { field: 'maxFileBytes' as const } : {};
  const [only] = causes;
  if (causes.length === 1 && only) return { message: `${plural(only.n, 'file')} ${only.what(only.n)} and ${was(only.n)} quarantined; ${only.then(only.n)}`, ...field };
  const each = causes.map((c) => `${c.n} ${c.what(c.n)} (${c.then(c.n)})`);
  return { message: `${plural(files.length, 'file')} ${was(files.length)} quarantined: ${each.join(', ')}`, ...field };
}
