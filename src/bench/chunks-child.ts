/**
 * Child process of `benchmarkChunks` (run from dist/): one verified download of a finished job on the loopback
 * server with the export engine of the build in `dist`; prints its own CPU, time and peak RSS as one JSON line.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DpcClient } from '../client.js';

export interface ChunksChildInput {
  /** The dist/ folder whose export engine runs. */
  dist: string;
  baseUrl: string;
  jobUrl: string;
  outDir: string;
}

export interface ChunksChildOutput {
  bytes: number;
  seconds: number;
  /** User + system CPU of the download. */
  cpuSeconds: number;
  peakRssBytes: number;
}

async function main(input: ChunksChildInput): Promise<ChunksChildOutput> {
  const load = (path: string) => import(pathToFileURL(join(input.dist, path)).href);
  const { Transport } = (await load('transport/index.js')) as typeof import('../transport/index.js');
  const { Redactor } = (await load('redact.js')) as Partial<typeof import('../redact.js')>;
  const { downloadExisting } = (await load('export/existing.js')) as typeof import('../export/existing.js');
  // an open server: no token is ever sent for the files (requiresAccessToken: false); the status request gets a dummy
  const transport = new Transport({ baseUrl: input.baseUrl, tokenProvider: { getAccessToken: async () => 'bench-open-server' } });
  // what the engine uses of a client (transport, clock, redactor), in a shape older builds accept too
  const client = { baseUrl: input.baseUrl, transport, now: Date.now, redactor: Redactor && new Redactor(), close: () => transport.close() } as unknown as DpcClient;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const result = await downloadExisting(client, { source: input.jobUrl, outDir: input.outDir, concurrency: 4 });
  const cpu = process.cpuUsage(cpuBefore);
  const seconds = (performance.now() - started) / 1000;
  const bytes = result.groups.flatMap((g) => g.manifest?.files ?? []).reduce((sum, f) => sum + f.bytes, 0);
  if (result.groups.some((g) => !g.manifest || g.manifest.quarantined.length > 0)) throw new Error('the benchmark download did not verify');
  return { bytes, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
}

process.stdout.write(`${JSON.stringify(await main(JSON.parse(process.argv[2] ?? '{}') as ChunksChildInput))}\n`);
