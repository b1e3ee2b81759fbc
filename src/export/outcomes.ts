/**
 * Summary of a job's error files: per-patient OperationOutcomes (server behaviour §6.3, §11.5) counted by reason
 * (`details.text`, else `diagnostics`, else `code`) with the id DPC puts last in `location`, labelled for what it is
 * (an MBI, or a Blue Button patient id mapped to its MBI where the run's Patient files allow); issues
 * that name no patient (generic servers report failures of a whole type or of the job this way) are kept apart,
 * with the server's message.
 * Error files are small, so they are parsed line by line; resource files never are.
 */
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type * as fhir3 from 'fhir/r3.js';
import { io } from '../fs.js';
import { mbiOf } from '../fhir/resources.js';
import { isValidMbi } from '../fhir/validate.js';
import { serverText } from '../transport/error-body.js';
import { MiB } from './meter.js';

/** An OperationOutcome line is a few hundred bytes; one past 32 MiB is counted, not parsed. */
const MAX_LINE = 32 * MiB;
const MAX_REASON = 500;
/** MBIs are 11 characters, Blue Button ids a few dozen. */
const MAX_PATIENT_ID = 100;
const MAX_CODE = 64;
/**
 * Distinct reasons and server messages kept, and patient ids listed over all reasons: an error file may be as large as
 * any file (maxFileBytes), and one distinct reason per line would otherwise hold millions of entries in memory and in
 * manifest.json. Past the caps, issues are still counted: under one overflow reason or message, ids unlisted.
 */
export const MAX_DISTINCT_REASONS = 1000;
export const MAX_LISTED_PATIENTS = 10_000;
export const OTHER_REASONS = `other reasons (more than ${MAX_DISTINCT_REASONS} distinct)`;
export const OTHER_MESSAGES = `other messages (more than ${MAX_DISTINCT_REASONS} distinct)`;

export interface ErrorReason {
  reason: string;
  /** The issue's `code` as DPC gave it (`exception`, `suppressed`), when it gave one. */
  code?: string;
  count: number;
  /** The patient ids from `location` as the server gave them, in file order, without duplicates; `idKind` says what they are. */
  patients: string[];
  /**
   * `mbi`, or `patient-id`: a Patient.id, which on DPC is the Blue Button patient id, never an MBI. DPC locates opt-outs
   * and internal errors by MBI (code `exception`) but look-back failures by Blue Button id (code `suppressed`):
   * dpc-aggregation engine/JobBatchProcessor.java checkLookBack → AggregationUtils.toOperationOutcome(…, patient.getId(), SUPPRESSED).
   */
  idKind: 'mbi' | 'patient-id';
  /** Patient id → MBI, for the ids this run's exported Patient resources map (Patient.id ↔ its MBI identifier). */
  mbis?: Record<string, string>;
}

export interface ServerMessage {
  message: string;
  count: number;
}

export interface ErrorSummary {
  /** Failed patients reported (one per issue). */
  total: number;
  reasons: ErrorReason[];
  /** Errors that name no patient, by message (absent in manifests of older versions). */
  serverMessages?: ServerMessage[];
}

/** Accumulates OperationOutcome lines. Pure apart from its own state. */
export class OutcomeTally {
  private readonly byReason = new Map<string, { code?: string; count: number; patients: Set<string> }>();
  private readonly serverMessages = new Map<string, number>();
  private total = 0;
  /** Patient ids listed over all reasons (MAX_LISTED_PATIENTS). */
  private listed = 0;

  add(line: string): void {
    if (line.trim() === '') return;
    if (line.length > MAX_LINE) {
      this.message(`OperationOutcome line longer than ${MAX_LINE} characters`);
      return;
    }
    let outcome: { issue?: unknown };
    try {
      outcome = JSON.parse(line) as { issue?: unknown };
    } catch {
      this.message('unreadable OperationOutcome line');
      return;
    }
    const issues = Array.isArray(outcome.issue) ? outcome.issue : [];
    if (issues.length === 0) this.message('OperationOutcome without issues');
    for (const raw of issues) {
      const issue = (raw ?? {}) as { details?: { text?: unknown }; diagnostics?: unknown; code?: unknown; location?: unknown };
      const reason = [issue.details?.text, issue.diagnostics, issue.code].find((v): v is string => typeof v === 'string' && v !== '') ?? 'unspecified';
      const location = Array.isArray(issue.location) ? issue.location : [];
      const last = location[location.length - 1];
      const code = typeof issue.code === 'string' && issue.code !== '' ? issue.code : undefined;
      if (typeof last === 'string' && last !== 'Patient' && last !== 'id') this.count(reason, last, code);
      else this.message(reason);
    }
  }

  /** Reasons and ids come from the server: stored and printed escaped and capped (a 20 MiB reason stays short). */
  private count(rawReason: string, rawPatient: string, rawCode: string | undefined): void {
    const text = serverText(rawReason, MAX_REASON);
    const reason = this.byReason.has(text) || this.byReason.size < MAX_DISTINCT_REASONS ? text : OTHER_REASONS;
    const entry = this.byReason.get(reason) ?? { code: rawCode === undefined || reason === OTHER_REASONS ? undefined : serverText(rawCode, MAX_CODE), count: 0, patients: new Set<string>() };
    entry.count++;
    const patient = serverText(rawPatient, MAX_PATIENT_ID);
    if (this.listed < MAX_LISTED_PATIENTS && !entry.patients.has(patient)) {
      entry.patients.add(patient);
      this.listed++;
    }
    this.byReason.set(reason, entry);
    this.total++;
  }

