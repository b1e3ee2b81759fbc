/**
 * Resume asks the server before skipping a verified file: `HEAD` with `If-None-Match: <sha256>`; DPC answers 304 when its
 * checksum is ours (R/DataResource.java). Over loopback against the sandbox, plus a tiny server for the answers the
 * sandbox never gives (another ETag, an error).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../src/client.js';
import type { VerifiedFile } from '../../src/export/download.js';
import type { PlannedFile } from '../../src/export/manifest.js';
import { etagHex, serverConfirms } from '../../src/export/resume.js';
import { runExport } from '../../src/export/run.js';
import { Transport, type TransportEvent } from '../../src/transport/index.js';
import { startFaultServer, type Reply } from '../transport/fault-server.js';
import { exportFixture, makeGroup, tempDir, type ExportFixture } from './sandbox.js';

let fx: ExportFixture;
let groupId: string;

beforeAll(async () => {
  fx = await exportFixture();
  groupId = await makeGroup(fx, '1232131239', fx.goodMbis.slice(0, 4));
});
afterAll(async () => fx?.close());

describe('resume with If-None-Match', () => {
  it('skips the files verified in the first attempt after a 304 each, and downloads only the one that failed', async () => {
    const out = await tempDir();
    const events: TransportEvent[] = [];
    const client = createClient({
      baseUrl: fx.sandbox.baseUrl,
      clientToken: fx.sandbox.seed!.clientToken,
      privateKey: fx.privateKeyPem,
      keyId: fx.sandbox.seed!.keyId,
      now: () => fx.sandbox.clock.now(),
      authNow: () => fx.sandbox.authClock.now(),
      onEvent: (e) => {
        if (e.type === 'response') events.push(e as TransportEvent);
      },
    });
    try {
      const run = () => runExport(client, { outDir: out, target: { kind: 'group', groupId }, pollIntervalMs: 50 });
      fx.sandbox.faults.set({ wrongChecksum: { fileIncludes: 'coverage' } });
      let first;
      try {
        first = await run();
      } finally {
        fx.sandbox.faults.clear();
      }
      const verifiedFirst = first.groups[0]!.manifest!.files.length;
      expect(first.groups[0]!.manifest!.quarantined).toHaveLength(1);
      expect(verifiedFirst).toBeGreaterThan(0);

      events.length = 0;
      const second = await run();
      expect(second.groups[0]!.manifest!.quarantined).toHaveLength(0);
      const data = events.filter((e) => e.type === 'response' && e.url.includes('/Data/'));
      const heads = data.filter((e) => e.type === 'response' && e.method === 'HEAD');
      expect(heads.map((e) => e.type === 'response' && e.status)).toEqual(Array(verifiedFirst).fill(304));
      expect(data.filter((e) => e.type === 'response' && e.method === 'GET')).toHaveLength(1); // only the quarantined file
    } finally {
      await client.close();
    }
  });
});

describe('serverConfirms', () => {
  const sha = 'ab'.repeat(32);
  const file: PlannedFile = { kind: 'output', type: 'Patient', url: '', name: 'Patient-001.ndjson', sha256: sha };
  const recorded: VerifiedFile = { url: '', type: 'Patient', kind: 'output', path: 'Patient-001.ndjson', bytes: 1, sha256: sha, count: 1 };

  async function answering(status: number, etag?: string) {
    const server = await startFaultServer((): Reply => ({ status, headers: etag ? { etag } : {} }));
    const base = `${server.origin}/api/v1`;
    const transport = new Transport({ baseUrl: base, retry: { maxRetries: 0 } });
    try {
      const confirmed = await serverConfirms(transport, { ...file, url: `${base}/Data/x.ndjson` }, recorded, { requiresAccessToken: false });
      return { confirmed, seen: server.seen.map((request) => request.headers['if-none-match']) };
    } finally {
      await transport.close();
      await server.close();
    }
  }

  it('304 confirms; a 200 confirms only with our hash as its ETag; another ETag or an error does not', async () => {
    expect(await answering(304)).toEqual({ confirmed: true, seen: [sha] });
    expect((await answering(200, `"${sha}--gzip"`)).confirmed).toBe(true);
    expect((await answering(200, 'cd'.repeat(32))).confirmed).toBe(false);
    expect((await answering(200)).confirmed).toBe(false);
    expect((await answering(404)).confirmed).toBe(false);
  });

  it('trusts the record without asking when the manifest has no checksum (generic servers: opaque ETags)', async () => {
    const transport = new Transport({ baseUrl: 'http://127.0.0.1:9/api/v1' });
    try {
      expect(await serverConfirms(transport, { ...file, sha256: undefined }, recorded, { requiresAccessToken: false })).toBe(true);
    } finally {
      await transport.close();
    }
  });

  it('etagHex strips W/, quotes and a --gzip suffix', () => {
    expect(etagHex(`W/"${sha.toUpperCase()}--gzip"`)).toBe(sha);
    expect(etagHex(undefined)).toBeUndefined();
  });
});
