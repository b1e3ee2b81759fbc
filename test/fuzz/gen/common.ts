/**
 * The fuzz generators' common ground: a seeded PRNG, the case shape, and valid and invalid MBIs and NPIs.
 * Every generator builds a valid file and applies one mutation whose expected problem and location are known.
 */
import type { ErrorCode } from '../../../src/errors.js';

/** mulberry32: tiny, fast, good enough to pick mutations reproducibly. */
export function prng(seed: number): Random {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (items) => items[Math.floor(next() * items.length)]!,
    chance: (p) => next() < p,
  };
}

export interface Random {
  next(): number;
  /** Integer in [min, max]. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
}

export interface FuzzCase {
  /** `category#n kind`, stable for a seed. */
  id: string;
  kind: string;
  /** File name the input is read from (and named in errors). */
  file: string;
  /** The file's content. */
  content: string;
  /** What the error must name: `file:line`, `file: entry N`, a field path. */
  where: string;
  problem: RegExp;
  code: ErrorCode;
  exitCode: number;
}

export const DIGITS = '0123456789';
const LETTERS = 'ABCDEFGHJKMNPQRTUVWXY';
const ALNUM = LETTERS + DIGITS;

/** An MBI matching DPC's pattern `\d[A-Z][A-Z0-9]\d[A-Z][A-Z0-9]\d[A-Z]{2}\d{2}`. */
export function validMbi(r: Random): string {
  const shape = 'NAXNAXNAANN';
  return [...shape].map((c) => r.pick([...(c === 'N' ? DIGITS : c === 'A' ? LETTERS : ALNUM)])).join('');
}

/** An NPI: nine digits and the Luhn check digit over the 80840 prefix. */
export function validNpi(r: Random): string {
  const body = String(r.int(100_000_000, 999_999_999));
  return body + npiCheckDigit(body);
}

function npiCheckDigit(nine: string): string {
  const digits = `80840${nine}`;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

export const NAMES = ['Ann', 'Lee', 'José', 'Zoë', "O'Neil", 'Smith-Jones', 'Wu', 'Anne Marie'];
export const GENDERS = ['male', 'female', 'other', 'unknown', 'M', 'F'];

export function birthDate(r: Random): string {
  return `${r.int(1925, 2005)}-${String(r.int(1, 12)).padStart(2, '0')}-${String(r.int(1, 28)).padStart(2, '0')}`;
}

/** A string that is no MBI: the wrong class of character at one position, or the wrong length. */
export function badMbi(r: Random): string {
  const mbi = validMbi(r);
  switch (r.int(0, 3)) {
    case 0: {
      const i = r.pick([0, 3, 6, 9, 10]); // digit positions get a letter
      return mbi.slice(0, i) + r.pick([...LETTERS]) + mbi.slice(i + 1);
    }
    case 1: {
      const i = r.pick([1, 4, 7, 8]); // letter positions get a digit
      return mbi.slice(0, i) + r.pick([...DIGITS]) + mbi.slice(i + 1);
    }
    case 2:
      return mbi.slice(0, r.int(1, 10));
    default:
      return mbi + r.pick([...ALNUM]);
  }
}

/** A string that is no NPI: wrong check digit, wrong length or a non-digit. */
export function badNpi(r: Random): string {
  const npi = validNpi(r);
  switch (r.int(0, 2)) {
    case 0:
      return npi.slice(0, 9) + String((Number(npi[9]) + r.int(1, 9)) % 10);
    case 1:
      return r.chance(0.5) ? npi.slice(0, r.int(1, 9)) : npi + r.pick([...DIGITS]);
    default: {
      const i = r.int(0, 9);
      return npi.slice(0, i) + r.pick([...'ABCXO-. ']) + npi.slice(i + 1);
    }
  }
}
