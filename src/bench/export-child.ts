/**
 * Child process of `benchmarkExport` (run from dist/): one measured download of a finished sandbox job, so its peak
 * RSS is the download's alone. Both modes run under the V8 settings `dpc export` uses (preloaded: ./tuned.ts), so
 * the comparison is of the code, not of the VM: `verified` (the export engine) and `raw` (plain undici GET → file at the
 * same concurrency, then a separate sha256 pass over the files: the reference the engine is compared with).
 * Input: one JSON argument; output: one JSON line on stdout.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { request } from 'undici';
import { createClient } from '../client.js';
import { downloadExisting } from '../export/existing.js';
import { pollOnce } from '../export/job.js';
import { Limiter, runAll } from '../export/limit.js';
import { MiB } from '../export/meter.js';

export interface BenchChildInput {
  mode: 'verified' | 'raw';
  baseUrl: string;
  clientToken: string;
  privateKeyPath: string;
  keyId: string;
  jobUrl: string;
  outDir: string;
  concurrency: number;
}

export interface BenchChildOutput {
  mode: BenchChildInput['mode'];
  bytes: number;
  files: number;
  seconds: number;
  /** User + system CPU of the measured download. */
  cpuSeconds: number;
  peakRssBytes: number;
  tokenExchanges: number;
}

async function main(input: BenchChildInput): Promise<BenchChildOutput> {
  const client = createClient({
    baseUrl: input.baseUrl,
    clientToken: input.clientToken,
    privateKey: await readFile(input.privateKeyPath, 'utf8'),
    keyId: input.keyId,
  });
  try {
    const status = await pollOnce(client.transport, input.jobUrl);
    if (status.state !== 'complete') throw new Error(`job ${input.jobUrl} is not complete`);
    const files = status.completion.files;
    await client.tokens.getAccessToken(); // the exchange is not part of the timed download
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    let bytes = 0;
    if (input.mode === 'verified') {
      const result = await downloadExisting(client, { source: input.jobUrl, outDir: input.outDir, concurrency: input.concurrency });
      bytes = result.groups.flatMap((g) => g.manifest?.files ?? []).reduce((sum, f) => sum + f.bytes, 0);
    } else {
      await mkdir(input.outDir, { recursive: true });
      const paths = await runAll(files, new Limiter(input.concurrency), async (file, signal) => {
        const path = join(input.outDir, new URL(file.url).pathname.split('/').pop()!);
        const token = await client.tokens.getAccessToken();
        const response = await request(file.url, { dispatcher: client.dispatcher, headers: { authorization: `Bearer ${token}` }, signal });
        await pipeline(response.body, createWriteStream(path));
        return path;
      });
      for (const path of paths) {
        const hash = createHash('sha256');
        for await (const chunk of createReadStream(path, { highWaterMark: MiB })) hash.update(chunk as Buffer);
        hash.digest('hex');
        bytes += (await stat(path)).size;
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    return {
      mode: input.mode,
      bytes,
      files: files.length,
      seconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      // resourceUsage().maxRSS is in KiB: the process's lifetime peak
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      tokenExchanges: client.tokens.exchanges,
    };
  } finally {
    await client.close();
  }
}

const input = JSON.parse(process.argv[2] ?? '{}') as BenchChildInput;
process.stdout.write(`${JSON.stringify(await main(input))}\n`);
