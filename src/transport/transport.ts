/**
 * The one HTTP transport: a shared undici connection pool, per-endpoint content negotiation, timeouts,
 * retries with backoff honouring Retry-After, bearer injection limited to the server's origin, a single
 * refresh-and-replay on 401, and typed errors carrying the server's message and X-Request-Id.
 *
 * Everything a server controls is bounded: time to headers, body progress (`watchProgress`), the size of bodies read
 * into memory (`json()`/`text()` and error bodies), and the retries of one logical request (`RetryBudget`).
 * Bodies are never buffered for streaming calls (`stream()`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import { codeForStatus, DpcError } from '../errors.js';
import { parseErrorBody } from './error-body.js';
import { parseJsonBody, readCapped, watchProgress } from './body.js';
import { backoffDelay, defaultRetryPolicy, mayRetry, parseRetryAfter, RetryBudget, type RetryPolicy } from './retry.js';
import { acceptFor, headerText, headerValue, MediaType } from './negotiation.js';
import { shownServerUrl } from './server-url.js';
import { Redactor, redactUrl } from '../redact.js';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

/** Supplies bearer tokens; the auth layer's TokenManager implements it. */
export interface AccessTokenProvider {
  /**
   * `forceRefresh` after a 401; `rejectedToken` is the token the server refused, so concurrent 401s for a token
   * that was already replaced cause no further exchange.
   */
  getAccessToken(options?: { forceRefresh?: boolean; rejectedToken?: string; signal?: AbortSignal }): Promise<string>;
}

/** What the transport tells its observer. URLs are redacted; headers and bodies never appear. */
export type TransportEvent =
  | { type: 'request'; method: HttpMethod; url: string; attempt: number }
  | { type: 'response'; method: HttpMethod; url: string; status: number; requestId?: string; ms: number }
  | { type: 'retry'; method: HttpMethod; url: string; status?: number; reason: string; delayMs: number; attempt: number }
  | { type: 'reauth'; method: HttpMethod; url: string };

export interface TransportOptions {
  /** Server base, e.g. `https://sandbox.dpc.cms.gov/api/v1`. Relative paths resolve against it. */
  baseUrl: string;
  /** Shared pool. Defaults to one Agent per transport. */
  dispatcher?: Dispatcher;
  tokenProvider?: AccessTokenProvider;
  retry?: Partial<RetryPolicy>;
  /** Time to wait for response headers (default 60 s). */
  headersTimeoutMs?: number;
  /** A body must deliver `minBodyBytes` in every window of this length, or it fails with ERR_TIMEOUT (default 60 s). */
  bodyTimeoutMs?: number;
  /** See `bodyTimeoutMs` (default 4 KiB). */
  minBodyBytes?: number;
  /** Largest body `json()`/`text()` read into memory (default 64 MiB); a request may lower it with `maxBytes`. */
  maxBodyBytes?: number;
  userAgent?: string;
  onEvent?: (event: TransportEvent) => void;
  /** Injected for tests of the retry timing; defaults to real timers. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface RequestOptions {
  method?: HttpMethod;
  /** Path relative to the base (`/Group/1/$export`) or an absolute URL. */
  path: string;
  /** Query parameters; URLSearchParams encoding turns `+` into `%2B` as DPC needs; a list is sent as the parameter repeated, one value each. */
  query?: Record<string, string | number | boolean | readonly string[] | undefined>;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Content-Type of `body`. */
  contentType?: string;
  /** Overrides the negotiated Accept header. */
  accept?: string;
  /** Send the bearer token (default true). Refused for another origin than the base's. */
  auth?: boolean;
  /** Safe to replay after a transient failure. Defaults to true for GET/HEAD/PUT/DELETE. */
  idempotent?: boolean;
  /** Statuses that are not errors; default any 2xx. */
  okStatuses?: readonly number[];
  signal?: AbortSignal;
  /**
   * The retries this request may take, shared with a caller that retries on top of the transport (polling, a
   * download's second attempt) and holding its deadline. Default: a fresh budget of the policy's `maxRetries`.
   */
  budget?: RetryBudget;
  /** Largest body `json()`/`text()` accept for this request (default the transport's `maxBodyBytes`). */
  maxBytes?: number;
}

