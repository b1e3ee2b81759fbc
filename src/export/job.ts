/**
 * Bulk Data job lifecycle over the transport: kick-off (server behaviour §6.1), status polling (§6.2) and, for servers
 * that have it, deleting a job.
 * Polling honours Retry-After when a server sends one (DPC never does: §6.2); otherwise it starts after 1 s and
 * doubles up to the polite interval (20 s, inside DPC's ~300 requests / 5 min WAF budget), so a short job is picked up
 * promptly. Failed polls back off with jitter and share one retry budget with the transport; a deadline bounds the
 * whole wait (a job that stays 202 forever).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DpcError, isDpcError } from '../errors.js';
import { parseJsonBody } from '../transport/body.js';
import { parseHttpDate, serverNow } from '../transport/http-date.js';
import { headerText, headerValue, MediaType } from '../transport/negotiation.js';
import { parseRetryAfter, RetryBudget } from '../transport/retry.js';
import { serverUrlProblem, shownServerUrl } from '../transport/server-url.js';
import type { Transport } from '../transport/index.js';
import { redactUrl } from '../redact.js';
import type { ExportEventHandler } from './events.js';
import { MAX_MANIFEST_FILES, parseCompletion, type JobCompletion } from './manifest.js';

/**
 * `one-patient` is DPC's `Patient/{id}/$export`, or `Patient/{id}/$everything` answered as a job
 * (server behaviour §11.1–11.2); `patient` and `system` are the generic Bulk Data levels DPC does not have.
 */
export type ExportScope =
  | { level: 'group'; groupId: string }
  | { level: 'one-patient'; patientId: string; operation: '$export' | '$everything' }
  | { level: 'patient' }
  | { level: 'system' };

/**
 * Kick-off parameters of the Bulk Data spec beyond DPC's. DPC ignores `_elements` and `_typeFilter` and has no POST
 * kick-off (behaviour doc §11.5), so these are for generic servers.
 */
export interface BulkDataParameters {
  /** `_elements`: element paths such as `id`, `Patient.birthDate`. */
  elements?: readonly string[];
  /** `_typeFilter`: FHIR search queries such as `Observation?category=laboratory`. */
  typeFilter?: readonly string[];
  /** `patient`: Patient references (`Patient/123`). The spec takes them only in a POST kick-off. */
  patients?: readonly string[];
  /** `includeAssociatedData`: codes such as `LatestProvenanceResources`. */
  includeAssociatedData?: readonly string[];
}

export interface ExportRequest extends BulkDataParameters {
  scope: ExportScope;
  /** `_type`; absent = the server's default (all types). */
  types?: readonly string[];
  /** `_since`, ISO 8601 with an offset. */
  since?: string;
  /** `_outputFormat`; default `application/fhir+ndjson`. */
  outputFormat?: string;
  /** X-Provenance attestation, which DPC requires for one patient's data (`one-patient`). */
  provenance?: string;
  /** Kick off with a POST `Parameters` body even without patients (the SMART reference client's `--post`; not DPC). */
  post?: boolean;
  /**
   * `Prefer: respond-async, handling=lenient`: the server may ignore parameters it does not support instead of
   * refusing the kick-off (the SMART reference client sends it by default). DPC refuses any Prefer but respond-async.
   */
  lenient?: boolean;
}

export function kickoffPath(scope: ExportScope): string {
  switch (scope.level) {
    case 'group':
      return `/Group/${encodeURIComponent(scope.groupId)}/$export`;
    case 'one-patient':
      return `/Patient/${encodeURIComponent(scope.patientId)}/${scope.operation}`;
    case 'patient':
      return '/Patient/$export';
    case 'system':
      return '/$export';
  }
}

/**
 * Query parameters; the transport's URLSearchParams encoding sends `+` as `%2B` as DPC requires. `_type` and
 * `_elements` are comma-separated lists by definition; each `_typeFilter` is one search query, which may itself hold
 * commas (`code=a,b`), so several are sent as the parameter repeated (Bulk Data 2.0: "a client MAY repeat the
 * _typeFilter parameter"); the SMART reference server splits a single value at its commas.
 */
