import { describe, expect, it } from 'vitest';
import { cliMessage } from '../../src/cli/fields.js';
import { DpcError } from '../../src/errors.js';

describe('CLI names for library fields', () => {
  it('opens with the flag when the message opens with the field', () => {
    const error = new DpcError('ERR_INPUT', 'since "yesterday" is in the future', { field: 'since' });
    expect(cliMessage(error)).toBe('--since "yesterday" is in the future');
    expect(cliMessage(new DpcError('ERR_USAGE', 'within: invalid duration "14"', { field: 'within' }))).toBe('--within: invalid duration "14"');
    expect(cliMessage(new DpcError('ERR_INPUT', 'types "x" is not a FHIR resource type name', { field: 'types' }))).toBe('--type "x" is not a FHIR resource type name');
  });

  it('otherwise says how to set the field in brackets', () => {
    const error = new DpcError('ERR_KEY', 'k.pem: the key is encrypted; give its passphrase', { field: 'passphrase' });
    expect(cliMessage(error)).toBe('k.pem: the key is encrypted; give its passphrase (--passphrase-file or DPC_KEY_PASSPHRASE)');
    expect(cliMessage(new DpcError('ERR_USAGE', 'outDir is required to download a job URL', { field: 'outDir' }))).toBe('--out is required to download a job URL');
    expect(cliMessage(new DpcError('ERR_CONFIG', 'https://x/fhir announces no token endpoint (…); give tokenUrl', { field: 'tokenUrl' }))).toBe('https://x/fhir announces no token endpoint (…); give tokenUrl (--token-url)');
    expect(cliMessage(new DpcError('ERR_INPUT', 'maxWaitMs must be a positive number of milliseconds up to 2147483647, got 2592000000', { field: 'maxWaitMs' }))).toBe('--max-wait must be a positive number of milliseconds up to 2147483647, got 2592000000');
  });

  it('leaves messages without a known field alone', () => {
    expect(cliMessage(new DpcError('ERR_INPUT', 'sinceX is odd', { field: 'nonsense' }))).toBe('sinceX is odd');
    expect(cliMessage(new DpcError('ERR_INPUT', 'toString', { field: 'toString' }))).toBe('toString');
    expect(cliMessage(new DpcError('ERR_INPUT', 'no field here'))).toBe('no field here');
  });
});
