/**
 * The library's file operations, for everything holding keys, tokens, config or PHI: folders 0700, files 0600, and
 * writes that land atomically and durably (temp file in the same folder, fsync it, rename, fsync the folder), so a
 * crash never leaves a half-written file at a final name and a rename reported done survives a power loss.
 * Hand-written rather than `write-file-atomic`: 8.0.0 does not fsync the folder after the rename and needs Node >= 22.
 */
import { randomBytes } from 'node:crypto';
import { access, chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DpcError } from './errors.js';

export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

/**
 * Create a folder (and parents) owner-only. An existing folder keeps its mode: `--out` may be a shared folder (1777,
 * or a symlink to a 0755 one) whose mode is not ours to change; PHI goes into the 0700 subfolders created below it.
 */
export async function ensurePrivateDir(path: string): Promise<void> {
  await io(path, 'create folder', async () => {
    const created = await mkdirRevealingCause(path);
    // mkdir's mode passes through the umask; what we created we tighten to exactly 0700
    if (created !== undefined) await chmod(path, DIR_MODE);
  });
}

/**
 * `mkdir -p` that reports why a missing parent could not be made: Node's recursive mkdir says ENOENT when the first
 * missing folder cannot be created (a read-only disk, say), so that folder is asked once more, alone, for its cause.
 */
async function mkdirRevealingCause(path: string): Promise<string | undefined> {
  try {
    return await mkdir(path, { recursive: true, mode: DIR_MODE });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    let missing = path;
    while (dirname(missing) !== missing && !(await fileExists(dirname(missing)))) missing = dirname(missing);
    // throws the real cause (EROFS, EACCES, ENOTDIR); if another process made it meanwhile, try the whole path again
    await mkdir(missing, { mode: DIR_MODE });
    await chmod(missing, DIR_MODE);
    return (await mkdir(path, { recursive: true, mode: DIR_MODE })) ?? missing;
  }
}

/** Temp name next to `finalPath`: same folder, so the rename is atomic; dot-prefixed so it is never mistaken for data. */
export function tempPathFor(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.part`);
}

/** fsync a finished temp file, rename it into place, and fsync the folder so the rename itself survives a crash. */
export async function commitFile(tempPath: string, finalPath: string): Promise<void> {
  await io(finalPath, 'commit file', async () => {
    await fsyncPath(tempPath);
    await rename(tempPath, finalPath);
    await fsyncPath(dirname(finalPath));
  });
}

/**
 * Write a whole file atomically and durably with mode 0600, creating its folder 0700 when missing (an existing folder
 * keeps its mode). The temp name is unique per call, so concurrent writers of one path never share a temp file:
 * the last rename wins whole.
 */
export async function writeOwnerOnly(path: string, content: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.part`);
  await io(path, 'write', async () => {
    await mkdir(dir, { recursive: true, mode: DIR_MODE });
    try {
      // 'wx' creates a new file, so its mode is FILE_MODE (narrowed by the umask at most), never an old file's
      const handle = await open(temp, 'wx', FILE_MODE);
      try {
        await handle.writeFile(content);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    await fsyncPath(dir);
  });
}

/** Whether a path exists (any type). */
export async function fileExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** A small text file's content, or undefined when it does not exist; other failures are ERR_IO. */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DpcError('ERR_IO', `read ${path}: ${(error as NodeJS.ErrnoException).code}`, { cause: error, location: path });
  }
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

export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Pure: why a path the user named could not be read, in words (`not found`, `permission denied`, ...). */
export function readProblem(cause: unknown): string {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const words: Record<string, string> = { ENOENT: 'not found', EACCES: 'permission denied', EPERM: 'permission denied', EISDIR: 'is a folder', ENOTDIR: 'not a folder' };
  return (code && words[code]) ?? code ?? (cause instanceof Error ? cause.message : String(cause));
}

/**
 * Every input the user names (a roster, a bundle, a key, a folder to verify) fails the same way when it cannot be
 * read: `path: cannot read the <what> (not found)`, exit 2 (ERR_INPUT, or ERR_KEY for keys).
 */
export function unreadableInput(path: string, what: string, cause: unknown, code: 'ERR_INPUT' | 'ERR_KEY' = 'ERR_INPUT'): DpcError {
  return new DpcError(code, `${path}: cannot read the ${what} (${readProblem(cause)})`, { cause, location: path });
}

/** Check that a folder the user named is there before walking it; see unreadableInput. */
export async function requireInputFolder(path: string, what = 'folder'): Promise<void> {
  try {
    await stat(path);
  } catch (cause) {
    throw unreadableInput(path, what, cause);
  }
}

/** Read a text file the user named; see unreadableInput. */
export async function readInputText(path: string, what = 'file', code: 'ERR_INPUT' | 'ERR_KEY' = 'ERR_INPUT'): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw unreadableInput(path, what, cause, code);
  }
}
