/**
 * `_since` as DPC parses it: `OffsetDateTime.parse(value, DateTimeFormatter.ISO_OFFSET_DATE_TIME)`
 * (R/../AbstractResourceWithExport.java handleSinceQueryParam). Java's formatter is case-insensitive, takes 4 year
 * digits (more only with a sign), an optional seconds part with 0–9 fraction digits, and parses the offset leniently
 * (`Z`, `+01`, `+0100`, `+01:00`, `+01:00:00`); its STRICT resolver then refuses impossible dates and times. A parse
 * failure reports the index where parsing stopped (0 when the fields parsed but do not form a date-time), which DPC
 * puts in its message. Pure.
 */

export type OffsetDateTimeResult = { epochMs: number } | { errorIndex: number };

/** Exactly `width` ASCII digits at `at`, or undefined. */
function digits(text: string, at: number, width: number): number | undefined {
  const part = text.slice(at, at + width);
  return part.length === width && /^\d+$/.test(part) ? Number(part) : undefined;
}

/** The year: 4 digits unsigned, or a sign and 4–10 digits (`+` only for more than 4; DateTimeFormatter EXCEEDS_PAD). */
function year(text: string): { value: number; end: number } | undefined {
  const m = /^([+-]?)(\d{4,10})/.exec(text);
  if (!m) return undefined;
  const [, sign, body] = m;
  if (sign === '' && body!.length > 4) return undefined;
  if (sign === '+' && body!.length === 4) return undefined;
  return { value: Number(body) * (sign === '-' ? -1 : 1), end: m[0].length };
}

/** Lenient offset: `Z`, or a sign with HH, HHMM, HH:MM, HHMMSS or HH:MM:SS; seconds east of UTC and where it ends. */
function offset(text: string, at: number): { seconds: number; end: number } | undefined {
  if (text[at] === 'Z' || text[at] === 'z') return { seconds: 0, end: at + 1 };
  const m = /^([+-])(\d{2})(?:(:?)(\d{2})(?:\3(\d{2}))?)?/.exec(text.slice(at));
  if (!m) return undefined;
  const [whole, sign, hh, , mm = '0', ss = '0'] = m;
  const seconds = Number(hh) * 3600 + Number(mm) * 60 + Number(ss);
  return { seconds: sign === '-' ? -seconds : seconds, end: at + whole.length };
}

function daysInMonth(y: number, month: number): number {
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
}

export function parseOffsetDateTime(text: string): OffsetDateTimeResult {
  const y = year(text);
  if (!y) return { errorIndex: 0 };
  let at = y.end;
  const fields: number[] = [];
  // `-MM-DDTHH:mm` with fixed-width numbers and literal separators ('T' in any case)
  for (const [literal, width] of [['-', 2], ['-', 2], ['T', 2], [':', 2]] as const) {
    if ((text[at] ?? '').toUpperCase() !== literal) return { errorIndex: at };
    const value = digits(text, at + 1, width);
    if (value === undefined) return { errorIndex: at + 1 };
    fields.push(value);
    at += 1 + width;
  }
  const [month, day, hour, minute] = fields as [number, number, number, number];
  let second = 0;
  let nanos = '';
  // optional `:ss` and, inside it, an optional fraction of 0–9 digits; a failed optional part is simply not there
  const ss = text[at] === ':' ? digits(text, at + 1, 2) : undefined;
  if (ss !== undefined) {
    second = ss;
    at += 3;
    if (text[at] === '.') {
      nanos = /^\d{0,9}/.exec(text.slice(at + 1))![0];
      at += 1 + nanos.length;
    }
  }
  const off = offset(text, at);
  if (!off) return { errorIndex: at };
  if (off.end !== text.length) return { errorIndex: off.end };
  // ResolverStyle.STRICT: the fields must name a real instant (Java also limits offsets to ±18:00)
  const valid = month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(y.value, month) && hour <= 23 && minute <= 59 && second <= 59 &&
    Math.abs(off.seconds) <= 18 * 3600;
  if (!valid) return { errorIndex: 0 };
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, Number(nanos.padEnd(3, '0').slice(0, 3))));
  date.setUTCFullYear(y.value);
  return { epochMs: date.getTime() - off.seconds * 1000 };
}
