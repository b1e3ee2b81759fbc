/**
 * `dpc doctor`'s judgements, pure: each function takes what a probe observed (file modes, HTTP answers, clocks) and
 * returns one check result with a fix hint. No I/O here; src/doctor/probe.ts gathers the facts.
 */
import { dirname } from 'node:path';
import { MAX_ASSERTION_LIFETIME_SEC } from '../auth/assertion.js';
import { DPC_KEY_BITS } from '../auth/keys.js';
import { parseHttpDate } from '../transport/http-date.js';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export type CheckId = 'config' | 'settings' | 'key-file' | 'version' | 'metadata' | 'clock' | 'token' | 'authenticated-call' | 'key-match';

export interface CheckResult {
  id: CheckId;
  status: CheckStatus;
  /** One line: what was found. */
  detail: string;
  /** One line: what to do about it (warn and fail only). */
  fix?: string;
}

export interface DoctorReport {
  /** No check failed (warnings allowed). */
  ok: boolean;
  profile?: string;
  baseUrl?: string;
  checks: CheckResult[];
}

const pass = (id: CheckId, detail: string): CheckResult => ({ id, status: 'pass', detail });
const skip = (id: CheckId, detail: string): CheckResult => ({ id, status: 'skip', detail });
const warn = (id: CheckId, detail: string, fix: string): CheckResult => ({ id, status: 'warn', detail, fix });
const fail = (id: CheckId, detail: string, fix: string): CheckResult => ({ id, status: 'fail', detail, fix });

export function report(checks: CheckResult[], context: { profile?: string; baseUrl?: string } = {}): DoctorReport {
  return { ok: checks.every((c) => c.status !== 'fail'), ...context, checks };
}

function octal(mode: number): string {
  return (mode & 0o777).toString(8).padStart(3, '0');
}

/** Group or other may read, write or run it. */
function shared(mode: number): boolean {
  return (mode & 0o077) !== 0;
}

export interface ConfigFacts {
  path: string;
  /** Absent when there is no file. */
  mode?: number;
  dirMode?: number;
  /** The file could not be read or is invalid (the one-line reason). */
  error?: string;
}

/** The config file holds the client token: it must be owner-only (`dpc init` writes 0600 in a 0700 folder). */
export function configCheck(f: ConfigFacts): CheckResult {
  if (f.error !== undefined) return fail('config', f.error, `fix ${f.path} or write it again with dpc init`);
  if (f.mode === undefined) return warn('config', `no config file at ${f.path}; settings come from flags and environment only`, 'save a profile with dpc init');
  if (shared(f.mode)) {
    return fail('config', `${f.path} is mode ${octal(f.mode)}: others can read the client token in it`, `chmod 600 ${f.path}`);
  }
  if (f.dirMode !== undefined && shared(f.dirMode)) {
    return warn('config', `${f.path} is 0600 but its folder is mode ${octal(f.dirMode)}`, `chmod 700 ${dirname(f.path)}`);
  }
  return pass('config', `${f.path} (0600)`);
}

export interface SettingsFacts {
  profile: string;
  baseUrl: string;
  /** Which of clientToken, privateKey, keyId are not set. */
  missing: ReadonlyArray<'clientToken' | 'privateKey' | 'keyId'>;
  /** The key id is not a UUID although DPC (no custom token URL) requires one. */
  keyIdNotUuid?: string;
  /** A fixed access token (DPC_ACCESS_TOKEN) replaces the assertion flow. */
  fixedAccessToken?: boolean;
  /** An open server: no credentials needed. */
  noAuth?: boolean;
}

const INIT_FLAGS = { clientToken: '--client-token-file FILE', privateKey: '--private-key FILE', keyId: '--key-id UUID' } as const;

export function settingsCheck(f: SettingsFacts): CheckResult {
  if (f.noAuth) return pass('settings', `profile ${f.profile}: ${f.baseUrl}, an open server (no authentication)`);
  if (f.fixedAccessToken) return pass('settings', `profile ${f.profile}: ${f.baseUrl} with a fixed access token (DPC_ACCESS_TOKEN)`);
  if (f.missing.length > 0) {
    return fail(
      'settings',
      `profile ${f.profile} has no ${f.missing.join(', no ')}`,
      `dpc init --profile ${f.profile} ${f.missing.map((m) => INIT_FLAGS[m]).join(' ')}`,
    );
  }
  if (f.keyIdNotUuid !== undefined) {
    return fail('settings', `key id "${f.keyIdNotUuid}" is not a UUID`, `dpc init --profile ${f.profile} --key-id <the UUID DPC returned for your public key>`);
  }
  return pass('settings', `profile ${f.profile}: ${f.baseUrl}`);
}

