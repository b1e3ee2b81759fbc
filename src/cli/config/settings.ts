/**
 * Pure configuration resolution: command-line flags > environment > config file profile > known defaults.
 * No I/O here; the file is read and validated by `file.ts`.
 */
import { DpcError } from '../../errors.js';

export const KNOWN_PROFILES: Readonly<Record<string, string>> = {
  sandbox: 'https://sandbox.dpc.cms.gov/api/v1',
  prod: 'https://prod.dpc.cms.gov/api/v1',
  local: 'http://127.0.0.1:3002/api/v1',
};
export const DEFAULT_PROFILE = 'sandbox';

/** The built-in base URL of a profile name; own keys only, so `toString` or `constructor` are not profiles. */
export function knownBaseUrl(name: string): string | undefined {
  return Object.hasOwn(KNOWN_PROFILES, name) ? KNOWN_PROFILES[name] : undefined;
}

/** One profile as stored in config.json. */
export interface ProfileConfig {
  baseUrl?: string;
  clientToken?: string;
  /** Path to the PEM private key file. */
  privateKey?: string;
  keyId?: string;
  /** Generic SMART servers only: token URL, scope and `typ` header. */
  tokenUrl?: string;
  scope?: string;
  jwtType?: boolean;
  /** `none`: an open Bulk Data server, no Authorization header at all. */
  auth?: 'none';
}

export interface ConfigFile {
  defaultProfile?: string;
  profiles: Record<string, ProfileConfig>;
}

export interface SettingFlags {
  profile?: string;
  baseUrl?: string;
  clientToken?: string;
  privateKey?: string;
  keyId?: string;
  /** Read by the CLI from --passphrase-file (never a plain flag: it would show in the process list). */
  passphrase?: string;
}

export type Env = Readonly<Record<string, string | undefined>>;

export type Source = 'flag' | 'env' | 'file' | 'default';

export interface Settings {
  profile: string;
  baseUrl: string;
  clientToken?: string;
  privateKeyPath?: string;
  keyId?: string;
  passphrase?: string;
  /** A fixed bearer token (env DPC_ACCESS_TOKEN) instead of the assertion flow. */
  accessToken?: string;
  tokenUrl?: string;
  scope?: string;
  jwtType?: boolean;
  /** An open server: no credentials needed, no bearer token sent (profile `auth: "none"` or DPC_AUTH=none). */
  noAuth: boolean;
  /** Where each value came from, for `dpc config show`-style diagnostics and error messages. */
  sources: Partial<Record<'profile' | 'baseUrl' | 'clientToken' | 'privateKeyPath' | 'keyId', Source>>;
}

/** Resolve the effective settings. Throws ERR_CONFIG for an unknown profile. */
export function resolveSettings(flags: SettingFlags, env: Env, file: ConfigFile | undefined, configPath = 'config.json'): Settings {
  const sources: Settings['sources'] = {};
  const [profile, profileSource] = pick([flags.profile, 'flag'], [env.DPC_PROFILE, 'env'], [file?.defaultProfile, 'file']) ?? [DEFAULT_PROFILE, 'default'];
  sources.profile = profileSource;
  const stored = file && Object.hasOwn(file.profiles, profile) ? file.profiles[profile] : undefined;
  if (stored === undefined && knownBaseUrl(profile) === undefined) {
    const known = [...new Set([...Object.keys(file?.profiles ?? {}), ...Object.keys(KNOWN_PROFILES)])].join(', ');
    throw new DpcError('ERR_CONFIG', `profile "${profile}" is not in ${configPath} (known: ${known}); run \`dpc init --profile ${profile}\``, {
      location: configPath,
    });
  }

  const take = <K extends keyof Settings['sources']>(key: K, flag: string | undefined, envValue: string | undefined, fileValue: string | undefined) => {
    const found = pick([flag, 'flag'], [envValue, 'env'], [fileValue, 'file']);
    if (found) sources[key] = found[1];
    return found?.[0];
  };

  const baseUrl = take('baseUrl', flags.baseUrl, env.DPC_BASE_URL, stored?.baseUrl) ?? knownBaseUrl(profile);
  if (sources.baseUrl === undefined) sources.baseUrl = 'default';
  return {
    profile,
    // a profile in the file without baseUrl is caught by validateConfig, so this is only reached for known names
    baseUrl: baseUrl ?? '',
    clientToken: take('clientToken', flags.clientToken, env.DPC_CLIENT_TOKEN, stored?.clientToken),
    privateKeyPath: take('privateKeyPath', flags.privateKey, env.DPC_PRIVATE_KEY, stored?.privateKey),
    keyId: take('keyId', flags.keyId, env.DPC_KEY_ID, stored?.keyId),
    passphrase: nonEmpty(flags.passphrase) ?? nonEmpty(env.DPC_KEY_PASSPHRASE),
    accessToken: nonEmpty(env.DPC_ACCESS_TOKEN),
    tokenUrl: stored?.tokenUrl,
    scope: stored?.scope,
    jwtType: stored?.jwtType,
    noAuth: (nonEmpty(env.DPC_AUTH) ?? stored?.auth) === 'none',
    sources,
  };
}

/** Which settings the assertion flow still lacks, named as the user would set them (none for an open server). */
export function missingCredentials(settings: Settings): string[] {
  const missing: string[] = [];
  if (settings.noAuth || settings.accessToken) return missing;
  if (!settings.clientToken) missing.push('client token (--client-token, DPC_CLIENT_TOKEN)');
  if (!settings.privateKeyPath) missing.push('private key (--private-key, DPC_PRIVATE_KEY)');
  if (!settings.keyId) missing.push('key id (--key-id, DPC_KEY_ID)');
  return missing;
}

function pick<S extends Source>(...candidates: Array<[string | undefined, S]>): [string, S] | undefined {
  for (const [value, source] of candidates) {
    if (value !== undefined && value !== '') return [value, source];
  }
  return undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
