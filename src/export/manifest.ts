/**
 * Pure handling of a Bulk Data job's completion body (server behaviour §6.2) and the local file plan:
 * which server file lands at which local name, and what it must verify against.
 */
import { DpcError } from '../errors.js';

export const CHECKSUM_EXTENSION = 'https://dpc.cms.gov/checksum';
export const FILE_LENGTH_EXTENSION = 'https://dpc.cms.gov/file_length';

/** One file the job produced, with what the server promised about it. */
export interface JobFile {
  /** `output` for resources, `error` for OperationOutcome files. */
  kind: 'output' | 'error';
  type: string;
  url: string;
  /** Resources (= lines) in the file, when the server says. */
  count?: number;
  /** Lowercase hex SHA-256 of the uncompressed content (DPC extension). */
  sha256?: string;
  /** Size of the server's gzip file (DPC extension); only comparable to gzip bytes. */
  gzipLength?: number;
}

export interface JobCompletion {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  files: JobFile[];
}

/** Validate and normalise a 200 status body; a body we cannot trust is an error, not a guess. */
export function parseCompletion(body: unknown, where: string): JobCompletion {
  if (body === null || typeof body !== 'object') throw malformed(where, 'the body is not a JSON object');
  const b = body as Record<string, unknown>;
  if (typeof b.transactionTime !== 'string') throw malformed(where, '"transactionTime" is missing');
  const output = b.output ?? [];
  const error = b.error ?? [];
  if (!Array.isArray(output) || !Array.isArray(error)) throw malformed(where, '"output" and "error" must be arrays');
  return {
    transactionTime: b.transactionTime,
    request: typeof b.request === 'string' ? b.request : '',
    // The spec's default is "a token is required"; only an explicit false lifts it.
    requiresAccessToken: b.requiresAccessToken !== false,
    files: [
      ...output.map((entry, i) => parseEntry(entry, 'output', `${where} output[${i}]`)),
      ...error.map((entry, i) => parseEntry(entry, 'error', `${where} error[${i}]`)),
    ],
  };
}

function parseEntry(entry: unknown, kind: JobFile['kind'], where: string): JobFile {
  if (entry === null || typeof entry !== 'object') throw malformed(where, 'not an object');
  const e = entry as Record<string, unknown>;
  if (typeof e.url !== 'string' || e.url === '') throw malformed(where, '"url" is missing');
  const type = typeof e.type === 'string' && /^[A-Za-z]+$/.test(e.type) ? e.type : kind === 'error' ? 'OperationOutcome' : undefined;
  if (type === undefined) throw malformed(where, '"type" is missing or not a resource type');
  const file: JobFile = { kind, type, url: e.url };
  if (typeof e.count === 'number' && Number.isInteger(e.count) && e.count >= 0) file.count = e.count;
  for (const ext of Array.isArray(e.extension) ? e.extension : []) {
    const x = ext as { url?: unknown; valueString?: unknown; valueDecimal?: unknown };
    if (x.url === CHECKSUM_EXTENSION && typeof x.valueString === 'string') {
      const match = /^sha256:([0-9a-fA-F]{64})$/.exec(x.valueString.trim());
      if (!match) throw malformed(where, `checksum "${x.valueString}" is not sha256:<64 hex>`);
      file.sha256 = match[1]!.toLowerCase();
    } else if (x.url === FILE_LENGTH_EXTENSION && typeof x.valueDecimal === 'number') {
      file.gzipLength = x.valueDecimal;
    }
  }
  return file;
}

function malformed(where: string, why: string): DpcError {
  return new DpcError('ERR_HTTP', `job status ${where}: unexpected completion body: ${why}`, { location: where });
}

/** A job file with its local name: `<Type>-NNN.ndjson`, numbered per type in manifest order (stable across resumes). */
export interface PlannedFile extends JobFile {
  /** Local name without the `.gz` a gzip download adds. */
  name: string;
}

export function planFiles(files: readonly JobFile[]): PlannedFile[] {
  const perType = new Map<string, number>();
  return files.map((file) => {
    const n = (perType.get(file.type) ?? 0) + 1;
    perType.set(file.type, n);
    return { ...file, name: `${file.type}-${String(n).padStart(3, '0')}.ndjson` };
  });
}

/** Names this engine writes into a group folder (cleaned up when a new job replaces an old one). */
export const DATA_FILE_NAME = /^[A-Za-z]+-\d{3,}\.ndjson(\.gz)?$/;

/** What the bytes on disk measured. */
export interface Measured {
  /** SHA-256 of the uncompressed content. */
  sha256: string;
  /** Uncompressed bytes. */
  bytes: number;
  /** Newline-terminated lines of the uncompressed content. */
  lines: number;
  /** Bytes of the stored gzip file, when the file was kept compressed. */
  gzipBytes?: number;
}

/** Every way `measured` contradicts the server's promises (empty = verified). Pure. */
export function verifyAgainst(file: JobFile, measured: Measured): string[] {
  const problems: string[] = [];
  if (file.sha256 !== undefined && file.sha256 !== measured.sha256) {
    problems.push(`sha256 ${measured.sha256} differs from the manifest's ${file.sha256}`);
  }
  if (file.count !== undefined && file.count !== measured.lines) {
    problems.push(`${measured.lines} lines differ from the manifest count ${file.count}`);
  }
  if (file.gzipLength !== undefined && measured.gzipBytes !== undefined && file.gzipLength !== measured.gzipBytes) {
    problems.push(`${measured.gzipBytes} gzip bytes differ from the manifest file_length ${file.gzipLength}`);
  }
  return problems;
}