export interface KeyFacts {
  path?: string;
  mode?: number;
  /** Reading or parsing failed (the one-line reason). */
  error?: string;
  bits?: number;
  /** A P-384 EC key (ES384), which only a generic server with a tokenUrl takes. */
  ec?: boolean;
  /** `SHA256:<base64>` of the public key (SubjectPublicKeyInfo DER). */
  fingerprint?: string;
}

export function keyFileCheck(f: KeyFacts): CheckResult {
  if (f.path === undefined) return skip('key-file', 'no private key configured');
  if (f.error !== undefined) return fail('key-file', f.error, 'point --private-key (or dpc init --private-key) at the PEM private key of your registered public key');
  if (f.mode !== undefined && shared(f.mode)) {
    return fail('key-file', `${f.path} is mode ${octal(f.mode)}: others can read your private key`, `chmod 600 ${f.path}`);
  }
  const what = `${f.path}: ${f.ec ? 'EC P-384 (ES384)' : `RSA ${f.bits ?? '?'} bits`}, ${f.fingerprint ?? ''}`.trim();
  if (f.bits !== undefined && f.bits < DPC_KEY_BITS) {
    return warn('key-file', `${what}; DPC registers only keys of ${DPC_KEY_BITS} bits`, 'dpc keys generate --out DIR, then register the new public key');
  }
  return pass('key-file', what);
}

export interface EndpointFacts {
  url: string;
  status?: number;
  /** Network failure or unreadable answer (one line). */
  error?: string;
  /** What a good answer said (`version 1.2.3`, `CapabilityStatement, FHIR 3.0.2`). */
  summary?: string;
}

/** `/version` and `/metadata` are public: failing them is a URL, network or allow-list problem, not credentials. */
export function endpointCheck(id: 'version' | 'metadata', f: EndpointFacts): CheckResult {
  const reach = 'check the base URL (it ends in /api/v1), proxy and firewall; production DPC answers only the IP addresses registered for your organization';
  if (f.error !== undefined) return fail(id, `${f.url}: ${f.error}`, reach);
  if (f.status === 200) return pass(id, `${f.url}: ${f.summary ?? 'ok'}`);
  if (f.status === 404) return fail(id, `${f.url} answered 404`, 'the base URL is wrong: DPC serves the API under /api/v1 (https://sandbox.dpc.cms.gov/api/v1)');
  if (f.status === 403) return fail(id, `${f.url} answered 403`, 'the server refuses this address: register your public IP address for production in the DPC portal');
  return fail(id, `${f.url} answered ${f.status ?? 'nothing'}`, reach);
}

export interface ClockFacts {
  /** The local clock when the answer arrived, epoch ms. */
  localMs: number;
  /** The server's `Date` header, if any. */
  serverDate?: string;
}

/** Tolerance for the `Date` header's whole seconds and the request's own latency. */
const DATE_RESOLUTION_S = 2;
/** DPC refuses an assertion expiring more than 300 s ahead by its clock, and the client asks for this much. */
const AHEAD_LIMIT_S = 300 - MAX_ASSERTION_LIFETIME_SEC;

/**
 * DPC allows no clock skew (jjwt's default 0 s; behaviour doc §1.2): the assertion's `exp` (local now + 290 s) must be
 * after the server's now and at most 300 s ahead of it. So a local clock more than 10 s fast fails ("Not authorized")
 * and one 290 s slow fails ("Invalid JWT", expired on arrival). Skew is local − server: positive when we are ahead.
 */
export function clockCheck(f: ClockFacts): CheckResult {
  const serverMs = parseHttpDate(f.serverDate);
  if (serverMs === undefined) return skip('clock', 'the server sent no usable Date header');
  const skewS = Math.round((f.localMs - serverMs) / 1000);
  const seconds = Math.abs(skewS);
  const said = skewS >= 0 ? `${seconds} s ahead of` : `${seconds} s behind`;
  const sync = 'synchronise this machine\'s clock (NTP: timedatectl set-ntp true, or chronyd)';
  if (skewS > AHEAD_LIMIT_S + DATE_RESOLUTION_S) {
    return fail('clock', `this clock is ${said} the server's: DPC refuses assertions expiring more than 300 s ahead ("Not authorized")`, sync);
  }
  if (-skewS >= MAX_ASSERTION_LIFETIME_SEC - DATE_RESOLUTION_S) {
    return fail('clock', `this clock is ${said} the server's: assertions arrive already expired ("Invalid JWT")`, sync);
  }
  if (seconds > DATE_RESOLUTION_S + 3) return warn('clock', `this clock is ${said} the server's; DPC allows no skew`, sync);
  return pass('clock', `within ${DATE_RESOLUTION_S} s of the server's Date header`);
}

