/** Which export runs hold only what changed (`_since`): the merge reads back to the last full run. Pure. */
import { describe, expect, it } from 'vitest';
import { isIncremental } from '../../src/tables/sources.js';

const BASE = 'http://127.0.0.1:3002/api/v1/Group/7f5b2c1e-0000-4000-8000-000000000001/$export';

describe('isIncremental', () => {
  it('reads the kick-off this client sent when the manifest has it', () => {
    expect(isIncremental({ request: '', requestSent: `${BASE}?_type=Patient&_since=2026-01-01T00:00:00Z` })).toBe(true);
    expect(isIncremental({ request: `${BASE}_since=2026-01-01T00:00:00Z`, requestSent: `${BASE}?_type=Patient` })).toBe(false);
  });

  it("reads DPC's echo, whose query string follows $export without a ?", () => {
    expect(isIncremental({ request: `${BASE}_since=2026-01-01T00:00:00.000Z&_type=Patient` })).toBe(true);
    expect(isIncremental({ request: `${BASE}_type=Patient&_since=2026-01-01T00:00:00.000Z` })).toBe(true);
    expect(isIncremental({ request: `${BASE}_type=Patient,Coverage` })).toBe(false);
    expect(isIncremental({ request: `${BASE}?_type=Patient&x_since=1` })).toBe(false);
  });
});
