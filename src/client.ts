/**
 * createClient(): one Transport (one undici pool) and one TokenManager, the object every library function takes.
 */
import type { KeyObject } from 'node:crypto';
import type { Dispatcher } from 'undici';
import { loadPrivateKey } from './auth/keys.js';
import { TokenManager, type AuthEvent, type Credentials } from './auth/token-manager.js';
import { defaultScope } from './auth/exchange.js';
import { DpcError } from './errors.js';
import { Redactor } from './redact.js';
import { newConnectionPool, Transport, type RetryPolicy, type TransportEvent } from './transport/index.js';
import { VERSION } from './version.js';

export interface DpcClientOptions {
  /** e.g. `https://sandbox.dpc.cms.gov/api/v1` */
  baseUrl: string;
  clientToken?: string;
  /** A parsed key, or PEM text (PKCS#1, PKCS#8 or encrypted with `passphrase`). */
  privateKey?: KeyObject | string;
  passphrase?: string;
  /** Public key id (UUID from POST /Key): the assertion's `kid`. */
  keyId?: string;
  /** Default `${baseUrl}/Token/auth`. */
  tokenUrl?: string;
  /** Default `system/*.*` (DPC accepts nothing else), or `system/*.read` with a `tokenUrl` of its own (`defaultScope`). */
  scope?: string;
  /** Add `typ: "JWT"` to the assertion header (default true). */
  jwtType?: boolean;
  /** A fixed bearer token instead of the assertion flow (for curl-style users). */
  accessToken?: string;
  /**
   * `none`: an open Bulk Data server; no request carries an Authorization header and no token is ever exchanged.
   * Default `smart`: the assertion flow (or `accessToken`).
   */
  authentication?: 'smart' | 'none';
  /** Shared undici pool; closed by `close()` only if the client created it. */
  dispatcher?: Dispatcher;
  retry?: Partial<RetryPolicy>;
  /** Injected clock in ms (tests move the sandbox clock and pass `sandbox.clock.now`). */
  now?: () => number;
  /**
   * Injected clock of the token exchange (assertion iat/exp, refresh timing); default `now`. The sandbox checks JWTs
   * against its real-time auth clock, not the movable sandbox clock, so tests pass `sandbox.authClock.now` here.
   */
  authNow?: () => number;
  onEvent?: (event: TransportEvent | AuthEvent) => void;
  /** Injected retry sleep for tests; defaults to real timers. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Where the client records the secrets it holds and receives; default: its own. Share one to redact output with it. */
  redactor?: Redactor;
}

/** A profile's server and credential settings, as the CLI resolves them (flags, environment, config file). */
export interface ProfileConnection {
  baseUrl: string;
  clientToken?: string;
  keyId?: string;
  accessToken?: string;
  tokenUrl?: string;
  scope?: string;
  jwtType?: boolean;
  /** An open server: no credentials, no bearer token. */
  noAuth?: boolean;
}

/**
 * Pure: a profile's settings as client options (the CLI's clients and `runDoctor`'s). The assertion flow's
 * credentials go in only with a loaded `privateKey`: without one the client uses `accessToken` or no credentials.
 */
export function profileClientOptions(profile: ProfileConnection, privateKey: KeyObject | undefined): DpcClientOptions {
  return {
    baseUrl: profile.baseUrl,
    ...(privateKey ? { clientToken: profile.clientToken, privateKey, keyId: profile.keyId } : {}),
    accessToken: profile.accessToken,
    tokenUrl: profile.tokenUrl,
    scope: profile.scope,
    jwtType: profile.jwtType,
    authentication: profile.noAuth ? 'none' : 'smart',
  };
}

export interface DpcClient {
  readonly baseUrl: string;
  readonly transport: Transport;
  readonly tokens: TokenManager;
  readonly dispatcher: Dispatcher;
  readonly now: () => number;
  /** Knows this client's secrets (client token, access tokens, assertions, created client tokens): `client.redactor.redact(text)` before printing. */
  readonly redactor: Redactor;
  close(): Promise<void>;
}

export function createClient(options: DpcClientOptions): DpcClient {
  const baseUrl = normaliseBaseUrl(options.baseUrl);
  // validated before the pool exists, so a configuration error leaks no sockets
  const credentials = credentialsFrom(options);
  const ownsDispatcher = options.dispatcher === undefined;
  const dispatcher = options.dispatcher ?? newConnectionPool();
  const now = options.now ?? Date.now;
  // the token manager records the client token and a fixed access token in it (and every token it exchanges)
  const redactor = options.redactor ?? new Redactor();

  // the transport asks the token manager for bearer tokens, and the manager exchanges through the transport
  let tokens: TokenManager | undefined;
  const transport = new Transport({
    baseUrl,
    dispatcher,
    retry: options.retry,
    userAgent: `dpc-client/${VERSION}`,
    onEvent: options.onEvent,
    sleep: options.sleep,
    tokenProvider: options.authentication === 'none' ? undefined : { getAccessToken: (o) => tokens!.getAccessToken(o) },
  });
  tokens = new TokenManager({
    transport,
    tokenUrl: options.tokenUrl ?? `${baseUrl}/Token/auth`,
    credentials,
    accessToken: options.accessToken,
    scope: options.scope ?? defaultScope(options.tokenUrl),
    jwtType: options.jwtType,
    now: options.authNow ?? now,
    onEvent: options.onEvent,
    redactor,
  });

  return {
    baseUrl,
    transport,
    tokens,
    dispatcher,
    now,
    redactor,
    async close() {
      if (ownsDispatcher) await dispatcher.close();
    },
  };
}

function normaliseBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DpcError('ERR_CONFIG', `base URL "${raw}" is not a URL (e.g. https://sandbox.dpc.cms.gov/api/v1)`, { field: 'baseUrl' });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new DpcError('ERR_CONFIG', `base URL "${raw}" must be http(s)`, { field: 'baseUrl' });
  }
  if (url.search || url.hash) throw new DpcError('ERR_CONFIG', `base URL "${raw}" must not have a query or fragment`, { field: 'baseUrl' });
  return url.href.replace(/\/+$/, '');
}

function credentialsFrom(options: DpcClientOptions): Credentials | undefined {
  const { clientToken, privateKey, keyId } = options;
  if (clientToken === undefined && privateKey === undefined && keyId === undefined) return undefined;
  const missing = [clientToken === undefined && 'clientToken', privateKey === undefined && 'privateKey', keyId === undefined && 'keyId'].filter(Boolean);
  if (missing.length > 0) {
    throw new DpcError('ERR_CONFIG', `incomplete credentials: ${missing.join(', ')} missing (the assertion flow needs client token, private key and key id)`);
  }
  // a generic SMART server (own tokenUrl) may take an ES384 key; DPC only RSA
  const key = typeof privateKey === 'string' ? loadPrivateKey(privateKey, { passphrase: options.passphrase, allowEc: options.tokenUrl !== undefined }) : privateKey!;
  return { clientToken: clientToken!, privateKey: key, keyId: keyId! };
}
