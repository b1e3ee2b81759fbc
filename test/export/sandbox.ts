/**
 * Shared setup for export tests: an in-process seeded sandbox (seeded with the run's shared RSA-4096 key), a client
 * through the real token flow on the sandbox clock, and attribution groups built through the FHIR API.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type DpcClient } from '../../src/client.js';
import type { TransportEvent } from '../../src/transport/index.js';
import { attestationFor, resolvePatientIds } from '../../src/fhir/lookup.js';
import { createGroup } from '../../src/fhir/groups.js';
import { findPractitionerByNpi } from '../../src/fhir/practitioners.js';
import { patientFailure } from '../../src/sandbox/export/outcomes.js';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { testKey } from '../keys.js';

export interface ExportFixture {
  sandbox: SandboxHandle;
  client: DpcClient;
  privateKeyPem: string;
  /** Every transport event of the client (retries, re-auth), for assertions. */
  transportEvents: TransportEvent[];
  /** Patients whose data the sandbox delivers. */
  goodMbis: string[];
  /** Patients the sandbox reports in the error file. */
  failingMbis: string[];
  close(): Promise<void>;
}

export async function exportFixture(options: { jobDurationMs?: number; exportScale?: number } = {}): Promise<ExportFixture> {
  const sandbox = await startSandbox({
    seed: true,
    seedKey: testKey(0),
    testMode: true,
    jobDurationMs: options.jobDurationMs ?? 200,
    exportScale: options.exportScale,
  });
  const seed = sandbox.seed!;
  const privateKeyPem = await readFile(seed.privateKeyPath, 'utf8');
  const transportEvents: TransportEvent[] = [];
  const client = createClient({
    baseUrl: sandbox.baseUrl,
    clientToken: seed.clientToken,
    privateKey: privateKeyPem,
    keyId: seed.keyId,
    now: () => sandbox.clock.now(),
    authNow: () => sandbox.authClock.now(),
    // keep transport retries quick where a fault has no Retry-After
    retry: { baseDelayMs: 20, maxDelayMs: 200 },
    onEvent: (event) => {
      if (event.type === 'retry' || event.type === 'reauth') transportEvents.push(event);
    },
  });
  const csv = await readFile(new URL('../../samples/test_associations-dpr.csv', import.meta.url), 'utf8');
  const mbis = [...new Set(csv.split('\n').map((line) => line.split(',')[0]!.trim()).filter((mbi) => /^\d[A-Z]/.test(mbi)))];
  return {
    sandbox,
    client,
    privateKeyPem,
    transportEvents,
    goodMbis: mbis.filter((mbi) => patientFailure(mbi) === undefined),
    failingMbis: mbis.filter((mbi) => patientFailure(mbi) !== undefined),
    async close() {
      await client.close();
      await sandbox.close();
      await removeTempDirs();
    },
  };
}

/** Create the attribution group of a seeded practitioner with these patients; returns its id. */
export async function makeGroup(fx: ExportFixture, npi: string, mbis: readonly string[]): Promise<string> {
  const practitioner = await findPractitionerByNpi(fx.client, npi);
  if (!practitioner) throw new Error(`sample practitioner ${npi} is not seeded`);
  const patientIds = await resolvePatientIds(fx.client, mbis);
  const provenance = await attestationFor(fx.client, practitioner, fx.sandbox.seed!.orgId);
  const group = await createGroup(fx.client, { npi, patientIds, provenance });
  return group.id!;
}

const tempDirs: string[] = [];

/** A fresh temp folder, removed by `removeTempDirs()` (the fixture's close calls it). */
export async function tempDir(prefix = 'dpc-export-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  for (const dir of tempDirs.splice(0)) await rm(dir, { recursive: true, force: true });
}

/** The seeded sample practitioners (provider_bundle.json). */
export const NPIS = ['1234329724', '1232131239', '1232125215', '2323232225'] as const;
