/**
 * `dpc init`: write a profile to the config file (0600). Everything can be given as flags; only when stdin is a
 * terminal are missing values asked for. Optionally checks the result with a real token exchange and one authenticated call.
 */
import type { KeyObject } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import type { ProfileConfig } from '../config/settings.js';
import { outputFor, privateKeyFor, type GlobalArgs, withClient } from '../context.js';
import { inline, type Output } from '../output.js';
import { cliProcess } from '../cli-process.js';
import { configPath, readConfig, withProfile, writeConfig } from '../config/file.js';
import { knownBaseUrl, DEFAULT_PROFILE } from '../config/settings.js';
import { DpcError } from '../../errors.js';
import { getCapabilityStatement } from '../../fhir/metadata.js';
import { verifyCredentials } from '../../doctor/credentials.js';
import { generateKeyPair, privateKeyPem, publicKeyPem } from '../../auth/keys.js';
import { defaultScope } from '../../auth/exchange.js';
import { registerWithSandbox } from '../../sandbox/admin-contract.js';
import { fileExists, writeOwnerOnly, readInputText } from '../../fs.js';
import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';

interface InitArgs extends GlobalArgs {
  clientTokenFile?: string;
  tokenUrl?: string;
  scope?: string;
  /** false with `--no-auth`: an open server. */
  auth?: boolean;
  sandboxUrl?: string;
  default: boolean;
  verify: boolean;
}

