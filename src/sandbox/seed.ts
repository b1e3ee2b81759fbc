/**
 * `seed: true`: one organization with a client token, a 4096-bit RSA key pair (private key written 0600 in
 * the state dir, public key registered), and the published sample practitioners and patients.
 * A state dir that was seeded before keeps its seed, so a restarted sandbox prints the same profile.
 */
import type * as fhir3 from 'fhir/r3.js';
import { createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { AdminApi } from './admin.js';
import type { App } from './app.js';
import { patientViolations, practitionerViolations } from './profiles.js';
import { upsertPatient } from './routes/patient.js';
import { upsertPractitioner } from './routes/practitioner.js';
import { readSample, sampleResources } from './samples.js';
import type { SeedInfo } from './state.js';

const generateRsa = promisify(generateKeyPair);

export async function seedSandbox(app: App, admin: AdminApi, stateDir: string, key?: KeyObject): Promise<SeedInfo> {
  const previous = app.store.seed;
  if (previous && existsSync(previous.privateKeyPath) && app.store.orgs.has(previous.orgId)) return previous;

  const template = readSample<fhir3.Bundle>('organization.tmpl.json').entry?.[0]?.resource as fhir3.Organization | undefined;
  const orgNpi = template?.identifier?.[0]?.value ?? '1111112110';
  const { orgId, clientToken } = admin.createOrganization({ npi: orgNpi, name: template?.name ?? 'Sandbox Organization' });

  const { publicKey, privateKey } = key ? { privateKey: key, publicKey: createPublicKey(key) } : await generateRsa('rsa', { modulusLength: 4096 });
  const privateKeyPath = join(stateDir, 'sandbox-private-key.pem');
  writeFileSync(privateKeyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const { keyId } = admin.registerKey(orgId, publicKeyPem, 'sandbox seed key');

  for (const p of sampleResources<fhir3.Practitioner>('provider_bundle.json')) {
    if (practitionerViolations(p).length === 0) upsertPractitioner(app, orgId, p);
  }
  for (const p of sampleResources<fhir3.Patient>('patient_bundle-dpr.json')) {
    if (patientViolations(p).length === 0) upsertPatient(app, orgId, p);
  }
  const seed: SeedInfo = { orgId, orgNpi, clientToken, keyId, privateKeyPath, publicKeyPem };
  app.store.seed = seed;
  app.store.markDirty();
  app.store.saveIfDirty();
  return seed;
}
