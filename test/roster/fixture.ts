/**
 * Roster tests' setup: a seeded in-process sandbox (seeded with the run's shared RSA-4096 key), clients
 * through the real token flow on the sandbox clock, and a counter of the write requests each client makes.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createClient, type DpcClient } from '../../src/client.js';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { testKey, testKeyPem, testPublicKeyPem } from '../keys.js';

export interface CountingClient extends DpcClient {
  /** Requests by method (first attempts only), reset with `reset()`. */
  readonly counts: { reads: number; writes: number; writePaths: string[] };
  reset(): void;
}

export interface RosterFixture {
  sandbox: SandboxHandle;
  privateKeyPem: string;
  /** A client of the seeded org (4 sample practitioners, 100 sample patients). */
  client: CountingClient;
  /** A client of a second organization, empty until a test fills it (made on first use, with a second shared key). */
  otherOrgClient(): Promise<CountingClient>;
  close(): Promise<void>;
}

export async function rosterFixture(): Promise<RosterFixture> {
  const sandbox = await startSandbox({ seed: true, testMode: true, seedKey: testKey(0) });
  const seed = sandbox.seed!;
  const privateKeyPem = await readFile(seed.privateKeyPath, 'utf8');
  const clients: DpcClient[] = [];
  const make = (clientToken: string, keyId: string, privateKey = privateKeyPem): CountingClient => {
    const counts = { reads: 0, writes: 0, writePaths: [] as string[] };
    const client = createClient({
      baseUrl: sandbox.baseUrl,
      clientToken,
      privateKey,
      keyId,
      now: () => sandbox.clock.now(),
      authNow: () => sandbox.authClock.now(),
      retry: { baseDelayMs: 10, maxDelayMs: 50 },
      onEvent: (e) => {
        if (e.type !== 'request' || e.attempt > 0 || e.url.endsWith('/Token/auth')) return;
        if (e.method === 'GET') counts.reads++;
        else {
          counts.writes++;
          counts.writePaths.push(`${e.method} ${new URL(e.url).pathname.replace(/^\/api\/v1/, '')}`);
        }
      },
    });
    clients.push(client);
    return Object.assign(client, {
      counts,
      reset() {
        counts.reads = 0;
        counts.writes = 0;
        counts.writePaths = [];
      },
    });
  };
  // the sandbox refuses one public key for two organizations, as DPC does, so the other org gets its own
  let other: Promise<CountingClient> | undefined;
  return {
    sandbox,
    privateKeyPem,
    client: make(seed.clientToken, seed.keyId),
    otherOrgClient() {
      other ??= Promise.resolve().then(() => {
        const org = sandbox.admin.createOrganization();
        const { keyId } = sandbox.admin.registerKey(org.orgId, testPublicKeyPem(1));
        return make(org.clientToken, keyId, testKeyPem(1));
      });
      return other;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await sandbox.close();
    },
  };
}

export const DAY = 86_400_000;

/** `dpc`'s environment for the seeded org of a fixture: no config file (a path in `dir` that does not exist), the rest in DPC_*. */
export function seededCliEnv(fx: RosterFixture, dir: string): Record<string, string> {
  const seed = fx.sandbox.seed!;
  return {
    DPC_CONFIG: join(dir, 'no-config.json'),
    DPC_BASE_URL: fx.sandbox.baseUrl,
    DPC_CLIENT_TOKEN: seed.clientToken,
    DPC_PRIVATE_KEY: seed.privateKeyPath,
    DPC_KEY_ID: seed.keyId,
  };
}
