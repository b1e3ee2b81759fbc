/** Durations as people type them on the command line: `14d`, `36h`, `90m`, `30s`, `500ms`, or combined like `1d12h`. */
import { DpcError } from '../errors.js';

const UNIT_MS: Record<string, number> = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** `field` names the option being parsed in the error (`pollInterval`, `within`). */
export function parseDuration(text: string, field = 'duration'): number {
  const trimmed = text.trim().toLowerCase();
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|[wdhms])/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== trimmed) {
    throw new DpcError('ERR_USAGE', `${field}: invalid duration ${JSON.stringify(text)} (use e.g. 14d, 36h, 1d12h)`, { field });
  }
  return parts.reduce((ms, p) => ms + Number(p[1]) * UNIT_MS[p[2]!]!, 0);
}