export const initCommand: CommandModule<GlobalArgs, InitArgs> = {
  // command and describe: commands/index.ts (this module loads only when the command runs)
  builder: (y) =>
    (y as Argv<GlobalArgs>)
      .option('client-token-file', { type: 'string', describe: 'Read the client token from this file (keeps it out of shell history)' })
      .option('token-url', { type: 'string', describe: 'Token endpoint of a generic SMART server, or "auto": the one it announces (.well-known/smart-configuration or /metadata) (DPC: <base-url>/Token/auth)' })
      .option('scope', { type: 'string', describe: 'Scope asked for at the token endpoint of a generic SMART server (default system/*.read; DPC: system/*.*)' })
      .option('auth', { type: 'boolean', describe: 'Use --no-auth for an open Bulk Data server (no credentials, no bearer token)' })
      .option('default', { type: 'boolean', default: false, describe: 'Make this the default profile' })
      .option('verify', { type: 'boolean', default: false, describe: 'Exchange a token and make one authenticated call to prove the settings work' })
      .option('sandbox-url', {
        type: 'string',
        describe: 'Register with an embedded sandbox (dpc sandbox): new organization, client token and key, all saved in the profile',
      })
      .example('$0 init --sandbox-url http://127.0.0.1:3002 --profile local --default --verify', 'set up against a running embedded sandbox')
      .example('$0 init --profile sandbox --client-token-file token.txt --private-key keys/private.pem --key-id <uuid>', 'non-interactive set-up')
      .example('$0 init --profile local --base-url http://127.0.0.1:3002/api/v1 --default --verify', 'a custom server, checked')
      .example('$0 init --profile ref --base-url https://bulk.example/fhir --token-url https://bulk.example/auth/token --scope system/*.read --client-token-file client-id.txt --private-key keys/ref.pem --key-id my-key', 'a generic SMART Backend Services server (any key id)')
      .example('$0 init --profile ref --base-url https://bulk.example/fhir --token-url auto --client-token-file client-id.txt --private-key keys/ref.pem --key-id my-key', 'the token endpoint the server announces')
      .example('$0 init --profile open --base-url http://127.0.0.1:9443/fhir --no-auth', 'an open Bulk Data server')
      .example('$0 init', 'asks for what is missing when run in a terminal') as Argv<InitArgs>,
  handler: async (argv) => {
    const output = outputFor(argv);

    const run = cliProcess();
    const path = configPath(run.env, argv.config);
    const existing = await readConfig(path);
    const profile = argv.profile ?? (argv.sandboxUrl ? 'local' : (existing?.defaultProfile ?? DEFAULT_PROFILE));
    const stored = existing?.profiles[profile] ?? {};
    const noAuth = argv.auth === false || (argv.auth === undefined && stored.auth === 'none');
    const interactive = Boolean((run.stdin as NodeJS.ReadStream).isTTY) && argv.sandboxUrl === undefined;

    const clientToken = argv.clientToken ?? (argv.clientTokenFile ? await readTokenFile(argv.clientTokenFile) : undefined);
    run.redactor.add(clientToken);
    const update: ProfileConfig = argv.sandboxUrl
      ? await registerSandbox(argv.sandboxUrl, argv.privateKey, join(dirname(path), 'keys', `${profile}-private.pem`), output)
      : {
          baseUrl: argv.baseUrl,
          clientToken,
          privateKey: argv.privateKey === undefined ? undefined : resolve(argv.privateKey),
          keyId: argv.keyId,
          tokenUrl: argv.tokenUrl,
          scope: argv.scope,
        };
    if (update.tokenUrl === 'auto') update.tokenUrl = await announcedTokenUrl(update.baseUrl ?? stored.baseUrl ?? knownBaseUrl(profile), output);
    if (interactive && !noAuth) {
      const { ask } = await promptFor();
      if (!update.baseUrl && !stored.baseUrl && knownBaseUrl(profile) === undefined) update.baseUrl = await ask('API base URL: ');
      if (!update.clientToken && !stored.clientToken) update.clientToken = (await ask('client token (hidden): ', true)) || undefined;
      if (!update.privateKey && !stored.privateKey) {
        const answer = await ask('private key file: ');
        update.privateKey = answer ? resolve(answer) : undefined;
      }
      if (!update.keyId && !stored.keyId) update.keyId = (await ask('public key id (UUID from the portal): ')) || undefined;
    }
    run.redactor.add(update.clientToken);
    // nothing given and nothing asked (no terminal, e.g. `dpc init </dev/null`): fail rather than save an empty profile
    const given = Object.values(update).some((v) => v !== undefined && v !== '');
    if (!given && !argv.default && !argv.verify) {
      throw new DpcError('ERR_USAGE', `nothing to save in profile "${profile}": give --client-token-file, --private-key and --key-id (or --sandbox-url), or run \`dpc init\` in a terminal to be asked`);
    }

    const merged = { ...stored, ...Object.fromEntries(Object.entries(update).filter(([, v]) => v !== undefined && v !== '')) } as ProfileConfig;
    // --auth on a profile saved with --no-auth turns the assertion flow back on
    if (noAuth) merged.auth = 'none';
    else delete merged.auth;
    if (merged.privateKey) await privateKeyFor({ privateKeyPath: merged.privateKey, passphrase: run.env.DPC_KEY_PASSPHRASE, tokenUrl: merged.tokenUrl }, output);
    // merged already holds the stored fields; starting from an empty entry lets --auth drop a stored `auth: "none"`
    const config = withProfile(existing && { ...existing, profiles: { ...existing.profiles, [profile]: {} } }, profile, merged, argv.default);
    await writeConfig(path, config);

    const missing = noAuth ? [] : (['clientToken', 'privateKey', 'keyId'] as const).filter((k) => !merged[k]);
    const summary = {
      config: path,
      profile,
      default: config.defaultProfile === profile,
      baseUrl: merged.baseUrl ?? knownBaseUrl(profile),
      ...(noAuth ? { auth: 'none' } : {}),
      ...(merged.tokenUrl ? { tokenUrl: merged.tokenUrl, scope: merged.scope ?? defaultScope(merged.tokenUrl) } : {}),
      clientToken: merged.clientToken ? 'set' : 'missing',
      privateKey: merged.privateKey ?? 'missing',
      keyId: merged.keyId ?? 'missing',
    };
    if (missing.length > 0) output.warn(`profile "${profile}" still lacks ${missing.join(', ')}; run dpc init again with --${missing.map(flagName).join(', --')}`);

    if (argv.verify) {
      if (missing.length > 0) throw new DpcError('ERR_CONFIG', `cannot verify profile "${profile}": ${missing.join(', ')} missing`);
      await withClient({ ...argv, profile, config: path, baseUrl: undefined, clientToken: undefined, privateKey: undefined, keyId: undefined }, async (client) => {
        if (noAuth) {
          const capabilities = await getCapabilityStatement(client);
          output.info(`verified: ${client.baseUrl}/metadata answered (FHIR ${inline(capabilities.fhirVersion ?? 'version not stated')}); no credentials needed`);
        } else if (merged.tokenUrl) {
          // a generic SMART server has no DPC /Organization to call: the exchange is what can be checked
          const token = await client.tokens.exchange();
          output.info(`verified: ${client.tokens.tokenUrl} issued an access token valid ${token.expiresIn}s`);
        } else {
          // DPC exchanges a JWT even for a deleted client token, so an authenticated call has to follow the exchange
          const { expiresIn, organization } = await verifyCredentials(client);
          output.info(`verified: ${client.tokens.tokenUrl} issued an access token valid ${expiresIn ?? '?'}s, and GET /Organization answered ${inline(organization.id)}${organization.name ? ` (${inline(organization.name)})` : ''}`);
        }
      });
    }
    output.result(summary, () =>
      Object.entries(summary)
        .map(([k, v]) => `${k.padEnd(12)}${inline(v)}`)
        .join('\n'),
    );
  },
};

