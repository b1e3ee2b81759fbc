/**
 * `dpc demo` as a library call: the whole DPC journey against an embedded sandbox started on an ephemeral loopback
 * port — portal registration, two keys (portal and API), token exchange, patients and roster, a verified export —
 * each step reported through `onStep`. Never prints. The sandbox and clients are closed at the end, on failure and
 * on abort too.
 */
import type * as fhir3 from 'fhir/r3.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { uploadPublicKey } from '../auth/admin.js';
import type { AuthEvent } from '../auth/token-manager.js';
import { createClient, type DpcClient } from '../client.js';
import { writeOwnerOnly } from '../fs.js';
import { DpcError } from '../errors.js';
import { runExport, runOutcomeError, verifyExportDir, type ExportEventHandler, type GroupManifest } from '../export/index.js';
import { submitPatients } from '../fhir/patients.js';
import { submitPractitioners } from '../fhir/practitioners.js';
import { resourcesOfType } from '../fhir/resources.js';
import { Redactor } from '../redact.js';
import { syncRoster } from '../roster/sync.js';
import { startSandbox, type SandboxHandle } from '../sandbox/index.js';
import type { TransportEvent } from '../transport/index.js';
import { makeDemoKey, prepareDemoDir, type DemoKeyPair } from './files.js';
import { DEMO_STEPS, countRows, exportedFiles, formatBytes, largestGroup, type DemoStep, type DemoStepName, type DemoSummary } from './summary.js';
import { plural } from '../plural.js';

// src/demo/ and dist/demo/ both sit two levels below the package root, beside samples/.
const SAMPLES = new URL('../../samples/', import.meta.url);
const PRACTITIONER_SAMPLE = 'provider_bundle.json';
const PATIENT_SAMPLE = 'patient_bundle-dpr.json';
/** The rows of DPC's test_associations-dpr.csv whose patients are in PATIENT_SAMPLE (samples/SOURCE.md). */
const ROSTER_SAMPLE = 'roster-sandbox.csv';

export const DEMO_EXPORT_TYPES = ['Patient', 'Coverage', 'ExplanationOfBenefit'];

export interface DemoOptions {
  /** Folder for keys, client token and export: created 0700, must be absent or empty. Default: a new temp folder. */
  dir?: string;
  /** The sandbox's claims-per-patient multiplier (default 1). */
  exportScale?: number;
  /** How long the sandbox keeps an export job in progress (default 1500 ms). */
  jobDurationMs?: number;
  /** Job status poll interval (the sandbox sends no Retry-After; default 500 ms). */
  pollIntervalMs?: number;
  /** Aborting stops the journey; its reason is thrown. */
  signal?: AbortSignal;
  onStep?: (step: DemoStep) => void;
  /** HTTP and token events of the demo's clients (no secrets in them). */
  onHttp?: (event: TransportEvent | AuthEvent) => void;
  onExportEvent?: ExportEventHandler;
  /** Learns the demo's secrets (client token, access tokens) so a caller printing steps can mask them. */
  redactor?: Redactor;
  /** Called with the summary while the sandbox still runs; it closes once this resolves (`dpc demo --keep` waits here). */
  hold?: (summary: DemoSummary, sandbox: Pick<SandboxHandle, 'baseUrl' | 'origin'>) => Promise<void>;
}

