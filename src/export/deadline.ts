/**
 * The overall bound of one export run, `maxWaitMs`: waits (polls, retries, Retry-After) are checked against its
 * deadline before they start, and its signal stops whatever is still in flight when it passes. The default is DPC's
 * job lifetime: a job's files expire 24 h after it completes (server behaviour §6.2), so waiting longer cannot help.
 */
import { DpcError, isDpcError } from '../errors.js';

export const DEFAULT_MAX_WAIT_MS = 24 * 3_600_000;
/** Node's timers hold at most 2^31-1 ms (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface Deadline {
  /** Epoch ms. */
  at: number;
  /** Aborts when the caller's signal does or the deadline passes. */
  signal: AbortSignal;
  /** `error` as the caller should see it: an abort caused by the deadline becomes ERR_TIMEOUT naming it. */
  explain(error: unknown): unknown;
}

export function startDeadline(maxWaitMs: number = DEFAULT_MAX_WAIT_MS, parent?: AbortSignal): Deadline {
  if (!Number.isFinite(maxWaitMs) || maxWaitMs <= 0 || maxWaitMs > MAX_TIMER_MS) {
    throw new DpcError('ERR_INPUT', `maxWaitMs must be a positive number of milliseconds up to ${MAX_TIMER_MS}, got ${maxWaitMs}`, { field: 'maxWaitMs' });
  }
  const timeout = AbortSignal.timeout(maxWaitMs);
  const at = Date.now() + maxWaitMs;
  return {
    at,
    signal: parent ? AbortSignal.any([parent, timeout]) : timeout,
    explain(error) {
      if (!timeout.aborted || parent?.aborted || !isDpcError(error, 'ERR_ABORTED')) return error;
      return new DpcError('ERR_TIMEOUT', `the export did not finish within maxWaitMs (${maxWaitMs} ms, until ${new Date(at).toISOString()}); rerun the same command to resume it`, {
        cause: error,
        field: 'maxWaitMs',
      });
    },
  };
}
