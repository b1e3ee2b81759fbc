/**
 * Giving a Bulk Data job up on the server: `DELETE` on its status URL (Bulk Data spec, "Delete a Bulk Data Request"),
 * which cancels a running job, or tells the server a finished job's files may go. The SMART reference server answers
 * 202 and, after that, 404 to the status URL; its reference client asks after a completed download and never on
 * Ctrl-C (the job is left running). Here too an interrupted run keeps its job, since a rerun resumes it: cancelling is
 * asked for (`cancelExport`, or `deleteJobWhenDone` of a run). DPC has no cancel: 405 (server behaviour §6.2).
 */
import { join } from 'node:path';
import { DpcError } from '../errors.js';
import { redactUrl } from '../redact.js';
import type { DpcClient } from '../client.js';
import { isUrl } from './existing.js';
import { deleteJob, type JobDeletion } from './job.js';
import { abandonRun } from './layout.js';
import { withLockedState } from './run.js';
import { forgetInFlight } from './state.js';

export interface CancelReport {
  /** The output folder's label of the job (folder sources). */
  label?: string;
  /** Redacted. */
  jobUrl: string;
  outcome: JobDeletion;
  /** The unfinished run folder removed with it (folder sources). */
  run?: string;
}

/**
 * Cancel a job by URL, or every unfinished job an output folder records: there, under the folder's lock, each job is
 * forgotten once the server accepted (or no longer knows) it, and its unfinished run folder removed, so the next run
 * starts a new job instead of resuming a cancelled one.
 */
export async function cancelExport(client: DpcClient, source: string, signal?: AbortSignal): Promise<CancelReport[]> {
  if (isUrl(source)) return [{ jobUrl: redactUrl(source), outcome: await deleteJob(client.transport, source, signal) }];
  return withLockedState(source, async (state) => {
    const labels = state.labels().filter((label) => state.group(label).jobUrl !== undefined);
    if (labels.length === 0) throw new DpcError('ERR_INPUT', `${source} has no unfinished export job to cancel`, { location: source });
    const reports: CancelReport[] = [];
    for (const label of labels) {
      const { jobUrl, run } = state.group(label);
      const outcome = await deleteJob(client.transport, jobUrl!, signal);
      await state.update(label, forgetInFlight);
      if (run !== undefined) await abandonRun(join(source, label, run));
      reports.push({ label, jobUrl: redactUrl(jobUrl!), outcome, ...(run === undefined ? {} : { run }) });
    }
    return reports;
  });
}