/** `--token-url auto`: ask the server, as the SMART reference client does when no token URL is configured. */
async function announcedTokenUrl(baseUrl: string | undefined, output: Output): Promise<string> {
  if (baseUrl === undefined) throw new DpcError('ERR_USAGE', '--token-url auto needs the server: give --base-url', { location: '--token-url' });
  const [{ createClient }, { discoverTokenUrl }] = await Promise.all([import('../../client.js'), import('../../auth/discovery.js')]);
  const client = createClient({ baseUrl, authentication: 'none' });
  let tokenUrl: string;
  try {
    tokenUrl = await discoverTokenUrl(client);
  } finally {
    await client.close();
  }
  // said before --verify sends a signed assertion there: SMART lets the authorization server live on another origin,
  // which the user should see rather than find in the config later
  if (new URL(tokenUrl).origin !== new URL(baseUrl).origin) output.warn(`${baseUrl} announces a token endpoint on another origin: ${tokenUrl}`);
  else output.info(`token endpoint announced by the server: ${tokenUrl}`);
  return tokenUrl;
}

/**
 * Register a new organization and key with an embedded sandbox. The key is the given one, or one generated
 * (and kept, 0600) beside the config file so running init again reuses it.
 */
async function registerSandbox(sandboxUrl: string, givenKey: string | undefined, keyPath: string, output: Output): Promise<ProfileConfig> {
  let url: URL;
  try {
    url = new URL(sandboxUrl);
  } catch {
    throw new DpcError('ERR_USAGE', `--sandbox-url "${sandboxUrl}" is not a URL (e.g. http://127.0.0.1:3002)`, { location: '--sandbox-url' });
  }
  const baseUrl = /\/api\/v1\/?$/.test(url.pathname) ? url.href.replace(/\/+$/, '') : `${url.origin}/api/v1`;
  const privateKeyPath = resolve(givenKey ?? keyPath);
  let key: KeyObject;
  if (givenKey !== undefined || (await fileExists(privateKeyPath))) {
    key = await privateKeyFor({ privateKeyPath, passphrase: cliProcess().env.DPC_KEY_PASSPHRASE, tokenUrl: undefined }, output);
  } else {
    output.info('generating an RSA-4096 key pair…');
    key = (await generateKeyPair()).privateKey;
    await writeOwnerOnly(privateKeyPath, privateKeyPem(key));
  }
  const registered = await registerWithSandbox(url.origin, publicKeyPem(key), { label: 'dpc init' }).catch((cause: Error) => {
    throw new DpcError('ERR_NETWORK', cause.message, { cause });
  });
  cliProcess().redactor.add(registered.clientToken);
  output.info(`registered sandbox organization ${inline(registered.orgId)} with key ${inline(registered.keyId)}`);
  return { baseUrl, clientToken: registered.clientToken, privateKey: privateKeyPath, keyId: registered.keyId };
}

function flagName(key: 'clientToken' | 'privateKey' | 'keyId'): string {
  return { clientToken: 'client-token-file', privateKey: 'private-key', keyId: 'key-id' }[key];
}

async function readTokenFile(path: string): Promise<string> {
  return (await readInputText(path, 'client token')).trim();
}

/** Terminal prompts on stderr; `secret` answers are not echoed. */
async function promptFor(): Promise<{ ask(question: string, secret?: boolean): Promise<string> }> {
  const { stdin, stderr } = cliProcess();
  return {
    async ask(question, secret = false) {
      let muted = false;
      const echo = new Writable({
        write(chunk, _encoding, done) {
          if (!muted) stderr.write(chunk as Buffer);
          done();
        },
      });
      const rl = createInterface({ input: stdin, output: echo, terminal: true });
      try {
        const answer = rl.question(question);
        muted = secret;
        return (await answer).trim();
      } finally {
        rl.close();
        if (secret) stderr.write('\n');
      }
    },
  };
}
