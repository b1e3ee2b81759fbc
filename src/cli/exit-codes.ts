/**
 * Process exit codes are a CLI concept: the library's errors carry a stable `code`, and this table maps it to the
 * documented exit code (README "Exit codes").
 */
import { DpcError, type ErrorCode } from '../errors.js';

export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  auth: 3,
  partial: 4,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Codes that are not a plain failure (exit 1). */
const exitCodes: Partial<Record<ErrorCode, ExitCodeValue>> = {
  ERR_USAGE: ExitCode.usage,
  ERR_INPUT: ExitCode.usage,
  ERR_CONFIG: ExitCode.usage,
  ERR_KEY: ExitCode.usage,
  ERR_AUTH: ExitCode.auth,
  ERR_UNAUTHORIZED: ExitCode.auth,
  ERR_UNPROCESSABLE: ExitCode.usage,
  ERR_BAD_REQUEST: ExitCode.usage,
  ERR_PARTIAL: ExitCode.partial,
  ERR_QUERY: ExitCode.usage,
};

/** Pure: the exit code for an error code. */
function exitCodeForCode(code: ErrorCode): ExitCodeValue {
  return exitCodes[code] ?? ExitCode.failure;
}

/** Pure: the exit code for anything thrown; yargs' own parse errors (YError) are usage errors. */
export function exitCodeFor(error: unknown): ExitCodeValue {
  if (error instanceof DpcError) return exitCodeForCode(error.code);
  return error instanceof Error && error.name === 'YError' ? ExitCode.usage : ExitCode.failure;
}
