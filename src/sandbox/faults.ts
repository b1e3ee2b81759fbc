/**
 * The test-mode fault request (`POST /__admin/faults`), checked field by field: a malformed one is refused with 400
 * naming the field, instead of being stored and silently doing nothing (`{"wrongChecksum": true}` used to be); and
 * the firing of a request-level counted fault.
 */
import type { SandboxFaults } from './export/contract.js';
import { isRecord } from './shape.js';

type Check = (value: unknown) => string | undefined;

const positiveInt: Check = (v) => (Number.isInteger(v) && (v as number) >= 0 ? undefined : 'a whole number ≥ 0');
const text: Check = (v) => (typeof v === 'string' ? undefined : 'a string');
const oneOf = (...values: readonly unknown[]): Check => (v) => (values.includes(v) ? undefined : `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`);

/** Each fault's fields: required ones, and optional ones marked with `?`. */
const SHAPES: Record<keyof SandboxFaults, Record<string, Check> | Check> = {
  throttle: { status: oneOf(429, 503, 500), count: positiveInt, 'retryAfter?': oneOf('seconds', 'http-date', 'none'), 'retryAfterSeconds?': positiveInt, 'pathIncludes?': text },
  cutAtByte: { bytes: positiveInt, count: positiveInt, 'fileIncludes?': text },
  truncateBy: { bytes: positiveInt, count: positiveInt, 'fileIncludes?': text },
  wrongChecksum: { fileIncludes: text },
  slowFirstByteMs: positiveInt,
  everythingTimeout: { count: positiveInt, 'status?': oneOf(500, 504) },
};

/** Pure: the problems of a fault request body, as `field: expected …` (empty when it is a valid SandboxFaults). */
export function faultProblems(body: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(body)) {
    const shape = Object.hasOwn(SHAPES, name) ? SHAPES[name as keyof SandboxFaults] : undefined;
    if (shape === undefined) {
      problems.push(`${name}: not a fault (known: ${Object.keys(SHAPES).join(', ')})`);
    } else if (typeof shape === 'function') {
      const expected = shape(value);
      if (expected) problems.push(`${name}: expected ${expected}`);
    } else if (!isRecord(value)) {
      problems.push(`${name}: expected an object {${Object.keys(shape).join(', ')}}`);
    } else {
      for (const [key, check] of Object.entries(shape)) {
        const field = key.replace(/\?$/, '');
        const present = Object.hasOwn(value, field);
        if (!present && !key.endsWith('?')) problems.push(`${name}.${field}: required`);
        const expected = present ? check(value[field]) : undefined;
        if (expected) problems.push(`${name}.${field}: expected ${expected}`);
      }
      for (const field of Object.keys(value)) {
        if (!Object.hasOwn(shape, field) && !Object.hasOwn(shape, `${field}?`)) problems.push(`${name}.${field}: unknown field`);
      }
    }
  }
  return problems;
}

/**
 * Uses up one occurrence of a request-level counted fault (`throttle`, `everythingTimeout`) when it is armed and
 * `applies` to this request, and removes it once used up, so `GET /__admin/faults` no longer lists it. Returns the
 * fault when it fires.
 */
export function fireFault<K extends 'throttle' | 'everythingTimeout'>(
  faults: SandboxFaults,
  name: K,
  applies: (fault: NonNullable<SandboxFaults[K]>) => boolean = () => true,
): NonNullable<SandboxFaults[K]> | undefined {
  const fault = faults[name] as NonNullable<SandboxFaults[K]> | undefined;
  if (!fault || fault.count <= 0 || !applies(fault)) return undefined;
  fault.count -= 1;
  if (fault.count <= 0) delete faults[name];
  return fault;
}
