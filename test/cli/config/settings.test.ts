import { describe, expect, it } from 'vitest';
import { missingCredentials, resolveSettings, type ConfigFile } from '../../../src/cli/config/settings.js';

const KID_FILE = '11111111-1111-4111-8111-111111111111';
const KID_ENV = '22222222-2222-4222-8222-222222222222';
const KID_FLAG = '33333333-3333-4333-8333-333333333333';

const file: ConfigFile = {
  defaultProfile: 'local',
  profiles: {
    local: { baseUrl: 'http://127.0.0.1:9/api/v1', clientToken: 'file-token', privateKey: '/file/key.pem', keyId: KID_FILE },
    prod: { clientToken: 'prod-token' },
    smart: { baseUrl: 'https://ehr.example/fhir', tokenUrl: 'https://ehr.example/oauth/token', scope: 'system/*.read', jwtType: false },
  },
};

describe('resolveSettings', () => {
  it('takes flags over env over the file', () => {
    const env = { DPC_CLIENT_TOKEN: 'env-token', DPC_KEY_ID: KID_ENV };
    const s = resolveSettings({ keyId: KID_FLAG }, env, file);
    expect(s).toMatchObject({ profile: 'local', baseUrl: 'http://127.0.0.1:9/api/v1', clientToken: 'env-token', privateKeyPath: '/file/key.pem', keyId: KID_FLAG });
    expect(s.sources).toEqual({ profile: 'file', baseUrl: 'file', clientToken: 'env', privateKeyPath: 'file', keyId: 'flag' });
  });

  it('picks the profile from flag, then DPC_PROFILE, then the file default, then sandbox', () => {
    expect(resolveSettings({ profile: 'prod' }, { DPC_PROFILE: 'local' }, file).profile).toBe('prod');
    expect(resolveSettings({}, { DPC_PROFILE: 'prod' }, file).profile).toBe('prod');
    expect(resolveSettings({}, {}, undefined)).toMatchObject({ profile: 'sandbox', baseUrl: 'https://sandbox.dpc.cms.gov/api/v1', sources: { profile: 'default', baseUrl: 'default' } });
  });

  it('fills known base URLs for the sandbox, prod and local profiles', () => {
    expect(resolveSettings({ profile: 'prod' }, {}, file)).toMatchObject({ baseUrl: 'https://prod.dpc.cms.gov/api/v1', clientToken: 'prod-token' });
    expect(resolveSettings({ profile: 'local' }, {}, undefined).baseUrl).toBe('http://127.0.0.1:3002/api/v1') // what `dpc sandbox start` listens on and prints;
    expect(resolveSettings({}, { DPC_BASE_URL: 'http://other/api/v1' }, undefined).baseUrl).toBe('http://other/api/v1');
  });

  it('carries the generic SMART settings and env-only secrets', () => {
    const s = resolveSettings({ profile: 'smart' }, { DPC_KEY_PASSPHRASE: 'pw', DPC_ACCESS_TOKEN: '' }, file);
    expect(s).toMatchObject({ tokenUrl: 'https://ehr.example/oauth/token', scope: 'system/*.read', jwtType: false, passphrase: 'pw', accessToken: undefined });
  });

  it('rejects an unknown profile naming the file and the known ones', () => {
    expect(() => resolveSettings({ profile: 'staging' }, {}, file, '/home/u/.config/dpc/config.json')).toThrow(
      'profile "staging" is not in /home/u/.config/dpc/config.json (known: local, prod, smart, sandbox); run `dpc init --profile staging`',
    );
  });

  it('treats empty values as unset', () => {
    const s = resolveSettings({ clientToken: '' }, { DPC_CLIENT_TOKEN: '' }, file);
    expect(s.clientToken).toBe('file-token');
  });
});

describe('missingCredentials', () => {
  it('names each missing setting with its flag and env var', () => {
    expect(missingCredentials(resolveSettings({ profile: 'prod' }, {}, file))).toEqual([
      'private key (--private-key, DPC_PRIVATE_KEY)',
      'key id (--key-id, DPC_KEY_ID)',
    ]);
    expect(missingCredentials(resolveSettings({}, {}, file))).toEqual([]);
  });
});
