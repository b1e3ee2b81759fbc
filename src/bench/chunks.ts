/**
 * Benchmark helper for `npm run bench`: client CPU per GB of a verified download when the server writes small chunks
 * (1–2 KiB, as many Bulk Data servers do with chunked encoding) against big ones (64 KiB). A loopback generic Bulk
 * Data server in this process serves one finished job per scenario (4 files, counts but no checksums); a child process
 * (./chunks-child.ts, under the V8 settings `dpc export` runs with) downloads it with the export engine and reports
 * its own CPU, so server work is not counted. `baselineDist` runs the same child against another build (e.g. one
 * from before a change) in the same run, for a before/after on the same machine state.
 */
import { execFile } from 'node:child_process';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { ChunksChildInput, ChunksChildOutput } from './chunks-child.js';

export interface ChunksBenchOptions {
  /** Bytes per scenario, split over 4 files (default 256 MiB). */
  bytes?: number;
  /** Another build's dist/ folder to measure the same way, first. */
  baselineDist?: string;
}

export interface ChunksScenarioResult {
  scenario: 'small' | 'big';
  /** Which build: `current` or `baseline`. */
  build: string;
  bytes: number;
  cpuSecondsPerGB: number;
  mibPerSecond: number;
  peakRssBytes: number;
}

const FILES = 4;
const execFileAsync = promisify(execFile);

/** A 1 MiB block of NDJSON lines; files repeat it, so line counts are exact. */
function block(): { bytes: Buffer; lines: number } {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < 1 << 20; i++) {
    const line = `{"resourceType":"Observation","id":"o${i}","status":"final","code":{"text":"heart rate"},"valueQuantity":{"value":${60 + (i % 40)}}}\n`;
    lines.push(line);
    size += line.length;
  }
  return { bytes: Buffer.from(lines.join('')), lines: lines.length };
}

/** Write `blocks` copies of `data` in chunks from `minChunk` to `maxChunk` bytes, honouring backpressure. */
async function writeChunked(res: ServerResponse, data: Buffer, blocks: number, minChunk: number, maxChunk: number): Promise<void> {
  let seed = 1;
  for (let b = 0; b < blocks; b++) {
    for (let i = 0; i < data.length; ) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31; // deterministic chunk sizes
      const n = minChunk + (seed % (maxChunk - minChunk + 1));
      if (!res.write(data.subarray(i, i + n))) await once(res, 'drain');
      i += n;
    }
  }
  res.end();
}

export async function benchmarkChunks(options: ChunksBenchOptions = {}): Promise<ChunksScenarioResult[]> {
  const data = block();
  const blocksPerFile = Math.max(1, Math.round((options.bytes ?? 256 * 2 ** 20) / FILES / data.bytes.length));
  const chunkSizes = { small: [1024, 2048], big: [64 * 1024, 64 * 1024] } as const;
  const server = createServer((req, res) => {
    const path = new URL(req.url!, 'http://x').pathname;
    const job = /^\/fhir\/jobs\/(small|big)$/.exec(path);
    const file = /^\/files\/(small|big)\/\d+$/.exec(path);
    if (job) {
      const output = Array.from({ length: FILES }, (_, i) => ({ type: 'Observation', url: `${base}/files/${job[1]}/${i}`, count: data.lines * blocksPerFile }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ transactionTime: '2026-01-01T00:00:00Z', request: `${base}/fhir/$export`, requiresAccessToken: false, output, error: [] }));
    } else if (file) {
      const [min, max] = chunkSizes[file[1] as 'small' | 'big'];
      res.writeHead(200, { 'content-type': 'application/fhir+ndjson' });
      void writeChunked(res, data.bytes, blocksPerFile, min, max);
    } else res.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const workDir = await mkdtemp(join(tmpdir(), 'dpc-chunks-bench-'));
  const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
  const builds: Array<[string, string]> = [...(options.baselineDist ? [['baseline', options.baselineDist] as [string, string]] : []), ['current', fileURLToPath(new URL('..', import.meta.url))]];
  try {
    const results: ChunksScenarioResult[] = [];
    for (const scenario of ['small', 'big'] as const) {
      for (const [build, dist] of builds) {
        const input: ChunksChildInput = { dist, baseUrl: `${base}/fhir`, jobUrl: `${base}/fhir/jobs/${scenario}`, outDir: join(workDir, `${scenario}-${build}`) };
        const args = ['--import', pathToFileURL(here('tuned.js')).href, here('chunks-child.js'), JSON.stringify(input)];
        const { stdout } = await execFileAsync(process.execPath, args, { maxBuffer: 1 << 20 });
        const out = JSON.parse(stdout) as ChunksChildOutput;
        await rm(input.outDir, { recursive: true, force: true });
        results.push({
          scenario,
          build,
          bytes: out.bytes,
          cpuSecondsPerGB: out.cpuSeconds / (out.bytes / 1e9),
          mibPerSecond: out.bytes / 2 ** 20 / out.seconds,
          peakRssBytes: out.peakRssBytes,
        });
      }
    }
    return results;
  } finally {
    server.close();
    await rm(workDir, { recursive: true, force: true });
  }
}