export interface TransportResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  requestId?: string;
  url: string;
}

export interface StreamResponse extends TransportResponse {
  /** The raw body; the caller must consume or destroy it. */
  body: Readable;
}

const REQUEST_ID = 'x-request-id';
const DEFAULT_BODY_WINDOW_MS = 60_000;
const DEFAULT_MIN_BODY_BYTES = 4096;
const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;
/** An error body is only ever a message: read its head, then stop the transfer. */
const MAX_ERROR_BODY = 64 * 1024;

/** The connection pool a client owns: 16 sockets per origin, idle ones closed after 10 s. */
export function newConnectionPool(): Agent {
  return new Agent({ connections: 16, keepAliveTimeout: 10_000 });
}

export class Transport {
  readonly baseUrl: string;
  readonly origin: string;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly retry: RetryPolicy;
  private readonly options: TransportOptions;
  private readonly wait: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(options: TransportOptions) {
    this.options = options;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.origin = new URL(this.baseUrl).origin;
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher = options.dispatcher ?? newConnectionPool();
    this.retry = { ...defaultRetryPolicy, ...options.retry };
    this.wait = options.sleep ?? ((ms, signal) => sleep(ms, undefined, { signal }));
  }

  /** A retry budget of this transport's policy, for a caller that retries a logical request on top of the transport. */
  budget(deadline?: number): RetryBudget {
    return new RetryBudget(this.retry.maxRetries, deadline);
  }