export function kickoffQuery(request: ExportRequest): Record<string, string | readonly string[] | undefined> {
  // DPC: R/PatientResource.java everything reads only _since (the job always holds Patient, EOB and Coverage)
  if (request.scope.level === 'one-patient' && request.scope.operation === '$everything') return { _since: request.since };
  return {
    _type: listParameter(request.types),
    _since: request.since,
    _outputFormat: request.outputFormat ?? MediaType.fhirNdjson,
    _elements: listParameter(request.elements),
    _typeFilter: request.typeFilter && request.typeFilter.length > 0 ? request.typeFilter : undefined,
    includeAssociatedData: listParameter(request.includeAssociatedData),
  };
}

function listParameter(values: readonly string[] | undefined): string | undefined {
  return values && values.length > 0 ? values.join(',') : undefined;
}

/** Whether the kick-off is a POST: asked for, or needed since the Bulk Data spec takes `patient` only in a Parameters body. Pure. */
export function needsPostKickoff(request: ExportRequest): boolean {
  return request.post === true || (request.patients?.length ?? 0) > 0;
}

/** The Parameters resource of a POST kick-off (Bulk Data spec, "POST kick-off request"): one entry per value. Pure. */
export function kickoffParameters(request: ExportRequest): { resourceType: 'Parameters'; parameter: Array<Record<string, unknown>> } {
  const many = (name: string, values: readonly string[] | undefined, as: (value: string) => Record<string, unknown>) =>
    (values ?? []).map((value) => ({ name, ...as(value) }));
  const valueString = (value: string) => ({ valueString: value });
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: '_outputFormat', valueString: request.outputFormat ?? MediaType.fhirNdjson },
      ...(request.since === undefined ? [] : [{ name: '_since', valueInstant: request.since }]),
      ...many('_type', request.types, valueString),
      ...many('_elements', request.elements, valueString),
      ...many('_typeFilter', request.typeFilter, valueString),
      ...many('patient', request.patients, (value) => ({ valueReference: { reference: patientReference(value) } })),
      ...many('includeAssociatedData', request.includeAssociatedData, (value) => ({ valueCode: value })),
    ],
  };
}

/** `123` → `Patient/123`; a reference stays as given. */
function patientReference(value: string): string {
  return value.includes('/') ? value : `Patient/${value}`;
}

/** Checks the generic parameters before anything is sent. */
export function validateBulkDataParameters(parameters: BulkDataParameters): void {
  for (const filter of parameters.typeFilter ?? []) {
    if (!/^[A-Z][A-Za-z]+\?\S+$/.test(filter)) {
      throw new DpcError('ERR_INPUT', `typeFilter ${JSON.stringify(filter)} is not a FHIR search query (e.g. Observation?category=laboratory)`, { field: 'typeFilter' });
    }
  }
  for (const element of parameters.elements ?? []) {
    if (!/^([A-Z][A-Za-z]+\.)?[a-z][A-Za-z0-9]*$/.test(element)) {
      throw new DpcError('ERR_INPUT', `elements ${JSON.stringify(element)} is not an element name (e.g. birthDate or Patient.birthDate)`, { field: 'elements' });
    }
  }
  for (const patient of parameters.patients ?? []) {
    if (!/^(Patient\/)?[A-Za-z0-9\-.]{1,64}$/.test(patient)) {
      throw new DpcError('ERR_INPUT', `patients ${JSON.stringify(patient)} is not a Patient id or reference (e.g. Patient/123)`, { field: 'patients' });
    }
  }
}

const SINCE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** `_since` must be ISO 8601 with an offset and not in the future (DPC answers 400 otherwise). */
export function validateSince(since: string, now: number): void {
  const problem = instantFormatProblem(since) ?? (Date.parse(since) > now ? 'is in the future' : undefined);
  if (problem) throw new DpcError('ERR_INPUT', `since ${JSON.stringify(since)} ${problem}`, { field: 'since' });
}

