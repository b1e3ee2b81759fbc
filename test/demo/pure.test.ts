/** The demo's pure helpers: roster selection, group choice, file totals, and the human summary. */
import { describe, expect, it } from 'vitest';
import { countRows, exportedFiles, formatBytes, largestGroup, type DemoSummary } from '../../src/demo/summary.js';
import { formatMs, formatSummary, nextCommands, queryHint } from '../../src/cli/commands/demo.js';

describe('countRows', () => {
  it('counts roster rows, not blank lines or line ends', () => {
    expect(countRows('1S00E00AA01,2323232225\r\n\r\n1s00e00aa02,1232131239\r\n  \n9X99X99XX99,1232131239')).toBe(3);
  });
});

describe('largestGroup', () => {
  const change = (npi: string, added: number, renewed = 0) => ({ npi, groupId: `g-${npi}`, created: true, added, renewed, removed: 0 });

  it('picks the most members, counting renewals, and the lowest NPI on a tie', () => {
    expect(largestGroup([change('2323232225', 3), change('1232131239', 1, 2), change('1234329724', 2)])?.npi).toBe('1232131239');
    expect(largestGroup([])).toBeUndefined();
  });
});

describe('exportedFiles', () => {
  it('lists every file and counts resources of output files only', () => {
    const file = (type: string, kind: 'output' | 'error', count: number, bytes: number) => ({ url: `u/${type}`, type, kind, path: `${type}-001.ndjson`, bytes, sha256: 'ab', count });
    const totals = exportedFiles({ files: [file('Patient', 'output', 43, 1000), file('OperationOutcome', 'error', 1, 200)] });
    expect(totals).toMatchObject({ resources: 43, bytes: 1200 });
    expect(totals.files[1]).toEqual({ type: 'OperationOutcome', kind: 'error', path: 'OperationOutcome-001.ndjson', resources: 1, bytes: 200, sha256: 'ab' });
  });
});

describe('formatting', () => {
  it('formats sizes and durations', () => {
    expect([formatBytes(512), formatBytes(97_382), formatBytes(7_354_567)]).toEqual(['512 B', '95.1 KiB', '7.0 MiB']);
    expect([formatMs(850), formatMs(2_449)]).toEqual(['850 ms', '2.4 s']);
  });

  const summary: DemoSummary = {
    dir: '/tmp/d',
    baseUrl: 'http://127.0.0.1:1/api/v1',
    organization: { id: 'org-1', clientTokenFile: '/tmp/d/client-token.txt' },
    keys: [
      { id: 'key-1', registeredVia: 'portal', privateKeyFile: '/tmp/d/keys/portal/private.pem', publicKeyFile: 'p', signatureFile: 's' },
      { id: 'key-2', registeredVia: 'api', privateKeyFile: '/tmp/d/keys/api/private.pem', publicKeyFile: 'p', signatureFile: 's' },
    ],
    keyId: 'key-2',
    accessToken: { expiresInSec: 300 },
    registered: { practitioners: 4, patients: 100 },
    roster: { file: 'roster-sandbox.csv', rows: 100, groups: [{ npi: '1232125215', groupId: 'g-1', members: 44 }] },
    exported: {
      groupId: 'g-1',
      npi: '1232125215',
      members: 44,
      types: ['Patient'],
      dir: '/tmp/d/export/g-1',
      manifest: '/tmp/d/export/g-1/manifest.json',
      transactionTime: '2026-11-25T00:00:00.000Z',
      files: [
        { type: 'Patient', kind: 'output', path: 'Patient-001.ndjson', resources: 43, bytes: 45_000, sha256: 'ab' },
        { type: 'OperationOutcome', kind: 'error', path: 'OperationOutcome-001.ndjson', resources: 1, bytes: 203, sha256: 'cd' },
      ],
      resources: 43,
      bytes: 45_203,
      verified: true,
    },
    patientErrors: { total: 1, reasons: [{ reason: 'Unable to retrieve patient data due to internal error', code: 'exception', count: 1, patients: ['1S00E00AA78'], idKind: 'mbi' }] },
    steps: [],
    totalMs: 7_200,
  };

  it('renders the summary people read: ids, counts, files, verification, expected errors, folder and next commands', () => {
    const text = formatSummary(summary, false);
    expect(text).toContain('org-1 (client token in /tmp/d/client-token.txt)');
    expect(text).toMatch(/key-2 uploaded with POST \/Key/);
    expect(text).toContain('4 practitioners, 100 patients');
    expect(text).toContain('1 groups from roster-sandbox.csv, 100 members');
    expect(text).toMatch(/OperationOutcome-001\.ndjson +1 error +203 B/);
    expect(text).toContain('verified ✓ 2 files, 43 resources, 44.1 KiB');
    expect(text).toContain('1 × Unable to retrieve patient data due to internal error (MBI 1S00E00AA78)');
    expect(text).toContain('not a demo failure');
    expect(text).toContain('dpc export verify /tmp/d/export/g-1');
    expect(text).not.toContain('undefined');
    expect(text.split('\n').at(-1)).toBe('Claims as tables (Parquet + SQL): dpc query /tmp/d "select claim_type, count(*) from claims group by 1"');
    expect(queryHint({ dir: "/tmp/it's here" })).toBe(`dpc query '/tmp/it'\\''s here' "select claim_type, count(*) from claims group by 1"`);
  });

  it('suggests commands against the kept sandbox only with --keep', () => {
    expect(nextCommands(summary, false)).toEqual(['dpc export verify /tmp/d/export/g-1', 'dpc sandbox start --seed', 'dpc demo --keep']);
    expect(nextCommands(summary, true)).toContain('dpc group list');
    expect(formatSummary({ ...summary, patientErrors: { total: 0, reasons: [] } }, true)).toMatch(/patient errors +none/);
  });
});
