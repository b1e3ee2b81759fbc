/**
 * A small RFC 4180 reader for roster files as spreadsheets and practice systems write them: quoted fields (with `""`
 * escapes and embedded newlines), a byte-order mark, CRLF/LF/CR line ends, rows of nothing but empty cells skipped,
 * and comma, semicolon (Excel in European locales) or tab ("Unicode text") separators, told apart by the first line.
 * Each record keeps the line it starts on, for `file:line` messages. Records are yielded one at a time and fields are
 * sliced from the text, so a 100,000-row file never holds more than the text and the rows made from it.
 */
import { DpcError } from '../errors.js';

export interface CsvRecord {
  /** 1-based line number where the record starts. */
  line: number;
  fields: string[];
}

export type Delimiter = ',' | ';' | '\t';

const QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;

/**
 * The file's bytes as text, by its byte-order mark: UTF-16 (Excel's "Unicode text") little or big endian, else UTF-8
 * (a UTF-8 BOM dropped). Bytes that are not UTF-8 (a Latin-1 or Windows-1252 export) become U+FFFD, which parseCsv
 * refuses naming their line and column: guessing the encoding could register a patient under a garbled name. Pure.
 */
export function decodeCsvBytes(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes);
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes);
  return new TextDecoder('utf-8').decode(bytes);
}

/** The separator of the first line: whichever of comma, semicolon and tab occurs most outside quotes (comma on a tie). Pure. */
export function detectDelimiter(text: string): Delimiter {
  const counts = { ',': 0, ';': 0, '\t': 0 };
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"') quoted = !quoted;
    else if (quoted) continue;
    else if (ch === '\n' || ch === '\r') {
      if (counts[','] + counts[';'] + counts['\t'] > 0) break; // a first line without any (blank, or one column): read on
    } else if (ch === ',' || ch === ';' || ch === '\t') counts[ch]++;
  }
  if (counts[';'] > counts[','] && counts[';'] >= counts['\t']) return ';';
  if (counts['\t'] > counts[',']) return '\t';
  return ',';
}

export function* parseCsv(text: string, file: string): Generator<CsvRecord> {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const delimiter = detectDelimiter(src).charCodeAt(0);
  let fields: string[] = [];
  /** The field so far: `field` plus src[start, i). */
  let field = '';
  let start = 0;
  let quoted = false;
  let line = 1;
  let lineStart = 0;
  let recordLine = 1;
  let quoteLine = 0;

  // UTF-16 read as UTF-8: every other character of a header or an MBI is NUL (a NUL further on is just a bad cell)
  const nul = src.slice(0, 2).indexOf('\0');
  if (nul >= 0) throw encodingProblem(file, 1, nul + 1, 0);
  for (let i = 0; i < src.length; i++) {
    const c = src.charCodeAt(i);
    if (c === 0xfffd) throw encodingProblem(file, line, i - lineStart + 1, c);
    if (quoted) {
      if (c === QUOTE) {
        field += src.slice(start, i);
        if (src.charCodeAt(i + 1) === QUOTE) {
          field += '"';
          i++;
        } else {
          quoted = false;
        }
        start = i + 1;
      } else if (c === LF || (c === CR && src.charCodeAt(i + 1) !== LF)) {
        line++;
        lineStart = i + 1;
      }
      continue;
    }
    if (c === QUOTE && (field + src.slice(start, i)).trim() === '') {
      field = '';
      start = i + 1;
      quoted = true;
      quoteLine = line;
    } else if (c === delimiter) {
      fields.push(field + src.slice(start, i));
      field = '';
      start = i + 1;
    } else if (c === CR || c === LF) {
      fields.push(field + src.slice(start, i));
      if (c === CR && src.charCodeAt(i + 1) === LF) i++;
      // a line holding nothing but empty cells (`,,,` as spreadsheets leave them) is not a record
      if (fields.some((f) => f.trim() !== '')) yield { line: recordLine, fields };
      fields = [];
      field = '';
      start = i + 1;
      line++;
      lineStart = i + 1;
      recordLine = line;
    }
  }
  if (quoted) {
    throw new DpcError('ERR_INPUT', `${file}:${quoteLine}: unterminated quoted field`, { location: `${file}:${quoteLine}` });
  }
  fields.push(field + src.slice(start));
  if (fields.some((f) => f.trim() !== '')) yield { line: recordLine, fields };
}

function encodingProblem(file: string, line: number, column: number, c: number): DpcError {
  const location = `${file}:${line}:${column}`;
  const why =
    c === 0
      ? 'a NUL character: the file looks like UTF-16 without a byte-order mark'
      : 'not UTF-8 text (Latin-1 or Windows-1252?)';
  return new DpcError('ERR_INPUT', `${location}: ${why}; save it as "CSV UTF-8"`, { location });
}
