/** `POST /__admin/faults` (test mode) refuses a malformed request with 400 naming the field, over loopback. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminPaths } from '../../src/sandbox/admin-contract.js';
import { faultProblems } from '../../src/sandbox/faults.js';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';

describe('fault requests (pure)', () => {
  it('accepts the documented faults and names what is wrong otherwise', () => {
    expect(faultProblems({ wrongChecksum: { fileIncludes: 'Patient' }, slowFirstByteMs: 50, throttle: { status: 429, count: 1, retryAfter: 'none' } })).toEqual([]);
    expect(faultProblems({ wrongChecksum: true })).toEqual(['wrongChecksum: expected an object {fileIncludes}']);
    expect(faultProblems({ cutAtByte: { bytes: -1, count: 1, extra: 1 }, nope: 1, throttle: { status: 418, count: 1 } })).toEqual([
      'cutAtByte.bytes: expected a whole number ≥ 0',
      'cutAtByte.extra: unknown field',
      'nope: not a fault (known: throttle, cutAtByte, truncateBy, wrongChecksum, slowFirstByteMs, everythingTimeout)',
      'throttle.status: expected one of 429, 503, 500',
    ]);
    expect(faultProblems({ truncateBy: { count: 1 } })).toEqual(['truncateBy.bytes: required']);
    expect(faultProblems({ everythingTimeout: { count: 1 } })).toEqual([]);
    expect(faultProblems({ everythingTimeout: { count: 1, status: 503 } })).toEqual(['everythingTimeout.status: expected one of 500, 504']);
  });
});

describe('POST /__admin/faults over loopback', () => {
  let sandbox: SandboxHandle;
  beforeAll(async () => {
    sandbox = await startSandbox({ testMode: true });
  });
  afterAll(() => sandbox.close());

  const post = (body: unknown) =>
    fetch(`${sandbox.origin}${adminPaths.faults()}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  it('refuses {"wrongChecksum": true} with 400 and sets nothing; a valid request is in force', async () => {
    const refused = await post({ wrongChecksum: true });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(await refused.json())).toContain('Invalid fault request: wrongChecksum: expected an object {fileIncludes}');
    const accepted = await post({ wrongChecksum: { fileIncludes: 'Coverage' } });
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toEqual({ wrongChecksum: { fileIncludes: 'Coverage' } });
    const cleared = await fetch(`${sandbox.origin}${adminPaths.faults()}`, { method: 'DELETE' });
    expect(await cleared.json()).toEqual({});
  });
});
