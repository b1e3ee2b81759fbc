/**
 * Everything the CLI prints goes through here: results to stdout (human text, or JSON with --json),
 * diagnostics to stderr, always through `redact` so no secret can slip out, and through the control-character
 * escaping of src/escape.ts so server text cannot drive the terminal.
 */
import type { Redactor } from '../redact.js';
import { cliProcess } from './cli-process.js';
import { DpcError } from '../errors.js';
import { exitCodeFor } from './exit-codes.js';
import { cliMessage } from './fields.js';
import { escapeControl, escapeControlKeepLines, jsonForTerminal } from '../escape.js';

export interface OutputOptions {
  json: boolean;
  debug: boolean;
  quiet?: boolean;
  /** stderr is an event log: every line one JSON object (commands that log events, when stderr is not a terminal). */
  eventLog?: boolean;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** Knows the secrets to mask; default: the run's (./cli-process.ts). */
  redactor?: Redactor;
}

/**
 * Commands whose stderr is a log of events (SMART Bulk Data vocabulary) when it is not a terminal: cron captures it,
 * so every line there, errors included, is one JSON object.
 */
const EVENT_LOG_COMMANDS = ['export run', 'export download', 'patient export'];
/** Problems listed under an error line: a 100,000-row roster with US dates must not scroll 100,000 lines past. */
const MAX_DETAIL_LINES = 100;

/** Pure: whether the command named by these words writes an event log. */
export function logsEvents(words: ReadonlyArray<string | number>): boolean {
  return EVENT_LOG_COMMANDS.includes(words.slice(0, 2).join(' '));
}

export class Output {
  readonly json: boolean;
  readonly debug: boolean;
  readonly eventLog: boolean;
  private readonly quiet: boolean;
  private readonly out: NodeJS.WritableStream;
  private readonly err: NodeJS.WritableStream;
  private readonly redactor: Redactor;

  constructor(options: OutputOptions) {
    this.json = options.json;
    this.debug = options.debug;
    this.quiet = options.quiet ?? false;
    const run = cliProcess();
    this.redactor = options.redactor ?? run.redactor;
    this.out = options.stdout ?? run.stdout;
    this.err = options.stderr ?? run.stderr;
    this.eventLog = (options.eventLog ?? false) && !this.isTTY;
  }

  /** The command's result: JSON when --json, otherwise the human rendering. */
  result(data: unknown, human: () => string): void {
    this.out.write(this.redact(this.json ? `${jsonForTerminal(data, 2)}\n` : ensureNewline(escapeControlKeepLines(human()))));
  }

  /** A raw line on stdout meant for piping (e.g. `dpc auth token`). Callers decide what is safe to print. */
  raw(text: string): void {
    this.out.write(ensureNewline(text));
  }

  /** Progress and notes for people, on stderr; silent with --quiet. */
  info(message: string): void {
    if (this.quiet) return;
    if (this.eventLog) this.event({ eventId: 'info', message });
    else this.err.write(this.redact(ensureNewline(escapeControlKeepLines(message))));
  }

  /** A table's footer (`100 patients`): for people only, so on stderr, and not with --quiet or --json. */
  footer(message: string): void {
    if (!this.json) this.info(message);
  }

  warn(message: string): void {
    if (this.eventLog) this.event({ eventId: 'warning', message });
    else this.err.write(this.redact(`warning: ${escapeControl(message)}\n`));
  }

  /** A machine-readable log line (NDJSON on stderr). */
  event(record: Record<string, unknown>): void {
    this.err.write(this.redact(`${jsonForTerminal({ time: new Date().toISOString(), ...record })}\n`));
  }

  debugLine(message: string): void {
    if (!this.debug) return;
    if (this.eventLog) this.event({ eventId: 'debug', message });
    else this.err.write(this.redact(`debug: ${escapeControl(message)}\n`));
  }

