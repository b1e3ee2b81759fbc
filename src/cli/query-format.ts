/**
 * Rendering query rows for a terminal or a pipe: a fixed-width table for people, CSV (RFC 4180), or JSON objects.
 * Values come from exported files (server text), so the table escapes control characters (src/escape.ts) per cell.
 * Pure.
 */
import type { QueryColumn, QueryValue } from '../tables/index.js';
import { escapeControl } from '../escape.js';

/** Rows the human table shows; the rest are counted (use --csv or --json for everything). */
export const HUMAN_ROW_LIMIT = 1000;

function cellText(value: QueryValue): string {
  if (value === null) return '';
  if (typeof value === 'object') return escapeControl(JSON.stringify(value));
  return escapeControl(String(value));
}

export function formatQueryTable(columns: readonly QueryColumn[], rows: readonly QueryValue[][], total: number): string {
  const cells = rows.map((row) => row.map(cellText));
  const widths = columns.map((c, i) => Math.max(c.name.length, ...cells.map((r) => r[i]!.length)));
  const numeric = columns.map((c) => /^(DECIMAL|DOUBLE|FLOAT|REAL|TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|U)/.test(c.type));
  const line = (values: string[]) => values.map((v, i) => (numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ').trimEnd();
  const more = total - rows.length;
  return [
    line(columns.map((c) => c.name)),
    line(widths.map((w) => '-'.repeat(w))),
    ...cells.map(line),
    more > 0 ? `(${total} rows; the first ${rows.length} shown: use --csv or --json for all)` : `(${total} row${total === 1 ? '' : 's'})`,
  ].join('\n');
}

export function csvLine(values: readonly QueryValue[]): string {
  return values
    .map((value) => {
      const text = value === null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
      return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
    })
    .join(',');
}

export function rowObject(columns: readonly QueryColumn[], row: readonly QueryValue[]): Record<string, QueryValue> {
  return Object.fromEntries(columns.map((c, i) => [c.name, row[i] ?? null]));
}
