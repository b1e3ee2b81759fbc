/**
 * `dpc export verify DIR`: re-hash every file a manifest lists, from disk, against what was recorded when it was
 * downloaded (sha256 and lines of the uncompressed content, bytes, gzip size). Missing files count as failures.
 * DIR is a run folder, a group folder (its runs) or a whole output folder (every group's runs).
 */
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DpcError } from '../errors.js';
import { isObject } from '../json.js';
import { io, requireInputFolder } from '../fs.js';
import { LATEST_FILE, MANIFEST_FILE, readLatest } from './layout.js';
import { recordedFileProblem, type Measured } from './manifest.js';
import { discard, Meter, MiB } from './meter.js';
import type { GroupManifest } from './run.js';

export interface VerifiedEntry {
  label: string;
  run?: string;
  path: string;
  ok: boolean;
  problems: string[];
}

export interface VerifyReport {
  dir: string;
  manifests: number;
  files: VerifiedEntry[];
  ok: boolean;
}

/** Measure a file on disk the way the download did. */
export async function measureFile(path: string, gzipped: boolean): Promise<Measured> {
  const meter = new Meter();
  const size = (await stat(path)).size;
  const read = createReadStream(path, { highWaterMark: MiB });
  if (gzipped) await pipeline(read, createGunzip({ chunkSize: MiB }), meter, discard());
  else await pipeline(read, meter, discard());
  return { sha256: meter.sha256, bytes: meter.bytes, lines: meter.lines, ...(gzipped ? { gzipBytes: size } : {}) };
}

export interface VerifyOptions {
  /** In a group or output folder, only the run each group's LATEST names (default: every run). */
  latest?: boolean;
}

/**
 * The manifests in `dir` and one or two levels down: a run folder's own, a group folder's runs, an output folder's
 * groups' runs (plus a group folder's own manifest from the layout before run folders). With `latest`, only the run
 * LATEST names in `dir` or in each of its folders.
 */
export async function findManifests(dir: string, options: VerifyOptions = {}): Promise<string[]> {
  const own = join(dir, MANIFEST_FILE);
  const found: string[] = [];
  if (options.latest) {
    if (await exists(own)) return [own]; // a run folder named explicitly
    const groups = (await exists(join(dir, LATEST_FILE))) ? [dir] : (await subfolders(dir)).map((name) => join(dir, name));
    for (const group of groups) {
      // a LATEST naming a run without a manifest is reported by readManifest, not skipped
      const run = await readLatest(group);
      if (run !== undefined) found.push(join(group, run, MANIFEST_FILE));
    }
    return found;
  }
  if (await exists(own)) found.push(own);
  for (const name of await subfolders(dir)) {
    const sub = join(dir, name);
    if (await exists(join(sub, MANIFEST_FILE))) found.push(join(sub, MANIFEST_FILE));
    for (const inner of await subfolders(sub)) if (await exists(join(sub, inner, MANIFEST_FILE))) found.push(join(sub, inner, MANIFEST_FILE));
  }
  return found;
}

/** Folders directly under `dir`, sorted (run ids sort chronologically), skipping dot-folders such as .quarantine. */
export async function subfolders(dir: string): Promise<string[]> {
  const entries = await io(dir, 'read folder', () => readdir(dir, { withFileTypes: true }));
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
}

export async function readManifest(path: string): Promise<GroupManifest> {
  return parseManifest(await io(path, 'read manifest', () => readFile(path, 'utf8')), path);
}

/**
 * A manifest is untrusted input (anyone can hand over a folder): check it once here, so verify can trust its fields
 * and never reads outside the group folder. Pure.
 */
export function parseManifest(text: string, path: string): GroupManifest {
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch {
    manifest = undefined;
  }
  if (!isObject(manifest) || typeof manifest.label !== 'string' || !Array.isArray(manifest.files)) {
    throw new DpcError('ERR_INPUT', `${path} is not an export manifest`, { location: path });
  }
  if (manifest.run !== undefined && typeof manifest.run !== 'string') throw new DpcError('ERR_INPUT', `${path}: run is not a string`, { location: path });
  manifest.files.forEach((file: unknown, i) => {
    const problem = recordedFileProblem(file);
    if (problem) throw new DpcError('ERR_INPUT', `${path}: files[${i}]${problem}`, { location: path });
  });
  return manifest as unknown as GroupManifest;
}

export async function verifyExportDir(dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  // a folder that is not there is bad input, reported like any other missing input
  await requireInputFolder(dir, 'export folder');
  const manifests = await findManifests(dir, options);
  if (manifests.length === 0) {
    const where = options.latest ? 'nor does a LATEST run of it or of its group folders' : 'nor do its run or group folders';
    throw new DpcError('ERR_INPUT', `${dir} holds no ${MANIFEST_FILE} (${where})`, { location: dir });
  }
  const files: VerifiedEntry[] = [];
  for (const manifestPath of manifests) {
    const manifest = await readManifest(manifestPath);
    const groupDir = join(manifestPath, '..');
    for (const file of manifest.files) {
      const path = join(groupDir, file.path);
      const problems: string[] = [];
      try {
        const measured = await measureFile(path, file.gzipBytes !== undefined);
        if (measured.sha256 !== file.sha256) problems.push(`sha256 ${measured.sha256} differs from the recorded ${file.sha256}`);
        if (measured.bytes !== file.bytes) problems.push(`${measured.bytes} bytes differ from the recorded ${file.bytes}`);
        if (measured.lines !== file.count) problems.push(`${measured.lines} lines differ from the recorded ${file.count}`);
        if (measured.gzipBytes !== file.gzipBytes) problems.push(`${measured.gzipBytes} gzip bytes differ from the recorded ${file.gzipBytes}`);
      } catch (error) {
        problems.push((error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : `unreadable: ${(error as Error).message}`);
      }
      files.push({ label: manifest.label, run: manifest.run, path, ok: problems.length === 0, problems });
    }
  }
  return { dir, manifests: manifests.length, files, ok: files.every((f) => f.ok) };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
