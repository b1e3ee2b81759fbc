/**
 * `dpc-client/sandbox`: the embedded DPC sandbox, a local HTTP server implementing DPC v1 (behaviour doc §0–§7) for
 * offline development and tests, and its typed admin contract. Imports nothing from the client library (only
 * src/shared). This export list is written by hand.
 */
import type { KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAdminApi, adminRoutes, type AdminApi } from './admin.js';
import type { App } from './app.js';
import { createClock, type SandboxClock } from './clock.js';
import { createExportService } from './export/index.js';
import type { SandboxFaults } from './export/contract.js';
import { JtiCache } from './jti.js';
import { Router } from './router.js';
import { apiRoutes } from './routes/index.js';
import { seedSandbox } from './seed.js';
import { API_PREFIX, createListener } from './server.js';
import { Store, type SeedInfo } from './state.js';

/** Faults a test can switch on: throttling, cut or truncated downloads, wrong checksums, slow first bytes. */
export type { SandboxFaults } from './export/contract.js';
/** The portal's role in-process (`sandbox.admin`): create an organization, register a key. */
export type { AdminApi } from './admin.js';
/** The organization, client token and key a seeded sandbox starts with. */
export type { SeedInfo } from './state.js';
/** The `/__admin` HTTP contract: route patterns, paths, request and response types. */
export { ADMIN_PREFIX, ADMIN_ROUTES, adminPaths } from './admin-contract.js';
/** The bodies of the `/__admin` requests and responses. */
export type { CreateOrganizationRequest, CreateOrganizationResponse, RegisterKeyRequest, RegisterKeyResponse, ClockRequest, ClockResponse, FaultsRequest } from './admin-contract.js';
/** Register a new organization and public key with a running sandbox over HTTP (what `dpc init --sandbox-url` does). */
export { registerWithSandbox, type SandboxRegistration } from './admin-contract.js';
/** Read or move a running test-mode sandbox's clock, and set, clear or read its faults, over HTTP (`dpc sandbox clock|fault`). */
export { sandboxClock, sandboxFaults, SandboxAdminError } from './admin-contract.js';
/** The sandbox's clocks (`handle.clock`, `handle.authClock`): now, advance, set. */
export type { SandboxClock } from './clock.js';

/** What startSandbox takes: port, state folder, seeding, test mode, export timing and faults. */
export interface SandboxOptions {
  /** 0 = ephemeral (default 0). */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** Persisted state + export data; default: a fresh temp dir (removed on close), the state then kept in memory only. */
  stateDir?: string;
  /** Register an org, a client token, a 4096-bit key pair (private key written 0600 in stateDir), load sample practitioners+patients. */
  seed?: boolean;
  /** The seed's RSA private key (default: a new 4096-bit pair); tests share one to skip ~2 s of key generation. */
  seedKey?: KeyObject;
  /** Enables the clock and fault admin endpoints. */
  testMode?: boolean;
  /** How long an export job stays "in progress" (default 3000). */
  jobDurationMs?: number;
  /** Size knob passed to the export engine. */
  exportScale?: number;
  /** Roster limit, default 1350. */
  patientLimit?: number;
  faults?: SandboxFaults;
  /** Seed of the export engine's synthetic claims data (default 0: the same data every run). */
  dataSeed?: number;
}

/** A running sandbox: its URLs, clock, faults, in-process admin, and `close()`. */
export interface SandboxHandle {
  /** http://127.0.0.1:PORT/api/v1 */
  baseUrl: string;
  origin: string;
  port: number;
  stateDir: string;
  seed?: SeedInfo;
  /** The sandbox clock: attribution periods, job expiry, timestamps (what `/__admin/clock` moves). */
  clock: SandboxClock;
  /** The clock of JWT and token checks: real time unless a test moves it to expire tokens. */
  authClock: SandboxClock;
  faults: { set(f: SandboxFaults): void; clear(): void };
  admin: AdminApi;
  close(): Promise<void>;
}

/** Start the sandbox on loopback (an ephemeral port unless told); `close()` stops it and removes a temp state folder. */
export async function startSandbox(options: SandboxOptions = {}): Promise<SandboxHandle> {
  const host = options.host ?? '127.0.0.1';
  const ownsStateDir = options.stateDir === undefined;
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'dpc-sandbox-'));
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  // a temporary state folder is removed on close: nothing could ever read a snapshot saved there
  const store = ownsStateDir ? Store.inMemory() : Store.open(stateDir);
  const clock = createClock();
  const authClock = createClock();
  // One live object: the export engine decrements its counters in place, so `set` replaces contents, not the reference.
  const faults: SandboxFaults = structuredClone(options.faults ?? {});
  const setFaults = (f: SandboxFaults) => {
    for (const key of Object.keys(faults) as Array<keyof SandboxFaults>) delete faults[key];
    Object.assign(faults, structuredClone(f));
  };

  const server = createServer();
  const removeOwnedState = () => {
    if (ownsStateDir) rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => resolve());
    });
  } catch (error) {
    removeOwnedState();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const origin = `http://${urlHost}:${port}`;
  const baseUrl = `${origin}${API_PREFIX}`;

  const exportService = createExportService({
    stateDir,
    baseUrl,
    now: () => clock.now(),
    jobDurationMs: options.jobDurationMs ?? 3000,
    exportScale: options.exportScale ?? 1,
    faults: () => faults,
    seed: options.dataSeed ?? 0,
  });
  const app: App = {
    store,
    clock,
    baseUrl,
    authUrl: `${baseUrl}/Token/auth`,
    authClock,
    jtis: new JtiCache(() => authClock.now()),
    faults: () => faults,
    exportService,
    patientLimit: options.patientLimit ?? 1350,
    testMode: options.testMode ?? false,
  };
  const admin = createAdminApi(app);
  server.on('request', createListener(app, new Router(apiRoutes), new Router(adminRoutes(admin, setFaults))));

  const shutdown = async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await exportService.close();
    store.saveIfDirty();
    removeOwnedState();
  };

  let seed: SeedInfo | undefined;
  try {
    if (options.seed) seed = await seedSandbox(app, admin, stateDir, options.seedKey);
  } catch (error) {
    await shutdown();
    throw error;
  }

  let closed: Promise<void> | undefined;
  return {
    baseUrl,
    origin,
    port,
    stateDir,
    ...(seed ? { seed } : {}),
    clock,
    authClock,
    faults: { set: setFaults, clear: () => setFaults({}) },
    admin,
    close: () => (closed ??= shutdown()),
  };
}
