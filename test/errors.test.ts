/** DpcError helpers. Pure. */
import { expect, it } from 'vitest';
import { DpcError, restated } from '../src/errors.js';

it('restated: a new code and message for the same failure, keeping its status, request id, location and cause', () => {
  const original = new DpcError('ERR_SERVER', 'GET /x failed with 504: gateway', { status: 504, requestId: 'r-1', location: '/x', details: ['d'], field: 'f' });
  const told = restated(original, 'ERR_TIMEOUT', 'timed out');
  expect(told).toBeInstanceOf(DpcError);
  expect({ code: told.code, message: told.message, status: told.status, requestId: told.requestId, location: told.location, details: told.details, field: told.field }).toEqual({
    code: 'ERR_TIMEOUT', message: 'timed out', status: 504, requestId: 'r-1', location: '/x', details: [], field: undefined,
  });
  expect(told.cause).toBe(original);
  const overridden = restated(original, 'ERR_FORBIDDEN', 'withheld', { status: 403, details: original.details });
  expect([overridden.status, overridden.details, overridden.requestId]).toEqual([403, ['d'], 'r-1']);
});