export async function runDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  const began = performance.now();
  const jobDurationMs = options.jobDurationMs ?? 1500;
  const redactor = options.redactor ?? new Redactor();
  const timings: DemoSummary['steps'] = [];
  const step = async <T>(name: DemoStepName, work: () => Promise<T> | T, describe: (value: T) => string): Promise<T> => {
    options.signal?.throwIfAborted();
    const t0 = performance.now();
    const value = await work();
    const ms = Math.round(performance.now() - t0);
    timings.push({ name, ms });
    options.onStep?.({ name, index: DEMO_STEPS.indexOf(name) + 1, total: DEMO_STEPS.length, message: describe(value), ms });
    return value;
  };

  const dir = await prepareDemoDir(options.dir);
  const clients: DpcClient[] = [];
  let expiresInSec: number | undefined;
  const onHttp = (event: TransportEvent | AuthEvent) => {
    if (event.type === 'auth-token') expiresInSec = event.expiresInSec;
    options.onHttp?.(event);
  };

  const sandbox = await step(
    'sandbox',
    () => startSandbox({ testMode: false, jobDurationMs, exportScale: options.exportScale ?? 1 }),
    (sb) => `embedded DPC sandbox listening on ${sb.baseUrl} (loopback, no account; export jobs take ${jobDurationMs} ms)`,
  );
  try {
    const clientFor = (clientToken: string, keyId: string, key: DemoKeyPair): DpcClient => {
      const client = createClient({ baseUrl: sandbox.baseUrl, clientToken, privateKey: key.privateKey, keyId, onEvent: onHttp, redactor });
      clients.push(client);
      return client;
    };
    const clientTokenFile = join(dir, 'client-token.txt');
    const org = await step(
      'organization',
      async () => {
        const created = sandbox.admin.createOrganization({ name: 'dpc demo clinic' });
        redactor.add(created.clientToken);
        await writeOwnerOnly(clientTokenFile, `${created.clientToken}\n`);
        return created;
      },
      (o) => `organization ${o.orgId} registered through the portal (sandbox admin); its first client token is in ${clientTokenFile} (0600)`,
    );

    const keysDir = join(dir, 'keys');
    const [portalKey, apiKey] = await step(
      'keys',
      () => Promise.all([makeDemoKey(join(keysDir, 'portal')), makeDemoKey(join(keysDir, 'api'))]),
      () => `two RSA-4096 key pairs generated and DPC's snippet signed with each, in ${keysDir} (private keys 0600)`,
    );
    const portalKeyId = await step(
      'portal-key',
      () => sandbox.admin.registerKey(org.orgId, portalKey.publicKeyPem, 'dpc demo portal').keyId,
      (id) => `public key 1 registered through the portal: key id ${id}`,
    );
    const apiKeyId = await step(
      'api-key',
      async () => {
        const viaPortalKey = clientFor(org.clientToken, portalKeyId, portalKey);
        const uploaded = await uploadPublicKey(viaPortalKey, { publicKeyPem: apiKey.publicKeyPem, signature: apiKey.signature, label: 'dpc demo api' });
        return uploaded.id;
      },
      (id) => `public key 2 uploaded with POST /Key, authorised by an access token from key 1: key id ${id}`,
    );
    // from here on the journey authenticates with the key it uploaded itself
    const client = clientFor(org.clientToken, apiKeyId, apiKey);
    await step(
      'token',
      () => client.tokens.getAccessToken({ signal: options.signal }).then(() => undefined),
      () => `JWT assertion signed with key 2 (RS384, kid ${apiKeyId}) exchanged at /Token/auth for an access token valid ${expiresInSec ?? '?'} s`,
    );

    const registered = await step(
      'register',
      async () => {
        const practitioners = resourcesOfType<fhir3.Practitioner>(await readSampleJson(PRACTITIONER_SAMPLE), 'Practitioner', PRACTITIONER_SAMPLE);
        const patients = resourcesOfType<fhir3.Patient>(await readSampleJson(PATIENT_SAMPLE), 'Patient', PATIENT_SAMPLE);
        return { practitioners: await submitPractitioners(client, practitioners), patients: await submitPatients(client, patients) };
      },
      (r) => `${r.practitioners.length} practitioners (${PRACTITIONER_SAMPLE}) and ${r.patients.length} patients (${PATIENT_SAMPLE}) registered with $submit`,
    );

    const rosterText = await readSample(ROSTER_SAMPLE);
    const rosterRows = countRows(rosterText);
    const synced = await step(
      'roster',
      async () => (await syncRoster(client, { file: ROSTER_SAMPLE, text: rosterText })).result?.groups ?? [],
      (groups) => `${ROSTER_SAMPLE} synced: ${groups.length} groups attested and attributed (${rosterRows} members)`,
    );
    const group = largestGroup(synced);
    if (!group) throw new DpcError('ERR_INPUT', `${ROSTER_SAMPLE}: no roster rows name a registered patient`, { location: ROSTER_SAMPLE });
    const members = group.added + group.renewed;

    const exportDir = join(dir, 'export');
    const manifest = await step(
      'export',
      () => exportGroup(client, exportDir, group.groupId, options),
      (m) => {
        const totals = exportedFiles(m);
        return `$export of group ${group.groupId} (NPI ${group.npi}, ${members} patients): ${totals.files.length} files, ` +
          `${totals.resources} resources, ${formatBytes(totals.bytes)}, each checked against the job's sha256 and count as it streamed to disk`;
      },
    );
    const report = await step(
      'verify',
      async () => {
        const checked = await verifyExportDir(exportDir);
        const bad = checked.files.filter((f) => !f.ok);
        if (bad.length > 0) {
          throw new DpcError('ERR_INTEGRITY', `${plural(bad.length, 'exported file')} in ${exportDir} ${bad.length === 1 ? 'does' : 'do'} not match manifest.json`, {
            location: exportDir,
            details: bad.map((f) => `${f.path}: ${f.problems.join('; ')}`),
          });
        }
        return checked;
      },
      (r) => `${r.files.length} files re-hashed from disk against ${join(exportDir, group.groupId, manifest.run, 'manifest.json')}: all match`,
    );

    const totals = exportedFiles(manifest);
    const summary: DemoSummary = {
      dir,
      baseUrl: sandbox.baseUrl,
      organization: { id: org.orgId, clientTokenFile },
      keys: [
        { id: portalKeyId, registeredVia: 'portal', ...portalKey.files },
        { id: apiKeyId, registeredVia: 'api', ...apiKey.files },
      ],
      keyId: apiKeyId,
      accessToken: { expiresInSec },
      registered: { practitioners: registered.practitioners.length, patients: registered.patients.length },
      roster: {
        file: ROSTER_SAMPLE,
        rows: rosterRows,
        groups: synced.map((g) => ({ npi: g.npi, groupId: g.groupId, members: g.added + g.renewed })),
      },
      exported: {
        groupId: group.groupId,
        npi: group.npi,
        members,
        types: DEMO_EXPORT_TYPES,
        dir: join(exportDir, group.groupId, manifest.run),
        manifest: join(exportDir, group.groupId, manifest.run, 'manifest.json'),
        transactionTime: manifest.transactionTime,
        ...totals,
        verified: report.ok,
      },
      patientErrors: manifest.errors,
      steps: timings,
      totalMs: Math.round(performance.now() - began),
    };
    await options.hold?.(summary, sandbox);
    return summary;
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await sandbox.close();
  }
}

