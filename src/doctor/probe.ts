/**
 * `runDoctor()`: observe everything a first-day setup gets wrong (files, reachability, clock, credentials) and judge it
 * with the pure checks of checks.ts. Returns data; never prints, never throws for a failed check.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type * as fhir3 from 'fhir/r3.js';
import type { Dispatcher } from 'undici';
import { keyIdFits } from '../auth/assertion-check.js';
import { validateAssertion, type PublicKeyEntity } from '../auth/admin.js';
import { loadPrivateKey } from '../auth/keys.js';
import { createClient, profileClientOptions, type DpcClient, type DpcClientOptions } from '../client.js';
import { DpcError } from '../errors.js';
import { redactUrl, type Redactor } from '../redact.js';
import { headerValue } from '../transport/negotiation.js';
import { serverText } from '../transport/error-body.js';
import {
  authenticatedCallCheck, clockCheck, configCheck, endpointCheck, keyFileCheck, keyMatchCheck, report, settingsCheck, tokenCheck,
  type CheckResult, type DoctorReport, type KeyFacts, type TokenFacts,
} from './checks.js';
import { bearer, checkCredentials } from './credentials.js';

export interface DoctorInput {
  /** Profile name, for the fix hints. */
  profile: string;
  /** Absent when the settings could not be resolved (then every server check is skipped). */
  baseUrl?: string;
  configPath: string;
  /** Why the config file could not be used (invalid, unknown profile): one line. */
  configError?: string;
  clientToken?: string;
  privateKeyPath?: string;
  passphrase?: string;
  keyId?: string;
  /** A fixed access token instead of the assertion flow. */
  accessToken?: string;
  /** An open server: no credentials at all. */
  noAuth?: boolean;
  /** Set for a generic SMART server: then the DPC-only checks (`/version`, `GET /Organization`, `/Key`) are skipped. */
  tokenUrl?: string;
  scope?: string;
  jwtType?: boolean;
  /** Local clock, epoch ms (tests pass the sandbox clock). */
  now?: () => number;
  dispatcher?: Dispatcher;
  /** Records the secrets the diagnosis handles (client token, access tokens), for callers that print. */
  redactor?: Redactor;
  onEvent?: DpcClientOptions['onEvent'];
}

export async function runDoctor(input: DoctorInput): Promise<DoctorReport> {
  const checks: CheckResult[] = [configCheck(await configFacts(input.configPath, input.configError))];
  const context = { profile: input.profile, baseUrl: input.baseUrl };
  if (input.baseUrl === undefined) return report(checks, context);

  const missing = (['clientToken', 'privateKey', 'keyId'] as const).filter((k) => (k === 'privateKey' ? input.privateKeyPath : input[k]) === undefined);
  const keyIdNotUuid = input.keyId !== undefined && !keyIdFits(input.keyId, input.tokenUrl) ? input.keyId : undefined;
  checks.push(settingsCheck({ profile: input.profile, baseUrl: input.baseUrl, missing, keyIdNotUuid, fixedAccessToken: input.accessToken !== undefined, noAuth: input.noAuth }));
  const { facts: key, privateKey } = input.privateKeyPath === undefined ? { facts: {} } : await keyFacts(input.privateKeyPath, input.passphrase, input.tokenUrl !== undefined);
  checks.push(keyFileCheck(key));

  const assertionFlow = !input.noAuth && input.accessToken === undefined && missing.length === 0 && keyIdNotUuid === undefined && privateKey !== undefined;
  let client: DpcClient;
  try {
    client = createClient({
      ...profileClientOptions({ ...input, baseUrl: input.baseUrl }, assertionFlow ? privateKey : undefined),
      now: input.now,
      dispatcher: input.dispatcher,
      redactor: input.redactor,
      onEvent: input.onEvent,
      // a diagnosis reports what the server says now; one retry covers a dropped connection
      retry: { maxRetries: 1, baseDelayMs: 200, maxDelayMs: 1000 },
    });
  } catch (error) {
    checks.push({ id: 'version', status: 'fail', detail: (error as Error).message, fix: `dpc init --profile ${input.profile} --base-url URL` });
    return report(checks, context);
  }
  try {
    checks.push(...(await serverChecks(client, input, assertionFlow, key)));
  } finally {
    await client.close();
  }
  return report(checks, context);
}