  /** Resolve a path against the base URL. Absolute URLs are kept as they are. */
  resolve(path: string, query?: RequestOptions['query']): URL {
    const url = /^https?:\/\//i.test(path) ? new URL(path) : new URL(this.baseUrl + (path.startsWith('/') ? path : `/${path}`));
    for (const [key, value] of Object.entries(query ?? {})) {
      if (Array.isArray(value)) for (const one of value as readonly string[]) url.searchParams.append(key, one);
      else if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url;
  }

  /** Request a small body and parse it as JSON (empty body → undefined). */
  async json<T>(options: RequestOptions): Promise<TransportResponse & { body: T }> {
    const { text, ...response } = await this.text(options);
    return { ...response, body: parseJsonBody<T>(text, response) };
  }

  /** Request a small body as text; a body larger than `maxBytes` fails (ERR_HTTP) without being read whole. */
  async text(options: RequestOptions): Promise<TransportResponse & { text: string }> {
    const { body, ...response } = await this.stream(options);
    const maxBytes = options.maxBytes ?? this.options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    const what = `${options.method ?? 'GET'} ${redactUrl(response.url)}`;
    return { ...response, text: (await readCapped(body, maxBytes, what)).toString('utf8') };
  }

  /** Request and hand back the live body stream once the status is known to be good. */
  async stream(options: RequestOptions): Promise<StreamResponse> {
    const method = options.method ?? 'GET';
    const url = this.resolve(options.path, options.query);
    const wantsAuth = options.auth ?? true;
    if (wantsAuth && url.origin !== this.origin) {
      throw new DpcError('ERR_FOREIGN_ORIGIN', `refusing to send the access token to ${url.origin}: it is not the configured server ${this.origin}`, {
        location: redactUrl(url.href),
      });
    }
    const idempotent = options.idempotent ?? method !== 'POST';
    const shownUrl = redactUrl(url.href);
    const budget = options.budget ?? this.budget();
    const progress = { windowMs: this.options.bodyTimeoutMs ?? DEFAULT_BODY_WINDOW_MS, minBytes: this.options.minBodyBytes ?? DEFAULT_MIN_BODY_BYTES };
    let reauthenticated = false;

    for (let attempt = 0; ; attempt++) {
      const { headers, token } = await this.headersFor(options, url, wantsAuth);
      this.options.onEvent?.({ type: 'request', method, url: shownUrl, attempt });
      const started = Date.now();
      let response: Dispatcher.ResponseData;
      try {
        response = await request(url, {
          method,
          headers,
          body: options.body,
          dispatcher: this.dispatcher,
          signal: options.signal,
          headersTimeout: this.options.headersTimeoutMs ?? 60_000,
          // undici's own idle timeout (no byte at all); watchProgress also catches a trickle
          bodyTimeout: progress.windowMs,
        });
      } catch (cause) {
        if (options.signal?.aborted) throw new DpcError('ERR_ABORTED', `${method} ${shownUrl} was aborted`, { cause });
        const failure = networkFailure(cause, method, shownUrl);
        const refusal = mayRetry(undefined, idempotent)
          ? await this.retryOrRefuse(budget, { delayMs: backoffDelay(budget.retries, this.retry) }, { method, url: shownUrl, reason: failure.message }, options.signal)
          : 'not retryable';
        if (refusal === undefined) continue;
        throw withRetries(failure, budget, refusal);
      }
      watchProgress(response.body, progress, `${method} ${shownUrl}`);

      const status = response.statusCode;
      const requestId = headerText(response.headers[REQUEST_ID], MAX_REQUEST_ID);
      this.options.onEvent?.({ type: 'response', method, url: shownUrl, status, requestId, ms: Date.now() - started });
      const ok = options.okStatuses ? options.okStatuses.includes(status) : status >= 200 && status < 300;
      if (ok) {
        return { status, headers: response.headers, requestId, url: url.href, body: response.body };
      }

      const errorText = await readCapped(response.body, MAX_ERROR_BODY, `${method} ${shownUrl}`, { truncate: true }).then(
        (head) => head.toString('utf8'),
        () => '', // a broken error body still leaves us the status
      );
      if (status === 401 && wantsAuth && this.options.tokenProvider && !reauthenticated) {
        reauthenticated = true;
        this.options.onEvent?.({ type: 'reauth', method, url: shownUrl });
        await this.options.tokenProvider.getAccessToken({ forceRefresh: true, rejectedToken: token, signal: options.signal });
        attempt--; // a replay after re-authentication is not a retry
        continue;
      }
      const failure = httpError(method, url.href, status, withoutToken(errorText, token), requestId, headerValue(response.headers.location));
      let refusal: Refusal | undefined = 'not retryable';
      if (mayRetry(status, idempotent)) {
        const askedMs = parseRetryAfter(response.headers['retry-after'], Date.now(), Number.POSITIVE_INFINITY);
        const wait = askedMs === undefined ? { delayMs: backoffDelay(budget.retries, this.retry) } : { delayMs: Math.min(askedMs, this.retry.maxRetryAfterMs), askedMs };
        refusal = await this.retryOrRefuse(budget, wait, { method, url: shownUrl, status, reason: `HTTP ${status}` }, options.signal);
      }
      if (refusal === undefined) continue;
      throw withRetries(failure, budget, refusal);
    }
  }

  /**
   * Take a retry from the budget, report it and wait; undefined when retried, else why not. A wait the server asks for
   * (Retry-After) is slept at most `maxRetryAfterMs`, and refused outright when it would end past the budget's deadline.
   */
  private async retryOrRefuse(
    budget: RetryBudget,
    wait: { delayMs: number; askedMs?: number },
    about: { method: HttpMethod; url: string; status?: number; reason: string },
    signal: AbortSignal | undefined,
  ): Promise<Refusal | undefined> {
    const verdict = budget.take(Math.max(wait.delayMs, wait.askedMs ?? 0));
    if (verdict === 'exhausted') return 'exhausted';
    if (verdict === 'deadline') return { deadline: true, askedMs: wait.askedMs ?? wait.delayMs };
    this.options.onEvent?.({ type: 'retry', ...about, delayMs: wait.delayMs, attempt: budget.retries - 1 });
    await this.pause(wait.delayMs, signal, about.method, about.url);
    return undefined;
  }

  private async headersFor(
    options: RequestOptions,
    url: URL,
    wantsAuth: boolean,
  ): Promise<{ headers: Record<string, string>; token?: string }> {
    const headers: Record<string, string> = {
      accept: options.accept ?? acceptFor(url.pathname),
      'user-agent': this.options.userAgent ?? 'dpc-client',
      ...lowerCaseKeys(options.headers),
    };
    if (options.body !== undefined) headers['content-type'] = options.contentType ?? MediaType.fhirJson;
    if (!wantsAuth || !this.options.tokenProvider) return { headers };
    const token = await this.options.tokenProvider.getAccessToken({ signal: options.signal });
    headers.authorization = `Bearer ${token}`;
    return { headers, token };
  }

  private async pause(ms: number, signal: AbortSignal | undefined, method: HttpMethod, url: string): Promise<void> {
    try {
      await this.wait(ms, signal);
    } catch (cause) {
      throw new DpcError('ERR_ABORTED', `${method} ${url} was aborted while waiting to retry`, { cause });
    }
  }

  /** Close the pool if this transport created it. */
  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }
}