/**
 * Export one group, verified. Patients the sandbox fails on purpose end in the job's error file and make the run
 * "partial": expected here and reported in the summary. Any other problem (quarantined files, a failed job) throws.
 */
async function exportGroup(client: DpcClient, outDir: string, groupId: string, options: DemoOptions): Promise<GroupManifest> {
  const result = await runExport(client, {
    outDir,
    target: { kind: 'group', groupId },
    types: DEMO_EXPORT_TYPES,
    pollIntervalMs: options.pollIntervalMs ?? 500,
    signal: options.signal,
    onEvent: options.onExportEvent,
  });
  const problem = runOutcomeError(result);
  if (problem && problem.code !== 'ERR_PARTIAL') throw problem;
  const manifest = result.groups[0]?.manifest;
  if (!manifest) throw new DpcError('ERR_IO', `the export of group ${groupId} ended without a manifest in ${outDir}`, { location: outDir });
  return manifest;
}

async function readSample(name: string): Promise<string> {
  const url = new URL(name, SAMPLES);
  try {
    return await readFile(url, 'utf8');
  } catch (cause) {
    throw new DpcError('ERR_IO', `${url.pathname}: cannot read the sample file (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, { cause, location: url.pathname });
  }
}

async function readSampleJson(name: string): Promise<unknown> {
  return JSON.parse(await readSample(name)) as unknown;
}
