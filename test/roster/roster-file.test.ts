import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { decodeCsvBytes, detectDelimiter, parseCsv } from '../../src/roster/csv.js';
import { MAX_MEMBERS_PER_GROUP, parseRoster } from '../../src/roster/roster-file.js';

const NOW = Date.parse('2026-11-25T00:00:00Z');

describe('parseCsv', () => {
  it('handles a BOM, CRLF, quotes with escaped quotes and newlines, and blank lines', () => {
    const text = '\uFEFFa,"b ""x"", y"\r\n\r\n"multi\nline",c\rlast,"",\n';
    expect([...parseCsv(text, 'f.csv')]).toEqual([
      { line: 1, fields: ['a', 'b "x", y'] },
      { line: 3, fields: ['multi\nline', 'c'] },
      { line: 5, fields: ['last', '', ''] },
    ]);
  });
  it('reports an unterminated quote with its line', () => {
    expect(() => [...parseCsv('a,b\n"oops,c\n', 'f.csv')]).toThrow('f.csv:2: unterminated quoted field');
  });
});

describe('CSV dialects of spreadsheets and practice systems', () => {
  const ROW = ['1S00E00AA01', '1234329724', 'Ann; Jr', 'Lee, Sr', '1950-01-02', 'F'];
  it('reads semicolon (European Excel) and tab separated files, told apart by the first line', () => {
    expect(detectDelimiter('MBI;NPI;given\n1,2,3\n')).toBe(';');
    expect(detectDelimiter('MBI\tNPI\n')).toBe('\t');
    expect(detectDelimiter('"a;b;c",x\n')).toBe(',');
    expect(detectDelimiter('\n\nMBI;NPI\n')).toBe(';');
    expect(detectDelimiter('1S00E00AA01\n')).toBe(',');
    const semicolon = 'MBI;NPI;given;family;birth_date;gender\r\n1S00E00AA01;1234329724;"Ann; Jr";Lee, Sr;1950-01-02;F\r\n';
    const tab = `MBI\tNPI\tgiven\tfamily\tbirth_date\tgender\n${ROW.join('\t')}\n`;
    for (const text of [semicolon, tab]) {
      const { rows, problems } = parseRoster(text, 'r.csv', NOW);
      expect(problems).toEqual([]);
      expect(rows.map((r) => [r.mbi, r.npi, r.patient?.given, r.patient?.family])).toEqual([['1S00E00AA01', '1234329724', 'Ann; Jr', 'Lee, Sr']]);
    }
  });
  it('skips rows of empty cells (as Excel leaves them) and reads a last line without a newline', () => {
    const text = 'MBI,NPI,given,family,birth_date,gender\n,,,,,\r\n1S00E00AA01,1234329724,,,,\n , ,,,,\n1S00E00AA02,1234329724';
    expect(parseRoster(text, 'r.csv', NOW)).toMatchObject({ problems: [], rows: [{ location: 'r.csv:3' }, { location: 'r.csv:5' }] });
  });
  it('decodes UTF-16 files by their byte-order mark and drops a UTF-8 one', () => {
    const text = 'MBI\tNPI\r\n1S00E00AA01\t1234329724\r\n';
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const be = Buffer.from(le.subarray(2)).swap16();
    expect(decodeCsvBytes(le)).toBe(text);
    expect(decodeCsvBytes(Buffer.concat([Buffer.from([0xfe, 0xff]), be]))).toBe(text);
    expect(decodeCsvBytes(Buffer.from(`\uFEFF${text}`))).toBe(text);
    expect(parseRoster(decodeCsvBytes(le), 'r.csv', NOW).rows).toHaveLength(1);
  });
  it('refuses a Latin-1 file naming the line and column of the first byte that is not UTF-8, and UTF-16 without a BOM', () => {
    const latin1 = decodeCsvBytes(Buffer.from('MBI,NPI,given,family,birth_date,gender\n1S00E00AA01,1234329724,Jos\xe9,Lee,1950-01-02,M\n', 'latin1'));
    expect(() => parseRoster(latin1, 'r.csv', NOW)).toThrow('r.csv:2:27: not UTF-8 text (Latin-1 or Windows-1252?); save it as "CSV UTF-8"');
    const utf16 = decodeCsvBytes(Buffer.from('MBI,NPI\n', 'utf16le'));
    expect(() => parseRoster(utf16, 'r.csv', NOW)).toThrow('r.csv:1:2: a NUL character: the file looks like UTF-16 without a byte-order mark; save it as "CSV UTF-8"');
  });
  it('refuses a file without rows: synced, it would mean "no patients", and with removeMissing empty every group', () => {
    for (const [text, why] of [['', 'the file is empty'], ['\uFEFF\r\n\r\n', 'the file is empty'], ['MBI,NPI\r\n,\r\n', 'only a header']]) {
      expect(parseRoster(text!, 'r.csv', NOW)).toEqual({ rows: [], problems: [`r.csv: no roster rows (${why})`], warnings: [] });
    }
  });
  it('ignores columns a practice system adds once MBI and NPI are found, and reads qualified names', () => {
    const text = 'Location,Patient MBI,Rendering Provider NPI,Patient First Name,Patient Last Name,Member DOB,Patient Sex,Notes,\nMain St,1S00E00AA01,1234329724,Ann,Lee,1950-01-02,F,x,\n';
    const { rows, problems, warnings } = parseRoster(text, 'r.csv', NOW);
    expect(problems).toEqual([]);
    expect(warnings).toEqual(['r.csv:1: ignored "Location", "Notes": not roster columns']);
    expect(rows[0]).toMatchObject({ mbi: '1S00E00AA01', npi: '1234329724', patient: { given: 'Ann', family: 'Lee', birthDate: '1950-01-02' } });
  });
  it('shows characters one cannot see in a value it refuses (a zero-width space pasted into an MBI, a direction override)', () => {
    const text = 'MBI,NPI\n1S00E00AA03\u200B,1234329724\n1S00E00AA04,12343297\u202E24\n\u00A01S00E00AA05\u00A0,1234329724\n1S00E00AA06\u{E0001},1234329724\n1S00E\u000000AA07,1234329724\n';
    expect(parseRoster(text, 'r.csv', NOW).problems).toEqual([
      'r.csv:2: invalid MBI "1S00E00AA03\\u200b"',
      'r.csv:3: invalid NPI "12343297\\u202e24" (10 digits with a Luhn check digit)',
      'r.csv:5: invalid MBI "1S00E00AA06\\u{e0001}"',
      'r.csv:6: invalid MBI "1S00E\\u000000AA07"', // a NUL past the start is a bad cell, not UTF-16
    ]);
  });
  it('leaves out names without a birth date and sex (they register no one): one warning, not a problem on every row', () => {
    const text = 'MBI,NPI,First Name,Last Name\n1S00E00AA01,1234329724,Ann,Lee\n1S00E00AA02,1234329724,Bo,\n';
    expect(parseRoster(text, 'r.csv', NOW)).toEqual({
      problems: [],
      warnings: ['r.csv:1: ignored "First Name", "Last Name": registering a patient takes all of given, family, birth_date and gender'],
      rows: [
        { location: 'r.csv:2', mbi: '1S00E00AA01', npi: '1234329724' },
        { location: 'r.csv:3', mbi: '1S00E00AA02', npi: '1234329724' },
      ],
    });
  });
  it('says when Excel rewrote a date or an NPI as it saved the file', () => {
    const text = 'MBI,NPI,given,family,birth_date,gender\n1S00E00AA01,1234329724,Ann,Lee,1/2/1950,F\n1S00E00AA02,1.23433E+09,Bo,Ng,02.01.1950,M\n1S00E00AA03,1234329724,Cy,Ox,1950/01/02,M\n';
    expect(parseRoster(text, 'r.csv', NOW).problems).toEqual([
      'r.csv:2: invalid birth date "1/2/1950" (expected YYYY-MM-DD); Excel saves dates as the sheet shows them: format the column as yyyy-mm-dd',
      'r.csv:3: invalid NPI "1.23433E+09" (10 digits with a Luhn check digit); Excel saved it as a number: format the column as text',
      'r.csv:3: invalid birth date "02.01.1950" (expected YYYY-MM-DD); Excel saves dates as the sheet shows them: format the column as yyyy-mm-dd',
      'r.csv:4: invalid birth date "1950/01/02" (expected YYYY-MM-DD)',
    ]);
  });
  it('says how columns are read when a file without a header has a third one', () => {
    expect(parseRoster('1S00E00AA01,1234329724,Main St\n1S00E00AA02,1234329724,a,b,1950-01-01,F,x\n', 'r.csv', NOW).problems).toEqual([
      'r.csv:1: incomplete patient details: missing family, birth_date, gender (without a header the columns are MBI,NPI,given,family,birth_date,gender)',
      'r.csv:2: more columns than the 6 expected (without a header the columns are MBI,NPI,given,family,birth_date,gender)',
    ]);
  });
  it('refuses a header naming one column twice', () => {
    expect(parseRoster('MBI,NPI,Patient MBI\n1S00E00AA01,1234329724,1S00E00AA02\n', 'r.csv', NOW).problems).toEqual([
      'r.csv:1: columns 1 and 3 ("MBI", "Patient MBI") are both the MBI column',
    ]);
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
      warnings: [],
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
