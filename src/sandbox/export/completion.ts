/**
 * Pure pieces of `GET /Jobs/{id}`: the X-Progress text and the 200 completion body
 * (JobCompletionModel, behaviour doc §6.2).
 */
import { createHash } from 'node:crypto';
import { formatInstant } from '../clock.js';
import type { ExportResourceType } from './contract.js';
import type { FileRecord } from './batch.js';

/** `QUEUED: 0.00%` before anything happened, then `RUNNING: 42.17%`; `fraction` in [0, 1]. */
export function progressText(fraction: number): string {
  const clamped = Math.min(1, Math.max(0, fraction));
  return clamped === 0 ? 'QUEUED: 0.00%' : `RUNNING: ${(clamped * 100).toFixed(2)}%`;
}

export interface CompletionInput {
  baseUrl: string;
  requestUrl: string;
  transactionTime: number;
  submitTime: number;
  completeTime: number;
  /** Requested types in request order: output entries follow it (then batch, then sequence). */
  types: readonly ExportResourceType[];
  /** Files of all batches, in batch order. */
  files: readonly FileRecord[];
  /** Fault: report a wrong checksum for files whose URL file name contains this text. */
  wrongChecksumFor?: string;
}

export function completionBody(input: CompletionInput): unknown {
  const entry = (file: FileRecord): unknown => {
    const fileName = `${file.name}.ndjson`;
    const wrong = input.wrongChecksumFor !== undefined && fileName.includes(input.wrongChecksumFor);
    const checksum = wrong ? createHash('sha256').update(`wrong:${file.sha256}`).digest('hex') : file.sha256;
    return {
      type: file.type,
      url: `${input.baseUrl}/Data/${fileName}`,
      count: file.count,
      extension: [
        { url: 'https://dpc.cms.gov/checksum', valueString: `sha256:${checksum}` },
        { url: 'https://dpc.cms.gov/file_length', valueDecimal: file.gzipBytes },
      ],
    };
  };
  const kept = input.files.filter((f) => f.count > 0);
  const output = input.types.flatMap((type) => kept.filter((f) => f.type === type)).map(entry);
  const error = kept.filter((f) => f.type === 'OperationOutcome').map(entry);
  return {
    transactionTime: formatInstant(input.transactionTime),
    request: input.requestUrl,
    requiresAccessToken: true,
    output,
    error,
    extension: [
      { url: 'https://dpc.cms.gov/submit_time', valueDateTime: formatInstant(input.submitTime) },
      { url: 'https://dpc.cms.gov/complete_time', valueDateTime: formatInstant(input.completeTime) },
    ],
  };
}