function lowerCaseKeys(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) out[k.toLowerCase()] = v;
  return out;
}

/** The server's X-Request-Id, which every error, event and manifest carries and the CLI prints: an opaque id, so short. */
const MAX_REQUEST_ID = 100;

/**
 * An error body with the bearer token we sent masked, and anything shaped like a secret (a JWT, a macaroon): a server
 * echoing the token ("invalid token: …") must not put it in a message a caller may log.
 */
function withoutToken(body: string, token: string | undefined): string {
  const redactor = new Redactor();
  redactor.addShortLived(token);
  return redactor.redact(body);
}

function httpError(method: HttpMethod, url: string, status: number, body: string, requestId: string | undefined, location: string | undefined): DpcError {
  // undici follows no redirect (so no token can follow one off-origin): say so rather than leave a bare 302
  const redirect = status >= 300 && status < 400 && location !== undefined ? ` (a redirect to ${shownServerUrl(location)}, not followed)` : '';
  const message = `${parseErrorBody(body) ?? `HTTP ${status}`}${redirect}`;
  const path = new URL(url).pathname;
  return new DpcError(codeForStatus(status), `${method} ${path} failed with ${status}: ${message}`, {
    status,
    requestId,
    location: redactUrl(url),
  });
}

/** Why a failed attempt was not retried: not retryable, the budget is spent, or waiting would pass the deadline. */
type Refusal = 'not retryable' | 'exhausted' | { deadline: true; askedMs: number };

/** Say how hard we tried: a failure after retries reads differently from a first-attempt refusal. */
function withRetries(error: DpcError, budget: RetryBudget, refusal: Refusal): DpcError {
  const retries = budget.retries;
  const tried = retries === 0 ? '' : ` (after ${retries} ${retries === 1 ? 'retry' : 'retries'})`;
  const deadline = typeof refusal === 'object' ? `; not retried: waiting ${Math.ceil(refusal.askedMs / 1000)} s would pass the deadline (maxWaitMs)` : '';
  if (tried === '' && deadline === '') return error;
  return new DpcError(error.code, `${error.message}${tried}${deadline}`, {
    cause: error.cause,
    status: error.status,
    requestId: error.requestId,
    location: error.location,
    details: error.details,
  });
}

function networkFailure(cause: unknown, method: HttpMethod, url: string): DpcError {
  const code = (cause as { code?: string }).code ?? '';
  const timeout = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT';
  const reason = (cause as Error).message || code || 'network error';
  return new DpcError(timeout ? 'ERR_TIMEOUT' : 'ERR_NETWORK', `${method} ${url}: ${reason}${code && !reason.includes(code) ? ` (${code})` : ''}`, {
    cause,
    location: url,
  });
}