async function configFacts(path: string, error: string | undefined) {
  const modeOf = (p: string) => stat(p).then((s) => s.mode, () => undefined);
  return { path, error, mode: await modeOf(path), dirMode: await modeOf(dirname(path)) };
}

/** `allowEc`: a generic server (own tokenUrl), which may take an ES384 key; DPC only RSA. */
async function keyFacts(path: string, passphrase: string | undefined, allowEc: boolean): Promise<{ facts: KeyFacts; privateKey?: KeyObject }> {
  let pem: string;
  let mode: number;
  try {
    mode = (await stat(path)).mode;
    pem = await readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    return { facts: { path, error: `${path}: cannot read the private key (${code === 'ENOENT' ? 'no such file' : (code ?? 'error')})` } };
  }
  try {
    const privateKey = loadPrivateKey(pem, { passphrase, source: path, allowEc });
    const bits = privateKey.asymmetricKeyDetails?.modulusLength;
    const ec = privateKey.asymmetricKeyType === 'ec' ? { ec: true } : {};
    return { facts: { path, mode, bits, ...ec, fingerprint: keyFingerprint(privateKey) }, privateKey };
  } catch (error) {
    return { facts: { path, mode, error: (error as Error).message } };
  }
}

/** `SHA256:<base64>` of the public key's SubjectPublicKeyInfo (DER), the same for the private key and its public PEM. */
export function keyFingerprint(key: KeyObject | string): string {
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  return `SHA256:${createHash('sha256').update(spki).digest('base64').replace(/=+$/, '')}`;
}

async function serverChecks(client: DpcClient, input: DoctorInput, assertionFlow: boolean, key: KeyFacts): Promise<CheckResult[]> {
  const dpc = input.tokenUrl === undefined;
  const version = dpc ? await publicGet(client, '/version', (text) => `version ${serverText(text, 80)}`) : undefined;
  const metadata = await publicGet(client, '/metadata', (text) => {
    const body = JSON.parse(text) as Partial<fhir3.CapabilityStatement>;
    if (body.resourceType !== 'CapabilityStatement') throw new Error(`answered ${serverText(String(body.resourceType), 40)}, not a CapabilityStatement`);
    return `CapabilityStatement, FHIR ${serverText(String(body.fhirVersion ?? '?'), 20)}`;
  });
  const checks = [
    version ? endpointCheck('version', version.facts) : skipped('version', 'DPC only (a generic server: tokenUrl is set)'),
    endpointCheck('metadata', metadata.facts),
  ];
  checks.push(clockCheck({ localMs: version?.receivedAt ?? metadata.receivedAt ?? client.now(), serverDate: version?.date ?? metadata.date }));

  const tokenUrl = redactUrl(client.tokens.tokenUrl);
  const orgUrl = redactUrl(client.transport.resolve('/Organization').href);
  if (!assertionFlow && input.accessToken === undefined) {
    const why = input.noAuth ? 'the profile uses no authentication' : 'needs a complete profile and a readable private key';
    checks.push(tokenCheck({ tokenUrl, skipped: why }), authenticatedCallCheck({ url: orgUrl, skipped: why }), keyMatchCheck({ skipped: why }));
    return checks;
  }
  if (!dpc) {
    // a generic SMART server: the exchange is what can be checked (no DPC /Organization or /Key there)
    const exchange = await checkCredentials(client, { authenticatedCall: false });
    const token = exchange.ok || exchange.stage === 'call' ? { tokenUrl, expiresIn: exchange.expiresIn } : { tokenUrl, refused: exchange.refused };
    checks.push(tokenCheck(token), authenticatedCallCheck({ url: orgUrl, skipped: 'DPC only' }), keyMatchCheck({ skipped: 'DPC only' }));
    return checks;
  }
  const outcome = await checkCredentials(client);
  const token: TokenFacts = input.accessToken !== undefined ? { tokenUrl, skipped: 'a fixed access token (DPC_ACCESS_TOKEN) is used' } : { tokenUrl };
  if (outcome.ok) {
    const organization = outcome.organization!;
    checks.push(
      tokenCheck({ ...token, expiresIn: outcome.expiresIn }),
      authenticatedCallCheck({ url: orgUrl, organization: { id: serverText(organization.id!, 64), name: organization.name === undefined ? undefined : serverText(String(organization.name), 100) } }),
      await keyMatch(client, input.keyId, key.fingerprint, outcome.accessToken),
    );
    return checks;
  }
  if (outcome.stage === 'call') {
    checks.push(
      tokenCheck({ ...token, expiresIn: outcome.expiresIn }),
      authenticatedCallCheck({ url: orgUrl, refused: outcome.refused }),
      keyMatchCheck({ skipped: 'needs an accepted access token' }),
    );
    return checks;
  }
  const validation = await explainRefusal(client);
  const signatureRefused = /Invalid JWT/i.test(outcome.refused.message) && validation?.valid === true;
  checks.push(
    tokenCheck({ ...token, refused: outcome.refused, validation }),
    authenticatedCallCheck({ url: orgUrl, skipped: 'needs an access token' }),
    keyMatchCheck({
      keyId: input.keyId,
      localFingerprint: key.fingerprint,
      signatureRefused,
      keyIdUnknown: /Cannot find public key/i.test(outcome.refused.message),
      skipped: 'needs an access token',
    }),
  );
  return checks;
}

