/**
 * Roster CSV → rows, and the checks that need nothing but the file: NPI check digit, MBI format, birth date,
 * gender, duplicate and conflicting rows, the per-practitioner roster limit. Every problem is reported as
 * `file:line: message` so a user can fix the whole file in one go.
 *
 * Columns: `MBI,NPI` as in DPC's test_associations-dpr.csv, optionally followed by `given,family,birth_date,gender`
 * (used to register patients DPC does not know yet). A header row is optional; with one, columns may come in any order.
 */
import { parseCsv, type CsvRecord } from './csv.js';
import { birthDateProblem, isValidMbi, isValidNpi, normalizeGender, normalizeMbi, quoted, type Gender } from '../fhir/validate.js';

/** DPC caps a roster at 1350 patients per group (server behaviour §5.4). */
export const MAX_MEMBERS_PER_GROUP = 1350;

export interface PatientDetails {
  given: string;
  family: string;
  birthDate: string;
  gender: Gender;
}

export interface RosterRow {
  /** `file:line`, for messages. */
  location: string;
  /** Normalised: upper case, no dashes or spaces. */
  mbi: string;
  /** The MBI as the file wrote it, when that differs (`1s00-e00-aa01`), for messages. */
  mbiAsGiven?: string;
  npi: string;
  /** Present when the row carries everything needed to register the patient. */
  patient?: PatientDetails;
}

export interface ParsedRoster {
  rows: RosterRow[];
  problems: string[];
  /** `file:line: …` for header columns left out (a practice system's `Notes`; names without a birth date). */
  warnings: string[];
}

type Column = 'mbi' | 'npi' | 'given' | 'family' | 'birthDate' | 'gender';
const POSITIONAL: readonly Column[] = ['mbi', 'npi', 'given', 'family', 'birthDate', 'gender'];
const DETAIL_COLUMNS: readonly Column[] = ['given', 'family', 'birthDate', 'gender'];
const COLUMN_NAMES: Record<string, Column> = {
  mbi: 'mbi',
  patientmbi: 'mbi',
  npi: 'npi',
  practitionernpi: 'npi',
  providernpi: 'npi',
  given: 'given',
  givenname: 'given',
  firstname: 'given',
  first: 'given',
  family: 'family',
  familyname: 'family',
  lastname: 'family',
  last: 'family',
  birthdate: 'birthDate',
  dob: 'birthDate',
  dateofbirth: 'birthDate',
  gender: 'gender',
  sex: 'gender',
};

/** A header cell as a lookup key: letters only, lower case, without a leading `patient`/`provider`/... qualifier. */
function headerKey(cell: string): string {
  let key = cell.toLowerCase().replace(/[^a-z]/g, '');
  // `Patient First Name`, `Member DOB`, `Rendering Provider NPI`: practice systems qualify the names we know
  for (let qualifier = QUALIFIER.exec(key); qualifier && !Object.hasOwn(COLUMN_NAMES, key); qualifier = QUALIFIER.exec(key)) {
    key = key.slice(qualifier[0].length);
  }
  return key;
}
const QUALIFIER = /^(patient|member|beneficiary|bene|rendering|attributed|provider|practitioner)(?=[a-z])/;

/**
 * A first row is a header when it names a known column (`patient_mbi`, `Provider NPI`, `DOB`, any one alias alone), or
 * when no cell holds a digit: every data row does (MBIs and NPIs), so such a row is column names, and unknown ones are
 * reported as such rather than read as a patient.
 */
function isHeader(fields: readonly string[]): boolean {
  return fields.some((f) => Object.hasOwn(COLUMN_NAMES, headerKey(f))) || fields.every((f) => !/\d/.test(f));
}

interface Header {
  columns: (Column | undefined)[];
  warnings: string[];
  problems: string[];
}

/**
 * The header's columns. Columns it does not know are ignored once MBI and NPI are found (practice systems export
 * more than a roster needs) and reported otherwise: then the row is probably not the header the user meant. Some but
 * not all of the patient detail columns (names without a birth date) are ignored too: they cannot register anyone,
 * and patients DPC has need none. Pure.
 */
