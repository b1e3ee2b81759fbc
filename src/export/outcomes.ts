/**
 * Summary of a job's error files: per-patient OperationOutcomes (server behaviour §6.3) counted by reason
 * (`details.text`, else `diagnostics`, else `code`) with the MBI or patient id DPC puts last in `location`; issues
 * that name no patient (generic servers report failures of a whole type or of the job this way) are kept apart,
 * with the server's message.
 * Error files are small, so they are parsed line by line; resource files never are.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { PassThrough } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { io } from '../fs.js';
import { serverText } from '../transport/index.js';
import { MiB } from './meter.js';

/** An OperationOutcome line is a few hundred bytes; one past 32 MiB is counted, not parsed. */
const MAX_LINE = 32 * MiB;
const MAX_REASON = 500;
/** MBIs are 11 characters, Blue Button ids a few dozen. */
const MAX_PATIENT_ID = 100;

export interface ErrorReason {
  reason: string;
  count: number;
  /** MBIs (or patient ids) from `location`, in file order, without duplicates. */
  patients: string[];
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
  private readonly byReason = new Map<string, { count: number; patients: Set<string> }>();
  private readonly serverMessages = new Map<string, number>();
  private total = 0;

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
      if (typeof last === 'string' && last !== 'Patient' && last !== 'id') this.count(reason, last);
      else this.message(reason);
    }
  }

  /** Reasons and ids come from the server: stored and printed escaped and capped (a 20 MiB reason stays short). */
  private count(rawReason: string, rawPatient: string): void {
    const reason = serverText(rawReason, MAX_REASON);
    const patient = serverText(rawPatient, MAX_PATIENT_ID);
    const entry = this.byReason.get(reason) ?? { count: 0, patients: new Set<string>() };
    entry.count++;
    entry.patients.add(patient);
    this.byReason.set(reason, entry);
    this.total++;
  }

  private message(rawMessage: string): void {
    const message = serverText(rawMessage, MAX_REASON);
    this.serverMessages.set(message, (this.serverMessages.get(message) ?? 0) + 1);
  }

  summary(): ErrorSummary {
    const reasons = [...this.byReason.entries()]
      .map(([reason, e]) => ({ reason, count: e.count, patients: [...e.patients] }))
      .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
    const serverMessages = [...this.serverMessages.entries()].map(([message, count]) => ({ message, count })).sort((a, b) => b.count - a.count || a.message.localeCompare(b.message));
    return { total: this.total, reasons, serverMessages };
  }
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

/** Stream a downloaded NDJSON file (plain or `.gz`) line by line; only for small files such as one patient's data. */
export async function readLines(path: string, what: string, onLine: (line: string) => void): Promise<void> {
  await io(path, what, async () => {
    const text = new PassThrough();
    const file = createReadStream(path, { highWaterMark: MiB });
    const done = path.endsWith('.gz') ? pipeline(file, createGunzip({ chunkSize: MiB }), text) : pipeline(file, text);
    for await (const line of createInterface({ input: text, crlfDelay: Infinity })) onLine(line);
    await done;
  });
}
