/**
 * Keeps one valid access token for a client: exchanges a fresh assertion when there is none or the cached one is
 * within `refreshMarginMs` of expiry, shares one in-flight exchange among concurrent callers, and refreshes once
 * when the server rejects the token (the transport then replays the request).
 */
import type { KeyObject } from 'node:crypto';
import { DpcError } from '../errors.js';
import { Redactor, redactUrl } from '../redact.js';
import type { AccessTokenProvider, Transport } from '../transport/index.js';
import { signAssertion } from './assertion.js';
import { DPC_SCOPE, exchangeToken, type AccessToken } from './exchange.js';

/** What the token manager tells its observer. Never carries a token, assertion or key. */
export type AuthEvent =
  | { type: 'auth-exchange'; tokenUrl: string; reason: 'initial' | 'expiring' | 'rejected' }
  | { type: 'auth-token'; tokenUrl: string; expiresInSec: number; exchanges: number }
  | { type: 'auth-error'; tokenUrl: string; code: string; message: string };

export interface Credentials {
  clientToken: string;
  privateKey: KeyObject;
  keyId: string;
}

export interface TokenManagerOptions {
  transport: Transport;
  tokenUrl: string;
  credentials?: Credentials;
  /** A fixed bearer token instead of the assertion flow. */
  accessToken?: string;
  scope?: string;
  jwtType?: boolean;
  /** Refresh this long before expiry (default 30 s, as DPC's own Java client does). */
  refreshMarginMs?: number;
  now?: () => number;
  onEvent?: (event: AuthEvent) => void;
  /** Records the tokens and assertions this manager holds (the client's redactor). */
  redactor?: Redactor;
}

interface Cached {
  token: string;
  /** When to exchange again: the margin before expiry, but at most half the lifetime (short-lived tokens). */
  refreshAt: number;
}

export class TokenManager implements AccessTokenProvider {
  readonly tokenUrl: string;
  private readonly options: TokenManagerOptions;
  /** The clock assertions are signed and tokens refreshed by (the client's `authNow`). */
  readonly now: () => number;
  private cached?: Cached;
  private inflight?: Promise<string>;
  private exchangeCount = 0;
  private readonly redactor: Redactor;

  constructor(options: TokenManagerOptions) {
    this.options = options;
    this.tokenUrl = options.tokenUrl;
    this.now = options.now ?? Date.now;
    this.redactor = options.redactor ?? new Redactor();
    this.redactor.add(options.accessToken);
    this.redactor.add(options.credentials?.clientToken);
  }

  /** Token exchanges made so far (benchmarks check there is one per ~4.5 minutes of work). */
  get exchanges(): number {
    return this.exchangeCount;
  }

  /** Whether the assertion flow is configured (false for a fixed access token or no credentials). */
  get hasCredentials(): boolean {
    return this.options.credentials !== undefined;
  }

  async getAccessToken(options: { forceRefresh?: boolean; rejectedToken?: string; signal?: AbortSignal } = {}): Promise<string> {
    if (this.options.accessToken !== undefined) {
      if (options.forceRefresh) {
        throw new DpcError('ERR_AUTH', 'the server rejected the given access token (they expire after 5 minutes); configure a client token and key instead');
      }
      return this.options.accessToken;
    }
    const cached = this.cached;
    // a 401 for a token we already replaced (concurrent requests) needs no second exchange
    const rejected = options.forceRefresh && (options.rejectedToken === undefined || options.rejectedToken === cached?.token);
    if (cached && !rejected && this.now() < cached.refreshAt) {
      return cached.token;
    }
    if (rejected && this.cached === cached) this.cached = undefined;
    this.inflight ??= this.refresh(rejected ? 'rejected' : cached ? 'expiring' : 'initial').finally(() => {
      this.inflight = undefined;
    });
    return abortable(this.inflight, options.signal);
  }

  /** A signed client assertion with a fresh jti (also what `dpc auth assertion` prints). */
  async createAssertion(): Promise<string> {
    const credentials = this.requireCredentials();
    const assertion = await signAssertion({
      clientToken: credentials.clientToken,
      privateKey: credentials.privateKey,
      keyId: credentials.keyId,
      audience: this.tokenUrl,
      now: this.now(),
      jwtType: this.options.jwtType,
    });
    this.redactor.addShortLived(assertion);
    return assertion;
  }

  /** Exchange now, bypassing the cache (what `dpc auth token` does). */
  async exchange(signal?: AbortSignal): Promise<AccessToken> {
    const assertion = await this.createAssertion();
    this.exchangeCount++;
    const token = await exchangeToken({
      transport: this.options.transport,
      tokenUrl: this.tokenUrl,
      assertion,
      scope: this.options.scope ?? DPC_SCOPE,
      signal,
    });
    this.redactor.addShortLived(token.accessToken);
    return token;
  }

  /** Forget the cached token. */
  clear(): void {
    this.cached = undefined;
  }

  private async refresh(reason: 'initial' | 'expiring' | 'rejected'): Promise<string> {
    const tokenUrl = redactUrl(this.tokenUrl);
    this.options.onEvent?.({ type: 'auth-exchange', tokenUrl, reason });
    // the clock is read before the request so a slow exchange errs on the early side
    const startedAt = this.now();
    try {
      // not tied to one caller's signal: other callers may be waiting on the same exchange
      const token = await this.exchange();
      const lifetimeMs = token.expiresIn * 1000;
      const margin = Math.min(this.options.refreshMarginMs ?? 30_000, lifetimeMs / 2);
      this.cached = { token: token.accessToken, refreshAt: startedAt + lifetimeMs - margin };
      this.options.onEvent?.({ type: 'auth-token', tokenUrl, expiresInSec: token.expiresIn, exchanges: this.exchangeCount });
      return token.accessToken;
    } catch (error) {
      const code = error instanceof DpcError ? error.code : 'ERR_AUTH';
      this.options.onEvent?.({ type: 'auth-error', tokenUrl, code, message: (error as Error).message });
      throw error;
    }
  }

  private requireCredentials(): Credentials {
    const credentials = this.options.credentials;
    if (!credentials) {
      throw new DpcError(
        'ERR_CONFIG',
        'no credentials: the client needs clientToken, privateKey and keyId for the assertion flow',
        { field: 'credentials' },
      );
    }
    return credentials;
  }
}

/** Wait for a shared promise but give up (without cancelling it) when this caller's signal aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(new DpcError('ERR_ABORTED', 'waiting for an access token was aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new DpcError('ERR_ABORTED', 'waiting for an access token was aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
