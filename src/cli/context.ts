/**
 * What every command handler needs: an Output for its flags, the resolved settings (flags > env > config file),
 * and a DpcClient wired to print HTTP and auth events under --debug.
 */
import { readInputText } from '../fs.js';
import type { KeyObject } from 'node:crypto';
import type { AuthEvent } from '../auth/token-manager.js';
import type { DpcClient } from '../client.js';
import type { Settings } from './config/settings.js';
import { DpcError } from '../errors.js';
import type { Redactor } from '../redact.js';
import type { TransportEvent } from '../transport/index.js';
import { logsEvents, Output } from './output.js';
import { cliProcess } from './cli-process.js';

export interface GlobalArgs {
  profile?: string;
  baseUrl?: string;
  clientToken?: string;
  privateKey?: string;
  keyId?: string;
  passphraseFile?: string;
  config?: string;
  json: boolean;
  debug: boolean;
  quiet: boolean;
}

export function outputFor(argv: GlobalArgs & { _?: ReadonlyArray<string | number> }): Output {
  return new Output({ json: argv.json, debug: argv.debug, quiet: argv.quiet, eventLog: logsEvents(argv._ ?? []) });
}

/** The effective settings and the config file they came from. */
export async function settingsFor(argv: GlobalArgs, env: NodeJS.ProcessEnv = cliProcess().env): Promise<{ settings: Settings; configPath: string; configMissing?: string }> {
  const { configPath, readConfig } = await import('./config/file.js');
  const { resolveSettings } = await import('./config/settings.js');
  const path = configPath(env, argv.config);
  const file = await readConfig(path);
  const passphrase = argv.passphraseFile === undefined ? undefined : await readPassphrase(argv.passphraseFile);
  const settings = resolveSettings({ ...argv, passphrase }, env, file, path);
  return { settings, configPath: path, ...(file === undefined ? { configMissing: missingConfigNote(path, argv.config !== undefined ? '--config' : env.DPC_CONFIG ? 'DPC_CONFIG' : undefined) } : {}) };
}

/** Pure: what to say about a config file that does not exist, naming where its path came from. */
function missingConfigNote(path: string, from: '--config' | 'DPC_CONFIG' | undefined): string {
  return from ? `the config file ${path} (${from}) does not exist` : `there is no config file at ${path}`;
}

async function readPassphrase(path: string): Promise<string> {
  return (await readInputText(path, 'key passphrase file')).replace(/\r?\n$/, '');
}

export interface ClientForOptions {
  /** Require the assertion flow's credentials (default true); false for public endpoints such as /Token/validate. */
  credentials?: boolean;
}

/** The run's redactor, taught the secrets these settings hold, so that nothing printed shows them. */
export function redactorKnowing(settings: Pick<Settings, 'clientToken' | 'accessToken' | 'passphrase'> | undefined): Redactor {
  const redactor = cliProcess().redactor;
  redactor.add(settings?.clientToken);
  redactor.add(settings?.accessToken);
  redactor.add(settings?.passphrase);
  return redactor;
}

/** A client for the resolved settings; ERR_CONFIG names what is missing and how to set it. */
export async function clientFor(argv: GlobalArgs, output: Output, options: ClientForOptions = {}): Promise<DpcClient> {
  const { settings, configMissing } = await settingsFor(argv);
  const { missingCredentials } = await import('./config/settings.js');
  const { keyIdFits } = await import('../auth/assertion-check.js');
  const { createClient, profileClientOptions } = await import('../client.js');
  const redactor = redactorKnowing(settings);

  const missing = missingCredentials(settings);
  if ((options.credentials ?? true) && missing.length > 0) {
    // a config file that is not there is the likelier cause: say so first
    const lacks = `profile "${settings.profile}" has no ${missing.join(', no ')}`;
    throw new DpcError('ERR_CONFIG', configMissing ? `${configMissing}, so ${lacks}; run \`dpc init\` or set them` : `${lacks}; run \`dpc init\` or set them`);
  }
  if (settings.keyId !== undefined && !keyIdFits(settings.keyId, settings.tokenUrl)) {
    throw new DpcError('ERR_CONFIG', `key id "${settings.keyId}" (from ${settings.sources.keyId ?? 'config'}) is not a UUID; use the id returned when the public key was registered`);
  }
  const privateKey = missing.length === 0 && !settings.accessToken && !settings.noAuth ? await privateKeyFor(settings, output) : undefined;
  return createClient({
    ...profileClientOptions(settings, privateKey),
    onEvent: (event) => reportClientEvent(output, event),
    redactor,
  });
}

/** Run `work` with a client for the resolved settings and the run's Output; the client is closed however it ends. */
export async function withClient(argv: GlobalArgs, work: (client: DpcClient, output: Output) => Promise<void>, options: ClientForOptions = {}): Promise<void> {
  const output = outputFor(argv);
  const client = await clientFor(argv, output, options);
  try {
    await work(client, output);
  } finally {
    await client.close();
  }
}

/**
 * Every event under --debug; otherwise retries only, which an unattended run must log (a server throttling or failing
 * must show in the log, not look like a hang): a line on a terminal, an NDJSON record (`eventId: "retry"`) otherwise.
 */
export function reportClientEvent(output: Output, event: TransportEvent | AuthEvent): void {
  if (output.debug) output.debugLine(describeEvent(event));
  else if (event.type === 'retry' && output.isTTY) output.info(describeEvent(event));
  else if (event.type === 'retry') {
    const { type: _type, ...rest } = event;
    output.event({ eventId: 'retry', ...rest });
  }
}

/** Read and parse the configured private key file, warning when others can read it. */
export async function privateKeyFor(settings: Pick<Settings, 'privateKeyPath' | 'passphrase' | 'tokenUrl'>, output: Output): Promise<KeyObject> {
  const path = settings.privateKeyPath;
  if (!path) throw new DpcError('ERR_CONFIG', 'no private key configured (--private-key, DPC_PRIVATE_KEY or dpc init)');
  const { keyFileWarning } = await import('./config/file.js');
  const { loadPrivateKey } = await import('../auth/keys.js');
  const pem = await readInputText(path, 'private key', 'ERR_KEY');
  const warning = await keyFileWarning(path);
  if (warning) output.warn(warning);
  // a generic SMART server (own tokenUrl) may take an ES384 key; DPC only RSA
  return loadPrivateKey(pem, { passphrase: settings.passphrase, source: path, allowEc: settings.tokenUrl !== undefined });
}

/** Pure: one debug line per transport or auth event. Events never carry secrets; URLs are already redacted. */
export function describeEvent(event: TransportEvent | AuthEvent): string {
  switch (event.type) {
    case 'request':
      return `→ ${event.method} ${event.url}${event.attempt > 0 ? ` (attempt ${event.attempt + 1})` : ''}`;
    case 'response':
      return `← ${event.status} ${event.method} ${event.url} ${event.ms}ms${event.requestId ? ` request-id ${event.requestId}` : ''}`;
    case 'retry':
      return `retrying ${event.method} ${event.url} in ${event.delayMs}ms: ${event.reason}`;
    case 'reauth':
      return `${event.method} ${event.url} got 401: refreshing the access token and replaying once`;
    case 'auth-exchange':
      return `exchanging a client assertion at ${event.tokenUrl} (${event.reason})`;
    case 'auth-token':
      return `access token received, valid ${event.expiresInSec}s (exchange #${event.exchanges})`;
    case 'auth-error':
      return `token exchange failed: ${event.code} ${event.message}`;
  }
}
