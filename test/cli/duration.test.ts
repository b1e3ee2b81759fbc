import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/cli/duration.js';

describe('parseDuration', () => {
  it('reads days, hours, minutes, seconds, milliseconds and combinations', () => {
    expect(parseDuration('14d')).toBe(14 * 86_400_000);
    expect(parseDuration('36h')).toBe(36 * 3_600_000);
    expect(parseDuration('1d12h')).toBe(36 * 3_600_000);
    expect(parseDuration('20s', 'pollInterval')).toBe(20_000);
    expect(parseDuration('500ms', 'pollInterval')).toBe(500);
    expect(parseDuration('1m30s', 'pollInterval')).toBe(90_000);
  });
  it('rejects anything else naming the field', () => {
    expect(() => parseDuration('14', 'within')).toThrow('within: invalid duration "14"');
    expect(() => parseDuration('2 weeks', 'within')).toThrow(expect.objectContaining({ field: 'within' }));
    expect(() => parseDuration('soon', 'pollInterval')).toThrow(/^pollInterval: invalid duration "soon"/);
  });
});