/** Why `value` is not an ISO 8601 date-time with an offset, as `_since` takes it (undefined when it is). Pure. */
export function instantFormatProblem(value: string): string | undefined {
  if (!SINCE.test(value) || Number.isNaN(Date.parse(value))) return 'is not an ISO 8601 date-time with an offset (e.g. 2024-01-31T00:00:00Z)';
  return undefined;
}

/** How far ahead of the server's `Date` (or our clock) its transactionTime may be and still count as "now" there. */
const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Why a job's transactionTime must not be stored (undefined when it may): not an instant, or more than 5 minutes
 * ahead of the server's own clock, the `Date` of the response that carried it (`serverDate`, epoch ms), or of this
 * machine's clock (`localNow`) when there was no usable Date. A time past the server's "now" is corrupt state: as
 * the next `since: 'auto'` run's `_since` it would skip data (or be refused with 400). A server whose clock is
 * ahead of ours (or a sandbox whose clock was moved) is judged by its own clock. Pure.
 */
export function transactionTimeProblem(transactionTime: string, serverDate: number | undefined, localNow: number): string | undefined {
  const formatProblem = instantFormatProblem(transactionTime);
  if (formatProblem) return formatProblem;
  const { now, clock } = serverNow(serverDate, localNow);
  if (Date.parse(transactionTime) <= now + MAX_CLOCK_SKEW_MS) return undefined;
  return clock === 'server'
    ? `is more than 5 minutes ahead of the server's own clock (its Date header says ${new Date(now).toISOString()})`
    : `is more than 5 minutes ahead of this machine's clock (the server sent no usable Date header)`;
}

/** Resource type names as the server spells them (the server decides which it supports). */
export function validateTypes(types: readonly string[]): void {
  for (const type of types) {
    if (!/^[A-Z][A-Za-z]+$/.test(type)) throw new DpcError('ERR_INPUT', `types ${JSON.stringify(type)} is not a FHIR resource type name`, { field: 'types' });
  }
}

export interface Kickoff {
  jobUrl: string;
  /** The kick-off URL as sent (redacted for printing). */
  url: string;
  requestId?: string;
}

/**
 * The kick-off URL for a request, as it is sent (redacted). Recorded in the manifest beside DPC's own `request` echo,
 * which DPC renders oddly (`…/$export_outputFormat=…`, no `?`): the sent one shows what was really asked. Pure.
 */
export function kickoffUrl(transport: Pick<Transport, 'resolve'>, request: ExportRequest): string {
  return redactUrl(transport.resolve(kickoffPath(request.scope), kickoffQuery(request)).href);
}

export async function kickoff(transport: Transport, request: ExportRequest, signal?: AbortSignal): Promise<Kickoff> {
  const path = kickoffPath(request.scope);
  const post = needsPostKickoff(request);
  // DPC: exactly `respond-async` (server behaviour §6.1); handling=lenient only when asked for
  const headers: Record<string, string> = { prefer: request.lenient ? 'respond-async, handling=lenient' : 'respond-async' };
  if (request.provenance !== undefined) headers['x-provenance'] = request.provenance;
  const response = await transport
    .text({
      path,
      ...(post
        ? { method: 'POST' as const, body: JSON.stringify(kickoffParameters(request)), contentType: MediaType.fhirJson }
        : { query: kickoffQuery(request) }),
      headers,
      accept: MediaType.fhirJson,
      okStatuses: [202],
      signal,
      maxBytes: MAX_STATUS_BYTES,
    })
    .catch((error: unknown) => {
      throw request.scope.level === 'patient' && isDpcError(error, 'ERR_NOT_FOUND') ? noTypeLevelExport(error) : error;
    });
  const location = headerValue(response.headers['content-location']);
  if (!location) {
    throw new DpcError('ERR_HTTP', `${post ? 'POST' : 'GET'} ${path} answered 202 without a Content-Location header`, { requestId: response.requestId, location: redactUrl(response.url) });
  }
  const problem = serverUrlProblem(location, `${transport.baseUrl}/`);
  if (problem) {
    throw new DpcError('ERR_HTTP', `${post ? 'POST' : 'GET'} ${path} answered 202 with a Content-Location header that ${problem}: ${shownServerUrl(location)}`, {
      requestId: response.requestId,
      location: redactUrl(response.url),
    });
  }
  return { jobUrl: transport.resolve(location).href, url: redactUrl(response.url), requestId: response.requestId };
}

