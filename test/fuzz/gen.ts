/**
 * Deterministic generators of malformed input for the fuzz tests: a seeded PRNG builds a valid file, then applies one
 * mutation whose expected problem and location are known. Each case says what the error must name (`where`, e.g.
 * `roster-7.csv:4`) and the problem phrase, so a failure points at the exact input.
 *
 * Categories: roster CSVs, patient and practitioner bundles, PEM private keys, config files, local export manifests,
 * server completion bodies (job manifests) and export state files.
 */
import type { ErrorCode } from '../../src/errors.js';

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

const DIGITS = '0123456789';
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

const NAMES = ['Ann', 'Lee', 'José', 'Zoë', "O'Neil", 'Smith-Jones', 'Wu', 'Anne Marie'];
const GENDERS = ['male', 'female', 'other', 'unknown', 'M', 'F'];

function birthDate(r: Random): string {
  return `${r.int(1925, 2005)}-${String(r.int(1, 12)).padStart(2, '0')}-${String(r.int(1, 28)).padStart(2, '0')}`;
}

/** A string that is no MBI: the wrong class of character at one position, or the wrong length. */
function badMbi(r: Random): string {
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
function badNpi(r: Random): string {
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

// ---------------------------------------------------------------- roster CSVs

interface Row {
  cells: string[];
}

export function rosterCase(r: Random, n: number): FuzzCase {
  const file = `roster-${n}.csv`;
  const eol = r.pick(['\n', '\r\n']);
  const details = r.chance(0.5);
  const header = r.chance(0.4);
  const rows: Row[] = Array.from({ length: r.int(2, 12) }, () => ({
    cells: details ? [validMbi(r), validNpi(r), r.pick(NAMES), r.pick(NAMES), birthDate(r), r.pick(GENDERS)] : [validMbi(r), validNpi(r)],
  }));
  let headerCells = details ? ['mbi', 'npi', 'given', 'family', 'birth_date', 'gender'] : ['mbi', 'npi'];
  const k = r.int(0, rows.length - 1);
  const row = rows[k]!;
  const firstLine = header ? 2 : 1;
  const lineOf = (i: number) => firstLine + i;
  let line = lineOf(k);
  let problem: RegExp;
  let code: ErrorCode = 'ERR_INPUT';

  const kinds = ['npi', 'npi-missing', 'mbi', 'mbi-missing', 'stray-cell', 'duplicate', 'garbage', 'unterminated-quote', 'control-char'];
  if (details) kinds.push('birth-date', 'gender', 'incomplete', 'conflict');
  if (header) kinds.push('unknown-column', 'header-without-npi');
  const kind = r.pick(kinds);
  switch (kind) {
    case 'npi':
      row.cells[1] = badNpi(r);
      problem = /invalid NPI ".*" \(10 digits with a Luhn check digit\)/;
      break;
    case 'npi-missing':
      row.cells[1] = r.pick(['', '  ']);
      problem = /missing NPI/;
      break;
    case 'mbi':
      row.cells[0] = badMbi(r);
      problem = /invalid MBI ".*"/;
      break;
    case 'mbi-missing':
      row.cells[0] = '';
      problem = /missing MBI/;
      break;
    case 'control-char':
      row.cells[0] = row.cells[0]!.slice(0, 5) + r.pick(['\u0000', '\u0007', '\u200b', '\u00a0']) + row.cells[0]!.slice(5);
      problem = /invalid MBI/;
      break;
    case 'stray-cell':
      row.cells.push(r.pick(['x', 'extra', '1']));
      // positional files read a third cell as a given name; with a header or all six columns it is one too many
      problem = details || header ? /more columns than the \d+ expected/ : /incomplete patient details: missing family, birth_date, gender/;
      break;
    case 'duplicate':
      rows.push({ cells: [...row.cells] });
      problem = new RegExp(`duplicate row: MBI ${row.cells[0]} and NPI ${row.cells[1]} already on line ${line}`);
      line = lineOf(rows.length - 1);
      break;
    case 'conflict': {
      const copy = [...row.cells];
      copy[1] = validNpi(r);
      copy[2] = `${copy[2]}x`;
      rows.push({ cells: copy });
      problem = new RegExp(`conflicting row: MBI ${row.cells[0]} has a different given name on line ${line}`);
      line = lineOf(rows.length - 1);
      break;
    }
    case 'garbage': {
      const junk = Array.from({ length: r.int(1, 30) }, () => r.pick([...'abcdefXYZ0123456789 ;:|/\\#$%&*()[]{}<>?!~`^=+_-'])).join('');
      row.cells = [junk.trim() === '' ? 'x' : junk];
      problem = /invalid MBI|missing NPI/;
      break;
    }
    case 'unterminated-quote':
      row.cells[r.int(0, row.cells.length - 1)] = `"${r.pick(['abc', '1S00', ''])}`;
      problem = /unterminated quoted field/;
      break;
    case 'birth-date': {
      const [value, why] = r.pick([
        ['1950-02-30', 'no such day'],
        ['1950-13-01', 'no such day'],
        ['2001-02-29', 'no such day'],
        ['01/02/1950', 'expected YYYY-MM-DD'],
        ['1950-1-2', 'expected YYYY-MM-DD'],
        ['19500102', 'expected YYYY-MM-DD'],
        ['2999-01-01', 'in the future'],
        ['1850-06-01', 'before 1900'],
      ] as const);
      row.cells[4] = value;
      problem = new RegExp(`invalid birth date "${value.replace(/[/]/g, '\\/')}" \\(${why}\\)`);
      break;
    }
    case 'gender':
      row.cells[5] = r.pick(['X', 'mal', '1', 'femme', 'N/A']);
      problem = /invalid gender ".*" \(male, female, other, unknown\)/;
      break;
    case 'incomplete': {
      const i = r.int(2, 5);
      row.cells[i] = '';
      problem = new RegExp(`incomplete patient details: missing ${['given', 'family', 'birth_date', 'gender'][i - 2]}`);
      break;
    }
    case 'unknown-column': {
      const name = r.pick(['zip', 'phone', 'middle', 'ssn']);
      headerCells = [...headerCells, name];
      line = 1;
      problem = new RegExp(`unknown column "${name}"`);
      break;
    }
    default: // header-without-npi
      headerCells = headerCells.filter((c) => c !== 'npi');
      line = 1;
      problem = /the header has no NPI column/;
      break;
  }
  const text = [...(header ? [headerCells.join(',')] : []), ...rows.map((x) => x.cells.join(','))].join(eol) + (r.chance(0.5) ? eol : '');
  return { id: `roster#${n} ${kind}`, kind, file, content: text, where: `${file}:${line}`, problem, code, exitCode: 2 };
}

// ---------------------------------------------------------------- patient and practitioner bundles

const MBI_SYSTEM = 'http://hl7.org/fhir/sid/us-mbi';
const NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';

function patient(r: Random): Record<string, unknown> {
  return {
    resourceType: 'Patient',
    identifier: [{ system: MBI_SYSTEM, value: validMbi(r) }],
    name: [{ family: r.pick(NAMES), given: [r.pick(NAMES)] }],
    gender: r.pick(['male', 'female', 'other', 'unknown']),
    birthDate: birthDate(r),
  };
}

function practitioner(r: Random): Record<string, unknown> {
  return { resourceType: 'Practitioner', identifier: [{ system: NPI_SYSTEM, value: validNpi(r) }], name: [{ family: r.pick(NAMES), given: [r.pick(NAMES)] }] };
}

/** A Bundle, the $submit Parameters wrapper DPC's samples use, or (for one resource) the bare resource. */
function wrap(r: Random, resources: unknown[]): unknown {
  const form = resources.length === 1 ? r.int(0, 2) : r.int(0, 1);
  const bundle = { resourceType: 'Bundle', type: 'collection', entry: resources.map((resource) => ({ resource })) };
  if (form === 0) return bundle;
  if (form === 1) return { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: bundle }] };
  return resources[0];
}

