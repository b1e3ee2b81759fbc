/**
 * The profiles file: `<XDG_CONFIG_HOME or ~/.config>/dpc/config.json` (or --config / DPC_CONFIG), validated with
 * messages like `config.json: profiles.prod.keyId: not a UUID`, written owner-only because it holds client tokens.
 */
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DpcError } from '../../errors.js';
import { writeOwnerOnly } from '../../fs.js';
import { isObject } from '../../json.js';
import { keyIdFits } from '../../auth/assertion-check.js';
import { knownBaseUrl, type ConfigFile, type Env, type ProfileConfig } from './settings.js';

/** Where the config file lives: explicit path > DPC_CONFIG > XDG_CONFIG_HOME > ~/.config. */
export function configPath(env: Env, explicit?: string): string {
  if (explicit) return explicit;
  if (env.DPC_CONFIG) return env.DPC_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'dpc', 'config.json');
}

const PROFILE_KEYS = new Set(['baseUrl', 'clientToken', 'privateKey', 'keyId', 'tokenUrl', 'scope', 'jwtType', 'auth']);

/** Pure: parse and validate the file's text; every problem is reported, one per detail line. */
export function parseConfig(text: string, path: string): ConfigFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new DpcError('ERR_CONFIG', `${path}: not valid JSON (${(cause as Error).message})`, { cause, location: path });
  }
  const problems = validateConfig(raw);
  if (problems.length > 0) {
    const [first, ...rest] = problems.map((p) => `${path}: ${p}`);
    throw new DpcError('ERR_CONFIG', rest.length > 0 ? `${first} (and ${rest.length} more)` : first!, { location: path, details: rest });
  }
  return raw as ConfigFile;
}

/** Pure: the problems of a parsed config, as `field.path: message`. */
export function validateConfig(raw: unknown): string[] {
  if (!isObject(raw)) return ['the top level must be an object {"profiles": {...}}'];
  const problems: string[] = [];
  for (const key of Object.keys(raw)) {
    if (key !== 'profiles' && key !== 'defaultProfile') problems.push(`${key}: unknown setting`);
  }
  if (raw.defaultProfile !== undefined && typeof raw.defaultProfile !== 'string') problems.push('defaultProfile: must be a string');
  if (!isObject(raw.profiles)) {
    problems.push('profiles: must be an object of named profiles');
    return problems;
  }
  for (const [name, profile] of Object.entries(raw.profiles)) {
    const at = `profiles.${name}`;
    if (!isObject(profile)) {
      problems.push(`${at}: must be an object`);
      continue;
    }
    for (const key of Object.keys(profile)) {
      if (!PROFILE_KEYS.has(key)) problems.push(`${at}.${key}: unknown setting`);
    }
    for (const key of ['baseUrl', 'clientToken', 'privateKey', 'keyId', 'tokenUrl', 'scope'] as const) {
      if (profile[key] !== undefined && (typeof profile[key] !== 'string' || profile[key] === '')) problems.push(`${at}.${key}: must be a non-empty string`);
    }
    if (profile.jwtType !== undefined && typeof profile.jwtType !== 'boolean') problems.push(`${at}.jwtType: must be true or false`);
    if (profile.auth !== undefined && profile.auth !== 'none') problems.push(`${at}.auth: must be "none" (an open server) or absent`);
    if (typeof profile.keyId === 'string' && profile.keyId !== '' && !keyIdFits(profile.keyId, typeof profile.tokenUrl === 'string' ? profile.tokenUrl : undefined)) {
      problems.push(`${at}.keyId: not a UUID (DPC key ids are; set tokenUrl for a generic SMART server)`);
    }
    for (const key of ['baseUrl', 'tokenUrl'] as const) {
      if (typeof profile[key] === 'string' && !isHttpUrl(profile[key])) problems.push(`${at}.${key}: not an http(s) URL`);
    }
    if (profile.baseUrl === undefined && knownBaseUrl(name) === undefined) problems.push(`${at}.baseUrl: required for a custom profile`);
  }
  if (typeof raw.defaultProfile === 'string' && !Object.hasOwn(raw.profiles, raw.defaultProfile) && knownBaseUrl(raw.defaultProfile) === undefined) {
    problems.push(`defaultProfile: "${raw.defaultProfile}" is not a profile here`);
  }
  return problems;
}

/** Read the config file; a missing file is `undefined`, anything else wrong is ERR_CONFIG. */
export async function readConfig(path: string): Promise<ConfigFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DpcError('ERR_CONFIG', `${path}: cannot read (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message})`, { cause, location: path });
  }
  return parseConfig(text, path);
}

/** Pure: the file with one profile replaced (fields merged over the stored ones). */
export function withProfile(config: ConfigFile | undefined, name: string, profile: ProfileConfig, makeDefault: boolean): ConfigFile {
  const profiles = { ...config?.profiles, [name]: { ...config?.profiles[name], ...dropUndefined(profile) } };
  const defaultProfile = makeDefault || config?.defaultProfile === undefined ? name : config.defaultProfile;
  return { defaultProfile, profiles };
}

/** Write the config atomically, 0600 in a 0700 directory. */
export async function writeConfig(path: string, config: ConfigFile): Promise<void> {
  const problems = validateConfig(config);
  if (problems.length > 0) throw new DpcError('ERR_CONFIG', `${path}: ${problems[0]}`, { location: path, details: problems.slice(1) });
  await writeOwnerOnly(path, `${JSON.stringify(config, null, 2)}\n`);
}

/** A warning when a private key file can be read by group or others, else undefined. */
export async function keyFileWarning(path: string): Promise<string | undefined> {
  if (process.platform === 'win32') return undefined;
  try {
    const { mode } = await stat(path);
    if ((mode & 0o077) !== 0) {
      return `${path} is readable by others (mode ${(mode & 0o777).toString(8).padStart(3, '0')}); run: chmod 600 ${path}`;
    }
  } catch {
    // reading the key reports a missing file properly
  }
  return undefined;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
