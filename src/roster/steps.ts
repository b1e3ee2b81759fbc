/**
 * Writes done one step at a time, so that a failure part way (a 422 for one member, a 500, a reset connection) says
 * exactly what DPC holds: the steps applied, the one that failed (or whose outcome is unknown), the ones not sent.
 * Every step is safe to plan again from DPC's state, so running the same command again finishes the job.
 */
import { DpcError } from '../errors.js';

export interface WriteStep {
  /** What the step will do, for a report: `practitioner 1232131239: create a group with 25 members`. */
  what: string;
  /** Does it and says what was done: `practitioner 1232131239: created group … with 25 members`. */
  run(): Promise<string>;
}

/** A DpcError from a write part way through, with what had been applied before it (`applied`). */
export class PartlyAppliedError<T> extends DpcError {
  readonly applied: T;
  constructor(cause: DpcError, applied: T, details: string[]) {
    super(cause.code, cause.message, { cause, status: cause.status, requestId: cause.requestId, location: cause.location, field: cause.field, details: [...cause.details, ...details] });
    this.applied = applied;
  }
}

/** No answer came: the server may have applied the request before the connection went. */
const OUTCOME_UNKNOWN = new Set(['ERR_NETWORK', 'ERR_TIMEOUT', 'ERR_ABORTED']);

/**
 * Runs the steps in order. When one fails with a DpcError, throws a PartlyAppliedError with the same code (and exit
 * code), the result so far (`applied()`), and details: `applied: …` per step done, `failed: …` (or `unconfirmed: …`
 * when no answer came), `not sent: …` per step left, then `again` (how a rerun finishes).
 */
export async function runWriteSteps<T>(steps: readonly WriteStep[], applied: () => T, again: string): Promise<void> {
  const done: string[] = [];
  for (const [i, step] of steps.entries()) {
    try {
      done.push(await step.run());
    } catch (error) {
      if (!(error instanceof DpcError)) throw error;
      const failed = OUTCOME_UNKNOWN.has(error.code) ? `unconfirmed: ${step.what} (no answer came; DPC may have applied it)` : `failed: ${step.what}`;
      const report = [
        ...(done.length > 0 ? done.map((d) => `applied: ${d}`) : ['applied: nothing']),
        failed,
        ...steps.slice(i + 1).map((s) => `not sent: ${s.what}`),
        again,
      ];
      throw new PartlyAppliedError(error, applied(), report);
    }
  }
}
