/**
 * What the export engine reports while it runs. Names follow the SMART Bulk Data client log vocabulary
 * (kickoff, status_progress, status_complete, status_error, download_request, download_complete, download_error,
 * export_complete); `export_skipped` (a group with nothing to export) and `job_deleted` are extra, and
 * `download_progress`, for progress bars. Events carry no secrets and no file content.
 */
import type { JobDeletion } from './job.js';
import type { JobFile } from './manifest.js';

export type ExportEvent =
  /** `npi`: the group's practitioner, when known (progress shows it rather than a group id). */
  | { type: 'kickoff'; label: string; npi?: string; url: string; jobUrl: string; resumed: boolean; requestId?: string }
  | { type: 'status_progress'; label: string; jobUrl: string; progress?: string; nextPollMs: number; requestId?: string }
  | { type: 'status_complete'; label: string; jobUrl: string; transactionTime: string; files: number; requestId?: string }
  | { type: 'status_error'; label: string; jobUrl: string; message: string; retryInMs: number; requestId?: string }
  | { type: 'download_request'; label: string; url: string; file: string; attempt: number; requestId?: string }
  | { type: 'download_progress'; label: string; file: string; bytes: number }
  | {
      type: 'download_complete';
      label: string;
      url: string;
      file: string;
      /**
       * `error`: a file of OperationOutcomes (patients DPC could not export); `deleted`: Bundles of deletions (Bulk
       * Data 2.0); neither holds resources of the export.
       */
      kind: JobFile['kind'];
      bytes: number;
      resources: number;
      skipped: boolean;
      requestId?: string;
    }
  | {
      type: 'download_error';
      label: string;
      url: string;
      file: string;
      message: string;
      willRetry: boolean;
      quarantinedAt?: string;
      requestId?: string;
    }
  | { type: 'export_skipped'; label: string; groupId?: string; npi?: string; reason: string }
  /** A finished job deleted on the server (`deleteJobWhenDone`); `failed` with the server's refusal in `message`. */
  | { type: 'job_deleted'; label: string; jobUrl: string; outcome: JobDeletion | 'failed'; message?: string }
  | {
      type: 'export_complete';
      label: string;
      /** Run folder under `<out>/<label>/` holding the files and manifest. */
      run: string;
      files: number;
      bytes: number;
      resources: number;
      errors: number;
      quarantined: number;
      transactionTime: string;
    };

export type ExportEventHandler = (event: ExportEvent) => void;