export interface TokenFacts {
  tokenUrl: string;
  /** Skipped: no assertion flow (missing settings, unreadable key, or a fixed access token). */
  skipped?: string;
  expiresIn?: number;
  /** The refusal: status and the server's message. */
  refused?: { status?: number; message: string };
  /** /Token/validate's verdict on an assertion like the refused one. */
  validation?: { valid: boolean; serverMessage?: string; problems: string[] };
}

export function tokenCheck(f: TokenFacts): CheckResult {
  if (f.skipped !== undefined) return skip('token', f.skipped);
  if (!f.refused) return pass('token', `${f.tokenUrl} issued an access token valid ${f.expiresIn ?? '?'} s`);
  const why = f.validation && !f.validation.valid ? `; /Token/validate says: ${[f.validation.serverMessage, ...f.validation.problems].filter(Boolean).join('; ')}` : '';
  return fail('token', `${f.refused.message}${why}`, tokenFix(f));
}

function tokenFix(f: TokenFacts): string {
  const message = f.refused?.message ?? '';
  if (f.validation && !f.validation.valid) return 'fix what /Token/validate names (run dpc auth validate for every claim)';
  if (/Cannot find public key/i.test(message)) return 'the key id is not registered for this client token\'s organization (or environment): check the key id in the portal or dpc keys list';
  if (/Not authorized/i.test(message)) return 'your clock is fast: synchronise it (NTP)';
  if (/client_id|organization_id|client token/i.test(message)) return 'the client token is not a DPC client token: copy it again from the portal';
  if (/Invalid JWT/i.test(message)) return 'the private key does not match the key id, or the base URL is not the server\'s own (see key-match)';
  return 'run dpc auth validate and dpc --debug doctor for the exchange';
}

export interface AuthenticatedCallFacts {
  url: string;
  skipped?: string;
  organization?: { id: string; name?: string };
  refused?: { status?: number; message: string };
}

/** DPC exchanges a JWT even for a deleted client token (§11.5): only an authenticated call proves the token lives. */
export function authenticatedCallCheck(f: AuthenticatedCallFacts): CheckResult {
  if (f.skipped !== undefined) return skip('authenticated-call', f.skipped);
  if (f.organization) {
    return pass('authenticated-call', `GET ${f.url}: organization ${f.organization.id}${f.organization.name ? ` (${f.organization.name})` : ''}`);
  }
  if (f.refused?.status === 401) {
    return fail(
      'authenticated-call',
      `GET ${f.url} refused the access token (401): the client token was deleted or has expired (DPC still exchanges such tokens)`,
      'create a new client token in the DPC portal, then dpc init --client-token-file FILE',
    );
  }
  return fail('authenticated-call', `GET ${f.url} failed: ${f.refused?.message ?? 'no answer'}`, 'run dpc --debug org show to see the exchange');
}

export interface KeyMatchFacts {
  keyId?: string;
  localFingerprint?: string;
  /** GET /Key/{kid} answered with this key's fingerprint. */
  registeredFingerprint?: string;
  /** GET /Key/{kid} failed. */
  lookupError?: { status?: number; message: string };
  /** Why the key could not be looked up (no access token, no key). */
  skipped?: string;
  /** /Token/auth refused the assertion's signature although /Token/validate accepted its claims. */
  signatureRefused?: boolean;
  /** /Token/auth did not know the key id. */
  keyIdUnknown?: boolean;
}

/** Compare the local private key with the public key registered under `kid` (GET /Key/{id}). */
export function keyMatchCheck(f: KeyMatchFacts): CheckResult {
  const registerHint = 'use the private key that belongs to this key id, or register this key\'s public half (dpc keys add) and use the id it gets';
  if (f.registeredFingerprint !== undefined) {
    if (f.registeredFingerprint === f.localFingerprint) return pass('key-match', `key id ${f.keyId} is this private key (${f.localFingerprint})`);
    return fail('key-match', `key id ${f.keyId} is ${f.registeredFingerprint}, but the private key is ${f.localFingerprint}`, registerHint);
  }
  if (f.signatureRefused) {
    return fail('key-match', `DPC could not verify the assertion with key id ${f.keyId}: the private key (${f.localFingerprint}) is not the one registered`, registerHint);
  }
  if (f.keyIdUnknown || f.lookupError?.status === 404) {
    return fail('key-match', `key id ${f.keyId} is not registered for this organization`, 'copy the key id from the portal or dpc keys list (sandbox and production keys differ)');
  }
  if (f.lookupError) return fail('key-match', `GET /Key/${f.keyId} failed: ${f.lookupError.message}`, 'run dpc keys list');
  return skip('key-match', f.skipped ?? 'not checked');
}