export function bundleCase(r: Random, n: number, type: 'Patient' | 'Practitioner'): FuzzCase {
  const file = `${type.toLowerCase()}s-${n}.json`;
  const resources = Array.from({ length: r.int(1, 6) }, () => (type === 'Patient' ? patient(r) : practitioner(r)));
  const k = r.int(0, resources.length - 1);
  const res = resources[k] as Record<string, any>;
  const entry = `${file}: entry ${k + 1} `;
  let where = entry;
  let problem: RegExp;
  const common = ['family-missing', 'given-missing', 'given-blank', 'name-missing', 'identifier-missing', 'wrong-system', 'value-not-string', 'given-not-array', 'family-not-string', 'identifier-not-array', 'identifier-null', 'name-not-array', 'entry-null', 'entry-not-array', 'no-resources'];
  const own = type === 'Patient' ? ['mbi', 'gender', 'gender-missing', 'birth-date', 'birth-date-missing', 'birth-date-not-string', 'gender-not-string'] : ['npi', 'two-npis'];
  const kind = r.pick([...common, ...own, ...own]);
  const idProblem = type === 'Patient' ? /needs a http:\/\/hl7\.org\/fhir\/sid\/us-mbi identifier/ : /needs exactly one http:\/\/hl7\.org\/fhir\/sid\/us-npi identifier \(found 0\)/;
  let json: unknown;
  switch (kind) {
    case 'family-missing':
      delete res.name[0].family;
      problem = /name\.family is required/;
      break;
    case 'given-missing':
      delete res.name[0].given;
      problem = /name\.given is required/;
      break;
    case 'given-blank':
      res.name[0].given = [r.pick(['', ' '])];
      problem = /name\.given is required/;
      break;
    case 'name-missing':
      delete res.name;
      problem = /name\.family is required/;
      break;
    case 'identifier-missing':
      delete res.identifier;
      problem = idProblem;
      break;
    case 'wrong-system':
      res.identifier[0].system = r.pick(['http://hl7.org/fhir/sid/us-ssn', 'urn:oid:1.2.3', '']);
      problem = idProblem;
      break;
    case 'value-not-string':
      res.identifier[0].value = r.pick([12345678901, true, { v: 1 }, ['1S00E00AA01']]);
      problem = /identifier|MBI|NPI/;
      break;
    case 'given-not-array':
      res.name[0].given = r.pick(['Ann', 7, { first: 'Ann' }]);
      problem = /name\.given/;
      break;
    case 'family-not-string':
      res.name[0].family = r.pick([7, ['Lee'], { text: 'Lee' }]);
      problem = /name\.family/;
      break;
    case 'identifier-not-array':
      res.identifier = r.pick([{ system: type === 'Patient' ? MBI_SYSTEM : NPI_SYSTEM, value: 'x' }, 'x', 5]);
      problem = /identifier/;
      break;
    case 'identifier-null':
      res.identifier = [null];
      problem = /identifier/;
      break;
    case 'name-not-array':
      res.name = r.pick(['Ann Lee', 5, { family: 'Lee' }]);
      problem = /name/;
      break;
    case 'entry-null':
      json = { resourceType: 'Bundle', type: 'collection', entry: resources.map((x, i) => (i === k ? null : { resource: x })) };
      where = `${file}: entry ${k + 1}`;
      problem = /.+/;
      break;
    case 'entry-not-array':
      json = { resourceType: 'Bundle', type: 'collection', entry: r.pick([{ resource: resources[0] }, 'x', 3]) };
      where = `${file}`;
      problem = /entry|no (Patient|Practitioner) resources/;
      break;
    case 'no-resources':
      json = r.pick([{ resourceType: 'Bundle', type: 'collection', entry: [] }, { resourceType: 'Bundle' }, {}, [], { resourceType: type === 'Patient' ? 'Practitioner' : 'Patient' }, 'text', 42, null]);
      where = file;
      problem = new RegExp(`no ${type} resources found`);
      break;
    case 'mbi':
      res.identifier[0].value = badMbi(r);
      problem = /invalid MBI ".*"/;
      break;
    case 'gender':
      res.gender = r.pick(['M', 'F', 'x', 'Female', 'unknow']);
      problem = /invalid gender ".*"/;
      break;
    case 'gender-missing':
      delete res.gender;
      problem = /gender is required/;
      break;
    case 'gender-not-string':
      res.gender = r.pick([1, true, ['male']]);
      problem = /gender/;
      break;
    case 'birth-date':
      res.birthDate = r.pick(['1950-02-30', '2999-01-01', '1800-01-01', '1950/01/01', 'yesterday']);
      problem = /invalid birth date ".*" \((no such day|in the future|before 1900|expected YYYY-MM-DD)\)/;
      break;
    case 'birth-date-missing':
      delete res.birthDate;
      problem = /birthDate is required/;
      break;
    case 'birth-date-not-string':
      res.birthDate = r.pick([19500101, { year: 1950 }, true]);
      problem = /birth ?[dD]ate/;
      break;
    case 'npi':
      res.identifier[0].value = badNpi(r);
      problem = /invalid NPI ".*"/;
      break;
    default: // two-npis
      res.identifier.push({ system: NPI_SYSTEM, value: validNpi(r) });
      problem = /needs exactly one http:\/\/hl7\.org\/fhir\/sid\/us-npi identifier \(found 2\)/;
      break;
  }
  json ??= wrap(r, resources);
  return { id: `${type.toLowerCase()}s#${n} ${kind}`, kind, file, content: JSON.stringify(json, null, r.chance(0.5) ? 2 : undefined), where, problem, code: 'ERR_INPUT', exitCode: 2 };
}