function skipped(id: CheckResult['id'], detail: string): CheckResult {
  return { id, status: 'skip', detail };
}

interface PublicAnswer {
  facts: { url: string; status?: number; error?: string; summary?: string };
  date?: string;
  receivedAt?: number;
}

async function publicGet(client: DpcClient, path: string, summarise: (text: string) => string): Promise<PublicAnswer> {
  const url = redactUrl(client.transport.resolve(path).href);
  try {
    const response = await client.transport.text({ path, auth: false });
    const receivedAt = client.now();
    const date = headerValue(response.headers.date);
    try {
      // the server's words in a check's detail: one line, escaped, short (a JSON.parse message quotes the body raw)
      return { facts: { url, status: response.status, summary: serverText(summarise(response.text), 200) }, date, receivedAt };
    } catch (error) {
      return { facts: { url, status: response.status, error: serverText(`unexpected answer: ${(error as Error).message}`, 200) }, date, receivedAt };
    }
  } catch (error) {
    if (error instanceof DpcError && error.status !== undefined) return { facts: { url, status: error.status } };
    return { facts: { url, error: (error as Error).message } };
  }
}

/** /Token/validate on a fresh assertion: which claim the server objects to (it never checks the signature). */
async function explainRefusal(client: DpcClient): Promise<TokenFacts['validation']> {
  try {
    const result = await validateAssertion(client, await client.tokens.createAssertion());
    return { valid: result.valid, serverMessage: result.serverMessage, problems: result.problems.map((p) => p.message) };
  } catch {
    return undefined; // a generic server without /Token/validate: the refusal stands on its own
  }
}

async function keyMatch(client: DpcClient, keyId: string | undefined, localFingerprint: string | undefined, accessToken: string): Promise<CheckResult> {
  if (keyId === undefined || localFingerprint === undefined) return keyMatchCheck({ skipped: 'a fixed access token is used; no key to compare' });
  try {
    const path = `/Key/${encodeURIComponent(keyId)}`;
    const { body } = await client.transport.json<PublicKeyEntity>({ path, auth: false, headers: bearer(accessToken) });
    return keyMatchCheck({ keyId, localFingerprint, registeredFingerprint: keyFingerprint(body.publicKey) });
  } catch (error) {
    const refused = error as DpcError;
    return keyMatchCheck({ keyId, localFingerprint, lookupError: { status: refused.status, message: refused.message } });
  }
}
