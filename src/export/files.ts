/**
 * Durable, owner-only file operations for exported PHI: folders 0700, files 0600, writes that land atomically
 * (temp file in the same folder, fsync, rename, fsync the folder) so a crash never leaves a half file at a final name.
 */
import { chmod, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DpcError } from '../errors.js';

export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

/**
 * Create a folder (and parents) owner-only. An existing folder keeps its mode: `--out` may be a shared folder (1777,
 * or a symlink to a 0755 one) whose mode is not ours to change; PHI goes into the 0700 subfolders created below it.
 */
export async function ensurePrivateDir(path: string): Promise<void> {
  await io(path, 'create folder', async () => {
    const created = await mkdir(path, { recursive: true, mode: DIR_MODE });
    // mkdir's mode passes through the umask; what we created we tighten to exactly 0700
    if (created !== undefined) await chmod(path, DIR_MODE);
  });
}

/** Temp name next to `finalPath`: same folder, so the rename is atomic; dot-prefixed so it is never mistaken for data. */
export function tempPathFor(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.part`);
}

export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsync a finished temp file, rename it into place, and fsync the folder so the rename itself survives a crash. */
export async function commitFile(tempPath: string, finalPath: string): Promise<void> {
  await io(finalPath, 'commit file', async () => {
    await fsyncPath(tempPath);
    await rename(tempPath, finalPath);
    await fsyncPath(dirname(finalPath));
  });
}

/** Write small content (JSON state, manifests) atomically, owner-only. */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  const temp = tempPathFor(path);
  await io(path, 'write', async () => {
    await rm(temp, { force: true });
    const handle = await open(temp, 'wx', FILE_MODE);
    try {
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    await fsyncPath(dirname(path));
  });
}

/** Run a filesystem step and turn its failure into a one-line ERR_IO naming the path. */
export async function io<T>(path: string, what: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (cause) {
    if (cause instanceof DpcError) throw cause;
    const code = (cause as NodeJS.ErrnoException).code;
    throw new DpcError('ERR_IO', `${what} ${path}: ${code ?? (cause as Error).message}`, { cause, location: path });
  }
}
