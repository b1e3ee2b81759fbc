/** Malformed config files: invalid JSON, wrong types, unknown settings, bad URLs and key ids, unknown profiles. */
import type { FuzzCase, Random } from './common.js';

const UUID = () => '8f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';

export function configCase(r: Random, n: number): FuzzCase {
  const file = `config-${n}.json`;
  const custom = r.pick(['prod2', 'clinic', 'local-dev']);
  const config: Record<string, any> = {
    defaultProfile: 'sandbox',
    profiles: {
      sandbox: { clientToken: 'W3sidiI6Mn0', privateKey: '/keys/private.pem', keyId: UUID() },
      [custom]: { baseUrl: 'https://dpc.example.org/api/v1', clientToken: 'tok', privateKey: 'k.pem', keyId: UUID(), jwtType: r.chance(0.5) },
    },
  };
  const p = r.pick(['sandbox', custom]);
  const at = `profiles.${p}`;
  const kind = r.pick(['invalid-json', 'top-level', 'unknown-top', 'profiles-type', 'profile-type', 'unknown-key', 'key-id', 'key-id-type', 'url', 'empty-string', 'jwt-type', 'custom-without-url', 'default-unknown', 'default-type', 'prototype-names']);
  let where: string;
  let problem: RegExp;
  let text: string | undefined;
  switch (kind) {
    case 'invalid-json': {
      const full = JSON.stringify(config, null, 2);
      text = r.pick([full.slice(0, r.int(0, full.length - 2)), full.replace('"profiles"', 'profiles'), `${full},`, full.replace(/"/, "'"), '\u0000']);
      where = `${file}: `;
      problem = /not valid JSON/;
      break;
    }
    case 'top-level':
      text = JSON.stringify(r.pick([[], 'x', 1, null, true]));
      where = `${file}: `;
      problem = /the top level must be an object/;
      break;
    case 'unknown-top': {
      const key = r.pick(['profile', 'default', 'version', 'baseUrl']);
      config[key] = 'x';
      where = `${file}: ${key}`;
      problem = /unknown setting/;
      break;
    }
    case 'profiles-type':
      config.profiles = r.pick([[], 'sandbox', 3, null]);
      config.defaultProfile = 'sandbox';
      where = `${file}: profiles`;
      problem = /must be an object of named profiles/;
      break;
    case 'profile-type':
      config.profiles[p] = r.pick([[], 'x', 3, null, true]);
      where = `${file}: ${at}`;
      problem = /must be an object/;
      break;
    case 'unknown-key': {
      const key = r.pick(['privateKeyPath', 'client_token', 'kid', 'url', 'token']);
      config.profiles[p][key] = 'x';
      where = `${file}: ${at}.${key}`;
      problem = /unknown setting/;
      break;
    }
    case 'key-id':
      config.profiles[p].keyId = r.pick(['not-a-uuid', '1234', '8f1c2b3a4d5e4f608a7b9c0d1e2f3a4b', 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz']);
      where = `${file}: ${at}.keyId`;
      problem = /not a UUID/;
      break;
    case 'key-id-type': {
      const key = r.pick(['keyId', 'clientToken', 'privateKey', 'scope']);
      config.profiles[p][key] = r.pick([5, true, ['x'], { id: 1 }]);
      where = `${file}: ${at}.${key}`;
      problem = /must be a non-empty string/;
      break;
    }
    case 'url': {
      const key = p === custom ? r.pick(['baseUrl', 'tokenUrl']) : 'tokenUrl';
      config.profiles[p][key] = r.pick(['ftp://x/api/v1', 'sandbox.dpc.cms.gov', 'file:///etc/passwd', 'http//missing-colon', 'javascript:alert(1)']);
      where = `${file}: ${at}.${key}`;
      problem = /not an http\(s\) URL/;
      break;
    }
    case 'empty-string': {
      const key = r.pick(['clientToken', 'privateKey', 'scope']);
      config.profiles[p][key] = '';
      where = `${file}: ${at}.${key}`;
      problem = /must be a non-empty string/;
      break;
    }
    case 'jwt-type':
      config.profiles[p].jwtType = r.pick(['true', 1, 'yes', null]);
      where = `${file}: ${at}.jwtType`;
      problem = /must be true or false/;
      break;
    case 'custom-without-url':
      delete config.profiles[custom].baseUrl;
      where = `${file}: profiles.${custom}.baseUrl`;
      problem = /required for a custom profile/;
      break;
    case 'default-unknown':
      config.defaultProfile = r.pick(['staging', 'Sandbox', 'prod ']);
      where = `${file}: defaultProfile`;
      problem = /is not a profile here/;
      break;
    case 'default-type':
      config.defaultProfile = r.pick([1, true, ['sandbox'], { name: 'sandbox' }]);
      where = `${file}: defaultProfile`;
      problem = /must be a string/;
      break;
    default: {
      // names that exist on every object's prototype are still unknown profiles
      const name = r.pick(['toString', 'constructor', 'hasOwnProperty', 'valueOf']);
      if (r.chance(0.5)) {
        config.defaultProfile = name;
        where = `${file}: defaultProfile`;
        problem = /is not a profile here/;
      } else {
        config.profiles[name] = { clientToken: 'tok' };
        where = `${file}: profiles.${name}.baseUrl`;
        problem = /required for a custom profile/;
      }
      break;
    }
  }
  return { id: `config#${n} ${kind}`, kind, file, content: text ?? JSON.stringify(config, null, 2), where, problem, code: 'ERR_CONFIG', exitCode: 2 };
}
