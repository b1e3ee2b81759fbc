/**
 * The demo's data: what each step reports and the summary it ends with, plus the pure helpers that shape them.
 * Nothing here holds a secret: the client token and private keys appear only as the paths of their 0600 files.
 */
import type { GroupChange } from '../roster/apply.js';
import type { ErrorSummary, GroupManifest, VerifiedFile } from '../export/index.js';

export const DEMO_STEPS = ['sandbox', 'organization', 'keys', 'portal-key', 'api-key', 'token', 'register', 'roster', 'export', 'verify'] as const;
export type DemoStepName = (typeof DEMO_STEPS)[number];

export interface DemoStep {
  name: DemoStepName;
  /** 1-based position in DEMO_STEPS. */
  index: number;
  total: number;
  /** One line for people: what happened, naming ids and paths, never secrets. */
  message: string;
  ms: number;
}

export interface DemoKey {
  id: string;
  /** `portal`: registered the way the DPC portal does (sandbox admin); `api`: uploaded with POST /Key. */
  registeredVia: 'portal' | 'api';
  privateKeyFile: string;
  publicKeyFile: string;
  signatureFile: string;
}

export interface DemoFile {
  type: string;
  /** `output` for resources, `error` for the per-patient OperationOutcomes. */
  kind: VerifiedFile['kind'];
  path: string;
  resources: number;
  bytes: number;
  sha256: string;
}

export interface DemoSummary {
  dir: string;
  baseUrl: string;
  organization: { id: string; clientTokenFile: string };
  keys: DemoKey[];
  /** The key id (JWT `kid`) the journey authenticated with after uploading it. */
  keyId: string;
  accessToken: { expiresInSec: number | undefined };
  registered: { practitioners: number; patients: number };
  roster: {
    file: string;
    rows: number;
    groups: Array<{ npi: string; groupId: string; members: number }>;
  };
  exported: {
    groupId: string;
    npi: string;
    members: number;
    types: string[];
    dir: string;
    manifest: string;
    transactionTime: string;
    files: DemoFile[];
    resources: number;
    bytes: number;
    /** Every file re-hashed from disk and matching its manifest entry. */
    verified: boolean;
  };
  /** Patients the sandbox fails on purpose, reported in the job's error file; expected, not a demo failure. */
  patientErrors: ErrorSummary;
  steps: Array<{ name: DemoStepName; ms: number }>;
  totalMs: number;
}

/** The number of non-blank lines of a headerless `MBI,NPI` roster. Pure. */
export function countRows(csv: string): number {
  return csv.split(/\r?\n/).filter((line) => line.trim() !== '').length;
}

/** The group with the most members (ties: lowest NPI, so runs are repeatable). Pure. */
export function largestGroup(groups: readonly GroupChange[]): GroupChange | undefined {
  return [...groups].sort((a, b) => b.added + b.renewed - (a.added + a.renewed) || a.npi.localeCompare(b.npi))[0];
}

/** The manifest's files as the summary lists them, and their totals (resources of output files only). Pure. */
export function exportedFiles(manifest: Pick<GroupManifest, 'files'>): { files: DemoFile[]; resources: number; bytes: number } {
  const files = manifest.files.map((f) => ({ type: f.type, kind: f.kind, path: f.path, resources: f.count, bytes: f.bytes, sha256: f.sha256 }));
  return {
    files,
    resources: files.filter((f) => f.kind === 'output').reduce((sum, f) => sum + f.resources, 0),
    bytes: files.reduce((sum, f) => sum + f.bytes, 0),
  };
}

/** `512 B`, `95.1 KiB`, `14.2 MiB`. Pure. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}
