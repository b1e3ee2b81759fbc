/**
 * The seam between the sandbox's HTTP core (routing, auth, FHIR resources) and its export engine
 * (jobs, synthetic claims data, /Data files). The core validates the kick-off request and resolves the
 * Group's active members; the export engine owns everything after that.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type ExportResourceType = 'Patient' | 'Coverage' | 'ExplanationOfBenefit';

/** Faults a test can switch on (all off by default). Set through the admin API or `startSandbox({ faults })`. */
export interface SandboxFaults {
  /** Answer the next N requests whose path matches with this status and Retry-After (seconds or HTTP-date). */
  throttle?: { status: 429 | 503 | 500; count: number; retryAfter?: 'seconds' | 'http-date' | 'none'; retryAfterSeconds?: number; pathIncludes?: string };
  /** Destroy the socket after this many body bytes of the next N /Data downloads. */
  cutAtByte?: { bytes: number; count: number; fileIncludes?: string };
  /** End the next N /Data bodies cleanly but early (missing the last `bytes`). */
  truncateBy?: { bytes: number; count: number; fileIncludes?: string };
  /** Report a wrong checksum in the job manifest for files whose name includes this text. */
  wrongChecksum?: { fileIncludes: string };
  /** Delay the first byte of /Data responses and job status responses. */
  slowFirstByteMs?: number;
  /**
   * The next N synchronous `Patient/{id}/$everything` requests time out upstream: 504 from the gateway in front of
   * DPC (the default), or 500 "Failed to retrieve data", DPC's own answer when the job outlasts its wait.
   */
  everythingTimeout?: { count: number; status?: 500 | 504 };
}

export interface KickoffRequest {
  orgId: string;
  /** The `request` URL DPC echoes in the completion body. */
  requestUrl: string;
  /** The exported Group; absent for a single patient's job (`Patient/{id}/$export`, async `$everything`). */
  groupId?: string;
  /** Active attributed members at kick-off time. */
  patients: ReadonlyArray<{ id: string; mbi: string }>;
  types: readonly ExportResourceType[];
  /** Parsed `_since`, epoch ms. */
  since?: number;
}

export type JobStatus =
  | { state: 'not-found' }
  | { state: 'wrong-org' }
  | { state: 'expired' }
  | { state: 'in-progress'; progress: string }
  | { state: 'complete'; body: unknown; expires: Date }
  /** Generating the job's files failed (DPC answers a FAILED batch with 500). */
  | { state: 'failed'; message: string };

/**
 * One patient's data answered at once (synchronous `Patient/{id}/$everything`): the resources as JSON objects, or
 * the OperationOutcome DPC turns into a 403 when the patient's only output is an error.
 */
export type PatientData = { resources: unknown[] } | { outcome: unknown };

export interface ExportService {
  kickoff(request: KickoffRequest): Promise<{ jobId: string }>;
  /** The data a one-patient job of these types would deliver, `_since` applied as in a job. */
  patientData(mbi: string, types: readonly ExportResourceType[], since?: number): Promise<PatientData>;
  status(orgId: string, jobId: string): JobStatus;
  /** Serve GET/HEAD `/Data/{file}` for the org (auth already checked), honouring gzip, ETag, Range and faults. */
  serveData(req: IncomingMessage, res: ServerResponse, orgId: string, fileName: string): Promise<void>;
  /** Stops background generation and waits for it, so the state directory can be removed. */
  close?(): Promise<void>;
}
