/**
 * Bodies written in small chunks (1 byte to 2 KiB, as many servers write them) arrive intact and verified through the
 * coalescing first stage of the download, over loopback.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runExport, runOutcomeError } from '../../src/export/index.js';
import { bulkServerForFile } from './bulk-server.js';
import { removeTempDirs, tempDir } from './sandbox.js';

const lines = Array.from({ length: 3000 }, (_, i) => `{"resourceType":"Observation","id":"o${i}","valueQuantity":{"value":${i}}}\n`);
const content = lines.join('');
const server = bulkServerForFile({ jobs: { g: { output: [{ type: 'Observation', name: 'o.ndjson', count: lines.length }] } }, files: { 'o.ndjson': content } });

afterAll(removeTempDirs);

describe('small server chunks', () => {
  for (const chunkBytes of [1, 1500, 2048]) {
    it(`verifies a body written ${chunkBytes} byte(s) at a time`, async () => {
      server.config.chunkBytes = chunkBytes;
      const out = await tempDir();
      const result = await runExport(server.client(), { outDir: out, target: { kind: 'group', groupId: 'g' }, pollIntervalMs: 10 });
      expect(runOutcomeError(result)).toBeUndefined();
      const manifest = result.groups[0]!.manifest!;
      const stored = await readFile(join(out, 'g', manifest.run, 'Observation-001.ndjson'));
      expect(stored.toString()).toBe(content);
      expect(manifest.files[0]).toMatchObject({ count: lines.length, bytes: content.length, sha256: createHash('sha256').update(content).digest('hex') });
    });
  }
});
