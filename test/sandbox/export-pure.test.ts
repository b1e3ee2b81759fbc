/** The export engine's pure parts: Range parsing, progress text, templates, the failure rule, the completion body. */
import { describe, expect, it } from 'vitest';
import type { FileRecord } from '../../src/sandbox/export/batch.js';
import { completionBody, progressText } from '../../src/sandbox/export/completion.js';
import { OUTCOME_TEXTS, failureLine, patientFailure } from '../../src/sandbox/export/outcomes.js';
import { rngFor } from '../../src/sandbox/export/random.js';
import { RANGE_CHUNK_BYTES, parseRange } from '../../src/sandbox/export/range.js';
import { compileTemplate, renderTemplate, textSlot, valueSlot } from '../../src/sandbox/export/template.js';

describe('parseRange (DPC semantics)', () => {
  it('reads bytes=start-end with an exclusive end and defaults a missing end to a 1 MiB chunk', () => {
    expect(parseRange('bytes=0-10240')).toEqual({ kind: 'range', start: 0, end: 10240 });
    expect(parseRange('bytes=0-1')).toEqual({ kind: 'range', start: 0, end: 1 });
    expect(parseRange('bytes=500-')).toEqual({ kind: 'range', start: 500, end: 500 + RANGE_CHUNK_BYTES });
    expect(parseRange('bytes=7-7')).toEqual({ kind: 'range', start: 7, end: 7 });
  });

  it('answers 416 for end < start or another unit, 400 for what the converter cannot parse', () => {
    expect(parseRange('bytes=10-5')).toMatchObject({ kind: 'invalid', status: 416 });
    expect(parseRange('items=0-5')).toMatchObject({ kind: 'invalid', status: 416, message: 'Only `bytes` are acceptable as ranges' });
    expect(parseRange('bytes=-500')).toMatchObject({ kind: 'invalid', status: 400 });
    expect(parseRange('bytes=0-5,10-20')).toMatchObject({ kind: 'invalid', status: 400 });
  });
});

describe('progressText', () => {
  it('formats QUEUED at zero and RUNNING with two decimals', () => {
    expect(progressText(0)).toBe('QUEUED: 0.00%');
    expect(progressText(0.42171)).toBe('RUNNING: 42.17%');
    expect(progressText(1.5)).toBe('RUNNING: 100.00%');
  });
});

describe('templates', () => {
  it('replaces text slots inside strings and value slots with raw JSON values', () => {
    const t = compileTemplate(JSON.stringify({ id: `carrier-${textSlot('claim')}`, amount: valueSlot('m0'), ref: `Patient/${textSlot('bene')}` }));
    expect(t.slots).toEqual(['claim', 'm0', 'bene']);
    expect(JSON.parse(renderTemplate(t, { claim: '-1234', m0: '12.50', bene: '-99' }))).toEqual({ id: 'carrier--1234', amount: 12.5, ref: 'Patient/-99' });
    expect(() => renderTemplate(t, { claim: '1' })).toThrow(/slot "m0"/);
  });

  it('draws the same numbers for the same key and different ones for another', () => {
    const draw = (key: string) => Array.from({ length: 5 }, ((rng) => () => rng.int(0, 1_000_000))(rngFor('k', key)));
    expect(draw('a')).toEqual(draw('a'));
    expect(draw('a')).not.toEqual(draw('b'));
  });
});

describe('patient failures', () => {
  it('fails DPC k6 MBI 0S80C00AA00 and about 3 % of MBIs by hash, with DPC texts', () => {
    expect(patientFailure('0S80C00AA00')).toEqual({ code: 'exception', text: OUTCOME_TEXTS.internalError, locatedBy: 'mbi' });
    const failures = Array.from({ length: 10_000 }, (_, i) => patientFailure(`1S${i}`)).filter((f) => f !== undefined);
    expect(failures.length).toBeGreaterThan(200);
    expect(failures.length).toBeLessThan(400);
    expect(new Set(failures.map((f) => f.text))).toEqual(new Set(Object.values(OUTCOME_TEXTS)));
    expect(JSON.parse(failureLine('1S00E00AA78', patientFailure('1S00E00AA78')!)).issue[0].location).toEqual(['Patient', 'id', '1S00E00AA78']);
  });
});

describe('completionBody', () => {
  const file = (name: string, type: FileRecord['type'], count: number): FileRecord => ({ name, type, count, sha256: 'ab'.repeat(32), bytes: 10, gzipBytes: 7 });

  it('orders output by requested type, drops empty files, separates OperationOutcome and echoes the request', () => {
    const body = completionBody({
      baseUrl: 'https://sb/api/v1',
      requestUrl: 'https://sb/api/v1/Group/g/$export_type=Coverage,Patient',
      transactionTime: Date.UTC(2026, 0, 2),
      submitTime: Date.UTC(2026, 0, 2, 3, 4, 5, 6),
      completeTime: Date.UTC(2026, 0, 2, 3, 4, 9, 60),
      types: ['Coverage', 'Patient'],
      files: [file('b1-0.patient', 'Patient', 2), file('b1-0.coverage', 'Coverage', 8), file('b1-0.operationoutcome', 'OperationOutcome', 1), file('b2-0.patient', 'Patient', 0), file('b2-0.coverage', 'Coverage', 4)],
    }) as { transactionTime: string; request: string; output: Array<{ url: string }>; error: Array<{ url: string }>; extension: unknown };
    expect(body.transactionTime).toBe('2026-01-02T00:00:00.000+00:00');
    expect(body.request).toBe('https://sb/api/v1/Group/g/$export_type=Coverage,Patient');
    expect(body.output.map((e) => e.url)).toEqual([
      'https://sb/api/v1/Data/b1-0.coverage.ndjson',
      'https://sb/api/v1/Data/b2-0.coverage.ndjson',
      'https://sb/api/v1/Data/b1-0.patient.ndjson',
    ]);
    expect(body.error.map((e) => e.url)).toEqual(['https://sb/api/v1/Data/b1-0.operationoutcome.ndjson']);
    expect(body.extension).toEqual([
      { url: 'https://dpc.cms.gov/submit_time', valueDateTime: '2026-01-02T03:04:05.006+00:00' },
      { url: 'https://dpc.cms.gov/complete_time', valueDateTime: '2026-01-02T03:04:09.060+00:00' },
    ]);
  });
});
