/**
 * Pure handling of a Bulk Data job's completion body (server behaviour §6.2) and the local file plan:
 * which server file lands at which local name, and what it must verify against.
 */
import { DpcError } from '../errors.js';
import { isObject, kindOf } from '../json.js';
import { serverText } from '../transport/error-body.js';
import { MAX_SERVER_URL_CHARS, serverUrlProblem, shownServerUrl } from '../transport/server-url.js';

export const CHECKSUM_EXTENSION = 'https://dpc.cms.gov/checksum';
export const FILE_LENGTH_EXTENSION = 'https://dpc.cms.gov/file_length';

/** One file the job produced, with what the server promised about it. */
export interface JobFile {
  /**
   * `output` for resources, `error` for OperationOutcome files, `deleted` for Bulk Data 2.0 deletions (Bundles of
   * DELETE requests, one per deleted resource).
   */
  kind: 'output' | 'error' | 'deleted';
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
  /** The next page of a paged manifest (`link` with relation `next`), absolute or relative to the status URL. */
  next?: string;
}

/**
 * Files of one manifest held at most, over all its pages: each is a request, maybe to another origin, and a page's
 * byte bound (16 MiB) alone would let one page list hundreds of thousands; a thousand pages, millions.
 */
export const MAX_MANIFEST_FILES = 100_000;

/** Validate and normalise a 200 status body; a body we cannot trust is an error, not a guess. */
export function parseCompletion(body: unknown, where: string): JobCompletion {
  if (!isObject(body)) throw malformed(where, 'the body is not a JSON object');
  if (typeof body.transactionTime !== 'string') throw malformed(where, '"transactionTime" is missing');
  const output = body.output ?? [];
  const error = body.error ?? [];
  const deleted = body.deleted ?? [];
  if (!Array.isArray(output) || !Array.isArray(error) || !Array.isArray(deleted)) throw malformed(where, '"output", "error" and "deleted" must be arrays');
  const listed = output.length + error.length + deleted.length;
  if (listed > MAX_MANIFEST_FILES) throw malformed(where, `it lists ${listed} files, more than ${MAX_MANIFEST_FILES}`);
  const next = nextPage(body.link, where);
  return {
    transactionTime: body.transactionTime,
    // kept in manifest.json: the server's echo, one line, escaped and bounded like a URL
    request: typeof body.request === 'string' ? serverText(body.request, MAX_SERVER_URL_CHARS) : '',
    // The spec's default is "a token is required"; only an explicit false lifts it.
    requiresAccessToken: body.requiresAccessToken !== false,
    files: [
      ...output.map((entry, i) => parseEntry(entry, 'output', `${where} output[${i}]`)),
      ...error.map((entry, i) => parseEntry(entry, 'error', `${where} error[${i}]`)),
      ...deleted.map((entry, i) => parseEntry(entry, 'deleted', `${where} deleted[${i}]`)),
    ],
    ...(next === undefined ? {} : { next }),
  };
}

/** The `next` link of a paged manifest (Bulk Data `allowPartialManifests`; the reference server pages this way). */
function nextPage(link: unknown, where: string): string | undefined {
  if (link === undefined) return undefined;
  if (!Array.isArray(link)) throw malformed(where, `"link" must be an array, got ${kindOf(link)}`);
  const next = link.find((l: unknown) => isObject(l) && l.relation === 'next');
  if (next === undefined) return undefined;
  if (typeof next.url !== 'string') throw malformed(where, 'the "next" link has no URL');
  const problem = serverUrlProblem(next.url, RELATIVE_BASE);
  if (problem) throw malformed(where, `the "next" link "${shownServerUrl(next.url)}" ${problem}`);
  return next.url;
}

/** The type an entry may leave out: what its kind of file always holds. */
const DEFAULT_TYPES: Record<JobFile['kind'], string | undefined> = { output: undefined, error: 'OperationOutcome', deleted: 'Bundle' };