  /**
   * A failure, once: `error: …` (or `partial: …` for exit 4) with indented details on stderr, an `error` event in an
   * event log, and with --json also a JSON error object on stdout so a script reading stdout learns what failed.
   */
  failure(error: unknown, options: { resultPrinted?: boolean } = {}): void {
    const dpc = error instanceof DpcError ? error : undefined;
    const message = (dpc ? cliMessage(dpc) : error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ');
    const partial = dpc?.code === 'ERR_PARTIAL';
    const exitCode = exitCodeFor(error);
    const summary = { code: dpc?.code ?? (exitCode === 2 ? 'ERR_USAGE' : 'ERR_UNEXPECTED'), message, exitCode, ...(dpc?.requestId ? { requestId: dpc.requestId } : {}), ...(dpc?.details?.length ? { details: dpc.details } : {}) };
    if (this.json && !options.resultPrinted) this.out.write(this.redact(`${jsonForTerminal({ ok: false, error: summary }, 2)}\n`));
    const stack = this.debug && error instanceof Error ? error.stack : undefined;
    if (this.eventLog) {
      this.event({ eventId: partial ? 'partial' : 'error', ...summary, ...(stack ? { stack } : {}) });
      return;
    }
    // partial success (exit 4) is an outcome to report, not an error: the work that could be done was done
    const suffix = dpc?.requestId ? ` (request id ${dpc.requestId})` : '';
    this.err.write(this.redact(`${partial ? 'partial' : 'error'}: ${escapeControl(message + suffix)}\n`));
    const details = dpc?.details ?? [];
    for (const detail of details.slice(0, MAX_DETAIL_LINES)) this.err.write(this.redact(`  ${escapeControl(detail)}\n`));
    if (details.length > MAX_DETAIL_LINES) this.err.write(`  … and ${details.length - MAX_DETAIL_LINES} more (--json lists every one)\n`);
    if (stack) this.err.write(this.redact(`${escapeControlKeepLines(stack)}\n`));
  }

  /** `text` with every secret of this run masked: every write above, and what draws on stderr by itself (a progress bar). */
  redact(text: string): string {
    return this.redactor.redact(text);
  }

  /** Where progress goes (a progress bar draws on it). */
  get stderr(): NodeJS.WritableStream {
    return this.err;
  }

  get isTTY(): boolean {
    return Boolean((this.err as NodeJS.WriteStream).isTTY);
  }
}

/**
 * Errors whose summary already went to stdout as part of the command's --json result (export runs print their
 * whole outcome, failed groups included), so the failure is not printed there a second time.
 */
const printedWithResult = new WeakSet<object>();

export function markPrintedWithResult(error: object): void {
  printedWithResult.add(error);
}

export function wasPrintedWithResult(error: unknown): boolean {
  return typeof error === 'object' && error !== null && printedWithResult.has(error);
}

function ensureNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}

/** A column: the row key, or the key and the header people read (default: the key in words, `patientErrors` → `Patient errors`). */
export type Column<K extends string = string> = K | readonly [key: K, header: string];

/** Abbreviations people read in capitals (or, for MiB, in their own case). */
const ABBREVIATIONS: Record<string, string> = { id: 'ID', npi: 'NPI', mbi: 'MBI', url: 'URL', mib: 'MiB', pem: 'PEM' };

/** Pure: `lastTransactionTime` → `Last transaction time`, `patientId` → `Patient ID`, `mib` → `MiB`. */
export function headerOf(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase().split(' ').map((w) => ABBREVIATIONS[w] ?? w);
  const first = words[0] ?? '';
  words[0] = first.charAt(0).toUpperCase() + first.slice(1);
  return words.join(' ');
}

/**
 * A plain fixed-width table for people (no colours, so piping stays clean). Columns that are empty in every row are
 * left out; every cell is escaped to one line, so a server value cannot break the layout or drive the terminal.
 */
export function formatTable<T extends object>(rows: ReadonlyArray<T>, columns: ReadonlyArray<Column<keyof T & string>>): string {
  if (rows.length === 0) return '(none)';
  const specs = columns.map((c) => (typeof c === 'string' ? { key: c, header: headerOf(c) } : { key: c[0], header: c[1] }));
  const all = rows.map((row) => specs.map((c) => inline(row[c.key])));
  const shown = specs.map((_, i) => all.some((r) => r[i] !== '')).map((keep, i) => (keep ? i : -1)).filter((i) => i >= 0);
  const headers = shown.map((i) => specs[i]!.header);
  const cells = all.map((r) => shown.map((i) => r[i]!));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

/**
 * A value inside a line we compose (a table cell, `name     ACME`): escaped to one line, since Output keeps the line
 * breaks of a result, and a server's newline in a name would otherwise forge a line of our own. Pure.
 */
export function inline(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return escapeControl(value.join(','));
  return escapeControl(String(value));
}