  private message(rawMessage: string): void {
    const text = serverText(rawMessage, MAX_REASON);
    const message = this.serverMessages.has(text) || this.serverMessages.size < MAX_DISTINCT_REASONS ? text : OTHER_MESSAGES;
    this.serverMessages.set(message, (this.serverMessages.get(message) ?? 0) + 1);
  }

  summary(): ErrorSummary {
    const reasons = [...this.byReason.entries()]
      .map(([reason, e]): ErrorReason => {
        const patients = [...e.patients];
        return { reason, ...(e.code === undefined ? {} : { code: e.code }), count: e.count, patients, idKind: idKindOf(e.code, patients) };
      })
      .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
    const serverMessages = [...this.serverMessages.entries()].map(([message, count]) => ({ message, count })).sort((a, b) => b.count - a.count || a.message.localeCompare(b.message));
    return { total: this.total, reasons, serverMessages };
  }
}

/** DPC's `suppressed` issues name the Blue Button id; anything that is not MBI-shaped is a patient id too. Pure. */
export function idKindOf(code: string | undefined, ids: readonly string[]): ErrorReason['idKind'] {
  return code !== 'suppressed' && ids.every((id) => isValidMbi(id)) ? 'mbi' : 'patient-id';
}

/** The patients of one reason as words: `MBI 1S00E00AA78`, `Blue Button patient id -10000010288391 (MBI 1S00E00AC05)`. Pure. */
export function describePatients(reason: ErrorReason, limit = 3): string {
  const shown = reason.patients.slice(0, limit).map((id) => {
    if (reason.idKind === 'mbi') return `MBI ${id}`;
    const mbi = reason.mbis?.[id];
    return `patient id ${id} (${mbi === undefined ? 'MBI not in this export' : `MBI ${mbi}`})`;
  });
  const more = reason.patients.length - shown.length;
  return `${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

/**
 * Add the MBIs of patient ids from the run's Patient files (`Patient.id` ↔ its MBI identifier). Only reasons that
 * name patient ids need it; files are read only then, line by line.
 */
export async function mapPatientIds(summary: ErrorSummary, patientFiles: readonly string[]): Promise<ErrorSummary> {
  const wanted = new Set(summary.reasons.filter((r) => r.idKind === 'patient-id').flatMap((r) => r.patients));
  if (wanted.size === 0 || patientFiles.length === 0) return summary;
  const found = new Map<string, string>();
  for (const path of patientFiles) {
    await readLines(path, 'read Patient file', (line) => {
      if (found.size === wanted.size || line.trim() === '') return;
      let patient: fhir3.Patient;
      try {
        patient = JSON.parse(line) as fhir3.Patient;
      } catch {
        return; // verified bytes, but not ours to judge here
      }
      const mbi = patient.id !== undefined && wanted.has(patient.id) ? mbiOf(patient) : undefined;
      if (mbi !== undefined) found.set(patient.id!, mbi);
    });
  }
  if (found.size === 0) return summary;
  const reasons = summary.reasons.map((r) => {
    const mbis = Object.fromEntries(r.patients.flatMap((id) => (found.has(id) ? [[id, found.get(id)!]] : [])));
    return Object.keys(mbis).length > 0 ? { ...r, mbis } : r;
  });
  return { ...summary, reasons };
}

export function emptySummary(): ErrorSummary {
  return { total: 0, reasons: [], serverMessages: [] };
}

/** Read verified error files (plain or `.gz`) from disk and tally them. */
export async function summariseErrorFiles(paths: readonly string[]): Promise<ErrorSummary> {
  const tally = new OutcomeTally();
  for (const path of paths) await readLines(path, 'read error file', (line) => tally.add(line));
  return tally.summary();
}

/**
 * Stream a downloaded NDJSON file (plain or `.gz`) line by line; only for small files such as one patient's data. A
 * line longer than MAX_LINE arrives cut to MAX_LINE + 1 bytes (so it still reads as too long): the file came from a
 * server, and readline would build a line of any length (past 512 MiB it crashed the process: Invalid string length).
 */
export async function readLines(path: string, what: string, onLine: (line: string) => void): Promise<void> {
  await io(path, what, async () => {
    const file = createReadStream(path, { highWaterMark: MiB });
    const each = async (source: AsyncIterable<Buffer>): Promise<void> => {
      for await (const line of cappedLines(source, MAX_LINE)) onLine(line);
    };
    await (path.endsWith('.gz') ? pipeline(file, createGunzip({ chunkSize: MiB }), each) : pipeline(file, each));
  });
}

/** The lines of `source` split at LF (a CR before it dropped), each cut to `max + 1` bytes. */
export async function* cappedLines(source: AsyncIterable<Buffer>, max: number): AsyncGenerator<string> {
  let parts: Buffer[] = [];
  let size = 0;
  const keep = (piece: Buffer): void => {
    const room = max + 1 - size;
    if (room <= 0 || piece.length === 0) return;
    const kept = piece.length > room ? piece.subarray(0, room) : piece;
    parts.push(kept);
    size += kept.length;
  };
  const line = (): string => {
    const text = Buffer.concat(parts, size).toString('utf8');
    parts = [];
    size = 0;
    return text.endsWith('\r') ? text.slice(0, -1) : text;
  };
  for await (const chunk of source) {
    let start = 0;
    for (let newline = chunk.indexOf(0x0a); newline !== -1; newline = chunk.indexOf(0x0a, start)) {
      keep(chunk.subarray(start, newline));
      yield line();
      start = newline + 1;
    }
    keep(chunk.subarray(start));
  }
  if (size > 0) yield line();
}