function parseEntry(entry: unknown, kind: JobFile['kind'], where: string): JobFile {
  if (!isObject(entry)) throw malformed(where, 'not an object');
  if (typeof entry.url !== 'string' || entry.url === '') throw malformed(where, '"url" is missing');
  // a relative url is resolved against the server later; here it is judged as one on some http server
  const urlProblem = serverUrlProblem(entry.url, RELATIVE_BASE);
  if (urlProblem) throw malformed(where, `"url" "${shownServerUrl(entry.url)}" ${urlProblem}`);
  const type = typeof entry.type === 'string' && /^[A-Za-z]+$/.test(entry.type) ? entry.type : DEFAULT_TYPES[kind];
  if (type === undefined) throw malformed(where, '"type" is missing or not a resource type');
  const file: JobFile = { kind, type, url: entry.url };
  if (entry.count !== undefined) file.count = wholeNumber(entry.count, '"count"', where);
  const extensions = entry.extension ?? [];
  if (!Array.isArray(extensions)) throw malformed(where, `"extension" must be an array, got ${kindOf(extensions)}`);
  for (const [j, x] of extensions.entries()) {
    if (!isObject(x)) throw malformed(where, `"extension[${j}]" is not an object (got ${kindOf(x)})`);
    if (x.url === CHECKSUM_EXTENSION) {
      // a promise of integrity we cannot read is not dropped: the file would go unchecked
      const match = typeof x.valueString === 'string' ? /^sha256:([0-9a-fA-F]{64})$/.exec(x.valueString.trim()) : null;
      if (!match) throw malformed(where, `checksum ${shownJson(x.valueString)} is not sha256:<64 hex>`);
      file.sha256 = match[1]!.toLowerCase();
    } else if (x.url === FILE_LENGTH_EXTENSION) {
      file.gzipLength = wholeNumber(x.valueDecimal, 'file_length', where);
    }
  }
  return file;
}

/** Relative URLs of a manifest are judged as if on an http server (the status URL's, resolved later). */
const RELATIVE_BASE = 'http://relative.invalid/';

/** A count or size the server promised: a whole number ≥ 0, else the manifest is malformed. */
function wholeNumber(value: unknown, name: string, where: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  throw malformed(where, `${name} ${shownJson(value)} is not a whole number ≥ 0`);
}

/** A value of the manifest's, as a message quotes it: its JSON, one line, escaped, short. Pure. */
function shownJson(value: unknown): string {
  return serverText(JSON.stringify(value) ?? 'undefined', 100);
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

/**
 * Why a verified file as recorded in manifest.json or the state file cannot be trusted (undefined when it can), as a
 * suffix for `files[i]`: the fields verify and resume read, and a path that is one of this engine's data file names,
 * so joined to the group folder it never leads outside it. Pure.
 */
export function recordedFileProblem(file: unknown): string | undefined {
  if (!isObject(file)) return ` is not an object (got ${kindOf(file)})`;
  const { path, sha256, bytes, count, gzipBytes } = file;
  if (typeof path !== 'string') return `.path is not a string (got ${kindOf(path)})`;
  if (!DATA_FILE_NAME.test(path)) return `.path ${JSON.stringify(path)} is not a data file name inside the run folder (Type-NNN.ndjson[.gz])`;
  if (typeof sha256 !== 'string') return `.sha256 is not a string (got ${kindOf(sha256)})`;
  if (typeof bytes !== 'number' || typeof count !== 'number') return '.bytes and .count must be numbers';
  if (gzipBytes !== undefined && typeof gzipBytes !== 'number') return `.gzipBytes is not a number (got ${kindOf(gzipBytes)})`;
  return undefined;
}

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

/**
 * The lines a file must hold: its manifest `count`, except for error files, whose count the SMART reference server sets
 * to that of the output file that failed (bulk-data-server Manifest.addError; its reference client checks output
 * counts only). DPC's error files still verify by checksum. Pure.
 */
export function promisedLines(file: JobFile): number | undefined {
  return file.kind === 'error' ? undefined : file.count;
}

/** Every way `measured` contradicts the server's promises (empty = verified). Pure. */
export function verifyAgainst(file: JobFile, measured: Measured): string[] {
  const problems: string[] = [];
  if (file.sha256 !== undefined && file.sha256 !== measured.sha256) {
    problems.push(`sha256 ${measured.sha256} differs from the manifest's ${file.sha256}`);
  }
  const lines = promisedLines(file);
  if (lines !== undefined && lines !== measured.lines) {
    problems.push(`${measured.lines} lines differ from the manifest count ${lines}`);
  }
  if (file.gzipLength !== undefined && measured.gzipBytes !== undefined && file.gzipLength !== measured.gzipBytes) {
    problems.push(`${measured.gzipBytes} gzip bytes differ from the manifest file_length ${file.gzipLength}`);
  }
  return problems;
}
