import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseCsv } from '../../src/roster/csv.js';
import { MAX_MEMBERS_PER_GROUP, parseRoster } from '../../src/roster/roster-file.js';

const NOW = Date.parse('2026-11-25T00:00:00Z');

describe('parseCsv', () => {
  it('handles a BOM, CRLF, quotes with escaped quotes and newlines, and blank lines', () => {
    const text = '\uFEFFa,"b ""x"", y"\r\n\r\n"multi\nline",c\rlast,"",\n';
    expect(parseCsv(text, 'f.csv')).toEqual([
      { line: 1, fields: ['a', 'b "x", y'] },
      { line: 3, fields: ['multi\nline', 'c'] },
      { line: 5, fields: ['last', '', ''] },
    ]);
  });
  it('reports an unterminated quote with its line', () => {
    expect(() => parseCsv('a,b\n"oops,c\n', 'f.csv')).toThrow('f.csv:2: unterminated quoted field');
  });
});

describe('parseRoster', () => {
  it('reads the published MBI,NPI sample without a header', () => {
    const { rows, problems } = parseRoster(readFileSync('samples/test_associations-dpr.csv', 'utf8'), 'dpr.csv', NOW);
    expect(problems).toEqual([]);
    expect(rows).toHaveLength(184);
    expect(rows[0]).toEqual({ location: 'dpr.csv:1', mbi: '1S00E00FZ00', npi: '1232131239' });
  });
  it('maps header columns in any order and keeps patient details', () => {
    const text = 'NPI,mbi,First Name,Last Name,DOB,Sex\r\n1234329724,1s00e00aa01,Ann,Lee,1950-01-02,F\r\n';
    const { rows, problems } = parseRoster(text, 'r.csv', NOW);
    expect(problems).toEqual([]);
    expect(rows).toEqual([
      { location: 'r.csv:2', mbi: '1S00E00AA01', mbiAsGiven: '1s00e00aa01', npi: '1234329724', patient: { given: 'Ann', family: 'Lee', birthDate: '1950-01-02', gender: 'female' } },
    ]);
  });
  it('recognises every documented header alias alone, in any case and punctuation', () => {
    for (const header of ['patient_mbi,provider_npi', 'Patient MBI,Practitioner NPI', 'MBI,NPI']) {
      const { rows, problems } = parseRoster(`${header}\n1S00E00AA01,1234329724\n`, 'r.csv', NOW);
      expect({ header, problems, rows: rows.length }).toEqual({ header, problems: [], rows: 1 });
    }
    const full = 'Patient MBI,Provider NPI,First Name,Last Name,DOB,Sex\n1S00E00AA01,1234329724,Ann,Lee,1950-01-02,F\n';
    expect(parseRoster(full, 'r.csv', NOW)).toEqual({
      problems: [],
      rows: [{ location: 'r.csv:2', mbi: '1S00E00AA01', npi: '1234329724', patient: { given: 'Ann', family: 'Lee', birthDate: '1950-01-02', gender: 'female' } }],
    });
  });
  it('reports unknown headers as such instead of reading them as a patient', () => {
    expect(parseRoster('member_id,doctor\n1S00E00AA01,1234329724\n', 'r.csv', NOW).problems).toEqual([
      'r.csv:1: unknown column "member_id"',
      'r.csv:1: unknown column "doctor"',
      'r.csv:1: the header has no MBI column',
      'r.csv:1: the header has no NPI column',
    ]);
  });
  it('normalises MBIs as printed on cards (dashes, lower case) and shows the original in messages', () => {
    const { rows, problems } = parseRoster('1S00-E00-AA01,1234329724\n1s00e00aa01,1234329724\n1s00-e00-aa0,1234329724\n', 'r.csv', NOW);
    expect(rows[0]).toEqual({ location: 'r.csv:1', mbi: '1S00E00AA01', mbiAsGiven: '1S00-E00-AA01', npi: '1234329724' });
    expect(problems).toEqual([
      'r.csv:3: invalid MBI "1s00-e00-aa0"',
      'r.csv:2: duplicate row: MBI 1S00E00AA01 (given as "1s00e00aa01") and NPI 1234329724 already on line 1',
    ]);
  });
  it('lists every problem as file:line: message', () => {
    const text = [
      'mbi,npi,given,family,birth_date,gender',
      '1S00E00AA01,1234329724,Ann,Lee,1950-01-02,female', // ok
      '1234,1234329725,,,,', // bad MBI and NPI
      '1S00E00AA02,1234329724,Bo,Ng,1950-13-01,male', // bad date
      '1S00E00AA01,1234329724,,,,', // duplicate
      '1S00E00AA01,1232131239,Ann,Lee,1951-01-02,female', // conflicting birth date
      '1S00E00AA03,1234329724,Cy,,1950-01-01,male', // incomplete details
      '1S00E00AA04,1234329724,Di,Ox,1950-01-01,x', // bad gender
      ',1234329724', // missing MBI
      '1S00E00AA05,1234329724,a,b,1950-01-01,male,extra', // extra column
    ].join('\n');
    const { problems } = parseRoster(text, 'bad.csv', NOW);
    expect(problems).toEqual([
      'bad.csv:3: invalid MBI "1234"',
      'bad.csv:3: invalid NPI "1234329725" (10 digits with a Luhn check digit)',
      'bad.csv:4: invalid birth date "1950-13-01" (no such day)',
      'bad.csv:7: incomplete patient details: missing family',
      'bad.csv:8: invalid gender "x" (male, female, other, unknown)',
      'bad.csv:9: missing MBI',
      'bad.csv:10: more columns than the 6 expected',
      'bad.csv:5: duplicate row: MBI 1S00E00AA01 and NPI 1234329724 already on line 2',
      'bad.csv:6: conflicting row: MBI 1S00E00AA01 has a different birth_date on line 2',
    ]);
  });
  it('rejects a header without an NPI column or with unknown columns', () => {
    expect(parseRoster('mbi,colour\n1S00E00AA01,red\n', 'h.csv', NOW).problems).toEqual([
      'h.csv:1: unknown column "colour"',
      'h.csv:1: the header has no NPI column',
    ]);
  });
  it('keeps each problem on one line when a quoted cell holds a newline', () => {
    const text = 'MBI,NPI,given,family,birth_date,gender\n"1S00\nE00AA01","123\n4329724",Ann,Lee,"1950\n01-01","fe\nmale"\n';
    expect(parseRoster(text, 'n.csv', NOW).problems).toEqual([
      'n.csv:2: invalid MBI "1S00\\nE00AA01"',
      'n.csv:2: invalid NPI "123\\n4329724" (10 digits with a Luhn check digit)',
      'n.csv:2: invalid birth date "1950\\n01-01" (expected YYYY-MM-DD)',
      'n.csv:2: invalid gender "fe\\nmale" (male, female, other, unknown)',
    ]);
  });
  it('enforces the per-practitioner roster limit', () => {
    const lines = Array.from({ length: MAX_MEMBERS_PER_GROUP + 2 }, (_, i) => `${mbi(i)},1234329724`);
    const { problems } = parseRoster(lines.join('\n'), 'big.csv', NOW);
    expect(problems).toEqual([`big.csv:${MAX_MEMBERS_PER_GROUP + 1}: practitioner 1234329724 has 1352 patients, more than DPC's limit of 1350 per group`]);
  });
});

/** A valid MBI for index i (format: digit, letter, alnum, digit, letter, alnum, digit, 2 letters, 2 digits). */
function mbi(i: number): string {
  const s = String(i).padStart(5, '0');
  return `1S${s[0]}${s[1]}A${s[2]}${s[3]}AA${s[4]}0`;
}
