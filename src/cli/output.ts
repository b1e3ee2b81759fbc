/**
 * Everything the CLI prints goes through here: results to stdout (human text, or JSON with --json),
 * diagnostics to stderr, always through `redact` so no secret can slip out.
 */
import { redact } from '../redact.js';

export interface OutputOptions {
  json: boolean;
  debug: boolean;
  quiet?: boolean;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

export class Output {
  readonly json: boolean;
  readonly debug: boolean;
  private readonly quiet: boolean;
  private readonly out: NodeJS.WritableStream;
  private readonly err: NodeJS.WritableStream;

  constructor(options: OutputOptions) {
    this.json = options.json;
    this.debug = options.debug;
    this.quiet = options.quiet ?? false;
    this.out = options.stdout ?? process.stdout;
    this.err = options.stderr ?? process.stderr;
  }

  /** The command's result: JSON when --json, otherwise the human rendering. */
  result(data: unknown, human: () => string): void {
    this.out.write(redact(this.json ? `${JSON.stringify(data, null, 2)}\n` : ensureNewline(human())));
  }

  /** A raw line on stdout meant for piping (e.g. `dpc auth token`). Callers decide what is safe to print. */
  raw(text: string): void {
    this.out.write(ensureNewline(text));
  }

  /** Progress and notes for people, on stderr; silent with --quiet. */
  info(message: string): void {
    if (!this.quiet) this.err.write(redact(ensureNewline(message)));
  }

  warn(message: string): void {
    this.err.write(redact(ensureNewline(`warning: ${message}`)));
  }

  /** A machine-readable log line (NDJSON on stderr). */
  event(record: Record<string, unknown>): void {
    this.err.write(redact(`${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`));
  }

  debugLine(message: string): void {
    if (this.debug) this.err.write(redact(ensureNewline(`debug: ${message}`)));
  }

  error(message: string): void {
    this.err.write(redact(ensureNewline(`error: ${message}`)));
  }

  get isTTY(): boolean {
    return Boolean((this.err as NodeJS.WriteStream).isTTY);
  }
}

function ensureNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}

/** A plain fixed-width table for people (no colours, so piping stays clean). */
export function formatTable<T extends object>(rows: ReadonlyArray<T>, columns: ReadonlyArray<keyof T & string>): string {
  if (rows.length === 0) return '(none)';
  const cells = rows.map((row) => columns.map((c) => formatCell(row[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n');
}

function formatCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.join(',');
  return String(value);
}
