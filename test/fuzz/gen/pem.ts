/** Malformed PEM private keys: damaged armour or body, the wrong kind of key, too small, encrypted without a passphrase. */
import type { FuzzCase, Random } from './common.js';

export interface PemSources {
  /** PKCS#8 of a 4096-bit RSA key. */
  pkcs8: string;
  /** PKCS#1 (`BEGIN RSA PRIVATE KEY`) of the same key. */
  pkcs1: string;
  /** A 1024-bit RSA key (too small). */
  small: string;
  /** An Ed25519 key in PKCS#8 armour. */
  ed25519: string;
  publicPem: string;
}

export function pemCase(r: Random, n: number, keys: PemSources): FuzzCase {
  const file = `key-${n}.pem`;
  const base = r.pick([keys.pkcs8, keys.pkcs1]);
  const lines = base.trim().split('\n');
  const begin = lines[0]!;
  const end = lines.at(-1)!;
  const body = lines.slice(1, -1);
  const b64 = body.join('');
  const rewrap = (s: string) => s.match(/.{1,64}/g)!.join('\n');
  const kind = r.pick(['truncated', 'no-end', 'bad-char', 'header-bytes', 'end-label', 'double-begin', 'indented', 'public', 'ec', 'encrypted', 'proc-type', 'no-begin', 'empty', 'random', 'small', 'ed25519', 'body-only']);
  let content: string;
  let problem: RegExp;
  const damaged = /the PEM is damaged or not an RSA private key/;
  switch (kind) {
    case 'truncated':
      content = `${begin}\n${rewrap(b64.slice(0, r.int(8, b64.length - 80)))}\n${end}\n`;
      problem = damaged;
      break;
    case 'no-end':
      content = `${begin}\n${body.slice(0, r.int(1, body.length)).join('\n')}\n`;
      problem = damaged;
      break;
    case 'bad-char': {
      const i = r.int(10, b64.length - 10);
      content = `${begin}\n${rewrap(b64.slice(0, i) + r.pick([...'!*@#$%^&(){}[]']) + b64.slice(i + 1))}\n${end}\n`;
      problem = damaged;
      break;
    }
    case 'header-bytes':
      content = `${begin}\n${rewrap(r.pick(['AAAA', '////', 'ZZZZ']) + b64.slice(4))}\n${end}\n`;
      problem = damaged;
      break;
    case 'end-label':
      content = `${begin}\n${body.join('\n')}\n${end.includes('RSA') ? '-----END PRIVATE KEY-----' : '-----END RSA PRIVATE KEY-----'}\n`;
      problem = damaged;
      break;
    case 'double-begin':
      content = `${begin}\n${base}`;
      problem = damaged;
      break;
    case 'indented':
      content = base.replace(/\n(?=.)/g, `\n${r.pick([' ', '\t', '  '])}`);
      problem = damaged;
      break;
    case 'public':
      content = keys.publicPem;
      problem = /this is a public key; give the private key/;
      break;
    case 'ec':
      content = `-----BEGIN EC PRIVATE KEY-----\n${body.slice(0, 3).join('\n')}\n-----END EC PRIVATE KEY-----\n`;
      problem = /not an RSA key \(ec\)/;
      break;
    case 'encrypted':
      content = `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${body.join('\n')}\n-----END ENCRYPTED PRIVATE KEY-----\n`;
      problem = /the key is encrypted; give its passphrase/;
      break;
    case 'proc-type':
      content = `-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\n${body.join('\n')}\n-----END RSA PRIVATE KEY-----\n`;
      problem = /the key is encrypted; give its passphrase/;
      break;
    case 'no-begin':
      content = `${body.join('\n')}\n${end}\n`;
      problem = /not a PEM private key \(no "-----BEGIN PRIVATE KEY-----" line\)/;
      break;
    case 'empty':
      content = r.pick(['', '\n', '   \n\n']);
      problem = /not a PEM private key/;
      break;
    case 'random':
      content = Array.from({ length: r.int(1, 400) }, () => String.fromCharCode(r.int(32, 126))).join('').replace(/-----BEGIN/g, '');
      problem = /not a PEM private key/;
      break;
    case 'small':
      content = keys.small;
      problem = /RSA key is 1024 bits; at least 2048 are required/;
      break;
    case 'ed25519':
      content = keys.ed25519;
      problem = /not an RSA key \(ed25519\)/;
      break;
    default: // body-only
      content = b64;
      problem = /not a PEM private key/;
      break;
  }
  return { id: `pem#${n} ${kind}`, kind, file, content, where: `${file}: `, problem, code: 'ERR_KEY', exitCode: 2 };
}
