/** Files the library writes: secret-bearing files owner-only and atomically. */
import { access, chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DpcError } from './errors.js';

/** Write a secret-bearing file atomically with mode 0600, creating its directory 0700. */
export async function writeOwnerOnly(path: string, content: string | Buffer): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const temp = `${path}.${process.pid}.tmp`;
    await writeFile(temp, content, { mode: 0o600 });
    await chmod(temp, 0o600); // in case the umask or an old temp file widened it
    await rename(temp, path);
  } catch (cause) {
    throw new DpcError('ERR_IO', `${path}: cannot write (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message})`, { cause, location: path });
  }
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
