/** Malformed roster CSVs: one bad cell, row or header per file, with the `file:line` it must be reported at. */
import { badMbi, badNpi, birthDate, GENDERS, NAMES, validMbi, validNpi, type FuzzCase, type Random } from './common.js';

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

  const kinds = ['npi', 'npi-missing', 'mbi', 'mbi-missing', 'stray-cell', 'duplicate', 'garbage', 'unterminated-quote', 'control-char'];
  if (details) kinds.push('birth-date', 'gender', 'incomplete', 'conflict');
  if (header) kinds.push('column-twice', 'header-without-npi');
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
    case 'control-char': {
      const char = r.pick(['\u0000', '\u0007', '\u200b', '\u00a0']);
      row.cells[0] = row.cells[0]!.slice(0, 5) + char + row.cells[0]!.slice(5);
      // a NUL inside a cell is a bad value (only one among the first two characters says UTF-16 without a BOM)
      problem = /invalid MBI/;
      break;
    }
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
      // a first row without digits is a header (column names), so there it is an unknown column
      problem = /invalid MBI|missing NPI|unknown column/;
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
    case 'column-twice': {
      // columns the roster does not know (zip, phone) are left out with a warning; one it knows, named twice, is refused
      const name = r.pick(headerCells);
      headerCells = [...headerCells, name];
      line = 1;
      problem = new RegExp(`columns ${headerCells.indexOf(name) + 1} and ${headerCells.length} \\(.*\\) are both the \\S+ column`);
      break;
    }
    default: // header-without-npi
      headerCells = headerCells.filter((c) => c !== 'npi');
      line = 1;
      problem = /the header has no NPI column/;
      break;
  }
  const text = [...(header ? [headerCells.join(',')] : []), ...rows.map((x) => x.cells.join(','))].join(eol) + (r.chance(0.5) ? eol : '');
  return { id: `roster#${n} ${kind}`, kind, file, content: text, where: `${file}:${line}`, problem, code: 'ERR_INPUT', exitCode: 2 };
}