/** DPC: R/PatientResource.java has `/{patientID}/$export` only, so the type-level path is not found there. */
function noTypeLevelExport(error: DpcError): DpcError {
  return new DpcError(
    'ERR_NOT_FOUND',
    'the server has no type-level Patient/$export (DPC has none: export a group, or one patient with Patient/{id}/$export)',
    { cause: error, status: error.status, requestId: error.requestId, location: error.location },
  );
}

export type PollResult =
  | { state: 'in-progress'; progress?: string; retryAfterMs?: number; requestId?: string }
  | {
      state: 'complete';
      completion: JobCompletion;
      expires?: string;
      requestId?: string;
      /** Epoch ms: the `Date` of the status response that carried the manifest (the server's clock), when usable. */
      serverDate?: number;
    };

const MAX_RETRY_AFTER_MS = 5 * 60_000;
/** A status body lists the job's files: a few hundred bytes each, so 16 MiB is tens of thousands of files. */
const MAX_STATUS_BYTES = 16 * 1024 * 1024;

/**
 * One status request. 410 becomes ERR_JOB_EXPIRED; other errors propagate as the transport's typed errors. `budget`
 * is shared with a caller that retries failed polls itself.
 */
export async function pollOnce(transport: Transport, jobUrl: string, signal?: AbortSignal, budget?: RetryBudget): Promise<PollResult> {
  let response;
  try {
    // text: a 202's body means nothing (the Bulk Data spec gives it none), so one that is not JSON is no error
    response = await transport.text({ path: jobUrl, accept: MediaType.json, okStatuses: [200, 202], signal, budget, maxBytes: MAX_STATUS_BYTES });
  } catch (error) {
    if (isDpcError(error, 'ERR_GONE')) {
      throw new DpcError('ERR_JOB_EXPIRED', `export job ${redactUrl(jobUrl)} has expired (410): its files are gone; start a new export`, {
        status: 410,
        requestId: error.requestId,
        location: redactUrl(jobUrl),
      });
    }
    throw error;
  }
  const requestId = response.requestId;
  if (response.status === 202) {
    return {
      state: 'in-progress',
      progress: headerText(response.headers['x-progress'], MAX_HEADER_TEXT),
      retryAfterMs: parseRetryAfter(response.headers['retry-after'], Date.now(), MAX_RETRY_AFTER_MS),
      requestId,
    };
  }
  return {
    state: 'complete',
    completion: parseCompletion(parseJsonBody<unknown>(response.text, response), redactUrl(jobUrl)),
    expires: headerText(response.headers.expires, MAX_HEADER_TEXT),
    requestId,
    serverDate: parseHttpDate(response.headers.date),
  };
}

/** Headers of the server's that are printed (X-Progress on a progress line, Expires in `export status`) stay short. */
const MAX_HEADER_TEXT = 200;

export interface PollOptions {
  label: string;
  /** Longest wait between polls when the server sends no Retry-After (the first waits are shorter). */
  intervalMs: number;
  /** Retries of failed status requests in a row, the transport's included (default 5). */
  maxErrors?: number;
  /** Epoch ms: a job still running then, or a wait that would end later, fails with ERR_TIMEOUT (default none). */
  deadline?: number;
  signal?: AbortSignal;
  onEvent?: ExportEventHandler;
}

