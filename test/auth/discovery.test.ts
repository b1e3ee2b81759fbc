/** The token URL a SMART 1 CapabilityStatement announces, read from a server's JSON without trusting its shape. Pure. */
import { expect, it } from 'vitest';
import { capabilityTokenUrl } from '../../src/auth/discovery.js';

const OAUTH_URIS = 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris';
const withRest = (rest: unknown) => ({ resourceType: 'CapabilityStatement', rest });
const security = (extension: unknown) => ({ mode: 'server', security: { extension } });

it('finds the token URI in any rest entry, skipping entries, extensions and values of the wrong shape', () => {
  const token = { url: 'token', valueUri: 'https://auth.example/token' };
  expect(capabilityTokenUrl(withRest([null, 'rest', 7, { security: 'none' }, security([{ url: OAUTH_URIS, extension: [null, 'token', token] }])]))).toBe(
    'https://auth.example/token',
  );
  expect(capabilityTokenUrl(withRest([security([null, 3, { url: OAUTH_URIS, extension: [{ url: 'token', valueUrl: 'https://auth.example/t' }] }])]))).toBe('https://auth.example/t');
});

it('finds nothing in hostile shapes instead of throwing', () => {
  for (const statement of [null, 'x', [], withRest('rest'), withRest({}), withRest([security('ext')]), withRest([security([{ url: OAUTH_URIS, extension: 'token' }])])]) {
    expect(capabilityTokenUrl(statement)).toBeUndefined();
  }
  expect(capabilityTokenUrl(withRest([security([{ url: OAUTH_URIS, extension: [{ url: 'token', valueUri: 42 }] }])]))).toBeUndefined();
});
