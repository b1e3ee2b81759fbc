/**
 * One NDJSON export file, written the way DPC stores it: gzip on disk, SHA-256 over the uncompressed
 * bytes computed while writing, never held whole in memory. Lines are encoded into ~1 MiB chunks
 * and once gzip holds more than a few unprocessed chunks, appending waits for it to drain (backpressure). The file appears under its final
 * name only once complete (temp file + rename), so a crash never leaves a half file that looks whole.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGzip, constants as zlib } from 'node:zlib';

export const CHUNK_BYTES = 1 << 20;
/** Bytes gzip may hold unprocessed before append() waits: lets rendering overlap compression. */
const MAX_BUFFERED = 4 * CHUNK_BYTES;

export interface WrittenFile {
  /** Resources (lines) in the file. */
  count: number;
  /** Lowercase hex SHA-256 of the uncompressed NDJSON. */
  sha256: string;
  /** Uncompressed size. */
  bytes: number;
  /** Size of the gzip file on disk (DPC's file_length). */
  gzipBytes: number;
}

export class GzipNdjsonWriter {
  private readonly tempPath: string;
  private readonly gzip = createGzip({ level: zlib.Z_BEST_SPEED, chunkSize: CHUNK_BYTES });
  private readonly done: Promise<void>;
  private readonly hash = createHash('sha256');
  private chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;
  private count = 0;
  private bytes = 0;

  constructor(private readonly path: string) {
    this.tempPath = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    const file = createWriteStream(this.tempPath, { mode: 0o600, highWaterMark: CHUNK_BYTES });
    this.done = pipeline(this.gzip, file);
    // Errors surface through write()/finish(); this keeps an early failure from being unhandled.
    this.done.catch(() => undefined);
  }

  /** Appends one resource line (without the newline). */
  async append(line: string): Promise<void> {
    // Worst case 3 UTF-8 bytes per UTF-16 unit; lines are encoded straight into the chunk, no joins.
    const worst = line.length * 3 + 1;
    if (this.used + worst > this.chunk.length) {
      await this.flush();
      if (worst > this.chunk.length) this.chunk = Buffer.allocUnsafe(worst);
    }
    this.used += this.chunk.write(line, this.used, 'utf8');
    this.chunk[this.used++] = 0x0a;
    this.count++;
  }

  async finish(): Promise<WrittenFile> {
    await this.flush();
    this.gzip.end();
    await this.done;
    const { size } = await stat(this.tempPath);
    await rename(this.tempPath, this.path);
    return { count: this.count, sha256: this.hash.digest('hex'), bytes: this.bytes, gzipBytes: size };
  }

  /** Stops writing and removes the temporary file. */
  async abort(): Promise<void> {
    this.gzip.destroy();
    await this.done.catch(() => undefined);
    await rm(this.tempPath, { force: true });
  }

  private async flush(): Promise<void> {
    if (this.used === 0) return;
    // gzip keeps a reference to the written buffer, so the next lines go to a fresh one.
    const chunk = this.chunk.subarray(0, this.used);
    this.chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    this.used = 0;
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (this.gzip.write(chunk) || this.gzip.writableLength < MAX_BUFFERED) return;
    await new Promise<void>((resolve, reject) => {
      const onDrain = (): void => {
        this.gzip.off('error', onError);
        resolve();
      };
      const onError = (error: Error): void => {
        this.gzip.off('drain', onDrain);
        reject(error);
      };
      this.gzip.once('drain', onDrain);
      this.gzip.once('error', onError);
      // A failure downstream (disk full) destroys gzip without 'drain'; the pipeline reports it.
      this.done.catch(onError);
    });
  }
}