function readHeader(record: CsvRecord, location: string): Header {
  const columns = record.fields.map((f) => COLUMN_NAMES[headerKey(f)]);
  const problems: string[] = [];
  const named = (f: string) => quoted(f.trim());
  columns.forEach((column, i) => {
    const first = column === undefined ? -1 : columns.indexOf(column);
    if (first < i && first >= 0) problems.push(`${location}: columns ${first + 1} and ${i + 1} (${named(record.fields[first]!)}, ${named(record.fields[i]!)}) are both the ${fieldName(column!)} column`);
  });
  const unknown = record.fields.filter((_, i) => columns[i] === undefined && record.fields[i]!.trim() !== '');
  const missing = (['mbi', 'npi'] as const).filter((required) => !columns.includes(required));
  if (missing.length > 0) {
    problems.push(...unknown.map((f) => `${location}: unknown column ${named(f)}`));
    problems.push(...missing.map((required) => `${location}: the header has no ${fieldName(required)} column`));
    return { columns, warnings: [], problems };
  }
  const warnings = unknown.length > 0 ? [`${location}: ignored ${unknown.map(named).join(', ')}: not roster columns`] : [];
  const details = columns.flatMap((c, i) => (c !== undefined && DETAIL_COLUMNS.includes(c) ? [i] : []));
  if (details.length > 0 && details.length < DETAIL_COLUMNS.length) {
    warnings.push(`${location}: ignored ${details.map((i) => named(record.fields[i]!)).join(', ')}: registering a patient takes all of given, family, birth_date and gender`);
    for (const i of details) columns[i] = undefined;
  }
  return { columns, warnings, problems };
}

/** Parse and check a roster file. `now` (epoch ms) bounds birth dates. */
export function parseRoster(text: string, file: string, now: number): ParsedRoster {
  const problems: string[] = [];
  const rows: RosterRow[] = [];
  let columns: readonly (Column | undefined)[] = POSITIONAL;
  let warnings: string[] = [];
  let first = true;
  let headerOnly = false;
  for (const record of parseCsv(text, file)) {
    const location = `${file}:${record.line}`;
    if (first && isHeader(record.fields)) {
      first = false;
      const header = readHeader(record, location);
      if (header.problems.length > 0) return { rows: [], problems: header.problems, warnings: [] };
      ({ columns, warnings } = header);
      headerOnly = true;
      continue;
    }
    first = false;
    headerOnly = false;
    const cells: Partial<Record<Column, string>> = {};
    let extra = false;
    record.fields.forEach((value, i) => {
      const column = columns[i];
      if (column !== undefined) cells[column] = value.trim();
      else if (i >= columns.length) extra = extra || value.trim() !== '';
    });
    // without a header, a third column (a practice name, a date) is read as a given name: say how columns are read
    const positional = columns === POSITIONAL ? ' (without a header the columns are MBI,NPI,given,family,birth_date,gender)' : '';
    const rowProblems = extra ? [`more columns than the ${columns.length} expected${positional}`] : [];
    const row = checkRow(cells, now, rowProblems, positional);
    if (rowProblems.length > 0 || row === undefined) problems.push(...rowProblems.map((p) => `${location}: ${p}`));
    else rows.push({ location, ...row });
  }
  // an empty roster would sync as "nothing to do", and with removeMissing empty every group: a cut-off export, not intent
  if (first || headerOnly) problems.push(`${file}: no roster rows (${first ? 'the file is empty' : 'only a header'})`);
  problems.push(...crossRowProblems(rows));
  return { rows, problems, warnings };
}

// Excel rewrites what it takes for numbers and dates when it saves a CSV, as the sheet shows them: say so where it shows
const EXCEL_NUMBER = '; Excel saved it as a number: format the column as text';
const EXCEL_DATE = '; Excel saves dates as the sheet shows them: format the column as yyyy-mm-dd';

