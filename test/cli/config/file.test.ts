import { mkdtemp, readFile, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configPath, keyFileWarning, parseConfig, readConfig, validateConfig, withProfile, writeConfig } from '../../../src/cli/config/file.js';
import { DpcError } from '../../../src/errors.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dpc-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('configPath', () => {
  it('prefers the explicit path, then DPC_CONFIG, then XDG_CONFIG_HOME, then ~/.config', () => {
    expect(configPath({ DPC_CONFIG: '/a.json' }, '/explicit.json')).toBe('/explicit.json');
    expect(configPath({ DPC_CONFIG: '/a.json', XDG_CONFIG_HOME: '/x' })).toBe('/a.json');
    expect(configPath({ XDG_CONFIG_HOME: '/x', HOME: '/h' })).toBe('/x/dpc/config.json');
    expect(configPath({ HOME: '/h' })).toBe('/h/.config/dpc/config.json');
  });
});

describe('validateConfig', () => {
  it('reports every problem with its field path', () => {
    const problems = validateConfig({
      profiles: {
        prod: { keyId: 'abc', baseUrl: 'ftp://x', extra: 1 },
        custom: { clientToken: '' },
        sandbox: { jwtType: 'yes' },
      },
      defaultProfile: 'nope',
    });
    expect(problems).toEqual([
      'profiles.prod.extra: unknown setting',
      'profiles.prod.keyId: not a UUID (DPC key ids are; set tokenUrl for a generic SMART server)',
      'profiles.prod.baseUrl: not an http(s) URL',
      'profiles.custom.clientToken: must be a non-empty string',
      'profiles.custom.baseUrl: required for a custom profile',
      'profiles.sandbox.jwtType: must be true or false',
      'defaultProfile: "nope" is not a profile here',
    ]);
    expect(validateConfig([])).toEqual(['the top level must be an object {"profiles": {...}}']);
  });

  it('accepts any non-empty kid for a generic SMART server (tokenUrl set); only DPC key ids must be UUIDs', () => {
    const smart = { baseUrl: 'https://ehr.example.org/fhir', tokenUrl: 'https://ehr.example.org/token', keyId: 'my-key-2024' };
    expect(validateConfig({ profiles: { smart } })).toEqual([]);
    expect(validateConfig({ profiles: { smart: { ...smart, keyId: '' } } })).toEqual(['profiles.smart.keyId: must be a non-empty string']);
  });

  it('parseConfig throws one line naming the file, with the rest as details', () => {
    try {
      parseConfig(JSON.stringify({ profiles: { prod: { keyId: 'x', baseUrl: 'nope' } } }), 'config.json');
      expect.unreachable();
    } catch (error) {
      const e = error as DpcError;
      expect(e.code).toBe('ERR_CONFIG');
      expect(e.message).toBe('config.json: profiles.prod.keyId: not a UUID (DPC key ids are; set tokenUrl for a generic SMART server) (and 1 more)');
      expect(e.details).toEqual(['config.json: profiles.prod.baseUrl: not an http(s) URL']);
    }
    expect(() => parseConfig('{', 'c.json')).toThrow(/^c\.json: not valid JSON/);
  });
});

describe('reading and writing', () => {
  it('a missing file is no config; a written one is 0600 in a 0700 directory and round-trips', async () => {
    const path = join(dir, 'nested', 'dpc', 'config.json');
    expect(await readConfig(path)).toBeUndefined();
    const config = withProfile(undefined, 'local', { baseUrl: 'http://127.0.0.1:1/api/v1', clientToken: 'tok', keyId: undefined }, false);
    expect(config).toEqual({ defaultProfile: 'local', profiles: { local: { baseUrl: 'http://127.0.0.1:1/api/v1', clientToken: 'tok' } } });
    await writeConfig(path, config);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'nested', 'dpc'))).mode & 0o777).toBe(0o700);
    expect(await readConfig(path)).toEqual(config);

    const updated = withProfile(config, 'prod', { clientToken: 'p' }, false);
    expect(updated.defaultProfile).toBe('local');
    expect(withProfile(updated, 'local', { keyId: '11111111-1111-4111-8111-111111111111' }, false).profiles.local).toEqual({
      baseUrl: 'http://127.0.0.1:1/api/v1', clientToken: 'tok', keyId: '11111111-1111-4111-8111-111111111111',
    });
  });

  it('refuses to write an invalid config and reports an unreadable one', async () => {
    await expect(writeConfig(join(dir, 'bad.json'), { profiles: { x: {} } })).rejects.toThrow('profiles.x.baseUrl: required for a custom profile');
    const path = join(dir, 'broken.json');
    await writeFile(path, '{"profiles": 3}');
    await expect(readConfig(path)).rejects.toThrow(`${path}: profiles: must be an object of named profiles`);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ profiles: 3 });
  });

  it('warns when a key file is readable by group or others', async () => {
    const key = join(dir, 'key.pem');
    await writeFile(key, 'x', { mode: 0o600 });
    expect(await keyFileWarning(key)).toBeUndefined();
    await chmod(key, 0o644);
    expect(await keyFileWarning(key)).toBe(`${key} is readable by others (mode 644); run: chmod 600 ${key}`);
  });
});