export const DEFAULT_POLL_INTERVAL_MS = 20_000;
const DEFAULT_MAX_ERRORS = 5;
const FIRST_POLL_MS = 1000;

/**
 * Wait after the n-th 202 (0-based): the server's Retry-After when present (never below a floor); else 1 s, doubling
 * up to the interval (1, 2, 4, 8, 16, 20, 20 … s: a 1.5 s job is fetched after 3 s, not 20). Pure.
 */
export function nextPollDelay(poll: number, intervalMs: number, retryAfterMs: number | undefined): number {
  const first = Math.min(intervalMs, FIRST_POLL_MS);
  if (retryAfterMs !== undefined) return Math.max(retryAfterMs, first);
  return Math.min(intervalMs, first * 2 ** poll);
}

/** Backoff after the n-th consecutive failed poll (0-based): doubling from the interval, capped, half of it jittered. Pure. */
export function errorBackoff(errors: number, intervalMs: number, random: () => number): number {
  const ceiling = Math.min(MAX_RETRY_AFTER_MS, intervalMs * 2 ** errors);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Errors worth another poll: transient server or network trouble (the transport already retried 429/502-504). */
function isTransient(error: unknown): error is DpcError {
  return ['ERR_SERVER', 'ERR_NETWORK', 'ERR_TIMEOUT', 'ERR_RATE_LIMITED'].some((code) => isDpcError(error, code as DpcError['code']));
}

/** Pages of one manifest followed at most; a server linking on and on (or in a circle) is refused past this. */
export const MAX_MANIFEST_PAGES = 1000;

/**
 * Poll `jobUrl` until the job completes. A paged manifest (`link` relation `next`, as servers do for
 * `allowPartialManifests`; the SMART reference client follows them) is read to its last page, each page polled like the
 * status URL, and its files joined in page order under the first page's transactionTime.
 */
export async function pollUntilComplete(transport: Transport, jobUrl: string, options: PollOptions): Promise<CompletePoll> {
  return readManifestPages(jobUrl, await pollPage(transport, jobUrl, options), (pageUrl) => pollPage(transport, pageUrl, options));
}

type CompletePoll = Extract<PollResult, { state: 'complete' }>;

/**
 * The whole manifest from its `first` page: every `next` page read with `readPage`, in order, at most
 * MAX_MANIFEST_PAGES and never one twice. A page `readPage` finds still in progress is returned as it is (a status
 * check does not wait for it).
 */
export async function readManifestPages<P extends PollResult>(jobUrl: string, first: CompletePoll, readPage: (pageUrl: string) => Promise<P>): Promise<CompletePoll | P> {
  const files = [...first.completion.files];
  const seen = new Set([jobUrl]);
  let next = first.completion.next;
  let last = first;
  const refuse = (why: string): DpcError => new DpcError('ERR_HTTP', `export job ${redactUrl(jobUrl)}: its manifest pages ${why}`, { location: redactUrl(jobUrl) });
  while (next !== undefined) {
    const pageUrl = new URL(next, jobUrl).href;
    if (seen.has(pageUrl)) throw refuse('link back to an earlier page');
    if (seen.size >= MAX_MANIFEST_PAGES) throw refuse(`go past ${MAX_MANIFEST_PAGES} pages`);
    seen.add(pageUrl);
    const page = await readPage(pageUrl);
    if (page.state !== 'complete') return page;
    last = page;
    if (files.length + last.completion.files.length > MAX_MANIFEST_FILES) throw refuse(`list more than ${MAX_MANIFEST_FILES} files`);
    files.push(...last.completion.files);
    next = last.completion.next;
  }
  if (last === first) return first;
  const { transactionTime, request, requiresAccessToken } = first.completion;
  return { ...first, completion: { transactionTime, request, requiresAccessToken, files }, requestId: last.requestId };
}

async function pollPage(transport: Transport, jobUrl: string, options: PollOptions): Promise<CompletePoll> {
  const shownUrl = redactUrl(jobUrl);
  // an abort mid-wait (Ctrl-C, or the run's deadline timer, which can fire inside a wait planned to end in time) is
  // an ERR_ABORTED like one mid-request, so the run names its cause instead of a bare AbortError
  const wait = async (ms: number): Promise<void> => {
    try {
      await sleep(ms, undefined, { signal: options.signal });
    } catch (cause) {
      if (options.signal?.aborted) throw new DpcError('ERR_ABORTED', `GET ${shownUrl} was aborted while waiting to poll again`, { cause });
      throw cause;
    }
  };
  const budget = new RetryBudget(options.maxErrors ?? DEFAULT_MAX_ERRORS, options.deadline);
  for (let poll = 0; ; poll++) {
    let result: PollResult;
    try {
      result = await pollOnce(transport, jobUrl, options.signal, budget);
      budget.reset();
    } catch (error) {
      if (!isTransient(error)) throw error;
      const retryInMs = errorBackoff(budget.retries, options.intervalMs, Math.random);
      const verdict = budget.take(retryInMs);
      if (verdict === 'deadline') throw stillWaiting(shownUrl, options.deadline!, error);
      if (verdict === 'exhausted') {
        // every failed request came out of one budget, so this count is the number of status requests made
        throw new DpcError('ERR_JOB_FAILED', `export job ${shownUrl} failed: ${budget.retries + 1} status requests in a row failed, last: ${error.message}`, {
          cause: error,
          status: error.status,
          requestId: error.requestId,
          location: shownUrl,
        });
      }
      options.onEvent?.({ type: 'status_error', label: options.label, jobUrl: shownUrl, message: error.message, retryInMs, requestId: error.requestId });
      await wait(retryInMs);
      continue;
    }
    if (result.state === 'complete') return result;
    const nextPollMs = nextPollDelay(poll, options.intervalMs, result.retryAfterMs);
    if (options.deadline !== undefined && Date.now() + nextPollMs > options.deadline) throw stillWaiting(shownUrl, options.deadline);
    options.onEvent?.({ type: 'status_progress', label: options.label, jobUrl: shownUrl, progress: result.progress, nextPollMs, requestId: result.requestId });
    await wait(nextPollMs);
  }
}

/** The job outlived the caller's deadline: name it, and say the job may still finish (a rerun resumes it). */
function stillWaiting(shownUrl: string, deadline: number, last?: DpcError): DpcError {
  const why = last === undefined ? 'it is still in progress' : `its status requests are failing (${last.message})`;
  return new DpcError('ERR_TIMEOUT', `export job ${shownUrl} did not complete by the deadline (maxWaitMs, ${new Date(deadline).toISOString()}): ${why}; rerun the same command to resume it`, {
    cause: last,
    location: shownUrl,
  });
}

/** `cancelled`: the server accepted the DELETE; `unknown`: it no longer knows the job (404: done or gone; 410: expired). */
export type JobDeletion = 'cancelled' | 'unknown';

/**
 * DELETE one job's status URL (Bulk Data spec, "Delete a Bulk Data Request"): cancels a running job, or lets the
 * server drop a finished one's files. Other refusals (DPC has no cancel: 405, server behaviour §6.2) are the
 * transport's typed errors.
 */
export async function deleteJob(transport: Transport, jobUrl: string, signal?: AbortSignal): Promise<JobDeletion> {
  try {
    await transport.text({ method: 'DELETE', path: jobUrl, accept: MediaType.json, okStatuses: [200, 202, 204], signal, maxBytes: 64 * 1024 });
    return 'cancelled';
  } catch (error) {
    // an expired job's files are gone already: there is nothing left to give up
    if (isDpcError(error, 'ERR_NOT_FOUND') || isDpcError(error, 'ERR_GONE')) return 'unknown';
    throw error;
  }
}