// ---------------------------------------------------------------- PEM private keys

export interface PemSources {
  /** PKCS#8 of a 4096-bit RSA key. */
  pkcs8: string;
  /** PKCS#1 (`BEGIN RSA PRIVATE KEY`) of the same key. */
  pkcs1: string;
  /** A 1024-bit RSA key (too small). */
  small: string;
  /** An Ed25519 key in PKCS#8 armour. */
  ed25519: string;
  publicPem: string;
}

export function pemCase(r: Random, n: number, keys: PemSources): FuzzCase {
  const file = `key-${n}.pem`;
  const base = r.pick([keys.pkcs8, keys.pkcs1]);
  const lines = base.trim().split('\n');
  const begin = lines[0]!;
  const end = lines.at(-1)!;
  const body = lines.slice(1, -1);
  const b64 = body.join('');
  const rewrap = (s: string) => s.match(/.{1,64}/g)!.join('\n');
  const kind = r.pick(['truncated', 'no-end', 'bad-char', 'header-bytes', 'end-label', 'double-begin', 'indented', 'public', 'ec', 'encrypted', 'proc-type', 'no-begin', 'empty', 'random', 'small', 'ed25519', 'body-only']);
  let content: string;
  let problem: RegExp;
  const damaged = /the PEM is damaged or not an RSA private key/;
  switch (kind) {
    case 'truncated':
      content = `${begin}\n${rewrap(b64.slice(0, r.int(8, b64.length - 80)))}\n${end}\n`;
      problem = damaged;
      break;
    case 'no-end':
      content = `${begin}\n${body.slice(0, r.int(1, body.length)).join('\n')}\n`;
      problem = damaged;
      break;
    case 'bad-char': {
      const i = r.int(10, b64.length - 10);
      content = `${begin}\n${rewrap(b64.slice(0, i) + r.pick([...'!*@#$%^&(){}[]']) + b64.slice(i + 1))}\n${end}\n`;
      problem = damaged;
      break;
    }
    case 'header-bytes':
      content = `${begin}\n${rewrap(r.pick(['AAAA', '////', 'ZZZZ']) + b64.slice(4))}\n${end}\n`;
      problem = damaged;
      break;
    case 'end-label':
      content = `${begin}\n${body.join('\n')}\n${end.includes('RSA') ? '-----END PRIVATE KEY-----' : '-----END RSA PRIVATE KEY-----'}\n`;
      problem = damaged;
      break;
    case 'double-begin':
      content = `${begin}\n${base}`;
      problem = damaged;
      break;
    case 'indented':
      content = base.replace(/\n(?=.)/g, `\n${r.pick([' ', '\t', '  '])}`);
      problem = damaged;
      break;
    case 'public':
      content = keys.publicPem;
      problem = /this is a public key; give the private key/;
      break;
    case 'ec':
      content = `-----BEGIN EC PRIVATE KEY-----\n${body.slice(0, 3).join('\n')}\n-----END EC PRIVATE KEY-----\n`;
      problem = /not an RSA key \(ec\)/;
      break;
    case 'encrypted':
      content = `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${body.join('\n')}\n-----END ENCRYPTED PRIVATE KEY-----\n`;
      problem = /the key is encrypted; give its passphrase/;
      break;
    case 'proc-type':
      content = `-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\n${body.join('\n')}\n-----END RSA PRIVATE KEY-----\n`;
      problem = /the key is encrypted; give its passphrase/;
      break;
    case 'no-begin':
      content = `${body.join('\n')}\n${end}\n`;
      problem = /not a PEM private key \(no "-----BEGIN PRIVATE KEY-----" line\)/;
      break;
    case 'empty':
      content = r.pick(['', '\n', '   \n\n']);
      problem = /not a PEM private key/;
      break;
    case 'random':
      content = Array.from({ length: r.int(1, 400) }, () => String.fromCharCode(r.int(32, 126))).join('').replace(/-----BEGIN/g, '');
      problem = /not a PEM private key/;
      break;
    case 'small':
      content = keys.small;
      problem = /RSA key is 1024 bits; at least 2048 are required/;
      break;
    case 'ed25519':
      content = keys.ed25519;
      problem = /not an RSA key \(ed25519\)/;
      break;
    default: // body-only
      content = b64;
      problem = /not a PEM private key/;
      break;
  }
  return { id: `pem#${n} ${kind}`, kind, file, content, where: `${file}: `, problem, code: 'ERR_KEY', exitCode: 2 };
}

