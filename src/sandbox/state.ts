/**
 * The sandbox's data: organizations, client tokens, public keys, practitioners, patients and rosters.
 * Held in memory, persisted as one JSON snapshot (owner-only: it holds the macaroon root key and PHI-shaped
 * sample data) so a restarted sandbox with the same stateDir keeps its credentials. A sandbox on a temporary state
 * folder keeps its data in memory only (`Store.inMemory()`).
 */
import type * as fhir3 from 'fhir/r3.js';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** `address` and `contact` are set by `PUT /Organization/{id}`; before that the sandbox shows a fixed address. */
export interface OrgRecord { id: string; npi: string; name: string; createdAt: number; address?: fhir3.Address; contact?: fhir3.OrganizationContact[] }
export interface TokenRecord { id: string; orgId: string; label: string; createdAt: number; expiresAt: number }
export interface KeyRecord { id: string; orgId: string; label: string; publicKey: string; createdAt: number }
export interface PractitionerRecord { id: string; orgId: string; npi: string; resource: fhir3.Practitioner; lastUpdated: number }
export interface PatientRecord { id: string; orgId: string; mbi: string; resource: fhir3.Patient; lastUpdated: number }
/** One attribution relationship; `inactive` is the stored flag, expiry (end ≤ now) is applied on read. */
export interface MemberRecord { patientId: string; start: number; end: number; inactive: boolean }
export interface GroupRecord { id: string; orgId: string; npi: string; members: MemberRecord[]; createdAt: number }
/** One entry of an organization's IP allow-list (`/IpAddress`). */
export interface IpAddressRecord { id: string; orgId: string; address: string; createdAt: number }
export interface SeedInfo { orgId: string; orgNpi: string; clientToken: string; keyId: string; privateKeyPath: string; publicKeyPem: string }

interface Snapshot {
  version: 1;
  rootKey: string;
  orgs: OrgRecord[];
  tokens: TokenRecord[];
  keys: KeyRecord[];
  practitioners: PractitionerRecord[];
  patients: PatientRecord[];
  groups: GroupRecord[];
  /** Absent in snapshots written before the sandbox had `/IpAddress`. */
  ipAddresses?: IpAddressRecord[];
  seed?: SeedInfo;
}

export class Store {
  readonly orgs = new Map<string, OrgRecord>();
  readonly tokens = new Map<string, TokenRecord>();
  readonly keys = new Map<string, KeyRecord>();
  readonly practitioners = new Map<string, PractitionerRecord>();
  readonly patients = new Map<string, PatientRecord>();
  readonly groups = new Map<string, GroupRecord>();
  readonly ipAddresses = new Map<string, IpAddressRecord>();
  seed: SeedInfo | undefined;
  /** HMAC root key of every macaroon this sandbox mints. */
  readonly rootKey: Buffer;
  private dirty = false;

  /** `file`: where the snapshot is saved; none for a store that lives in memory only. */
  private constructor(private readonly file: string | undefined, snapshot?: Snapshot) {
    this.rootKey = snapshot ? Buffer.from(snapshot.rootKey, 'base64') : randomBytes(32);
    if (!snapshot) return;
    for (const r of snapshot.orgs) this.orgs.set(r.id, r);
    for (const r of snapshot.tokens) this.tokens.set(r.id, r);
    for (const r of snapshot.keys) this.keys.set(r.id, r);
    for (const r of snapshot.practitioners) this.practitioners.set(r.id, r);
    for (const r of snapshot.patients) this.patients.set(r.id, r);
    for (const r of snapshot.groups) this.groups.set(r.id, r);
    for (const r of snapshot.ipAddresses ?? []) this.ipAddresses.set(r.id, r);
    this.seed = snapshot.seed;
  }

  /** Opens `<stateDir>/state.json`, or starts empty when there is none. */
  static open(stateDir: string): Store {
    const file = join(stateDir, 'state.json');
    if (!existsSync(file)) return new Store(file);
    let snapshot: Snapshot;
    try {
      snapshot = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
    } catch (error) {
      throw new Error(`sandbox state ${file} is not valid JSON: ${(error as Error).message}`);
    }
    if (snapshot.version !== 1 || typeof snapshot.rootKey !== 'string') throw new Error(`sandbox state ${file}: unsupported format`);
    return new Store(file, snapshot);
  }

  /**
   * A store that is never saved: a temporary state folder is removed on close, so no one could read its snapshot,
   * and writing the whole snapshot after every change costs milliseconds per request.
   */
  static inMemory(): Store {
    return new Store(undefined);
  }

  markDirty(): void {
    this.dirty = true;
  }

  /** Writes the snapshot if anything changed since the last save (atomic rename, mode 0600). */
  saveIfDirty(): void {
    if (!this.dirty || this.file === undefined) return;
    this.dirty = false;
    const snapshot: Snapshot = {
      version: 1,
      rootKey: this.rootKey.toString('base64'),
      orgs: [...this.orgs.values()],
      tokens: [...this.tokens.values()],
      keys: [...this.keys.values()],
      practitioners: [...this.practitioners.values()],
      patients: [...this.patients.values()],
      groups: [...this.groups.values()],
      ipAddresses: [...this.ipAddresses.values()],
      ...(this.seed ? { seed: this.seed } : {}),
    };
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(snapshot), { mode: 0o600 });
    renameSync(tmp, this.file);
  }

  practitionersOf(orgId: string): PractitionerRecord[] {
    return [...this.practitioners.values()].filter((p) => p.orgId === orgId);
  }

  patientsOf(orgId: string): PatientRecord[] {
    return [...this.patients.values()].filter((p) => p.orgId === orgId);
  }

  groupsOf(orgId: string): GroupRecord[] {
    return [...this.groups.values()].filter((g) => g.orgId === orgId);
  }

  ipAddressesOf(orgId: string): IpAddressRecord[] {
    return [...this.ipAddresses.values()].filter((r) => r.orgId === orgId);
  }
}
