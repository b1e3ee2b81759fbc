/**
 * Typed errors with a stable `code`, in the style of jose: callers branch on `code`, never on messages.
 * Every error the library throws on purpose is a DpcError; the CLI maps `code` to the process exit code (src/cli/exit-codes.ts).
 */

export type ErrorCode =
  // bad input from the caller: files, options, PEMs, rosters, config
  | 'ERR_USAGE'
  | 'ERR_INPUT'
  | 'ERR_CONFIG'
  | 'ERR_KEY'
  // authentication
  | 'ERR_AUTH'
  // server answered with an error status
  | 'ERR_HTTP'
  | 'ERR_BAD_REQUEST'
  | 'ERR_UNAUTHORIZED'
  | 'ERR_FORBIDDEN'
  | 'ERR_NOT_FOUND'
  | 'ERR_NOT_ACCEPTABLE'
  | 'ERR_GONE'
  | 'ERR_UNSUPPORTED_MEDIA_TYPE'
  | 'ERR_UNPROCESSABLE'
  | 'ERR_RATE_LIMITED'
  | 'ERR_SERVER'
  // transport-level failures
  | 'ERR_NETWORK'
  | 'ERR_TIMEOUT'
  | 'ERR_FOREIGN_ORIGIN'
  // export engine
  | 'ERR_INTEGRITY'
  | 'ERR_JOB_FAILED'
  | 'ERR_JOB_EXPIRED'
  | 'ERR_LOCKED'
  | 'ERR_PARTIAL'
  | 'ERR_IO'
  | 'ERR_ABORTED'
  // a caller's step after a complete export (the on-complete command) failed
  | 'ERR_HOOK'
  // claims tables (src/tables): the optional DuckDB engine is missing; a query or a file DuckDB could not read
  | 'ERR_ENGINE'
  | 'ERR_QUERY';

export interface DpcErrorOptions {
  cause?: unknown;
  /** HTTP status when the error came from a server response. */
  status?: number;
  /** The server's X-Request-Id, for support tickets. */
  requestId?: string;
  /** Further problems, e.g. every invalid row of a roster as `file:line: message`. */
  details?: string[];
  /** Where the problem is: a file path, `file:line`, a URL. */
  location?: string;
  /** The option or input field at fault (`since`, `npi`, `outDir`): callers map it to their own names (a CLI flag, a form field). */
  field?: string;
}

export class DpcError extends Error {
  override readonly name: string = 'DpcError';
  readonly code: ErrorCode;
  readonly status?: number;
  readonly requestId?: string;
  readonly details: string[];
  readonly location?: string;
  readonly field?: string;

  constructor(code: ErrorCode, message: string, options: DpcErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
    this.requestId = options.requestId;
    this.details = options.details ?? [];
    this.location = options.location;
    this.field = options.field;
  }
}

/** The HTTP status → stable error code table (one place, used by the transport and the sandbox tests). */
export function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return 'ERR_BAD_REQUEST';
    case 401:
      return 'ERR_UNAUTHORIZED';
    case 403:
      return 'ERR_FORBIDDEN';
    case 404:
      return 'ERR_NOT_FOUND';
    case 406:
      return 'ERR_NOT_ACCEPTABLE';
    case 410:
      return 'ERR_GONE';
    case 415:
      return 'ERR_UNSUPPORTED_MEDIA_TYPE';
    case 422:
      return 'ERR_UNPROCESSABLE';
    case 429:
      return 'ERR_RATE_LIMITED';
    default:
      return status >= 500 ? 'ERR_SERVER' : 'ERR_HTTP';
  }
}

/**
 * `error` told again in the caller's words (a new code and message) for the same failure: its status, request id and
 * location carried over, the original kept as the cause; `options` adds or overrides (details, a fixed status).
 */
export function restated(error: DpcError, code: ErrorCode, message: string, options: DpcErrorOptions = {}): DpcError {
  return new DpcError(code, message, { cause: error, status: error.status, requestId: error.requestId, location: error.location, ...options });
}

export function isDpcError(err: unknown, code?: ErrorCode): err is DpcError {
  return err instanceof DpcError && (code === undefined || err.code === code);
}