// ---------------------------------------------------------------- config files

const UUID = () => '8f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';

export function configCase(r: Random, n: number): FuzzCase {
  const file = `config-${n}.json`;
  const custom = r.pick(['prod2', 'clinic', 'local-dev']);
  const config: Record<string, any> = {
    defaultProfile: 'sandbox',
    profiles: {
      sandbox: { clientToken: 'W3sidiI6Mn0', privateKey: '/keys/private.pem', keyId: UUID() },
      [custom]: { baseUrl: 'https://dpc.example.org/api/v1', clientToken: 'tok', privateKey: 'k.pem', keyId: UUID(), jwtType: r.chance(0.5) },
    },
  };
  const p = r.pick(['sandbox', custom]);
  const at = `profiles.${p}`;
  const kind = r.pick(['invalid-json', 'top-level', 'unknown-top', 'profiles-type', 'profile-type', 'unknown-key', 'key-id', 'key-id-type', 'url', 'empty-string', 'jwt-type', 'custom-without-url', 'default-unknown', 'default-type', 'prototype-names']);
  let where: string;
  let problem: RegExp;
  let text: string | undefined;
  switch (kind) {
    case 'invalid-json': {
      const full = JSON.stringify(config, null, 2);
      text = r.pick([full.slice(0, r.int(0, full.length - 2)), full.replace('"profiles"', 'profiles'), `${full},`, full.replace(/"/, "'"), '\u0000']);
      where = `${file}: `;
      problem = /not valid JSON/;
      break;
    }
    case 'top-level':
      text = JSON.stringify(r.pick([[], 'x', 1, null, true]));
      where = `${file}: `;
      problem = /the top level must be an object/;
      break;
    case 'unknown-top': {
      const key = r.pick(['profile', 'default', 'version', 'baseUrl']);
      config[key] = 'x';
      where = `${file}: ${key}`;
      problem = /unknown setting/;
      break;
    }
    case 'profiles-type':
      config.profiles = r.pick([[], 'sandbox', 3, null]);
      config.defaultProfile = 'sandbox';
      where = `${file}: profiles`;
      problem = /must be an object of named profiles/;
      break;
    case 'profile-type':
      config.profiles[p] = r.pick([[], 'x', 3, null, true]);
      where = `${file}: ${at}`;
      problem = /must be an object/;
      break;
    case 'unknown-key': {
      const key = r.pick(['privateKeyPath', 'client_token', 'kid', 'url', 'token']);
      config.profiles[p][key] = 'x';
      where = `${file}: ${at}.${key}`;
      problem = /unknown setting/;
      break;
    }
    case 'key-id':
      config.profiles[p].keyId = r.pick(['not-a-uuid', '1234', '8f1c2b3a4d5e4f608a7b9c0d1e2f3a4b', 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz']);
      where = `${file}: ${at}.keyId`;
      problem = /not a UUID/;
      break;
    case 'key-id-type': {
      const key = r.pick(['keyId', 'clientToken', 'privateKey', 'scope']);
      config.profiles[p][key] = r.pick([5, true, ['x'], { id: 1 }]);
      where = `${file}: ${at}.${key}`;
      problem = /must be a non-empty string/;
      break;
    }
    case 'url': {
      const key = p === custom ? r.pick(['baseUrl', 'tokenUrl']) : 'tokenUrl';
      config.profiles[p][key] = r.pick(['ftp://x/api/v1', 'sandbox.dpc.cms.gov', 'file:///etc/passwd', 'http//missing-colon', 'javascript:alert(1)']);
      where = `${file}: ${at}.${key}`;
      problem = /not an http\(s\) URL/;
      break;
    }
    case 'empty-string': {
      const key = r.pick(['clientToken', 'privateKey', 'scope']);
      config.profiles[p][key] = '';
      where = `${file}: ${at}.${key}`;
      problem = /must be a non-empty string/;
      break;
    }
    case 'jwt-type':
      config.profiles[p].jwtType = r.pick(['true', 1, 'yes', null]);
      where = `${file}: ${at}.jwtType`;
      problem = /must be true or false/;
      break;
    case 'custom-without-url':
      delete config.profiles[custom].baseUrl;
      where = `${file}: profiles.${custom}.baseUrl`;
      problem = /required for a custom profile/;
      break;
    case 'default-unknown':
      config.defaultProfile = r.pick(['staging', 'Sandbox', 'prod ']);
      where = `${file}: defaultProfile`;
      problem = /is not a profile here/;
      break;
    case 'default-type':
      config.defaultProfile = r.pick([1, true, ['sandbox'], { name: 'sandbox' }]);
      where = `${file}: defaultProfile`;
      problem = /must be a string/;
      break;
    default: {
      // names that exist on every object's prototype are still unknown profiles
      const name = r.pick(['toString', 'constructor', 'hasOwnProperty', 'valueOf']);
      if (r.chance(0.5)) {
        config.defaultProfile = name;
        where = `${file}: defaultProfile`;
        problem = /is not a profile here/;
      } else {
        config.profiles[name] = { clientToken: 'tok' };
        where = `${file}: profiles.${name}.baseUrl`;
        problem = /required for a custom profile/;
      }
      break;
    }
  }
  return { id: `config#${n} ${kind}`, kind, file, content: text ?? JSON.stringify(config, null, 2), where, problem, code: 'ERR_CONFIG', exitCode: 2 };
}

// ---------------------------------------------------------------- export manifests, completion bodies, state files

const HEX64 = 'a'.repeat(64);

/** A local manifest.json (what `dpc export verify` reads) with one malformed part. */
export function manifestCase(r: Random, n: number): FuzzCase {
  const files = Array.from({ length: r.int(1, 4) }, (_, i) => ({
    url: `http://127.0.0.1/api/v1/Data/f${i}.ndjson`,
    type: 'Patient',
    kind: 'output',
    path: `Patient-00${i + 1}.ndjson`,
    bytes: 10,
    sha256: HEX64,
    count: 1,
  }));
  const manifest: Record<string, any> = { label: 'g', jobUrl: 'http://127.0.0.1/api/v1/Jobs/1', transactionTime: '2026-01-01T00:00:00.000+00:00', files, quarantined: [], errors: { total: 0, reasons: [] } };
  const k = r.int(0, files.length - 1);
  const kind = r.pick(['invalid-json', 'not-object', 'files-type', 'entry-type', 'path-type', 'path-escape']);
  let text: string | undefined;
  let where = 'manifest.json';
  let problem: RegExp = /is not an export manifest/;
  switch (kind) {
    case 'invalid-json': {
      const full = JSON.stringify(manifest);
      text = full.slice(0, r.int(0, full.length - 2));
      break;
    }
    case 'not-object':
      text = JSON.stringify(r.pick([null, [], 'x', 7]));
      break;
    case 'files-type':
      manifest.files = r.pick([undefined, {}, 'Patient-001.ndjson', 3]);
      break;
    case 'entry-type':
      files[k] = r.pick([null, 'Patient-001.ndjson', 5, []]) as never;
      where = `manifest.json: files[${k}]`;
      problem = /.+/;
      break;
    case 'path-type':
      (files[k] as Record<string, unknown>).path = r.pick([5, null, ['a'], { p: 1 }]);
      where = `manifest.json: files[${k}]`;
      problem = /path/;
      break;
    default: // path-escape: the engine only ever writes plain names inside the group folder
      files[k]!.path = r.pick(['../Patient-001.ndjson', '../../etc/hostname', '/etc/hostname', 'sub/../../x.ndjson']);
      where = `manifest.json: files[${k}]`;
      problem = /path/;
      break;
  }
  return { id: `manifest#${n} ${kind}`, kind, file: 'manifest.json', content: text ?? JSON.stringify(manifest, null, 2), where, problem, code: 'ERR_INPUT', exitCode: 2 };
}

/** A job's 200 completion body (the server's manifest) with one malformed part: ERR_HTTP, exit 1 (documented). */
export function completionCase(r: Random, n: number): FuzzCase {
  const entry = (i: number) => ({
    type: r.pick(['Patient', 'Coverage', 'ExplanationOfBenefit']),
    url: `http://127.0.0.1/api/v1/Data/f${i}.ndjson`,
    count: 3,
    extension: [
      { url: 'https://dpc.cms.gov/checksum', valueString: `sha256:${HEX64}` },
      { url: 'https://dpc.cms.gov/file_length', valueDecimal: 100 },
    ],
  });
  const body: Record<string, any> = { transactionTime: '2026-01-01T00:00:00.000+00:00', request: 'x', requiresAccessToken: true, output: [entry(0), entry(1), entry(2)], error: [] };
  const k = r.int(0, 2);
  const kind = r.pick(['not-object', 'transaction-time', 'arrays', 'entry-type', 'url', 'type', 'checksum', 'extension-entry']);
  let where = 'job';
  let problem: RegExp;
  let json: unknown = body;
  switch (kind) {
    case 'not-object':
      json = r.pick([null, 'done', 3]);
      problem = /the body is not a JSON object/;
      break;
    case 'transaction-time':
      body.transactionTime = r.pick([undefined, 5, null]);
      problem = /"transactionTime" is missing/;
      break;
    case 'arrays':
      body[r.pick(['output', 'error'])] = r.pick([{}, 'x', 1]);
      problem = /"output" and "error" must be arrays/;
      break;
    case 'entry-type':
      body.output[k] = r.pick([null, 'x', 4]);
      where = `job output[${k}]`;
      problem = /not an object/;
      break;
    case 'url':
      body.output[k].url = r.pick([undefined, '', 5]);
      where = `job output[${k}]`;
      problem = /"url" is missing/;
      break;
    case 'type':
      body.output[k].type = r.pick([undefined, 'Explanation Of Benefit', '../x', 7]);
      where = `job output[${k}]`;
      problem = /"type" is missing or not a resource type/;
      break;
    case 'checksum':
      body.output[k].extension[0].valueString = r.pick(['md5:abc', `sha256:${'a'.repeat(63)}`, `sha256:${'g'.repeat(64)}`, HEX64, 'sha256:']);
      where = `job output[${k}]`;
      problem = /checksum ".*" is not sha256:<64 hex>/;
      break;
    default: // extension-entry
      body.output[k].extension = [r.pick([null, 'x', 5]), ...body.output[k].extension];
      where = `job output[${k}]`;
      problem = /extension/;
      break;
  }
  return { id: `completion#${n} ${kind}`, kind, file: 'job', content: JSON.stringify(json), where, problem, code: 'ERR_HTTP', exitCode: 1 };
}

/** A `.dpc-export-state.json` with one malformed part (read by `dpc export status|download DIR`). */
export function stateCase(r: Random, n: number): FuzzCase {
  const kind = r.pick(['invalid-json', 'version', 'groups-type']);
  const state: Record<string, any> = { version: 1, groups: { g1: { files: {}, lastTransactionTime: '2026-01-01T00:00:00Z' } } };
  let text: string | undefined;
  switch (kind) {
    case 'invalid-json':
      text = JSON.stringify(state).slice(0, r.int(0, 20));
      break;
    case 'version':
      state.version = r.pick([2, '1', 0, undefined]);
      break;
    default: // groups-type
      state.groups = r.pick([undefined, null, 'g1', 5]);
      break;
  }
  return {
    id: `state#${n} ${kind}`,
    kind,
    file: '.dpc-export-state.json',
    content: text ?? JSON.stringify(state),
    where: '.dpc-export-state.json',
    problem: /is not an export state file this version understands/,
    code: 'ERR_INPUT',
    exitCode: 2,
  };
}