function checkRow(cells: Partial<Record<Column, string>>, now: number, problems: string[], positional: string): Omit<RosterRow, 'location'> | undefined {
  // as printed on Medicare cards (`1S00-E00-AA01`) or in lower case: normalised, the original kept for messages
  const mbi = normalizeMbi(cells.mbi ?? '');
  const asGiven = (cells.mbi ?? '') !== mbi ? { mbiAsGiven: cells.mbi } : {};
  const npi = cells.npi ?? '';
  if (mbi === '') problems.push('missing MBI');
  else if (!isValidMbi(mbi)) problems.push(`invalid MBI ${quoted(cells.mbi ?? '')}`);
  if (npi === '') problems.push('missing NPI');
  else if (!isValidNpi(npi)) problems.push(`invalid NPI ${quoted(npi)} (10 digits with a Luhn check digit)${/^\d(\.\d+)?E\+\d+$/i.test(npi) ? EXCEL_NUMBER : ''}`);

  const present = DETAIL_COLUMNS.filter((c) => (cells[c] ?? '') !== '');
  let patient: PatientDetails | undefined;
  if (present.length > 0 && present.length < DETAIL_COLUMNS.length) {
    const missing = DETAIL_COLUMNS.filter((c) => !present.includes(c)).map(columnLabel);
    problems.push(`incomplete patient details: missing ${missing.join(', ')}${positional}`);
  } else if (present.length === DETAIL_COLUMNS.length) {
    const birthProblem = birthDateProblem(cells.birthDate!, now);
    if (birthProblem) problems.push(`${birthProblem}${/^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$/.test(cells.birthDate!) ? EXCEL_DATE : ''}`);
    const gender = normalizeGender(cells.gender!);
    if (gender === undefined) problems.push(`invalid gender ${quoted(cells.gender ?? '')} (male, female, other, unknown)`);
    if (!birthProblem && gender) patient = { given: cells.given!, family: cells.family!, birthDate: cells.birthDate!, gender };
  }
  return problems.length > 0 ? undefined : { mbi, ...asGiven, npi, ...(patient ? { patient } : {}) };
}

function columnLabel(column: Column): string {
  return column === 'birthDate' ? 'birth_date' : column;
}

/** As the README and messages write a column: MBI, NPI, given, ..., birth_date. */
function fieldName(column: Column): string {
  return column === 'mbi' || column === 'npi' ? column.toUpperCase() : columnLabel(column);
}

/** Duplicates, contradicting patient details for one MBI, and the per-practitioner limit. */
function crossRowProblems(rows: readonly RosterRow[]): string[] {
  const problems: string[] = [];
  /** NPI → MBI → the row that paired them first. */
  const pairs = new Map<string, Map<string, RosterRow>>();
  const details = new Map<string, RosterRow>();
  for (const row of rows) {
    if (row.patient) {
      const known = details.get(row.mbi);
      const conflict = known?.patient && differingField(known.patient, row.patient);
      if (conflict) {
        problems.push(`${row.location}: conflicting row: MBI ${shownMbi(row)} has a different ${conflict} on line ${lineOf(known)}`);
        continue;
      }
      if (!known) details.set(row.mbi, row);
    }
    const practitioner = pairs.get(row.npi) ?? new Map<string, RosterRow>();
    pairs.set(row.npi, practitioner);
    const earlier = practitioner.get(row.mbi);
    if (earlier) {
      problems.push(`${row.location}: duplicate row: MBI ${shownMbi(row)} and NPI ${row.npi} already on line ${lineOf(earlier)}`);
      continue;
    }
    practitioner.set(row.mbi, row);
    if (practitioner.size === MAX_MEMBERS_PER_GROUP + 1) {
      const total = new Set(rows.filter((r) => r.npi === row.npi).map((r) => r.mbi)).size;
      problems.push(`${row.location}: practitioner ${row.npi} has ${total} patients, more than DPC's limit of ${MAX_MEMBERS_PER_GROUP} per group`);
    }
  }
  return problems;
}

/** `1S00E00AA01`, or `1S00E00AA01 (given as "1s00-e00-aa01")` when the file wrote it differently. Pure. */
export function shownMbi(row: Pick<RosterRow, 'mbi' | 'mbiAsGiven'>): string {
  return row.mbiAsGiven === undefined ? row.mbi : `${row.mbi} (given as ${quoted(row.mbiAsGiven)})`;
}

function differingField(a: PatientDetails, b: PatientDetails): string | undefined {
  if (a.given !== b.given) return 'given name';
  if (a.family !== b.family) return 'family name';
  if (a.birthDate !== b.birthDate) return 'birth_date';
  if (a.gender !== b.gender) return 'gender';
  return undefined;
}

function lineOf(row: RosterRow): string {
  return row.location.slice(row.location.lastIndexOf(':') + 1);
}
